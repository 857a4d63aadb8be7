//! Verification: canonical JSON and the answer hash `H`, the tolerant matcher, ground-truth
//! verification (template, procedural) and triangulation (llm_gen).
//!
//! - [`answer_hash`] is `H` (SPEC 2.2); [`matches()`] is the tolerant matcher (SPEC 2.3) configured
//!   by [`MatchingConfig`].
//! - [`verify_ground_truth`] decides a template/procedural episode (SPEC 2.4).
//! - [`triangulate`] clusters llm_gen consistency answers and decides the episode (SPEC 2.5);
//!   [`TriangulationConfig::consistency_runs`] picks N.
//!
//! Everything here is pure: no I/O, no clocks, deterministic for given inputs.

mod canonical;
mod ground_truth;
mod matcher;
mod triangulation;

pub use canonical::{answer_hash, canonical_json, sha256_hex, string_hash};
pub use ground_truth::{
    GroundTruthCheck, GroundTruthFailure, GroundTruthOutcome, accepted_answer, verify_ground_truth,
};
pub use matcher::{MatchedBy, MatchingConfig, match_outcome, matches};
pub use triangulation::{
    AnswerCluster, RunsByDifficulty, TriangulationConfig, TriangulationFailure,
    TriangulationResult, cluster_answers, required_majority, triangulate, zeroed_triangulation,
};

/// Errors in verification settings (the `[matching]` section and the triangulation keys).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A setting has a value outside its valid range.
    #[error("invalid `{key}` = {value}: expected {expected}")]
    InvalidSetting {
        /// The config key, e.g. `matching.float_rel_tol`.
        key: String,
        /// The rejected value as written.
        value: String,
        /// What is valid.
        expected: &'static str,
    },
}
