//! Build script: turns every JSON Schema in `schema/` into typed Rust records with typify.
//!
//! All files are merged into one schema whose `definitions` hold every record (keyed by the
//! file's `title`) and every shared definition; `common.json#/definitions/X` references become
//! local ones. typify generates the types, and the struct fields are then put in the order the
//! schema declares them, so records serialise with their keys in declared order (SPEC 1.1).
//! The output goes to `$OUT_DIR/schema.rs`; nothing generated is committed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::{Map, Value};

fn main() {
    println!("cargo:rerun-if-changed=schema");
    let dir = Path::new("schema");
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("read schema/")
        .map(|e| e.expect("schema/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();

    let mut definitions = Map::new();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(path).expect("read schema file");
        let mut doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
        rewrite_refs(&mut doc);
        let obj = doc.as_object_mut().expect("schema root must be an object");
        if let Some(Value::Object(defs)) = obj.remove("definitions") {
            for (name, def) in defs {
                assert!(
                    definitions.insert(name.clone(), def).is_none(),
                    "definition `{name}` is declared twice (last in {})",
                    path.display()
                );
            }
        }
        if obj.contains_key("type") {
            let title = obj
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{} needs a `title`", path.display()))
                .to_owned();
            obj.remove("$schema");
            obj.remove("$id");
            assert!(
                definitions
                    .insert(title.clone(), Value::Object(obj.clone()))
                    .is_none(),
                "record `{title}` is declared twice"
            );
        }
    }

    let order = property_orders(&definitions);
    let lenient = reader_optional(&mut definitions);
    let root = serde_json::json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": definitions,
    });
    let root: schemars::schema::RootSchema =
        serde_json::from_value(root).expect("merged schema is a valid JSON Schema");

    let mut settings = typify::TypeSpaceSettings::default();
    settings.with_struct_builder(false);
    settings.with_derive("PartialEq".to_owned());
    settings.with_map_type("::indexmap::IndexMap");
    let mut space = typify::TypeSpace::new(&settings);
    space
        .add_root_schema(root)
        .expect("typify accepts the schema");

    let mut file: syn::File = syn::parse2(space.to_stream()).expect("typify output parses");
    for item in &mut file.items {
        if let syn::Item::Struct(s) = item {
            let name = s.ident.to_string();
            if let Some(props) = order.get(&name) {
                reorder_fields(s, props);
            }
            if let Some(fields) = lenient.get(&name) {
                relax_fields(s, fields);
            }
        }
    }
    let code = prettyplease::unparse(&file);
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("schema.rs");
    fs::write(out, code).expect("write schema.rs");
}

/// `common.json#/definitions/X` -> `#/definitions/X`, recursively.
fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(pos) = r.find('#')
            {
                *r = r[pos..].to_owned();
            }
            for (_, child) in map.iter_mut() {
                rewrite_refs(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// Type name -> property names in declared order, for every object definition.
fn property_orders(defs: &Map<String, Value>) -> BTreeMap<String, Vec<String>> {
    defs.iter()
        .filter_map(|(name, def)| {
            let props = def.get("properties")?.as_object()?;
            Some((name.clone(), props.keys().cloned().collect()))
        })
        .collect()
}

/// Removes the `x-reader-optional` extension from every definition and returns it as
/// type name -> property names. Those properties stay required for writers (always emitted),
/// but a reader accepts them absent, because the golden reference shapes (SPEC 1.6) lack them.
fn reader_optional(defs: &mut Map<String, Value>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, def) in defs.iter_mut() {
        let Some(obj) = def.as_object_mut() else {
            continue;
        };
        if let Some(Value::Array(list)) = obj.remove("x-reader-optional") {
            let names = list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            out.insert(name.clone(), names);
        }
    }
    out
}

/// For the listed fields: drop typify's strict `deserialize_with` and add `#[serde(default)]`.
fn relax_fields(s: &mut syn::ItemStruct, names: &[String]) {
    let syn::Fields::Named(named) = &mut s.fields else {
        return;
    };
    for field in named.named.iter_mut() {
        if !names.contains(&serde_name(field)) {
            continue;
        }
        field.attrs.retain(|a| {
            !(a.path().is_ident("serde")
                && quote::quote!(#a).to_string().contains("deserialize_with"))
        });
        field.attrs.push(syn::parse_quote!(#[serde(default)]));
    }
}

fn serde_name(field: &syn::Field) -> String {
    for attr in &field.attrs {
        if !attr.path().is_ident("serde") {
            continue;
        }
        let text = quote::quote!(#attr).to_string();
        if let Some(pos) = text.find("rename = \"") {
            let rest = &text[pos + "rename = \"".len()..];
            if let Some(end) = rest.find('"') {
                return rest[..end].to_owned();
            }
        }
    }
    field
        .ident
        .as_ref()
        .map(|i| i.to_string().trim_start_matches("r#").to_owned())
        .unwrap_or_default()
}

fn reorder_fields(s: &mut syn::ItemStruct, props: &[String]) {
    let syn::Fields::Named(named) = &mut s.fields else {
        return;
    };
    let mut fields: Vec<syn::Field> = named.named.iter().cloned().collect();
    fields.sort_by_key(|f| {
        let name = serde_name(f);
        props.iter().position(|p| *p == name).unwrap_or(usize::MAX)
    });
    named.named = fields.into_iter().collect();
}
