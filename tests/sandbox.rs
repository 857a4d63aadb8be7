//! Sandbox integration tests through real Docker containers (SPEC 4.10).
//!
//! Needs a Docker daemon. The first test to need the image builds it offline (debootstrap +
//! wheels; root, `debootstrap` and a host `python3` with pip), once per process. Tests share
//! one pool where they can; the memory hog and fork bomb get a small dedicated pool.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, KillContainerOptions,
    RemoveContainerOptions,
};
use csvagent_sdk::dataset::ColumnStats;
use csvagent_sdk::events::EventSink;
use csvagent_sdk::sandbox::{
    ExecMode, ExecResponse, ImageBuildOptions, LoadSpec, SandboxConfig, SandboxError, SandboxPool,
    WorkerLease, build_image, prune,
};
use csvagent_sdk::schema::ExecStatus;
use serde_json::json;
use tokio::sync::OnceCell;

const T: Duration = Duration::from_secs(30);

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// Docker and the shared datasets, or a skip (locally) / failure (CI).
fn prerequisites(test: &str) -> Option<PathBuf> {
    if !support::require_docker(test) {
        return None;
    }
    support::require_shared_datasets(test)
}

fn config(root: &Path) -> SandboxConfig {
    SandboxConfig {
        memory_bytes: 1 << 30,
        max_containers: 3,
        workers_per_container: 4,
        datasets_root: root.to_path_buf(),
        ..SandboxConfig::default()
    }
}

/// Builds the image once per process (offline path), before any pool starts.
async fn image() {
    static IMAGE: OnceCell<()> = OnceCell::const_new();
    IMAGE
        .get_or_init(|| async {
            let started = Instant::now();
            let opts = ImageBuildOptions::from_config(&SandboxConfig::default());
            let info = build_image(&opts, &EventSink::discard())
                .await
                .expect("the sandbox image builds");
            if info.built {
                eprintln!("built {} in {:.0} s", info.tag, started.elapsed().as_secs_f64());
            }
        })
        .await;
}

/// The pool shared by most tests.
async fn shared_pool(root: &Path) -> SandboxPool {
    static POOL: OnceCell<SandboxPool> = OnceCell::const_new();
    POOL.get_or_init(|| async {
        image().await;
        let pool = SandboxPool::new(config(root), EventSink::discard());
        pool.start().await.expect("the pool starts");
        pool
    })
    .await
    .clone()
}

fn spec(root: &Path, dataset: &str, delimiter: char) -> LoadSpec {
    let csv_path = root.join(dataset).join("data.csv");
    let bytes = std::fs::read(&csv_path).expect("dataset readable");
    LoadSpec {
        dataset: dataset.to_string(),
        csv_path,
        encoding: "utf-8".to_string(),
        delimiter,
        dataset_hash: csvagent_sdk::verify::sha256_hex(&bytes),
    }
}

const INSURANCE: &str = "mirichoi0218_insurance";

async fn run(w: &WorkerLease, code: &str) -> ExecResponse {
    w.exec(code, ExecMode::Agent, T).await.expect("exec answers")
}

fn docker() -> Docker {
    Docker::connect_with_defaults().expect("docker client")
}

#[test]
fn basics_expression_submit_hook_and_parallel_workers() {
    let Some(root) = prerequisites("basics_expression_submit_hook_and_parallel_workers") else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w = lease.worker().await.unwrap();

        let r = run(&w, "df.shape").await;
        assert_eq!(r.status, ExecStatus::Ok);
        assert!(r.result_repr.as_deref().unwrap().starts_with('('));
        assert_eq!(r.result_repr.as_deref(), Some("(1338, 7)"));

        let r = run(&w, "np.array([1,2,3]).mean()").await;
        assert_eq!(r.result_repr.as_deref(), Some("np.float64(2.0)"));

        let r = run(&w, "submit(42)").await;
        assert_eq!(r.status, ExecStatus::Ok);
        assert_eq!(r.submissions.len(), 1);
        assert_eq!(r.submissions[0].answer, json!(42));
        assert!(r.stdout.contains("✓ Submitted: 42"), "{}", r.stdout);

        let r = run(&w, "submit(1)\nsubmit(2)").await;
        assert_eq!(r.status, ExecStatus::Error);
        assert_eq!(r.submissions.len(), 1, "the first submission is kept");
        let e = r.exception.unwrap();
        assert_eq!(e.type_, "RuntimeError");
        assert_eq!(e.message, "submit() may be called only once per cell");

        let r = run(&w, "hook(df.shape[0], 'df.shape[0]', name='row_count')").await;
        assert_eq!(r.hooks.len(), 1);
        assert_eq!(r.hooks[0].variable_name.as_deref(), Some("row_count"));
        assert_eq!(r.hooks[0].code_line.as_deref(), Some("df.shape[0]"));
        assert_eq!(r.hooks[0].value, json!(1338));
        assert_eq!(r.hooks[0].hash_value, Some(json!(1338)));
        assert!(r.result_repr.as_deref() == Some("1338"), "hook returns its value");

        // Two workers of one container run in parallel: two 2-second sleeps take < 4 s.
        let w2 = lease.worker().await.unwrap();
        let started = Instant::now();
        let (a, b) = tokio::join!(
            w.exec("import time\ntime.sleep(2)\n1", ExecMode::Agent, T),
            w2.exec("import time\ntime.sleep(2)\n2", ExecMode::Agent, T)
        );
        assert_eq!(a.unwrap().result_repr.as_deref(), Some("1"));
        assert_eq!(b.unwrap().result_repr.as_deref(), Some("2"));
        assert!(started.elapsed() < Duration::from_millis(3500), "{:?}", started.elapsed());
    });
}
