//! Terminal rendering: logging setup, error printing, and drawing the SDK's event stream as
//! progress bars (on a terminal) or plain lines (otherwise).

use std::collections::HashMap;
use std::io::IsTerminal;

use csvagent_sdk::events::{ContainerAction, Event, LogLevel, StageKind, StageOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

/// Installs the `tracing` subscriber: warnings by default, `-v` info, `-vv` debug, `-q` errors;
/// `RUST_LOG` overrides. Logs go to stderr; colour only on a terminal and without `NO_COLOR`.
pub fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color_enabled())
        .with_target(false)
        .try_init();
}

/// Whether to colour stderr: a terminal and no `NO_COLOR`.
pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Prints an error and its causes once, as `error: <msg>` followed by `  caused by: <cause>` lines.
#[expect(clippy::print_stderr, reason = "the CLI reports errors on stderr")]
pub fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    // A cause already quoted by the message above it (`cannot access `x`: Is a directory`) is
    // not repeated.
    let mut shown = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !shown.contains(&text) {
            eprintln!("  caused by: {text}");
        }
        shown = text;
    }
}

/// Draws events until the channel closes. Returns when every sender is dropped.
/// A running event drawer (see [`draw_events`]).
pub struct Drawer {
    task: tokio::task::JoinHandle<()>,
    done: tokio::sync::oneshot::Sender<()>,
}

impl Drawer {
    /// Spawns [`draw_events`] over `rx`.
    pub fn spawn(rx: mpsc::Receiver<Event>, quiet: bool) -> Drawer {
        let (done, done_rx) = tokio::sync::oneshot::channel();
        Drawer {
            task: tokio::spawn(draw_events(rx, quiet, done_rx)),
            done,
        }
    }

    /// Draws what is still buffered, then stops.
    pub async fn finish(self) {
        let _ = self.done.send(());
        let _ = self.task.await;
    }
}

pub async fn draw_events(
    mut rx: mpsc::Receiver<Event>,
    quiet: bool,
    done: tokio::sync::oneshot::Receiver<()>,
) {
    let tty = std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if tty && !quiet {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut bars: HashMap<String, ProgressBar> = HashMap::new();
    // The stream ends when every sink is dropped, or when the command says it is done (sinks
    // held by background tasks must not keep the command alive); buffered events still draw.
    let mut done = std::pin::pin!(done);
    let mut finishing = false;
    loop {
        let event = if finishing {
            match rx.try_recv() {
                Ok(e) => e,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                biased;
                e = rx.recv() => match e {
                    Some(e) => e,
                    None => break,
                },
                _ = &mut done => {
                    finishing = true;
                    continue;
                }
            }
        };
        if let Some(line) = plain_line(&event) {
            if quiet
                && !matches!(
                    event,
                    Event::Log {
                        level: LogLevel::Error,
                        ..
                    }
                )
            {
                continue;
            }
            if tty && !quiet {
                multi.suspend(|| print_line(&line));
            } else {
                print_line(&line);
            }
        }
        if !tty || quiet {
            continue;
        }
        match &event {
            Event::StageStarted {
                stage,
                total: Some(total),
            } => {
                let bar = multi.add(ProgressBar::new(*total));
                bar.set_style(style.clone());
                bar.set_prefix(stage.label());
                bars.insert(stage.label(), bar);
            }
            Event::StageProgress { stage, done, total } => {
                if let Some(bar) = bars.get(&stage.label()) {
                    bar.set_length(*total);
                    bar.set_position(*done);
                }
            }
            Event::EpisodeFinished {
                question_id,
                verified,
                ..
            } => {
                for bar in bars.values() {
                    bar.set_message(format!(
                        "{} {}",
                        if *verified { "✓" } else { "✗" },
                        question_id
                    ));
                }
            }
            Event::StageFinished { stage, .. } => {
                if let Some(bar) = bars.remove(&stage.label()) {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }
    for bar in bars.into_values() {
        bar.finish_and_clear();
    }
}

#[expect(clippy::print_stderr, reason = "progress lines go to stderr")]
fn print_line(line: &str) {
    eprintln!("{line}");
}

/// Prints a line (hints, notices, preflight refusals) to stderr.
pub fn print_stderr(line: &str) {
    print_line(line);
}

/// The plain-text line for an event (also shown above the bars on a terminal), or `None` for
/// events only bars show.
pub fn plain_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::RunStarted { run_id, stages } => format!(
            "run {run_id}: {}",
            stages
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(" -> ")
        ),
        Event::StageStarted { stage, total } => {
            let bar = "=".repeat(60);
            match total {
                Some(t) => format!("{bar}\n{} ({t} items)\n{bar}", stage.label()),
                None => format!("{bar}\n{}\n{bar}", stage.label()),
            }
        }
        Event::StageFinished {
            stage,
            outcome,
            written,
            item_failures,
            elapsed_ms,
            detail,
        } => match outcome {
            StageOutcome::Ok => format!(
                "✓ {} completed in {:.1}s ({written} written, {item_failures} item failures)",
                stage.label(),
                *elapsed_ms as f64 / 1000.0
            ),
            StageOutcome::Skipped => format!(
                "– {} skipped: {}",
                stage.label(),
                detail.as_deref().unwrap_or("nothing to do")
            ),
            StageOutcome::Failed => format!(
                "✗ {} FAILED: {}",
                stage.label(),
                detail.as_deref().unwrap_or("unknown error")
            ),
        },
        Event::DatasetFinished {
            stage,
            dataset,
            written,
            rejected,
        } => match stage.kind {
            StageKind::Questions => {
                format!("  {dataset}: {written} questions written ({rejected} rejected)")
            }
            StageKind::Episodes => {
                format!("  {dataset}: {written} episodes written ({rejected} not verified)")
            }
        },
        Event::DatasetSkipped {
            dataset, reason, ..
        } => format!("  {dataset}: skipped: {reason}"),
        Event::EpisodeFinished {
            question_id,
            verified,
            error_kind,
            elapsed_ms,
            ..
        } => format!(
            "  {} {question_id} {:.1}s{}",
            if *verified { "✓" } else { "✗" },
            *elapsed_ms as f64 / 1000.0,
            error_kind
                .as_deref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default()
        ),
        Event::Container {
            id,
            action: ContainerAction::StopFailed,
            detail,
        } => {
            format!(
                "  container {id}: stop failed: {}",
                detail.as_deref().unwrap_or("")
            )
        }
        Event::Container {
            id,
            action: ContainerAction::Replaced,
            detail,
        } => {
            format!(
                "  container {id} replaced{}",
                detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            )
        }
        Event::ImageBuild { step, message } => format!("  [image: {step}] {message}"),
        Event::Upload { phase, done, total } => format!("  upload {phase}: {done}/{total}"),
        Event::Log { level, msg } => match level {
            LogLevel::Error => format!("error: {msg}"),
            LogLevel::Warn => format!("warning: {msg}"),
            LogLevel::Info => msg.clone(),
            LogLevel::Debug => return None,
        },
        _ => return None,
    })
}

/// The last `max` characters of `text` (a traceback's cause is at its end), with a marker when
/// the start was cut.
pub fn tail(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().skip(n - max).collect();
    format!("[... {} characters cut ...]\n{kept}", n - max)
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn tail_keeps_the_end_of_a_long_traceback_and_marks_the_cut() {
        let traceback = format!(
            "Traceback:\n{}\nKeyError: 'annual_cost'",
            "  frame\n".repeat(100)
        );
        let shown = tail(&traceback, 60);
        assert!(shown.ends_with("KeyError: 'annual_cost'"), "{shown}");
        assert!(
            shown.starts_with("[... ") && shown.contains("characters cut"),
            "{shown}"
        );
        assert_eq!(tail("short", 60), "short");
    }
}
