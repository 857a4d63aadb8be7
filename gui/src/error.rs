//! The one error shape every command returns: a stable code and a readable message.

use csvagent_sdk::ErrorCode;
use serde::Serialize;

/// What a failed command sends to the page: `{"code": "dataset", "message": "..."}`.
///
/// `code` is the SDK's [`ErrorCode`] (snake_case), which the page branches on; `message` is the
/// error's `Display` text (lowercase, names the file, field or value). Never a `Debug` dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    /// The stable error category.
    pub code: ErrorCode,
    /// A readable message for the user.
    pub message: String,
}

impl CommandError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> CommandError {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for CommandError {}

/// Maps any SDK error (or per-module error that converts into it) to a [`CommandError`],
/// keeping its code and its `Display` message.
pub fn sdk(err: impl Into<csvagent_sdk::Error>) -> CommandError {
    let err: csvagent_sdk::Error = err.into();
    CommandError::new(err.code(), err.to_string())
}

/// The result of a command.
pub type CommandResult<T> = Result<T, CommandError>;
