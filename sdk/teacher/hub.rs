//! Fetching the embedded teacher's model file from the Hugging Face Hub into the standard HF
//! cache (hf-hub), with progress sent as [`Event::ModelDownload`].

use std::path::PathBuf;
use std::sync::Mutex;

use hf_hub::HFClient;
use hf_hub::progress::{DownloadEvent, ProgressEvent, ProgressHandler};

use super::{TeacherConfig, TeacherError};
use crate::events::{Event, EventSink, LogLevel};

/// Downloads `file` of model repository `repo` (`owner/name`) at `revision` (default `main`)
/// into the HF cache and returns its path there. A cached copy is reused: a fresh one without
/// any download, and a stale or unverifiable one when the Hub cannot be reached. With
/// `HF_HUB_OFFLINE=1` the network is not used at all.
///
/// # Errors
/// [`TeacherError::HubFetch`] when the repository or file does not exist, the Hub cannot be
/// reached and nothing is cached, or the cache cannot be written.
pub(crate) async fn fetch(
    repo: &str,
    file: &str,
    revision: Option<&str>,
    config: &TeacherConfig,
    events: &EventSink,
) -> Result<PathBuf, TeacherError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| TeacherError::HubFetch {
        repo: repo.to_string(),
        file: file.to_string(),
        source,
    };
    let (owner, name) = repo.split_once('/').ok_or_else(|| TeacherError::Config {
        field: "model".into(),
        message: format!("`{repo}` is not a Hub repository name `owner/name`"),
    })?;
    let mut builder = HFClient::builder();
    if let Some(dir) = &config.hf_cache_dir {
        builder = builder.cache_dir(dir);
    }
    if let Some(endpoint) = &config.hf_endpoint {
        builder = builder.endpoint(endpoint);
    }
    let client = builder.build().map_err(|e| fail(Box::new(e)))?;
    let offline = std::env::var("HF_HUB_OFFLINE")
        .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "yes" | "ON" | "on"));
    events
        .log(
            LogLevel::Info,
            format!(
                "fetching `{file}` from the Hugging Face repository `{repo}` into {}",
                client.cache_dir().display()
            ),
        )
        .await;
    let progress = DownloadProgress {
        sink: events.clone(),
        repo: repo.to_string(),
        file: file.to_string(),
        state: Mutex::new(State::default()),
    };
    let path = client
        .model(owner, name)
        .download_file()
        .filename(file)
        .maybe_revision(revision.map(str::to_string))
        .local_files_only(offline)
        .progress(progress)
        .send()
        .await
        .map_err(|e| fail(Box::new(e)))?;
    tracing::debug!(path = %path.display(), "model file ready");
    Ok(path)
}

#[derive(Default)]
struct State {
    total: u64,
    last_sent: Option<u64>,
}

/// Turns hf-hub progress callbacks into [`Event::ModelDownload`] events, about one per percent.
struct DownloadProgress {
    sink: EventSink,
    repo: String,
    file: String,
    state: Mutex<State>,
}

impl DownloadProgress {
    fn send(&self, done: u64, force: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let step = (state.total / 100).max(1);
        let due = match state.last_sent {
            None => true,
            Some(last) => force || done >= last.saturating_add(step),
        };
        if !due || state.last_sent == Some(done) {
            return;
        }
        state.last_sent = Some(done);
        let total = state.total;
        drop(state);
        self.sink.emit_now(Event::ModelDownload {
            repo: self.repo.clone(),
            file: self.file.clone(),
            done_bytes: done,
            total_bytes: total,
        });
    }
}

impl ProgressHandler for DownloadProgress {
    fn on_progress(&self, event: &ProgressEvent) {
        let ProgressEvent::Download(event) = event else {
            return;
        };
        match event {
            DownloadEvent::Start { total_bytes, .. } => {
                self.state.lock().unwrap_or_else(|p| p.into_inner()).total = *total_bytes;
                self.send(0, true);
            }
            DownloadEvent::Progress { files } => {
                let done: u64 = files.iter().map(|f| f.bytes_completed).sum();
                let complete = files
                    .iter()
                    .all(|f| f.status == hf_hub::progress::FileStatus::Complete);
                self.send(done, complete);
            }
            DownloadEvent::AggregateProgress {
                bytes_completed, ..
            } => self.send(*bytes_completed, false),
            DownloadEvent::Complete => {
                let total = self.state.lock().unwrap_or_else(|p| p.into_inner()).total;
                self.send(total, true);
            }
        }
    }
}
