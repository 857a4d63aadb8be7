//! Teacher LLMs: an OpenAI-compatible endpoint client and an embedded local GGUF model.

/// Errors from a teacher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TeacherError {
    /// The server answered with an error status.
    #[error("teacher request failed with HTTP {status}: {message}")]
    Http {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}
