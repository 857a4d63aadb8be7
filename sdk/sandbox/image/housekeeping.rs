//! Housekeeping behind `csvagent sandbox status|prune`: the image's presence and versions,
//! our running and orphaned containers (SPEC 4.9).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{image_tag, inspect};
use crate::sandbox::engine::{self, DockerEngine, Engine};
use crate::sandbox::{SandboxConfig, SandboxError, ownership};

/// A container carrying our labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedContainer {
    /// Container id.
    pub id: String,
    /// Container name (`csvagent-<run_id8>-<n>`).
    pub name: String,
    /// `csvagent.run_id`.
    pub run_id: Option<String>,
    /// `csvagent.pid`.
    pub pid: Option<String>,
    /// `csvagent.host`.
    pub host: Option<String>,
    /// Docker state (`running`, `exited`, ...).
    pub state: String,
}

/// What `csvagent sandbox status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageStatus {
    /// Whether the daemon answered.
    pub daemon_reachable: bool,
    /// Why it did not, and how to start one.
    pub daemon_error: Option<String>,
    /// The tag this csvagent uses.
    pub tag: String,
    /// Whether that image exists.
    pub present: bool,
    /// Its version labels (see [`ImageInfo::versions`]).
    pub versions: BTreeMap<String, String>,
    /// Our containers whose owner process is alive (or on another host).
    pub running: Vec<ManagedContainer>,
    /// Our containers on this host whose owner process is dead (SPEC 4.9).
    pub orphans: Vec<ManagedContainer>,
}

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Ids of removed orphan containers.
    pub removed: Vec<String>,
    /// `(id, error)` for orphans that could not be removed.
    pub failed: Vec<(String, String)>,
}

fn managed(c: &engine::Listed) -> ManagedContainer {
    ManagedContainer {
        id: c.id.clone(),
        name: c.name.clone(),
        run_id: c.labels.get(ownership::RUN_ID).cloned(),
        pid: c.labels.get(ownership::PID).cloned(),
        host: c.labels.get(ownership::HOST).cloned(),
        state: c.state.clone(),
    }
}

/// Whether the daemon answers, whether this csvagent's image is present (and its versions),
/// and which of our containers are running or orphaned. Never fails: an unreachable daemon
/// is reported in [`ImageStatus::daemon_error`].
pub async fn image_status(config: &SandboxConfig) -> ImageStatus {
    let tag = config.image.clone().unwrap_or_else(image_tag);
    let mut status = ImageStatus {
        daemon_reachable: false,
        daemon_error: None,
        tag: tag.clone(),
        present: false,
        versions: BTreeMap::new(),
        running: Vec::new(),
        orphans: Vec::new(),
    };
    let docker = match engine::connect().await {
        Ok(d) => d,
        Err(e) => {
            status.daemon_error = Some(e.to_string());
            return status;
        }
    };
    status.daemon_reachable = true;
    if let Ok(Some(info)) = inspect(&docker, &tag).await {
        status.present = true;
        status.versions = info.versions;
    }
    let engine = DockerEngine { docker };
    let host = ownership::host_name();
    if let Ok(list) = engine.list_managed().await {
        for c in &list {
            if ownership::is_orphan(&c.labels, &host) {
                status.orphans.push(managed(c));
            } else {
                status.running.push(managed(c));
            }
        }
    }
    status
}

/// Force-removes orphans: containers labelled `csvagent.managed=1` on this host whose owner
/// process is dead (SPEC 4.9). Live runs', other hosts' and unlabelled containers are never
/// touched.
///
/// # Errors
/// [`SandboxError::DaemonUnavailable`]; [`SandboxError::Docker`] if listing fails. Failures to
/// remove single containers are reported in [`PruneReport::failed`].
pub async fn prune(config: &SandboxConfig) -> Result<PruneReport, SandboxError> {
    let _ = config;
    let docker = engine::connect().await?;
    let engine = DockerEngine { docker };
    let host = ownership::host_name();
    let list = engine
        .list_managed()
        .await
        .map_err(|message| SandboxError::Docker {
            action: "list containers".into(),
            subject: "csvagent.managed=1".into(),
            message,
        })?;
    let mut report = PruneReport::default();
    for c in list
        .iter()
        .filter(|c| ownership::is_orphan(&c.labels, &host))
    {
        match engine.remove_container(&c.id).await {
            Ok(()) => report.removed.push(c.id.clone()),
            Err(e) => report.failed.push((c.id.clone(), e)),
        }
    }
    Ok(report)
}
