//! Run control against the real sandbox: Stop during the episode stage ends the run as
//! `interrupted`, stops this run's containers, releases the lock and leaves only whole records.
//! Drives the same function the `start_run` / `stop_run` commands call. Needs Docker and the
//! sandbox image (SKIPPED locally without them, a failure with `CSVAGENT_REQUIRE_ALL=1`).

#[path = "../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use csvagent_desktop::run::start_run;
use csvagent_desktop::{AppConfig, RunRequest, RunSlot, StopOutcome};
use csvagent_sdk::events::{Event, StageKind};
use csvagent_sdk::record::{DataLayout, read_jsonl};
use csvagent_sdk::sandbox::{SandboxConfig, image_status};
use csvagent_sdk::schema::{Episode, Source};
use csvagent_sdk::teacher::scripted::{Rule, Script, ScriptedServer};

const TEST: &str = "stop_during_episodes_interrupts_cleanly";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_episodes_interrupts_cleanly() {
    if !support::require_docker(TEST) {
        return;
    }
    let image = image_status(&SandboxConfig::default()).await;
    if !image.daemon_reachable || !image.present {
        support::missing(TEST, &format!("sandbox image {} is not present", image.tag));
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let datasets = tmp.path().join("datasets");
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/datasets/clinic_visits");
    std::fs::create_dir_all(datasets.join("clinic_visits")).expect("mkdir");
    for f in ["data.csv", "meta.json"] {
        std::fs::copy(src.join(f), datasets.join("clinic_visits").join(f)).expect("copy");
    }
    // A slow teacher: every reply takes 2 s, so the episodes are in flight when Stop comes.
    let server = ScriptedServer::start(
        Script::new().rule(
            Rule::any()
                .delay(Duration::from_secs(2))
                .reply("Looking.\n```python\nn_rows = len(df)\nhook(n_rows, 'n_rows = len(df)', name='n_rows')\n```"),
        ),
    )
    .await
    .expect("scripted teacher");
    let config = AppConfig {
        data_dir: tmp.path().join("data"),
        datasets_dir: datasets,
        teacher_url: Some(server.url()),
        teacher_model: Some("scripted".into()),
    };
    let request = RunRequest {
        mode: "procedural".into(),
        max_questions: Some(2),
        ..RunRequest::default()
    };
    let slot = Arc::new(RunSlot::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let run = {
        let (slot, config) = (slot.clone(), config.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(start_run(&config, &slot, &request, move |e| {
                let _ = tx.send(e);
            }))
        })
    };
    // Wait for the episode stage, then the first teacher request, then Stop.
    let mut run_id = None;
    loop {
        let e = tokio::time::timeout(Duration::from_secs(120), rx.recv())
            .await
            .expect("events keep coming")
            .expect("the run ended before its episode stage");
        if let Event::RunStarted { run_id: id, .. } = &e {
            run_id = Some(id.clone());
        }
        if let Event::StageStarted { stage, .. } = &e
            && stage.kind == StageKind::Episodes
        {
            break;
        }
    }
    while server.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(slot.stop().await, StopOutcome::Cancelling);
    let result = tokio::task::spawn_blocking(move || run.join().expect("run thread"))
        .await
        .expect("join")
        .expect("an interrupted run still reports");
    assert!(result.interrupted, "{result:?}");
    assert_eq!(
        slot.stop().await,
        StopOutcome::Idle,
        "the slot is free again"
    );

    let layout = DataLayout::new(&config.data_dir);
    assert!(!layout.lock_file().exists(), "the run lock is released");
    let read = read_jsonl::<Episode>(&layout.episodes_file(Source::Procedural)).expect("read");
    assert!(
        read.errors.is_empty() && read.torn_tail.is_none(),
        "only whole records"
    );
    let run_id = run_id.expect("run id");
    let after = image_status(&SandboxConfig::default()).await;
    let left: Vec<_> = after
        .running
        .iter()
        .filter(|c| c.run_id.as_deref() == Some(run_id.as_str()))
        .collect();
    assert!(
        left.is_empty(),
        "this run's containers are stopped: {left:?}"
    );
}
