//! The sandbox: a pool of hardened Docker containers running persistent Python workers.

use crate::error::ErrorCode;

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
}

impl SandboxError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            SandboxError::DaemonUnavailable { .. } => ErrorCode::Docker,
        }
    }
}
