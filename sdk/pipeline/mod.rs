//! The pipeline: datasets -> questions -> episodes, per source, as stages with honest outcomes
//! (SPEC 8). [`Pipeline`] is what the CLI and the desktop app drive; it owns the sandbox pool and
//! the teacher for one run, reports progress through the [`EventSink`], and can be cancelled.
//!
//! ```no_run
//! # async fn demo() -> csvagent_sdk::Result<()> {
//! use csvagent_sdk::config::{Mode, Settings};
//! use csvagent_sdk::events::EventSink;
//! use csvagent_sdk::pipeline::{Pipeline, RunOptions};
//!
//! let pipeline = Pipeline::new("data", "data/datasets", Settings::default(), EventSink::discard());
//! let report = pipeline.run(Mode::Procedural, &RunOptions::default()).await?;
//! println!("{}", report.success());
//! pipeline.shutdown().await;
//! # Ok(()) }
//! ```

mod episodes;
mod fresh;
mod lock;
mod preflight;
mod questions;
mod run;
mod signals;

pub use episodes::{EpisodeStageOptions, ResumeState};
pub use fresh::{FreshScope, fresh_targets, move_aside};
pub use lock::{LockInfo, RunLock, host_name, pid_alive};
pub use preflight::{PreflightScope, check as preflight_check, format_reasons, teacher_check};
pub use questions::QuestionStageOptions;
pub use run::{DryRunPlan, RunOptions, RunReport, SourcePlan};
pub use signals::{StopSignal, StopSignals};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::dataset::{Catalog, Dataset};
use crate::events::{Event, EventSink, Stage, StageOutcome};
use crate::record::DataLayout;
use crate::sandbox::{SandboxConfig, SandboxPool, StopReport};
use crate::teacher::Teacher;

/// One run's pipeline: configuration, data layout, the lazily started sandbox pool and teacher,
/// the event sink and the cancellation token. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    layout: DataLayout,
    datasets_dir: PathBuf,
    settings: Settings,
    events: EventSink,
    cancel: CancellationToken,
    run_id: String,
    pool: OnceCell<SandboxPool>,
    teacher: OnceCell<Teacher>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("data_dir", &self.inner.layout.root())
            .field("datasets_dir", &self.inner.datasets_dir)
            .field("run_id", &self.inner.run_id)
            .finish_non_exhaustive()
    }
}

/// How one stage ended (SPEC 8.1): `ok` wrote at least one record, `skipped` had nothing to do,
/// `failed` hit a fatal error or wrote nothing from a non-empty input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    /// The stage.
    pub stage: Stage,
    /// How it ended.
    pub outcome: StageOutcome,
    /// Records written: questions, or episode lines (failure records are counted in
    /// `item_failures`).
    pub written: u64,
    /// Verified episodes (episode stages).
    pub verified: u64,
    /// Items that failed without failing the stage (rejected datasets, unverified episodes).
    pub item_failures: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Why it was skipped or failed.
    pub detail: Option<String>,
    /// Files written or appended.
    pub outputs: Vec<PathBuf>,
}

impl StageReport {
    fn new(stage: Stage) -> Self {
        StageReport {
            stage,
            outcome: StageOutcome::Skipped,
            written: 0,
            verified: 0,
            item_failures: 0,
            elapsed_ms: 0,
            detail: None,
            outputs: Vec::new(),
        }
    }
}

impl Pipeline {
    /// A pipeline over `data_dir` (outputs) and `datasets_dir` (inputs). Nothing starts until a
    /// stage needs it: the sandbox pool and the teacher are created on first use.
    pub fn new(
        data_dir: impl Into<PathBuf>,
        datasets_dir: impl Into<PathBuf>,
        settings: Settings,
        events: EventSink,
    ) -> Pipeline {
        Pipeline {
            inner: Arc::new(Inner {
                layout: DataLayout::new(data_dir),
                datasets_dir: datasets_dir.into(),
                settings,
                events,
                cancel: CancellationToken::new(),
                run_id: uuid::Uuid::new_v4().to_string(),
                pool: OnceCell::new(),
                teacher: OnceCell::new(),
            }),
        }
    }

    /// The run id (UUIDv4) stamped on episodes, manifest entries and containers.
    pub fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// The data layout.
    pub fn layout(&self) -> &DataLayout {
        &self.inner.layout
    }

    /// The datasets directory.
    pub fn datasets_dir(&self) -> &Path {
        &self.inner.datasets_dir
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The event sink.
    pub fn events(&self) -> &EventSink {
        &self.inner.events
    }

    /// Requests a cooperative stop: no new items start, in-flight items are abandoned and not
    /// written, everything already written stays valid.
    pub fn cancel(&self) {
        self.inner.cancel.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// The cancellation token (for callers that select on it).
    pub fn cancel_token(&self) -> CancellationToken {
        self.inner.cancel.clone()
    }

    /// Discovers the datasets.
    ///
    /// # Errors
    /// [`crate::dataset::DatasetError`] when the datasets directory cannot be read.
    pub fn catalog(&self) -> crate::Result<Catalog> {
        Ok(Catalog::discover(&self.inner.datasets_dir)?)
    }

    /// The sandbox pool, started on first use (which builds the image when it is missing).
    ///
    /// # Errors
    /// [`crate::sandbox::SandboxError`] when Docker is unreachable or the image cannot be built.
    pub async fn pool(&self) -> crate::Result<SandboxPool> {
        let pool = self
            .inner
            .pool
            .get_or_try_init(|| async {
                let mut cfg: SandboxConfig = self.inner.settings.sandbox.clone();
                cfg.datasets_root = self.inner.datasets_dir.clone();
                let pool =
                    SandboxPool::for_run(cfg, self.inner.events.clone(), self.inner.run_id.clone());
                pool.start().await?;
                Ok::<_, crate::Error>(pool)
            })
            .await?;
        Ok(pool.clone())
    }

    /// The teacher, created on first use (which loads or fetches the local model).
    ///
    /// # Errors
    /// [`crate::teacher::TeacherError`] when the endpoint is misconfigured or no model is found.
    pub async fn teacher(&self) -> crate::Result<Teacher> {
        let t = self
            .inner
            .teacher
            .get_or_try_init(|| async {
                Ok::<_, crate::Error>(
                    Teacher::from_config(&self.inner.settings.llm, &self.inner.events).await?,
                )
            })
            .await?;
        Ok(t.clone())
    }

    /// Stops and removes every container of this run (failures are logged; see
    /// [`SandboxPool::stop`]). Returns `None` if no pool was started.
    pub async fn shutdown(&self) -> Option<StopReport> {
        match self.inner.pool.get() {
            Some(pool) => Some(pool.stop().await),
            None => None,
        }
    }

    /// The usable datasets selected by name (all when `names` is empty), in discovery order,
    /// capped at `max`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming an unknown or unusable dataset and listing the
    /// usable ones.
    pub fn select_datasets(
        &self,
        catalog: &Catalog,
        names: &[String],
        max: Option<usize>,
    ) -> crate::Result<Vec<Dataset>> {
        for n in names {
            if let Err(e) = catalog.get(n) {
                // Both errors name the usable datasets (or why this one is not usable).
                return Err(crate::Error::InvalidInput {
                    what: format!("--dataset {n}"),
                    message: e.to_string(),
                });
            }
        }
        let mut out: Vec<Dataset> = catalog
            .datasets
            .iter()
            .filter(|d| names.is_empty() || names.contains(&d.name))
            .cloned()
            .collect();
        if let Some(m) = max {
            out.truncate(m);
        }
        Ok(out)
    }

    /// Starts writing every event to `logs/runs/<run_id>.log` (once per pipeline; the CLI's
    /// preflight has run by the time a stage starts, so a refused command writes nothing).
    pub(crate) fn start_run_log(&self) {
        let path = self.layout().run_log(self.run_id());
        if let Err(e) = self.inner.events.start_log(&path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the run log");
        }
    }

    async fn stage_started(&self, stage: Stage, total: Option<u64>) -> Instant {
        self.start_run_log();
        self.inner
            .events
            .emit(Event::StageStarted { stage, total })
            .await;
        Instant::now()
    }

    async fn stage_finished(&self, mut report: StageReport, started: Instant) -> StageReport {
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        self.inner
            .events
            .emit(Event::StageFinished {
                stage: report.stage,
                outcome: report.outcome,
                written: report.written,
                item_failures: report.item_failures,
                elapsed_ms: report.elapsed_ms,
                detail: report.detail.clone(),
            })
            .await;
        report
    }

    /// `csv_source` for an episode: the CSV path relative to the current directory when it is
    /// below it, else as given; `/`-separated.
    fn csv_source(&self, dataset: &Dataset) -> PathBuf {
        let cwd = std::env::current_dir().unwrap_or_default();
        let abs = if dataset.csv_path.is_absolute() {
            dataset.csv_path.clone()
        } else {
            cwd.join(&dataset.csv_path)
        };
        abs.strip_prefix(&cwd)
            .map(Path::to_path_buf)
            .unwrap_or(dataset.csv_path.clone())
    }
}
