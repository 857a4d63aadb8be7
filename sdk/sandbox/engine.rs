//! The Docker Engine behind a small internal trait, so the pool's lifecycle logic (stop,
//! idle/busy accounting) can be tested without a daemon.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, InspectContainerOptions, ListContainersOptions,
    RemoveContainerOptions, StartContainerOptions,
};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use indexmap::IndexMap;
use tokio::io::AsyncWrite;

use super::{DAEMON_HINT, SandboxConfig, SandboxError};

/// What a new sandbox container looks like (everything the hardening table of SPEC 4.2 needs).
#[derive(Debug, Clone)]
pub(crate) struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub labels: IndexMap<String, String>,
    pub datasets_root: String,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids: i64,
}

/// A started container: its id, the supervisor's stdin and its stdout bytes.
pub(crate) struct Attached {
    pub id: String,
    pub stdin: Pin<Box<dyn AsyncWrite + Send>>,
    pub stdout: BoxStream<'static, Result<Bytes, String>>,
}

/// A container carrying `csvagent.managed=1`, as listed by the engine.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub id: String,
    pub name: String,
    pub state: String,
    pub labels: HashMap<String, String>,
}

/// The Engine API calls the pool needs.
pub(crate) trait Engine: Send + Sync + 'static {
    /// Creates, attaches to and starts a container.
    fn start_container(&self, spec: ContainerSpec) -> BoxFuture<'_, Result<Attached, String>>;
    /// Whether the container still exists (running or not).
    fn container_exists<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, String>>;
    /// Force-removes a container; a container that is already gone is not an error.
    fn remove_container<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), String>>;
    /// Containers labelled `csvagent.managed=1`, running or not.
    fn list_managed(&self) -> BoxFuture<'_, Result<Vec<Listed>, String>>;
}

/// Connects to the daemon on `DOCKER_HOST` or the local socket and negotiates the API version
/// (Docker 20.10 speaks API 1.41).
pub(crate) async fn connect() -> Result<Docker, SandboxError> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
    connect_to(&host).await
}

/// Connects to the daemon at `host` (`unix://…`, `tcp://…`, `http://…`).
async fn connect_to(host: &str) -> Result<Docker, SandboxError> {
    let unavailable = |e: &dyn std::fmt::Display| SandboxError::DaemonUnavailable {
        message: format!("{host}: {e}; {DAEMON_HINT}"),
    };
    let docker = Docker::connect_with_host(host).map_err(|e| unavailable(&e))?;
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| unavailable(&"no answer within 10 s"))?
        .map_err(|e| unavailable(&e))?;
    tokio::time::timeout(Duration::from_secs(10), docker.ping())
        .await
        .map_err(|_| unavailable(&"no answer to ping within 10 s"))?
        .map_err(|e| unavailable(&e))?;
    Ok(docker)
}

/// The real engine over bollard.
#[derive(Clone)]
pub(crate) struct DockerEngine {
    pub docker: Docker,
}

impl DockerEngine {
    async fn start(&self, spec: ContainerSpec) -> Result<Attached, String> {
        let host_config = HostConfig {
            network_mode: Some("none".to_string()),
            readonly_rootfs: Some(true),
            tmpfs: Some(HashMap::from([(
                "/scratch".to_string(),
                "rw,noexec,nosuid,size=256m,uid=10001,gid=10001,mode=0700".to_string(),
            )])),
            binds: Some(vec![format!("{}:/datasets:ro", spec.datasets_root)]),
            memory: Some(spec.memory_bytes),
            memory_swap: Some(spec.memory_bytes),
            nano_cpus: Some(spec.nano_cpus),
            pids_limit: Some(spec.pids),
            cap_drop: Some(vec!["ALL".to_string()]),
            security_opt: Some(vec!["no-new-privileges".to_string()]),
            init: Some(true),
            auto_remove: Some(true),
            ..HostConfig::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            user: Some("10001:10001".to_string()),
            env: Some(vec![
                "HOME=/scratch".to_string(),
                "TMPDIR=/scratch".to_string(),
                "CSVAGENT_SANDBOX=1".to_string(),
            ]),
            working_dir: Some("/scratch".to_string()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            open_stdin: Some(true),
            stdin_once: Some(true),
            tty: Some(false),
            network_disabled: Some(true),
            host_config: Some(host_config),
            ..ContainerCreateBody::default()
        };
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(spec.name.clone()),
                    ..CreateContainerOptions::default()
                }),
                body,
            )
            .await
            .map_err(|e| format!("create: {e}"))?;
        let id = created.id;
        let attached = self
            .docker
            .attach_container(
                &id,
                Some(AttachContainerOptions {
                    stdin: true,
                    stdout: true,
                    stderr: true,
                    stream: true,
                    logs: false,
                    detach_keys: None,
                }),
            )
            .await;
        let attached = match attached {
            Ok(a) => a,
            Err(e) => {
                let _ = self.remove(&id).await;
                return Err(format!("attach: {e}"));
            }
        };
        if let Err(e) = self
            .docker
            .start_container(&id, None::<StartContainerOptions>)
            .await
        {
            let _ = self.remove(&id).await;
            return Err(format!("start: {e}"));
        }
        let short = id.chars().take(12).collect::<String>();
        let stdout = attached
            .output
            .filter_map(move |item| {
                let short = short.clone();
                async move {
                    match item {
                        Ok(LogOutput::StdOut { message }) => Some(Ok(message)),
                        Ok(LogOutput::StdErr { message }) => {
                            for line in String::from_utf8_lossy(&message).lines() {
                                tracing::debug!(container = %short, "{line}");
                            }
                            None
                        }
                        Ok(_) => None,
                        Err(e) => Some(Err(e.to_string())),
                    }
                }
            })
            .boxed();
        Ok(Attached {
            id,
            stdin: attached.input,
            stdout,
        })
    }

    async fn remove(&self, id: &str) -> Result<(), String> {
        match self
            .docker
            .remove_container(
                id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    link: false,
                }),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code, .. })
                if status_code == 404 || status_code == 409 =>
            {
                // Gone already, or its removal (auto-remove) is in progress.
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Engine for DockerEngine {
    fn start_container(&self, spec: ContainerSpec) -> BoxFuture<'_, Result<Attached, String>> {
        self.start(spec).boxed()
    }

    fn container_exists<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        async move {
            match self
                .docker
                .inspect_container(id, None::<InspectContainerOptions>)
                .await
            {
                Ok(_) => Ok(true),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        }
        .boxed()
    }

    fn remove_container<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        self.remove(id).boxed()
    }

    fn list_managed(&self) -> BoxFuture<'_, Result<Vec<Listed>, String>> {
        async move {
            let list = self
                .docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(HashMap::from([(
                        "label".to_string(),
                        vec!["csvagent.managed=1".to_string()],
                    )])),
                    ..ListContainersOptions::default()
                }))
                .await
                .map_err(|e| e.to_string())?;
            Ok(list
                .into_iter()
                .map(|c| Listed {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .and_then(|n| n.into_iter().next())
                        .map(|n| n.trim_start_matches('/').to_string())
                        .unwrap_or_default(),
                    state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                    labels: c.labels.unwrap_or_default(),
                })
                .collect())
        }
        .boxed()
    }
}

/// Hardening numbers derived from the config.
pub(crate) fn limits(config: &SandboxConfig) -> (i64, i64, i64) {
    let memory = i64::try_from(config.memory_bytes).unwrap_or(i64::MAX);
    let nano_cpus = (config.cpus * 1e9).round() as i64;
    (memory, nano_cpus, config.pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_daemon_says_how_to_start_one() {
        let e = connect_to("unix:///nonexistent/csvagent-test/docker.sock")
            .await
            .expect_err("no daemon there");
        assert!(matches!(e, SandboxError::DaemonUnavailable { .. }));
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "cannot reach the Docker daemon: unix:///nonexistent/csvagent-test/docker.sock"
            ) && msg.contains("`dockerd`")
                && msg.contains("`DOCKER_HOST`"),
            "{msg}"
        );
    }
}
