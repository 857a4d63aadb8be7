//! Episodes: one teacher trace per question, turn by turn. This module holds the per-turn rules
//! the agent loop applies: reply validity and code extraction ([`extract_code`], SPEC 3.4),
//! submission review ([`check_format`], [`SubmissionReviewer`], SPEC 3.7) and corrections
//! ([`corrections`], SPEC 3.8).

mod agent;
mod context;
mod correction;
mod prompt;
mod reply;
mod review;
mod runner;

pub use agent::{
    ChatClient, CodeRunner, LoopConfig, TraceTask, execution_record, feedback, run_trace,
};
pub use context::{ContextLimits, context_window, estimate_tokens};
pub use correction::{
    CRASH_ERROR_TYPE, CellResult, MAX_ERROR_MESSAGE_CHARS, TIMEOUT_ERROR_TYPE, code_diff,
    corrections,
};
pub use prompt::{PromptInputs, TraceMode, first_user_message, system_prompt};
pub use reply::{Extracted, FormatError, MIN_REASONING_CHARS, extract_code, format_feedback};
pub use review::{
    OutputSchema, ReviewDecision, ReviewLimits, SubmissionReviewer, UngroundedHook, VERDICT_WORDS,
    check_format,
};
pub use runner::{
    DatasetFacts, EpisodeSettings, QuestionOutcome, process_question, project, resolve_prompt,
};
