//! `csvagent datasets list|profile`.

use anyhow::Context as _;
use csvagent_sdk::dataset::Catalog;
use serde::Serialize;

use super::{Context, out, out_json};
use crate::args::DatasetsCommand;
use crate::exit;

#[derive(Serialize)]
struct Row {
    name: String,
    usable: bool,
    rows: Option<u64>,
    columns: Option<u64>,
    dataset_hash: Option<String>,
    encoding: Option<String>,
    delimiter: Option<String>,
    reason: Option<String>,
}

pub async fn run(ctx: &Context, cmd: DatasetsCommand) -> anyhow::Result<u8> {
    match cmd {
        DatasetsCommand::List(flags) => list(ctx, flags.json),
        DatasetsCommand::Profile(_) => {
            anyhow::bail!("`datasets profile` is not available in this build")
        }
    }
}

fn list(ctx: &Context, json: bool) -> anyhow::Result<u8> {
    let catalog = Catalog::discover(&ctx.datasets_dir)
        .with_context(|| format!("cannot list datasets in `{}`", ctx.datasets_dir.display()))?;
    let mut rows = Vec::new();
    for ds in &catalog.datasets {
        let shape = ds.host_shape()?;
        rows.push(Row {
            name: ds.name.clone(),
            usable: true,
            rows: Some(shape.rows),
            columns: Some(shape.columns),
            dataset_hash: Some(ds.dataset_hash.clone()),
            encoding: Some(ds.dialect.encoding.clone()),
            delimiter: Some(delimiter_name(ds.dialect.delimiter)),
            reason: None,
        });
    }
    for s in &catalog.skipped {
        rows.push(Row {
            name: s.name.clone(),
            usable: false,
            rows: None,
            columns: None,
            dataset_hash: None,
            encoding: None,
            delimiter: None,
            reason: Some(s.reason.clone()),
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    if json {
        out_json(&rows)?;
        return Ok(exit::OK);
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut text = format!(
        "{:<width$}  {:>7}  {:>4}  {:<12}  {}\n",
        "name", "rows", "cols", "hash", "status"
    );
    for r in &rows {
        let status = if r.usable {
            format!(
                "usable ({}, {})",
                r.encoding.as_deref().unwrap_or(""),
                r.delimiter.as_deref().unwrap_or("")
            )
        } else {
            format!("skipped: {}", r.reason.as_deref().unwrap_or(""))
        };
        text.push_str(&format!(
            "{:<width$}  {:>7}  {:>4}  {:<12}  {}\n",
            r.name,
            r.rows.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
            r.columns
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            r.dataset_hash.as_deref().map(|h| &h[..12]).unwrap_or("-"),
            status
        ));
    }
    text.push_str(&format!(
        "{} usable, {} skipped\n",
        catalog.datasets.len(),
        catalog.skipped.len()
    ));
    out(&text)?;
    Ok(exit::OK)
}

fn delimiter_name(d: char) -> String {
    match d {
        '\t' => "tab".into(),
        ',' => "comma".into(),
        ';' => "semicolon".into(),
        '|' => "pipe".into(),
        other => format!("{other:?}"),
    }
}
