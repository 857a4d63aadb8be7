//! Upload to a Hub-compatible server (SPEC 9): staging, splits, Parquet round trip, card,
//! repository creation, no-op re-upload, one-commit updates and every error case.
//!
//! The server is `upload/fake_hub.rs`, a local HTTP server speaking the endpoints hf-hub 1.x
//! calls. Episodes are built from the golden record shapes with the real Kaggle datasets' names,
//! hashes and `meta.json`.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod support;

#[path = "upload/fake_hub.rs"]
mod fake_hub;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use csvagent_sdk::events::{Event, EventSink};
use csvagent_sdk::publish::{
    EpisodeRow, HubAuth, PublishError, RepoId, RetryPolicy, Split, StagedUpload, UploadOptions,
    assign_split, parse_card, read_episode_rows, read_question_rows, stage, upload,
};
use csvagent_sdk::record::{DataLayout, JsonlAppender, write_questions};
use csvagent_sdk::schema::{Episode, Question, Source};
use csvagent_sdk::verify::{answer_hash, sha256_hex};
use fake_hub::{FakeHub, Fault};
use serde_json::{Value, json};

const TOKEN: &str = "hf_TestTokenDoNotLeak0123456789";

/// A data directory with episodes and questions for every real dataset and source.
struct Fixture {
    _tmp: tempfile::TempDir,
    layout: DataLayout,
    datasets: PathBuf,
    episodes: Vec<Episode>,
}

fn golden(kind: &str, source: &str, datasets: &Path) -> Value {
    let path = datasets
        .parent()
        .unwrap()
        .join("fixtures/golden")
        .join(kind)
        .join(format!("{source}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Answers of every JSON kind, including falsy ones.
fn answer(i: usize) -> Value {
    let answers = [
        json!(42.5),
        json!(0),
        json!(false),
        json!("Northeast"),
        json!({"column": "age", "mean": 39.2074}),
        json!([1, 2.5, "x", null]),
        json!(1_234_567),
        json!(""),
    ];
    answers[i % answers.len()].clone()
}

fn episode_json(
    base: &Value,
    source: Source,
    dataset: &str,
    hash: &str,
    n: usize,
    verified: bool,
) -> Value {
    let mut e = base.clone();
    let s = source.as_str();
    let qid = format!("{}_{dataset}_q{n}", &s[..3]);
    let gt = answer(n);
    let final_answer = if verified { gt.clone() } else { json!(-1) };
    e["episode_id"] = json!(format!("00000000-0000-4000-8000-{:012x}", n));
    e["timestamp"] = json!(format!(
        "2026-02-16T09:{:02}:{:02}.345Z",
        n / 60 % 60,
        n % 60
    ));
    e["run_id"] = json!("11111111-2222-4333-8444-555555555555");
    e["csv_source"] = json!(format!("data/datasets/{dataset}/data.csv"));
    e["dataset_hash"] = json!(hash);
    e["model"] = json!({"name": "Qwen2.5-Coder-7B-Instruct", "base_url_host": "llm.internal",
        "temperature": 0.2, "top_p": 0.95, "max_tokens": 2048});
    let q = &mut e["question"];
    q["id"] = json!(qid);
    q["dataset"] = json!(dataset);
    q["source"] = json!(s);
    q["question_text"] = json!(format!("[{s}] Question {n} about `{dataset}`?"));
    q["program_name"] = if source == Source::Procedural {
        json!("mean_program")
    } else {
        Value::Null
    };
    q["program_ops"] = if source == Source::Procedural {
        json!(["select_numeric_cols", "bind_numeric_col", "mean"])
    } else {
        Value::Null
    };
    if source != Source::LlmGen {
        q["ground_truth"] = gt.clone();
        q["ground_truth_hash"] = json!(answer_hash(&gt));
        q["ground_truth_hashes"] = json!([answer_hash(&gt)]);
        q["accepted_answers"] = json!([gt]);
    } else {
        q["accepted_answers"] = Value::Null;
    }
    let failing = json!({
        "turn_index": 0, "assistant_message_index": 2, "feedback_message_index": 3,
        "reasoning": "Look at the column.", "code": "m = df['age'].mean()",
        "execution": {"status": "error", "success": false, "stdout": "",
            "stderr": "Traceback (most recent call last):\nKeyError: 'age'", "hooks": [],
            "submitted_answer": null, "exception": {"type": "KeyError", "message": "'age'"},
            "elapsed_ms": 12, "truncated": false},
        "submission": null, "correction": null
    });
    let succeeding = json!({
        "turn_index": 1, "assistant_message_index": 4, "feedback_message_index": 5,
        "reasoning": "The column is capitalised; retry with Age.",
        "code": "m = df['Age'].mean()\nhook(m, \"m = df['Age'].mean()\", name='m')\nsubmit(m)",
        "execution": {"status": "ok", "success": true, "stdout": "📍 Hook m = 39.2\n✓ Submitted",
            "stderr": "", "hooks": [{"variable_name": "m", "code_line": "m = df['Age'].mean()",
                "value": {"mean": 39.2074, "n": 1338}, "value_hash": "0123456789abcdef",
                "depends_on": [], "description": null, "ungrounded_reason": null}],
            "submitted_answer": final_answer, "exception": null, "elapsed_ms": 84,
            "truncated": false},
        "submission": {"status": "accepted", "reasons": []},
        "correction": {"corrects_turn": 0, "error_type": "KeyError", "error_message": "'age'",
            "attempts_since_error": 1, "code_diff": {"removed_lines": ["m = df['age'].mean()"],
            "added_lines": ["m = df['Age'].mean()"]}}
    });
    let trace = &mut e["gold_trace"];
    trace["turns"] = json!([failing, succeeding]);
    trace["final_answer"] = final_answer.clone();
    trace["final_answer_hash"] = json!(answer_hash(&final_answer));
    trace["stop_reason"] = json!("submitted");
    trace["error"] = Value::Null;
    trace["format_retries"] = json!(0);
    trace["messages"] = json!([
        {"role": "system", "content": "You are a data analyst. Use `submit(answer)`."},
        {"role": "user", "content": format!("Question {n} about `{dataset}`?\nHint: mean")},
        {"role": "assistant", "content": "Look at the column.\n```python\nm = df['age'].mean()\n```"},
        {"role": "user", "content": "KeyError: 'age'"},
        {"role": "assistant", "content": "Retry with Age.\n```python\nsubmit(m)\n```"},
        {"role": "user", "content": "✓ Submitted"}
    ]);
    trace["llm_calls"] = json!([
        {"sent": [0, 1], "received": 2, "finish_reason": "stop", "prompt_tokens": 100,
            "completion_tokens": 20, "attempts": 1, "elapsed_ms": 900},
        {"sent": [0, 1, 2, 3], "received": 4, "finish_reason": "stop", "prompt_tokens": 140,
            "completion_tokens": 25, "attempts": 1, "elapsed_ms": 1100}
    ]);
    trace["elapsed_seconds"] = json!(2.5);
    e["verified"] = json!(verified);
    e["verification"] = if source == Source::LlmGen {
        json!({"method": "triangulation", "matched_by": null, "error": null})
    } else {
        json!({"method": "ground_truth", "matched_by": if verified { json!("hash") } else { Value::Null },
            "error": if verified { Value::Null } else { json!("answer_mismatch") }})
    };
    if source == Source::LlmGen {
        e["triangulation"]["required_majority"] = json!(2);
        e["triangulation"]["has_majority"] = json!(true);
        e["triangulation"]["clusters"] = json!([{"representative_hash": answer_hash(&final_answer), "size": 2, "members": [0, 1]}]);
    }
    e["timing"]["gold_elapsed"] = json!(2.5);
    e["timing"]["total_elapsed"] = json!(2.5 + n as f64);
    e["provenance"] = json!({"csvagent_version": "0.1.0", "image_tag": "csvagent-sandbox:0.1.0",
        "versions": {"python": "3.11.2", "pandas": "2.3.3", "numpy": "2.3.5"}});
    e
}

fn question_json(base: &Value, ep: &Value, source: Source) -> Value {
    let mut q = base.clone();
    let p = &ep["question"];
    for key in [
        "id",
        "dataset",
        "question_text",
        "hint",
        "difficulty",
        "n_steps",
        "output_schema",
        "ground_truth",
        "ground_truth_hash",
        "ground_truth_hashes",
        "accepted_answers",
    ] {
        q[key] = p[key].clone();
    }
    q["source"] = json!(source.as_str());
    q["dataset_hash"] = ep["dataset_hash"].clone();
    let obj = q.as_object_mut().unwrap();
    obj.remove("program_name");
    obj.remove("program_ops");
    match source {
        Source::Template => {
            q["template_name"] = json!("mean_template");
            q["template_params"] = json!({"column": "Age"});
        }
        Source::Procedural => {
            q["program_name"] = p["program_name"].clone();
            q["program_ops"] = p["program_ops"].clone();
        }
        Source::LlmGen => {
            q["code"] = Value::Null;
            q["code_hash"] = Value::Null;
            q["question_mechanical"] = Value::Null;
        }
    }
    q
}

/// Two episodes per (dataset, source) over all eleven datasets; every third dataset's second
/// episode is unverified.
fn fixture(datasets: &Path) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let layout = DataLayout::new(tmp.path().join("data"));
    let mut names: Vec<String> = std::fs::read_dir(datasets)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("data.csv").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 5,
        "need at least five datasets, found {names:?}"
    );
    let mut episodes = Vec::new();
    let mut n = 0;
    for source in Source::ALL {
        let base = golden("episodes", source.as_str(), datasets);
        let qbase = golden("questions", source.as_str(), datasets);
        let writer = JsonlAppender::open(&layout.episodes_file(source)).unwrap();
        for (d, name) in names.iter().enumerate() {
            let hash = sha256_hex(&std::fs::read(datasets.join(name).join("data.csv")).unwrap());
            let mut questions = Vec::new();
            for k in 0..2 {
                n += 1;
                let verified = !(k == 1 && d % 3 == 0);
                let value = episode_json(&base, source, name, &hash, n, verified);
                let episode: Episode = serde_json::from_value(value.clone()).unwrap();
                writer.append(&episode).unwrap();
                let q: Question =
                    serde_json::from_value(question_json(&qbase, &value, source)).unwrap();
                questions.push(q);
                episodes.push(episode);
            }
            write_questions(&layout.questions_file(source, name), &questions).unwrap();
        }
    }
    Fixture {
        _tmp: tmp,
        layout,
        datasets: datasets.to_path_buf(),
        episodes,
    }
}

fn options(repo: &str) -> UploadOptions {
    let mut opts = UploadOptions::new(RepoId::parse(repo).unwrap());
    opts.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
    };
    opts
}

fn collecting_sink() -> (EventSink, Arc<Mutex<Vec<Event>>>) {
    let (sink, mut rx) = EventSink::channel(1024);
    let events = Arc::new(Mutex::new(Vec::new()));
    let store = events.clone();
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            store.lock().unwrap().push(e);
        }
    });
    (sink, events)
}

fn staged(fx: &Fixture, opts: &UploadOptions) -> StagedUpload {
    stage(&fx.layout, &fx.datasets, opts, &EventSink::discard()).unwrap()
}

/// Matches a card `data_files` glob (`dir/prefix-*.parquet`) against a repository path.
fn glob_matches(glob: &str, path: &str) -> bool {
    let (head, tail) = glob.split_once('*').unwrap_or((glob, ""));
    path.starts_with(head) && path.ends_with(tail) && !path[head.len()..].contains('/')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_of_real_episodes_produces_a_repository_a_hub_user_recognises() {
    let Some(datasets) = support::require_shared_datasets("upload_real_episodes") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    let mut opts = options("csvagent-test/traces");
    opts.include_csvs = true;
    let staged = staged(&fx, &opts);
    let (sink, events) = collecting_sink();
    let outcome = upload(&staged, &opts, &HubAuth::new(TOKEN, hub.endpoint()), &sink)
        .await
        .unwrap();
    assert!(outcome.created && !outcome.unchanged);
    assert!(outcome.commit.is_some());
    assert_eq!(
        outcome.url,
        format!("{}/datasets/csvagent-test/traces", hub.endpoint())
    );

    // The repository was created as a public dataset repository.
    let create = hub
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/repos/create")
        .unwrap();
    assert_eq!(
        create.json(),
        json!({"name": "traces", "organization": "csvagent-test", "private": false, "type": "dataset"})
    );
    let repo = hub.repo("csvagent-test/traces").unwrap();
    assert!(!repo.private);

    // One commit holding exactly the staged files.
    let main = repo.main();
    assert_eq!(main.commits.len(), 2, "initial commit + ours");
    let ours = &main.commits[1];
    assert!(
        ours.summary.starts_with("csvagent upload: "),
        "{}",
        ours.summary
    );
    let staged_paths: BTreeSet<&str> = staged
        .files
        .iter()
        .map(|f| f.path_in_repo.as_str())
        .collect();
    let committed: BTreeSet<&str> = ours.added.iter().map(String::as_str).collect();
    assert_eq!(committed, staged_paths);
    for f in &staged.files {
        assert_eq!(
            main.files[&f.path_in_repo],
            std::fs::read(&f.local_path).unwrap(),
            "{}",
            f.path_in_repo
        );
    }
    // Large files went through hf-hub's large-file negotiation (LFS batch), by SHA-256.
    let batch: Vec<Value> = hub
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/info/lfs/objects/batch"))
        .map(|r| r.json())
        .collect();
    let negotiated: BTreeSet<String> = batch
        .iter()
        .flat_map(|b| b["objects"].as_array().unwrap().clone())
        .map(|o| o["oid"].as_str().unwrap().to_owned())
        .collect();
    for f in staged
        .files
        .iter()
        .filter(|f| f.path_in_repo.ends_with(".parquet"))
    {
        assert!(
            negotiated.contains(&f.sha256),
            "{} not negotiated",
            f.path_in_repo
        );
    }

    // The card parses, and its configs point at existing files.
    let card_text = String::from_utf8(main.files["README.md"].clone()).unwrap();
    let yaml = card_text
        .strip_prefix("---\n")
        .and_then(|r| r.split_once("\n---\n"))
        .unwrap()
        .0;
    let front: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
    assert_eq!(front["license"].as_str(), Some("other"));
    assert_eq!(front["pretty_name"].as_str(), Some("traces (csvagent)"));
    let seq = |key: &str| -> Vec<String> {
        front[key]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(seq("language"), ["en"]);
    assert_eq!(
        seq("task_categories"),
        ["table-question-answering", "question-answering"]
    );
    assert_eq!(seq("size_categories"), ["n<1K"]);
    let tags = seq("tags");
    for t in [
        "tabular",
        "data-analysis",
        "code",
        "agent-traces",
        "csvagent",
        "healthcare",
    ] {
        assert!(tags.contains(&t.to_owned()), "{t} missing from {tags:?}");
    }
    let (meta, body) = parse_card(&card_text).unwrap();
    let names: Vec<&str> = meta
        .configs
        .iter()
        .map(|c| c.config_name.as_str())
        .collect();
    assert_eq!(names, ["template", "procedural", "llm_gen", "questions"]);
    assert!(meta.configs[0].default && !meta.configs[1].default);
    for config in &meta.configs {
        for files in &config.data_files {
            assert!(
                main.files.keys().any(|p| glob_matches(&files.path, p)),
                "config {} split {} points at nothing: {}",
                config.config_name,
                files.split,
                files.path
            );
        }
    }
    for split in ["train", "validation", "test"] {
        assert!(
            meta.configs[0].data_files.iter().any(|f| f.split == split),
            "no {split} split"
        );
    }
    assert!(
        body.contains("Medical Cost Personal Datasets"),
        "datasets table lacks titles"
    );
    assert!(body.contains("mirichoi0218/insurance"));
    assert!(body.contains("Qwen2.5-Coder-7B-Instruct"));
    assert!(body.contains("pandas 2.3.3"));

    // Parquet reads back to the same (verified) episodes; no dataset is in two splits.
    let expected: BTreeMap<String, &Episode> = fx
        .episodes
        .iter()
        .filter(|e| e.verified)
        .map(|e| (e.episode_id.clone(), e))
        .collect();
    let mut seen = BTreeMap::new();
    let mut split_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, bytes) in main.files.iter().filter(|(p, _)| p.starts_with("data/")) {
        let split = path
            .rsplit('/')
            .next()
            .unwrap()
            .split('-')
            .next()
            .unwrap()
            .to_owned();
        for row in read_episode_rows(bytes).unwrap() {
            assert!(path.starts_with(&format!("data/{}/", row.source)));
            split_of
                .entry(row.dataset.clone())
                .or_default()
                .insert(split.clone());
            seen.insert(row.episode_id.clone(), row);
        }
    }
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (id, row) in &seen {
        let ep = expected[id];
        let dataset = ep.question.dataset.as_deref().unwrap();
        assert_eq!(
            row,
            &EpisodeRow::from_episode(ep, dataset, ep.dataset_hash.as_deref().unwrap())
        );
        // And directly against the source record, not only through the projection.
        assert_eq!(row.question_text, ep.question.question_text);
        assert_eq!(row.turns.len(), ep.gold_trace.turns.len());
        for (t, turn) in row.turns.iter().zip(&ep.gold_trace.turns) {
            assert_eq!(t.code, turn.code);
            assert_eq!(t.stderr, turn.execution.stderr);
            assert_eq!(t.hooks.len(), turn.execution.hooks.len());
            for (h, hook) in t.hooks.iter().zip(&turn.execution.hooks) {
                let value: Value = serde_json::from_str(h.value.as_deref().unwrap()).unwrap();
                assert_eq!(answer_hash(&value), answer_hash(&hook.value));
            }
        }
        let messages = ep.gold_trace.messages.as_ref().unwrap();
        assert_eq!(row.messages.len(), messages.len());
        assert!(
            row.messages
                .iter()
                .zip(messages)
                .all(|(m, s)| m.content == s.content)
        );
        let final_answer: Value =
            serde_json::from_str(row.final_answer.as_deref().unwrap()).unwrap();
        assert_eq!(
            answer_hash(&final_answer),
            answer_hash(&ep.gold_trace.final_answer)
        );
        assert_eq!(row.verified, ep.verified);
    }
    assert!(split_of.values().all(|s| s.len() == 1), "{split_of:?}");
    for d in &staged.datasets {
        assert_eq!(d.split, assign_split(&opts.split, &d.dataset_hash));
    }

    // Questions: every question of every source; CSVs byte-identical.
    let q_rows =
        read_question_rows(&main.files["questions/procedural-00000-of-00001.parquet"]).unwrap();
    assert_eq!(
        q_rows.len(),
        fx.episodes
            .iter()
            .filter(|e| e.source == Source::Procedural)
            .count()
    );
    assert!(
        q_rows
            .iter()
            .all(|q| q.program_ops.as_ref().is_some_and(|o| o.len() == 3))
    );
    let insurance = datasets.join("mirichoi0218_insurance/data.csv");
    assert_eq!(
        main.files["datasets/mirichoi0218_insurance/data.csv"],
        std::fs::read(insurance).unwrap()
    );
    assert!(
        main.files
            .contains_key("datasets/mirichoi0218_insurance/meta.json")
    );

    let events = events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Upload { phase, .. } if phase == "committing"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_columns_are_real_nested_types_not_json_strings() {
    let Some(datasets) = support::require_shared_datasets("parquet_nested_types") else {
        return;
    };
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let fx = fixture(&datasets);
    let staged = staged(&fx, &options("o/n"));
    let file = staged
        .files
        .iter()
        .find(|f| f.path_in_repo == "data/llm_gen/train-00000-of-00001.parquet")
        .unwrap();
    let bytes = bytes::Bytes::from(std::fs::read(&file.local_path).unwrap());
    let schema = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .schema()
        .clone();
    let DataType::List(turn) = schema.field_with_name("turns").unwrap().data_type() else {
        panic!("turns is not a list");
    };
    let DataType::Struct(turn_fields) = turn.data_type() else {
        panic!("a turn is not a struct");
    };
    let hooks = turn_fields.iter().find(|f| f.name() == "hooks").unwrap();
    assert!(
        matches!(hooks.data_type(), DataType::List(h) if matches!(h.data_type(), DataType::Struct(_)))
    );
    assert!(matches!(
        schema.field_with_name("messages").unwrap().data_type(),
        DataType::List(m) if matches!(m.data_type(), DataType::Struct(f) if f.len() == 2)
    ));
    for name in ["triangulation", "timing", "model"] {
        assert!(matches!(
            schema.field_with_name(name).unwrap().data_type(),
            DataType::Struct(_)
        ));
    }
    assert_eq!(
        schema.field_with_name("verified").unwrap().data_type(),
        &DataType::Boolean
    );
    assert_eq!(
        schema.field_with_name("final_answer").unwrap().data_type(),
        &DataType::Utf8
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_is_reproducible_and_selects_only_verified_episodes_by_default() {
    let Some(datasets) = support::require_shared_datasets("staging_reproducible") else {
        return;
    };
    let fx = fixture(&datasets);
    let opts = options("o/n");
    let first = staged(&fx, &opts);
    let again = staged(&fx, &opts);
    let digest = |s: &StagedUpload| -> Vec<(String, String)> {
        s.files
            .iter()
            .map(|f| (f.path_in_repo.clone(), f.sha256.clone()))
            .collect()
    };
    assert_eq!(digest(&first), digest(&again));
    let verified = fx.episodes.iter().filter(|e| e.verified).count() as u64;
    assert!(verified < fx.episodes.len() as u64);
    assert_eq!(first.total_rows(), verified);
    let template = &first.sources[0];
    assert_eq!(template.episodes_read, 22);
    assert_eq!(template.verified_read, 18);

    let mut all = opts.clone();
    all.verified_only = false;
    assert_eq!(staged(&fx, &all).total_rows(), fx.episodes.len() as u64);

    // Without --include-csvs no dataset files are staged; the staging dir is exactly the tree.
    assert!(
        !first
            .files
            .iter()
            .any(|f| f.path_in_repo.starts_with("datasets/"))
    );
    let mut on_disk = Vec::new();
    for entry in walk(&first.dir) {
        on_disk.push(
            entry
                .strip_prefix(&first.dir)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    on_disk.sort();
    let listed: Vec<String> = first.files.iter().map(|f| f.path_in_repo.clone()).collect();
    assert_eq!(on_disk, listed);
    assert_eq!(first.dir, fx.layout.upload_staging("o", "n"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_episode_line_is_an_error_naming_file_and_line() {
    let Some(datasets) = support::require_shared_datasets("corrupt_episode_line") else {
        return;
    };
    let fx = fixture(&datasets);
    let path = fx.layout.episodes_file(Source::Procedural);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"episode_id\": \"x\", \"_ground_truth\": 1}\n");
    let line = text.lines().count();
    std::fs::write(&path, text).unwrap();
    let err = stage(
        &fx.layout,
        &fx.datasets,
        &options("o/n"),
        &EventSink::discard(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{} line {line}", path.display())),
        "{msg}"
    );
    assert!(msg.contains("_ground_truth"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_encodes_the_files_but_writes_and_sends_nothing() {
    let Some(datasets) = support::require_shared_datasets("dry_run") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    let mut opts = options("o/n");
    opts.dry_run = true;
    let staged = staged(&fx, &opts);
    assert!(staged.card.starts_with("---\n"));
    assert!(staged.total_bytes() > 0);
    let outcome = upload(
        &staged,
        &opts,
        &HubAuth::new(TOKEN, hub.endpoint()),
        &EventSink::discard(),
    )
    .await
    .unwrap();
    assert!(outcome.dry_run && outcome.commit.is_none());
    assert!(hub.requests().is_empty());
    assert!(
        !staged.dir.exists() && !fx.layout.upload_staging("o", "n").exists(),
        "a dry run writes no staging directory"
    );
    // What a dry run staged cannot be pushed: its files were never written.
    opts.dry_run = false;
    let err = upload(
        &staged,
        &opts,
        &HubAuth::new(TOKEN, hub.endpoint()),
        &EventSink::discard(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("staged as a dry run"), "{err}");
    assert!(hub.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_flag_creates_a_private_repository_and_an_existing_one_keeps_its_visibility() {
    let Some(datasets) = support::require_shared_datasets("private_flag") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    let auth = HubAuth::new(TOKEN, hub.endpoint());
    let mut opts = options("org/private-set");
    opts.private = true;
    let staged = staged(&fx, &opts);
    upload(&staged, &opts, &auth, &EventSink::discard())
        .await
        .unwrap();
    let create = hub
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/repos/create")
        .unwrap();
    assert_eq!(create.json()["private"], json!(true));
    assert!(hub.repo("org/private-set").unwrap().private);

    // Uploading again without --private leaves the private repository private, with a notice.
    opts.private = false;
    let (sink, events) = collecting_sink();
    let outcome = upload(&staged, &opts, &auth, &sink).await.unwrap();
    assert!(!outcome.created);
    assert!(hub.repo("org/private-set").unwrap().private);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let notice = events.lock().unwrap().iter().any(
        |e| matches!(e, Event::Log { msg, .. } if msg.contains("already exists and is private")),
    );
    assert!(notice, "no visibility notice");

    // --private on an existing public repository does not make it private either, and says so.
    hub.create_repo("org/already-public", false);
    let mut opts = options("org/already-public");
    opts.private = true;
    let err = upload(&staged, &opts, &auth, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("staged for `org/private-set`"),
        "{err}"
    );
    let staged = stage(&fx.layout, &fx.datasets, &opts, &EventSink::discard()).unwrap();
    let (sink, events) = collecting_sink();
    upload(&staged, &opts, &auth, &sink).await.unwrap();
    assert!(!hub.repo("org/already-public").unwrap().private);
    assert_eq!(
        hub.count("POST", "/api/repos/create"),
        1,
        "only the first repository was created"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let notice = events.lock().unwrap().iter().any(
        |e| matches!(e, Event::Log { msg, .. } if msg.contains("already exists and is public")),
    );
    assert!(notice, "no visibility notice for a public repository");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuploading_unchanged_data_makes_no_commit() {
    let Some(datasets) = support::require_shared_datasets("noop_reupload") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    let auth = HubAuth::new(TOKEN, hub.endpoint());
    let mut opts = options("org/noop");
    opts.include_csvs = true;
    let first = upload(&staged(&fx, &opts), &opts, &auth, &EventSink::discard())
        .await
        .unwrap();
    assert!(first.commit.is_some());
    hub.clear_requests();

    // Staged again from the same inputs: byte-identical, so nothing to commit.
    let second = upload(&staged(&fx, &opts), &opts, &auth, &EventSink::discard())
        .await
        .unwrap();
    assert!(second.unchanged);
    assert_eq!(second.commit, None);
    assert_eq!(hub.repo("org/noop").unwrap().main().commits.len(), 2);
    assert_eq!(hub.count("POST", "/commit/"), 0);
    assert_eq!(hub.count("POST", "/preupload/"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_data_is_one_commit_with_changed_files_and_stale_deletions() {
    let Some(datasets) = support::require_shared_datasets("changed_data") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    let auth = HubAuth::new(TOKEN, hub.endpoint());
    let opts = options("org/changing");
    let first = staged(&fx, &opts);
    upload(&first, &opts, &auth, &EventSink::discard())
        .await
        .unwrap();

    // Now only the template source: the other sources' files are stale.
    let mut only_template = opts.clone();
    only_template.sources = Some(vec![Source::Template]);
    let second = staged(&fx, &only_template);
    let outcome = upload(&second, &only_template, &auth, &EventSink::discard())
        .await
        .unwrap();
    let repo = hub.repo("org/changing").unwrap();
    let main = repo.main();
    assert_eq!(main.commits.len(), 3, "one new commit");
    let last = main.commits.last().unwrap();
    assert_eq!(last.summary, second.commit_message());
    assert_eq!(
        last.summary,
        "csvagent upload: 18 episodes (template 18), 22 questions, 11 datasets"
    );
    // Only the card changed among the kept files; template Parquet is byte-identical.
    assert_eq!(outcome.added, ["README.md"]);
    assert_eq!(last.added, ["README.md"]);
    let deleted: BTreeSet<&str> = last.deleted.iter().map(String::as_str).collect();
    let stale: BTreeSet<&str> = first
        .files
        .iter()
        .map(|f| f.path_in_repo.as_str())
        .filter(|p| p.contains("procedural") || p.contains("llm_gen"))
        .collect();
    assert_eq!(deleted, stale);
    assert!(
        main.files.contains_key(".gitattributes"),
        "files outside csvagent's folders stay"
    );
    assert!(main.files.keys().all(|p| !p.contains("llm_gen")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_go_to_the_requested_branch_which_is_created_from_main() {
    let Some(datasets) = support::require_shared_datasets("revision_branch") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    let mut opts = options("org/branched");
    opts.revision = Some("v2".to_owned());
    let outcome = upload(
        &staged(&fx, &opts),
        &opts,
        &HubAuth::new(TOKEN, hub.endpoint()),
        &EventSink::discard(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.revision, "v2");
    let repo = hub.repo("org/branched").unwrap();
    assert_eq!(repo.main().commits.len(), 1, "main untouched");
    assert!(repo.branches["v2"].files.contains_key("README.md"));
}

#[tokio::test]
async fn a_rejected_token_is_a_clear_error_and_the_token_never_appears_in_output_or_logs() {
    let Some(datasets) = support::require_shared_datasets("rejected_token") else {
        return;
    };
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || LogWriter(writer.clone()))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fx = fixture(&datasets);
    let hub = FakeHub::start("hf_TheServersRealToken").await;
    let opts = options("org/denied");
    let staged = staged(&fx, &opts);
    let auth = HubAuth::new(TOKEN, hub.endpoint());
    let (sink, events) = collecting_sink();
    let err = upload(&staged, &opts, &auth, &sink).await.unwrap_err();
    assert!(matches!(err, PublishError::Unauthorized { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("token was rejected") && msg.contains("org/denied"),
        "{msg}"
    );
    // The server echoed the presented token; it must not come back out anywhere.
    assert!(
        hub.requests()
            .iter()
            .any(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(!logs.is_empty(), "no logs were captured");
    let everything = format!(
        "{msg}\n{err:?}\n{auth:?}\n{:?}\n{logs}\n{}\n{:?}",
        events.lock().unwrap(),
        staged.card,
        staged.files
    );
    assert!(!everything.contains(TOKEN), "the token leaked");
    assert!(
        !everything.contains("TestTokenDoNotLeak"),
        "part of the token leaked"
    );
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_write_permission_and_missing_namespace_have_their_own_messages() {
    let Some(datasets) = support::require_shared_datasets("permission_errors") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    let auth = HubAuth::new(TOKEN, hub.endpoint());
    let opts = options("someone-else/data");
    let staged = staged(&fx, &opts);

    hub.fault(Fault::new("POST", "/api/repos/create", 403, 1));
    let err = upload(&staged, &opts, &auth, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::Forbidden { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no permission to write to `someone-else/data` (403)"),
        "{err}"
    );

    hub.fault(Fault::new("POST", "/api/repos/create", 404, 1));
    let err = upload(&staged, &opts, &auth, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::RepoNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("was not found"), "{err}");
    assert_eq!(hub.count("POST", "/commit/"), 0);
    assert!(hub.repo("someone-else/data").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_commit_is_reread_and_the_upload_retried_once() {
    let Some(datasets) = support::require_shared_datasets("concurrent_commit") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    hub.create_repo("org/busy", false);
    hub.concurrent_commit_before_next("notes.md", b"written by someone else\n");
    let opts = options("org/busy");
    let (sink, events) = collecting_sink();
    let outcome = upload(
        &staged(&fx, &opts),
        &opts,
        &HubAuth::new(TOKEN, hub.endpoint()),
        &sink,
    )
    .await
    .unwrap();
    assert!(outcome.commit.is_some());
    assert_eq!(hub.count("POST", "/commit/main"), 2, "one 412, one retry");
    let main = hub.repo("org/busy").unwrap().main().clone();
    let summaries: Vec<&str> = main.commits.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(summaries[..2], ["initial commit", "a concurrent commit"]);
    assert!(summaries[2].starts_with("csvagent upload: "));
    assert_eq!(main.files["notes.md"], b"written by someone else\n");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::Log { msg, .. } if msg.contains("retrying once")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_that_persists_fails_after_one_retry_without_committing() {
    let Some(datasets) = support::require_shared_datasets("persistent_conflict") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    hub.fault(Fault::new("POST", "/commit/main", 409, usize::MAX));
    let opts = options("org/contested");
    let err = upload(
        &staged(&fx, &opts),
        &opts,
        &HubAuth::new(TOKEN, hub.endpoint()),
        &EventSink::discard(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PublishError::Conflict { .. }), "{err:?}");
    assert!(err.to_string().contains("kept moving"), "{err}");
    assert_eq!(hub.count("POST", "/commit/main"), 2);
    assert_eq!(hub.repo("org/contested").unwrap().main().commits.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiting_and_server_errors_are_retried_with_backoff_then_succeed() {
    let Some(datasets) = support::require_shared_datasets("transient_errors") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    hub.fault(Fault::new("GET", "/tree/main", 429, 2));
    hub.fault(Fault::new("POST", "/preupload/main", 500, 1));
    let opts = options("org/flaky");
    let outcome = upload(
        &staged(&fx, &opts),
        &opts,
        &HubAuth::new(TOKEN, hub.endpoint()),
        &EventSink::discard(),
    )
    .await
    .unwrap();
    assert!(outcome.commit.is_some());
    assert_eq!(hub.count("GET", "/tree/main"), 3);
    assert_eq!(hub.count("POST", "/preupload/main"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_rate_limiting_and_server_errors_fail_clearly_and_never_commit() {
    let Some(datasets) = support::require_shared_datasets("persistent_errors") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start(TOKEN).await;
    let auth = HubAuth::new(TOKEN, hub.endpoint());
    let opts = options("org/overloaded");
    let staged = staged(&fx, &opts);

    let mut limited = Fault::new("POST", "/preupload/main", 429, usize::MAX);
    limited.retry_after_s = Some(30);
    hub.fault(limited);
    let err = upload(&staged, &opts, &auth, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PublishError::RateLimited {
                retry_after_s: Some(30),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("rate limiting") && err.to_string().contains("30 s"),
        "{err}"
    );
    assert_eq!(
        hub.count("POST", "/preupload/main"),
        opts.retry.max_retries + 1,
        "bounded retries"
    );

    hub.clear_faults();
    hub.clear_requests();
    hub.fault(Fault::new("POST", "/preupload/main", 503, usize::MAX));
    let err = upload(&staged, &opts, &auth, &EventSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PublishError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert_eq!(
        hub.count("POST", "/commit/"),
        0,
        "a partial upload never commits"
    );
    assert_eq!(hub.repo("org/overloaded").unwrap().main().commits.len(), 1);
}

#[test]
fn no_token_error_tells_how_to_provide_one() {
    let msg = PublishError::NoToken.to_string();
    assert!(
        msg.contains("HF_TOKEN") && msg.contains("huggingface-cli login"),
        "{msg}"
    );
}

#[test]
fn splits_of_the_real_datasets_cover_train_validation_and_test() {
    let Some(datasets) = support::require_shared_datasets("real_splits") else {
        return;
    };
    let config = csvagent_sdk::publish::SplitConfig::default();
    let splits: BTreeSet<Split> = std::fs::read_dir(&datasets)
        .unwrap()
        .map(|e| e.unwrap().path().join("data.csv"))
        .filter(|p| p.is_file())
        .map(|p| assign_split(&config, &sha256_hex(&std::fs::read(p).unwrap())))
        .collect();
    assert_eq!(splits, BTreeSet::from(Split::ALL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_travel_through_xet_when_the_hub_offers_it_and_reuploads_stay_no_ops() {
    let Some(datasets) = support::require_shared_datasets("xet_path") else {
        return;
    };
    let fx = fixture(&datasets);
    let hub = FakeHub::start_with_xet(TOKEN).await;
    let auth = HubAuth::new(TOKEN, hub.endpoint());
    let opts = options("org/xet");
    let staged = staged(&fx, &opts);
    let outcome = upload(&staged, &opts, &auth, &EventSink::discard())
        .await
        .unwrap();
    assert!(outcome.commit.is_some());
    assert_eq!(hub.count("GET", "/xet-write-token/main"), 1);
    assert!(hub.count("POST", "/v1/xorbs/") >= 1, "no xorb uploaded");
    assert!(hub.count("POST", "/v1/shards") >= 1, "no shard uploaded");
    let main = hub.repo("org/xet").unwrap().main().clone();
    for f in &staged.files {
        if f.path_in_repo.ends_with(".parquet") {
            // Referenced by SHA-256 and size in the commit; the bytes went to the CAS.
            assert_eq!(
                main.lfs_files.get(&f.path_in_repo),
                Some(&(f.sha256.clone(), f.size_bytes)),
                "{}",
                f.path_in_repo
            );
        } else {
            assert_eq!(
                main.files[&f.path_in_repo],
                std::fs::read(&f.local_path).unwrap()
            );
        }
    }
    let xorb_bytes: usize = hub
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/xorbs/"))
        .map(|r| r.body.len())
        .sum();
    assert!(xorb_bytes > 0);

    hub.clear_requests();
    let again = upload(&staged, &opts, &auth, &EventSink::discard())
        .await
        .unwrap();
    assert!(
        again.unchanged,
        "LFS files listed as pointers must compare equal"
    );
    assert_eq!(hub.count("GET", "/xet-write-token/"), 0);
}

#[test]
fn a_data_dir_without_episodes_has_nothing_to_upload() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = DataLayout::new(tmp.path());
    let err = stage(&layout, tmp.path(), &options("o/n"), &EventSink::discard()).unwrap_err();
    assert!(
        matches!(err, PublishError::NothingToUpload { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "nothing to upload: no verified episodes in sources template, procedural, llm_gen \
         (run `csvagent generate episodes` first)"
    );
}

#[test]
fn a_single_dataset_yields_only_its_split_and_no_empty_configs() {
    let Some(datasets) = support::require_shared_datasets("single_dataset") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let layout = DataLayout::new(tmp.path().join("data"));
    let name = "uciml_red-wine-quality-cortez-et-al-2009";
    let hash = sha256_hex(&std::fs::read(datasets.join(name).join("data.csv")).unwrap());
    let base = golden("episodes", "template", &datasets);
    let writer = JsonlAppender::open(&layout.episodes_file(Source::Template)).unwrap();
    for n in 1..=3 {
        let episode: Episode =
            serde_json::from_value(episode_json(&base, Source::Template, name, &hash, n, true))
                .unwrap();
        writer.append(&episode).unwrap();
    }
    let staged = stage(&layout, &datasets, &options("o/n"), &EventSink::discard()).unwrap();
    let (meta, _) = parse_card(&staged.card).unwrap();
    assert_eq!(
        meta.configs.len(),
        1,
        "no questions and no other sources: one config"
    );
    let splits: Vec<&str> = meta.configs[0]
        .data_files
        .iter()
        .map(|f| f.split.as_str())
        .collect();
    assert_eq!(splits, ["test"]);
    let paths: Vec<&str> = staged
        .files
        .iter()
        .map(|f| f.path_in_repo.as_str())
        .collect();
    assert_eq!(
        paths,
        ["README.md", "data/template/test-00000-of-00001.parquet"]
    );
}
