//! The crate error and its stable [`ErrorCode`].
//!
//! Each domain module has its own `thiserror` enum that keeps the subject (file, dataset,
//! question id, container id, repository); [`Error`] wraps them, and [`Error::code`] gives a
//! serialisable code that front ends branch on instead of matching message text.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A stable, serialisable error category for front ends (the desktop app branches on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A record or file broke the data contract (legacy key, unknown source, malformed JSON).
    Contract,
    /// A user-supplied value is invalid (flag, config key, repository name).
    InvalidInput,
    /// A file could not be read or written.
    Io,
    /// A dataset could not be discovered, read or profiled.
    Dataset,
    /// The Docker daemon or the sandbox image is unavailable.
    Docker,
    /// Code execution in the sandbox failed at the protocol level.
    Sandbox,
    /// The teacher LLM failed (HTTP error, local model error).
    Teacher,
    /// Publishing to the Hugging Face Hub failed.
    Publish,
    /// A writing command refused to start (legacy layout, lock held, unwritable path).
    Preflight,
    /// The operation was cancelled.
    Cancelled,
    /// The thing asked for does not exist.
    NotFound,
}

/// The csvagent-sdk error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record failed the data contract.
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    /// A dataset error.
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    /// A sandbox error.
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
    /// A procedural question generation error.
    #[error(transparent)]
    Procedural(#[from] crate::question::procedural::ProceduralError),
    /// A teacher (LLM) error.
    #[error(transparent)]
    Teacher(#[from] crate::teacher::TeacherError),
    /// A publish (Hub upload) error.
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    /// An invalid verification setting (`[matching]`, triangulation keys).
    #[error(transparent)]
    Verify(#[from] crate::verify::VerifyError),
    /// A file could not be read or written.
    #[error("cannot access `{}`", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A user-supplied value is invalid.
    #[error("invalid {what}: {message}")]
    InvalidInput {
        /// What was invalid (a flag, a config key, a field).
        what: String,
        /// What is wrong and what is valid.
        message: String,
    },
    /// A writing command refused to start; nothing was written.
    #[error("fail-fast: {}", reasons.join("; "))]
    Preflight {
        /// Every reason, in check order.
        reasons: Vec<String>,
    },
    /// The thing asked for does not exist.
    #[error("{what} not found: {name}")]
    NotFound {
        /// The kind of thing.
        what: String,
        /// The name or prefix that matched nothing.
        name: String,
    },
    /// The operation was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Record(_) => ErrorCode::Contract,
            Error::Dataset(_) => ErrorCode::Dataset,
            Error::Sandbox(e) => e.code(),
            Error::Procedural(e) => e.code(),
            Error::Teacher(e) => e.code(),
            Error::Publish(e) => e.code(),
            Error::Verify(_) => ErrorCode::InvalidInput,
            Error::Io { .. } => ErrorCode::Io,
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::Preflight { .. } => ErrorCode::Preflight,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Cancelled => ErrorCode::Cancelled,
        }
    }

    /// Shorthand for an [`Error::Io`] on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result<T, csvagent_sdk::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
