//! Command-level tests: each Tauri command is invoked through the IPC layer of tauri's mock
//! runtime, exactly as the page invokes it, and its JSON answer or `{code, message}` error is
//! checked. No window, no Docker.

use std::path::{Path, PathBuf};

use csvagent_desktop::{AppConfig, app};
use csvagent_sdk::record::DataLayout;
use csvagent_sdk::schema::Source;
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn config(data_dir: &Path, datasets_dir: &Path) -> AppConfig {
    AppConfig {
        data_dir: data_dir.to_path_buf(),
        datasets_dir: datasets_dir.to_path_buf(),
        teacher_url: None,
        teacher_model: None,
    }
}

fn window(config: AppConfig) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = app(mock_builder(), config)
        .build(mock_context(noop_assets()))
        .expect("mock app");
    let w = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("mock window");
    (app, w)
}

/// Invokes `cmd` with `args` and returns the JSON answer or the JSON error.
fn invoke(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().expect("json answer"))
}

/// Asserts `err` is exactly `{code, message}` with this code, a readable message and no debug
/// dump.
fn assert_error_shape(err: &Value, code: &str) -> String {
    let obj = err.as_object().expect("error is an object");
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    assert_eq!(keys, ["code", "message"], "{err}");
    assert_eq!(obj["code"], code, "{err}");
    let message = obj["message"].as_str().expect("message is text").to_owned();
    assert!(!message.is_empty());
    assert!(
        !message.contains(" { ") && !message.contains("Error(") && !message.contains("Os {"),
        "message looks like a debug dump: {message}"
    );
    message
}

fn example_record(kind: &str, source: &str) -> Value {
    let path = repo_root().join(format!("schema/examples/{kind}/valid/{source}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("example")).expect("example json")
}

/// A data dir holding one procedural question and its verified episode, plus an unverified
/// copy of the episode with another id.
fn data_dir_fixture(dir: &Path) -> (String, String) {
    let layout = DataLayout::new(dir);
    let q = example_record("question", "procedural");
    let dataset = q["dataset"].as_str().expect("dataset").to_owned();
    let qfile = layout.questions_file(Source::Procedural, &dataset);
    std::fs::create_dir_all(qfile.parent().expect("parent")).expect("mkdir");
    std::fs::write(&qfile, serde_json::to_string(&json!([q])).expect("ser")).expect("write");
    let verified = example_record("episode", "procedural");
    let mut unverified = verified.clone();
    unverified["episode_id"] = json!("11111111-2222-4333-8444-555555555555");
    unverified["verified"] = json!(false);
    let efile = layout.episodes_file(Source::Procedural);
    std::fs::create_dir_all(efile.parent().expect("parent")).expect("mkdir");
    std::fs::write(&efile, format!("{verified}\n{unverified}\n")).expect("write");
    (
        verified["episode_id"].as_str().expect("id").to_owned(),
        dataset,
    )
}

#[test]
fn datasets_view_lists_the_example_datasets_with_shape_dialect_and_hash() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_app, w) = window(config(tmp.path(), &repo_root().join("examples/datasets")));
    let list = invoke(&w, "list_datasets", json!({})).expect("list");
    let rows = list["datasets"].as_array().expect("rows");
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["clinic_visits", "coffee_shop_sales"]);
    for r in rows {
        assert_eq!(r["usable"], true, "{r}");
        assert!(r["rows"].as_u64().expect("rows") > 0, "{r}");
        assert!(r["columns"].as_u64().expect("cols") > 1, "{r}");
        assert_eq!(r["dataset_hash"].as_str().expect("hash").len(), 64, "{r}");
        assert!(
            r["encoding"].is_string() && r["delimiter"].is_string(),
            "{r}"
        );
        assert_eq!(r["questions"]["procedural"], 0, "{r}");
    }
}

#[test]
fn bad_inputs_come_back_as_code_and_message() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_app, w) = window(config(tmp.path(), &repo_root().join("examples/datasets")));

    let err = invoke(&w, "profile_dataset", json!({"name": "no_such_dataset"})).unwrap_err();
    let msg = assert_error_shape(&err, "dataset");
    assert!(msg.contains("no_such_dataset"), "{msg}");

    let err = invoke(
        &w,
        "run_preflight",
        json!({"request": {"mode": "everything"}}),
    )
    .unwrap_err();
    let msg = assert_error_shape(&err, "invalid_input");
    assert!(
        msg.contains("everything") && msg.contains("llm_gen"),
        "{msg}"
    );

    let err = invoke(&w, "list_questions", json!({"source": "synthetic"})).unwrap_err();
    let msg = assert_error_shape(&err, "invalid_input");
    assert!(msg.contains("synthetic"), "{msg}");

    let err = invoke(
        &w,
        "publish_preview",
        json!({"request": {"repo": "not a repo"}}),
    )
    .unwrap_err();
    assert_error_shape(&err, "invalid_input");

    let missing = tmp.path().join("missing");
    let (_app2, w2) = window(config(tmp.path(), &missing));
    let err = invoke(&w2, "list_datasets", json!({})).unwrap_err();
    let msg = assert_error_shape(&err, "dataset");
    assert!(msg.contains("missing"), "{msg}");
}

#[test]
fn questions_and_episodes_are_read_from_the_data_dir() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (episode_id, dataset) = data_dir_fixture(tmp.path());
    let (_app, w) = window(config(tmp.path(), &repo_root().join("examples/datasets")));

    let qs = invoke(&w, "list_questions", json!({"source": "procedural"})).expect("questions");
    assert_eq!(qs["questions"].as_array().expect("list").len(), 1);
    assert_eq!(qs["questions"][0]["dataset"], dataset.as_str());
    assert_eq!(qs["by_difficulty"]["procedural"]["EASY"], 1, "{qs}");
    let none = invoke(&w, "list_questions", json!({"source": "template"})).expect("template");
    assert_eq!(none["questions"].as_array().expect("list").len(), 0);

    let all = invoke(&w, "list_episodes", json!({})).expect("episodes");
    assert_eq!(all.as_array().expect("list").len(), 2);
    let verified = invoke(
        &w,
        "list_episodes",
        json!({"source": "procedural", "verified": true}),
    )
    .expect("verified");
    let verified = verified.as_array().expect("list");
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0]["episode_id"], episode_id.as_str());
    let unverified = invoke(&w, "list_episodes", json!({"verified": false})).expect("unverified");
    assert_eq!(unverified.as_array().expect("list").len(), 1);
    assert_ne!(unverified[0]["episode_id"], episode_id.as_str());

    let e = invoke(&w, "get_episode", json!({"episode_id": episode_id})).expect("episode");
    assert_eq!(e["episode_id"], episode_id.as_str());
    assert!(
        !e["gold_trace"]["turns"]
            .as_array()
            .expect("turns")
            .is_empty()
    );
    let err = invoke(&w, "get_episode", json!({"episode_id": "nope"})).unwrap_err();
    assert_error_shape(&err, "not_found");

    let ds = invoke(&w, "list_datasets", json!({})).expect("datasets");
    assert!(
        ds["datasets"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["name"] != dataset.as_str())
    );
}

#[test]
fn start_is_refused_with_the_preflight_reasons() {
    let tmp = tempfile::tempdir().expect("tmp");
    let layout = DataLayout::new(tmp.path());
    std::fs::create_dir_all(layout.root().join("questions_synthetic")).expect("legacy dir");
    let (_app, w) = window(config(tmp.path(), &repo_root().join("examples/datasets")));
    let request = json!({"mode": "procedural", "max_questions": 1});

    let pre = invoke(&w, "run_preflight", json!({"request": request})).expect("preflight");
    assert_eq!(pre["ok"], false);
    assert!(
        pre["reasons"][0]
            .as_str()
            .expect("reason")
            .contains("questions_synthetic"),
        "{pre}"
    );

    let err = invoke(
        &w,
        "start_run",
        json!({"request": request, "on_event": "__CHANNEL__:7"}),
    )
    .unwrap_err();
    let msg = assert_error_shape(&err, "preflight");
    assert!(msg.contains("questions_synthetic"), "{msg}");
    assert!(
        !layout.lock_file().exists(),
        "a refused start must not take the lock"
    );

    let stop = invoke(&w, "stop_run", json!({})).expect("stop");
    assert_eq!(stop, "idle");
}

#[test]
fn fresh_preflight_names_what_would_move_aside() {
    let tmp = tempfile::tempdir().expect("tmp");
    data_dir_fixture(tmp.path());
    let (_app, w) = window(config(tmp.path(), &repo_root().join("examples/datasets")));
    let pre = invoke(
        &w,
        "run_preflight",
        json!({"request": {"mode": "procedural", "fresh": true}}),
    )
    .expect("preflight");
    assert_eq!(pre["ok"], true, "{pre}");
    let moves: Vec<String> = pre["fresh_moves"]
        .as_array()
        .expect("moves")
        .iter()
        .map(|m| m.as_str().expect("path").to_owned())
        .collect();
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert!(moves[0].ends_with("questions/procedural"), "{moves:?}");
    assert!(moves[1].ends_with("procedural.jsonl"), "{moves:?}");
    let layout = DataLayout::new(tmp.path());
    assert!(
        layout.episodes_file(Source::Procedural).is_file(),
        "preflight moved nothing"
    );
}

/// Runs in a child process with `HF_TOKEN` set (the environment cannot be changed safely in a
/// multi-threaded test process).
#[test]
fn token_status_never_contains_the_token() {
    const SECRET: &str = "hf_gui_test_secret_5f2a9c";
    if std::env::var("CSVAGENT_GUI_TEST").as_deref() != Ok("token-child") {
        let out = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "token_status_never_contains_the_token",
                "--nocapture",
            ])
            .env("CSVAGENT_GUI_TEST", "token-child")
            .env("HF_TOKEN", SECRET)
            .output()
            .expect("child test");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("1 passed"),
            "the child did not run the check: {text}"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (_app, w) = window(config(tmp.path(), tmp.path()));
    let status = invoke(&w, "token_status", json!({})).expect("token status");
    assert_eq!(status["kind"], "env", "{status}");
    assert!(!status.to_string().contains(SECRET), "{status}");
    let sys = invoke(&w, "get_config", json!({})).expect("config");
    assert!(!sys.to_string().contains(SECRET));
}

#[test]
fn configuration_is_editable_and_empty_dirs_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_app, w) = window(config(tmp.path(), tmp.path()));
    let new = json!({"data_dir": "/tmp/x", "datasets_dir": "/tmp/y", "teacher_url": "http://127.0.0.1:1/v1", "teacher_model": "m"});
    let saved = invoke(&w, "set_config", json!({"config": new})).expect("saved");
    assert_eq!(saved, new);
    assert_eq!(invoke(&w, "get_config", json!({})).expect("get"), new);
    let err = invoke(
        &w,
        "set_config",
        json!({"config": {"data_dir": "", "datasets_dir": "/tmp/y", "teacher_url": null, "teacher_model": null}}),
    )
    .unwrap_err();
    assert_error_shape(&err, "invalid_input");
}

#[test]
fn a_run_with_nothing_to_do_returns_its_outcome_and_frees_the_slot() {
    let tmp = tempfile::tempdir().expect("tmp");
    let datasets = tmp.path().join("datasets");
    std::fs::create_dir_all(&datasets).expect("mkdir");
    let (_app, w) = window(config(&tmp.path().join("data"), &datasets));
    let (tx, rx) = std::sync::mpsc::channel();
    let w2 = w.clone();
    std::thread::spawn(move || {
        let r = invoke(
            &w2,
            "start_run",
            json!({"request": {"mode": "procedural", "max_questions": 1}, "on_event": "__CHANNEL__:3"}),
        );
        let _ = tx.send(r);
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("start_run must return when the run ends (no hang after shutdown)")
        .expect("run result");
    assert_eq!(result["interrupted"], false, "{result}");
    let stages = result["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 2, "{result}");
    assert_eq!(stages[0]["stage"]["kind"], "questions");
    assert_eq!(stages[1]["stage"]["kind"], "episodes");
    let pre = invoke(
        &w,
        "run_preflight",
        json!({"request": {"mode": "procedural"}}),
    )
    .expect("pre");
    assert_eq!(pre["active"], false, "the run slot is free again: {pre}");
    assert_eq!(pre["ok"], true, "the run lock was released: {pre}");
}
