//! Hook grounding against the executed code (SPEC 3.7 "Hook grounding").

use std::collections::BTreeSet;

use crate::schema::Hook;

/// `ungrounded_reason` of a hook whose `code_line` is null, empty or only whitespace.
pub const MISSING_CODE_LINE: &str = "missing code_line";

/// `ungrounded_reason` of a hook with a line that did not run.
pub const CODE_LINE_NOT_FOUND: &str = "code_line not found in executed code";

/// One line in grounding form: every whitespace run collapsed to one space, then trimmed.
///
/// Only whitespace runs collapse: `x  =   1` becomes `x = 1`, but `x=1` stays `x=1`.
pub fn normalize_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The executed set: every line of every cell run since the last grounding reset, in
/// [`normalize_line`] form, empty lines dropped.
///
/// Record each executed cell (failed ones too) with [`ExecutedLines::record_cell`]; clear it
/// when a submission is rejected for its hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutedLines {
    lines: BTreeSet<String>,
}

impl ExecutedLines {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every non-empty line of one executed cell (`\n` or `\r\n` separated).
    pub fn record_cell(&mut self, code: &str) {
        self.lines.extend(
            code.split('\n')
                .map(normalize_line)
                .filter(|line| !line.is_empty()),
        );
    }

    /// Whether `line`, normalised, was executed.
    pub fn contains(&self, line: &str) -> bool {
        self.lines.contains(&normalize_line(line))
    }

    /// Number of distinct executed lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no line was executed since the last reset.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Forgets every executed line (the grounding reset).
    pub fn clear(&mut self) {
        self.lines.clear();
    }
}

impl<'a> FromIterator<&'a str> for ExecutedLines {
    /// The executed set of these cells.
    fn from_iter<I: IntoIterator<Item = &'a str>>(cells: I) -> Self {
        let mut set = Self::new();
        for cell in cells {
            set.record_cell(cell);
        }
        set
    }
}

/// Why `hook` is ungrounded, or `None` if it is grounded.
///
/// Its `code_line` is split on `\n` and normalised like the executed set (empty lines dropped).
/// No line left gives [`MISSING_CODE_LINE`]; any line not in `executed` gives
/// [`CODE_LINE_NOT_FOUND`]. So a multi-line `code_line` needs every line executed (in any cells).
pub fn ungrounded_reason(hook: &Hook, executed: &ExecutedLines) -> Option<&'static str> {
    let lines: Vec<String> = hook
        .code_line
        .as_deref()
        .unwrap_or_default()
        .split('\n')
        .map(normalize_line)
        .filter(|line| !line.is_empty())
        .collect();
    if lines.is_empty() {
        return Some(MISSING_CODE_LINE);
    }
    if lines.iter().all(|line| executed.lines.contains(line)) {
        None
    } else {
        Some(CODE_LINE_NOT_FOUND)
    }
}

/// Hooks split by [`ground`], each in its original order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grounding {
    /// Grounded hooks, `ungrounded_reason` null.
    pub grounded: Vec<Hook>,
    /// Ungrounded hooks, `ungrounded_reason` set to [`MISSING_CODE_LINE`] or
    /// [`CODE_LINE_NOT_FOUND`].
    pub ungrounded: Vec<Hook>,
}

/// Grounds `hooks` against `executed` (SPEC 3.7): copies each hook into `grounded` (reason
/// cleared) or `ungrounded` (reason set). No hooks give two empty lists.
pub fn ground(hooks: &[Hook], executed: &ExecutedLines) -> Grounding {
    let mut out = Grounding::default();
    for hook in hooks {
        let mut hook = hook.clone();
        hook.ungrounded_reason = ungrounded_reason(&hook, executed).map(str::to_owned);
        if hook.ungrounded_reason.is_some() {
            out.ungrounded.push(hook);
        } else {
            out.grounded.push(hook);
        }
    }
    out
}

/// The number of grounded hooks a submission needs: `n_steps` if it is at least 1, else 2.
/// The tutor prompt states the same number.
pub fn required_hooks(n_steps: Option<u64>) -> u64 {
    match n_steps {
        Some(n) if n >= 1 => n,
        _ => 2,
    }
}

/// The hook half of a submission review: the grounding and the required count.
#[derive(Debug, Clone, PartialEq)]
pub struct HookReview {
    /// The reviewed hooks, split.
    pub grounding: Grounding,
    /// [`required_hooks`] of the question.
    pub required: u64,
}

/// Grounds the hooks captured since the last reset and compares with the required count.
pub fn review_hooks(hooks: &[Hook], executed: &ExecutedLines, n_steps: Option<u64>) -> HookReview {
    HookReview {
        grounding: ground(hooks, executed),
        required: required_hooks(n_steps),
    }
}

impl HookReview {
    /// Accept iff no hook is ungrounded and at least `required` are grounded.
    pub fn accepted(&self) -> bool {
        self.grounding.ungrounded.is_empty() && self.shortfall() == 0
    }

    /// How many more grounded hooks are needed (0 when enough).
    pub fn shortfall(&self) -> u64 {
        self.required
            .saturating_sub(self.grounding.grounded.len() as u64)
    }

    /// One line per problem, for `submission.reasons`: each ungrounded hook with its reason and
    /// code line, then the shortfall. Empty when accepted.
    pub fn reasons(&self) -> Vec<String> {
        let mut reasons: Vec<String> = self
            .grounding
            .ungrounded
            .iter()
            .enumerate()
            .map(|(i, hook)| {
                let name = hook
                    .variable_name
                    .as_deref()
                    .map_or_else(|| format!("#{}", i + 1), |n| format!("`{n}`"));
                let reason = hook.ungrounded_reason.as_deref().unwrap_or_default();
                match hook.code_line.as_deref().map(str::trim) {
                    Some(line) if !line.is_empty() => {
                        format!("hook {name}: {reason}: `{line}`")
                    }
                    _ => format!("hook {name}: {reason}"),
                }
            })
            .collect();
        let shortfall = self.shortfall();
        if shortfall > 0 {
            reasons.push(format!(
                "{} grounded hook{} required, {} recorded: {} more needed",
                self.required,
                if self.required == 1 { "" } else { "s" },
                self.grounding.grounded.len(),
                shortfall
            ));
        }
        reasons
    }

    /// The review text for the model after a hook rejection: the offending hooks, the
    /// shortfall, the pattern, and the reset. `None` when accepted.
    pub fn feedback(&self) -> Option<String> {
        if self.accepted() {
            return None;
        }
        let mut text = String::from("Submission rejected: the hooks do not show your work.\n");
        for reason in self.reasons() {
            text.push_str("- ");
            text.push_str(&reason);
            text.push('\n');
        }
        text.push_str(&format!(
            "Record at least {} intermediate result{} with hook(value, code_line, name=..., \
             depends_on=[...]), where code_line is copied exactly from a line of code that ran. \
             The recorded hooks and executed code were reset: re-run your steps with their hooks, \
             then call submit() again.",
            self.required,
            if self.required == 1 { "" } else { "s" }
        ));
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook(name: &str, code_line: Option<&str>) -> Hook {
        Hook {
            variable_name: Some(name.to_owned()),
            code_line: code_line.map(str::to_owned),
            value: json!(1),
            value_hash: None,
            depends_on: vec![],
            description: None,
            ungrounded_reason: None,
        }
    }

    fn grounded(code_line: &str, cells: &[&str]) -> bool {
        let executed: ExecutedLines = cells.iter().copied().collect();
        ungrounded_reason(&hook("h", Some(code_line)), &executed).is_none()
    }

    // --- SPEC 3.7 grounding table, row by row ---

    #[test]
    fn identical_line_is_grounded() {
        assert!(grounded("x = 1", &["x = 1"]));
    }

    #[test]
    fn prefix_of_a_longer_line_is_not_grounded() {
        assert!(!grounded("x = 1", &["x = 10"]));
    }

    #[test]
    fn expression_inside_a_line_is_not_grounded() {
        assert!(!grounded("df['col']", &["result = df['col'].mean()"]));
    }

    #[test]
    fn whitespace_runs_collapse() {
        assert!(grounded("x  =   1", &["x = 1"]));
        assert!(grounded("x = 1", &["    x\t=  1   "]));
    }

    #[test]
    fn missing_spaces_are_not_whitespace_runs() {
        assert!(!grounded("x=1", &["x = 1"]));
        assert!(!grounded("x = 1", &["x=1"]));
    }

    #[test]
    fn multi_line_code_line_needs_every_line() {
        assert!(grounded(
            "a = 1\nb = a + 1",
            &["a = 1", "print(a)\nb = a + 1"]
        ));
        assert!(!grounded("a = 1\nb = a + 1", &["a = 1"]));
        assert!(grounded(
            "a = 1\n\n  b = a + 1  \r\n",
            &["a = 1\r\nb = a + 1"]
        ));
    }

    #[test]
    fn empty_or_missing_code_line_is_missing_code_line() {
        let executed: ExecutedLines = ["x = 1"].into_iter().collect();
        for line in [None, Some(""), Some("   \n\t")] {
            assert_eq!(
                ungrounded_reason(&hook("h", line), &executed),
                Some(MISSING_CODE_LINE)
            );
        }
        assert_eq!(
            ungrounded_reason(&hook("h", Some("y = 2")), &executed),
            Some(CODE_LINE_NOT_FOUND)
        );
    }

    #[test]
    fn no_hooks_and_no_cells_ground_to_nothing() {
        let g = ground(&[], &ExecutedLines::new());
        assert!(g.grounded.is_empty() && g.ungrounded.is_empty());
    }

    // --- ground() and the review ---

    #[test]
    fn ground_sets_reasons_and_keeps_order() {
        let executed: ExecutedLines = ["a = 1\nb = 2"].into_iter().collect();
        let mut stale = hook("c", Some("b = 2"));
        stale.ungrounded_reason = Some("old".into());
        let hooks = [
            hook("a", Some("a = 1")),
            hook("x", Some("x = 9")),
            stale,
            hook("y", None),
        ];
        let g = ground(&hooks, &executed);
        let names = |v: &[Hook]| -> Vec<String> {
            v.iter().map(|h| h.variable_name.clone().unwrap()).collect()
        };
        assert_eq!(names(&g.grounded), ["a", "c"]);
        assert_eq!(names(&g.ungrounded), ["x", "y"]);
        assert!(g.grounded.iter().all(|h| h.ungrounded_reason.is_none()));
        assert_eq!(
            g.ungrounded[0].ungrounded_reason.as_deref(),
            Some(CODE_LINE_NOT_FOUND)
        );
        assert_eq!(
            g.ungrounded[1].ungrounded_reason.as_deref(),
            Some(MISSING_CODE_LINE)
        );
    }

    #[test]
    fn required_hooks_is_n_steps_or_two() {
        assert_eq!(required_hooks(Some(5)), 5);
        assert_eq!(required_hooks(Some(1)), 1);
        assert_eq!(required_hooks(Some(0)), 2);
        assert_eq!(required_hooks(None), 2);
    }

    #[test]
    fn review_accepts_enough_grounded_hooks_only() {
        let executed: ExecutedLines = ["a = 1\nb = 2\nc = 3"].into_iter().collect();
        let two = [hook("a", Some("a = 1")), hook("b", Some("b = 2"))];
        assert!(review_hooks(&two, &executed, Some(2)).accepted());
        let short = review_hooks(&two, &executed, Some(3));
        assert!(!short.accepted());
        assert_eq!(short.shortfall(), 1);
        assert_eq!(
            short.reasons(),
            ["3 grounded hooks required, 2 recorded: 1 more needed"]
        );
    }

    #[test]
    fn one_ungrounded_hook_rejects_even_with_enough_grounded() {
        let executed: ExecutedLines = ["a = 1\nb = 2"].into_iter().collect();
        let hooks = [
            hook("a", Some("a = 1")),
            hook("b", Some("b = 2")),
            hook("m", Some("m = df['age'].mean()")),
        ];
        let review = review_hooks(&hooks, &executed, None);
        assert!(!review.accepted());
        assert_eq!(review.shortfall(), 0);
        assert_eq!(
            review.reasons(),
            ["hook `m`: code_line not found in executed code: `m = df['age'].mean()`"]
        );
    }

    #[test]
    fn rejection_feedback_lists_hooks_shortfall_and_pattern() {
        let executed = ExecutedLines::new();
        let review = review_hooks(&[hook("m", None)], &executed, Some(3));
        let text = review.feedback().unwrap();
        assert!(text.contains("hook `m`: missing code_line"), "{text}");
        assert!(
            text.contains("3 grounded hooks required, 0 recorded: 3 more needed"),
            "{text}"
        );
        assert!(
            text.contains("hook(value, code_line, name=..., depends_on=[...])"),
            "{text}"
        );
        assert!(text.contains("reset"), "{text}");
        let ok = review_hooks(&[], &executed, Some(0));
        assert!(ok.feedback().is_some());
    }

    #[test]
    fn executed_set_clears() {
        let mut executed = ExecutedLines::new();
        executed.record_cell("x = 1\n\n   \ny = 2");
        assert_eq!(executed.len(), 2);
        assert!(executed.contains("  x =  1"));
        executed.clear();
        assert!(executed.is_empty());
        assert!(!executed.contains("x = 1"));
    }
}
