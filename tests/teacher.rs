//! Teacher integration tests: the endpoint client against the scripted OpenAI-compatible server
//! (retries, timeouts, bad responses, key hygiene, concurrency, exact requests), the Hub fetch
//! against a local fake Hub, and the embedded model with the real SmolLM2-135M test model.

#![allow(
    clippy::unwrap_used,
    reason = "integration test code: a panic is a test failure"
)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use csvagent_sdk::events::{Event, EventSink};
use csvagent_sdk::teacher::scripted::{Fault, Rule, Script, ScriptedServer};
use csvagent_sdk::teacher::{
    ApiKey, ChatMessage, ChatRequest, EndpointTeacher, LocalTeacher, Teacher, TeacherConfig,
    TeacherError,
};
use serde_json::{Value, json};

fn conversation(system: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(system),
        ChatMessage::user("Begin. How many rows does the table have?"),
    ]
}

async fn start(script: Script) -> ScriptedServer {
    ScriptedServer::start(script).await.unwrap()
}

fn teacher(server: &ScriptedServer, tweak: impl FnOnce(&mut TeacherConfig)) -> EndpointTeacher {
    let mut config = server.teacher_config();
    tweak(&mut config);
    EndpointTeacher::new(&config).unwrap()
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = start(
        Script::new().rule(
            Rule::any()
                .fault(Fault::Status {
                    status: 500,
                    body: "overloaded".into(),
                })
                .reply("Counting rows.\n```python\nprint(len(df))\n```"),
        ),
    )
    .await;
    let reply = teacher(&server, |_| {})
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    assert_eq!(
        reply.content.as_deref(),
        Some("Counting rows.\n```python\nprint(len(df))\n```")
    );
    assert_eq!(reply.attempts, 2);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.requests()[0].body, server.requests()[1].body);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after() {
    let server = start(
        Script::new().rule(
            Rule::any()
                .fault(Fault::RateLimited { retry_after_s: 1 })
                .reply("ok"),
        ),
    )
    .await;
    // The backoff base is 10 ms, so only Retry-After can explain a wait of a second.
    let started = Instant::now();
    let reply = teacher(&server, |_| {})
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(reply.content.as_deref(), Some("ok"));
    assert_eq!(reply.attempts, 2);
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
    assert!(reply.elapsed_ms >= 1000, "{}", reply.elapsed_ms);
}

#[tokio::test]
async fn retries_stop_after_max_attempts_with_the_last_cause() {
    let mut rule = Rule::any().reply("never reached");
    for _ in 0..5 {
        rule = rule.fault(Fault::Status {
            status: 503,
            body: r#"{"error":{"message":"no capacity"}}"#.into(),
        });
    }
    let server = start(Script::new().rule(rule)).await;
    let err = teacher(&server, |c| c.max_attempts = 3)
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap_err();
    match &err {
        TeacherError::RetriesExhausted { attempts, last } => {
            assert_eq!(*attempts, 3);
            assert!(
                matches!(**last, TeacherError::Http { status: 503, ref message } if message == "no capacity"),
                "{last:?}"
            );
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("teacher request failed after 3 attempts; the last: ")
            && err.to_string().contains("503")
            && err.to_string().contains("no capacity"),
        "the message carries the last cause: {err}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn error_object_with_a_server_code_is_retried() {
    let server = start(
        Script::new().rule(
            Rule::any()
                .fault(Fault::ErrorObject {
                    code: 502,
                    message: "upstream provider error".into(),
                })
                .reply("ok"),
        ),
    )
    .await;
    let reply = teacher(&server, |_| {})
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    assert_eq!(reply.content.as_deref(), Some("ok"));
    assert_eq!(reply.attempts, 2);
}

#[tokio::test]
async fn client_error_fails_at_once_with_the_server_message_and_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/llm_errors.jsonl");
    let message = "This model's maximum context length is 8192 tokens";
    let server = start(
        Script::new().rule(
            Rule::any()
                .fault(Fault::Status {
                    status: 400,
                    body: json!({"error": {"message": message, "type": "invalid_request_error"}})
                        .to_string(),
                })
                .reply("never reached"),
        ),
    )
    .await;
    let request = ChatRequest::new(conversation("You analyse a table."));
    let chars = request.chars();
    let err = teacher(&server, |c| c.llm_errors_log = Some(log.clone()))
        .chat(request)
        .await
        .unwrap_err();
    match &err {
        TeacherError::Http { status, message: m } => {
            assert_eq!(*status, 400);
            assert_eq!(m, message);
        }
        other => panic!("expected Http 400, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 1, "a 400 must not be retried");
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let entry = &lines[0];
    let keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "timestamp",
            "status",
            "model",
            "n_messages",
            "chars",
            "est_tokens",
            "body"
        ]
    );
    assert_eq!(entry["status"], 400);
    assert_eq!(entry["model"], "scripted");
    assert_eq!(entry["n_messages"], 2);
    assert_eq!(entry["chars"], chars);
    assert_eq!(entry["est_tokens"], chars / 4);
    assert!(entry["body"].as_str().unwrap().contains(message));
}

// ---------------------------------------------------------------- timeouts

#[tokio::test]
async fn a_slow_server_times_out() {
    let server =
        start(Script::new().rule(Rule::any().delay(Duration::from_secs(5)).reply("late"))).await;
    let started = Instant::now();
    let err = teacher(&server, |c| {
        c.request_timeout = Duration::from_millis(200);
        c.max_attempts = 1;
    })
    .chat(ChatRequest::new(conversation("S")))
    .await
    .unwrap_err();
    assert!(
        matches!(err, TeacherError::Timeout { timeout } if timeout == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.to_string(), "teacher request timed out after 0.2 s");
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried() {
    let server = start(
        Script::new().rule(
            Rule::any()
                .fault(Fault::Slow(Duration::from_secs(10)))
                .reply("in time"),
        ),
    )
    .await;
    let reply = teacher(&server, |c| c.request_timeout = Duration::from_secs(1))
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    assert_eq!(reply.content.as_deref(), Some("in time"));
    assert_eq!(reply.attempts, 2);
}

// ---------------------------------------------------------------- bad responses

#[tokio::test]
async fn empty_choices_give_a_reply_without_content() {
    let server = start(Script::new().rule(Rule::any().fault(Fault::EmptyChoices).reply("x"))).await;
    let reply = teacher(&server, |_| {})
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    assert_eq!(reply.content, None);
    assert_eq!(reply.attempts, 1);
}

#[tokio::test]
async fn null_content_gives_a_reply_without_content() {
    let server = start(Script::new().rule(Rule::any().fault(Fault::NullContent).reply("x"))).await;
    let reply = teacher(&server, |_| {})
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    assert_eq!(reply.content, None);
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn missing_choices_is_an_unexpected_api_response_format_error() {
    let server =
        start(Script::new().rule(Rule::any().fault(Fault::MissingChoices).reply("x"))).await;
    let err = teacher(&server, |_| {})
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TeacherError::UnexpectedResponse { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("unexpected API response format")
    );
    assert_eq!(server.requests().len(), 1, "a format error is not retried");
}

#[tokio::test]
async fn truncated_json_is_retried() {
    let server =
        start(Script::new().rule(Rule::any().fault(Fault::TruncatedJson).reply("whole reply")))
            .await;
    let reply = teacher(&server, |_| {})
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    assert_eq!(reply.content.as_deref(), Some("whole reply"));
    assert_eq!(reply.attempts, 2);
}

#[tokio::test]
async fn persistently_truncated_json_is_reported_after_the_retries() {
    let server = start(
        Script::new().rule(
            Rule::any()
                .fault(Fault::TruncatedJson)
                .fault(Fault::TruncatedJson)
                .reply("whole reply"),
        ),
    )
    .await;
    let err = teacher(&server, |c| c.max_attempts = 2)
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap_err();
    match err {
        TeacherError::RetriesExhausted { attempts: 2, last } => {
            assert!(
                matches!(*last, TeacherError::InvalidJson { .. }),
                "{last:?}"
            );
            assert!(
                last.to_string()
                    .starts_with("teacher response is not valid JSON")
            );
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
}

// ---------------------------------------------------------------- the key

#[tokio::test]
async fn api_key_is_sent_but_never_appears_in_errors_logs_or_debug() {
    const KEY: &str = "sk-test-0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("llm_errors.jsonl");
    let server = start(
        Script::new().rule(
            Rule::any()
                .fault(Fault::Status {
                    status: 401,
                    body:
                        json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}})
                            .to_string(),
                })
                .reply("x"),
        ),
    )
    .await;
    let mut config = server.teacher_config();
    config.api_key = Some(ApiKey::new(KEY));
    config.llm_errors_log = Some(log.clone());
    let endpoint = EndpointTeacher::new(&config).unwrap();
    let err = endpoint
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap_err();
    assert_eq!(
        server.requests()[0].authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    let mut texts = vec![
        err.to_string(),
        format!("{err:?}"),
        format!("{config:?}"),
        format!("{endpoint:?}"),
        std::fs::read_to_string(&log).unwrap(),
    ];
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        texts.push(s.to_string());
        source = s.source();
    }
    for text in &texts {
        assert!(!text.contains(KEY), "the key leaked into: {text}");
    }
    assert!(
        err.to_string()
            .contains("Incorrect API key provided: [redacted]"),
        "{err}"
    );

    // A connection failure does not leak it either.
    let mut unreachable = config.clone();
    unreachable.base_url = Some("http://127.0.0.1:1/v1".into());
    unreachable.max_attempts = 1;
    let err = EndpointTeacher::new(&unreachable)
        .unwrap()
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap_err();
    assert!(matches!(err, TeacherError::Connection { .. }), "{err:?}");
    assert!(!format!("{err:?} {err}").contains(KEY));
}

// ---------------------------------------------------------------- concurrency

async fn max_in_flight_with(limit: usize) -> usize {
    let server =
        start(Script::new().rule(Rule::any().delay(Duration::from_millis(150)).reply("ok"))).await;
    let endpoint = teacher(&server, |c| c.max_concurrency = limit);
    let calls = (0..6).map(|_| {
        let t = endpoint.clone();
        async move { t.chat(ChatRequest::new(conversation("S"))).await }
    });
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().content.as_deref(), Some("ok"));
    }
    assert_eq!(server.requests().len(), 6);
    server.max_in_flight()
}

#[tokio::test]
async fn concurrency_limit_is_honoured_across_clones() {
    assert_eq!(max_in_flight_with(2).await, 2);
    // Without the limit the same six calls do overlap more: the measurement can see it.
    assert!(max_in_flight_with(6).await > 2);
}

// ---------------------------------------------------------------- requests and replies

#[tokio::test]
async fn requests_are_sent_and_recorded_exactly() {
    let server = start(Script::instant("fine")).await;
    let endpoint = teacher(&server, |c| {
        c.temperature = 0.3;
        c.top_p = 0.9;
        c.max_tokens = 500;
    });
    let messages = vec![
        ChatMessage::system("You analyse insurance.csv."),
        ChatMessage::user("Begin. Mean charges?"),
        ChatMessage::assistant("Computing.\n```python\nprint(df.charges.mean())\n```"),
        ChatMessage::user(
            "✓ Cell executed successfully\nOutput:\n13270.42\nWhat will you do next?",
        ),
    ];
    endpoint
        .chat(ChatRequest::new(messages.clone()))
        .await
        .unwrap();
    endpoint
        .chat(ChatRequest {
            messages: messages.clone(),
            temperature: Some(0.0),
            top_p: Some(1.0),
            max_tokens: Some(64),
            stop: vec!["```\n".into()],
        })
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(
        requests[0].authorization, None,
        "no key configured, none sent"
    );
    let sent_messages = json!([
        {"role": "system", "content": "You analyse insurance.csv."},
        {"role": "user", "content": "Begin. Mean charges?"},
        {"role": "assistant", "content": "Computing.\n```python\nprint(df.charges.mean())\n```"},
        {"role": "user", "content": "✓ Cell executed successfully\nOutput:\n13270.42\nWhat will you do next?"},
    ]);
    assert_eq!(
        requests[0].body,
        json!({
            "model": "scripted",
            "messages": sent_messages,
            "temperature": 0.3,
            "top_p": 0.9,
            "max_tokens": 500,
        })
    );
    assert_eq!(
        requests[1].body,
        json!({
            "model": "scripted",
            "messages": sent_messages,
            "temperature": 0.0,
            "top_p": 1.0,
            "max_tokens": 64,
            "stop": ["```\n"],
        })
    );
}

#[tokio::test]
async fn base_url_without_v1_is_served_too() {
    let server = start(Script::instant("fine")).await;
    let mut config = server.teacher_config();
    config.base_url = Some(server.url().trim_end_matches("/v1").to_string() + "/");
    let reply = EndpointTeacher::new(&config)
        .unwrap()
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    assert_eq!(reply.content.as_deref(), Some("fine"));
    assert_eq!(server.requests()[0].path, "/chat/completions");
}

#[tokio::test]
async fn usage_and_latency_are_recorded_per_request() {
    let server = start(
        Script::new().rule(
            Rule::any()
                .delay(Duration::from_millis(50))
                .reply("abcdefgh"),
        ),
    )
    .await;
    let request = ChatRequest::new(conversation("S"));
    let chars = request.chars() as u64;
    let reply = teacher(&server, |_| {}).chat(request).await.unwrap();
    assert_eq!(reply.prompt_tokens, Some(chars / 4));
    assert_eq!(reply.completion_tokens, Some(2));
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert!(reply.elapsed_ms >= 50, "{}", reply.elapsed_ms);
}

#[tokio::test]
async fn concurrent_conversations_get_their_own_scripted_replies() {
    let server = start(
        Script::new()
            .rule(Rule::matching("titanic.csv").replies(["t0", "t1", "t2"]))
            .rule(Rule::matching("insurance.csv").replies(["i0", "i1"])),
    )
    .await;
    let endpoint = teacher(&server, |_| {});
    let run = |system: &'static str| {
        let endpoint = endpoint.clone();
        async move {
            let mut messages = conversation(system);
            let mut replies = Vec::new();
            for turn in 0..3 {
                let reply = endpoint
                    .chat(ChatRequest::new(messages.clone()))
                    .await
                    .unwrap();
                let content = reply.content.unwrap();
                messages.push(ChatMessage::assistant(content.clone()));
                messages.push(ChatMessage::user(format!("feedback {turn}")));
                replies.push(content);
            }
            replies
        }
    };
    let (titanic, insurance) = tokio::join!(
        run("You analyse titanic.csv."),
        run("You analyse insurance.csv.")
    );
    assert_eq!(titanic, ["t0", "t1", "t2"]);
    // Past the end of its replies a rule repeats the last one.
    assert_eq!(insurance, ["i0", "i1", "i1"]);
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test]
async fn teacher_from_config_uses_the_endpoint_when_a_url_is_set() {
    let server = start(Script::instant("hello")).await;
    let teacher = Teacher::from_config(&server.teacher_config(), &EventSink::discard())
        .await
        .unwrap();
    assert!(matches!(teacher, Teacher::Endpoint(_)));
    let info = teacher.model_info();
    assert_eq!(info.name, "scripted");
    assert_eq!(info.base_url_host.as_deref(), Some("127.0.0.1"));
    assert_eq!(info.max_tokens, 6000);
    assert_eq!(info.temperature, 0.7);
    let reply = teacher
        .chat(ChatRequest::new(conversation("S")))
        .await
        .unwrap();
    assert_eq!(reply.content.as_deref(), Some("hello"));
}

#[tokio::test]
async fn an_endpoint_without_a_model_name_is_a_config_error() {
    let config = TeacherConfig {
        base_url: Some("http://127.0.0.1:9/v1".into()),
        ..TeacherConfig::default()
    };
    let err = Teacher::from_config(&config, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TeacherError::Config { field, .. } if field == "model"),
        "{err:?}"
    );
    assert!(err.to_string().contains("--teacher-model"), "{err}");
}

// ---------------------------------------------------------------- Hugging Face Hub

/// A fake Hub serving one file at `/{owner}/{name}/resolve/main/{file}` (HEAD and GET).
async fn fake_hub(bytes: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    async fn serve(State(bytes): State<Arc<Vec<u8>>>) -> impl IntoResponse {
        let mut headers = HeaderMap::new();
        headers.insert(
            "etag",
            HeaderValue::from_static("\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\""),
        );
        headers.insert(
            "x-repo-commit",
            HeaderValue::from_static("1234567890abcdef1234567890abcdef12345678"),
        );
        headers.insert("x-linked-size", HeaderValue::from(bytes.len()));
        (StatusCode::OK, headers, bytes.as_ref().clone())
    }
    let app = Router::new()
        .route("/{owner}/{name}/resolve/{rev}/{*file}", get(serve))
        .with_state(Arc::new(bytes));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

/// A valid GGUF header of an architecture the embedded teacher does not run.
fn bert_gguf(path: &Path) {
    let arch = candle_core::quantized::gguf_file::Value::String("bert".into());
    let mut file = std::fs::File::create(path).unwrap();
    candle_core::quantized::gguf_file::write(&mut file, &[("general.architecture", &arch)], &[])
        .unwrap();
}

#[tokio::test]
async fn hub_model_is_fetched_into_the_cache_with_progress_events() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("bert.gguf");
    bert_gguf(&source);
    let bytes = std::fs::read(&source).unwrap();
    let (hub, task) = fake_hub(bytes.clone()).await;
    let cache = dir.path().join("hf-cache");
    let config = TeacherConfig {
        model: Some("acme/tiny-GGUF:tiny-bert.gguf".into()),
        hf_cache_dir: Some(cache.clone()),
        hf_endpoint: Some(hub),
        ..TeacherConfig::default()
    };
    let (sink, mut rx) = EventSink::channel(1024);
    let err = Teacher::from_config(&config, &sink).await.unwrap_err();
    // The file arrived and was then inspected: it is a bert model, which the teacher refuses.
    match &err {
        TeacherError::UnsupportedArchitecture { path, architecture } => {
            assert_eq!(architecture, "bert");
            assert!(path.starts_with(&cache), "{}", path.display());
            assert!(path.ends_with("tiny-bert.gguf"));
            assert_eq!(std::fs::read(path).unwrap(), bytes);
        }
        other => panic!("expected UnsupportedArchitecture, got {other:?}"),
    }
    assert!(
        cache
            .join("models--acme--tiny-GGUF/snapshots/1234567890abcdef1234567890abcdef12345678/tiny-bert.gguf")
            .exists()
    );
    drop(sink);
    let mut downloads = Vec::new();
    while let Some(event) = rx.recv().await {
        if let Event::ModelDownload {
            repo,
            file,
            done_bytes,
            total_bytes,
        } = event
        {
            assert_eq!(repo, "acme/tiny-GGUF");
            assert_eq!(file, "tiny-bert.gguf");
            downloads.push((done_bytes, total_bytes));
        }
    }
    let size = bytes.len() as u64;
    assert_eq!(downloads.first(), Some(&(0, size)), "{downloads:?}");
    assert_eq!(downloads.last(), Some(&(size, size)), "{downloads:?}");

    // With the Hub gone the cached copy is used.
    task.abort();
    let _ = task.await;
    let err = Teacher::from_config(&config, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TeacherError::UnsupportedArchitecture { .. }),
        "the cached file should be used offline, got {err:?}"
    );
}

#[tokio::test]
async fn unreachable_hub_without_a_cached_model_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = TeacherConfig {
        hf_cache_dir: Some(dir.path().to_path_buf()),
        hf_endpoint: Some("http://127.0.0.1:1".into()),
        ..TeacherConfig::default()
    };
    // No model configured: the default Hub model is wanted and cannot be fetched.
    let err = Teacher::from_config(&config, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(matches!(err, TeacherError::HubFetch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"),
        "{msg}"
    );
    assert!(msg.contains("--teacher-model <path.gguf>"), "{msg}");
    assert!(msg.contains("--teacher-url <url>"), "{msg}");
}

#[tokio::test]
async fn missing_local_model_file_says_what_to_do() {
    let config = TeacherConfig {
        model: Some("/nonexistent/models/m.gguf".into()),
        ..TeacherConfig::default()
    };
    let err = Teacher::from_config(&config, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(matches!(err, TeacherError::ModelNotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains("--teacher-model <path.gguf>"),
        "{err}"
    );
}

// ---------------------------------------------------------------- the embedded model

static LOCAL: tokio::sync::OnceCell<LocalTeacher> = tokio::sync::OnceCell::const_new();

/// The SmolLM2-135M test model, loaded once for all tests of this binary.
async fn local_teacher(test: &str) -> Option<LocalTeacher> {
    let path: PathBuf = support::require_test_model(test)?;
    let teacher = LOCAL
        .get_or_init(|| async move {
            let config = TeacherConfig {
                seed: Some(42),
                ..TeacherConfig::default()
            };
            LocalTeacher::load(&path, &config, &EventSink::discard())
                .await
                .unwrap()
        })
        .await;
    Some(teacher.clone())
}

fn greedy(messages: Vec<ChatMessage>, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        ..ChatRequest::new(messages)
    }
}

#[tokio::test]
async fn local_model_applies_its_chat_template() {
    let Some(teacher) = local_teacher("local_model_applies_its_chat_template").await else {
        return;
    };
    assert_eq!(teacher.architecture(), "llama");
    let prompt = teacher
        .render_prompt(&[ChatMessage::system("Be brief."), ChatMessage::user("Hi")])
        .unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    // Without a system message SmolLM2's own template adds its default one.
    let prompt = teacher.render_prompt(&[ChatMessage::user("Hi")]).unwrap();
    assert!(prompt.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"));
    // Special tokens in the prompt are single tokens, not spelled out.
    let ids = teacher.tokenize("<|im_start|>user\nHi<|im_end|>").unwrap();
    assert_eq!(ids.first(), Some(&1), "{ids:?}");
    assert_eq!(ids.last(), Some(&2), "{ids:?}");
    assert_eq!(ids.len(), 5, "{ids:?}");
    // The pre-tokenizer matches SmolLM2's tokenizer.json: no prefix space, digits one by one.
    assert_eq!(teacher.tokenize("Hello world").unwrap(), [19556, 905]);
    assert_ne!(
        teacher.tokenize("Hi").unwrap(),
        teacher.tokenize(" Hi").unwrap()
    );
    assert_eq!(teacher.tokenize("2024").unwrap().len(), 4);
}

#[tokio::test]
async fn local_model_reply_stops_at_max_tokens() {
    let Some(teacher) = local_teacher("local_model_reply_stops_at_max_tokens").await else {
        return;
    };
    let reply = teacher
        .chat(greedy(
            vec![ChatMessage::user(
                "Write a long story about a data analyst.",
            )],
            6,
        ))
        .await
        .unwrap();
    assert_eq!(reply.completion_tokens, Some(6));
    assert_eq!(reply.finish_reason.as_deref(), Some("length"));
    assert!(!reply.content.unwrap_or_default().trim().is_empty());
    assert!(reply.prompt_tokens.unwrap() > 10);
    assert_eq!(reply.attempts, 1);
}

#[tokio::test]
async fn local_model_reply_stops_at_a_stop_string() {
    let Some(teacher) = local_teacher("local_model_reply_stops_at_a_stop_string").await else {
        return;
    };
    let request = ChatRequest {
        stop: vec![",".into()],
        ..greedy(
            vec![ChatMessage::user(
                "List the numbers from 1 to 30, separated by commas.",
            )],
            80,
        )
    };
    let reply = teacher.chat(request).await.unwrap();
    let content = reply.content.unwrap();
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"), "{content:?}");
    assert!(!content.contains(','), "{content:?}");
    assert!(reply.completion_tokens.unwrap() < 80);
}

#[tokio::test]
async fn local_model_writes_an_extractable_python_block_when_asked() {
    let Some(teacher) =
        local_teacher("local_model_writes_an_extractable_python_block_when_asked").await
    else {
        return;
    };
    let reply = teacher
        .chat(greedy(
            vec![
                ChatMessage::system(
                    "You are a Python programmer. Answer with one ```python code block.",
                ),
                ChatMessage::user("Write Python code that prints the sum of the numbers 1 to 10."),
            ],
            160,
        ))
        .await
        .unwrap();
    let content = reply.content.unwrap();
    let fence = regex::Regex::new(r"(?s)```(?i:python|py)[ \t]*\n(.*?)(?:\n```|$)").unwrap();
    let code = fence
        .captures(&content)
        .map(|c| c[1].trim().to_string())
        .unwrap_or_default();
    assert!(!code.is_empty(), "no python block in {content:?}");
}

#[tokio::test]
async fn teacher_from_config_runs_the_local_model_when_no_endpoint_is_set() {
    let Some(path) = support::require_test_model(
        "teacher_from_config_runs_the_local_model_when_no_endpoint_is_set",
    ) else {
        return;
    };
    let config = TeacherConfig {
        model: Some(path.display().to_string()),
        threads: Some(1),
        ..TeacherConfig::default()
    };
    let (sink, mut rx) = EventSink::channel(64);
    let teacher = Teacher::from_config(&config, &sink).await.unwrap();
    drop(sink);
    assert!(matches!(teacher, Teacher::Local(_)));
    let info = teacher.model_info();
    assert_eq!(info.name, "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(info.base_url_host.as_deref(), Some("local"));
    assert_eq!(info.max_tokens, 512);
    let mut logs = Vec::new();
    while let Some(event) = rx.recv().await {
        if let Event::Log { msg, .. } = event {
            logs.push(msg);
        }
    }
    assert!(
        logs.iter()
            .any(|m| m.contains("loaded `SmolLM2-135M-Instruct.Q4_1.gguf` (llama architecture")),
        "{logs:?}"
    );
    let reply = teacher
        .chat(greedy(conversation("You are a data analyst."), 4))
        .await
        .unwrap();
    assert!(reply.content.is_some());
    assert_eq!(reply.completion_tokens, Some(4));
}

#[tokio::test]
async fn concurrent_local_requests_are_served_one_after_another() {
    let Some(teacher) =
        local_teacher("concurrent_local_requests_are_served_one_after_another").await
    else {
        return;
    };
    let ask = |question: &'static str| {
        let teacher = teacher.clone();
        async move {
            teacher
                .chat(greedy(vec![ChatMessage::user(question)], 3))
                .await
        }
    };
    let (a, b) = tokio::join!(ask("Name a colour."), ask("Name an animal."));
    assert_eq!(a.unwrap().completion_tokens, Some(3));
    assert_eq!(b.unwrap().completion_tokens, Some(3));
}

#[tokio::test]
async fn a_dropped_local_request_frees_the_model_at_once() {
    let Some(teacher) = local_teacher("a_dropped_local_request_frees_the_model_at_once").await
    else {
        return;
    };
    let long = {
        let teacher = teacher.clone();
        tokio::spawn(async move {
            teacher
                .chat(greedy(
                    vec![ChatMessage::user(
                        "Write a very long essay about statistics.",
                    )],
                    2000,
                ))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    long.abort();
    // Generating 2000 tokens takes minutes on this model; once the dropped request stops at
    // its next token, a short request gets the model within seconds.
    let started = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(30),
        teacher.chat(greedy(vec![ChatMessage::user("Say hi.")], 2)),
    )
    .await
    .expect("the model was still busy with the dropped request")
    .unwrap();
    assert_eq!(reply.completion_tokens, Some(2));
    assert!(started.elapsed() < Duration::from_secs(30));
}
