//! The teacher's prompts (SPEC 3.2): the tutor (gold, hinted) system prompt, the consistency
//! (un-hinted) system prompt and the first user message. csvagent's own wording.

/// What a system prompt is built from.
#[derive(Debug, Clone, Default)]
pub struct PromptInputs<'a> {
    /// The resolved question text.
    pub question: &'a str,
    /// The hint (tutor mode only; ignored in consistency mode). Empty means none.
    pub hint: &'a str,
    /// The dataset description from `meta.json`.
    pub description: &'a str,
    /// The data overview rendered in the sandbox (SPEC 4.4).
    pub overview: &'a str,
    /// The answer format, e.g. `scalar:float` or a JSON example; `None` when unknown.
    pub output_schema: Option<&'a str>,
    /// Hooks the submission needs (SPEC 3.7: `n_steps` if at least 1, else 2).
    pub required_hooks: u64,
}

/// Whether a trace is the hinted gold trace or an independent consistency trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceMode {
    /// Tutor mode: sees the hint, writes an exemplary solution.
    Tutor,
    /// Consistency mode: no hint; an independent solution used for triangulation.
    Consistency,
}

const WORKED_EXAMPLE: &str = r#"Example on an invented table `orders` (columns `region`, `amount`), question "Which region has the highest mean amount?":

Turn 1 reasoning: I first compute the mean amount per region and record it.
```python
means = df.groupby('region')['amount'].mean()
hook(means, "means = df.groupby('region')['amount'].mean()", name='means')
print(means.sort_values(ascending=False).head())
```
Turn 2 reasoning: The largest mean belongs to one region; I record it and submit it.
```python
best = means.idxmax()
hook(best, "best = means.idxmax()", name='best', depends_on=['means'])
submit({"region": best, "mean": round(float(means.max()), 2)})
```"#;

/// The system prompt for `mode`. The tutor prompt contains `hook(`, `submit(`, the question and
/// the hint; the consistency prompt contains the question and never the hint.
pub fn system_prompt(mode: TraceMode, p: &PromptInputs<'_>) -> String {
    let n = p.required_hooks;
    let mut s = String::new();
    s.push_str(&format!(
        "HOOKS REQUIRED: your final submission is accepted only after at least {n} grounded hook(s).\n\
         Record each intermediate result with\n    hook(value, code_line, name='...', depends_on=['...'])\n\
         where `code_line` is copied exactly from a line of code that actually ran (in this or an earlier cell).\n\n"
    ));
    match mode {
        TraceMode::Tutor => s.push_str(
            "ROLE: You are a teacher writing an exemplary, step-by-step solution to a data-analysis question about a \
             pandas DataFrame. Students will learn from every step you take.\n\n",
        ),
        TraceMode::Consistency => s.push_str(
            "ROLE: You are a methodical data analyst answering a question about a pandas DataFrame independently and \
             carefully.\n\n",
        ),
    }
    s.push_str("DATASET\n");
    if !p.description.trim().is_empty() {
        s.push_str(p.description.trim());
        s.push_str("\n\n");
    }
    s.push_str("The data is already loaded as `df` (pandas); `pd`, `np`, `scipy`, `stats` (scipy.stats), `sm` \
                (statsmodels.api), `sklearn` and `json` are imported. Do not read files and do not import other modules.\n\n");
    if !p.overview.trim().is_empty() {
        s.push_str("DATA OVERVIEW\n");
        s.push_str(p.overview.trim());
        s.push_str("\n\n");
    }
    s.push_str(&format!("QUESTION\n{}\n\n", p.question.trim()));
    match mode {
        TraceMode::Tutor => {
            let hint = if p.hint.trim().is_empty() {
                "(no hint for this question)"
            } else {
                p.hint.trim()
            };
            s.push_str(&format!("HINT\n{hint}\n\n"));
        }
        TraceMode::Consistency => {
            s.push_str("No hint is given: work the answer out from the data.\n\n")
        }
    }
    s.push_str(
        "APPROACH\n- Decompose the question into small steps, one step per code cell.\n\
         - After each step, hook() the intermediate value it produced.\n\
         - Check your result before submitting (look at the printed output).\n\n",
    );
    s.push_str(WORKED_EXAMPLE);
    s.push_str("\n\n");
    s.push_str(
        "TURN STRUCTURE\nEach reply: 2-4 sentences of reasoning, then exactly one ```python code block, then stop and \
         wait for the output. Never invent output.\n\n",
    );
    s.push_str("OUTPUT FORMAT\nCall submit(value) exactly once, in the cell that produces the final answer.");
    if let Some(schema) = p.output_schema.filter(|s| !s.trim().is_empty()) {
        s.push_str(&format!(" Return JSON matching: {schema}"));
    }
    s.push_str("\nFor a statistical test, submit a dict that includes the `p_value`.\n");
    s
}

/// The first user message: `Begin.` plus the question.
pub fn first_user_message(question: &str) -> String {
    format!("Begin. {}", question.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> PromptInputs<'static> {
        PromptInputs {
            question: "What is the mean of `charges`?",
            hint: "Use the charges column.",
            description: "Medical costs",
            overview: "=== SHAPE ===\n(1338, 7)",
            output_schema: Some("scalar:float"),
            required_hooks: 3,
        }
    }

    #[test]
    fn tutor_prompt_has_hooks_submit_question_and_hint() {
        let s = system_prompt(TraceMode::Tutor, &inputs());
        for needle in [
            "hook(",
            "submit(",
            "What is the mean of `charges`?",
            "Use the charges column.",
            "at least 3 grounded",
            "Return JSON matching: scalar:float",
        ] {
            assert!(s.contains(needle), "missing {needle}");
        }
    }

    #[test]
    fn consistency_prompt_has_the_question_but_never_the_hint() {
        let s = system_prompt(TraceMode::Consistency, &inputs());
        assert!(s.contains("What is the mean of `charges`?"));
        assert!(!s.contains("Use the charges column."));
        assert!(s.contains("No hint is given"));
    }

    #[test]
    fn first_message_begins_with_begin() {
        assert_eq!(first_user_message(" Q? "), "Begin. Q?");
    }
}
