//! The context window sent to the teacher (SPEC 3.9). The trace keeps every message; each
//! request sends the system message, the first user message and the newest (assistant, user)
//! pairs that fit, dropping the oldest pairs first and never splitting a pair.

/// Limits of one request's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContextLimits {
    /// Most messages per request, system and first user message included. By default 20.
    pub max_messages: usize,
    /// Most estimated tokens per request (characters / 4). By default 80,000.
    pub max_tokens: usize,
}

impl Default for ContextLimits {
    fn default() -> Self {
        ContextLimits {
            max_messages: 20,
            max_tokens: 80_000,
        }
    }
}

/// Estimated tokens of a text: characters / 4, rounded up.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// The indices of `contents` (message texts in conversation order: system, first user, then
/// alternating assistant/user) to send, in order. The first two are always sent; after them come
/// the newest complete pairs within the limits. A trailing unpaired message (e.g. a format-error
/// user message after an assistant reply) is kept with its partner: pairs are counted from the
/// end.
pub fn context_window(contents: &[&str], limits: ContextLimits) -> Vec<usize> {
    let head = contents.len().min(2);
    let mut window: Vec<usize> = (0..head).collect();
    let mut tokens: usize = contents[..head].iter().map(|c| estimate_tokens(c)).sum();
    let rest = head..contents.len();
    // Group the tail into pairs from the end: [.., (a, u)].
    let mut pairs: Vec<Vec<usize>> = Vec::new();
    let mut i = rest.end;
    while i > rest.start {
        let start = i.saturating_sub(2).max(rest.start);
        pairs.push((start..i).collect());
        i = start;
    }
    let mut kept: Vec<usize> = Vec::new();
    for pair in pairs {
        let t: usize = pair.iter().map(|&j| estimate_tokens(contents[j])).sum();
        let would_be = window.len() + kept.len() + pair.len();
        // The newest pair is always sent, so the model sees the latest feedback.
        if !kept.is_empty() && (would_be > limits.max_messages || tokens + t > limits.max_tokens) {
            break;
        }
        tokens += t;
        kept.splice(0..0, pair);
    }
    window.extend(kept);
    window
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_conversations_are_sent_whole() {
        let msgs = ["sys", "begin", "a1", "u1"];
        assert_eq!(
            context_window(&msgs, ContextLimits::default()),
            vec![0, 1, 2, 3]
        );
    }

    #[test]
    fn oldest_pairs_drop_first_and_pairs_are_never_split() {
        let msgs: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
        let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
        let w = context_window(
            &refs,
            ContextLimits {
                max_messages: 7,
                max_tokens: 80_000,
            },
        );
        // 2 head + 2 pairs (4) = 6; a third pair would make 8 > 7.
        assert_eq!(w, vec![0, 1, 26, 27, 28, 29]);
    }

    #[test]
    fn the_token_budget_also_prunes() {
        let big = "x".repeat(400); // 100 tokens
        let msgs = ["s", "b", &big, &big, &big, &big];
        let w = context_window(
            &msgs,
            ContextLimits {
                max_messages: 20,
                max_tokens: 250,
            },
        );
        assert_eq!(w, vec![0, 1, 4, 5]);
    }
}
