//! Run, generate and smoke-test: preflight, lock, `--fresh`, stages and cancel, exactly as the
//! CLI's `run` / `generate questions|episodes` / `run --test` (SDK calls only).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use csvagent_sdk::ErrorCode;
use csvagent_sdk::config::Mode;
use csvagent_sdk::events::{Event, EventSink, LogLevel};
use csvagent_sdk::pipeline::{
    DryRunPlan, EpisodeStageOptions, FreshScope, Pipeline, PreflightScope, QuestionStageOptions,
    RunLock, RunOptions, StageReport, format_reasons, fresh_targets, move_aside, preflight_check,
};
use csvagent_sdk::record::now_stamp;
use csvagent_sdk::schema::Source;
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;
use crate::error::{CommandError, CommandResult, sdk};

/// What a run does: `run` (questions then episodes per source), `questions` or `episodes`
/// (one half), or `smoke` (`run --test`: 1 dataset, 1 question, 1 consistency trace, in a
/// scratch directory under the data dir).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `csvagent run`.
    #[default]
    Run,
    /// `csvagent generate questions`.
    Questions,
    /// `csvagent generate episodes`.
    Episodes,
    /// `csvagent run --test`.
    Smoke,
}

/// The Run form. Strings rather than enums for `mode` so a bad value gets an
/// `invalid_input` error naming the valid ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunRequest {
    /// `template`, `procedural`, `llm_gen` or `all`.
    pub mode: String,
    /// What to do (default `run`).
    pub action: Action,
    /// Only these datasets (all usable ones when empty).
    pub datasets: Vec<String>,
    /// At most this many datasets.
    pub max_datasets: Option<usize>,
    /// At most this many questions per dataset (episode stages).
    pub max_questions: Option<usize>,
    /// Consistency traces per llm_gen question (overrides the settings).
    pub n_consistency: Option<u32>,
    /// Rerun only failed questions.
    pub retry_failed: bool,
    /// Move the selected sources' outputs aside first (`--fresh`).
    pub fresh: bool,
}

/// Parses a mode name.
///
/// # Errors
/// `invalid_input` naming the value and the valid modes.
pub fn parse_mode(mode: &str) -> CommandResult<Mode> {
    match mode.trim() {
        "template" => Ok(Mode::Template),
        "procedural" => Ok(Mode::Procedural),
        "llm_gen" => Ok(Mode::LlmGen),
        "all" => Ok(Mode::All),
        other => Err(CommandError::new(
            ErrorCode::InvalidInput,
            format!("unknown mode `{other}`; valid modes: template, procedural, llm_gen, all"),
        )),
    }
}

impl RunRequest {
    fn fresh_scope(&self) -> Option<FreshScope> {
        if !self.fresh || self.action == Action::Smoke {
            return None;
        }
        Some(FreshScope {
            questions: self.action != Action::Episodes,
            episodes: self.action != Action::Questions,
        })
    }

    fn options(&self) -> RunOptions {
        let mut opts = RunOptions {
            datasets: self.datasets.clone(),
            max_datasets: self.max_datasets,
            max_questions: self.max_questions,
            n_consistency: self.n_consistency,
            retry_failed: self.retry_failed,
            num_questions: None,
        };
        if self.action == Action::Smoke {
            opts.max_datasets = Some(1);
            opts.max_questions = Some(1);
            opts.n_consistency = Some(1);
            opts.num_questions = Some(1);
        }
        opts
    }
}

/// What the Run view shows before Start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// Whether Start may proceed.
    pub ok: bool,
    /// Why not (legacy layout, lock held, unwritable path), one line each.
    pub reasons: Vec<String>,
    /// Whether this app is running something now.
    pub active: bool,
    /// What `fresh` would move aside (existing paths), empty unless `fresh` is set.
    pub fresh_moves: Vec<PathBuf>,
}

/// The SDK preflight for `request` (as `csvagent run` checks it: layout, writability, malformed
/// files, the run lock), plus whether this window runs something and the `--fresh` list.
///
/// # Errors
/// `invalid_input` for an unknown mode.
pub fn preflight(
    config: &AppConfig,
    slot: &RunSlot,
    request: &RunRequest,
) -> CommandResult<Preflight> {
    let mode = parse_mode(&request.mode)?;
    let layout = config.layout();
    let sources = mode.sources();
    let mut reasons = if request.action == Action::Smoke {
        Vec::new()
    } else {
        preflight_check(
            &layout,
            &PreflightScope {
                sources: sources.clone(),
                dry_run: false,
                fresh: request.fresh_scope(),
            },
        )
    };
    let active = slot.active_run_id().is_some();
    if active {
        reasons.push("a run started from this window is still active; stop it or wait".into());
    }
    let fresh_moves = request
        .fresh_scope()
        .map(|scope| fresh_targets(&layout, &sources, scope))
        .unwrap_or_default();
    Ok(Preflight {
        ok: reasons.is_empty(),
        reasons,
        active,
        fresh_moves,
    })
}

/// The dry-run plan (SPEC 8.5) for `request`: nothing written, no container, no model call.
///
/// # Errors
/// `invalid_input` for an unknown mode or invalid settings; `dataset` when discovery fails.
pub fn plan(config: &AppConfig, request: &RunRequest) -> CommandResult<DryRunPlan> {
    let mode = parse_mode(&request.mode)?;
    let pipeline = Pipeline::new(
        &config.data_dir,
        config.datasets_dir.clone(),
        config.settings()?,
        EventSink::discard(),
    );
    pipeline.dry_run(mode, &request.options()).map_err(sdk)
}

/// What a finished run did: the CLI summary's content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    /// The run id.
    pub run_id: String,
    /// Where it wrote (the scratch directory for a smoke run).
    pub data_dir: PathBuf,
    /// Whether Stop ended it early.
    pub interrupted: bool,
    /// Whether every stage was `ok` or `skipped`.
    pub success: bool,
    /// Stage reports in order.
    pub stages: Vec<StageReport>,
    /// `(source, lines, file)` of each episode file after a `run` or `smoke` action (as the CLI
    /// summary lists them); empty for `questions` / `episodes`.
    pub episode_lines: Vec<(Source, usize, PathBuf)>,
    /// Paths `fresh` moved aside (their new locations).
    pub moved_aside: Vec<PathBuf>,
    /// `(container id, error)` for containers that could not be stopped.
    pub stop_failures: Vec<(String, String)>,
}

struct ActiveRun {
    pipeline: Pipeline,
    stops: u32,
}

/// The one run this window may have active. Start is refused while it is occupied.
#[derive(Default)]
pub struct RunSlot {
    active: Mutex<Option<ActiveRun>>,
}

impl std::fmt::Debug for RunSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunSlot")
            .field("active", &self.active_run_id())
            .finish()
    }
}

/// Clears the slot when the run ends, however it ends.
struct SlotGuard<'a>(&'a RunSlot);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut g) = self.0.active.lock() {
            *g = None;
        }
    }
}

/// What Stop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopOutcome {
    /// Nothing was running.
    Idle,
    /// Cooperative cancel: in-flight items are abandoned, everything written stays valid.
    Cancelling,
    /// Second Stop: the sandbox containers were stopped at once.
    Forced,
}

impl RunSlot {
    /// The active run's id, if any.
    pub fn active_run_id(&self) -> Option<String> {
        self.active
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|r| r.pipeline.run_id().to_owned()))
    }

    fn occupy(&self, pipeline: &Pipeline) -> CommandResult<SlotGuard<'_>> {
        let mut g = self
            .active
            .lock()
            .map_err(|_| CommandError::new(ErrorCode::Io, "run state is poisoned"))?;
        if let Some(r) = g.as_ref() {
            return Err(CommandError::new(
                ErrorCode::Preflight,
                format!(
                    "run {} is still active; stop it or wait before starting another",
                    r.pipeline.run_id()
                ),
            ));
        }
        *g = Some(ActiveRun {
            pipeline: pipeline.clone(),
            stops: 0,
        });
        Ok(SlotGuard(self))
    }

    /// Stop: the first call cancels cooperatively ([`Pipeline::cancel`]), the second forces
    /// ([`Pipeline::shutdown`], at most 10 s).
    pub async fn stop(&self) -> StopOutcome {
        let (pipeline, stops) = {
            let Ok(mut g) = self.active.lock() else {
                return StopOutcome::Idle;
            };
            let Some(r) = g.as_mut() else {
                return StopOutcome::Idle;
            };
            r.stops += 1;
            (r.pipeline.clone(), r.stops)
        };
        pipeline.cancel();
        if stops == 1 {
            return StopOutcome::Cancelling;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let _ = tokio::time::timeout_at(deadline, pipeline.shutdown()).await;
        // The run's own shutdown may already hold the containers (then ours returns at once):
        // wait for the run to end, within the same 10 s.
        drop(pipeline);
        self.wait_idle(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await;
        StopOutcome::Forced
    }
}

impl RunSlot {
    /// Ends the active run because the app is exiting (window closed or a signal): cancels it,
    /// waits up to `grace` for it to end on its own, then forces the shutdown (containers
    /// stopped, at most 10 s) and waits up to 10 s more for the run to end. The run releases
    /// its lock before the slot, so a free slot means the lock file is gone.
    /// Returns at once when nothing runs.
    pub async fn stop_for_exit(&self, grace: Duration) {
        if self.stop().await == StopOutcome::Idle {
            return;
        }
        if self.wait_idle(grace).await {
            return;
        }
        tracing::warn!(
            "the run did not end within {grace:?} of the cancel: stopping its containers"
        );
        self.stop().await;
        // The run's own shutdown may be the one stopping the containers (bounded at 10 s).
        self.wait_idle(Duration::from_secs(10)).await;
    }

    /// Whether the slot became free within `timeout` (polled every 100 ms).
    async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.active_run_id().is_some() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        true
    }
}

/// Starts `request` and waits for it to end, sending every SDK event to `on_event` as it
/// happens. The same sequence as the CLI: preflight (refused: `preflight` error with the
/// reasons), pipeline, run lock, `--fresh`, stages, shutdown (containers stopped).
///
/// # Errors
/// `preflight` when refused or a run is already active; `invalid_input` for a bad mode or
/// settings; the stage's error code when a run-level error ends it.
pub async fn start_run(
    config: &AppConfig,
    slot: &RunSlot,
    request: &RunRequest,
    on_event: impl Fn(Event) + Send + 'static,
) -> CommandResult<RunResult> {
    let mode = parse_mode(&request.mode)?;
    let settings = config.settings()?;
    let sources = mode.sources();
    let data_dir = if request.action == Action::Smoke {
        config.layout().smoke_dir(&now_stamp())
    } else {
        config.data_dir.clone()
    };
    let layout = csvagent_sdk::record::DataLayout::new(&data_dir);
    let reasons = preflight_check(
        &layout,
        &PreflightScope {
            sources: sources.clone(),
            dry_run: false,
            fresh: request.fresh_scope(),
        },
    );
    if !reasons.is_empty() {
        return Err(CommandError::new(
            ErrorCode::Preflight,
            format_reasons(&reasons),
        ));
    }
    let (events, mut rx) = EventSink::channel(1024);
    let forwarder = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            on_event(event);
        }
    });
    let pipeline = Pipeline::new(
        &data_dir,
        config.datasets_dir.clone(),
        settings,
        events.clone(),
    );
    let guard = slot.occupy(&pipeline)?;
    let lock = RunLock::acquire(&layout.lock_file(), pipeline.run_id())
        .map_err(|reason| CommandError::new(ErrorCode::Preflight, format_reasons(&[reason])))?;
    let mut moved_aside = Vec::new();
    if let Some(scope) = request.fresh_scope() {
        moved_aside = move_aside(&layout, &sources, scope, &now_stamp()).map_err(sdk)?;
        for m in &moved_aside {
            events
                .log(LogLevel::Info, format!("moved aside: {}", m.display()))
                .await;
        }
    }
    if request.action == Action::Smoke {
        events
            .log(
                LogLevel::Info,
                format!(
                    "TEST MODE: 1 dataset, 1 question, 1 consistency trace; outputs in {}",
                    data_dir.display()
                ),
            )
            .await;
    }
    let opts = request.options();
    let stages = run_stages(&pipeline, mode, request.action, &opts).await;
    let interrupted = pipeline.is_cancelled();
    let stop_failures = pipeline
        .shutdown()
        .await
        .map(|r| r.failed)
        .unwrap_or_default();
    let run_id = pipeline.run_id().to_owned();
    // The lock goes before the slot: an app exiting once the slot is free finds the lock gone.
    drop(lock);
    // Every sender must be gone before the forwarder can end: the slot holds a pipeline clone
    // (and with it the event sink).
    drop(guard);
    drop(pipeline);
    drop(events);
    let _ = forwarder.await;
    let (stages, episode_lines) = stages?;
    let success = stages
        .iter()
        .all(|s| s.outcome != csvagent_sdk::events::StageOutcome::Failed);
    Ok(RunResult {
        run_id,
        data_dir,
        interrupted,
        success,
        stages,
        episode_lines,
        moved_aside,
        stop_failures,
    })
}

async fn run_stages(
    pipeline: &Pipeline,
    mode: Mode,
    action: Action,
    opts: &RunOptions,
) -> CommandResult<(Vec<StageReport>, Vec<(Source, usize, PathBuf)>)> {
    match action {
        Action::Run | Action::Smoke => pipeline
            .run(mode, opts)
            .await
            .map(|r| (r.stages, r.episode_lines))
            .map_err(sdk),
        Action::Questions => {
            let q = QuestionStageOptions {
                datasets: opts.datasets.clone(),
                max_datasets: opts.max_datasets,
                num_questions: None,
            };
            let mut reports = Vec::new();
            for source in mode.sources() {
                if pipeline.is_cancelled() {
                    break;
                }
                reports.push(pipeline.generate_questions(source, &q).await);
            }
            Ok((reports, Vec::new()))
        }
        Action::Episodes => {
            let e = EpisodeStageOptions {
                datasets: opts.datasets.clone(),
                max_datasets: opts.max_datasets,
                max_questions: opts.max_questions,
                n_consistency: opts.n_consistency,
                retry_failed: opts.retry_failed,
            };
            let mut reports = Vec::new();
            for source in mode.sources() {
                if pipeline.is_cancelled() {
                    break;
                }
                reports.push(pipeline.generate_episodes(source, &e).await);
            }
            Ok((reports, Vec::new()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_mode_names_the_valid_modes() {
        let err = parse_mode("everything").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("`everything`"));
        assert!(err.message.contains("template, procedural, llm_gen, all"));
    }

    #[test]
    fn smoke_request_forces_one_dataset_one_question_one_trace() {
        let r = RunRequest {
            mode: "all".into(),
            action: Action::Smoke,
            max_datasets: Some(5),
            fresh: true,
            ..RunRequest::default()
        };
        let o = r.options();
        assert_eq!(
            (
                o.max_datasets,
                o.max_questions,
                o.n_consistency,
                o.num_questions
            ),
            (Some(1), Some(1), Some(1), Some(1))
        );
        assert_eq!(
            r.fresh_scope(),
            None,
            "a smoke run never moves real outputs"
        );
    }

    #[test]
    fn fresh_scope_follows_the_action() {
        let mut r = RunRequest {
            mode: "template".into(),
            action: Action::Questions,
            fresh: true,
            ..RunRequest::default()
        };
        assert_eq!(
            r.fresh_scope(),
            Some(FreshScope {
                questions: true,
                episodes: false
            })
        );
        r.action = Action::Episodes;
        assert_eq!(
            r.fresh_scope(),
            Some(FreshScope {
                questions: false,
                episodes: true
            })
        );
    }
}
