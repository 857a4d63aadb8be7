//! System (Docker, image, containers, teacher) and Publish (token status, preview, upload).

use csvagent_sdk::ErrorCode;
use csvagent_sdk::events::{Event, EventSink};
use csvagent_sdk::publish::{
    HubAuth, RepoId, StagedUpload, TokenSource, UploadOptions, UploadOutcome, stage, token_status,
    upload,
};
use csvagent_sdk::record::parse_source;
use csvagent_sdk::sandbox::{
    ImageBuildOptions, ImageInfo, ImageStatus, PruneReport, build_image, image_status, prune,
};
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;
use crate::error::{CommandError, CommandResult, sdk};

/// The teacher as the run would use it. Never holds the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeacherView {
    /// Endpoint base URL (none: the embedded local model).
    pub base_url: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Whether an API key is configured.
    pub key_present: bool,
}

/// The System view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemStatus {
    /// Logical CPUs available to this process.
    pub cpus: usize,
    /// Total memory in bytes (`/proc/meminfo`), if readable.
    pub memory_bytes: Option<u64>,
    /// Docker reachability, image tag and presence, csvagent containers and orphans.
    pub image: ImageStatus,
    /// The teacher.
    pub teacher: TeacherView,
    /// The run this window has active, if any (its containers are those with this run id).
    pub active_run: Option<String>,
}

fn memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU, memory, Docker and image status, containers, and the teacher configuration.
///
/// # Errors
/// `invalid_input` when the settings are invalid. An unreachable daemon is a status, not an
/// error.
pub async fn system_status(
    config: &AppConfig,
    active_run: Option<String>,
) -> CommandResult<SystemStatus> {
    let settings = config.settings()?;
    let mut cfg = settings.sandbox.clone();
    cfg.datasets_root = config.datasets_dir.clone();
    let image = image_status(&cfg).await;
    Ok(SystemStatus {
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        memory_bytes: memory_bytes(),
        image,
        teacher: TeacherView {
            base_url: settings.llm.base_url.clone(),
            model: settings.llm.model.clone(),
            key_present: settings.llm.api_key.is_some(),
        },
        active_run,
    })
}

/// Builds the sandbox image (or reports it present), sending build events to `events`.
///
/// # Errors
/// `docker` when the daemon is unreachable or the build fails.
pub async fn build_sandbox_image(
    config: &AppConfig,
    events: &EventSink,
) -> CommandResult<ImageInfo> {
    let mut cfg = config.settings()?.sandbox;
    cfg.datasets_root = config.datasets_dir.clone();
    let mut opts = ImageBuildOptions::from_config(&cfg);
    opts.offline = cfg.offline_build;
    build_image(&opts, events).await.map_err(sdk)
}

/// Removes orphaned csvagent containers (SPEC 4.9: this host's, dead owner only).
///
/// # Errors
/// `docker` when the daemon is unreachable.
pub async fn prune_orphans(config: &AppConfig) -> CommandResult<PruneReport> {
    let mut cfg = config.settings()?.sandbox;
    cfg.datasets_root = config.datasets_dir.clone();
    prune(&cfg).await.map_err(sdk)
}

/// Where the Hub token would come from (env, file or missing). Never the token.
pub fn hub_token_status() -> TokenSource {
    token_status()
}

/// The Publish form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PublishRequest {
    /// `org/name`.
    pub repo: String,
    /// Create the repository private.
    pub private: bool,
    /// Upload the dataset CSVs too.
    pub include_csvs: bool,
    /// Only verified episodes.
    pub verified_only: bool,
    /// Licence id for the card (empty: the SDK default).
    pub license: String,
    /// Sources to publish (empty: all).
    pub sources: Vec<String>,
}

impl PublishRequest {
    fn options(&self, dry_run: bool) -> CommandResult<UploadOptions> {
        let repo = RepoId::parse(self.repo.trim()).map_err(sdk)?;
        let mut opts = UploadOptions::new(repo);
        opts.private = self.private;
        opts.include_csvs = self.include_csvs;
        opts.verified_only = self.verified_only;
        if !self.license.trim().is_empty() {
            opts.license = self.license.trim().to_owned();
        }
        opts.dry_run = dry_run;
        if !self.sources.is_empty() {
            let sources = self
                .sources
                .iter()
                .map(|s| parse_source(s.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| CommandError::new(ErrorCode::InvalidInput, e.to_string()))?;
            opts.sources = Some(sources);
        }
        Ok(opts)
    }
}

async fn stage_upload(
    config: &AppConfig,
    opts: &UploadOptions,
    events: &EventSink,
) -> CommandResult<StagedUpload> {
    let layout = config.layout();
    let datasets = config.datasets_dir.clone();
    let (o, ev) = (opts.clone(), events.clone());
    tokio::task::spawn_blocking(move || stage(&layout, &datasets, &o, &ev))
        .await
        .map_err(|e| CommandError::new(ErrorCode::Io, format!("staging task failed: {e}")))?
        .map_err(sdk)
}

/// Stages the upload without sending anything: the files and the dataset card.
///
/// # Errors
/// `invalid_input` for a bad repository name or source; `publish` when staging fails.
pub async fn publish_preview(
    config: &AppConfig,
    request: &PublishRequest,
) -> CommandResult<StagedUpload> {
    let opts = request.options(true)?;
    stage_upload(config, &opts, &EventSink::discard()).await
}

/// Stages and pushes to the Hub, sending upload progress to `on_event`.
///
/// # Errors
/// `invalid_input` for a bad repository name; `publish` when no token is found or the Hub
/// refuses.
pub async fn publish(
    config: &AppConfig,
    request: &PublishRequest,
    on_event: impl Fn(Event) + Send + 'static,
) -> CommandResult<UploadOutcome> {
    let opts = request.options(false)?;
    let (events, mut rx) = EventSink::channel(256);
    let forwarder = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            on_event(e);
        }
    });
    let result = async {
        let staged = stage_upload(config, &opts, &events).await?;
        let auth = HubAuth::from_env().map_err(sdk)?;
        upload(&staged, &opts, &auth, &events).await.map_err(sdk)
    }
    .await;
    drop(events);
    let _ = forwarder.await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_without_an_org_is_invalid_input() {
        let r = PublishRequest {
            repo: "no-slash".into(),
            ..PublishRequest::default()
        };
        let err = r.options(true).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{err:?}");
        assert!(err.message.contains("no-slash"), "{}", err.message);
    }

    #[test]
    fn an_unknown_source_is_named() {
        let r = PublishRequest {
            repo: "org/name".into(),
            sources: vec!["synthetic".into()],
            ..PublishRequest::default()
        };
        let err = r.options(true).unwrap_err();
        assert!(err.message.contains("synthetic"), "{}", err.message);
    }
}
