//! Procedural questions (SPEC 6): typed operator programs over a dataset's columns, compiled to
//! pandas, executed as trusted reference programs in the sandbox, filtered, capped and worded.
//!
//! Stages for one dataset (the pipeline or CLI orchestrates datasets):
//!
//! 1. [`plan`] (pure, no I/O): the column [`pools::Pools`] of the profile, the typed
//!    breadth-first [`search`] over the 55-operator catalogue ([`ops::Op`]) with reduction and
//!    validation, the hand-written long chains (cascading filters, evidence-then-test), binding
//!    enumeration, pre-execution filters, a seeded round-robin sample of at most
//!    [`ProceduralConfig::max_executed`] programs, and for each its code, wording and schema.
//! 2. [`generate`]: runs every planned program on a fresh sandbox worker (pristine `df`, empty
//!    namespace), concurrently but with results kept in plan order, then [`assemble`]s.
//! 3. [`assemble`] (pure): the output filter, near-duplicate removal and the coverage cap
//!    (SPEC 6.10), then the question records (SPEC 1.3, 1.5, 6.12) and a [`ProceduralReport`].
//! 4. [`write_outputs`]: `questions/procedural/<dataset>/questions.json` and `report.json`.
//!
//! [`run_dataset`] does all of it for one catalogued dataset (load, cached profile, viability,
//! generate, write, dataset events): what `csvagent generate questions --procedural` calls per
//! dataset.
//!
//! For given dataset bytes, profile, seed and sandbox image, the questions are byte-identical
//! across runs: every order comes from the catalogue, sorted pools, sorted binding keys, seeded
//! hashes or ids, never from hash-map iteration.
//!
//! ```
//! use csvagent_sdk::question::procedural::{ProceduralConfig, ops::Op};
//! let config = ProceduralConfig::default();
//! assert_eq!(config.max_per_dataset, 50);
//! assert_eq!(Op::ALL.len(), 55);
//! assert_eq!(Op::ALL[40].name(), "mean");
//! ```

pub mod compile;
mod generate;
pub mod ops;
pub mod pools;
pub mod program;
mod report;
pub mod search;
pub mod select;
pub mod wording;

pub use generate::{
    Candidate, DatasetRun, Generated, Plan, assemble, difficulty, generate, plan, question_id,
    run_dataset, write_outputs,
};
pub use report::{ChainCounts, PoolSizes, ProceduralReport};

use std::time::Duration;

use serde::{Deserialize, Serialize};

use search::SearchLimits;

/// Settings of procedural generation. Plain data with [`Default`]; [`ProceduralConfig::validate`]
/// checks it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProceduralConfig {
    /// Seed of the execution sample and of `shapiro_p`'s 5000-value sample. By default 42.
    pub seed: u64,
    /// Questions kept per dataset (`procedural_max_per_dataset`). By default 50.
    pub max_per_dataset: usize,
    /// Programs executed per dataset at most, chosen by the seeded round-robin sample. By
    /// default 150: enough for a full cap with operator coverage (the predecessor executed 130-6,400; see SPEC 5.8), and the sandbox forks a fresh worker per program.
    pub max_executed: usize,
    /// Dequeues of the breadth-first enumeration. By default 10,000 (SPEC 6.4).
    pub max_dequeues: usize,
    /// Longest chain the enumeration extends. By default 15 (SPEC 6.4).
    pub max_chain_len: usize,
    /// Programs in flight at once on the dataset's container (each on its own fresh worker).
    /// By default 8.
    pub concurrency: usize,
    /// Time limit of one reference program, in seconds in config files. By default 120 s
    /// (SPEC 4.6).
    #[serde(with = "seconds")]
    pub reference_timeout: Duration,
}

impl Default for ProceduralConfig {
    fn default() -> Self {
        ProceduralConfig {
            seed: 42,
            max_per_dataset: 50,
            max_executed: 150,
            max_dequeues: 10_000,
            max_chain_len: 15,
            concurrency: 8,
            reference_timeout: Duration::from_secs(120),
        }
    }
}

impl ProceduralConfig {
    /// The enumeration limits.
    pub fn search_limits(&self) -> SearchLimits {
        SearchLimits {
            max_dequeues: self.max_dequeues,
            max_chain_len: self.max_chain_len,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ProceduralError::Config`] naming the field when `max_per_dataset`, `max_executed`,
    /// `max_dequeues`, `max_chain_len` or `concurrency` is 0, or `reference_timeout` is zero.
    pub fn validate(&self) -> Result<(), ProceduralError> {
        let zero = [
            ("max_per_dataset", self.max_per_dataset),
            ("max_executed", self.max_executed),
            ("max_dequeues", self.max_dequeues),
            ("max_chain_len", self.max_chain_len),
            ("concurrency", self.concurrency),
        ];
        if let Some((field, _)) = zero.iter().find(|(_, v)| *v == 0) {
            return Err(ProceduralError::Config {
                field: (*field).to_owned(),
                message: "must be at least 1".to_owned(),
            });
        }
        if self.reference_timeout.is_zero() {
            return Err(ProceduralError::Config {
                field: "reference_timeout".to_owned(),
                message: "must be longer than 0 s".to_owned(),
            });
        }
        Ok(())
    }
}

/// Errors of procedural generation. A program that fails or is filtered out is not an error
/// (it is counted in the report); these end the dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProceduralError {
    /// A setting is invalid.
    #[error("invalid procedural config `{field}`: {message}")]
    Config {
        /// The field.
        field: String,
        /// What is wrong and what is valid.
        message: String,
    },
    /// The dataset fails the viability rules of SPEC 5.2 (`too few rows (n)`, ...).
    #[error("dataset `{dataset}` skipped: {reason}")]
    NotViable {
        /// The dataset.
        dataset: String,
        /// The exact skip reason.
        reason: String,
    },
    /// The sandbox failed at the protocol level (not a program's own failure).
    #[error("sandbox failed while running procedural program `{program}` of dataset `{dataset}`")]
    Sandbox {
        /// The dataset.
        dataset: String,
        /// The program being run.
        program: String,
        /// The cause (boxed: sandbox errors are large).
        #[source]
        source: Box<crate::sandbox::SandboxError>,
    },
    /// Writing the questions or the report failed (the cause names the file).
    #[error("cannot write the procedural outputs of dataset `{dataset}`")]
    Write {
        /// The dataset.
        dataset: String,
        /// The cause.
        #[source]
        source: Box<crate::record::RecordError>,
    },
}

impl ProceduralError {
    /// The stable code of this error: `invalid_input`, `dataset`, the sandbox error's code, or
    /// `io`.
    pub fn code(&self) -> crate::ErrorCode {
        match self {
            ProceduralError::Config { .. } => crate::ErrorCode::InvalidInput,
            ProceduralError::NotViable { .. } => crate::ErrorCode::Dataset,
            ProceduralError::Sandbox { source, .. } => source.code(),
            ProceduralError::Write { .. } => crate::ErrorCode::Io,
        }
    }
}

/// `Duration` as (fractional) seconds in config files.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_seconds_and_rejects_zero_limits() {
        let config: ProceduralConfig =
            serde_json::from_str(r#"{"max_per_dataset": 20, "reference_timeout": 2.5}"#)
                .expect("a partial config uses defaults for the rest");
        assert_eq!(config.max_per_dataset, 20);
        assert_eq!(config.reference_timeout, Duration::from_millis(2500));
        assert_eq!(config.seed, 42);
        assert!(config.validate().is_ok());
        let zero = ProceduralConfig {
            concurrency: 0,
            ..ProceduralConfig::default()
        };
        let err = zero.validate().expect_err("zero concurrency is invalid");
        assert_eq!(
            err.to_string(),
            "invalid procedural config `concurrency`: must be at least 1"
        );
        assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
        let unknown = serde_json::from_str::<ProceduralConfig>(r#"{"max_per_datset": 20}"#);
        assert!(
            unknown
                .expect_err("typo")
                .to_string()
                .contains("max_per_datset")
        );
    }
}
