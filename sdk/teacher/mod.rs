//! Teacher LLMs: an OpenAI-compatible endpoint client and an embedded local GGUF model, behind
//! one agent-facing interface ([`Teacher`]).
//!
//! - [`Teacher`] is what the agent loop and the question writer call: [`Teacher::chat`] sends a
//!   list of [`ChatMessage`]s and returns a [`ChatReply`]. It is a cheap `Clone` handle.
//! - [`TeacherConfig`] says which teacher to build (SPEC 3.1): with a `base_url` the
//!   [`EndpointTeacher`] calls `POST {base_url}/chat/completions`; without one the
//!   [`LocalTeacher`] runs a GGUF chat model in-process (candle), fetching it from the Hugging
//!   Face Hub first when `model` names a Hub file ([`ModelSource`]).
//! - [`scripted::ScriptedServer`] is a deterministic OpenAI-compatible test double: it answers
//!   from a script, injects faults and records every request.
//!
//! The teacher sends exactly the messages it is given; pruning the context window (SPEC 3.9) is
//! the caller's job.
//!
//! ```no_run
//! use csvagent_sdk::events::EventSink;
//! use csvagent_sdk::teacher::{ChatMessage, ChatRequest, Teacher, TeacherConfig};
//!
//! # async fn run() -> Result<(), csvagent_sdk::teacher::TeacherError> {
//! // CSVAGENT_TEACHER_URL / _MODEL / _API_KEY, else the embedded local model.
//! let config = TeacherConfig::from_env();
//! let teacher = Teacher::from_config(&config, &EventSink::discard()).await?;
//! let reply = teacher
//!     .chat(ChatRequest::new(vec![
//!         ChatMessage::system("You are a careful data analyst."),
//!         ChatMessage::user("Begin. How many rows does the table have?"),
//!     ]))
//!     .await?;
//! assert!(reply.attempts >= 1);
//! # Ok(()) }
//! ```

mod chat_template;
mod config;
mod decoder;
mod endpoint;
mod gguf;
mod hub;
mod local;
pub mod scripted;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use config::{ApiKey, DEFAULT_LOCAL_MODEL, ModelSource, TeacherConfig};
pub use endpoint::EndpointTeacher;
pub use local::LocalTeacher;

use crate::error::ErrorCode;
use crate::events::EventSink;
use crate::schema::{ModelInfo, Role};

/// One chat message: a role and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: Role,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with `role` and `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An `assistant` message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
}

/// One chat request. `None` sampling fields use the teacher's configured defaults
/// ([`TeacherConfig`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The conversation, sent exactly as given (`system, user, (assistant, user)*`).
    pub messages: Vec<ChatMessage>,
    /// Sampling temperature; `None` = the configured default (0.7).
    pub temperature: Option<f64>,
    /// Nucleus sampling mass; `None` = the configured default (1.0).
    pub top_p: Option<f64>,
    /// Most tokens to generate; `None` = the configured default (6000 for an endpoint, 1024 for
    /// the embedded model).
    pub max_tokens: Option<u32>,
    /// Stop strings: generation ends before the first one produced (not included in the reply).
    /// Empty = none (the field is then not sent to an endpoint).
    pub stop: Vec<String>,
}

impl ChatRequest {
    /// A request for `messages` with every sampling setting at the teacher's default.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        ChatRequest {
            messages,
            ..ChatRequest::default()
        }
    }

    /// Total characters of all message contents (the basis of `est_tokens`).
    pub fn chars(&self) -> usize {
        self.messages
            .iter()
            .map(|m| m.content.chars().count())
            .sum()
    }
}

/// The teacher's answer to one [`ChatRequest`], with its usage and cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatReply {
    /// `choices[0].message.content`. `None` when the server sent null or no content, or no
    /// choice at all: that is returned, not an error (the agent loop counts it as an
    /// invalid-format reply, SPEC 3.4).
    pub content: Option<String>,
    /// Why generation ended: `stop` (end of turn or a stop string), `length` (`max_tokens`), or
    /// what the server said.
    pub finish_reason: Option<String>,
    /// Prompt tokens (`usage.prompt_tokens`; counted by the tokenizer for the embedded model).
    pub prompt_tokens: Option<u64>,
    /// Generated tokens (`usage.completion_tokens`; counted for the embedded model).
    pub completion_tokens: Option<u64>,
    /// HTTP attempts made (1 without retries; always 1 for the embedded model).
    pub attempts: u32,
    /// Wall time of the whole call in milliseconds, including retries and waiting for a
    /// concurrency slot.
    pub elapsed_ms: u64,
}

/// The agent-facing teacher: an HTTP endpoint or the embedded local model.
///
/// Cheap to clone (an `Arc` inside); clones share the concurrency limit (endpoint) or the
/// loaded model (local). Build one per process with [`Teacher::from_config`] and clone it.
#[derive(Debug, Clone)]
pub enum Teacher {
    /// An OpenAI-compatible Chat Completions endpoint.
    Endpoint(EndpointTeacher),
    /// A GGUF chat model running in-process.
    Local(LocalTeacher),
}

impl Teacher {
    /// Builds the teacher `config` describes (SPEC 3.1): the endpoint client when
    /// `config.base_url` is set; otherwise the embedded model named by `config.model` (a local
    /// `.gguf` path or `owner/repo:file.gguf` on the Hub, by default [`DEFAULT_LOCAL_MODEL`]),
    /// fetching a Hub file into the Hugging Face cache first. Download progress goes to
    /// `events` as [`crate::events::Event::ModelDownload`] and [`crate::events::Event::Log`].
    ///
    /// # Errors
    /// [`TeacherError::Config`] for an invalid setting; for the embedded model
    /// [`TeacherError::ModelNotFound`], [`TeacherError::NotGguf`],
    /// [`TeacherError::UnsupportedArchitecture`], [`TeacherError::ModelLoad`] and
    /// [`TeacherError::HubFetch`] (no internet and the model is not cached).
    ///
    /// Dropping the future cancels a download (the partial file stays as `.incomplete` in the
    /// cache and is resumed or replaced next time).
    pub async fn from_config(
        config: &TeacherConfig,
        events: &EventSink,
    ) -> Result<Teacher, TeacherError> {
        config.validate()?;
        if config.base_url.is_some() {
            return Ok(Teacher::Endpoint(EndpointTeacher::new(config)?));
        }
        let spec = config.model.as_deref().unwrap_or(DEFAULT_LOCAL_MODEL);
        let path = match ModelSource::parse(spec)? {
            ModelSource::Path(path) => path,
            ModelSource::Hub {
                repo,
                file,
                revision,
            } => hub::fetch(&repo, &file, revision.as_deref(), config, events).await?,
        };
        Ok(Teacher::Local(
            LocalTeacher::load(&path, config, events).await?,
        ))
    }

    /// Sends `request` and returns the reply (see [`EndpointTeacher::chat`] and
    /// [`LocalTeacher::chat`]).
    ///
    /// # Errors
    /// Endpoint: [`TeacherError::Http`] (a 4xx other than 429, at once),
    /// [`TeacherError::RetriesExhausted`], [`TeacherError::Timeout`],
    /// [`TeacherError::UnexpectedResponse`]. Local: [`TeacherError::PromptTooLong`],
    /// [`TeacherError::Generation`].
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatReply, TeacherError> {
        match self {
            Teacher::Endpoint(t) => t.chat(request).await,
            Teacher::Local(t) => t.chat(request).await,
        }
    }

    /// The model recorded on traces: `{name, base_url_host ("local" for the embedded model),
    /// temperature, top_p, max_tokens}` with the configured defaults.
    pub fn model_info(&self) -> ModelInfo {
        match self {
            Teacher::Endpoint(t) => t.model_info(),
            Teacher::Local(t) => t.model_info(),
        }
    }
}

/// Errors from a teacher. Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TeacherError {
    /// The server answered with an error status (or a 200 whose body is an `error` object).
    #[error("teacher request failed with HTTP {status}: {message}")]
    Http {
        /// HTTP status (or the `error.code` of a 200 body).
        status: u16,
        /// The server's message: `error.message` of a JSON body, else the start of the body.
        message: String,
    },
    /// The server rate-limited the request (HTTP 429).
    #[error("teacher endpoint rate-limited the request (HTTP 429): {message}")]
    RateLimited {
        /// The `Retry-After` the server asked for, if any (honoured up to 60 s).
        retry_after: Option<Duration>,
        /// The server's message.
        message: String,
    },
    /// Every attempt failed with a retryable error; `last` is the final cause.
    #[error("teacher request failed after {attempts} attempts; the last: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error (in the message, so it is not also a `source`).
        last: Box<TeacherError>,
    },
    /// The request did not complete within the request timeout.
    #[error("teacher request timed out after {} s", timeout.as_secs_f64())]
    Timeout {
        /// The configured request timeout.
        timeout: Duration,
    },
    /// The endpoint could not be reached or the connection broke.
    #[error("cannot reach the teacher endpoint `{host}`")]
    Connection {
        /// Host of the endpoint.
        host: String,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The response body was not valid JSON (for example truncated).
    #[error("teacher response is not valid JSON ({detail}): {body_start}")]
    InvalidJson {
        /// What the parser said.
        detail: String,
        /// The first 200 characters of the body.
        body_start: String,
    },
    /// The response was JSON but had no `choices` list.
    #[error("unexpected API response format: no `choices` in {body_start}")]
    UnexpectedResponse {
        /// The first 200 characters of the body.
        body_start: String,
    },
    /// A teacher setting is invalid.
    #[error("invalid teacher setting `{field}`: {message}")]
    Config {
        /// The setting (`base_url`, `model`, `temperature`, ...).
        field: String,
        /// What is wrong and what is valid.
        message: String,
    },
    /// The embedded model file does not exist.
    #[error(
        "model file `{}` not found; pass `--teacher-model <path.gguf>` (a local GGUF file, or \
         `owner/repo:file.gguf` on the Hugging Face Hub) or `--teacher-url <url>` for an \
         OpenAI-compatible endpoint",
        path.display()
    )]
    ModelNotFound {
        /// The path that was given.
        path: PathBuf,
    },
    /// The file is not a GGUF model.
    #[error("`{}` is not a GGUF model file ({detail})", path.display())]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        detail: String,
    },
    /// The GGUF file holds an architecture the embedded teacher cannot run.
    #[error(
        "`{}` is a `{architecture}` model; the embedded teacher runs `llama` and `qwen2` GGUF models",
        path.display()
    )]
    UnsupportedArchitecture {
        /// The file.
        path: PathBuf,
        /// `general.architecture` from the file.
        architecture: String,
    },
    /// The GGUF file could not be loaded (weights, tokenizer or chat template).
    #[error("cannot load model `{}`: {detail}", path.display())]
    ModelLoad {
        /// The file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// Fetching a model file from the Hugging Face Hub failed.
    #[error(
        "cannot fetch `{file}` from the Hugging Face repository `{repo}`; without internet pass \
         `--teacher-model <path.gguf>` for a local GGUF file, or `--teacher-url <url>` for an \
         OpenAI-compatible endpoint"
    )]
    HubFetch {
        /// `owner/name` of the repository.
        repo: String,
        /// The file in it.
        file: String,
        /// The Hub client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The prompt does not fit the embedded model's context.
    #[error(
        "prompt of {prompt_tokens} tokens does not fit the model context of {context_tokens} tokens"
    )]
    PromptTooLong {
        /// Tokens in the rendered prompt.
        prompt_tokens: usize,
        /// The model's usable context.
        context_tokens: usize,
    },
    /// The embedded model failed while generating.
    #[error("local generation failed: {detail}")]
    Generation {
        /// What failed.
        detail: String,
    },
}

impl TeacherError {
    /// The stable code of this error: `invalid_input` for settings, `not_found` for a missing
    /// model file, `teacher` otherwise.
    pub fn code(&self) -> ErrorCode {
        match self {
            TeacherError::Config { .. } => ErrorCode::InvalidInput,
            TeacherError::ModelNotFound { .. } => ErrorCode::NotFound,
            _ => ErrorCode::Teacher,
        }
    }

    /// Whether the request may succeed if sent again (SPEC 3.1): 5xx (including a 200 body
    /// whose `error.code` >= 500), 429, timeouts, connection and read errors (a truncated or
    /// otherwise unparsable body counts as a read error).
    pub fn is_retryable(&self) -> bool {
        match self {
            TeacherError::Http { status, .. } => *status >= 500,
            TeacherError::RateLimited { .. }
            | TeacherError::Timeout { .. }
            | TeacherError::Connection { .. }
            | TeacherError::InvalidJson { .. } => true,
            _ => false,
        }
    }
}

/// The first `n` characters of `s` (whole characters, never a split code point).
pub(crate) fn truncate_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_are_the_spec_list() {
        let http = |status| TeacherError::Http {
            status,
            message: String::new(),
        };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(404).is_retryable());
        assert!(
            TeacherError::RateLimited {
                retry_after: None,
                message: String::new()
            }
            .is_retryable()
        );
        assert!(
            TeacherError::Timeout {
                timeout: Duration::from_secs(1)
            }
            .is_retryable()
        );
        assert!(
            !TeacherError::UnexpectedResponse {
                body_start: "{}".into()
            }
            .is_retryable()
        );
    }

    #[test]
    fn missing_model_error_says_what_to_do() {
        let msg = TeacherError::ModelNotFound {
            path: PathBuf::from("nope.gguf"),
        }
        .to_string();
        assert!(msg.contains("`nope.gguf`"), "{msg}");
        assert!(msg.contains("--teacher-model <path.gguf>"), "{msg}");
        assert!(msg.contains("--teacher-url"), "{msg}");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 10), "hi");
    }

    #[test]
    fn error_codes_separate_settings_from_failures() {
        let config = TeacherError::Config {
            field: "model".into(),
            message: "x".into(),
        };
        assert_eq!(config.code(), ErrorCode::InvalidInput);
        let missing = TeacherError::ModelNotFound {
            path: PathBuf::from("m.gguf"),
        };
        assert_eq!(missing.code(), ErrorCode::NotFound);
        let http = TeacherError::Http {
            status: 500,
            message: String::new(),
        };
        assert_eq!(http.code(), ErrorCode::Teacher);
    }
}
