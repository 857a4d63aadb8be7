//! `csvagent datasets list|profile`.

use anyhow::Context as _;
use csvagent_sdk::dataset::{Catalog, ColumnStats, profile_with_cache};
use csvagent_sdk::events::EventSink;
use csvagent_sdk::sandbox::SandboxPool;
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
        DatasetsCommand::Profile(args) => profile(ctx, &args.name, args.json).await,
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

async fn profile(ctx: &Context, name: &str, json: bool) -> anyhow::Result<u8> {
    let catalog = Catalog::discover(&ctx.datasets_dir)
        .with_context(|| format!("cannot list datasets in `{}`", ctx.datasets_dir.display()))?;
    let ds = catalog.get(name)?;
    let mut cfg = ctx.settings()?.sandbox;
    cfg.datasets_root = ctx.datasets_dir.clone();
    cfg.max_containers = 1;
    let pool = SandboxPool::new(cfg, EventSink::discard());
    let result = async {
        pool.start().await?;
        let tag = pool.provenance().map(|p| p.image_tag).unwrap_or_default();
        if let Some(p) = csvagent_sdk::dataset::cached_profile(&ctx.layout, ds, &tag) {
            return Ok(p);
        }
        let lease = pool.acquire(&ds.load_spec()).await?;
        profile_with_cache(&ctx.layout, ds, &lease, &tag).await
    }
    .await;
    pool.stop().await;
    let p = result?;
    if json {
        out_json(&p)?;
        return Ok(exit::OK);
    }
    let mut t = format!(
        "{} ({} rows x {} columns; {}, {})
{}

",
        ds.name,
        p.shape.rows,
        p.shape.columns,
        ds.dialect.encoding,
        delimiter_name(ds.dialect.delimiter),
        ds.description.chars().take(200).collect::<String>()
    );
    t.push_str(&format!(
        "{:<28} {:<12} {:<8} {:>7} {:>8}  {}\n",
        "column", "type", "dtype", "missing", "distinct", "stats"
    ));
    for (name, c) in &p.columns {
        let mut flags = Vec::new();
        if c.is_index_like {
            flags.push("id-like");
        }
        if c.is_boolean {
            flags.push("boolean");
        }
        if c.is_currency {
            flags.push("currency");
        }
        let stats = match &c.stats {
            ColumnStats::Numeric {
                mean,
                std,
                min,
                max,
                ..
            } => format!(
                "mean {} std {} min {} max {}",
                fmt(*mean),
                fmt(*std),
                fmt(*min),
                fmt(*max)
            ),
            ColumnStats::Datetime {
                min,
                max,
                range_days,
            } => format!("{min} .. {max} ({range_days:.0} days)"),
            ColumnStats::Categorical { top_values } => top_values
                .iter()
                .take(3)
                .map(|(k, v)| format!("{k} ({v})"))
                .collect::<Vec<_>>()
                .join(", "),
            ColumnStats::Empty => "all missing".into(),
        };
        t.push_str(&format!(
            "{:<28} {:<12} {:<8} {:>6.1}% {:>8}  {}{}\n",
            name.chars().take(28).collect::<String>(),
            c.type_name(),
            c.dtype,
            c.missing_pct,
            c.unique_count,
            stats,
            if flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", flags.join(", "))
            }
        ));
    }
    for a in &p.quality_alerts {
        t.push_str(&format!("alert: {a}\n"));
    }
    out(&t)?;
    Ok(exit::OK)
}

fn fmt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into())
}
