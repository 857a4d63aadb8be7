//! Submission review (SPEC 3.7): the format check of a submitted answer against the question's
//! `output_schema`, and the [`SubmissionReviewer`] that combines it with hook grounding,
//! rejection limits and the grounding reset.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hooks::{ExecutedLines, review_hooks};
use crate::schema::{Hook, SubmissionReview, SubmissionReviewStatus};
use crate::verify::MatchingConfig;

/// Verdict words and phrases that a bare string answer may not contain (whole words, any case)
/// when the question has no `output_schema`.
pub const VERDICT_WORDS: [&str; 7] = [
    "yes",
    "no",
    "significant",
    "not significant",
    "reject",
    "fail to reject",
    "accept",
];

static VERDICT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // Longer phrases first so the reported word is the whole phrase.
    let mut words = VERDICT_WORDS.to_vec();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let alternation = words
        .iter()
        .map(|w| regex::escape(w).replace(' ', r"\s+"))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&format!(r"(?i)\b(?:{alternation})\b")).ok()
});

/// A question's `output_schema`, parsed for the format check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputSchema {
    /// `scalar:<kind>` (`scalar:float`, `scalar:int`, `scalar:string`): a scalar or a one-key
    /// object.
    Scalar {
        /// The text after `scalar:`.
        kind: String,
    },
    /// One or more JSON-example forms; the answer's key set must equal one form's key set.
    /// A schema that is one JSON object has one form; a text holding several JSON objects (e.g.
    /// `{"distribution": "normal", ...} or {"distribution": "non-normal", ...}`) lists
    /// alternative forms.
    Keys {
        /// Each form's top-level keys, trimmed.
        forms: Vec<BTreeSet<String>>,
    },
    /// Free text with no JSON object example (e.g. a model-given `"a float"`), or JSON that is
    /// not an object: no format check applies.
    Free,
}

impl OutputSchema {
    /// Parses a schema string; `None` for a blank one.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Some(kind) = text.strip_prefix("scalar:") {
            return Some(Self::Scalar {
                kind: kind.trim().to_owned(),
            });
        }
        if let Ok(whole) = serde_json::from_str::<Value>(text) {
            return Some(match whole {
                Value::Object(map) => Self::Keys {
                    forms: vec![key_set(&map)],
                },
                _ => Self::Free,
            });
        }
        let forms: Vec<BTreeSet<String>> = json_objects_in(text).iter().map(key_set).collect();
        Some(if forms.is_empty() {
            Self::Free
        } else {
            Self::Keys { forms }
        })
    }
}

fn key_set(map: &Map<String, Value>) -> BTreeSet<String> {
    map.keys().map(|k| k.trim().to_owned()).collect()
}

/// Top-level JSON objects embedded in free text, in order.
fn json_objects_in(text: &str) -> Vec<Map<String, Value>> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(offset) = text[pos..].find('{') {
        let start = pos + offset;
        let mut stream =
            serde_json::Deserializer::from_str(&text[start..]).into_iter::<Map<String, Value>>();
        match stream.next() {
            Some(Ok(map)) => {
                found.push(map);
                pos = start + stream.byte_offset();
            }
            // Not JSON: skip to the matching brace so nested objects are not taken for forms.
            _ => pos = start + matching_brace(&text[start..]).map_or(1, |end| end + 1),
        }
    }
    found
}

/// Byte index of the `}` closing the `{` at index 0, counting braces naively.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The format check of SPEC 3.7: why `answer` does not fit `output_schema` (empty when it
/// fits).
///
/// - JSON-example schema: the answer (an object, or a string holding one) must have the key set
///   of the schema, or of one of its alternative forms, both without `cfg.ignorable_keys`.
/// - `scalar:*`: a scalar (number, string, bool) or an object with exactly one key (ignorable
///   keys not counted).
/// - No schema (`None` or blank): a string answer must not contain a whole word or phrase of
///   [`VERDICT_WORDS`]; the reason asks for `{"answer": ..., "p_value": ...}`. `Northeast` is
///   fine; `No.` is not.
/// - A free-text schema with no JSON example: no check.
pub fn check_format(
    answer: &Value,
    output_schema: Option<&str>,
    cfg: &MatchingConfig,
) -> Vec<String> {
    let as_object = object_of(answer);
    match output_schema.and_then(OutputSchema::parse) {
        None => match (answer, &as_object) {
            (Value::String(text), None) => verdict_reason(text).into_iter().collect(),
            _ => Vec::new(),
        },
        Some(OutputSchema::Free) => Vec::new(),
        Some(OutputSchema::Scalar { kind }) => {
            scalar_reason(answer, as_object.as_ref(), &kind, cfg)
                .into_iter()
                .collect()
        }
        Some(OutputSchema::Keys { forms }) => keys_reason(answer, as_object.as_ref(), &forms, cfg)
            .into_iter()
            .collect(),
    }
}

/// The answer as an object: an object, or a string that parses as one.
fn object_of(answer: &Value) -> Option<Map<String, Value>> {
    match answer {
        Value::Object(map) => Some(map.clone()),
        Value::String(s) if s.trim_start().starts_with('{') => {
            serde_json::from_str::<Map<String, Value>>(s.trim()).ok()
        }
        _ => None,
    }
}

fn without_ignorable(keys: &BTreeSet<String>, cfg: &MatchingConfig) -> BTreeSet<String> {
    keys.iter()
        .filter(|k| !cfg.ignorable_keys.iter().any(|i| i.trim() == k.as_str()))
        .cloned()
        .collect()
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn show_keys(keys: &BTreeSet<String>) -> String {
    let inner: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn keys_reason(
    answer: &Value,
    object: Option<&Map<String, Value>>,
    forms: &[BTreeSet<String>],
    cfg: &MatchingConfig,
) -> Option<String> {
    let forms: Vec<BTreeSet<String>> = forms.iter().map(|f| without_ignorable(f, cfg)).collect();
    let expected = forms.iter().map(show_keys).collect::<Vec<_>>().join(" or ");
    let Some(object) = object else {
        return Some(format!(
            "the answer must be a JSON object with keys {expected}, got {}",
            kind_name(answer)
        ));
    };
    let keys = without_ignorable(&key_set(object), cfg);
    if forms.contains(&keys) {
        return None;
    }
    if let [form] = forms.as_slice() {
        let missing: Vec<&String> = form.difference(&keys).collect();
        let extra: Vec<&String> = keys.difference(form).collect();
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("missing {}", quoted(&missing)));
        }
        if !extra.is_empty() {
            parts.push(format!("unexpected {}", quoted(&extra)));
        }
        return Some(format!(
            "the answer's keys do not match the schema {expected}: {}",
            parts.join("; ")
        ));
    }
    Some(format!(
        "the answer's keys {} match none of the schema's forms: {expected}",
        show_keys(&keys)
    ))
}

fn quoted(keys: &[&String]) -> String {
    keys.iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scalar_reason(
    answer: &Value,
    object: Option<&Map<String, Value>>,
    kind: &str,
    cfg: &MatchingConfig,
) -> Option<String> {
    if let Some(object) = object {
        let n = without_ignorable(&key_set(object), cfg).len();
        return (n != 1).then(|| {
            format!(
                "the schema asks for a single value (`scalar:{kind}`), got an object with {n} keys"
            )
        });
    }
    match answer {
        Value::Array(_) | Value::Null => Some(format!(
            "the schema asks for a single value (`scalar:{kind}`), got {}",
            kind_name(answer)
        )),
        _ => None,
    }
}

fn verdict_reason(text: &str) -> Option<String> {
    let found = VERDICT.as_ref()?.find(text)?;
    Some(format!(
        "a bare verdict (\"{}\") is not an answer: submit a dict {{\"answer\": <your conclusion>, \
         \"p_value\": <the test's p-value>}}",
        found.as_str()
    ))
}

/// How many failing submissions are rejected before the next one is force-accepted.
///
/// By default 2 each (`max_format_rejections`, `max_hook_rejections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewLimits {
    /// Format rejections before force-accepting. By default 2.
    pub max_format_rejections: u32,
    /// Hook rejections before force-accepting. By default 2.
    pub max_hook_rejections: u32,
}

impl Default for ReviewLimits {
    fn default() -> Self {
        Self {
            max_format_rejections: 2,
            max_hook_rejections: 2,
        }
    }
}

/// A reviewed hook that is not grounded, located in the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UngroundedHook {
    /// The turn whose execution recorded the hook (as passed to
    /// [`SubmissionReviewer::record_cell`]).
    pub turn_index: usize,
    /// Position in that turn's `execution.hooks`.
    pub hook_index: usize,
    /// `missing code_line` or `code_line not found in executed code`; store it as the hook's
    /// `ungrounded_reason`.
    pub reason: String,
}

/// The result of [`SubmissionReviewer::review`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewDecision {
    /// The turn's `submission` record: status and every failing reason (format first, then
    /// hooks). Reasons are empty when accepted cleanly.
    pub review: SubmissionReview,
    /// Every reviewed hook that is not grounded, whatever the status.
    pub ungrounded: Vec<UngroundedHook>,
    /// Review text for the model when rejected (joins the execution feedback), else `None`.
    pub feedback: Option<String>,
}

impl ReviewDecision {
    /// Whether the answer was accepted (cleanly or forced): the trace stops with `submitted`.
    pub fn accepted(&self) -> bool {
        self.review.status != SubmissionReviewStatus::Rejected
    }
}

#[derive(Debug, Clone)]
struct CapturedHook {
    turn_index: usize,
    hook_index: usize,
    hook: Hook,
}

/// Review state of one trace (SPEC 3.7): the executed set and captured hooks since the last
/// reset, and the rejection counters.
///
/// Call [`record_cell`](Self::record_cell) for every executed cell (failed ones too), then
/// [`review`](Self::review) when the cell submitted an answer. A submission is:
///
/// - **accepted** when the format check passes and the hooks are grounded and enough;
/// - **rejected** when a check fails whose limit is not reached; a rejection with failing hooks
///   clears the executed set and captured hooks, and each failing check counts one rejection;
/// - **force-accepted** when every failing check has already been rejected its limit times.
#[derive(Debug, Clone, Default)]
pub struct SubmissionReviewer {
    limits: ReviewLimits,
    format_rejections: u32,
    hook_rejections: u32,
    executed: ExecutedLines,
    hooks: Vec<CapturedHook>,
}

impl SubmissionReviewer {
    /// A fresh reviewer for one trace.
    pub fn new(limits: ReviewLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Records an executed cell: its lines join the executed set and its structured hooks are
    /// captured (kept even when the cell failed).
    pub fn record_cell(&mut self, turn_index: usize, code: &str, hooks: &[Hook]) {
        self.executed.record_cell(code);
        self.hooks.extend(
            hooks
                .iter()
                .enumerate()
                .map(|(hook_index, hook)| CapturedHook {
                    turn_index,
                    hook_index,
                    hook: hook.clone(),
                }),
        );
    }

    /// Format rejections so far.
    pub fn format_rejections(&self) -> u32 {
        self.format_rejections
    }

    /// Hook rejections so far.
    pub fn hook_rejections(&self) -> u32 {
        self.hook_rejections
    }

    /// Reviews a submitted `answer` of a question with this `output_schema` and `n_steps`,
    /// against everything recorded since the last reset (record the submitting cell first).
    pub fn review(
        &mut self,
        answer: &Value,
        output_schema: Option<&str>,
        n_steps: Option<u64>,
        cfg: &MatchingConfig,
    ) -> ReviewDecision {
        let format_reasons = check_format(answer, output_schema, cfg);
        let captured: Vec<Hook> = self.hooks.iter().map(|c| c.hook.clone()).collect();
        let hook_review = review_hooks(&captured, &self.executed, n_steps);
        let ungrounded: Vec<UngroundedHook> = self
            .hooks
            .iter()
            .filter_map(|c| {
                crate::hooks::ungrounded_reason(&c.hook, &self.executed).map(|reason| {
                    UngroundedHook {
                        turn_index: c.turn_index,
                        hook_index: c.hook_index,
                        reason: reason.to_owned(),
                    }
                })
            })
            .collect();

        let format_fails = !format_reasons.is_empty();
        let hooks_fail = !hook_review.accepted();
        let format_blocks =
            format_fails && self.format_rejections < self.limits.max_format_rejections;
        let hooks_block = hooks_fail && self.hook_rejections < self.limits.max_hook_rejections;
        let mut reasons = format_reasons.clone();
        reasons.extend(hook_review.reasons());

        let status = if !format_fails && !hooks_fail {
            SubmissionReviewStatus::Accepted
        } else if !format_blocks && !hooks_block {
            SubmissionReviewStatus::ForceAccepted
        } else {
            SubmissionReviewStatus::Rejected
        };

        let feedback = (status == SubmissionReviewStatus::Rejected).then(|| {
            let mut parts = Vec::new();
            if format_fails {
                let mut text = String::from(
                    "Submission rejected: the answer does not have the required format.\n",
                );
                for reason in &format_reasons {
                    text.push_str("- ");
                    text.push_str(reason);
                    text.push('\n');
                }
                if let Some(schema) = output_schema.filter(|s| !s.trim().is_empty()) {
                    text.push_str(&format!("Return JSON matching: {}\n", schema.trim()));
                }
                parts.push(text.trim_end().to_owned());
            }
            if let Some(text) = hook_review.feedback() {
                parts.push(text);
            }
            parts.join("\n")
        });

        if status == SubmissionReviewStatus::Rejected {
            if format_blocks {
                self.format_rejections += 1;
            }
            if hooks_block {
                self.hook_rejections += 1;
            }
            if hooks_fail {
                self.executed.clear();
                self.hooks.clear();
            }
        }

        ReviewDecision {
            review: SubmissionReview { status, reasons },
            ungrounded,
            feedback,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg() -> MatchingConfig {
        MatchingConfig::default()
    }

    fn fmt(answer: Value, schema: Option<&str>) -> Vec<String> {
        check_format(&answer, schema, &cfg())
    }

    const MEAN: &str = r#"{"column": "<name>", "mean": 0.0}"#;

    // --- Format check ---

    #[test]
    fn answer_with_schema_keys_passes() {
        assert!(fmt(json!({"mean": 4.6, "column": "charges"}), Some(MEAN)).is_empty());
        assert!(fmt(json!("{\"column\": \"x\", \"mean\": 1}"), Some(MEAN)).is_empty());
    }

    #[test]
    fn missing_and_extra_keys_are_named() {
        let r = fmt(json!({"mean": 4.6, "std": 1.0}), Some(MEAN));
        assert_eq!(
            r,
            [
                r#"the answer's keys do not match the schema {"column", "mean"}: missing "column"; unexpected "std""#
            ]
        );
    }

    #[test]
    fn ignorable_keys_do_not_count_on_either_side() {
        let schema = r#"{"columns_with_outliers": 0, "total_outliers": 0, "z_threshold": 0.0}"#;
        assert!(
            fmt(
                json!({"columns_with_outliers": 1, "total_outliers": 3}),
                Some(schema)
            )
            .is_empty()
        );
        assert!(
            fmt(
                json!({"columns_with_outliers": 1, "total_outliers": 3, "group1": "a"}),
                Some(schema)
            )
            .is_empty()
        );
    }

    #[test]
    fn non_object_answer_to_json_schema_is_rejected() {
        let r = fmt(json!(4.6), Some(MEAN));
        assert_eq!(
            r,
            [r#"the answer must be a JSON object with keys {"column", "mean"}, got a number"#]
        );
    }

    #[test]
    fn any_alternative_form_suffices() {
        let schema = r#"{"distribution": "normal", "mean": 0.0, "std": 0.0} or {"distribution": "non-normal", "median": 0.0, "iqr": 0.0}"#;
        assert!(
            fmt(
                json!({"distribution": "normal", "mean": 1, "std": 2}),
                Some(schema)
            )
            .is_empty()
        );
        assert!(
            fmt(
                json!({"distribution": "non-normal", "median": 1, "iqr": 2}),
                Some(schema)
            )
            .is_empty()
        );
        let r = fmt(json!({"distribution": "normal", "median": 1}), Some(schema));
        assert_eq!(r.len(), 1);
        assert!(r[0].contains("match none of the schema's forms"), "{r:?}");
        assert!(
            r[0].contains(r#"{"distribution", "iqr", "median"}"#),
            "{r:?}"
        );
    }

    #[test]
    fn schema_parsing_recognises_forms_scalars_and_free_text() {
        assert_eq!(OutputSchema::parse("  "), None);
        assert_eq!(
            OutputSchema::parse("scalar:float"),
            Some(OutputSchema::Scalar {
                kind: "float".into()
            })
        );
        assert_eq!(
            OutputSchema::parse("a float rounded to 2 dp"),
            Some(OutputSchema::Free)
        );
        assert_eq!(
            OutputSchema::parse("[\"<name>\"]"),
            Some(OutputSchema::Free)
        );
        // Nested objects are part of their form, not forms of their own.
        let Some(OutputSchema::Keys { forms }) =
            OutputSchema::parse(r#"{"target": "<name>", "group_variances": {"<label>": 0.0}}"#)
        else {
            panic!("expected keys");
        };
        assert_eq!(forms.len(), 1);
        // An unparsable object is skipped whole, with its nested braces.
        let Some(OutputSchema::Keys { forms }) =
            OutputSchema::parse(r#"{'a': {"b": 1}} or {"c": 1}"#)
        else {
            panic!("expected keys");
        };
        assert_eq!(forms, [BTreeSet::from(["c".to_owned()])]);
    }

    #[test]
    fn free_text_schema_checks_nothing() {
        assert!(fmt(json!("yes"), Some("a yes/no verdict")).is_empty());
    }

    #[test]
    fn scalar_schema_takes_scalars_and_one_key_objects() {
        for ok in [
            json!(4.6),
            json!("charges"),
            json!(true),
            json!({"mean": 4.6}),
        ] {
            assert!(fmt(ok.clone(), Some("scalar:float")).is_empty(), "{ok}");
        }
        assert_eq!(
            fmt(
                json!({"column": "charges", "mean": 4.6}),
                Some("scalar:float")
            ),
            ["the schema asks for a single value (`scalar:float`), got an object with 2 keys"]
        );
        assert_eq!(
            fmt(json!([1, 2]), Some("scalar:int")),
            ["the schema asks for a single value (`scalar:int`), got a list"]
        );
    }

    #[test]
    fn bare_verdict_without_schema_is_rejected_asking_for_p_value() {
        for verdict in [
            "Yes",
            "no",
            "No.",
            "The difference is significant",
            "not significant",
            "We reject the null hypothesis",
            "fail to  reject H0",
            "accept",
        ] {
            let r = fmt(json!(verdict), None);
            assert_eq!(r.len(), 1, "{verdict}");
            assert!(
                r[0].contains(r#"{"answer": <your conclusion>, "p_value""#),
                "{r:?}"
            );
        }
        assert!(fmt(json!("We fail to reject H0"), None)[0].contains("(\"fail to reject\")"));
    }

    #[test]
    fn verdict_words_inside_other_words_are_fine() {
        for fine in [
            "Northeast",
            "nobody",
            "accepted",
            "insignificantly",
            "rejected",
            "yesterday",
            "southwest",
        ] {
            assert!(fmt(json!(fine), None).is_empty(), "{fine}");
        }
        assert!(fmt(json!(""), Some("")).is_empty());
    }

    #[test]
    fn verdict_check_applies_only_to_string_answers() {
        assert!(fmt(json!({"answer": "yes", "p_value": 0.01}), None).is_empty());
        assert!(fmt(json!(["yes"]), None).is_empty());
        assert!(fmt(json!(true), None).is_empty());
        assert!(fmt(json!("{\"answer\": \"no\", \"p_value\": 0.3}"), None).is_empty());
    }

    // --- SubmissionReviewer ---

    fn hook(name: &str, code_line: &str) -> Hook {
        Hook {
            variable_name: Some(name.to_owned()),
            code_line: Some(code_line.to_owned()),
            value: json!(1),
            value_hash: None,
            depends_on: vec![],
            description: None,
            ungrounded_reason: None,
        }
    }

    #[test]
    fn grounded_hooks_and_right_format_are_accepted() {
        let mut r = SubmissionReviewer::new(ReviewLimits::default());
        r.record_cell(
            0,
            "a = df['x'].sum()\nb = a / 2",
            &[hook("a", "a = df['x'].sum()")],
        );
        r.record_cell(1, "submit(b)", &[hook("b", "b = a / 2")]);
        let d = r.review(&json!(3.5), Some("scalar:float"), Some(2), &cfg());
        assert_eq!(d.review.status, SubmissionReviewStatus::Accepted);
        assert!(d.review.reasons.is_empty());
        assert!(d.accepted());
        assert_eq!(d.feedback, None);
        assert!(d.ungrounded.is_empty());
    }

    #[test]
    fn ungrounded_hook_rejects_locates_hook_and_resets() {
        let mut r = SubmissionReviewer::new(ReviewLimits::default());
        r.record_cell(0, "a = 1", &[hook("a", "a = 1")]);
        r.record_cell(
            1,
            "b = 2\nsubmit(b)",
            &[hook("z", "b=2"), hook("b", "b = 2")],
        );
        let d = r.review(&json!(2), Some("scalar:int"), None, &cfg());
        assert_eq!(d.review.status, SubmissionReviewStatus::Rejected);
        assert_eq!(
            d.ungrounded,
            [UngroundedHook {
                turn_index: 1,
                hook_index: 0,
                reason: "code_line not found in executed code".into()
            }]
        );
        let text = d.feedback.unwrap();
        assert!(text.contains("hook `z`"), "{text}");
        assert_eq!(r.hook_rejections(), 1);
        // The reset: earlier grounded hooks and lines no longer count.
        r.record_cell(2, "submit(2)", &[]);
        let d = r.review(&json!(2), Some("scalar:int"), None, &cfg());
        assert_eq!(d.review.status, SubmissionReviewStatus::Rejected);
        assert_eq!(
            d.review.reasons,
            ["2 grounded hooks required, 0 recorded: 2 more needed"]
        );
    }

    #[test]
    fn third_hook_failure_is_force_accepted() {
        let mut r = SubmissionReviewer::new(ReviewLimits::default());
        for turn in 0..2 {
            r.record_cell(turn, "submit(1)", &[]);
            let d = r.review(&json!(1), None, Some(1), &cfg());
            assert_eq!(
                d.review.status,
                SubmissionReviewStatus::Rejected,
                "turn {turn}"
            );
        }
        r.record_cell(2, "submit(1)", &[]);
        let d = r.review(&json!(1), None, Some(1), &cfg());
        assert_eq!(d.review.status, SubmissionReviewStatus::ForceAccepted);
        assert!(d.accepted());
        assert_eq!(
            d.review.reasons,
            ["1 grounded hook required, 0 recorded: 1 more needed"]
        );
        assert_eq!(d.feedback, None);
    }

    #[test]
    fn format_rejections_have_their_own_limit() {
        let mut r = SubmissionReviewer::new(ReviewLimits {
            max_format_rejections: 1,
            max_hook_rejections: 2,
        });
        r.record_cell(0, "a = 1\nb = 2", &[hook("a", "a = 1"), hook("b", "b = 2")]);
        let d = r.review(&json!("yes"), None, None, &cfg());
        assert_eq!(d.review.status, SubmissionReviewStatus::Rejected);
        let text = d.feedback.unwrap();
        assert!(text.contains("does not have the required format"), "{text}");
        assert!(text.contains("p_value"), "{text}");
        assert_eq!(r.format_rejections(), 1);
        // A format-only rejection keeps the grounded hooks.
        let d = r.review(&json!("no"), None, None, &cfg());
        assert_eq!(d.review.status, SubmissionReviewStatus::ForceAccepted);
    }

    #[test]
    fn both_checks_failing_count_both_and_report_both() {
        let mut r = SubmissionReviewer::new(ReviewLimits::default());
        r.record_cell(0, "submit(4.6)", &[]);
        let d = r.review(&json!(4.6), Some(MEAN), Some(1), &cfg());
        assert_eq!(d.review.status, SubmissionReviewStatus::Rejected);
        assert_eq!(d.review.reasons.len(), 2);
        let text = d.feedback.unwrap();
        assert!(text.contains("Return JSON matching: {\"column\""), "{text}");
        assert!(text.contains("hook(value, code_line"), "{text}");
        assert_eq!((r.format_rejections(), r.hook_rejections()), (1, 1));
    }

    #[test]
    fn check_past_its_limit_does_not_block_a_rejection_of_the_other() {
        let mut r = SubmissionReviewer::new(ReviewLimits {
            max_format_rejections: 0,
            max_hook_rejections: 2,
        });
        r.record_cell(0, "submit(1)", &[]);
        let d = r.review(&json!("yes"), None, Some(1), &cfg());
        // Format is past its limit but the hooks still block.
        assert_eq!(d.review.status, SubmissionReviewStatus::Rejected);
        assert_eq!((r.format_rejections(), r.hook_rejections()), (0, 1));
    }

    #[test]
    fn review_limits_default_to_two() {
        let limits: ReviewLimits = serde_json::from_value(json!({})).unwrap();
        assert_eq!(limits, ReviewLimits::default());
        assert_eq!(limits.max_format_rejections, 2);
        assert_eq!(limits.max_hook_rejections, 2);
    }
}
