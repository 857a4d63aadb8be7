//! Instantiating a template (SPEC 5.3): parameters rendered as Python literals into the `{param}`
//! slots of the code and the description, and the prelude every program starts with.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// A template parameter value.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Param {
    /// A float; renders as the shortest round-trip digits, with `.0` when integral (`5.0`).
    Float(f64),
    /// An integer (`10`).
    Int(i64),
    /// A string; renders single-quoted with Python escapes (`'a\'b'`).
    Str(&'static str),
    /// A boolean (`True` / `False`).
    Bool(bool),
}

impl Param {
    /// The Python literal of the value, as it appears in the code and in the wording.
    pub fn python_literal(&self) -> String {
        match *self {
            Param::Float(x) => float_literal(x),
            Param::Int(n) => n.to_string(),
            Param::Str(s) => python_str(s),
            Param::Bool(b) => if b { "True" } else { "False" }.to_owned(),
        }
    }

    /// The value as JSON, for `template_params` and the fingerprint. A non-finite float (never
    /// used by the catalogue) becomes `null`.
    pub fn to_json(&self) -> Value {
        match *self {
            Param::Float(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            Param::Int(n) => Value::from(n),
            Param::Str(s) => Value::from(s),
            Param::Bool(b) => Value::Bool(b),
        }
    }
}

/// One parameter set: `(name, value)` pairs in declaration order.
pub type ParamSet = &'static [(&'static str, Param)];

/// The parameters of a set as a JSON object (declaration order); empty for the default set.
pub fn params_json(params: ParamSet) -> Map<String, Value> {
    params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_json()))
        .collect()
}

fn float_literal(x: f64) -> String {
    // Rust's `Display` for f64 is the shortest string that round-trips, without an exponent, so
    // it is a valid Python float literal once an integral value gets its `.0`.
    let text = format!("{x}");
    if text.contains(['.', 'e', 'E']) || !x.is_finite() {
        text
    } else {
        format!("{text}.0")
    }
}

/// A Python string literal: single-quoted, with `\\`, `\'` and control characters escaped.
pub fn python_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A Python list of string literals: `['id', 'Name']`.
pub fn python_str_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| python_str(s)).collect();
    format!("[{}]", inner.join(", "))
}

static SLOT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("valid regex"));

/// The names of every `{name}` slot in `text`, in order of appearance (duplicates kept).
#[cfg(test)]
pub(crate) fn slot_names(text: &str) -> Vec<&str> {
    SLOT.captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect()
}

/// Fills every `{name}` slot whose name is a parameter of `params` with its Python literal.
/// Other braces (dict literals, set displays) are left alone.
pub fn fill_slots(text: &str, params: ParamSet) -> String {
    SLOT.replace_all(text, |caps: &regex::Captures<'_>| {
        let name = &caps[1];
        params
            .iter()
            .find(|(k, _)| *k == name)
            .map_or_else(|| caps[0].to_owned(), |(_, v)| v.python_literal())
    })
    .into_owned()
}

/// The prelude every template program starts with: the `_ID_LIKE_COLS` literal, then
/// `num_cols` / `cat_cols` and the tie utilities (`py/prelude.py`).
pub fn prelude(id_like_cols: &[String]) -> String {
    format!(
        "_ID_LIKE_COLS = {}\n{}",
        python_str_list(id_like_cols),
        include_str!("py/prelude.py")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_render_as_python_literals() {
        assert_eq!(Param::Float(5.0).python_literal(), "5.0");
        assert_eq!(Param::Float(0.98).python_literal(), "0.98");
        assert_eq!(Param::Float(0.001).python_literal(), "0.001");
        assert_eq!(Param::Float(2.5).python_literal(), "2.5");
        assert_eq!(Param::Int(42).python_literal(), "42");
        assert_eq!(Param::Bool(true).python_literal(), "True");
        assert_eq!(Param::Str("it's").python_literal(), r"'it\'s'");
        assert_eq!(Param::Str("a\\b\n").python_literal(), r"'a\\b\n'");
    }

    #[test]
    fn only_declared_slots_are_filled_and_dicts_survive() {
        const P: ParamSet = &[("z", Param::Float(3.0)), ("k", Param::Int(3))];
        let code = "x = {'a': 1}\nif d > {z}: top({k}, {other})";
        assert_eq!(
            fill_slots(code, P),
            "x = {'a': 1}\nif d > 3.0: top(3, {other})"
        );
        assert_eq!(slot_names(code), ["z", "k", "other"]);
    }

    #[test]
    fn params_serialise_in_declaration_order() {
        const P: ParamSet = &[("z", Param::Float(3.0)), ("max_iter", Param::Int(10))];
        let json = Value::Object(params_json(P));
        assert_eq!(json.to_string(), r#"{"z":3.0,"max_iter":10}"#);
    }

    #[test]
    fn prelude_lists_the_id_like_columns_as_a_python_literal() {
        let p = prelude(&["id".to_owned(), "Unnamed: 32".to_owned()]);
        assert!(p.starts_with("_ID_LIKE_COLS = ['id', 'Unnamed: 32']\nnum_cols = "));
        assert!(prelude(&[]).starts_with("_ID_LIKE_COLS = []\n"));
    }
}
