//! The per-dataset generation report (`questions/procedural/<dataset>/report.json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::search::SearchStats;

/// Sizes of the column pools (SPEC 6.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSizes {
    /// Numeric columns.
    pub num: usize,
    /// Categorical columns.
    pub cat: usize,
    /// Two-valued categorical columns.
    pub binary: usize,
}

/// Chains by family before binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCounts {
    /// Valid grammar chains (each binds to many programs).
    pub grammar: usize,
    /// Cascading-filter programs.
    pub cascading: usize,
    /// Evidence-then-test programs.
    pub evidence: usize,
}

/// What happened to every candidate of one dataset: counts per stage and every drop reason.
///
/// Every bound program ends in exactly one place: `questions`, or one key of `rejected`
/// (before execution: `ill_formed`, `constant_column`, `too_few_rows`,
/// `constant_by_construction`, `not_sampled`; after: `timeout`, `crashed`, `tied_winner`,
/// `precondition_failed`, `exception:<type>`, `submit_count:<n>`, `null_in_answer`,
/// `empty_answer`, `not_significant`, `constant_answer`, `near_duplicate`, `over_cap`,
/// `not_executed`), so `bound_programs == questions + sum(rejected)`. Wall times are in milliseconds and are the
/// only part that differs between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProceduralReport {
    /// Dataset name.
    pub dataset: String,
    /// SHA-256 of the CSV bytes.
    pub dataset_hash: String,
    /// The generation seed.
    pub seed: u64,
    /// Pool sizes.
    pub pools: PoolSizes,
    /// Enumeration counts (dequeues, candidates, reduction, validation rejections).
    pub search: SearchStats,
    /// Chains by family.
    pub chains: ChainCounts,
    /// Programs after binding enumeration (grammar bindings plus long chains).
    pub bound_programs: u64,
    /// Programs executed in the sandbox.
    pub executed: u64,
    /// Executed programs that passed the output filter (before near-duplicates and the cap).
    pub passed_filter: u64,
    /// Questions written.
    pub questions: u64,
    /// Dropped programs by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Questions by operator count.
    pub kept_by_length: BTreeMap<u64, u64>,
    /// Questions by terminal operator.
    pub kept_by_terminal: BTreeMap<String, u64>,
    /// Operators used by at least one question, in catalogue order.
    pub operators_covered: Vec<String>,
    /// Warnings (e.g. fewer than 20 questions).
    pub warnings: Vec<String>,
    /// Planning wall time (enumeration to compiled code), ms.
    pub plan_ms: u64,
    /// Execution wall time, ms.
    pub execute_ms: u64,
    /// Total wall time, ms.
    pub total_ms: u64,
}

impl ProceduralReport {
    /// Adds `n` to the count of `reason`.
    pub fn reject(&mut self, reason: &str, n: u64) {
        if n > 0 {
            *self.rejected.entry(reason.to_owned()).or_default() += n;
        }
    }
}
