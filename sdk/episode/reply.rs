//! Code extraction and reply validity (SPEC 3.4).
//!
//! A teacher reply is valid iff it holds exactly one non-empty ```` ```python ```` block and at
//! least [`MIN_REASONING_CHARS`] non-whitespace characters of text before it. The same
//! extraction feeds execution and the recorded turn.

/// Minimum non-whitespace characters of reasoning before the code block.
pub const MIN_REASONING_CHARS: usize = 10;

/// The parts of a valid reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The text before the block, trimmed (the turn's `reasoning`).
    pub reasoning: String,
    /// The block's code after cleanup (the turn's `code`, exactly what runs).
    pub code: String,
}

/// Why a reply is not a valid turn. The loop answers with [`format_feedback`] and counts a
/// format retry; no turn is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// No non-empty python block (also for empty or null content).
    #[error("no ```python code block")]
    NoBlock,
    /// More than one non-empty python block; holds how many.
    #[error("{0} ```python code blocks where exactly one is allowed")]
    MultipleBlocks(usize),
    /// Fewer than [`MIN_REASONING_CHARS`] non-whitespace characters before the block.
    #[error("no reasoning before the code block")]
    MissingReasoning,
}

/// Extracts the reasoning and code of a teacher reply (SPEC 3.4).
///
/// - **Fences.** A block opens with three backticks, optional spaces, `python` or `py` (any
///   case) and a newline. It closes at the next line that starts with three backticks (leading
///   spaces or tabs allowed, for fences indented inside a list), or at the end of the text.
///   Other fences (```` ```json ````, a bare ```` ``` ````) are not blocks.
/// - **Cleanup.** CRLF becomes LF, the block is dedented (common leading whitespace removed,
///   whitespace-only lines emptied) and trailing blank lines are dropped. Blocks left empty are
///   ignored.
/// - **Validity.** Exactly one non-empty block, and at least [`MIN_REASONING_CHARS`]
///   non-whitespace characters before its opening fence.
///
/// # Errors
/// [`FormatError::NoBlock`], [`FormatError::MultipleBlocks`] or
/// [`FormatError::MissingReasoning`], checked in that order.
///
/// # Examples
/// ```
/// use csvagent_sdk::episode::extract_code;
/// let reply = "First I load the ages and average them.\n```python\n  m = df['Age'].mean()\n  print(m)\n\n```\nDone.";
/// let turn = extract_code(reply).unwrap();
/// assert_eq!(turn.reasoning, "First I load the ages and average them.");
/// assert_eq!(turn.code, "m = df['Age'].mean()\nprint(m)");
/// ```
pub fn extract_code(reply: &str) -> Result<Extracted, FormatError> {
    let text = reply.replace("\r\n", "\n");
    let mut blocks: Vec<(usize, String)> = Vec::new();
    let mut pos = 0;
    while let Some((fence_start, content_start)) = find_opener(&text, pos) {
        let (content_end, next) = find_closer(&text, content_start);
        let code = cleanup(&text[content_start..content_end]);
        if !code.trim().is_empty() {
            blocks.push((fence_start, code));
        }
        pos = next;
    }
    let (fence_start, code) = match blocks.len() {
        0 => return Err(FormatError::NoBlock),
        1 => blocks.swap_remove(0),
        n => return Err(FormatError::MultipleBlocks(n)),
    };
    let before = &text[..fence_start];
    if before.chars().filter(|c| !c.is_whitespace()).count() < MIN_REASONING_CHARS {
        return Err(FormatError::MissingReasoning);
    }
    Ok(Extracted {
        reasoning: before.trim().to_owned(),
        code,
    })
}

/// The user message answering an invalid reply: names the failed rule and restates the
/// expected structure.
pub fn format_feedback(error: &FormatError) -> String {
    let problem = match error {
        FormatError::NoBlock => "your reply has no ```python code block".to_owned(),
        FormatError::MultipleBlocks(n) => {
            format!("your reply has {n} ```python code blocks, but exactly one is allowed per turn")
        }
        FormatError::MissingReasoning => format!(
            "your reply has no reasoning before the code block (write at least \
             {MIN_REASONING_CHARS} characters explaining the step first)"
        ),
    };
    format!(
        "Format error: {problem}. Nothing was executed.\nReply with 2-4 sentences of reasoning, \
         then exactly one ```python block with the code for this step, then stop."
    )
}

/// The next opening fence at or after `from`: (fence start, first byte of the block content).
fn find_opener(text: &str, from: usize) -> Option<(usize, usize)> {
    let mut search = from;
    while let Some(offset) = text[search..].find("```") {
        let start = search + offset;
        let rest = text[start + 3..].trim_start_matches(' ');
        let after_lang = strip_prefix_ignore_case(rest, "python")
            .or_else(|| strip_prefix_ignore_case(rest, "py"));
        if let Some(after) = after_lang.and_then(|a| a.strip_prefix('\n')) {
            return Some((start, text.len() - after.len()));
        }
        search = start + 1;
    }
    None
}

/// The end of the block content starting at `start` and where scanning resumes: the start of
/// the next line beginning with three backticks (after optional spaces/tabs) and the byte after
/// that line, or the end of the text twice.
fn find_closer(text: &str, start: usize) -> (usize, usize) {
    let mut line_start = start;
    while line_start < text.len() {
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        if text[line_start..line_end]
            .trim_start_matches([' ', '\t'])
            .starts_with("```")
        {
            return (line_start, (line_end + 1).min(text.len()));
        }
        line_start = line_end + 1;
    }
    (text.len(), text.len())
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Dedent (like Python's `textwrap.dedent`) and drop trailing blank lines.
fn cleanup(block: &str) -> String {
    let lines: Vec<&str> = block.split('\n').collect();
    let indent = |line: &str| -> usize { line.len() - line.trim_start_matches([' ', '\t']).len() };
    let mut margin: Option<&str> = None;
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let lead = &line[..indent(line)];
        margin = Some(match margin {
            None => lead,
            Some(m) => common_prefix(m, lead),
        });
    }
    let margin = margin.unwrap_or("");
    let mut out: Vec<&str> = lines
        .iter()
        .map(|line| {
            if line.trim().is_empty() {
                ""
            } else {
                &line[margin.len()..]
            }
        })
        .collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    &a[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHY: &str = "I will compute the mean age now.";

    fn ok(reply: &str) -> Extracted {
        extract_code(reply).unwrap_or_else(|e| panic!("{e}: {reply:?}"))
    }

    #[test]
    fn reasoning_and_single_block_are_extracted() {
        let e = ok(&format!("{WHY}\n```python\nm = df['Age'].mean()\n```\n"));
        assert_eq!(e.reasoning, WHY);
        assert_eq!(e.code, "m = df['Age'].mean()");
    }

    #[test]
    fn py_and_any_case_and_spaces_open_a_block() {
        for fence in ["```py\n", "```PYTHON\n", "```   Python\n", "``` py\n"] {
            let e = ok(&format!("{WHY}\n{fence}x = 1\n```"));
            assert_eq!(e.code, "x = 1", "{fence:?}");
        }
    }

    #[test]
    fn other_fences_are_not_blocks() {
        for fence in [
            "```\n",
            "```json\n",
            "```python3\n",
            "```pyth\n",
            "```python x\n",
        ] {
            assert_eq!(
                extract_code(&format!("{WHY}\n{fence}x = 1\n```")),
                Err(FormatError::NoBlock),
                "{fence:?}"
            );
        }
    }

    #[test]
    fn unclosed_block_runs_to_end_of_text() {
        let e = ok(&format!("{WHY}\n```python\nx = 1\ny = 2\n"));
        assert_eq!(e.code, "x = 1\ny = 2");
    }

    #[test]
    fn block_closes_at_first_line_starting_with_backticks() {
        let e = ok(&format!(
            "{WHY}\n```python\ns = '``` inline is fine'\n```text after the fence\nprint(1)\n"
        ));
        assert_eq!(e.code, "s = '``` inline is fine'");
    }

    #[test]
    fn indented_closing_fence_closes_the_block() {
        let e = ok(&format!(
            "{WHY}\n1. Step one:\n   ```python\n   x = 1\n   ```\n"
        ));
        assert_eq!(e.code, "x = 1");
    }

    #[test]
    fn crlf_becomes_lf() {
        let e = ok("I will compute the mean age now.\r\n```python\r\nx = 1\r\ny = 2\r\n```\r\n");
        assert_eq!(e.code, "x = 1\ny = 2");
        assert_eq!(e.reasoning, WHY);
    }

    #[test]
    fn code_is_dedented_keeping_relative_indent() {
        let e = ok(&format!(
            "{WHY}\n```python\n    for c in cols:\n        print(c)\n  \n    done = True\n```"
        ));
        assert_eq!(e.code, "for c in cols:\n    print(c)\n\ndone = True");
    }

    #[test]
    fn mixed_tab_and_space_indent_dedents_only_the_common_prefix() {
        let e = ok(&format!("{WHY}\n```python\n\tx = 1\n    y = 2\n```"));
        assert_eq!(e.code, "\tx = 1\n    y = 2");
    }

    #[test]
    fn trailing_blank_lines_are_dropped_leading_kept() {
        let e = ok(&format!("{WHY}\n```python\n\nx = 1\n\n   \n\n```"));
        assert_eq!(e.code, "\nx = 1");
    }

    #[test]
    fn empty_blocks_are_ignored() {
        let e = ok(&format!(
            "{WHY}\n```python\n\n   \n```\n```python\nx = 1\n```"
        ));
        assert_eq!(e.code, "x = 1");
        assert_eq!(
            extract_code(&format!("{WHY}\n```python\n   \n```")),
            Err(FormatError::NoBlock)
        );
    }

    #[test]
    fn no_block_is_rejected() {
        assert_eq!(extract_code("The answer is 42."), Err(FormatError::NoBlock));
        assert_eq!(extract_code(""), Err(FormatError::NoBlock));
    }

    #[test]
    fn two_blocks_are_rejected_with_their_count() {
        let reply =
            format!("{WHY}\n```python\nx = 1\n```\nand\n```py\ny = 2\n```\n```python\nz\n```");
        assert_eq!(extract_code(&reply), Err(FormatError::MultipleBlocks(3)));
    }

    #[test]
    fn fewer_than_ten_reasoning_chars_is_missing_reasoning() {
        assert_eq!(
            extract_code("Do it:\n```python\nx = 1\n```"),
            Err(FormatError::MissingReasoning)
        );
        // Exactly 10 non-whitespace characters suffice; whitespace does not count.
        assert!(extract_code("a b c d e f g h i j\n```python\nx = 1\n```").is_ok());
        assert_eq!(
            extract_code("a b c d e f g h i\n \n```python\nx = 1\n```"),
            Err(FormatError::MissingReasoning)
        );
        // Text after the block is not reasoning.
        assert_eq!(
            extract_code("```python\nx = 1\n```\nThis explains the code afterwards."),
            Err(FormatError::MissingReasoning)
        );
    }

    #[test]
    fn block_count_is_checked_before_reasoning() {
        assert_eq!(
            extract_code("```python\nx = 1\n```\n```python\ny = 1\n```"),
            Err(FormatError::MultipleBlocks(2))
        );
    }

    #[test]
    fn feedback_names_the_failed_rule_and_the_structure() {
        let no_block = format_feedback(&FormatError::NoBlock);
        assert!(no_block.contains("no ```python code block"), "{no_block}");
        let many = format_feedback(&FormatError::MultipleBlocks(2));
        assert!(many.contains("2 ```python code blocks"), "{many}");
        let reasoning = format_feedback(&FormatError::MissingReasoning);
        assert!(
            reasoning.contains("no reasoning before the code block"),
            "{reasoning}"
        );
        for text in [no_block, many, reasoning] {
            assert!(text.contains("2-4 sentences of reasoning"), "{text}");
            assert!(text.contains("exactly one ```python block"), "{text}");
        }
    }
}
