//! Publishing to the Hugging Face Hub (SPEC 9): staging, splits, Parquet, dataset card, commit.
//!
//! The one upload path, shared by `csvagent upload` and the desktop app's Publish view:
//!
//! 1. [`stage`] reads the episodes and questions under a [`DataLayout`](crate::record::DataLayout)
//!    and writes exactly the tree to push under `<data-dir>/upload/<org>__<name>/`:
//!    `data/<source>/<split>-*.parquet` ([`EpisodeRow`]s, split by dataset),
//!    `questions/<source>-*.parquet` ([`QuestionRow`]s), optionally `datasets/<dataset>/...`,
//!    and the `README.md` card ([`CardMetadata`] front matter plus a generated body). A dry run
//!    encodes the same files in memory (sizes, hashes, card) and writes nothing.
//! 2. [`upload`] pushes it with `hf-hub` using a [`HubAuth`] (token and endpoint from the
//!    environment, see [`auth`]): creates the repository if needed, makes one commit
//!    `csvagent upload: <counts>`, or none when nothing changed.
//!
//! ```no_run
//! # async fn run() -> Result<(), csvagent_sdk::publish::PublishError> {
//! use csvagent_sdk::events::EventSink;
//! use csvagent_sdk::publish::{HubAuth, RepoId, UploadOptions, stage, upload};
//! use csvagent_sdk::record::DataLayout;
//!
//! let opts = UploadOptions::new(RepoId::parse("my-org/csv-traces")?);
//! let layout = DataLayout::new("data");
//! let staged = stage(&layout, "data/datasets".as_ref(), &opts, &EventSink::discard())?;
//! let outcome = upload(&staged, &opts, &HubAuth::from_env()?, &EventSink::discard()).await?;
//! assert!(outcome.commit.is_some() || outcome.unchanged);
//! # Ok(()) }
//! ```

pub mod auth;
mod card;
mod hub;
mod options;
mod parquet;
mod rows;
mod split;
mod stage;

use std::path::{Path, PathBuf};

pub use auth::{HubAuth, TokenSource, token_status};
pub use card::{CardConfig, CardMetadata, DataFiles, parse_card, size_category};
pub use hub::{UploadOutcome, upload};
pub use options::{
    HUB_LICENSES, RepoId, RetryPolicy, SplitConfig, UploadOptions, validate_license,
    validate_revision,
};
pub use parquet::{read_episode_rows, read_question_rows};
pub use rows::{
    ClusterRow, EpisodeRow, HookRow, MessageRow, ModelRow, QuestionRow, TimingRow,
    TriangulationRow, TurnRow, episode_schema, question_schema,
};
pub use split::{Split, assign_split, split_draw};
pub use stage::{DatasetSummary, SourceSummary, SplitCounts, StagedFile, StagedUpload, stage};

use crate::error::ErrorCode;

/// Errors from staging and publishing. No message ever contains the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// No Hugging Face token was found.
    #[error(
        "no Hugging Face token: set `HF_TOKEN`, or run `huggingface-cli login` (it writes \
         `~/.cache/huggingface/token`; `HF_TOKEN_PATH` and `HF_HOME` move that file)"
    )]
    NoToken,
    /// The repository id is not `<org>/<name>`.
    #[error("invalid repository id `{value}`: {reason}")]
    InvalidRepoId {
        /// The rejected value.
        value: String,
        /// What is wrong and what is valid.
        reason: String,
    },
    /// The licence is not one of the Hub's licence ids ([`HUB_LICENSES`]).
    #[error(
        "invalid licence `{value}`{}: the Hub accepts only its own licence ids ({}); use \
         `other` for a licence that is not listed",
        options::licence_hint(value),
        HUB_LICENSES.join(", ")
    )]
    InvalidLicense {
        /// The rejected value.
        value: String,
    },
    /// The revision is not a valid branch name.
    #[error(
        "invalid revision `{value}`: {reason} (a revision is a branch name such as `main` or `v2`)"
    )]
    InvalidRevision {
        /// The rejected value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// [`upload`] was given what a dry run staged: its files were never written.
    #[error(
        "the upload to `{repo}` was staged as a dry run (nothing written); stage it again \
         without `dry_run` to push it"
    )]
    StagedAsDryRun {
        /// The repository it was staged for.
        repo: String,
    },
    /// The split fractions are invalid.
    #[error(
        "invalid split fractions train {train}, validation {validation}, test {test}: each must \
         be within 0..=1 and together they must sum to 1"
    )]
    InvalidSplit {
        /// `split.train`.
        train: f64,
        /// `split.validation`.
        validation: f64,
        /// `split.test`.
        test: f64,
    },
    /// An episode line is corrupt or breaks the contract.
    #[error("corrupt episode at {} line {line}: {message}", path.display())]
    CorruptEpisodes {
        /// The episode file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An episode names no dataset (neither `question.dataset` nor a `<dataset>/data.csv`
    /// `csv_source`).
    #[error(
        "episode `{episode_id}` at {} line {line} names no dataset: set `question.dataset` or \
         a `csv_source` ending in `<dataset>/data.csv`",
        path.display()
    )]
    EpisodeWithoutDataset {
        /// The episode file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The episode.
        episode_id: String,
    },
    /// No episode records a `dataset_hash` for a dataset and its CSV is not there to hash.
    #[error(
        "dataset `{dataset}`: no episode records its `dataset_hash` and `{}` cannot be read, so \
         its split cannot be drawn",
        path.display()
    )]
    MissingDatasetHash {
        /// The dataset.
        dataset: String,
        /// The CSV looked for.
        path: PathBuf,
    },
    /// `--include-csvs` was asked for but a dataset's CSV is missing.
    #[error("dataset `{dataset}`: `{}` is missing, so `--include-csvs` cannot include it", path.display())]
    MissingCsv {
        /// The dataset.
        dataset: String,
        /// The CSV looked for.
        path: PathBuf,
    },
    /// A `meta.json` is not valid.
    #[error("invalid `{}`: {message}", path.display())]
    Meta {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A questions file is malformed.
    #[error("cannot read questions: {message}")]
    Questions {
        /// The file.
        path: PathBuf,
        /// The contract error (names the file, index and key).
        message: String,
    },
    /// No episode was selected.
    #[error(
        "nothing to upload: no {}episodes in sources {} (run `csvagent generate episodes` first)",
        if *verified_only { "verified " } else { "" },
        sources.join(", ")
    )]
    NothingToUpload {
        /// The sources considered.
        sources: Vec<String>,
        /// Whether only verified episodes were selected.
        verified_only: bool,
    },
    /// Encoding or decoding Parquet failed.
    #[error("parquet `{}`: {message}", path.display())]
    Parquet {
        /// The file being written or read.
        path: PathBuf,
        /// The encoder's message.
        message: String,
    },
    /// The dataset card could not be written or parsed.
    #[error("dataset card: {message}")]
    Card {
        /// What failed.
        message: String,
    },
    /// A file could not be read or written.
    #[error("cannot access `{}`", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// 401: the token was rejected.
    #[error(
        "the Hugging Face token was rejected by {endpoint} while uploading to `{repo}` (401): \
         check `HF_TOKEN` or run `huggingface-cli login` again"
    )]
    Unauthorized {
        /// The repository.
        repo: RepoId,
        /// The Hub endpoint.
        endpoint: String,
    },
    /// 403: the token may not write to the repository.
    #[error(
        "no permission to write to `{repo}` (403): use a token with write access to that \
         organisation"
    )]
    Forbidden {
        /// The repository.
        repo: RepoId,
    },
    /// 404: the repository (or its organisation) does not exist.
    #[error(
        "`{repo}` was not found on {endpoint} (404): check the organisation name and that the \
         token can see it"
    )]
    RepoNotFound {
        /// The repository.
        repo: RepoId,
        /// The Hub endpoint.
        endpoint: String,
    },
    /// 404 on a branch.
    #[error("branch `{revision}` of `{repo}` was not found (404)")]
    RevisionNotFound {
        /// The repository.
        repo: RepoId,
        /// The branch.
        revision: String,
    },
    /// 409/412: another commit moved the branch, twice in a row.
    #[error(
        "`{repo}` branch `{revision}` kept moving while uploading (409/412, retried once): \
         another upload is running; try again when it is done"
    )]
    Conflict {
        /// The repository.
        repo: RepoId,
        /// The branch.
        revision: String,
    },
    /// 429 after the retries.
    #[error(
        "the Hub is rate limiting uploads to `{repo}` (429, retries exhausted){}: wait and try again",
        retry_after_s.map(|s| format!("; it asks to wait {s} s")).unwrap_or_default()
    )]
    RateLimited {
        /// The repository.
        repo: RepoId,
        /// The server's `Retry-After`, in seconds.
        retry_after_s: Option<u64>,
    },
    /// 5xx after the retries.
    #[error(
        "the Hub failed with HTTP {status} while uploading to `{repo}` (retries exhausted): try again later"
    )]
    Server {
        /// The repository.
        repo: RepoId,
        /// The HTTP status.
        status: u16,
    },
    /// The endpoint could not be reached.
    #[error("cannot reach the Hub at {endpoint}: {message}")]
    Unreachable {
        /// The Hub endpoint.
        endpoint: String,
        /// The transport error.
        message: String,
    },
    /// Any other Hub error.
    #[error("uploading to `{repo}` failed: {message}")]
    Hub {
        /// The repository.
        repo: RepoId,
        /// The Hub's message.
        message: String,
    },
}

impl PublishError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        PublishError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The stable code of this error: bad input is `invalid_input`, file trouble `io`, a
    /// corrupt record `contract`, everything else `publish`.
    pub fn code(&self) -> ErrorCode {
        match self {
            PublishError::InvalidRepoId { .. }
            | PublishError::InvalidSplit { .. }
            | PublishError::InvalidLicense { .. }
            | PublishError::InvalidRevision { .. } => ErrorCode::InvalidInput,
            PublishError::CorruptEpisodes { .. }
            | PublishError::Questions { .. }
            | PublishError::Meta { .. }
            | PublishError::EpisodeWithoutDataset { .. } => ErrorCode::Contract,
            PublishError::Io { .. } => ErrorCode::Io,
            _ => ErrorCode::Publish,
        }
    }
}
