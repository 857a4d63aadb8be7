//! The generation report of one dataset: every template of the catalogue with what happened to
//! it (not applicable and why; or each candidate accepted or rejected and why), and the
//! `rejected.jsonl` lines (SPEC 5.4).
//!
//! Written next to `questions.json` as `report.json` (pretty JSON) and `rejected.jsonl`. Neither
//! holds timings, so both are byte-identical across runs on the same dataset bytes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The report of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateReport {
    /// Dataset name.
    pub dataset: String,
    /// SHA-256 of the dataset's CSV bytes.
    pub dataset_hash: String,
    /// Candidates run (work items after truncation).
    pub candidates: usize,
    /// Questions written.
    pub accepted: usize,
    /// Candidates rejected.
    pub rejected: usize,
    /// Every template of the catalogue, in catalogue order.
    pub templates: Vec<TemplateEntry>,
}

/// What happened to one template on the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateEntry {
    /// Template name.
    pub name: String,
    /// `applied`, `not_applicable` or `truncated` (every candidate cut by the per-dataset cap).
    pub status: TemplateStatus,
    /// Why it does not apply (for `not_applicable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// One entry per parameter set that ran, in work order.
    pub candidates: Vec<CandidateEntry>,
}

/// Whether a template ran on the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    /// At least one candidate ran.
    Applied,
    /// The profile does not meet the template's requirements.
    NotApplicable,
    /// It applied, but every candidate was cut by `max_per_dataset`.
    Truncated,
}

/// The outcome of one candidate (a template with one parameter set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateEntry {
    /// 1-based position in the work list.
    pub index: usize,
    /// `template_params` (absent for the default set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    /// Whether a question was written.
    pub accepted: bool,
    /// The question id (accepted only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// Accepted answers (primary, ties, alternative readings; de-duplicated).
    pub accepted_answers: usize,
    /// Why it was rejected: `submit_count:<n>`, `not_applicable: <msg>`,
    /// `exception: <type>: <msg>`, `timeout`, `crashed`, `null_answer` or `sandbox_error: <msg>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Alternative readings whose program gave no usable answer (only logged; not an error).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternative_failures: Vec<AlternativeFailure>,
}

/// An alternative reading that gave no answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlternativeFailure {
    /// What the reading is.
    pub reading: String,
    /// Why it gave no answer (same vocabulary as rejections).
    pub reason: String,
}

/// One line of `rejected.jsonl`: `{dataset, template_name, template_params, reason}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// Dataset name.
    pub dataset: String,
    /// Template name.
    pub template_name: String,
    /// Parameters, or null for the default set.
    pub template_params: Option<Map<String, Value>>,
    /// Why the candidate was rejected.
    pub reason: String,
}
