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

/// Serde helper: a [`std::time::Duration`] written as seconds (a number; fractions allowed).
pub mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the duration as seconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    /// Reads seconds (a non-negative number).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}
