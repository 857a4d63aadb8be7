//! `csvagent run` and `csvagent generate questions|episodes`: preflight, lock, stages, summary.

use std::time::Duration;

use csvagent_sdk::config::Mode;
use csvagent_sdk::events::{EventSink, StageKind, StageOutcome};
use csvagent_sdk::pipeline::{
    EpisodeStageOptions, FreshScope, Pipeline, PreflightScope, QuestionStageOptions, RunLock,
    RunOptions, RunReport, StageReport, format_reasons, move_aside, preflight_check,
};
use csvagent_sdk::record::now_stamp;
use csvagent_sdk::schema::Source;

use super::{Context, out, out_json};
use crate::args::{GenerateEpisodesArgs, GenerateQuestionsArgs, ModeArgs, RunArgs, RunModeArgs};
use crate::exit;

pub fn mode_of(m: &ModeArgs) -> Mode {
    pick(m.template, m.procedural, m.llm_gen).unwrap_or(Mode::All)
}

fn run_mode_of(m: &RunModeArgs) -> Option<Mode> {
    if m.all {
        return Some(Mode::All);
    }
    pick(m.template, m.procedural, m.llm_gen)
}

fn pick(template: bool, procedural: bool, llm_gen: bool) -> Option<Mode> {
    match (template, procedural, llm_gen) {
        (true, _, _) => Some(Mode::Template),
        (_, true, _) => Some(Mode::Procedural),
        (_, _, true) => Some(Mode::LlmGen),
        _ => None,
    }
}

/// What a writing command needs before it starts.
struct Start {
    pipeline: Pipeline,
    _lock: Option<RunLock>,
    /// Draws the event stream; finished explicitly because background tasks may still hold a sink.
    drawer: crate::render::Drawer,
    /// The Ctrl-C/`SIGTERM` handler; aborted when the command finishes.
    interrupt: tokio::task::JoinHandle<()>,
}

/// Preflight (exit 3 on refusal), lock, `--fresh`, then a pipeline with an event drawer and a
/// Ctrl-C/`SIGTERM` handler (first: cooperative cancel; second: containers stopped, exit 130 at
/// once).
async fn start(
    ctx: &Context,
    data_dir: std::path::PathBuf,
    sources: &[Source],
    dry_run: bool,
    fresh: Option<FreshScope>,
    needs_teacher: bool,
) -> anyhow::Result<Result<Start, u8>> {
    let settings = ctx.settings()?;
    let layout = csvagent_sdk::record::DataLayout::new(&data_dir);
    let mut reasons = preflight_check(
        &layout,
        &PreflightScope {
            sources: sources.to_vec(),
            dry_run,
            fresh: fresh.filter(|_| !dry_run),
        },
    );
    if needs_teacher {
        reasons.extend(csvagent_sdk::pipeline::teacher_check(&settings.llm));
    }
    if !reasons.is_empty() {
        crate::render::print_stderr(&format_reasons(&reasons));
        return Ok(Err(exit::PREFLIGHT));
    }
    let (events, rx) = EventSink::channel(1024);
    let drawer = crate::render::Drawer::spawn(rx, ctx.global.quiet);
    let pipeline = Pipeline::new(&data_dir, ctx.datasets_dir.clone(), settings, events);
    let lock = if dry_run {
        None
    } else {
        match RunLock::acquire(&layout.lock_file(), pipeline.run_id()) {
            Ok(l) => Some(l),
            Err(reason) => {
                crate::render::print_stderr(&format_reasons(&[reason]));
                return Ok(Err(exit::PREFLIGHT));
            }
        }
    };
    if let (Some(scope), false) = (fresh, dry_run) {
        let moved = move_aside(&layout, sources, scope, &now_stamp())?;
        for m in moved {
            crate::render::print_stderr(&format!("moved aside: {}", m.display()));
        }
    }
    let p = pipeline.clone();
    let interrupt = tokio::spawn(async move {
        let Some(mut signals) = csvagent_sdk::pipeline::StopSignals::install_or_warn() else {
            return;
        };
        let first = signals.next().await;
        crate::render::print_stderr(&format!(
            "interrupted ({first}): stopping (in-flight items are abandoned, written records stay); press Ctrl-C again to force"
        ));
        p.cancel();
        signals.next().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), p.shutdown()).await;
        std::process::exit(i32::from(exit::INTERRUPTED));
    });
    Ok(Ok(Start {
        pipeline,
        _lock: lock,
        drawer,
        interrupt,
    }))
}

/// Stops the containers, then the signal handler and the drawer. Returns whether the run was
/// interrupted, read after the shutdown so that a signal during it still counts.
async fn finish(start: Start) -> bool {
    let Start {
        pipeline,
        _lock,
        drawer,
        interrupt,
    } = start;
    if let Some(report) = pipeline.shutdown().await {
        for (id, error) in report.failed {
            crate::render::print_stderr(&format!(
                "warning: container {id} could not be stopped: {error}"
            ));
        }
    }
    let interrupted = pipeline.is_cancelled();
    drop(pipeline);
    interrupt.abort();
    drawer.finish().await;
    interrupted
}

pub async fn run(ctx: &Context, args: RunArgs) -> anyhow::Result<u8> {
    let mode = match (run_mode_of(&args.mode), args.test) {
        (Some(m), _) => m,
        (None, true) => Mode::All,
        (None, false) => {
            use clap::CommandFactory;
            let mut cli = crate::args::Cli::command();
            cli.build();
            let cmd = match cli.find_subcommand_mut("run") {
                Some(run) => run,
                None => &mut cli,
            };
            let err = cmd.error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "the following required arguments were not provided:\n  <--template|--procedural|--llm-gen|--all>",
            );
            let _ = err.print();
            return Ok(exit::USAGE);
        }
    };
    let mut opts = RunOptions {
        max_datasets: args.max_datasets,
        max_questions: args.max_questions,
        n_consistency: args.n_consistency.map(|n| n as u32),
        retry_failed: args.retry_failed,
        ..RunOptions::default()
    };
    let mut data_dir = ctx.global.data_dir.clone();
    if args.test {
        let stamp = now_stamp();
        data_dir = ctx.layout.smoke_dir(&stamp);
        opts.max_datasets = Some(1);
        opts.max_questions = Some(1);
        opts.n_consistency = Some(1);
        opts.num_questions = Some(1);
        crate::render::print_stderr("TEST MODE: 1 dataset, 1 question, 1 consistency trace");
        crate::render::print_stderr(&format!("smoke outputs: {}", data_dir.display()));
    }
    let sources = mode.sources();
    if args.dry_run {
        let view = DryRun {
            test: args.test,
            json: args.json,
            needs_teacher: true,
            only: None,
        };
        return dry_run(ctx, data_dir, mode, &opts, &view);
    }
    let fresh = args.fresh.then_some(FreshScope {
        questions: true,
        episodes: true,
    });
    let start = match start(ctx, data_dir, &sources, false, fresh, true).await? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let report = start.pipeline.run(mode, &opts).await;
    let interrupted = finish(start).await;
    let report = report?;
    print_summary(&report, args.json)?;
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if report.success() {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// How a `--dry-run` is checked and shown.
#[derive(Clone, Copy)]
struct DryRun {
    /// `run --test`.
    test: bool,
    /// Print the plan as JSON.
    json: bool,
    /// The command would call the teacher: run the teacher check.
    needs_teacher: bool,
    /// `generate questions|episodes`: only that stage is planned.
    only: Option<StageKind>,
}

/// `--dry-run`: the same preflight as a real start (including the teacher check when the
/// command would call the teacher), then the plan; nothing is written.
fn dry_run(
    ctx: &Context,
    data_dir: std::path::PathBuf,
    mode: Mode,
    opts: &RunOptions,
    view: &DryRun,
) -> anyhow::Result<u8> {
    let DryRun {
        test,
        json,
        needs_teacher,
        only,
    } = *view;
    let layout = csvagent_sdk::record::DataLayout::new(&data_dir);
    let settings = ctx.settings()?;
    let mut reasons = preflight_check(
        &layout,
        &PreflightScope {
            sources: mode.sources(),
            dry_run: true,
            fresh: None,
        },
    );
    if needs_teacher {
        reasons.extend(csvagent_sdk::pipeline::teacher_check(&settings.llm));
    }
    if !reasons.is_empty() {
        crate::render::print_stderr(&format_reasons(&reasons));
        return Ok(exit::PREFLIGHT);
    }
    let pipeline = Pipeline::new(
        &data_dir,
        ctx.datasets_dir.clone(),
        settings,
        EventSink::discard(),
    );
    let mut plan = pipeline.dry_run(mode, opts)?;
    if let Some(kind) = only {
        plan.stages.retain(|s| s.kind == kind);
    }
    if json {
        out_json(&plan)?;
        return Ok(exit::OK);
    }
    let mut text = format!(
        "Mode: {}\nTest mode: {}\nStages: {}\n",
        mode_name(mode),
        if test { "yes" } else { "no" },
        plan.stages
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join(" -> ")
    );
    for s in &plan.sources {
        text.push_str(&format!(
            "\n{}:\n  datasets: {}\n",
            s.source.as_str(),
            s.datasets.join(", ")
        ));
        if only != Some(StageKind::Episodes) {
            text.push_str(&format!(
                "  questions to generate for: {}\n",
                if s.datasets_to_generate.is_empty() {
                    "(none)".to_owned()
                } else {
                    s.datasets_to_generate.join(", ")
                }
            ));
        }
        if only == Some(StageKind::Questions) {
            text.push_str(&format!("  questions on disk: {}\n", s.questions_on_disk));
        } else {
            text.push_str(&format!(
                "  questions on disk: {}, to process: {}\n",
                s.questions_on_disk, s.questions_to_process
            ));
        }
        text.push_str(&format!(
            "  outputs: {}\n",
            s.outputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (name, reason) in &plan.skipped_datasets {
        text.push_str(&format!("skipped dataset {name}: {reason}\n"));
    }
    text.push_str("\nNo changes made (dry run)\n");
    out(&text)?;
    Ok(exit::OK)
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Template => "template",
        Mode::Procedural => "procedural",
        Mode::LlmGen => "llm_gen",
        Mode::All => "all",
    }
}

fn print_summary(report: &RunReport, json: bool) -> anyhow::Result<()> {
    if json {
        return out_json(report);
    }
    let mut text = format!(
        "{}\nPIPELINE COMPLETE (run {})\n{}\n",
        "=".repeat(60),
        report.run_id,
        "=".repeat(60)
    );
    text.push_str(&format!(
        "{:<24} {:<8} {:>8} {:>9} {:>8}  {}\n",
        "stage", "outcome", "written", "verified", "failures", "detail"
    ));
    for s in &report.stages {
        text.push_str(&stage_row(s));
    }
    text.push_str("\nEpisode files:\n");
    for (source, lines, path) in &report.episode_lines {
        text.push_str(&format!(
            "  {:<11} {lines:>6} lines  {}\n",
            source.as_str(),
            path.display()
        ));
    }
    out(&text)
}

fn stage_row(s: &StageReport) -> String {
    let outcome = match s.outcome {
        StageOutcome::Ok => "ok",
        StageOutcome::Skipped => "skipped",
        StageOutcome::Failed => "FAILED",
    };
    let verified = if s.stage.kind == StageKind::Episodes {
        s.verified.to_string()
    } else {
        "-".into()
    };
    format!(
        "{:<24} {:<8} {:>8} {:>9} {:>8}  {}\n",
        s.stage.label(),
        outcome,
        s.written,
        verified,
        s.item_failures,
        s.detail.as_deref().unwrap_or("")
    )
}

pub async fn generate_questions(ctx: &Context, args: GenerateQuestionsArgs) -> anyhow::Result<u8> {
    let mode = mode_of(&args.mode);
    let opts = QuestionStageOptions {
        datasets: args.only.clone(),
        max_datasets: args.max_datasets,
        num_questions: None,
    };
    if args.dry_run {
        let run = RunOptions {
            datasets: args.only,
            max_datasets: args.max_datasets,
            ..RunOptions::default()
        };
        let view = DryRun {
            test: false,
            json: args.json,
            needs_teacher: mode.sources().contains(&Source::LlmGen),
            only: Some(StageKind::Questions),
        };
        return dry_run(ctx, ctx.global.data_dir.clone(), mode, &run, &view);
    }
    let fresh = args.fresh.then_some(FreshScope {
        questions: true,
        episodes: false,
    });
    let start = match start(
        ctx,
        ctx.global.data_dir.clone(),
        &mode.sources(),
        false,
        fresh,
        mode.sources().contains(&Source::LlmGen),
    )
    .await?
    {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let mut reports = Vec::new();
    for source in mode.sources() {
        if start.pipeline.is_cancelled() {
            break;
        }
        reports.push(start.pipeline.generate_questions(source, &opts).await);
    }
    let interrupted = finish(start).await;
    stage_summary(&reports, args.json, interrupted)
}

pub async fn generate_episodes(ctx: &Context, args: GenerateEpisodesArgs) -> anyhow::Result<u8> {
    let mode = mode_of(&args.mode);
    let opts = EpisodeStageOptions {
        datasets: args.only.clone(),
        max_datasets: args.max_datasets,
        max_questions: args.max_questions,
        n_consistency: args.n_consistency.map(|n| n as u32),
        retry_failed: args.retry_failed,
    };
    if args.dry_run {
        let run = RunOptions {
            datasets: args.only,
            max_datasets: args.max_datasets,
            max_questions: args.max_questions,
            retry_failed: args.retry_failed,
            ..RunOptions::default()
        };
        let view = DryRun {
            test: false,
            json: args.json,
            needs_teacher: true,
            only: Some(StageKind::Episodes),
        };
        return dry_run(ctx, ctx.global.data_dir.clone(), mode, &run, &view);
    }
    let fresh = args.fresh.then_some(FreshScope {
        questions: false,
        episodes: true,
    });
    let start = match start(
        ctx,
        ctx.global.data_dir.clone(),
        &mode.sources(),
        false,
        fresh,
        true,
    )
    .await?
    {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let mut reports = Vec::new();
    for source in mode.sources() {
        if start.pipeline.is_cancelled() {
            break;
        }
        reports.push(start.pipeline.generate_episodes(source, &opts).await);
    }
    let interrupted = finish(start).await;
    stage_summary(&reports, args.json, interrupted)
}

fn stage_summary(reports: &[StageReport], json: bool, interrupted: bool) -> anyhow::Result<u8> {
    if json {
        out_json(&reports)?;
    } else {
        let mut text = format!(
            "{:<24} {:<8} {:>8} {:>9} {:>8}  {}\n",
            "stage", "outcome", "written", "verified", "failures", "detail"
        );
        for s in reports {
            text.push_str(&stage_row(s));
        }
        for s in reports {
            for o in &s.outputs {
                text.push_str(&format!("  wrote {}\n", o.display()));
            }
        }
        out(&text)?;
    }
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if reports.iter().any(|r| r.outcome == StageOutcome::Failed) {
        exit::FAILED
    } else {
        exit::OK
    })
}
