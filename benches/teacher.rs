//! Teacher benchmarks (prints figures; asserts nothing).
//!
//! - Endpoint client: latency per request of `EndpointTeacher::chat` against the scripted
//!   server's instant script, next to a bare `reqwest` POST of the same body (the difference is
//!   what the client adds: semaphore, retry wrapper, JSON building and parsing), and throughput
//!   at 32 requests in flight.
//! - Embedded model: tokens per second of the SmolLM2-135M test model (`CSVAGENT_TEST_MODEL`, or
//!   `.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf`) at 1 and 2 threads. candle sizes its
//!   matrix pool once per process, so each thread count runs in a child process of this binary
//!   with `CANDLE_NUM_THREADS` set; one more row shows `threads = 1` with candle's default pool.
//!   Each row also reads a ~2,500-token prompt (an episode's system prompt), generates after it,
//!   and reads another question sharing that prompt's beginning: the rows show what candle's
//!   spin-waiting matrix pool costs (the CLI and the app default `CANDLE_NUM_THREADS` to 1).
//!
//! Run: `cargo bench --bench teacher`.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use csvagent_sdk::events::EventSink;
use csvagent_sdk::teacher::scripted::{Script, ScriptedServer};
use csvagent_sdk::teacher::{
    ChatMessage, ChatRequest, EndpointTeacher, LocalTeacher, TeacherConfig,
};

const CHILD_ENV: &str = "CSVAGENT_BENCH_LOCAL_THREADS";
const GENERATED_TOKENS: u32 = 128;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(threads) = std::env::var(CHILD_ENV) {
        let threads: usize = threads.parse().unwrap();
        runtime.block_on(local_child(threads));
        return;
    }
    runtime.block_on(endpoint());
    local();
}

fn messages() -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("You analyse insurance.csv (1338 rows x 7 columns)."),
        ChatMessage::user("Begin. What is the mean of `charges`?"),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(label: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{label:<34} mean {:>7.1} us   p50 {:>7.1} us   p99 {:>7.1} us   (n = {})",
        mean.as_secs_f64() * 1e6,
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.len()
    );
    mean
}

async fn endpoint() {
    const N: usize = 500;
    let server = ScriptedServer::start(Script::instant(
        "Computing the mean.\n```python\nprint(df['charges'].mean())\n```",
    ))
    .await
    .unwrap();
    let teacher = EndpointTeacher::new(&server.teacher_config()).unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", server.url());
    let body = serde_json::json!({
        "model": "scripted", "messages": messages(), "temperature": 0.7, "top_p": 1.0, "max_tokens": 6000
    });
    for _ in 0..50 {
        teacher.chat(ChatRequest::new(messages())).await.unwrap();
        client
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let mut bare = Vec::with_capacity(N);
    let mut chat = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        let bytes = client
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let _: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        bare.push(t.elapsed());
        let t = Instant::now();
        teacher.chat(ChatRequest::new(messages())).await.unwrap();
        chat.push(t.elapsed());
    }
    println!("endpoint client against the scripted server (loopback, instant replies)");
    let bare_mean = summary("  bare reqwest POST + JSON parse", bare);
    let chat_mean = summary("  EndpointTeacher::chat", chat);
    println!(
        "  added by the client per request: {:.1} us",
        (chat_mean.as_secs_f64() - bare_mean.as_secs_f64()) * 1e6
    );
    let total = 2000;
    let started = Instant::now();
    let calls = (0..total).map(|_| {
        let t = teacher.clone();
        async move { t.chat(ChatRequest::new(messages())).await.unwrap() }
    });
    futures::future::join_all(calls).await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  throughput, {total} requests, 32 in flight (default limit): {:.0} requests/s",
        total as f64 / secs
    );
}

fn test_model() -> Option<PathBuf> {
    let path = std::env::var("CSVAGENT_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    path.is_file().then_some(path)
}

fn local() {
    println!();
    println!("embedded model (SmolLM2-135M Q4_1), {GENERATED_TOKENS} generated tokens, greedy");
    if test_model().is_none() {
        println!("  skipped: test model not found (set CSVAGENT_TEST_MODEL)");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for (threads, candle_env) in [(1, Some(1)), (2, Some(2)), (1, None)] {
        let mut child = Command::new(&exe);
        child.env(CHILD_ENV, threads.to_string());
        match candle_env {
            Some(n) => child.env("CANDLE_NUM_THREADS", n.to_string()),
            None => child.env_remove("CANDLE_NUM_THREADS"),
        };
        child.env_remove("RAYON_NUM_THREADS");
        let out = child.output().unwrap();
        let label = match candle_env {
            Some(n) => format!("threads = {threads}, CANDLE_NUM_THREADS={n}"),
            None => format!("threads = {threads}, CANDLE_NUM_THREADS unset"),
        };
        println!(
            "  {label:<44} {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
        if !out.status.success() {
            println!(
                "    failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
}

async fn local_child(threads: usize) {
    let path = test_model().unwrap();
    let config = TeacherConfig {
        threads: Some(threads),
        seed: Some(1),
        ..TeacherConfig::default()
    };
    let loading = Instant::now();
    let teacher = LocalTeacher::load(&path, &config, &EventSink::discard())
        .await
        .unwrap();
    let load_secs = loading.elapsed().as_secs_f64();
    let request = |max_tokens| ChatRequest {
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        ..ChatRequest::new(vec![ChatMessage::user(
            "Write a long, detailed story about a data analyst who explores a table of insurance charges.",
        )])
    };
    teacher.chat(request(8)).await.unwrap();
    let mut best = 0.0f64;
    let mut prompt_tokens = 0;
    let cpu_before = process_cpu_seconds();
    let generating = Instant::now();
    for _ in 0..3 {
        let started = Instant::now();
        let reply = teacher.chat(request(GENERATED_TOKENS)).await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        prompt_tokens = reply.prompt_tokens.unwrap_or(0);
        best = best.max(reply.completion_tokens.unwrap_or(0) as f64 / secs);
    }
    let cores = match (cpu_before, process_cpu_seconds()) {
        (Some(a), Some(b)) => format!(
            "{:.2} cores busy",
            (b - a) / generating.elapsed().as_secs_f64()
        ),
        _ => "cpu use unknown".to_string(),
    };
    println!(
        "{best:>6.1} tokens/s (best of 3, prompt {prompt_tokens} tokens, matrix pool {} threads, {cores}, load {load_secs:.2} s)",
        candle_core::utils::barrier_pool().n_workers() + 1
    );
    long_context(&teacher).await;
}

/// At an episode's size: reading a ~2,500-token system prompt, generating after it (the
/// conversation's cache is reused), and a second question whose prompt shares the beginning.
async fn long_context(teacher: &LocalTeacher) {
    let system = "The table has columns age, sex, bmi, children, smoker, region and charges; \
                  rows are insured people. "
        .repeat(110);
    let ask = |question: &str, max_tokens: u32| ChatRequest {
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        ..ChatRequest::new(vec![
            ChatMessage::system(system.clone()),
            ChatMessage::user(question.to_string()),
        ])
    };
    let started = Instant::now();
    let read = teacher
        .chat(ask("What is the mean charge?", 1))
        .await
        .unwrap();
    let read_secs = started.elapsed().as_secs_f64();
    let prompt = read.prompt_tokens.unwrap_or(0);
    let started = Instant::now();
    let reply = teacher
        .chat(ask("What is the mean charge?", GENERATED_TOKENS))
        .await
        .unwrap();
    let generated = reply.completion_tokens.unwrap_or(0) as f64;
    let gen_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    teacher
        .chat(ask("Which region pays most?", 1))
        .await
        .unwrap();
    let other_secs = started.elapsed().as_secs_f64();
    println!(
        "{:>46} prompt of {prompt} tokens read in {read_secs:.1} s ({:.0} tokens/s); then {:.1} tokens/s generated; \
         another question on the same prompt read in {other_secs:.2} s",
        "",
        prompt as f64 / read_secs,
        generated / gen_secs,
    );
}

/// User + system CPU time of this process from `/proc/self/stat` (Linux, 100 ticks a second).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
