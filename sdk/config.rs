//! Run configuration shared by the CLI and the desktop app.

use serde::{Deserialize, Serialize};

use crate::schema::Source;

/// What a run or generate command works on: one source, or `all` of them in processing order.
/// `all` is a mode, never a source. There is no other mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Template questions.
    Template,
    /// Procedural questions.
    Procedural,
    /// LLM-written questions.
    LlmGen,
    /// template -> procedural -> llm_gen.
    All,
}

impl Mode {
    /// The sources this mode selects, in processing order.
    pub fn sources(self) -> Vec<Source> {
        match self {
            Mode::Template => vec![Source::Template],
            Mode::Procedural => vec![Source::Procedural],
            Mode::LlmGen => vec![Source::LlmGen],
            Mode::All => Source::ALL.to_vec(),
        }
    }
}
