//! The sandbox: a pool of hardened Docker containers running persistent Python workers
//! (SPEC 4).
//!
//! - [`SandboxPool`] starts and owns the containers of one run (a cheap `Clone` handle).
//! - [`DatasetLease`] is one container with one dataset loaded; [`WorkerLease`] is one
//!   persistent Python REPL in it, which runs code with [`WorkerLease::exec`] and returns an
//!   [`ExecResponse`] (structured submissions and hooks, never parsed from stdout).
//! - [`build_image`], [`image_status`] and [`prune`] are the image and housekeeping functions
//!   behind `csvagent sandbox build|status|prune`.
//!
//! Every container runs with no network, as user 10001:10001, with a read-only root file
//! system, a 256 MiB `noexec` tmpfs at `/scratch`, the datasets root mounted read-only at
//! `/datasets`, memory/CPU/pids limits, all capabilities dropped and `no-new-privileges`
//! (SPEC 4.2). Inside, the supervisor (`python/supervisor.py`, shipped in this binary) forks
//! one worker per [`WorkerLease`] from a pristine copy of the loaded `df`.
//!
//! Environment read here: `DOCKER_HOST` (the daemon; default `unix:///var/run/docker.sock`),
//! `XDG_CACHE_HOME` / `HOME` (the offline build cache, see [`SandboxConfig::cache_dir`]).
//! The offline image build runs `debootstrap` (root), `tar` and the host's `python3 -m pip`;
//! it reaches only the Debian mirror and PyPI. Inside the image, `CSVAGENT_SANDBOX=1` marks
//! the container (the supervisor only reaps stray processes there).
//!
//! ```no_run
//! # async fn demo() -> Result<(), csvagent_sdk::sandbox::SandboxError> {
//! use std::time::Duration;
//! use csvagent_sdk::events::EventSink;
//! use csvagent_sdk::sandbox::{ExecMode, LoadSpec, SandboxConfig, SandboxPool};
//!
//! let config = SandboxConfig { datasets_root: "datasets".into(), ..SandboxConfig::default() };
//! let pool = SandboxPool::new(config, EventSink::discard());
//! pool.start().await?;
//! let lease = pool
//!     .acquire(&LoadSpec {
//!         dataset: "insurance".into(),
//!         csv_path: "datasets/insurance/data.csv".into(),
//!         encoding: "utf-8".into(),
//!         delimiter: ',',
//!         decimal: '.',
//!         dataset_hash: "…".into(),
//!     })
//!     .await?;
//! let worker = lease.worker().await?;
//! let out = worker.exec("df.shape", ExecMode::Agent, Duration::from_secs(60)).await?;
//! assert_eq!(out.result_repr.as_deref(), Some("(1338, 7)"));
//! pool.stop().await;
//! # Ok(()) }
//! ```

mod channel;
mod config;
mod engine;
mod image;
mod ownership;
mod pool;
mod protocol;

pub use config::SandboxConfig;
pub use image::{
    ImageBuildOptions, ImageInfo, ImageStatus, ManagedContainer, PruneReport, build_image,
    image_status, image_tag, prune,
};
pub use pool::{DatasetLease, PoolStats, SandboxPool, StopReport, WorkerLease};
pub use protocol::{ExecMode, ExecResponse, LoadSpec, RawHook, Submission};

use std::path::PathBuf;

use crate::error::ErrorCode;

/// How to start a Docker daemon; appended to every "daemon unreachable" error.
pub(crate) const DAEMON_HINT: &str = "start one with `dockerd` (e.g. `nohup dockerd > /tmp/dockerd.log 2>&1 &`) or set `DOCKER_HOST`";

/// Errors from the sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The Docker daemon is unreachable.
    #[error("cannot reach the Docker daemon: {message}")]
    DaemonUnavailable {
        /// What failed and how to start a daemon.
        message: String,
    },
    /// A Docker Engine API call failed.
    #[error("docker {action} failed for `{subject}`: {message}")]
    Docker {
        /// The call (`create container`, `inspect image`, ...).
        action: String,
        /// The container, image or tag it was about.
        subject: String,
        /// The daemon's answer.
        message: String,
    },
    /// Building the sandbox image failed.
    #[error("cannot build the sandbox image `{tag}` at step `{step}`: {message}")]
    ImageBuild {
        /// The tag being built.
        tag: String,
        /// `debootstrap`, `wheels`, `install`, `import`, `dockerfile`, ...
        step: String,
        /// What failed and what to do.
        message: String,
    },
    /// The configuration is invalid.
    #[error("invalid sandbox config `{field}`: {message}")]
    Config {
        /// The field.
        field: String,
        /// What is wrong and what is valid.
        message: String,
    },
    /// A dataset path is not under `datasets_root`.
    #[error("dataset `{dataset}`: `{}` is not under the datasets root `{}`", path.display(), root.display())]
    OutsideDatasetsRoot {
        /// The dataset.
        dataset: String,
        /// The CSV path given.
        path: PathBuf,
        /// The configured root.
        root: PathBuf,
    },
    /// A container did not answer `ping` within `start_timeout`, or failed to start.
    #[error("container `{container}` did not start: {message}")]
    StartFailed {
        /// Container name or id.
        container: String,
        /// Why.
        message: String,
    },
    /// The sandbox could not load a dataset (ragged rows, bad encoding, empty file, ...).
    #[error("dataset `{dataset}` cannot be loaded in the sandbox: {reason}")]
    Load {
        /// The dataset.
        dataset: String,
        /// The loader's reason.
        reason: String,
    },
    /// A container died (killed, OOM of the supervisor, daemon restart) while a request was in
    /// flight; the container is replaced on the next request.
    #[error(
        "container `{container}` died during `{op}` (dataset `{dataset}`); it will be replaced"
    )]
    ContainerDied {
        /// Container id.
        container: String,
        /// The dataset it had loaded.
        dataset: String,
        /// The request that was in flight.
        op: String,
    },
    /// A request got no answer within its host guard (timeout + 15 s); the container was
    /// declared dead and removed.
    #[error("container `{container}` did not answer `{op}` within {guard_s} s; it was removed")]
    HostGuardTimeout {
        /// Container id.
        container: String,
        /// The request.
        op: String,
        /// The guard in seconds.
        guard_s: u64,
    },
    /// The supervisor answered with an error or an unreadable response.
    #[error("sandbox `{op}` failed in container `{container}`: {message}")]
    Protocol {
        /// Container id.
        container: String,
        /// The request.
        op: String,
        /// The supervisor's message.
        message: String,
    },
    /// The pool was stopped while the operation waited.
    #[error("the sandbox pool is stopped")]
    Stopped,
}

impl SandboxError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            SandboxError::DaemonUnavailable { .. }
            | SandboxError::Docker { .. }
            | SandboxError::ImageBuild { .. }
            | SandboxError::StartFailed { .. } => ErrorCode::Docker,
            SandboxError::Config { .. } | SandboxError::OutsideDatasetsRoot { .. } => {
                ErrorCode::InvalidInput
            }
            SandboxError::Load { .. } => ErrorCode::Dataset,
            SandboxError::ContainerDied { .. }
            | SandboxError::HostGuardTimeout { .. }
            | SandboxError::Protocol { .. } => ErrorCode::Sandbox,
            SandboxError::Stopped => ErrorCode::Cancelled,
        }
    }
}
