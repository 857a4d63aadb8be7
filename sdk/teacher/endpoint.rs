//! The OpenAI-compatible Chat Completions client (SPEC 3.1).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::{ApiKey, ChatReply, ChatRequest, TeacherConfig, TeacherError, truncate_chars};
use crate::record::JsonlAppender;
use crate::schema::ModelInfo;

/// Longest `Retry-After` honoured (SPEC 3.1).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Characters of an error body kept in `llm_errors_log` (SPEC 3.1).
const LOGGED_BODY_CHARS: usize = 2000;
/// Characters of a body quoted in an error message.
const QUOTED_BODY_CHARS: usize = 200;

/// A client for an OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, OpenRouter,
/// llama.cpp's server).
///
/// Each [`chat`](Self::chat) posts `{model, messages, temperature, top_p, max_tokens, stop?}` to `{base_url}/chat/completions` with `Authorization: Bearer <key>` (when a key is
/// set), retrying 5xx, 429, timeouts and connection errors with backoff. Cheap to clone; clones
/// share one semaphore of `max_concurrency` slots. `Debug` never shows the key.
#[derive(Clone)]
pub struct EndpointTeacher {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    url: String,
    host: String,
    model: String,
    key: Option<ApiKey>,
    temperature: f64,
    top_p: f64,
    max_tokens: u32,
    timeout: Duration,
    max_attempts: u32,
    retry_base: Duration,
    slots: Semaphore,
    errors_log: Option<PathBuf>,
}

impl fmt::Debug for EndpointTeacher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointTeacher")
            .field("url", &self.inner.url)
            .field("model", &self.inner.model)
            .field("key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

impl EndpointTeacher {
    /// A client for `config.base_url` and `config.model` with `config`'s sampling defaults,
    /// timeout, attempts, backoff base and concurrency limit. No request is made.
    ///
    /// # Errors
    /// [`TeacherError::Config`] when `base_url` is missing or not an http(s) URL, or `model` is
    /// missing, or another setting is invalid.
    pub fn new(config: &TeacherConfig) -> Result<Self, TeacherError> {
        config.validate()?;
        let base = config
            .base_url
            .as_deref()
            .ok_or_else(|| TeacherError::Config {
                field: "base_url".into(),
                message: "an endpoint teacher needs a base URL (`--teacher-url`)".into(),
            })?;
        let parsed = reqwest::Url::parse(base).map_err(|e| TeacherError::Config {
            field: "base_url".into(),
            message: format!("`{base}`: {e}"),
        })?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let client = reqwest::Client::builder()
            .user_agent(concat!("csvagent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TeacherError::Config {
                field: "base_url".into(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(EndpointTeacher {
            inner: Arc::new(Inner {
                client,
                url: format!("{}/chat/completions", base.trim_end_matches('/')),
                host,
                model: config.model.clone().unwrap_or_default(),
                key: config.api_key.clone(),
                temperature: config.temperature,
                top_p: config.top_p,
                max_tokens: config.max_tokens,
                timeout: config.request_timeout,
                max_attempts: config.max_attempts,
                retry_base: config.retry_base,
                slots: Semaphore::new(config.max_concurrency),
                errors_log: config.llm_errors_log.clone(),
            }),
        })
    }

    /// The model recorded on traces: the model name, the endpoint's host and the configured
    /// sampling defaults.
    pub fn model_info(&self) -> ModelInfo {
        ModelInfo {
            name: self.inner.model.clone(),
            base_url_host: Some(self.inner.host.clone()),
            temperature: self.inner.temperature,
            top_p: self.inner.top_p,
            max_tokens: u64::from(self.inner.max_tokens),
        }
    }

    /// The full URL requests are posted to (`{base_url}/chat/completions`).
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Sends `request`, waiting for a concurrency slot first, and returns
    /// `choices[0].message.content` with usage, attempts and latency.
    ///
    /// Retried (SPEC 3.1): 5xx, 429 (waiting its `Retry-After`, at most 60 s), a 200 whose body
    /// is an `error` with `code` >= 500, timeouts, connection errors and unparsable (for example
    /// truncated) bodies; up to `max_attempts` attempts with backoff `retry_base`, twice that,
    /// ... plus jitter. The whole call is bounded by `max_attempts` x (`request_timeout` +
    /// backoff). An empty `choices` list or null content is a reply with `content: None`.
    ///
    /// # Errors
    /// - [`TeacherError::Http`] at once for a 4xx other than 429 (also appended to
    ///   `llm_errors_log`), with the server's message.
    /// - [`TeacherError::UnexpectedResponse`] (`unexpected API response format`) when the JSON
    ///   has no `choices`.
    /// - [`TeacherError::RetriesExhausted`] when every attempt failed with a retryable error
    ///   (the last one is its source); with `max_attempts = 1` that error itself
    ///   ([`TeacherError::Timeout`], [`TeacherError::Connection`], ...).
    ///
    /// Dropping the future cancels the request in flight and frees its slot.
    #[tracing::instrument(level = "debug", skip_all, fields(host = %self.inner.host, model = %self.inner.model, n_messages = request.messages.len()))]
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatReply, TeacherError> {
        let started = Instant::now();
        let inner = &self.inner;
        let _slot = inner
            .slots
            .acquire()
            .await
            .unwrap_or_else(|_| unreachable!("the semaphore is never closed"));
        let body = self.body(&request);
        let attempts = AtomicU32::new(0);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(inner.retry_base)
            .with_factor(2.0)
            .without_max_delay()
            .with_max_times(inner.max_attempts.saturating_sub(1) as usize);
        let jitter_max = inner.retry_base / 4;
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(&body, &request).await
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(TeacherError::is_retryable)
        .adjust(|err, delay| {
            let delay = delay?;
            Some(match err {
                TeacherError::RateLimited {
                    retry_after: Some(wait),
                    ..
                } => (*wait).min(MAX_RETRY_AFTER),
                _ => delay + jitter(jitter_max),
            })
        })
        .notify(|err, delay| {
            tracing::warn!(error = %err, delay_ms = delay.as_millis() as u64, "retrying teacher request");
        })
        .await;
        let attempts = attempts.load(Ordering::Relaxed);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(mut reply) => {
                reply.attempts = attempts;
                reply.elapsed_ms = elapsed_ms;
                tracing::debug!(
                    attempts,
                    elapsed_ms,
                    prompt_tokens = reply.prompt_tokens,
                    completion_tokens = reply.completion_tokens,
                    "teacher reply"
                );
                Ok(reply)
            }
            Err(err) if attempts > 1 && err.is_retryable() => Err(TeacherError::RetriesExhausted {
                attempts,
                last: Box::new(err),
            }),
            Err(err) => Err(err),
        }
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let inner = &self.inner;
        let mut body = json!({
            "model": inner.model,
            "messages": request.messages,
            "temperature": request.temperature.unwrap_or(inner.temperature),
            "top_p": request.top_p.unwrap_or(inner.top_p),
            "max_tokens": request.max_tokens.unwrap_or(inner.max_tokens),
        });
        if !request.stop.is_empty() {
            body["stop"] = json!(request.stop);
        }
        body
    }

    /// One HTTP attempt.
    async fn attempt(
        &self,
        body: &Value,
        request: &ChatRequest,
    ) -> Result<ChatReply, TeacherError> {
        let inner = &self.inner;
        let mut post = inner
            .client
            .post(&inner.url)
            .timeout(inner.timeout)
            .json(body);
        if let Some(key) = &inner.key {
            post = post.bearer_auth(key.expose());
        }
        let response = post.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = response.text().await.map_err(|e| self.transport_error(e))?;
        let text = self.redact(text);
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(TeacherError::RateLimited {
                retry_after,
                message: server_message(&text),
            });
        }
        if !status.is_success() {
            if status.is_client_error() {
                self.log_client_error(status.as_u16(), &text, request).await;
            }
            return Err(TeacherError::Http {
                status: status.as_u16(),
                message: server_message(&text),
            });
        }
        let parsed = parse_completion(&text);
        if let Err(TeacherError::Http { status, .. }) = &parsed
            && (400..500).contains(status)
        {
            self.log_client_error(*status, &text, request).await;
        }
        parsed
    }

    fn transport_error(&self, e: reqwest::Error) -> TeacherError {
        if e.is_timeout() {
            TeacherError::Timeout {
                timeout: self.inner.timeout,
            }
        } else {
            TeacherError::Connection {
                host: self.inner.host.clone(),
                source: Box::new(e.without_url()),
            }
        }
    }

    /// Replaces any echo of the key in server text (some servers quote the bad key).
    fn redact(&self, text: String) -> String {
        match &self.inner.key {
            Some(key) if !key.expose().is_empty() && text.contains(key.expose()) => {
                text.replace(key.expose(), "[redacted]")
            }
            _ => text,
        }
    }

    /// Appends a non-429 4xx failure to `llm_errors_log` (SPEC 3.1). A failure to write the log
    /// is reported through `tracing` and does not change the request's error.
    async fn log_client_error(&self, status: u16, body: &str, request: &ChatRequest) {
        let Some(path) = self.inner.errors_log.clone() else {
            return;
        };
        let chars = request.chars();
        let entry = json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "status": status,
            "model": self.inner.model,
            "n_messages": request.messages.len(),
            "chars": chars,
            "est_tokens": chars / 4,
            "body": truncate_chars(body, LOGGED_BODY_CHARS),
        });
        let written =
            tokio::task::spawn_blocking(move || append_line(&path, &entry).map_err(|e| (path, e)))
                .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err((path, e))) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the LLM error log");
            }
            Err(e) => tracing::warn!(error = %e, "cannot write the LLM error log"),
        }
    }
}

fn append_line(path: &Path, entry: &Value) -> Result<(), crate::record::RecordError> {
    JsonlAppender::open(path)?.append(entry)
}

/// Random jitter in `[0, max]`.
fn jitter(max: Duration) -> Duration {
    let max_ms = max.as_millis() as u64;
    if max_ms == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(fastrand::u64(0..=max_ms))
    }
}

/// `Retry-After` as delta-seconds (fractions accepted) or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs.max(0.0)).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The server's message in an error body: `error.message` (or a string `error`, or `message`)
/// of a JSON body, else the start of the body.
fn server_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let msg = v
            .pointer("/error/message")
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("detail"))
            .and_then(Value::as_str);
        if let Some(msg) = msg {
            return truncate_chars(msg, 500);
        }
    }
    let trimmed = body.trim();
    if trimmed.is_empty() {
        "(empty body)".to_string()
    } else {
        truncate_chars(trimmed, 500)
    }
}

/// Parses a 200 body into a reply (`attempts` and `elapsed_ms` are filled in by the caller).
fn parse_completion(text: &str) -> Result<ChatReply, TeacherError> {
    let v: Value = serde_json::from_str(text).map_err(|e| TeacherError::InvalidJson {
        detail: e.to_string(),
        body_start: truncate_chars(text, QUOTED_BODY_CHARS),
    })?;
    let choices = v.get("choices").and_then(Value::as_array);
    if choices.is_none()
        && let Some(error) = v.get("error").filter(|e| !e.is_null())
    {
        let code = error
            .get("code")
            .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(500);
        return Err(TeacherError::Http {
            status: code,
            message: server_message(text),
        });
    }
    let Some(choices) = choices else {
        return Err(TeacherError::UnexpectedResponse {
            body_start: truncate_chars(text, QUOTED_BODY_CHARS),
        });
    };
    let first = choices.first();
    let content = first
        .and_then(|c| c.pointer("/message/content"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let finish_reason = first
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let usage = |key: &str| {
        v.get("usage")
            .and_then(|u| u.get(key))
            .and_then(Value::as_u64)
    };
    Ok(ChatReply {
        content,
        finish_reason,
        prompt_tokens: usage("prompt_tokens"),
        completion_tokens: usage("completion_tokens"),
        attempts: 1,
        elapsed_ms: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_content_finish_reason_and_usage_are_read() {
        let reply = parse_completion(
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
                "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
        )
        .unwrap();
        assert_eq!(reply.content.as_deref(), Some("hi"));
        assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
        assert_eq!(reply.prompt_tokens, Some(12));
        assert_eq!(reply.completion_tokens, Some(3));
    }

    #[test]
    fn null_content_and_empty_choices_are_replies_without_content() {
        let null = parse_completion(r#"{"choices":[{"message":{"content":null}}]}"#).unwrap();
        assert_eq!(null.content, None);
        let empty = parse_completion(r#"{"choices":[]}"#).unwrap();
        assert_eq!(empty.content, None);
        assert_eq!(empty.prompt_tokens, None);
    }

    #[test]
    fn missing_choices_is_unexpected_api_response_format() {
        let err = parse_completion(r#"{"id":"x","object":"chat.completion"}"#).unwrap_err();
        assert!(matches!(err, TeacherError::UnexpectedResponse { .. }));
        assert!(
            err.to_string()
                .starts_with("unexpected API response format"),
            "{err}"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn error_body_with_server_code_is_retryable_and_client_code_is_not() {
        let server =
            parse_completion(r#"{"error":{"code":502,"message":"upstream down"}}"#).unwrap_err();
        assert!(server.is_retryable());
        assert!(server.to_string().contains("upstream down"), "{server}");
        let client = parse_completion(r#"{"error":{"code":"400","message":"bad"}}"#).unwrap_err();
        assert!(matches!(client, TeacherError::Http { status: 400, .. }));
        assert!(!client.is_retryable());
    }

    #[test]
    fn truncated_json_is_a_retryable_invalid_json_error() {
        let err = parse_completion(r#"{"choices":[{"message":{"content":"hel"#).unwrap_err();
        assert!(matches!(err, TeacherError::InvalidJson { .. }));
        assert!(err.is_retryable());
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn server_message_prefers_the_json_error_message() {
        assert_eq!(
            server_message(
                r#"{"error":{"message":"context too long","type":"invalid_request_error"}}"#
            ),
            "context too long"
        );
        assert_eq!(server_message("plain failure\n"), "plain failure");
        assert_eq!(server_message(""), "(empty body)");
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(250)) <= Duration::from_millis(250));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
