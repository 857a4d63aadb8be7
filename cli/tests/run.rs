//! `csvagent run` end to end with Docker and the scripted teacher (an OpenAI-compatible server
//! started in the test that replies with each question's reference program): episodes verify,
//! `inspect` and `status` see them, a rerun resumes, `--fresh` moves old outputs aside, Ctrl-C
//! exits 130 with valid files, SIGTERM does the same and stops the run's containers, and a run
//! killed with SIGKILL resumes without duplicates (issues 8 and 10).

#![allow(
    clippy::unwrap_used,
    reason = "integration test code: a panic is a test failure"
)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use csvagent_sdk::sandbox::{SandboxConfig, image_status};
use csvagent_sdk::teacher::scripted::{Rule, Script, ScriptedServer};
use serde_json::Value;

const DATASET: &str = "clinic_visits";

/// Docker must be reachable; with `CSVAGENT_REQUIRE_ALL=1` (CI) its absence fails the test,
/// otherwise the test prints SKIPPED and returns.
fn require_docker(test: &str) -> bool {
    let ok = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CSVAGENT_REQUIRE_ALL").is_none(),
            "{test}: Docker is required (CSVAGENT_REQUIRE_ALL=1) but `docker info` fails"
        );
        eprintln!("SKIPPED {test}: Docker is not reachable");
    }
    ok
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A data directory and a datasets directory holding only `clinic_visits`.
struct Workspace {
    dir: tempfile::TempDir,
    teacher_url: String,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("datasets").join(DATASET);
        std::fs::create_dir_all(&target).unwrap();
        for f in ["data.csv", "meta.json"] {
            std::fs::copy(
                repo().join("examples/datasets").join(DATASET).join(f),
                target.join(f),
            )
            .unwrap();
        }
        Workspace {
            dir,
            teacher_url: String::new(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_csvagent"));
        c.arg("--data-dir")
            .arg(self.data())
            .arg("--datasets")
            .arg(self.dir.path().join("datasets"));
        if !self.teacher_url.is_empty() {
            c.args([
                "--teacher-url",
                &self.teacher_url,
                "--teacher-model",
                "scripted",
            ]);
        }
        c.args(args)
            .env("CSVAGENT_SANDBOX_MAX_CONTAINERS", "1")
            .env("CSVAGENT_LLM_RETRY_BASE_S", "0.01")
            // One question at a time, so an interruption lands between episodes.
            .env("CSVAGENT_EPISODE_CONCURRENCY", "1")
            .env_remove("CSVAGENT_TEACHER_API_KEY")
            .env_remove("OPENAI_API_KEY");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn questions(&self) -> Vec<Value> {
        let path = self
            .data()
            .join("questions/procedural")
            .join(DATASET)
            .join("questions.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Every line of a JSONL file, parsed; a line that does not parse fails the test.
    fn lines(&self, rel: &str) -> Vec<Value> {
        let path = self.data().join(rel);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Vec::new();
        };
        text.lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{}: bad line {l:?}: {e}", path.display()))
            })
            .collect()
    }

    fn episode_lines(&self) -> usize {
        std::fs::read_to_string(self.data().join("episodes/procedural.jsonl"))
            .map_or(0, |t| t.lines().count())
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A teacher reply that runs the question's reference program (it hooks every step and submits).
fn solving_reply(question: &Value) -> String {
    format!(
        "I follow the question step by step and record every intermediate value.\n```python\n{}\n```",
        question["code"].as_str().unwrap()
    )
}

/// Generates the procedural questions of `clinic_visits` through the CLI, then starts a scripted
/// teacher that answers each of them correctly after `delay`.
fn prepare(ws: &mut Workspace, rt: &tokio::runtime::Runtime, delay: Duration) -> ScriptedServer {
    let o = ws.run(&["generate", "questions", "--procedural"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let questions = ws.questions();
    assert!(questions.len() >= 6, "{} questions", questions.len());
    let script = questions.iter().fold(Script::new(), |s, q| {
        s.rule(
            Rule::matching(q["question_mechanical"].as_str().unwrap())
                .reply(solving_reply(q))
                .delay(delay),
        )
    });
    let server = rt.block_on(ScriptedServer::start(script)).unwrap();
    ws.teacher_url = server.url();
    server
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_run_verifies_resumes_and_moves_old_outputs_aside_with_fresh() {
    if !require_docker("a_run_verifies_resumes_and_moves_old_outputs_aside_with_fresh") {
        return;
    }
    let rt = runtime();
    let mut ws = Workspace::new();
    let _server = prepare(&mut ws, &rt, Duration::ZERO);

    let o = ws.run(&["run", "--procedural", "--max-questions", "1"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("procedural.jsonl"),
        "the summary names the episode file:\n{out}"
    );
    assert!(
        out.contains(&format!("{DATASET}: 1 episodes written (0 not verified)")),
        "the dataset line counts episodes:\n{out}"
    );
    let episodes = ws.lines("episodes/procedural.jsonl");
    assert_eq!(episodes.len(), 1, "{out}");
    assert_eq!(
        episodes[0]["verified"], true,
        "the reference program's answer verifies: {}",
        episodes[0]["verification"]
    );
    let id = episodes[0]["episode_id"].as_str().unwrap().to_owned();

    // The run's log holds every event of the run, one timestamped JSON line each.
    let run_id = episodes[0]["run_id"].as_str().unwrap();
    let log = ws.lines(&format!("logs/runs/{run_id}.log"));
    let types: Vec<&str> = log.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"run_started"), "{types:?}");
    // After the run, only the shutdown's container stops are logged.
    let finished = types.iter().position(|t| *t == "run_finished");
    assert!(finished.is_some(), "{types:?}");
    assert!(
        types[finished.unwrap_or(0) + 1..]
            .iter()
            .all(|t| *t == "container"),
        "{types:?}"
    );
    assert!(types.contains(&"episode_finished"), "{types:?}");
    assert!(log.iter().all(|l| l["timestamp"].is_string()), "{log:?}");

    let listed = text(&ws.run(&["inspect", "episodes", "--verified"]));
    assert!(listed.contains("1 episodes (1 verified)"), "{listed}");
    let trace = ws.run(&["inspect", "trace", &id[..8]]);
    assert_eq!(trace.status.code(), Some(0), "{}", text(&trace));
    assert!(
        text(&trace).contains(&format!("Episode {id}")) && text(&trace).contains("(grounded)"),
        "{}",
        text(&trace)
    );
    let status = text(&ws.run(&["status"]));
    assert!(
        status
            .lines()
            .any(|l| l.trim_start().starts_with("procedural") && l.contains("1 verified")),
        "{status}"
    );

    // The same command again resumes: the finished question is not run again, the next one is
    // (`--max-questions` counts after resume filtering).
    let again = ws.run(&["run", "--procedural", "--max-questions", "1"]);
    let out = text(&again);
    assert_eq!(again.status.code(), Some(0), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("procedural questions") && l.contains("skipped")),
        "questions are reused:\n{out}"
    );
    let episodes = ws.lines("episodes/procedural.jsonl");
    assert_eq!(episodes.len(), 2, "{out}");
    assert_eq!(
        episodes[0]["episode_id"],
        id.as_str(),
        "the first episode is kept as it was"
    );
    assert_ne!(
        episodes[0]["question"]["id"], episodes[1]["question"]["id"],
        "a finished question is never rerun"
    );

    // --fresh moves the old outputs to .previous/<stamp>/ and starts over.
    let fresh = ws.run(&["run", "--procedural", "--max-questions", "1", "--fresh"]);
    assert_eq!(fresh.status.code(), Some(0), "{}", text(&fresh));
    let previous: Vec<PathBuf> = std::fs::read_dir(ws.data().join(".previous"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(previous.len(), 1, "{previous:?}");
    let old = std::fs::read_to_string(previous[0].join("episodes/procedural.jsonl")).unwrap();
    assert!(
        old.contains(&id) && old.lines().count() == 2,
        "the old episodes moved aside intact"
    );
    assert_eq!(ws.episode_lines(), 1, "one new episode after --fresh");
    assert!(
        !std::fs::read_to_string(ws.data().join("episodes/procedural.jsonl"))
            .unwrap()
            .contains(&id)
    );
}

/// Waits until the episode file has at least `n` lines (or fails after two minutes).
fn wait_for_episodes(ws: &Workspace, child: &mut Child, n: usize) {
    let start = Instant::now();
    while ws.episode_lines() < n {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before writing {n} episode(s)");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no episode after two minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `SIG<signal>` to the run and waits (at most a minute) for it to exit.
fn signal_and_wait(mut child: Child, signal: &str) -> (std::process::ExitStatus, Output) {
    let signalled = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "SIG{signal} did not stop the run within a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, child.wait_with_output().unwrap())
}

#[test]
fn ctrl_c_exits_130_and_a_killed_run_resumes_without_duplicates() {
    if !require_docker("ctrl_c_exits_130_and_a_killed_run_resumes_without_duplicates") {
        return;
    }
    let rt = runtime();
    let mut ws = Workspace::new();
    let _server = prepare(&mut ws, &rt, Duration::from_millis(1500));
    let args = ["run", "--procedural", "--max-questions", "4"];

    // SIGKILL after the first episode: no chance to clean up.
    let mut child = ws.spawn(&args);
    wait_for_episodes(&ws, &mut child, 1);
    child.kill().unwrap();
    child.wait().unwrap();

    // The next run repairs what the kill left (a torn line, a missing manifest entry, the lock)
    // and runs up to four more questions.
    let o = ws.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let episodes = ws.lines("episodes/procedural.jsonl");
    let mut per_question: BTreeMap<String, usize> = BTreeMap::new();
    for e in &episodes {
        *per_question
            .entry(e["question"]["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        per_question.values().all(|&n| n == 1),
        "every question exactly once: {per_question:?}"
    );
    assert!(
        per_question.len() >= 5,
        "the killed run's episode plus four more: {per_question:?}"
    );
    let manifest = ws.lines("datagen_manifest.jsonl");
    let mut fingerprints: Vec<&str> = manifest
        .iter()
        .map(|m| m["fingerprint"].as_str().unwrap())
        .collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(
        (manifest.len(), fingerprints.len()),
        (episodes.len(), episodes.len()),
        "one manifest entry per episode"
    );
    let done = episodes.len();

    // Ctrl-C during the next questions: exit 130, and every written line is valid.
    let mut child = ws.spawn(&["run", "--procedural", "--max-questions", "8"]);
    wait_for_episodes(&ws, &mut child, done + 1);
    let (status, out) = signal_and_wait(child, "INT");
    assert_eq!(status.code(), Some(130), "{}", text(&out));
    let episodes = ws.lines("episodes/procedural.jsonl");
    assert!(
        (done + 1..done + 8).contains(&episodes.len()),
        "{} episodes",
        episodes.len()
    );
    ws.lines("datagen_manifest.jsonl");
    assert!(
        !ws.data().join(".csvagent.lock").exists(),
        "the run lock is released"
    );
}

#[test]
fn sigterm_stops_a_run_like_ctrl_c_and_stops_its_containers() {
    if !require_docker("sigterm_stops_a_run_like_ctrl_c_and_stops_its_containers") {
        return;
    }
    let rt = runtime();
    let mut ws = Workspace::new();
    let _server = prepare(&mut ws, &rt, Duration::from_millis(1500));
    let mut child = ws.spawn(&["run", "--procedural", "--max-questions", "6"]);
    wait_for_episodes(&ws, &mut child, 1);

    // The run's id is in its lock; its sandbox containers carry it.
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.data().join(".csvagent.lock")).unwrap())
            .unwrap();
    let run_id = lock["run_id"].as_str().unwrap().to_owned();
    let containers = || {
        support::run_containers(
            &rt.block_on(image_status(&SandboxConfig::default())),
            &run_id,
        )
    };
    assert!(containers() > 0, "the run has containers");

    let (status, out) = signal_and_wait(child, "TERM");
    assert_eq!(status.code(), Some(130), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted (SIGTERM)"),
        "{}",
        text(&out)
    );
    assert!(
        !ws.data().join(".csvagent.lock").exists(),
        "the run lock is released"
    );
    assert_eq!(
        containers(),
        0,
        "the run's containers are stopped and removed"
    );
    // Every written line parses (`lines` fails on a malformed one).
    assert!(!ws.lines("episodes/procedural.jsonl").is_empty());
    ws.lines("datagen_manifest.jsonl");
}
