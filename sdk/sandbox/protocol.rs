//! The supervisor protocol (SPEC 4.3): public request/response types and their wire form.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::schema::{ExceptionInfo, ExecStatus};

/// Where and how to load one dataset in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadSpec {
    /// Dataset name (its folder name).
    pub dataset: String,
    /// Host path of the CSV; must lie under [`super::SandboxConfig::datasets_root`].
    pub csv_path: PathBuf,
    /// Python codec name from the catalogue, e.g. `utf-8`, `utf-8-sig`, `cp1252`.
    pub encoding: String,
    /// Field separator: `,`, `\t`, `;` or `|`.
    pub delimiter: char,
    /// Decimal mark: `.` or `,`.
    pub decimal: char,
    /// SHA-256 hex of the CSV bytes; containers are reused for the same hash.
    pub dataset_hash: String,
}

/// Who is running the code. Tie `alternatives` passed to `submit` count only in reference
/// mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecMode {
    /// Teacher (agent) code.
    Agent,
    /// A trusted reference program computing a ground truth.
    Reference,
}

impl ExecMode {
    /// `agent` or `reference`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecMode::Agent => "agent",
            ExecMode::Reference => "reference",
        }
    }
}

/// One `submit(answer, alternatives=[...], **metadata)` call, normalised by the sandbox
/// (SPEC 2.1). Hashes are computed on the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The normalised answer (never null).
    pub answer: Value,
    /// Tie alternatives (reference mode only; empty in agent mode).
    pub alternatives: Vec<Value>,
    /// Keyword metadata, normalised.
    pub metadata: Map<String, Value>,
}

/// One `hook(value, code_line, name=None, description=None, depends_on=None)` call as sent
/// by the sandbox (SPEC 4.4), before the host computes `value_hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHook {
    /// `name=`.
    pub variable_name: Option<String>,
    /// `code_line`, exactly as passed.
    pub code_line: Option<String>,
    /// The value or its summary (DataFrame/Series summaries, `{type, size_bytes}` past
    /// 100,000 bytes).
    pub value: Value,
    /// The full normalised value when its JSON is at most 1 MiB; `value_hash` is
    /// `H(hash_value)` when present, else `H(value)`.
    pub hash_value: Option<Value>,
    /// `depends_on=`, default empty.
    pub depends_on: Vec<String>,
    /// `description=`.
    pub description: Option<String>,
}

/// The result of one cell (SPEC 4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecResponse {
    /// `ok`, `error` (an exception; see `exception`), `timeout` (the worker was killed) or
    /// `crashed` (the worker died, e.g. out of memory).
    pub status: ExecStatus,
    /// Printed output, capped at 50,000 chars (first and last 25,000 around a
    /// `… [TRUNCATED n chars] …` marker).
    pub stdout: String,
    /// Error output; holds the traceback on error. Capped like `stdout`.
    pub stderr: String,
    /// Whether either stream was truncated.
    pub truncated: bool,
    /// `repr` of a trailing expression, if it was not `None`.
    pub result_repr: Option<String>,
    /// `{type, message}` of the exception (`Timeout` / `WorkerCrashed` for those statuses).
    pub exception: Option<ExceptionInfo>,
    /// This cell's submissions (at most one succeeds; the list is structured, never parsed
    /// from stdout).
    pub submissions: Vec<Submission>,
    /// This cell's hooks, kept even when the cell failed.
    pub hooks: Vec<RawHook>,
    /// Cells run by this worker since it was forked (0 after a timeout or crash).
    pub execution_count: u64,
    /// Time spent running the cell inside the worker, in milliseconds.
    pub elapsed_ms: u64,
}

/// The wire form of an exec response (`id`/`ok` stripped by the channel).
#[derive(Debug, Deserialize)]
pub(crate) struct WireExec {
    pub status: String,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(default)]
    pub truncated: bool,
    #[serde(default)]
    pub result_repr: Option<String>,
    #[serde(default)]
    pub exception: Option<ExceptionInfo>,
    #[serde(default)]
    pub submissions: Vec<Submission>,
    #[serde(default)]
    pub hooks: Vec<RawHook>,
    #[serde(default)]
    pub execution_count: u64,
    #[serde(default)]
    pub elapsed_ms: u64,
}

impl WireExec {
    /// Converts to the public type; an unknown status is an error message.
    pub(crate) fn into_response(self) -> Result<ExecResponse, String> {
        let status = match self.status.as_str() {
            "ok" => ExecStatus::Ok,
            "error" => ExecStatus::Error,
            "timeout" => ExecStatus::Timeout,
            "crashed" => ExecStatus::Crashed,
            other => return Err(format!("unknown exec status `{other}`")),
        };
        Ok(ExecResponse {
            status,
            stdout: self.stdout,
            stderr: self.stderr,
            truncated: self.truncated,
            result_repr: self.result_repr,
            exception: self.exception,
            submissions: self.submissions,
            hooks: self.hooks,
            execution_count: self.execution_count,
            elapsed_ms: self.elapsed_ms,
        })
    }
}

/// NA tokens the loader adds to pandas' defaults (SPEC 5.1).
pub(crate) const NA_TOKENS: [&str; 5] = ["?", "NA", "N/A", "na", "n/a"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_response_parses_the_spec_example() {
        let text = r#"{"status":"ok","stdout":"…","stderr":"","result_repr":"(1338, 7)","exception":null,
 "submissions":[{"answer":39.2,"alternatives":[],"metadata":{}}],
 "hooks":[{"variable_name":"m","code_line":"m = df['Age'].mean()","value":39.2074,"hash_value":39.2074,"depends_on":[],"description":null}],
 "execution_count":3,"elapsed_ms":84,"truncated":false}"#;
        let wire: WireExec = serde_json::from_str(text).unwrap();
        let r = wire.into_response().unwrap();
        assert_eq!(r.status, ExecStatus::Ok);
        assert_eq!(r.submissions[0].answer, serde_json::json!(39.2));
        assert_eq!(r.hooks[0].variable_name.as_deref(), Some("m"));
        assert_eq!(r.execution_count, 3);
    }

    #[test]
    fn unknown_exec_status_is_rejected() {
        let wire: WireExec = serde_json::from_str(r#"{"status":"weird"}"#).unwrap();
        assert!(wire.into_response().unwrap_err().contains("`weird`"));
    }
}
