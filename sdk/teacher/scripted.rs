//! A scripted OpenAI-compatible server: a deterministic test double for the teacher.
//!
//! [`ScriptedServer::start`] serves `POST /v1/chat/completions` (and `/chat/completions`) on a
//! free local port. Each request is answered from a [`Script`]: the first [`Rule`] whose text
//! occurs in the request's system message or first user message is chosen, and its reply number
//! *k* is sent, where *k* is the number of assistant messages already in the request. So
//! concurrent conversations each get their own deterministic sequence. A rule can inject
//! one-shot [`Fault`]s (HTTP errors, 429 with `Retry-After`, empty or missing `choices`,
//! truncated JSON, slow replies) before its normal replies. Every request is recorded.
//!
//! ```no_run
//! use csvagent_sdk::teacher::scripted::{Fault, Rule, Script, ScriptedServer};
//! use csvagent_sdk::teacher::{ChatMessage, ChatRequest, EndpointTeacher};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = ScriptedServer::start(
//!     Script::new().rule(
//!         Rule::matching("insurance")
//!             .fault(Fault::Status { status: 500, body: "overloaded".into() })
//!             .reply("Let me look.\n```python\nprint(df.shape)\n```")
//!             .reply("Done.\n```python\nsubmit(1338)\n```"),
//!     ),
//! )
//! .await?;
//! let teacher = EndpointTeacher::new(&server.teacher_config())?;
//! let reply = teacher
//!     .chat(ChatRequest::new(vec![
//!         ChatMessage::system("You analyse insurance.csv."),
//!         ChatMessage::user("Begin. How many rows?"),
//!     ]))
//!     .await?;
//! assert_eq!(reply.attempts, 2); // the 500 was retried
//! assert_eq!(server.requests().len(), 2);
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::TeacherConfig;

/// A fault a [`Rule`] injects once, before its normal replies.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// An HTTP error status with this body.
    Status {
        /// The status, e.g. 500 or 400.
        status: u16,
        /// The body, e.g. `{"error":{"message":"..."}}` or plain text.
        body: String,
    },
    /// HTTP 429 with `Retry-After: <seconds>`.
    RateLimited {
        /// Whole seconds to wait.
        retry_after_s: u64,
    },
    /// HTTP 200 with `"choices": []`.
    EmptyChoices,
    /// HTTP 200 with a JSON body that has no `choices`.
    MissingChoices,
    /// HTTP 200 with `"content": null`.
    NullContent,
    /// HTTP 200 whose JSON body is cut in half.
    TruncatedJson,
    /// HTTP 200 with `{"error": {"code": code, "message": message}}` (as OpenRouter sends).
    ErrorObject {
        /// The error code (>= 500 is retried by the client).
        code: u16,
        /// The message.
        message: String,
    },
    /// Waits this long, then sends the normal reply (for timeouts).
    Slow(Duration),
}

/// One rule of a [`Script`]: which requests it answers and with what.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    needle: Option<String>,
    replies: Vec<String>,
    faults: Vec<Fault>,
    delay: Duration,
    cycle: bool,
}

impl Rule {
    /// A rule that answers every request.
    pub fn any() -> Self {
        Rule::default()
    }

    /// A rule for requests whose system message or first user message contains `needle`.
    pub fn matching(needle: impl Into<String>) -> Self {
        Rule {
            needle: Some(needle.into()),
            ..Rule::default()
        }
    }

    /// Appends a reply. Reply *k* (0-based) answers a request holding *k* assistant messages;
    /// requests further along get the last reply again.
    pub fn reply(mut self, content: impl Into<String>) -> Self {
        self.replies.push(content.into());
        self
    }

    /// Appends several replies (see [`Rule::reply`]).
    pub fn replies<I, S>(mut self, contents: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.replies.extend(contents.into_iter().map(Into::into));
        self
    }

    /// Appends a one-shot fault. Faults are served first, in order, one per request (whatever
    /// the conversation), then the normal replies.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Serves the replies in turn, one per matching request, wrapping around, instead of by
    /// conversation position: `k` independent one-turn conversations (e.g. consistency traces)
    /// then get `k` different replies. Which conversation gets which reply depends on arrival
    /// order; the multiset of replies does not.
    pub fn cycling(mut self) -> Self {
        self.cycle = true;
        self
    }

    /// Delays every response of this rule by `delay`.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn matches(&self, body: &Value) -> bool {
        let Some(needle) = &self.needle else {
            return true;
        };
        let messages = body.get("messages").and_then(Value::as_array);
        let content_of = |role: &str| {
            messages
                .and_then(|m| {
                    m.iter()
                        .find(|m| m.get("role").and_then(Value::as_str) == Some(role))
                })
                .and_then(|m| m.get("content"))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        content_of("system").contains(needle.as_str())
            || content_of("user").contains(needle.as_str())
    }
}

/// The replies a [`ScriptedServer`] gives: rules tried in order.
#[derive(Debug, Clone, Default)]
pub struct Script {
    rules: Vec<Rule>,
}

impl Script {
    /// An empty script (every request gets HTTP 500 `no rule matches`).
    pub fn new() -> Self {
        Script::default()
    }

    /// Adds `rule` after the existing ones.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// The "instant" script: every request gets `content` at once (for benchmarks and smoke
    /// runs).
    pub fn instant(content: impl Into<String>) -> Self {
        Script::new().rule(Rule::any().reply(content))
    }
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The request path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The `Authorization` header as sent, if any.
    pub authorization: Option<String>,
    /// The JSON body (`null` if it was not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// `(role, content)` of each message in the body, in order.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .map(|messages| {
                messages
                    .iter()
                    .map(|m| {
                        let field = |k: &str| {
                            m.get(k)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        };
                        (field("role"), field("content"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct RuleState {
    rule: Rule,
    faults: Mutex<VecDeque<Fault>>,
    served: AtomicUsize,
}

struct ServerState {
    rules: Vec<RuleState>,
    requests: Mutex<Vec<RecordedRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    served: AtomicU64,
}

/// A running scripted OpenAI-compatible server on `127.0.0.1`. Stops when dropped.
pub struct ScriptedServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for ScriptedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ScriptedServer {
    /// Starts serving `script` on a free port of `127.0.0.1`, in a task of the current Tokio
    /// runtime.
    ///
    /// # Errors
    /// The I/O error when no local port can be bound.
    pub async fn start(script: Script) -> std::io::Result<ScriptedServer> {
        let state = Arc::new(ServerState {
            rules: script
                .rules
                .into_iter()
                .map(|rule| RuleState {
                    faults: Mutex::new(rule.faults.iter().cloned().collect()),
                    served: AtomicUsize::new(0),
                    rule,
                })
                .collect(),
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            served: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .route("/chat/completions", post(handle))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "scripted server stopped");
            }
        });
        Ok(ScriptedServer {
            addr,
            state,
            shutdown: Some(tx),
        })
    }

    /// The base URL to configure as `base_url`: `http://127.0.0.1:<port>/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// A [`TeacherConfig`] pointing at this server with model `scripted`, no key, and a 10 ms
    /// retry base so tests run fast.
    pub fn teacher_config(&self) -> TeacherConfig {
        TeacherConfig {
            base_url: Some(self.url()),
            model: Some("scripted".to_string()),
            retry_base: Duration::from_millis(10),
            ..TeacherConfig::default()
        }
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The most requests that were being answered at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Decrements the in-flight count when a response is done or abandoned.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _in_flight = InFlight(&state.in_flight);
    let n = state.served.fetch_add(1, Ordering::SeqCst);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(RecordedRequest {
            path: uri.path().to_string(),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: body.clone(),
        });
    if body.is_null() {
        return json_response(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"message":"body is not JSON"}}"#,
        );
    }
    let Some(rule) = state.rules.iter().find(|r| r.rule.matches(&body)) else {
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":{"message":"scripted server: no rule matches this request"}}"#,
        );
    };
    if !rule.rule.delay.is_zero() {
        tokio::time::sleep(rule.rule.delay).await;
    }
    let fault = rule
        .faults
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop_front();
    let assistant_turns = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, |m| {
            m.iter()
                .filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
                .count()
        });
    let replies = &rule.rule.replies;
    let content = if rule.rule.cycle && !replies.is_empty() {
        let n = rule.served.fetch_add(1, Ordering::SeqCst);
        replies.get(n % replies.len()).cloned()
    } else {
        replies
            .get(assistant_turns)
            .or_else(|| replies.last())
            .cloned()
    };
    let completion = |content: Value, choices: bool| {
        let prompt_chars: usize = body
            .get("messages")
            .and_then(Value::as_array)
            .map_or(0, |m| {
                m.iter()
                    .filter_map(|m| m.get("content").and_then(Value::as_str))
                    .map(|c| c.chars().count())
                    .sum()
            });
        let completion_tokens = content
            .as_str()
            .map_or(0, |c| c.chars().count().div_ceil(4));
        let mut v = json!({
            "id": format!("chatcmpl-scripted-{n}"),
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model").cloned().unwrap_or(Value::Null),
            "usage": {
                "prompt_tokens": prompt_chars / 4,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_chars / 4 + completion_tokens,
            },
        });
        if choices {
            v["choices"] = json!([{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }]);
        }
        v
    };
    let normal = |content: Option<String>| match content {
        Some(c) => json_response(StatusCode::OK, &completion(json!(c), true).to_string()),
        None => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":{"message":"scripted server: the matching rule has no replies"}}"#,
        ),
    };
    match fault {
        None => normal(content),
        Some(Fault::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            normal(content)
        }
        Some(Fault::Status { status, body }) => json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &body,
        ),
        Some(Fault::RateLimited { retry_after_s }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (header::RETRY_AFTER, retry_after_s.to_string()),
            ],
            r#"{"error":{"message":"rate limited"}}"#,
        )
            .into_response(),
        Some(Fault::EmptyChoices) => {
            let mut v = completion(Value::Null, false);
            v["choices"] = json!([]);
            json_response(StatusCode::OK, &v.to_string())
        }
        Some(Fault::MissingChoices) => {
            json_response(StatusCode::OK, &completion(Value::Null, false).to_string())
        }
        Some(Fault::NullContent) => {
            json_response(StatusCode::OK, &completion(Value::Null, true).to_string())
        }
        Some(Fault::TruncatedJson) => {
            let full = completion(json!(content.unwrap_or_default()), true).to_string();
            let cut = full.len() / 2;
            let cut = (0..=cut)
                .rev()
                .find(|&i| full.is_char_boundary(i))
                .unwrap_or(0);
            json_response(StatusCode::OK, &full[..cut])
        }
        Some(Fault::ErrorObject { code, message }) => json_response(
            StatusCode::OK,
            &json!({"error": {"code": code, "message": message}}).to_string(),
        ),
    }
}

fn json_response(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(system: &str, user: &str, assistants: usize) -> Value {
        let mut messages = vec![
            json!({"role": "system", "content": system}),
            json!({"role": "user", "content": user}),
        ];
        for i in 0..assistants {
            messages.push(json!({"role": "assistant", "content": format!("a{i}")}));
            messages.push(json!({"role": "user", "content": format!("u{i}")}));
        }
        json!({"model": "m", "messages": messages})
    }

    #[test]
    fn rules_match_the_system_or_first_user_message() {
        let rule = Rule::matching("titanic");
        assert!(rule.matches(&request("about titanic.csv", "Begin.", 0)));
        assert!(rule.matches(&request("S", "Begin. titanic survivors?", 0)));
        assert!(!rule.matches(&request("S", "Begin.", 0)));
        assert!(Rule::any().matches(&request("S", "U", 3)));
    }

    #[test]
    fn recorded_messages_list_roles_and_contents() {
        let r = RecordedRequest {
            path: "/v1/chat/completions".into(),
            authorization: None,
            body: request("S", "U", 1),
        };
        assert_eq!(
            r.messages(),
            vec![
                ("system".to_string(), "S".to_string()),
                ("user".to_string(), "U".to_string()),
                ("assistant".to_string(), "a0".to_string()),
                ("user".to_string(), "u0".to_string()),
            ]
        );
    }
}
