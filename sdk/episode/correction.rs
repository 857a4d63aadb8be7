//! Corrections: metadata on a successful turn that repairs an earlier failed turn (SPEC 3.8).

use std::collections::BTreeSet;
use std::num::NonZeroU64;

use crate::schema::{CodeDiff, Correction, ExceptionInfo, ExecStatus, Turn};

/// Characters of the failed turn's exception message kept in `error_message`.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 200;

/// `error_type` of a correction after a timed-out cell.
pub const TIMEOUT_ERROR_TYPE: &str = "Timeout";

/// `error_type` of a correction after a crashed worker.
pub const CRASH_ERROR_TYPE: &str = "WorkerCrashed";

/// What [`corrections`] needs of one executed turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellResult<'a> {
    /// The code that ran.
    pub code: &'a str,
    /// How the cell ended.
    pub status: ExecStatus,
    /// The structured exception of a failed cell, if any.
    pub exception: Option<&'a ExceptionInfo>,
}

impl<'a> From<&'a Turn> for CellResult<'a> {
    /// The turn's code, status (from `execution.status`, else from `execution.success` for old
    /// records) and exception.
    fn from(turn: &'a Turn) -> Self {
        let execution = &turn.execution;
        let status = execution.status.unwrap_or(if execution.success {
            ExecStatus::Ok
        } else {
            ExecStatus::Error
        });
        Self {
            code: &turn.code,
            status,
            exception: execution.exception.as_ref(),
        }
    }
}

/// One `Option<Correction>` per turn, in turn order (SPEC 3.8).
///
/// Walks the turns tracking the latest failed one (a newer failure replaces it). When a later
/// turn succeeds with different code (compared after trimming), that turn gets a correction of
/// the tracked failure and the tracking is cleared. A success with the same code as the failure
/// (a transient timeout re-run) gets no correction and, as SPEC 3.8 says nothing else, leaves
/// the tracking in place, so `attempts_since_error` can exceed 1.
///
/// `corrects_turn` is the failed turn's position in `cells` (its `turn_index` for a trace's
/// turns). `error_type` is the exception type, `Timeout` or `WorkerCrashed` (`Error` for an
/// error without a structured exception); `error_message` is the first
/// [`MAX_ERROR_MESSAGE_CHARS`] characters of the exception message.
pub fn corrections(cells: &[CellResult<'_>]) -> Vec<Option<Correction>> {
    let mut failed: Option<usize> = None;
    let mut out = Vec::with_capacity(cells.len());
    for (index, cell) in cells.iter().enumerate() {
        if cell.status != ExecStatus::Ok {
            failed = Some(index);
            out.push(None);
            continue;
        }
        let correction = failed
            .filter(|&f| cells[f].code.trim() != cell.code.trim())
            .map(|f| {
                let broken = &cells[f];
                Correction {
                    corrects_turn: f as u64,
                    error_type: error_type(broken),
                    error_message: error_message(broken),
                    attempts_since_error: NonZeroU64::new((index - f) as u64)
                        .unwrap_or(NonZeroU64::MIN),
                    code_diff: code_diff(broken.code, cell.code),
                }
            });
        if correction.is_some() {
            failed = None;
        }
        out.push(correction);
    }
    out
}

/// Lines present in only one of the two codes: trimmed, non-empty, each listed once in order of
/// first appearance. `removed_lines` are in `old` only, `added_lines` in `new` only.
pub fn code_diff(old: &str, new: &str) -> CodeDiff {
    let lines = |code: &str| -> Vec<String> {
        let mut seen = BTreeSet::new();
        code.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && seen.insert(*line))
            .map(str::to_owned)
            .collect()
    };
    let (old_lines, new_lines) = (lines(old), lines(new));
    let old_set: BTreeSet<&String> = old_lines.iter().collect();
    let new_set: BTreeSet<&String> = new_lines.iter().collect();
    CodeDiff {
        removed_lines: old_lines
            .iter()
            .filter(|l| !new_set.contains(l))
            .cloned()
            .collect(),
        added_lines: new_lines
            .iter()
            .filter(|l| !old_set.contains(l))
            .cloned()
            .collect(),
    }
}

fn error_type(cell: &CellResult<'_>) -> String {
    match cell.status {
        ExecStatus::Timeout => TIMEOUT_ERROR_TYPE.to_owned(),
        ExecStatus::Crashed => CRASH_ERROR_TYPE.to_owned(),
        _ => cell
            .exception
            .map(|e| e.type_.trim())
            .filter(|t| !t.is_empty())
            .unwrap_or("Error")
            .to_owned(),
    }
}

fn error_message(cell: &CellResult<'_>) -> String {
    match cell.exception {
        Some(e) => e.message.chars().take(MAX_ERROR_MESSAGE_CHARS).collect(),
        None => match cell.status {
            ExecStatus::Timeout => "the cell timed out".to_owned(),
            ExecStatus::Crashed => "the worker crashed".to_owned(),
            _ => String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exc(type_: &str, message: &str) -> ExceptionInfo {
        ExceptionInfo {
            type_: type_.to_owned(),
            message: message.to_owned(),
        }
    }

    fn cell<'a>(code: &'a str, status: ExecStatus, e: Option<&'a ExceptionInfo>) -> CellResult<'a> {
        CellResult {
            code,
            status,
            exception: e,
        }
    }

    #[test]
    fn fixed_key_error_is_a_correction() {
        let e = exc("KeyError", "'age'");
        let cells = [
            cell("m = df['age'].mean()", ExecStatus::Error, Some(&e)),
            cell(
                "m = df['Age'].mean()\nhook(m, \"m = df['Age'].mean()\", name='m')\nsubmit(round(m, 2))",
                ExecStatus::Ok,
                None,
            ),
        ];
        let out = corrections(&cells);
        assert_eq!(out[0], None);
        let c = out[1].clone().unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({
                "corrects_turn": 0, "error_type": "KeyError", "error_message": "'age'",
                "attempts_since_error": 1,
                "code_diff": {
                    "removed_lines": ["m = df['age'].mean()"],
                    "added_lines": [
                        "m = df['Age'].mean()",
                        "hook(m, \"m = df['Age'].mean()\", name='m')",
                        "submit(round(m, 2))"
                    ]
                }
            })
        );
    }

    #[test]
    fn newer_failure_replaces_the_tracked_one() {
        let a = exc("KeyError", "'x'");
        let b = exc("TypeError", "bad operand");
        let cells = [
            cell("x = df['x']", ExecStatus::Error, Some(&a)),
            cell("x = df['X'] + 'a'", ExecStatus::Error, Some(&b)),
            cell("x = df['X'] + 1", ExecStatus::Ok, None),
        ];
        let c = corrections(&cells)[2].clone().unwrap();
        assert_eq!(c.corrects_turn, 1);
        assert_eq!(c.error_type, "TypeError");
        assert_eq!(c.attempts_since_error.get(), 1);
    }

    #[test]
    fn tracking_clears_after_a_correction() {
        let e = exc("ValueError", "v");
        let cells = [
            cell("a", ExecStatus::Error, Some(&e)),
            cell("b", ExecStatus::Ok, None),
            cell("c", ExecStatus::Ok, None),
        ];
        let out = corrections(&cells);
        assert!(out[1].is_some());
        assert_eq!(out[2], None);
    }

    #[test]
    fn success_with_identical_code_is_not_a_correction() {
        let cells = [
            cell("slow()\n", ExecStatus::Timeout, None),
            cell("  slow()", ExecStatus::Ok, None),
            cell("slow(n=10)", ExecStatus::Ok, None),
        ];
        let out = corrections(&cells);
        assert_eq!(out[1], None);
        // The failure stays tracked: the next different successful code corrects it.
        let c = out[2].clone().unwrap();
        assert_eq!(c.corrects_turn, 0);
        assert_eq!(c.attempts_since_error.get(), 2);
    }

    #[test]
    fn timeout_and_crash_have_fixed_error_types() {
        let cells = [
            cell("loop_forever()", ExecStatus::Timeout, None),
            cell("quick()", ExecStatus::Ok, None),
            cell("huge = big()", ExecStatus::Crashed, None),
            cell("small = big(n=10)", ExecStatus::Ok, None),
        ];
        let out = corrections(&cells);
        let t = out[1].clone().unwrap();
        assert_eq!(t.error_type, TIMEOUT_ERROR_TYPE);
        assert_eq!(t.error_type, "Timeout");
        assert_eq!(t.error_message, "the cell timed out");
        let c = out[3].clone().unwrap();
        assert_eq!(c.error_type, "WorkerCrashed");
        assert_eq!(c.corrects_turn, 2);
    }

    #[test]
    fn attempts_count_turns_since_the_failure() {
        let e = exc("NameError", "name 'q' is not defined");
        let cells = [
            cell("print(q)", ExecStatus::Error, Some(&e)),
            cell("print(q)", ExecStatus::Error, Some(&e)),
            cell("q = 1", ExecStatus::Error, Some(&e)),
            cell("q = 1\nprint(q)", ExecStatus::Ok, None),
        ];
        let c = corrections(&cells)[3].clone().unwrap();
        assert_eq!(c.corrects_turn, 2);
        assert_eq!(c.attempts_since_error.get(), 1);
        let cells = [
            cell("print(q)", ExecStatus::Error, Some(&e)),
            cell("print(q)", ExecStatus::Timeout, None),
        ];
        assert_eq!(corrections(&cells), vec![None, None]);
    }

    #[test]
    fn error_message_keeps_first_200_chars() {
        let long = "é".repeat(250);
        let e = exc("ValueError", &long);
        let cells = [
            cell("a", ExecStatus::Error, Some(&e)),
            cell("b", ExecStatus::Ok, None),
        ];
        let c = corrections(&cells)[1].clone().unwrap();
        assert_eq!(c.error_message.chars().count(), 200);
        assert_eq!(c.error_message, "é".repeat(200));
    }

    #[test]
    fn error_without_exception_is_typed_error() {
        let cells = [
            cell("a", ExecStatus::Error, None),
            cell("b", ExecStatus::Ok, None),
        ];
        assert_eq!(corrections(&cells)[1].clone().unwrap().error_type, "Error");
    }

    #[test]
    fn successes_without_failures_have_no_corrections() {
        let cells = [
            cell("a", ExecStatus::Ok, None),
            cell("b", ExecStatus::Ok, None),
        ];
        assert_eq!(corrections(&cells), vec![None, None]);
        assert!(corrections(&[]).is_empty());
    }

    #[test]
    fn code_diff_trims_dedupes_and_keeps_first_appearance_order() {
        let d = code_diff(
            "  a = 1\nb = 2\n\nb = 2\nc = 3",
            "c = 3\nb = 2  \nz = 0\ny = 9\nz = 0",
        );
        assert_eq!(d.removed_lines, ["a = 1"]);
        assert_eq!(d.added_lines, ["z = 0", "y = 9"]);
    }

    #[test]
    fn cell_result_reads_status_from_turn() {
        let turn: Turn = serde_json::from_value(serde_json::json!({
            "turn_index": 0, "reasoning": "r", "code": "x",
            "execution": {"success": false, "stdout": "", "stderr": "", "hooks": [],
                          "submitted_answer": null}
        }))
        .unwrap();
        let c = CellResult::from(&turn);
        assert_eq!(c.status, ExecStatus::Error);
        assert_eq!(c.code, "x");
    }
}
