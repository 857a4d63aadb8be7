//! Ground-truth verification of template and procedural episodes (SPEC 2.4).
//!
//! The gold trace's accepted answer is compared with the question's accepted answers: first by
//! answer hash `H`, then with the tolerant matcher against **every** accepted answer.

use serde_json::Value;

use super::{MatchedBy, MatchingConfig, answer_hash, matches};
use crate::schema::{
    FailureRecordErrorKind, FailureRecordStage, Question, StopReason, Trace, Verification,
    VerificationMethod,
};

/// The inputs of SPEC 2.4 for one question and its gold trace.
///
/// Fields borrow from the [`Question`] record and the gold [`Trace`]; build it with
/// [`GroundTruthCheck::new`] or field by field.
#[derive(Debug, Clone, Copy)]
pub struct GroundTruthCheck<'a> {
    /// The resolved prompt shown to the teacher; blank means `missing_prompt`.
    pub prompt: &'a str,
    /// `ground_truth_hashes` of the question (all accepted answers' `H`), if present.
    pub ground_truth_hashes: Option<&'a [String]>,
    /// `ground_truth_hash` of the question (`H` of the primary answer), if present.
    pub ground_truth_hash: Option<&'a str>,
    /// `accepted_answers` of the question, if present.
    pub accepted_answers: Option<&'a [Value]>,
    /// `ground_truth` of the question (the primary answer; null for llm_gen).
    pub ground_truth: &'a Value,
    /// The gold trace's accepted answer, `None` when nothing was accepted (see
    /// [`accepted_answer`]).
    pub answer: Option<&'a Value>,
    /// Why the gold trace stopped, reported with `no_answer`.
    pub stop_reason: Option<StopReason>,
}

impl<'a> GroundTruthCheck<'a> {
    /// The check for `question`, asked with the resolved `prompt`, answered by the `gold` trace.
    pub fn new(question: &'a Question, prompt: &'a str, gold: &'a Trace) -> Self {
        Self {
            prompt,
            ground_truth_hashes: question.ground_truth_hashes.as_deref(),
            ground_truth_hash: question.ground_truth_hash.as_deref(),
            accepted_answers: question.accepted_answers.as_deref(),
            ground_truth: &question.ground_truth,
            answer: accepted_answer(gold),
            stop_reason: gold.stop_reason,
        }
    }

    /// The expected hashes: `ground_truth_hashes`, else `[ground_truth_hash]`, blanks removed.
    /// An empty `ground_truth_hashes` list also falls back to `[ground_truth_hash]`.
    pub fn expected_hashes(&self) -> Vec<String> {
        let listed: Vec<String> = self
            .ground_truth_hashes
            .unwrap_or_default()
            .iter()
            .filter(|h| !h.trim().is_empty())
            .cloned()
            .collect();
        if !listed.is_empty() {
            return listed;
        }
        self.ground_truth_hash
            .filter(|h| !h.trim().is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect()
    }

    /// The values tolerance is checked against: `accepted_answers`, else `[ground_truth]`
    /// (an empty list also falls back).
    pub fn accepted_values(&self) -> Vec<&'a Value> {
        match self.accepted_answers {
            Some(list) if !list.is_empty() => list.iter().collect(),
            _ => vec![self.ground_truth],
        }
    }
}

/// The trace's accepted answer: `final_answer` when the trace succeeded and it is not null.
///
/// Falsy answers (`0`, `false`, `""`, `[]`, `{}`) are answers; a top-level null never is.
pub fn accepted_answer(trace: &Trace) -> Option<&Value> {
    (trace.success && !trace.final_answer.is_null()).then_some(&trace.final_answer)
}

/// The result of [`verify_ground_truth`].
#[derive(Debug, Clone, PartialEq)]
pub enum GroundTruthOutcome {
    /// The gold answer equals an accepted answer.
    Verified {
        /// By hash (row 4) or by the tolerant matcher (row 5).
        matched_by: MatchedBy,
    },
    /// The episode is not verified, for this reason.
    Failed(GroundTruthFailure),
}

impl GroundTruthOutcome {
    /// Whether the episode is verified.
    pub fn verified(&self) -> bool {
        matches!(self, Self::Verified { .. })
    }

    /// The failure, if any.
    pub fn failure(&self) -> Option<&GroundTruthFailure> {
        match self {
            Self::Verified { .. } => None,
            Self::Failed(f) => Some(f),
        }
    }

    /// The episode's `verification` object: method `ground_truth`, `matched_by` when verified,
    /// and the failure text as `error` otherwise.
    pub fn verification(&self) -> Verification {
        match self {
            Self::Verified { matched_by } => Verification {
                method: VerificationMethod::GroundTruth,
                matched_by: Some((*matched_by).into()),
                error: None,
            },
            Self::Failed(f) => Verification {
                method: VerificationMethod::GroundTruth,
                matched_by: None,
                error: Some(f.to_string()),
            },
        }
    }
}

/// Why a template/procedural episode is not verified. The message starts with the failure
/// record's `error_kind`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroundTruthFailure {
    /// Row 1: the prompt is blank.
    #[error("missing_prompt: the question has no prompt text")]
    MissingPrompt,
    /// Row 2: the gold trace accepted no answer.
    #[error("no_answer: the gold trace stopped ({}) without an accepted answer", stop_text(*.stop_reason))]
    NoAnswer {
        /// Why the gold trace stopped, if known.
        stop_reason: Option<StopReason>,
    },
    /// Row 3: the question has no expected hashes.
    #[error("missing_ground_truth: the question has no expected answer hashes")]
    MissingGroundTruth,
    /// Row 6: neither a hash nor a tolerant match.
    #[error("answer_mismatch: expected [{}], got {actual_hash}", expected_hashes.join(", "))]
    AnswerMismatch {
        /// The expected hashes.
        expected_hashes: Vec<String>,
        /// `H` of the gold answer.
        actual_hash: String,
    },
}

fn stop_text(reason: Option<StopReason>) -> String {
    reason.map_or_else(|| "unknown stop reason".to_owned(), |r| r.to_string())
}

impl GroundTruthFailure {
    /// The failure record's `error_kind`. A gold trace that stopped on `llm_error`,
    /// `sandbox_error` or `cancelled` reports that kind instead of `no_answer`.
    pub fn error_kind(&self) -> FailureRecordErrorKind {
        match self {
            Self::MissingPrompt => FailureRecordErrorKind::MissingPrompt,
            Self::NoAnswer { stop_reason } => match stop_reason {
                Some(StopReason::LlmError) => FailureRecordErrorKind::LlmError,
                Some(StopReason::SandboxError) => FailureRecordErrorKind::SandboxError,
                Some(StopReason::Cancelled) => FailureRecordErrorKind::Cancelled,
                _ => FailureRecordErrorKind::NoAnswer,
            },
            Self::MissingGroundTruth => FailureRecordErrorKind::MissingGroundTruth,
            Self::AnswerMismatch { .. } => FailureRecordErrorKind::AnswerMismatch,
        }
    }

    /// The failure record's `stage`: `prompt` for a blank prompt, `llm` / `sandbox` when the gold
    /// trace stopped on that error, otherwise `verification`.
    pub fn stage(&self) -> FailureRecordStage {
        match self.error_kind() {
            FailureRecordErrorKind::MissingPrompt => FailureRecordStage::Prompt,
            FailureRecordErrorKind::LlmError => FailureRecordStage::Llm,
            FailureRecordErrorKind::SandboxError => FailureRecordStage::Sandbox,
            _ => FailureRecordStage::Verification,
        }
    }
}

/// Decides a template/procedural episode (SPEC 2.4), rows in order:
///
/// 1. blank prompt -> `missing_prompt`;
/// 2. no accepted gold answer -> `no_answer` (with the stop reason);
/// 3. no expected hashes -> `missing_ground_truth`;
/// 4. `H(answer)` among the expected hashes -> verified by hash;
/// 5. `matches(a, answer)` for some accepted value `a` -> verified by tolerance;
/// 6. otherwise `answer_mismatch: expected [<hashes>], got <H(answer)>`.
///
/// # Examples
/// ```
/// use csvagent_sdk::verify::{GroundTruthCheck, MatchedBy, MatchingConfig, GroundTruthOutcome,
///     answer_hash, verify_ground_truth};
/// use serde_json::json;
/// let truth = json!(39.2074);
/// let hashes = vec![answer_hash(&truth)];
/// let check = GroundTruthCheck {
///     prompt: "Mean age?",
///     ground_truth_hashes: Some(&hashes),
///     ground_truth_hash: None,
///     accepted_answers: None,
///     ground_truth: &truth,
///     answer: Some(&json!(39.21)),
///     stop_reason: None,
/// };
/// let outcome = verify_ground_truth(&check, &MatchingConfig::default());
/// assert_eq!(outcome, GroundTruthOutcome::Verified { matched_by: MatchedBy::Tolerance });
/// ```
pub fn verify_ground_truth(
    check: &GroundTruthCheck<'_>,
    cfg: &MatchingConfig,
) -> GroundTruthOutcome {
    if check.prompt.trim().is_empty() {
        return GroundTruthOutcome::Failed(GroundTruthFailure::MissingPrompt);
    }
    let Some(answer) = check.answer.filter(|a| !a.is_null()) else {
        return GroundTruthOutcome::Failed(GroundTruthFailure::NoAnswer {
            stop_reason: check.stop_reason,
        });
    };
    let expected_hashes = check.expected_hashes();
    if expected_hashes.is_empty() {
        return GroundTruthOutcome::Failed(GroundTruthFailure::MissingGroundTruth);
    }
    let actual_hash = answer_hash(answer);
    if expected_hashes.contains(&actual_hash) {
        return GroundTruthOutcome::Verified {
            matched_by: MatchedBy::Hash,
        };
    }
    if check
        .accepted_values()
        .into_iter()
        .any(|accepted| matches(accepted, answer, cfg))
    {
        return GroundTruthOutcome::Verified {
            matched_by: MatchedBy::Tolerance,
        };
    }
    GroundTruthOutcome::Failed(GroundTruthFailure::AnswerMismatch {
        expected_hashes,
        actual_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Case {
        prompt: &'static str,
        hashes: Option<Vec<String>>,
        hash: Option<String>,
        accepted: Option<Vec<Value>>,
        truth: Value,
        answer: Option<Value>,
        stop: Option<StopReason>,
    }

    impl Case {
        /// A question whose single accepted answer is `truth`, answered with `answer`.
        fn new(truth: Value, answer: Option<Value>) -> Self {
            Self {
                prompt: "What is the mean of `age`?",
                hashes: Some(vec![answer_hash(&truth)]),
                hash: Some(answer_hash(&truth)),
                accepted: Some(vec![truth.clone()]),
                truth,
                answer,
                stop: Some(StopReason::Submitted),
            }
        }

        fn run(&self) -> GroundTruthOutcome {
            let check = GroundTruthCheck {
                prompt: self.prompt,
                ground_truth_hashes: self.hashes.as_deref(),
                ground_truth_hash: self.hash.as_deref(),
                accepted_answers: self.accepted.as_deref(),
                ground_truth: &self.truth,
                answer: self.answer.as_ref(),
                stop_reason: self.stop,
            };
            verify_ground_truth(&check, &MatchingConfig::default())
        }
    }

    fn failure(outcome: GroundTruthOutcome) -> GroundTruthFailure {
        match outcome {
            GroundTruthOutcome::Failed(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn blank_prompt_is_missing_prompt() {
        let mut case = Case::new(json!(1), Some(json!(1)));
        case.prompt = "  \n ";
        let f = failure(case.run());
        assert_eq!(f, GroundTruthFailure::MissingPrompt);
        assert_eq!(f.error_kind(), FailureRecordErrorKind::MissingPrompt);
        assert_eq!(f.stage(), FailureRecordStage::Prompt);
    }

    #[test]
    fn trace_without_answer_is_no_answer_with_stop_reason() {
        let mut case = Case::new(json!(1), None);
        case.stop = Some(StopReason::TurnLimit);
        let f = failure(case.run());
        assert_eq!(
            f,
            GroundTruthFailure::NoAnswer {
                stop_reason: Some(StopReason::TurnLimit)
            }
        );
        assert_eq!(f.error_kind(), FailureRecordErrorKind::NoAnswer);
        assert!(f.to_string().starts_with("no_answer:"));
        assert!(f.to_string().contains("turn_limit"), "{f}");
    }

    #[test]
    fn null_answer_counts_as_no_answer() {
        let case = Case::new(json!(1), Some(Value::Null));
        assert!(matches!(
            failure(case.run()),
            GroundTruthFailure::NoAnswer { .. }
        ));
    }

    #[test]
    fn llm_and_sandbox_stops_report_their_kind_and_stage() {
        let mut case = Case::new(json!(1), None);
        case.stop = Some(StopReason::LlmError);
        let f = failure(case.run());
        assert_eq!(f.error_kind(), FailureRecordErrorKind::LlmError);
        assert_eq!(f.stage(), FailureRecordStage::Llm);
        case.stop = Some(StopReason::SandboxError);
        let f = failure(case.run());
        assert_eq!(f.error_kind(), FailureRecordErrorKind::SandboxError);
        assert_eq!(f.stage(), FailureRecordStage::Sandbox);
    }

    #[test]
    fn no_expected_hashes_is_missing_ground_truth() {
        let mut case = Case::new(json!(1), Some(json!(1)));
        case.hashes = None;
        case.hash = None;
        assert_eq!(failure(case.run()), GroundTruthFailure::MissingGroundTruth);
        case.hashes = Some(vec![]);
        case.hash = Some(String::new());
        assert_eq!(failure(case.run()), GroundTruthFailure::MissingGroundTruth);
    }

    #[test]
    fn primary_hash_is_used_when_hash_list_is_absent() {
        let mut case = Case::new(json!(42), Some(json!(42.0)));
        case.hashes = None;
        assert_eq!(
            case.run(),
            GroundTruthOutcome::Verified {
                matched_by: MatchedBy::Hash
            }
        );
    }

    #[test]
    fn identical_answer_is_verified_by_hash() {
        let case = Case::new(json!({"count": 2, "columns": ["bmi", "age"]}), None);
        let case = Case {
            answer: Some(json!({"columns": ["bmi", "age"], "count": 2.0})),
            ..case
        };
        assert_eq!(
            case.run(),
            GroundTruthOutcome::Verified {
                matched_by: MatchedBy::Hash
            }
        );
    }

    #[test]
    fn falsy_answer_is_verified() {
        for v in [json!(0), json!(false), json!(""), json!([]), json!({})] {
            let case = Case::new(v.clone(), Some(v));
            assert!(case.run().verified());
        }
    }

    #[test]
    fn close_answer_is_verified_by_tolerance() {
        let case = Case::new(json!(13270.421964), Some(json!(13270.42)));
        let outcome = case.run();
        assert_eq!(
            outcome,
            GroundTruthOutcome::Verified {
                matched_by: MatchedBy::Tolerance
            }
        );
        let v = outcome.verification();
        assert_eq!(v.method, VerificationMethod::GroundTruth);
        assert_eq!(v.error, None);
        assert!(v.matched_by.is_some());
    }

    #[test]
    fn tolerance_is_checked_against_every_accepted_answer() {
        let mut case = Case::new(json!(10.0), Some(json!(20.004)));
        case.accepted = Some(vec![json!(10.0), json!(15.0), json!(20.0)]);
        case.hashes = Some(
            case.accepted
                .iter()
                .flatten()
                .map(answer_hash)
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            case.run(),
            GroundTruthOutcome::Verified {
                matched_by: MatchedBy::Tolerance
            }
        );
    }

    #[test]
    fn ground_truth_is_used_when_accepted_answers_are_absent() {
        let mut case = Case::new(json!(4.6), Some(json!(4.6004)));
        case.accepted = None;
        assert!(case.run().verified());
    }

    #[test]
    fn wrong_answer_is_answer_mismatch_naming_hashes() {
        let case = Case::new(json!(42), Some(json!(43)));
        let f = failure(case.run());
        assert_eq!(
            f,
            GroundTruthFailure::AnswerMismatch {
                expected_hashes: vec!["73475cb40a568e8d".to_owned()],
                actual_hash: answer_hash(&json!(43)),
            }
        );
        assert_eq!(
            f.to_string(),
            format!(
                "answer_mismatch: expected [73475cb40a568e8d], got {}",
                answer_hash(&json!(43))
            )
        );
        assert_eq!(f.error_kind(), FailureRecordErrorKind::AnswerMismatch);
        assert_eq!(f.stage(), FailureRecordStage::Verification);
    }

    #[test]
    fn failed_verification_record_carries_the_error() {
        let outcome = Case::new(json!(42), Some(json!(43))).run();
        let v = outcome.verification();
        assert_eq!(v.matched_by, None);
        assert!(v.error.is_some_and(|e| e.starts_with("answer_mismatch: ")));
    }

    #[test]
    fn accepted_answer_requires_success_and_non_null() {
        let trace: Trace = serde_json::from_value(json!({
            "turns": [], "final_answer": 0, "final_answer_hash": answer_hash(&json!(0)),
            "success": true
        }))
        .unwrap();
        assert_eq!(accepted_answer(&trace), Some(&json!(0)));
        let failed = Trace {
            success: false,
            ..trace.clone()
        };
        assert_eq!(accepted_answer(&failed), None);
        let null = Trace {
            final_answer: Value::Null,
            ..trace
        };
        assert_eq!(accepted_answer(&null), None);
    }
}
