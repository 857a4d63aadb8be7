//! `csvagent manifest [--compact] [--json]`.

use csvagent_sdk::manifest::Manifest;
use serde_json::json;

use super::{Context, out, out_json};
use crate::args::ManifestArgs;
use crate::exit;

pub fn run(ctx: &Context, args: ManifestArgs) -> anyhow::Result<u8> {
    let path = ctx.layout.manifest_file();
    let root = ctx.layout.root();
    if root.exists() && !root.is_dir() {
        anyhow::bail!(
            "data directory `{}` is not a directory (pass --data-dir DIR)",
            root.display()
        );
    }
    if !path.exists() {
        if args.json {
            out_json(&json!({"path": path.display().to_string(), "entries": 0}))?;
        } else {
            out("No manifest found.")?;
        }
        return Ok(exit::OK);
    }
    if args.compact {
        return compact(ctx, &path, args.json);
    }
    let manifest = Manifest::load(&path)?;
    let stats = manifest.stats();
    let summary = manifest.dataset_summary();
    if args.json {
        out_json(&json!({
            "path": path.display().to_string(),
            "entries": manifest.len(),
            "by_source": stats.iter().map(|(s, c)| (s.as_str(), c)).collect::<std::collections::BTreeMap<_, _>>(),
            "by_dataset": summary.by_source,
            "by_template": manifest.template_summary(),
            "by_model": manifest.model_summary(),
            "models": summary.models,
            "skipped_lines": manifest.skipped_lines(),
        }))?;
        return Ok(exit::OK);
    }
    let mut text = format!(
        "Manifest: {} ({} entries)\n\nBy source:\n",
        path.display(),
        manifest.len()
    );
    for (s, c) in &stats {
        text.push_str(&format!(
            "  {:<11} {:>6} ok  {:>6} failed\n",
            s.as_str(),
            c.success,
            c.failure
        ));
    }
    text.push_str("\nBy dataset:\n");
    for (source, datasets) in &summary.by_source {
        for (name, c) in datasets {
            let short: String = name.chars().take(30).collect();
            text.push_str(&format!(
                "  {short:<30} {source:<11} {:>5} ok {:>5} failed\n",
                c.success, c.failure
            ));
        }
    }
    let templates = manifest.template_summary();
    if !templates.is_empty() {
        text.push_str("\nBy template:\n");
        for (name, c) in &templates {
            text.push_str(&format!(
                "  {name:<36} {:>5} ok {:>5} failed\n",
                c.success, c.failure
            ));
        }
    }
    text.push_str("\nBy model:\n");
    for (name, c) in &manifest.model_summary() {
        text.push_str(&format!(
            "  {name:<36} {:>5} ok {:>5} failed\n",
            c.success, c.failure
        ));
    }
    out(&text)?;
    Ok(exit::OK)
}

/// `--compact`: under the run lock (a run appending meanwhile would lose lines), and only when
/// every line parses (compacting drops what it cannot read). Refusals exit 3, nothing written.
fn compact(ctx: &Context, path: &std::path::Path, json: bool) -> anyhow::Result<u8> {
    use csvagent_sdk::pipeline::{RunLock, format_reasons};
    let _lock = match RunLock::acquire(&ctx.layout.lock_file(), "manifest-compact") {
        Ok(lock) => lock,
        Err(reason) => {
            crate::render::print_stderr(&format_reasons(&[reason]));
            return Ok(exit::PREFLIGHT);
        }
    };
    let manifest = Manifest::load(path)?;
    if !manifest.skipped_lines().is_empty() {
        let mut reasons = manifest.skipped_lines().to_vec();
        reasons.push(format!(
            "compacting would drop these lines: fix or remove them in {}, then compact",
            path.display()
        ));
        crate::render::print_stderr(&format_reasons(&reasons));
        return Ok(exit::PREFLIGHT);
    }
    let n = manifest.compact()?;
    if json {
        out_json(&json!({"path": path.display().to_string(), "entries": n}))?;
    } else {
        out(&format!("Compacted {}: {n} entries", path.display()))?;
    }
    Ok(exit::OK)
}
