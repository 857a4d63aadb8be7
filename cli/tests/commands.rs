//! The read-only commands and the preflight refusals, on a small data directory built from the
//! schema's valid example records (no Docker, no model): what a person sees from `status`,
//! `progress`, `stats`, `manifest`, `inspect`, `upload --dry-run` and `datasets list`, and that a
//! refused run exits 3 and writes nothing (issue 10).

#![allow(
    clippy::unwrap_used,
    reason = "integration test code: a panic is a test failure"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn example(schema: &str, name: &str) -> Value {
    let path = repo()
        .join("schema/examples")
        .join(schema)
        .join("valid")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A data directory with one procedural question and its verified episode on `clinic_visits`,
/// and the manifest line that records it.
struct Fixture {
    dir: tempfile::TempDir,
}

const EPISODE_ID: &str = "0b7c9a4e-3f55-4a8e-9a63-1b2f0d6c7e11";

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let mut q = example("question", "procedural.json");
        q["dataset"] = "clinic_visits".into();
        let qdir = data.join("questions/procedural/clinic_visits");
        std::fs::create_dir_all(&qdir).unwrap();
        std::fs::write(
            qdir.join("questions.json"),
            serde_json::to_string_pretty(&[q]).unwrap(),
        )
        .unwrap();
        let mut e = example("episode", "procedural.json");
        e["question"]["dataset"] = "clinic_visits".into();
        std::fs::create_dir_all(data.join("episodes/failures")).unwrap();
        std::fs::write(data.join("episodes/procedural.jsonl"), format!("{e}\n")).unwrap();
        let mut m = example("manifest_entry", "success.json");
        m["source"] = "procedural".into();
        m["dataset"] = "clinic_visits".into();
        m["episode_id"] = EPISODE_ID.into();
        std::fs::write(data.join("datagen_manifest.jsonl"), format!("{m}\n")).unwrap();
        Fixture { dir }
    }

    fn data(&self) -> &Path {
        self.dir.path()
    }

    /// Runs csvagent on this data directory and the example datasets.
    fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// Like [`Fixture::run`] with extra environment variables.
    fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut all = vec![
            "--data-dir".to_owned(),
            self.data().display().to_string(),
            "--datasets".to_owned(),
            repo().join("examples/datasets").display().to_string(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        csvagent_with_env(&all, env)
    }

    /// Every file under the data directory with its bytes, to prove that nothing changed.
    fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    out.push((p.clone(), Vec::new()));
                    walk(&p, out);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data(), &mut out);
        out
    }
}

fn csvagent(args: &[String]) -> Output {
    csvagent_with_env(args, &[])
}

/// csvagent with no teacher or Hub settings from the caller's environment, plus `env`.
fn csvagent_with_env(args: &[String], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_csvagent"))
        .args(args)
        .env_remove("CSVAGENT_TEACHER_URL")
        .env_remove("CSVAGENT_TEACHER_MODEL")
        .env_remove("HF_TOKEN")
        .env(
            "HF_HOME",
            std::env::temp_dir().join("csvagent-cli-test-no-hf-home"),
        )
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn all_output(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn status_reports_questions_episodes_and_the_next_command() {
    let fx = Fixture::new();
    let o = fx.run(&["status"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(out.contains("Datasets: 2 usable"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("procedural")
                && l.contains("1 records in 1 datasets")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("procedural")
            && l.contains("1 verified")
            && l.contains("1 total")),
        "{out}"
    );
    // The started source comes first, and the suggestion carries this command's directories.
    let expected = format!(
        "Next: csvagent --data-dir {} --datasets {} generate questions --procedural\n  \
         (1 of 2 usable datasets have no procedural questions file yet)",
        fx.data().display(),
        repo().join("examples/datasets").display()
    );
    assert!(out.contains(&expected), "expected {expected:?} in:\n{out}");

    // Once every dataset was tried and every question has an episode, the next source starts.
    let tried = fx.data().join("questions/procedural/coffee_shop_sales");
    std::fs::create_dir_all(&tried).unwrap();
    std::fs::write(tried.join("questions.json"), "[]").unwrap();
    let out = stdout(&fx.run(&["status"]));
    assert!(
        !out.contains("generate questions --procedural")
            && out.contains("run --template\n  (no template questions yet)"),
        "{out}"
    );

    let json: Value = serde_json::from_slice(&fx.run(&["status", "--json"]).stdout).unwrap();
    let procedural = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "procedural")
        .unwrap();
    assert_eq!(
        (
            procedural["question_records"].as_u64(),
            procedural["verified"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[test]
fn status_lists_a_malformed_artifact_and_exits_1() {
    let fx = Fixture::new();
    let file = fx.data().join("episodes/procedural.jsonl");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("{\"episode_id\": 12, \"_ground_truth\": 3}\n");
    std::fs::write(&file, text).unwrap();
    let o = fx.run(&["status"]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("procedural.jsonl") && out.contains("line 2"),
        "the report names the file and line:\n{out}"
    );
    assert!(
        out.contains("Next: fix or move aside the malformed files listed above"),
        "{out}"
    );
}

#[test]
fn status_without_usable_datasets_points_at_the_datasets_directory() {
    let fx = Fixture::new();
    let empty = tempfile::tempdir().unwrap();
    let o = csvagent(&[
        "--data-dir".to_owned(),
        fx.data().display().to_string(),
        "--datasets".to_owned(),
        empty.path().display().to_string(),
        "status".to_owned(),
    ]);
    let out = stdout(&o);
    assert!(out.contains("Datasets: 0 usable"), "{out}");
    assert!(
        out.contains(&format!(
            "Next: csvagent --data-dir {} --datasets {} datasets list\n  (no usable dataset",
            fx.data().display(),
            empty.path().display()
        )),
        "{out}"
    );
}

#[test]
fn progress_and_stats_describe_the_same_data() {
    let fx = Fixture::new();
    let progress = stdout(&fx.run(&["progress"]));
    assert!(
        progress.lines().any(|l| l.starts_with("procedural")
            && l.contains("1/1 processed")
            && l.contains("done")),
        "{progress}"
    );
    assert!(
        progress
            .lines()
            .any(|l| l.starts_with("template") && l.contains("questions in 0/2 datasets")),
        "{progress}"
    );
    assert!(
        progress.contains("generate questions --procedural\n  (1 of 2 usable datasets"),
        "progress names the next command too:\n{progress}"
    );

    let stats = stdout(&fx.run(&["stats"]));
    assert!(
        stats
            .lines()
            .any(|l| l.trim_start().starts_with("procedural") && l.contains("1/1")),
        "{stats}"
    );
    let gaps = stdout(&fx.run(&["stats", "--gaps"]));
    assert!(
        gaps.contains("procedural: 1 dataset(s) without questions: coffee_shop_sales"),
        "{gaps}"
    );
    assert!(
        gaps.contains("template: 2 dataset(s) without questions: clinic_visits, coffee_shop_sales"),
        "{gaps}"
    );
    // One episode is too few to judge a rate: said, not silently left out.
    assert!(
        gaps.contains("procedural: 0 dataset(s) with low verification")
            && gaps.contains(
                "procedural: 1 dataset(s) with fewer than 5 episodes, rate not judged yet: clinic_visits"
            ),
        "{gaps}"
    );
    let json: Value = serde_json::from_slice(&fx.run(&["stats", "--json"]).stdout).unwrap();
    assert!(json.is_object(), "{json}");
}

#[test]
fn manifest_summarises_entries_by_source_and_dataset() {
    let fx = Fixture::new();
    let out = stdout(&fx.run(&["manifest"]));
    assert!(out.contains("(1 entries)"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("clinic_visits") && l.contains("procedural") && l.contains("1 ok")),
        "{out}"
    );
}

#[test]
fn inspect_finds_questions_episodes_and_traces_by_prefix() {
    let fx = Fixture::new();
    let q = stdout(&fx.run(&["inspect", "questions", "--source", "procedural"]));
    assert!(q.contains("Found 1 questions across 1 datasets"), "{q}");
    let e = stdout(&fx.run(&["inspect", "episodes", "--verified"]));
    assert!(e.contains("1 episodes (1 verified)"), "{e}");

    let t = fx.run(&["inspect", "trace", "0b7c"]);
    let trace = stdout(&t);
    assert_eq!(t.status.code(), Some(0), "{}", all_output(&t));
    assert!(trace.contains(&format!("Episode {EPISODE_ID}")), "{trace}");
    assert!(
        trace.contains("--- turn 0 ---") && trace.contains("--- turn 1 ---"),
        "{trace}"
    );
    assert!(
        trace.contains("(grounded)"),
        "hooks show their grounding:\n{trace}"
    );

    let missing = fx.run(&["inspect", "trace", "ffff"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        all_output(&missing).contains("not found: ffff"),
        "{}",
        all_output(&missing)
    );

    // A second episode sharing the prefix makes `0b7c` ambiguous.
    let file = fx.data().join("episodes/procedural.jsonl");
    let line = std::fs::read_to_string(&file).unwrap();
    let twin = line.replace(EPISODE_ID, "0b7c0000-0000-4000-8000-000000000000");
    std::fs::write(&file, format!("{line}{twin}")).unwrap();
    let ambiguous = fx.run(&["inspect", "trace", "0b7c"]);
    let out = all_output(&ambiguous);
    assert_eq!(ambiguous.status.code(), Some(1), "{out}");
    assert!(
        out.contains(EPISODE_ID) && out.contains("0b7c0000-0000-4000-8000-000000000000"),
        "both candidates are named:\n{out}"
    );
}

fn assert_refused(fx: &Fixture, args: &[&str], reason: &str) {
    let before = fx.files();
    let o = fx.run(args);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(3), "{args:?}:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Fail-fast: ") && l.contains(reason)),
        "{args:?} must say `Fail-fast: ...{reason}`:\n{out}"
    );
    assert_eq!(fx.files(), before, "{args:?}: a refused run writes nothing");
}

#[test]
fn preflight_refusals_exit_3_and_write_nothing() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.data().join("questions_synthetic")).unwrap();
    assert_refused(&fx, &["run", "--procedural"], "legacy layout path exists");
    std::fs::remove_dir(fx.data().join("questions_synthetic")).unwrap();

    let lock = serde_json::json!({"pid": 1, "run_id": "r-other", "host": "another-host", "started_at": "2026-11-30T08:00:00Z"});
    std::fs::write(fx.data().join(".csvagent.lock"), lock.to_string()).unwrap();
    assert_refused(
        &fx,
        &["generate", "episodes", "--procedural"],
        "held by run r-other",
    );
    std::fs::remove_file(fx.data().join(".csvagent.lock")).unwrap();

    let questions = fx
        .data()
        .join("questions/procedural/clinic_visits/questions.json");
    std::fs::write(&questions, "{\"not\": \"an array\"}").unwrap();
    assert_refused(&fx, &["run", "--procedural"], "questions.json");
}

#[test]
fn a_dry_run_prints_the_plan_and_writes_nothing() {
    let fx = Fixture::new();
    let before = fx.files();
    let o = fx.run(&["run", "--all", "--dry-run"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(
        out.contains("clinic_visits") && out.contains("coffee_shop_sales"),
        "the plan names the datasets:\n{out}"
    );
    assert!(
        out.trim_end().ends_with("No changes made (dry run)"),
        "{out}"
    );
    assert_eq!(fx.files(), before);
}

#[test]
fn upload_dry_run_previews_the_card_and_files_without_a_token_and_writes_nothing() {
    let fx = Fixture::new();
    let before = fx.files();
    let o = fx.run(&["upload", "--repo", "someone/clinic-traces", "--dry-run"]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("data/procedural/train-00000-of-00001.parquet"),
        "{out}"
    );
    assert!(
        out.contains("--- README.md (dataset card) ---") && out.contains("task_categories:"),
        "{out}"
    );
    assert!(
        out.contains("procedural: 1 episodes selected, 1 questions"),
        "{out}"
    );
    assert!(out.contains("dry run: nothing written"), "{out}");
    let o = fx.run(&[
        "upload",
        "--repo",
        "someone/clinic-traces",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(json["outcome"].is_null(), "{json}");
    assert!(
        json["staged"]["card"]
            .as_str()
            .unwrap()
            .starts_with("---\n")
            && json["staged"]["files"].as_array().unwrap().len() >= 3,
        "{json}"
    );
    assert_eq!(
        fx.files(),
        before,
        "a dry run leaves the data directory as it was"
    );
}

#[test]
fn upload_dry_run_skips_a_torn_last_episode_line_and_says_so() {
    let fx = Fixture::new();
    let episodes = fx.data().join("episodes/procedural.jsonl");
    let mut text = std::fs::read_to_string(&episodes).unwrap();
    text.push_str("{\"episode_id\": \"cut-short");
    std::fs::write(&episodes, text).unwrap();
    let o = fx.run(&["upload", "--repo", "someone/clinic-traces", "--dry-run"]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("procedural: 1 episodes selected")
            && out.contains("skipped the incomplete last line 2"),
        "{out}"
    );

    // A corrupt line that is not the last one is still refused, naming file and line.
    let good = std::fs::read_to_string(&episodes).unwrap();
    let first = good.lines().next().unwrap().to_owned();
    std::fs::write(&episodes, format!("{{oops\n{first}\n")).unwrap();
    let o = fx.run(&["upload", "--repo", "someone/clinic-traces", "--dry-run"]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("procedural.jsonl line 1"), "{out}");
}

#[test]
fn upload_refuses_an_unknown_licence_a_bad_revision_or_source_as_usage_errors() {
    let fx = Fixture::new();
    // Without a token and without --dry-run: the flag is refused first, not the token.
    let o = fx.run(&[
        "upload",
        "--repo",
        "someone/clinic-traces",
        "--license",
        "MIT",
    ]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("invalid licence `MIT` (did you mean `mit`?)") && out.contains("cc-by-4.0"),
        "the error names the value and the valid ids:\n{out}"
    );
    assert!(!out.contains("no Hugging Face token"), "{out}");

    for bad in ["two words", "feature..x", "-x", "main.lock", ""] {
        let revision = format!("--revision={bad}");
        let o = fx.run(&[
            "upload",
            "--repo",
            "someone/clinic-traces",
            &revision,
            "--dry-run",
        ]);
        let out = all_output(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {out}");
        assert!(
            out.contains(&format!("invalid revision `{bad}`")),
            "{bad}: {out}"
        );
    }
    let o = fx.run(&[
        "upload",
        "--repo",
        "a/b",
        "--sources",
        "procedural,synth",
        "--dry-run",
    ]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("invalid artifact source `synth`"), "{out}");

    let o = fx.run(&[
        "upload",
        "--repo",
        "someone/clinic-traces",
        "--revision",
        "v2/draft",
        "--license",
        "cc-by-4.0",
        "--dry-run",
    ]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("license: cc-by-4.0"), "{out}");
}

#[test]
fn manifest_compact_refuses_to_drop_lines_or_race_a_run_and_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt as _;
    let fx = Fixture::new();
    let manifest = fx.data().join("datagen_manifest.jsonl");
    let good = std::fs::read_to_string(&manifest).unwrap();

    std::fs::write(&manifest, format!("{good}{{not json\n{good}")).unwrap();
    let before = fx.files();
    let o = fx.run(&["manifest", "--compact"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{}", all_output(&o));
    assert!(
        err.contains("line 2") && err.contains("compacting would drop these lines"),
        "{err}"
    );
    assert_eq!(fx.files(), before, "nothing written");
    // A resuming run refuses the malformed manifest line too, as status says.
    let o = fx.run(&["run", "--procedural", "--dry-run"]);
    assert_eq!(o.status.code(), Some(3), "{}", all_output(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("datagen_manifest.jsonl"));

    std::fs::write(&manifest, format!("{good}{good}")).unwrap();
    std::fs::set_permissions(&manifest, std::fs::Permissions::from_mode(0o640)).unwrap();
    let lock = serde_json::json!({"pid": 1, "run_id": "r-other", "host": "another-host", "started_at": "2026-11-30T08:00:00Z"});
    std::fs::write(fx.data().join(".csvagent.lock"), lock.to_string()).unwrap();
    let o = fx.run(&["manifest", "--compact"]);
    assert_eq!(o.status.code(), Some(3), "{}", all_output(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("held by run r-other"));
    std::fs::remove_file(fx.data().join(".csvagent.lock")).unwrap();

    let o = fx.run(&["manifest", "--compact", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["entries"], 1, "{json}");
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), good);
    let mode = std::fs::metadata(&manifest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the rewritten file keeps its permissions");
    assert!(
        !fx.data().join(".csvagent.lock").exists(),
        "the lock is released"
    );
}

#[test]
fn progress_and_stats_list_malformed_artifacts_and_exit_1() {
    let fx = Fixture::new();
    let episodes = fx.data().join("episodes/procedural.jsonl");
    let good = std::fs::read(&episodes).unwrap();
    let mut bytes = b"{\"episode_id\": \"caf\xe9\"}\n".to_vec();
    bytes.extend_from_slice(&good);
    std::fs::write(&episodes, bytes).unwrap();
    for args in [
        &["progress"][..],
        &["stats"],
        &["stats", "--gaps"],
        &["status"],
    ] {
        let o = fx.run(args);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", all_output(&o));
        assert!(
            out.contains("Malformed artifacts (not counted above)")
                && out.contains("procedural.jsonl line 1")
                && out.contains("not valid UTF-8"),
            "{args:?}: {out}"
        );
    }
    let o = fx.run(&["stats", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        json["malformed"].as_array().map(Vec::len),
        Some(1),
        "{json}"
    );
}

#[test]
fn an_episode_line_repeated_by_hand_counts_and_publishes_once() {
    let fx = Fixture::new();
    let episodes = fx.data().join("episodes/procedural.jsonl");
    let line = std::fs::read_to_string(&episodes).unwrap();
    std::fs::write(&episodes, format!("{line}{line}")).unwrap();
    let o = fx.run(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let procedural = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "procedural")
        .unwrap()
        .clone();
    assert_eq!(procedural["episodes"], 1, "{procedural}");
    let o = fx.run(&["upload", "--repo", "someone/clinic-traces", "--dry-run"]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("procedural: 1 episodes selected")
            && out.contains("skipped line(s) 2 of")
            && out.contains("repeats an earlier episode exactly"),
        "{out}"
    );

    // Two different records under one id: status lists it, upload refuses it.
    let mut other: Value = serde_json::from_str(line.trim()).unwrap();
    other["question"]["question_text"] = "Another question entirely?".into();
    std::fs::write(&episodes, format!("{line}{other}\n")).unwrap();
    let o = fx.run(&["status"]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    assert!(stdout(&o).contains("is also used by line 1 with a different record"));
    let o = fx.run(&["upload", "--repo", "someone/clinic-traces", "--dry-run"]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    assert!(all_output(&o).contains("procedural.jsonl line 2"));
}

#[test]
fn secrets_in_settings_and_urls_are_never_printed() {
    let fx = Fixture::new();
    // A numeric-looking key is a key (a string), accepted and not shown.
    let o = fx.run_with_env(&["status"], &[("CSVAGENT_LLM_API_KEY", "12345678")]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("API key set") && !out.contains("12345678"),
        "{out}"
    );
    // A model named by digits is a model name.
    let o = fx.run_with_env(&["status"], &[("CSVAGENT_LLM_MODEL", "123")]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));

    let config = fx.dir.path().join("secret.toml");
    std::fs::write(&config, "[llm]\napi_key = 987654321\n").unwrap();
    let o = fx.run(&["--config", &config.display().to_string(), "status"]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("key `llm.api_key`") && !out.contains("987654321"),
        "{out}"
    );
    std::fs::remove_file(&config).unwrap();

    let o = fx.run(&[
        "--teacher-url",
        "http://user:sk-hidden@127.0.0.1:9/v1",
        "--teacher-model",
        "m",
        "status",
    ]);
    let out = all_output(&o);
    assert!(!out.contains("sk-hidden"), "{out}");
    assert!(out.contains("LLM: 127.0.0.1:9"), "{out}");
    assert!(out.contains("http://user:***@127.0.0.1:9/v1"), "{out}");
}

#[test]
fn the_desktop_app_variables_choose_the_directories_and_an_empty_teacher_url_is_unset() {
    let fx = Fixture::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csvagent"));
    let o = cmd
        .args(["status", "--json"])
        .env("CSVAGENT_DATA_DIR", fx.data())
        .env("CSVAGENT_DATASETS", repo().join("examples/datasets"))
        .env("CSVAGENT_TEACHER_URL", "")
        .env_remove("CSVAGENT_TEACHER_MODEL")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["llm"]["host"], "local (embedded)", "{json}");
    assert!(
        json.to_string().contains("clinic_visits") && !json.to_string().contains("teacher-url"),
        "{json}"
    );
}

#[test]
fn generate_dry_runs_plan_only_their_stage_and_trace_prefixes_ignore_case() {
    let fx = Fixture::new();
    let o = fx.run(&["generate", "questions", "--procedural", "--dry-run"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(out.contains("Stages: procedural questions\n"), "{out}");
    let o = fx.run(&[
        "generate",
        "episodes",
        "--procedural",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["stages"].as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json["stages"][0]["kind"], "episodes", "{json}");

    let o = fx.run(&["inspect", "trace", &EPISODE_ID[..8].to_uppercase()]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(stdout(&o).contains(EPISODE_ID), "{}", stdout(&o));
    let o = fx.run(&["inspect", "trace", &EPISODE_ID[..8], "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["episode_id"], EPISODE_ID, "{json}");
    assert!(json["gold_trace"].is_object(), "{json}");
}

#[test]
fn upload_refuses_a_malformed_repository_name() {
    let fx = Fixture::new();
    let o = fx.run(&["upload", "--repo", "no-slash-here", "--dry-run"]);
    let out = all_output(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("no-slash-here"),
        "the error names the value:\n{out}"
    );
}

#[test]
fn datasets_list_shows_usable_and_skipped_datasets_with_reasons() {
    let messy = repo().join("tests/fixtures/messy").display().to_string();
    let o = csvagent(&["--datasets".into(), messy, "datasets".into(), "list".into()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(
        out.lines()
            .any(|l| l.starts_with("empty ") && l.contains("skipped: empty file")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("header_only ") && l.contains("skipped: no data rows")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("semicolon_decimal_comma ") && l.contains("semicolon")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("latin1 ") && l.contains("cp1252")),
        "{out}"
    );
    assert!(out.contains("14 usable, 2 skipped"), "{out}");

    let examples = repo().join("examples/datasets").display().to_string();
    let json: Value = serde_json::from_slice(
        &csvagent(&[
            "--datasets".into(),
            examples,
            "datasets".into(),
            "list".into(),
            "--json".into(),
        ])
        .stdout,
    )
    .unwrap();
    assert!(json.to_string().contains("clinic_visits"), "{json}");

    // A folder without data.csv is listed as skipped, not left out; hidden folders are not
    // candidates.
    let dir = tempfile::tempdir().unwrap();
    let clinic = repo().join("examples/datasets/clinic_visits");
    std::fs::create_dir(dir.path().join("clinic_visits")).unwrap();
    for f in ["data.csv", "meta.json"] {
        std::fs::copy(clinic.join(f), dir.path().join("clinic_visits").join(f)).unwrap();
    }
    std::fs::create_dir(dir.path().join("sales_2024")).unwrap();
    std::fs::write(dir.path().join("sales_2024/sales.csv"), "a,b\n1,2\n").unwrap();
    std::fs::create_dir(dir.path().join(".cache")).unwrap();
    let o = csvagent(&[
        "--datasets".into(),
        dir.path().display().to_string(),
        "datasets".into(),
        "list".into(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(
        out.lines()
            .any(|l| l.starts_with("sales_2024 ") && l.contains("skipped: no data.csv")),
        "{out}"
    );
    assert!(
        out.contains("1 usable, 1 skipped") && !out.contains(".cache"),
        "{out}"
    );
}

#[test]
fn out_of_range_counts_and_unknown_datasets_are_refused_with_the_valid_choices() {
    let fx = Fixture::new();
    for args in [
        &["inspect", "questions", "--source", "all", "--sample", "0"][..],
        &["inspect", "episodes", "--count", "0"],
        &["--slots", "0", "status"],
        &["run", "--procedural", "--max-questions", "0", "--dry-run"],
    ] {
        let o = fx.run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", all_output(&o));
        assert!(err.contains("0 is not in 1.."), "{args:?}: {err}");
    }

    let o = fx.run(&[
        "inspect",
        "questions",
        "--source",
        "all",
        "--dataset",
        "nosuch",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    assert!(
        stdout(&o).contains("Unknown dataset `nosuch`")
            && stdout(&o).contains("known datasets: clinic_visits, coffee_shop_sales"),
        "{}",
        all_output(&o)
    );
    let o = fx.run(&["inspect", "episodes", "--dataset", "nosuch"]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));

    let o = fx.run_with_env(&["status"], &[("CSVAGENT_MAJORITY_FRACTION", "2.5")]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("CSVAGENT_MAJORITY_FRACTION") && out.contains("below 1"),
        "{out}"
    );

    let o = fx.run(&["datasets", "profile", "nosuch"]);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("dataset `nosuch` not found")
            && out.contains("usable datasets: clinic_visits, coffee_shop_sales"),
        "{out}"
    );
}

#[test]
fn every_command_refuses_a_bad_setting_with_exit_2_naming_it() {
    let fx = Fixture::new();
    let before = fx.files();
    for args in [
        &["datasets", "list"][..],
        &["inspect", "questions", "--source", "all"],
        &["upload", "--repo", "someone/clinic-traces", "--dry-run"],
        &["stats"],
        &["run", "--procedural", "--dry-run"],
    ] {
        let o = fx.run_with_env(args, &[("CSVAGENT_LLM_TEMPERATURE", "-3")]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", all_output(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("CSVAGENT_LLM_TEMPERATURE"),
            "{args:?}: {}",
            all_output(&o)
        );
        let o = fx.run_with_env(args, &[("CSVAGENT_MAX_TURNS", "abc")]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", all_output(&o));
        assert!(
            err.contains("environment variable `CSVAGENT_MAX_TURNS`")
                && err.contains("key `max_turns`")
                && err.contains("\"abc\""),
            "{args:?}: {err}"
        );
        assert!(stdout(&o).is_empty(), "{args:?}: nothing else is printed");
    }

    let config = fx.data().join("bad.toml");
    std::fs::write(&config, "[sandbox]\nmax_containers = \"four\"\n").unwrap();
    let o = fx.run(&["--config", &config.display().to_string(), "manifest"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(
        err.contains("bad.toml") && err.contains("key `sandbox.max_containers`"),
        "{err}"
    );
    std::fs::remove_file(&config).unwrap();
    assert_eq!(fx.files(), before);
}

#[test]
fn a_dry_run_checks_the_teacher_like_a_real_start() {
    let fx = Fixture::new();
    let before = fx.files();
    let missing = fx.data().join("no-such-model.gguf").display().to_string();
    for args in [
        &["run", "--procedural", "--dry-run"][..],
        &["generate", "episodes", "--template", "--dry-run"],
        &["generate", "questions", "--llm-gen", "--dry-run"],
    ] {
        let mut all = vec!["--teacher-model", missing.as_str()];
        all.extend_from_slice(args);
        let o = fx.run(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", all_output(&o));
        assert!(
            err.contains("Fail-fast: teacher model file") && err.contains("no-such-model.gguf"),
            "{args:?}: {err}"
        );
    }
    // Generating template questions needs no teacher.
    let o = fx.run(&[
        "--teacher-model",
        &missing,
        "generate",
        "questions",
        "--template",
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert_eq!(fx.files(), before);
}

#[test]
fn inspect_reports_an_episodes_path_that_is_not_a_file() {
    let fx = Fixture::new();
    let episodes = fx.data().join("episodes/procedural.jsonl");
    std::fs::remove_file(&episodes).unwrap();
    std::fs::create_dir(&episodes).unwrap();
    for args in [
        &["inspect", "episodes"][..],
        &["inspect", "trace", &EPISODE_ID[..8]],
    ] {
        let o = fx.run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", all_output(&o));
        assert!(
            err.contains("procedural.jsonl") && err.contains("Is a directory"),
            "{args:?}: {err}"
        );
        assert_eq!(err.matches("Is a directory").count(), 1, "said once: {err}");
    }
}

#[test]
fn manifest_without_a_file_still_answers_in_json_and_a_file_as_data_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = csvagent(&[
        "--data-dir".into(),
        data.display().to_string(),
        "manifest".into(),
        "--json".into(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["entries"], 0, "{json}");

    std::fs::write(&data, "not a directory").unwrap();
    let o = csvagent(&[
        "--data-dir".into(),
        data.display().to_string(),
        "manifest".into(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not a directory"),
        "{}",
        all_output(&o)
    );
}
