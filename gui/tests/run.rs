//! Run control against the real sandbox: Stop during the episode stage ends the run as
//! `interrupted`, stops this run's containers, releases the lock and leaves only whole records;
//! a second Stop stops the containers at once.
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

/// A data directory, a scripted teacher that answers every request after 2 s (so episodes are
/// in flight when Stop comes), and a run started on a thread; returns once the episode stage
/// has sent its first teacher request.
struct Started {
    _tmp: tempfile::TempDir,
    _server: ScriptedServer,
    config: AppConfig,
    slot: Arc<RunSlot>,
    run: std::thread::JoinHandle<csvagent_desktop::CommandResult<csvagent_desktop::RunResult>>,
    run_id: String,
}

/// `None` (after reporting the missing prerequisite) without Docker or the sandbox image.
async fn start_and_wait_for_episodes(test: &str) -> Option<Started> {
    if !support::require_docker(test) {
        return None;
    }
    let image = image_status(&SandboxConfig::default()).await;
    if !image.daemon_reachable || !image.present {
        support::missing(test, &format!("sandbox image {} is not present", image.tag));
        return None;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let datasets = tmp.path().join("datasets");
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/datasets/clinic_visits");
    std::fs::create_dir_all(datasets.join("clinic_visits")).expect("mkdir");
    for f in ["data.csv", "meta.json"] {
        std::fs::copy(src.join(f), datasets.join("clinic_visits").join(f)).expect("copy");
    }
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
    // Wait for the episode stage, then the first teacher request.
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
    let run_id = run_id.expect("run id");
    // The sandbox containers carry the run's id, so the checks after Stop can find them.
    let during = image_status(&SandboxConfig::default()).await;
    assert!(
        during
            .running
            .iter()
            .any(|c| c.run_id.as_deref() == Some(run_id.as_str())),
        "no running container is labelled with run {run_id}: {:?}",
        during.running
    );
    Some(Started {
        _tmp: tmp,
        _server: server,
        config,
        slot,
        run,
        run_id,
    })
}

/// Waits for the run to end and checks what every stop leaves: an interrupted result, a free
/// slot, no lock, only whole episode records and none of this run's containers running.
async fn assert_ended_cleanly(started: Started) {
    let Started {
        config,
        slot,
        run,
        run_id,
        ..
    } = started;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_episodes_interrupts_cleanly() {
    let Some(started) =
        start_and_wait_for_episodes("stop_during_episodes_interrupts_cleanly").await
    else {
        return;
    };
    assert_eq!(started.slot.stop().await, StopOutcome::Cancelling);
    assert_ended_cleanly(started).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_stop_forces_the_shutdown_at_once() {
    let Some(started) =
        start_and_wait_for_episodes("a_second_stop_forces_the_shutdown_at_once").await
    else {
        return;
    };
    assert_eq!(started.slot.stop().await, StopOutcome::Cancelling);
    let began = std::time::Instant::now();
    assert_eq!(started.slot.stop().await, StopOutcome::Forced);
    assert!(
        began.elapsed() < Duration::from_secs(15),
        "a forced stop gives up after 10 s: {:?}",
        began.elapsed()
    );
    // Containers are already stopped when the forced Stop returns, before the run reports.
    let after = image_status(&SandboxConfig::default()).await;
    assert!(
        !after
            .running
            .iter()
            .any(|c| c.run_id.as_deref() == Some(started.run_id.as_str())),
        "the forced Stop stopped this run's containers"
    );
    assert_ended_cleanly(started).await;
}
