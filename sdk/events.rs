//! Typed progress events: what long operations report for display.
//!
//! Long operations (runs, stages, datasets, questions, episodes, containers, image builds,
//! uploads) send [`Event`] values to an [`EventSink`] over a bounded channel. The CLI draws them
//! with progress bars; the desktop app forwards them over a Tauri channel. Both consume the same
//! stream, so both show the same truth. Events are for display: the return value of the
//! operation is the real result. Each event is delivered to exactly one receiver, once.

use std::fs::File;
use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::schema::Source;

/// Which half of the pipeline a stage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Question generation (`generate questions`).
    Questions,
    /// Episode generation (`generate episodes`).
    Episodes,
}

/// One stage of a run: a kind for one source (`1a` = template questions, `2a` = template
/// episodes, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stage {
    /// Questions or episodes.
    pub kind: StageKind,
    /// The source the stage works on.
    pub source: Source,
}

impl Stage {
    /// A human label such as `template questions` or `llm_gen episodes`.
    pub fn label(&self) -> String {
        let kind = match self.kind {
            StageKind::Questions => "questions",
            StageKind::Episodes => "episodes",
        };
        format!("{} {kind}", self.source.as_str())
    }
}

/// How a stage ended (SPEC 8.1): `ok` wrote at least one record, `skipped` had nothing to do,
/// `failed` hit a fatal error or wrote nothing from a non-empty input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageOutcome {
    /// At least one record was written.
    Ok,
    /// Nothing was left to do.
    Skipped,
    /// A fatal error, or zero records from a non-empty input.
    Failed,
}

/// Log severity carried by [`Event::Log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Details.
    Debug,
    /// Normal progress.
    Info,
    /// Something was skipped or degraded.
    Warn,
    /// Something failed.
    Error,
}

/// What happened to a sandbox container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerAction {
    /// Created and answering pings.
    Started,
    /// Loaded a dataset.
    Loaded,
    /// Found dead and replaced.
    Replaced,
    /// Stopped and removed.
    Stopped,
    /// Stopping failed (shutdown continued).
    StopFailed,
    /// A leftover container of a dead csvagent process was removed.
    OrphanRemoved,
}

/// A progress event. Serialised with a `type` tag (`{"type":"stage_started",...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A run began.
    RunStarted {
        /// UUIDv4 of the run.
        run_id: String,
        /// Stages in execution order.
        stages: Vec<Stage>,
    },
    /// A run ended.
    RunFinished {
        /// UUIDv4 of the run.
        run_id: String,
        /// Whether every stage was `ok` or `skipped`.
        success: bool,
    },
    /// A stage began.
    StageStarted {
        /// The stage.
        stage: Stage,
        /// Items to do (datasets for question stages, questions for episode stages), if known.
        total: Option<u64>,
    },
    /// A stage advanced.
    StageProgress {
        /// The stage.
        stage: Stage,
        /// Items done.
        done: u64,
        /// Items in all.
        total: u64,
    },
    /// A stage ended.
    StageFinished {
        /// The stage.
        stage: Stage,
        /// How it ended.
        outcome: StageOutcome,
        /// Records written.
        written: u64,
        /// Items that failed without failing the stage.
        item_failures: u64,
        /// Wall time in milliseconds.
        elapsed_ms: u64,
        /// Why it was skipped or failed.
        detail: Option<String>,
    },
    /// Work on a dataset began.
    DatasetStarted {
        /// The stage.
        stage: Stage,
        /// Dataset name.
        dataset: String,
        /// Items planned for it, if known.
        total: Option<u64>,
    },
    /// Work on a dataset ended.
    DatasetFinished {
        /// The stage.
        stage: Stage,
        /// Dataset name.
        dataset: String,
        /// Records written: questions, or episode lines.
        written: u64,
        /// Candidates rejected, or questions without a verified episode.
        rejected: u64,
    },
    /// A dataset was skipped.
    DatasetSkipped {
        /// The stage.
        stage: Stage,
        /// Dataset name.
        dataset: String,
        /// Why.
        reason: String,
    },
    /// One candidate question finished (accepted or rejected).
    QuestionFinished {
        /// The source.
        source: Source,
        /// Dataset name.
        dataset: String,
        /// Template or program name, or question id.
        name: String,
        /// Whether it was kept.
        accepted: bool,
        /// Rejection reason, or a note such as `+2 alt`.
        detail: Option<String>,
    },
    /// One question's episode was written (or failed).
    EpisodeFinished {
        /// The source.
        source: Source,
        /// Dataset name.
        dataset: String,
        /// The question id.
        question_id: String,
        /// Whether the episode verified.
        verified: bool,
        /// Failure kind when not verified (`answer_mismatch`, `llm_error`, ...).
        error_kind: Option<String>,
        /// Wall time in milliseconds.
        elapsed_ms: u64,
    },
    /// A sandbox container changed state.
    Container {
        /// Container id (short) or name.
        id: String,
        /// What happened.
        action: ContainerAction,
        /// Extra information (dataset, error).
        detail: Option<String>,
    },
    /// Sandbox image build progress.
    ImageBuild {
        /// The current step, e.g. `debootstrap`, `wheels`, `import`.
        step: String,
        /// A line of output or a description.
        message: String,
    },
    /// Upload progress.
    Upload {
        /// `staging`, `creating repository`, `committing`, `done`.
        phase: String,
        /// Files or bytes done.
        done: u64,
        /// Files or bytes in all.
        total: u64,
    },
    /// Progress of a model file download into the Hugging Face cache (the embedded teacher's
    /// GGUF model). Sent when the transfer starts (`done_bytes = 0`), about every 1 % and at the
    /// end (`done_bytes = total_bytes`). A file already in the cache gives only the first and
    /// the last; none is sent when the Hub is not contacted (offline, cached copy used).
    ModelDownload {
        /// `owner/name` of the Hub repository.
        repo: String,
        /// The file in it.
        file: String,
        /// Bytes downloaded so far.
        done_bytes: u64,
        /// Size of the file in bytes (0 when the server did not say).
        total_bytes: u64,
    },
    /// A log line meant for the user.
    Log {
        /// Severity.
        level: LogLevel,
        /// The message.
        msg: String,
    },
}

/// Where events go: a bounded channel, or nowhere; and, once [`EventSink::start_log`] was
/// called on it or a clone, also a run log file.
///
/// Cheap to clone; clones share the channel and the log. Sending waits when the channel is full
/// (back-pressure, nothing dropped); if the receiver is gone, events are discarded.
#[derive(Debug, Clone, Default)]
pub struct EventSink {
    tx: Option<mpsc::Sender<Event>>,
    log: Arc<OnceLock<Mutex<LineWriter<File>>>>,
}

impl EventSink {
    /// A sink and its receiver, with room for `capacity` pending events.
    pub fn channel(capacity: usize) -> (EventSink, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            EventSink {
                tx: Some(tx),
                log: Arc::default(),
            },
            rx,
        )
    }

    /// A sink that discards every event (but still writes a log once one is started).
    pub fn discard() -> EventSink {
        EventSink::default()
    }

    /// From now on, every event sent through this sink or any clone is also appended to `path`
    /// as one JSON line: `{"timestamp": RFC 3339 UTC, "type": ..., <the event's fields>}`. The
    /// parent directories are created. Only the first call has an effect; later ones (with any
    /// path) return `Ok` and change nothing.
    ///
    /// # Errors
    /// When the directory or file cannot be created or opened for appending.
    pub fn start_log(&self, path: &Path) -> std::io::Result<()> {
        if self.log.get().is_some() {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let _ = self.log.set(Mutex::new(LineWriter::new(file)));
        Ok(())
    }

    fn write_log(&self, event: &Event) {
        let Some(log) = self.log.get() else { return };
        let mut line = serde_json::Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(event) {
            line.extend(fields);
        }
        let mut writer = log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A full disk must not stop the run; the outputs themselves report write errors.
        let _ = writeln!(writer, "{}", serde_json::Value::Object(line));
    }

    /// Sends `event`, waiting for room in the channel.
    pub async fn emit(&self, event: Event) {
        self.write_log(&event);
        if let Some(tx) = &self.tx {
            let _ = tx.send(event).await;
        }
    }

    /// Sends `event` from synchronous code. If the channel is full the event is sent from a
    /// background task, so it is delayed, never lost; outside a Tokio runtime it is dropped.
    pub fn emit_now(&self, event: Event) {
        self.write_log(&event);
        let Some(tx) = &self.tx else { return };
        if let Err(mpsc::error::TrySendError::Full(event)) = tx.try_send(event)
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let tx = tx.clone();
            handle.spawn(async move {
                let _ = tx.send(event).await;
            });
        }
    }

    /// Shorthand for an [`Event::Log`].
    pub async fn log(&self, level: LogLevel, msg: impl Into<String>) {
        self.emit(Event::Log {
            level,
            msg: msg.into(),
        })
        .await;
    }
}
