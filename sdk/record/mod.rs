//! Records on disk: the data contract, the source -> path resolver, and the readers and writers
//! for question files (JSON arrays) and JSON Lines files (episodes, failures, manifest).
//!
//! Fail-fast: a legacy key (`_ground_truth`, `_ground_truths`, `ground_truths`, `question`,
//! `subtype`) or an unknown `source` is an error naming the key and the file/record it came from.
//! There is no migration and no adapter.

mod contract;
mod jsonl;
mod layout;
mod questions;

pub use contract::{LEGACY_ANSWER_KEYS, find_legacy_key, validate_question};
pub use jsonl::{
    DistinctEpisodes, JsonlAppender, JsonlRead, LineError, distinct_episodes, read_jsonl,
    repair_torn_tail, write_bytes_atomic, write_json_atomic,
};
pub use layout::{DataLayout, parse_source};
pub use questions::{load_questions, write_questions};

use std::path::PathBuf;

/// Errors reading or writing records.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A questions file was not a JSON array.
    #[error("questions file must be a JSON array: {}", path.display())]
    NotArray {
        /// The file.
        path: PathBuf,
    },
    /// An element of a questions file broke the contract.
    #[error("invalid question `{}` at {}[{index}]: {}", id.as_deref().unwrap_or("<no id>"), path.display(), errors.join("; "))]
    InvalidQuestion {
        /// The file.
        path: PathBuf,
        /// 0-based index in the array.
        index: usize,
        /// The record's `id`, if it has one.
        id: Option<String>,
        /// Every contract violation, in check order.
        errors: Vec<String>,
    },
    /// A file is not valid JSON (including `NaN`/`Infinity`, which strict JSON forbids).
    #[error("{}: invalid JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A JSON Lines record is corrupt or breaks the contract.
    #[error("{}", .0)]
    Line(LineError),
    /// A source name outside the vocabulary.
    #[error("invalid artifact source `{value}`: expected one of template, procedural, llm_gen")]
    InvalidSource {
        /// The rejected value.
        value: String,
    },
    /// A file could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl RecordError {
    /// Shorthand for [`RecordError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RecordError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The current time as RFC 3339 UTC with milliseconds and `Z` (`2026-02-16T09:30:12.345Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The current time as a compact UTC stamp for directory names (`20260216T093012Z`).
pub fn now_stamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}
