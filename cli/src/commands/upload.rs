//! `csvagent upload`: stage episodes and questions, then push them to the Hub (SPEC 9).

use anyhow::Context as _;
use csvagent_sdk::events::EventSink;
use csvagent_sdk::publish::{HubAuth, UploadOptions, stage, upload};

use super::{Context, out, out_json};
use crate::args::UploadArgs;
use crate::exit;

pub async fn run(ctx: &Context, args: UploadArgs) -> anyhow::Result<u8> {
    let mut opts = UploadOptions::new(args.repo.clone());
    opts.private = args.private;
    opts.revision = args.revision.clone();
    opts.include_csvs = args.include_csvs;
    opts.verified_only = args.verified_only;
    opts.license = args.license.clone();
    opts.dry_run = args.dry_run;
    if !args.sources.is_empty() {
        opts.sources = Some(args.sources.clone());
    }
    let (events, rx) = EventSink::channel(256);
    let drawer = crate::render::Drawer::spawn(rx, ctx.global.quiet);
    let result = run_upload(ctx, &opts, &events, args.json).await;
    drop(events);
    drawer.finish().await;
    result
}

async fn run_upload(
    ctx: &Context,
    opts: &UploadOptions,
    events: &EventSink,
    json: bool,
) -> anyhow::Result<u8> {
    let layout = ctx.layout.clone();
    let datasets = ctx.datasets_dir.clone();
    let (o, ev) = (opts.clone(), events.clone());
    let staged = tokio::task::spawn_blocking(move || stage(&layout, &datasets, &o, &ev))
        .await
        .context("staging task panicked")??;
    let mut text = if opts.dry_run {
        format!(
            "Would stage {} ({} files, {} bytes; dry run: nothing written):\n",
            staged.dir.display(),
            staged.files.len(),
            staged.total_bytes()
        )
    } else {
        format!(
            "Staged {} ({} files, {} bytes):\n",
            staged.dir.display(),
            staged.files.len(),
            staged.total_bytes()
        )
    };
    for f in &staged.files {
        text.push_str(&format!(
            "  {:<60} {:>10} bytes\n",
            f.path_in_repo, f.size_bytes
        ));
    }
    for s in &staged.sources {
        text.push_str(&format!(
            "  {}: {} episodes selected, {} questions\n",
            s.source.as_str(),
            s.rows(),
            s.questions
        ));
        if !s.repeated_lines.is_empty() {
            text.push_str(&format!(
                "  note: skipped line(s) {} of {}: each repeats an earlier episode exactly\n",
                s.repeated_lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                ctx.layout.episodes_file(s.source).display()
            ));
        }
        if let Some(line) = s.torn_line {
            text.push_str(&format!(
                "  note: skipped the incomplete last line {line} of {} (an interrupted write; \
                 the next `csvagent run` or `generate episodes` repairs it)\n",
                ctx.layout.episodes_file(s.source).display()
            ));
        }
    }
    if json && opts.dry_run {
        out_json(&serde_json::json!({"staged": staged, "outcome": null}))?;
        return Ok(exit::OK);
    }
    if opts.dry_run {
        text.push_str("\n--- README.md (dataset card) ---\n");
        text.push_str(&staged.card);
        text.push_str("\nNo changes made (dry run)\n");
        out(&text)?;
        return Ok(exit::OK);
    }
    if !json {
        out(&text)?;
    }
    let auth = HubAuth::from_env()?;
    let outcome = upload(&staged, opts, &auth, events).await?;
    if json {
        out_json(&serde_json::json!({"staged": staged, "outcome": outcome}))?;
        return Ok(exit::OK);
    }
    if outcome.unchanged {
        out(&format!(
            "Nothing changed: {} already holds these files; no commit made.",
            outcome.url
        ))?;
    } else {
        out(&format!(
            "Committed {} ({} added, {} deleted)\n✓ Done! View at: {}",
            outcome.commit.as_deref().unwrap_or("?"),
            outcome.added.len(),
            outcome.deleted.len(),
            outcome.url
        ))?;
    }
    Ok(exit::OK)
}
