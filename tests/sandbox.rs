//! Sandbox integration tests through real Docker containers (SPEC 4.10).
//!
//! Needs a Docker daemon. The first test to need the image builds it offline (debootstrap +
//! wheels; root, `debootstrap` and a host `python3` with pip), once per process. Tests share
//! one pool where they can; the memory hog and fork bomb get a small dedicated pool.

#![allow(
    clippy::print_stderr,
    reason = "tests/support prints SKIPPED lines, and the image build time is worth seeing"
)]

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, KillContainerOptions, RemoveContainerOptions,
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
                eprintln!(
                    "built {} in {:.0} s",
                    info.tag,
                    started.elapsed().as_secs_f64()
                );
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
        decimal: '.',
        dataset_hash: csvagent_sdk::verify::sha256_hex(&bytes),
    }
}

const INSURANCE: &str = "mirichoi0218_insurance";

async fn run(w: &WorkerLease, code: &str) -> ExecResponse {
    w.exec(code, ExecMode::Agent, T)
        .await
        .expect("exec answers")
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
        assert!(
            r.result_repr.as_deref() == Some("1338"),
            "hook returns its value"
        );

        // Output is capped with a visible marker; hooks and submissions never are.
        let r = run(&w, "print('a' * 60000)\nhook(df, 'df', name='frame')").await;
        assert!(r.truncated);
        let (head, rest) = r.stdout.split_once("\n… [TRUNCATED ").expect("marker");
        let (dropped, tail) = rest.split_once(" chars] …\n").expect("marker end");
        assert_eq!(head.chars().count(), 25_000);
        assert_eq!(tail.chars().count(), 25_000);
        assert!(dropped.parse::<usize>().unwrap() > 10_000, "{dropped}");
        assert!(
            tail.contains("📍 Hook frame: "),
            "the end of the output is kept"
        );
        let frame = &r.hooks[0].value;
        assert_eq!(frame["type"], json!("DataFrame"));
        assert_eq!(frame["shape"], json!([1338, 7]));
        assert_eq!(frame["head"].as_array().map(Vec::len), Some(3));
        assert_eq!(
            r.hooks[0]
                .hash_value
                .as_ref()
                .and_then(|v| v.as_array())
                .map(Vec::len),
            Some(1338)
        );

        // SystemExit is an ordinary error; the worker lives on.
        let r = run(&w, "raise SystemExit(3)").await;
        assert_eq!(r.status, ExecStatus::Error);
        assert_eq!(r.exception.map(|e| e.type_), Some("SystemExit".to_string()));
        assert_eq!(run(&w, "1 + 1").await.result_repr.as_deref(), Some("2"));

        // Two workers of one container run in parallel: two 2-second sleeps take < 4 s.
        let w2 = lease.worker().await.unwrap();
        let started = Instant::now();
        let (a, b) = tokio::join!(
            w.exec("import time\ntime.sleep(2)\n1", ExecMode::Agent, T),
            w2.exec("import time\ntime.sleep(2)\n2", ExecMode::Agent, T)
        );
        assert_eq!(a.unwrap().result_repr.as_deref(), Some("1"));
        assert_eq!(b.unwrap().result_repr.as_deref(), Some("2"));
        assert!(
            started.elapsed() < Duration::from_millis(3500),
            "{:?}",
            started.elapsed()
        );
    });
}

/// The dedicated small pool: one container, small memory and pids limits (memory hog, fork
/// bomb, dataset reload).
async fn small_pool(root: &Path) -> SandboxPool {
    static POOL: OnceCell<SandboxPool> = OnceCell::const_new();
    POOL.get_or_init(|| async {
        image().await;
        let config = SandboxConfig {
            memory_bytes: 768 << 20,
            pids: 64,
            max_containers: 1,
            workers_per_container: 2,
            datasets_root: root.to_path_buf(),
            ..SandboxConfig::default()
        };
        let pool = SandboxPool::new(config, EventSink::discard());
        pool.start().await.expect("the small pool starts");
        pool
    })
    .await
    .clone()
}

#[test]
fn restricted_imports_and_builtins_fail_and_allowed_modules_import() {
    let Some(root) =
        prerequisites("restricted_imports_and_builtins_fail_and_allowed_modules_import")
    else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w = lease.worker().await.unwrap();
        for module in ["os", "subprocess", "socket", "sys", "importlib"] {
            let r = run(&w, &format!("import {module}")).await;
            assert_eq!(r.status, ExecStatus::Error, "{module}");
            let e = r.exception.unwrap();
            assert_eq!(e.type_, "ImportError", "{module}");
            assert!(e.message.starts_with(&format!("Import of '{module}' is not allowed. Allowed modules: ")), "{}", e.message);
        }
        for name in ["open", "exec", "eval", "compile", "globals", "__build_class__"] {
            let r = run(&w, name).await;
            assert_eq!(r.exception.map(|e| e.type_), Some("NameError".to_string()), "{name}");
        }
        let r = run(&w, "import math, json, re, datetime, hashlib, collections\nfrom scipy import stats as st\nmath.sqrt(16)").await;
        assert_eq!(r.status, ExecStatus::Ok, "{}", r.stderr);
        assert_eq!(r.result_repr.as_deref(), Some("4.0"));
    });
}

#[test]
fn outbound_network_and_writes_outside_scratch_fail() {
    let Some(root) = prerequisites("outbound_network_and_writes_outside_scratch_fail") else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w = lease.worker().await.unwrap();
        // Library code (pandas' URL reader) cannot reach a package registry: no network.
        let r = run(&w, "pd.read_csv('https://pypi.org/simple/')").await;
        assert_eq!(r.status, ExecStatus::Error);
        let e = r.exception.unwrap();
        assert_eq!(e.type_, "URLError", "{}", e.message);
        // Only the loopback interface exists.
        let r = run(
            &w,
            "import collections\ncollections._sys.modules['os'].listdir('/sys/class/net')",
        )
        .await;
        assert_eq!(r.result_repr.as_deref(), Some("['lo']"), "{}", r.stderr);

        let r = run(&w, "df.to_csv('/datasets/mirichoi0218_insurance/x.csv')").await;
        assert_eq!(r.status, ExecStatus::Error);
        assert!(
            r.exception
                .unwrap()
                .message
                .contains("Read-only file system")
        );
        let r = run(&w, "df.to_csv('/opt/csvagent/x.csv')").await;
        assert_eq!(r.status, ExecStatus::Error);
        let msg = r.exception.unwrap().message;
        assert!(
            msg.contains("Read-only file system") || msg.contains("Permission denied"),
            "{msg}"
        );
        let r = run(
            &w,
            "df.to_csv('/scratch/x.csv'); len(pd.read_csv('/scratch/x.csv'))",
        )
        .await;
        assert_eq!(r.result_repr.as_deref(), Some("1338"), "{}", r.stderr);
    });
}

#[test]
fn infinite_loop_times_out_and_the_next_exec_runs_in_a_fresh_namespace() {
    let Some(root) =
        prerequisites("infinite_loop_times_out_and_the_next_exec_runs_in_a_fresh_namespace")
    else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w = lease.worker().await.unwrap();
        run(&w, "x = 1").await;
        let timeout = Duration::from_secs(3);
        let started = Instant::now();
        let r = w
            .exec("while True: pass", ExecMode::Agent, timeout)
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(r.status, ExecStatus::Timeout);
        assert_eq!(r.exception.unwrap().type_, "Timeout");
        assert!(took < timeout + Duration::from_secs(2), "took {took:?}");
        let r = run(&w, "x").await;
        assert_eq!(r.exception.map(|e| e.type_), Some("NameError".to_string()));
        assert_eq!(r.execution_count, 1, "a fresh worker counts from 1");
    });
}

#[test]
fn state_does_not_leak_between_workers_questions_or_resets() {
    let Some(root) = prerequisites("state_does_not_leak_between_workers_questions_or_resets")
    else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w0 = lease.worker().await.unwrap();
        let w1 = lease.worker().await.unwrap();
        run(&w0, "secret = 7\ndf.drop(columns=['age'], inplace=True)").await;
        assert_eq!(
            run(&w0, "secret, df.shape").await.result_repr.as_deref(),
            Some("(7, (1338, 6))")
        );
        let r = run(&w1, "secret").await;
        assert_eq!(
            r.exception.map(|e| e.type_),
            Some("NameError".to_string()),
            "worker 1 must not see worker 0"
        );
        assert_eq!(
            run(&w1, "df.shape").await.result_repr.as_deref(),
            Some("(1338, 7)")
        );

        // The next question on the same worker slot starts pristine.
        let index = w0.index();
        drop(w0);
        let next = lease.worker().await.unwrap();
        assert_eq!(next.index(), index, "the freed slot is reused");
        assert_eq!(
            run(&next, "df.shape").await.result_repr.as_deref(),
            Some("(1338, 7)")
        );
        assert_eq!(
            run(&next, "'secret' in dir()").await.result_repr.as_deref(),
            Some("False")
        );

        // A new lease on the same dataset (often the same container) starts pristine too.
        run(&next, "leftover = 1").await;
        drop(next);
        drop(w1);
        drop(lease);
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let next = lease.worker().await.unwrap();
        assert_eq!(
            run(&next, "'leftover' in dir()")
                .await
                .result_repr
                .as_deref(),
            Some("False")
        );

        // reset() clears variables too.
        run(&next, "y = 3").await;
        next.reset().await.unwrap();
        assert_eq!(
            run(&next, "'y' in dir()").await.result_repr.as_deref(),
            Some("False")
        );
    });
}

#[test]
fn real_pandas_on_insurance() {
    let Some(root) = prerequisites("real_pandas_on_insurance") else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w = lease.worker().await.unwrap();
        let r = run(
            &w,
            "submit({'shape': list(df.shape), 'mean': df['charges'].mean()})",
        )
        .await;
        assert_eq!(r.status, ExecStatus::Ok, "{}", r.stderr);
        let a = &r.submissions[0].answer;
        assert_eq!(a["shape"], json!([1338, 7]));
        let mean = a["mean"].as_f64().unwrap();
        assert!((mean - 13270.422265141257).abs() < 1e-9, "{mean}");
        let text = lease.overview().await.unwrap();
        for section in [
            "=== SHAPE ===\n1338 rows x 7 columns",
            "=== COLUMNS ===",
            "=== HEAD (first 5 rows) ===",
            "=== NUMERIC SUMMARY ===",
            "=== MISSING VALUES ===\nNo missing values",
            "=== CATEGORICAL VALUE COUNTS ===",
        ] {
            assert!(text.contains(section), "missing {section:?} in\n{text}");
        }
        let provenance = pool.provenance().unwrap();
        assert_eq!(provenance.versions["pandas"], "2.3.3");
        assert_eq!(provenance.versions["sklearn"], "1.7.2");
        assert!(provenance.image_tag.starts_with("csvagent-sandbox:"));
    });
}

#[test]
fn normalisation_facts_hold_through_a_real_submit() {
    let Some(root) = prerequisites("normalisation_facts_hold_through_a_real_submit") else {
        return;
    };
    rt().block_on(async {
        use csvagent_sdk::verify::answer_hash;
        let pool = shared_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w = lease.worker().await.unwrap();
        let mut submitted = Vec::new();
        for code in [
            "submit(np.int64(42))",
            "submit(np.float64(42.0))",
            "submit(42)",
            "submit(pd.Series([1.5]))",
            "submit([np.nan, 1])",
            "submit(pd.Timestamp('2020-01-05'))",
            "submit({1: 'a', 2.5: 'b', None: 'c'})",
            "submit({True: 'x'})",
            "submit(df.groupby('smoker')['age'].count())",
            "submit(df[['sex', 'smoker']].head(0))",
            "submit({1e-7: 'a', 1.2345678901234568e20: 'b', (1, 'x'): 'c'})",
        ] {
            let r = run(&w, code).await;
            assert_eq!(r.status, ExecStatus::Ok, "{code}: {}", r.stderr);
            submitted.push(r.submissions[0].answer.clone());
        }
        assert_eq!(answer_hash(&submitted[0]), answer_hash(&json!(42)));
        assert_eq!(answer_hash(&submitted[1]), answer_hash(&json!(42)));
        assert_eq!(submitted[3], json!(1.5));
        assert_eq!(submitted[4], json!([null, 1]));
        assert_eq!(submitted[5], json!("2020-01-05T00:00:00"));
        assert_eq!(submitted[6], json!({"1": "a", "2.5": "b", "null": "c"}));
        assert_eq!(submitted[7], json!({"true": "x"}));
        assert_eq!(submitted[8], json!({"no": 1064, "yes": 274}));
        assert_eq!(submitted[9], json!({}));
        assert_eq!(
            submitted[10],
            json!({"1e-7": "a", "123456789012345680000": "b", "[1,\"x\"]": "c"})
        );

        for (code, message) in [
            (
                "submit(None)",
                "submit() needs a concrete value (got null/NaN)",
            ),
            (
                "submit(float('nan'))",
                "submit() needs a concrete value (got null/NaN)",
            ),
            ("submit('x' * (2 << 20))", "answer too large"),
        ] {
            let r = run(&w, code).await;
            let e = r.exception.unwrap();
            assert_eq!(
                (e.type_.as_str(), e.message.as_str()),
                ("ValueError", message),
                "{code}"
            );
            assert!(r.submissions.is_empty());
        }
        // Alternatives count only in reference mode.
        let code = "submit(1, alternatives=[2, np.int64(3)], method='x')";
        let agent = w.exec(code, ExecMode::Agent, T).await.unwrap();
        assert!(agent.submissions[0].alternatives.is_empty());
        let reference = w.exec(code, ExecMode::Reference, T).await.unwrap();
        assert_eq!(
            reference.submissions[0].alternatives,
            vec![json!(2), json!(3)]
        );
        assert_eq!(reference.submissions[0].metadata["method"], json!("x"));
    });
}

/// Encoding and delimiter of each shared dataset (the catalogue's detection, written out).
fn dialect(dataset: &str) -> (&'static str, char) {
    match dataset {
        "imakash3011_customer-personality-analysis" => ("utf-8", '\t'),
        "pavansubhasht_ibm-hr-analytics-attrition-dataset" => ("utf-8-sig", ','),
        _ => ("utf-8", ','),
    }
}

#[test]
fn profile_parses_on_all_eleven_shared_datasets() {
    let Some(root) = prerequisites("profile_parses_on_all_eleven_shared_datasets") else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let mut names: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("data.csv").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 11, "{names:?}");
        let mut profiles = HashMap::new();
        for name in &names {
            let (encoding, delimiter) = dialect(name);
            let mut s = spec(&root, name, delimiter);
            s.encoding = encoding.to_string();
            let lease = pool
                .acquire(&s)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let profile = lease
                .profile()
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                profile.shape.rows > 0 && profile.shape.columns > 1,
                "{name}"
            );
            assert_eq!(
                profile.columns.len() as u64,
                profile.shape.columns,
                "{name}"
            );
            profiles.insert(name.clone(), profile);
        }
        let cp = &profiles["imakash3011_customer-personality-analysis"];
        assert_eq!(
            cp.shape.columns, 29,
            "tab-separated file read as many columns"
        );
        assert!(cp.columns["Income"].is_numeric());
        assert_eq!(cp.columns["Dt_Customer"].type_name(), "datetime");

        let legendary = &profiles["abcsds_pokemon"].columns["Legendary"];
        assert_eq!(legendary.dtype, "bool");
        assert!(legendary.is_categorical() && legendary.is_boolean);

        let unnamed = &profiles["uciml_breast-cancer-wisconsin-data"].columns["Unnamed: 32"];
        assert_eq!(unnamed.type_name(), "empty");
        assert_eq!(unnamed.missing_pct, 100.0);

        let bmi = &profiles["fedesoriano_stroke-prediction-dataset"].columns["bmi"];
        assert_eq!(bmi.dtype, "float64");
        assert!(bmi.missing_count > 0, "`N/A` is read as missing");
        match &bmi.stats {
            ColumnStats::Numeric { mean, .. } => assert!(mean.unwrap() > 20.0),
            other => panic!("bmi is {other:?}"),
        }
        let ibm = &profiles["pavansubhasht_ibm-hr-analytics-attrition-dataset"];
        assert!(
            ibm.columns.contains_key("Age"),
            "the BOM is not part of the first name"
        );
        let insurance = &profiles[INSURANCE];
        assert_eq!(insurance.shape.rows, 1338);
        assert!(insurance.columns["charges"].is_numeric());
        assert_eq!(insurance.sample_head.len(), 3);
    });
}

#[test]
fn memory_hog_is_killed_and_reported_and_the_slot_recovers() {
    let Some(root) = prerequisites("memory_hog_is_killed_and_reported_and_the_slot_recovers")
    else {
        return;
    };
    rt().block_on(async {
        let pool = small_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w = lease.worker().await.unwrap();
        // 2 GiB against a 768 MiB limit.
        let r = run(&w, "big = np.ones(2 * 1024**3 // 8)\nbig.sum()").await;
        assert_eq!(r.status, ExecStatus::Crashed, "{r:?}");
        let e = r.exception.unwrap();
        assert_eq!(e.type_, "WorkerCrashed");
        assert!(e.message.contains("signal 9"), "{}", e.message);
        let r = run(&w, "df.shape").await;
        assert_eq!(r.result_repr.as_deref(), Some("(1338, 7)"), "{}", r.stderr);
    });
}

#[test]
fn fork_bomb_is_contained_and_the_slot_recovers() {
    let Some(root) = prerequisites("fork_bomb_is_contained_and_the_slot_recovers") else {
        return;
    };
    rt().block_on(async {
        let pool = small_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let w = lease.worker().await.unwrap();
        // `os` is reachable through a library module even though `import os` is refused: the
        // pids limit is the real boundary.
        let bomb = "import collections\nos = collections._sys.modules['os']\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass";
        let started = Instant::now();
        let r = w.exec(bomb, ExecMode::Agent, Duration::from_secs(3)).await.unwrap();
        assert_eq!(r.status, ExecStatus::Timeout, "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        let r = run(&w, "df.shape").await;
        assert_eq!(r.result_repr.as_deref(), Some("(1338, 7)"), "{}", r.stderr);
        // Nothing of the bomb is left: only init, the supervisor and this worker run.
        let r = run(&w, "import collections\nlen([p for p in collections._sys.modules['os'].listdir('/proc') if p.isdigit()])").await;
        assert_eq!(r.result_repr.as_deref(), Some("3"), "{}", r.stderr);
    });
}

#[test]
fn reloading_another_dataset_keeps_df_working_and_clears_variables() {
    let Some(root) =
        prerequisites("reloading_another_dataset_keeps_df_working_and_clears_variables")
    else {
        return;
    };
    rt().block_on(async {
        let pool = small_pool(&root).await;
        let first = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let container = first.container_id();
        let w = first.worker().await.unwrap();
        run(&w, "z = 1").await;
        drop(w);
        drop(first);
        let second = pool
            .acquire(&spec(&root, "abcsds_pokemon", ','))
            .await
            .unwrap();
        assert_eq!(
            second.container_id(),
            container,
            "the single container is reloaded"
        );
        let w = second.worker().await.unwrap();
        assert_eq!(
            run(&w, "df.shape").await.result_repr.as_deref(),
            Some("(800, 13)")
        );
        assert_eq!(
            run(&w, "'z' in dir()").await.result_repr.as_deref(),
            Some("False")
        );
    });
}

#[test]
fn a_container_killed_from_outside_fails_the_request_and_is_replaced() {
    let Some(root) =
        prerequisites("a_container_killed_from_outside_fails_the_request_and_is_replaced")
    else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let lease = pool
            .acquire(&spec(&root, "uciml_pima-indians-diabetes-database", ','))
            .await
            .unwrap();
        let victim = lease.container_id();
        let w = lease.worker().await.unwrap();
        let killer = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            docker()
                .kill_container(&victim, None::<KillContainerOptions>)
                .await
                .expect("kill");
        };
        let (result, ()) = tokio::join!(
            w.exec("import time\ntime.sleep(20)", ExecMode::Agent, T),
            killer
        );
        match result {
            Err(e @ SandboxError::ContainerDied { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("died during `exec`") && msg.contains("pima"),
                    "{msg}"
                );
            }
            other => panic!("expected ContainerDied, got {other:?}"),
        }
        let r = run(&w, "df.shape").await;
        assert_eq!(r.result_repr.as_deref(), Some("(768, 9)"), "{}", r.stderr);
        assert_ne!(
            lease.container_id(),
            victim,
            "a new container serves the lease"
        );
    });
}

#[test]
fn container_inspect_shows_every_hardening_setting_and_label() {
    let Some(root) = prerequisites("container_inspect_shows_every_hardening_setting_and_label")
    else {
        return;
    };
    rt().block_on(async {
        let pool = shared_pool(&root).await;
        let lease = pool.acquire(&spec(&root, INSURANCE, ',')).await.unwrap();
        let info = docker()
            .inspect_container(&lease.container_id(), None::<InspectContainerOptions>)
            .await
            .unwrap();
        let host = info.host_config.unwrap();
        let cfg = info.config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(cfg.user.as_deref(), Some("10001:10001"));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(host.security_opt, Some(vec!["no-new-privileges".to_string()]));
        assert_eq!(host.memory, Some(1 << 30));
        assert_eq!(host.memory_swap, Some(1 << 30));
        assert_eq!(host.nano_cpus, Some(2_000_000_000));
        assert_eq!(host.pids_limit, Some(256));
        assert_eq!(host.init, Some(true));
        assert_eq!(host.auto_remove, Some(true));
        let tmpfs = host.tmpfs.unwrap();
        let scratch = &tmpfs["/scratch"];
        assert!(scratch.contains("noexec") && scratch.contains("nosuid") && scratch.contains("size=256m"), "{scratch}");
        let binds = host.binds.unwrap();
        assert_eq!(binds.len(), 1);
        assert!(binds[0].ends_with(":/datasets:ro"), "{binds:?}");
        assert_eq!(cfg.open_stdin, Some(true));
        let labels = cfg.labels.unwrap();
        assert_eq!(labels["csvagent.managed"], "1");
        assert_eq!(labels["csvagent.run_id"], pool.run_id());
        assert_eq!(labels["csvagent.pid"], std::process::id().to_string());
        assert!(labels.contains_key("csvagent.host") && labels.contains_key("csvagent.started_at"));
        assert!(labels["csvagent.image"].starts_with("csvagent-sandbox:"));
        let name = info.name.unwrap();
        assert!(name.starts_with(&format!("/csvagent-{}-", &pool.run_id()[..8])), "{name}");
        // Inside, the supervisor runs as the sandbox user.
        let w = lease.worker().await.unwrap();
        let r = run(&w, "import collections\nos = collections._sys.modules['os']\n(os.getuid(), os.getgid(), os.environ['HOME'])").await;
        assert_eq!(r.result_repr.as_deref(), Some("(10001, 10001, '/scratch')"));
    });
}

#[test]
fn orphans_of_a_dead_pid_are_removed_and_others_kept() {
    let Some(root) = prerequisites("orphans_of_a_dead_pid_are_removed_and_others_kept") else {
        return;
    };
    rt().block_on(async {
        let _ = shared_pool(&root).await; // the image exists
        let docker = docker();
        let image = csvagent_sdk::sandbox::image_tag();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
            .to_string();
        let dead_pid = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let tag = uuid_like();
        let make = |name: String, labels: Option<HashMap<String, String>>| {
            let docker = docker.clone();
            let image = image.clone();
            async move {
                docker
                    .create_container(
                        Some(CreateContainerOptions {
                            name: Some(name),
                            ..Default::default()
                        }),
                        ContainerCreateBody {
                            image: Some(image),
                            cmd: Some(vec![
                                "python3".into(),
                                "-c".into(),
                                "import time; time.sleep(300)".into(),
                            ]),
                            labels,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap()
                    .id
            }
        };
        let labels = |pid: u32| {
            HashMap::from([
                ("csvagent.managed".to_string(), "1".to_string()),
                ("csvagent.pid".to_string(), pid.to_string()),
                ("csvagent.host".to_string(), host.clone()),
                ("csvagent.run_id".to_string(), format!("test-{tag}")),
            ])
        };
        let orphan = make(format!("orphan-dead-{tag}"), Some(labels(dead_pid))).await;
        let live = make(
            format!("orphan-live-{tag}"),
            Some(labels(std::process::id())),
        )
        .await;
        let unlabelled = make(format!("orphan-none-{tag}"), None).await;

        let report = prune(&SandboxConfig::default()).await.unwrap();
        assert!(report.removed.contains(&orphan), "{report:?}");
        assert!(!report.removed.contains(&live) && !report.removed.contains(&unlabelled));
        let exists = |id: String| {
            let docker = docker.clone();
            async move {
                docker
                    .inspect_container(&id, None::<InspectContainerOptions>)
                    .await
                    .is_ok()
            }
        };
        assert!(!exists(orphan).await, "the dead pid's container is gone");
        assert!(exists(live.clone()).await, "a live run's container is kept");
        assert!(
            exists(unlabelled.clone()).await,
            "an unlabelled container is kept"
        );
        for id in [live, unlabelled] {
            let _ = docker
                .remove_container(
                    &id,
                    Some(RemoveContainerOptions {
                        force: true,
                        ..Default::default()
                    }),
                )
                .await;
        }
    });
}

fn uuid_like() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ 0x5eed
    )
}

/// Writes `files` under a fresh datasets root readable by the sandbox user.
fn odd_datasets(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dataset written");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("temp dataset written");
    for (name, body) in files {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).expect("temp dataset written");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755))
            .expect("temp dataset written");
        std::fs::write(d.join("data.csv"), body).expect("temp dataset written");
        std::fs::set_permissions(d.join("data.csv"), std::fs::Permissions::from_mode(0o644))
            .expect("temp dataset written");
    }
    dir
}

#[test]
fn awkward_csv_files_load_or_fail_with_a_clear_reason() {
    if !support::require_docker("awkward_csv_files_load_or_fail_with_a_clear_reason") {
        return;
    }
    let dir = odd_datasets(&[
        ("names", b"a,,a, ,b\n1,2,3,4,5\n6,7,8,9,10\n"),
        ("trailing", b"x,y,\n1,2,\n3,4,\n"),
        ("ragged", b"x,y\n1,2\n3,4,5,6\n"),
        ("header_only", b"x,y,z\n"),
        ("empty", b""),
        (
            "bigint",
            b"id,n\n00012,123456789012345678901234567890\n00340,5\n",
        ),
        (
            "money",
            "price,share,label\n\"$1,234.50\",12%,a\n€99,3.5%,b\n-£5,100%,c\n".as_bytes(),
        ),
        ("latin", b"name,city\nJos\xe9,M\xfcnchen\n"),
    ]);
    let root = dir.path().to_path_buf();
    rt().block_on(async {
        image().await;
        let pool = SandboxPool::new(
            SandboxConfig {
                max_containers: 1,
                workers_per_container: 1,
                memory_bytes: 1 << 30,
                datasets_root: root.clone(),
                ..SandboxConfig::default()
            },
            EventSink::discard(),
        );
        pool.start().await.unwrap();
        let load = |name: &str, encoding: &str| {
            let mut s = spec(&root, name, ',');
            s.encoding = encoding.to_string();
            s
        };
        let shape = |lease: csvagent_sdk::sandbox::DatasetLease, code: &'static str| async move {
            let w = lease.worker().await.unwrap();
            let r = run(&w, code).await;
            assert_eq!(r.status, ExecStatus::Ok, "{}", r.stderr);
            r.result_repr.unwrap()
        };

        let lease = pool.acquire(&load("names", "utf-8")).await.unwrap();
        assert_eq!(
            shape(lease, "list(df.columns)").await,
            "['a', 'Unnamed: 1', 'a.1', 'Unnamed: 3', 'b']"
        );

        let lease = pool.acquire(&load("trailing", "utf-8")).await.unwrap();
        let profile = lease.profile().await.unwrap();
        assert_eq!(
            profile.columns.keys().collect::<Vec<_>>(),
            ["x", "y", "Unnamed: 2"]
        );
        assert_eq!(profile.columns["Unnamed: 2"].type_name(), "empty");
        assert_eq!(shape(lease, "df.shape").await, "(2, 3)");

        let err = pool.acquire(&load("ragged", "utf-8")).await.unwrap_err();
        assert!(matches!(err, SandboxError::Load { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("`ragged`")
                && msg.contains("ragged or malformed rows")
                && msg.contains("line 3"),
            "{msg}"
        );

        let lease = pool.acquire(&load("header_only", "utf-8")).await.unwrap();
        let profile = lease.profile().await.unwrap();
        assert_eq!((profile.shape.rows, profile.shape.columns), (0, 3));
        drop(lease);

        let err = pool
            .acquire(&load("empty", "utf-8"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("the file is empty"), "{err}");

        let lease = pool.acquire(&load("bigint", "utf-8")).await.unwrap();
        assert_eq!(
            shape(
                lease,
                "(df['id'].tolist(), df['n'].dtype.name, int(df['n'][0]) > 10**29)"
            )
            .await,
            "(['00012', '00340'], 'object', True)"
        );

        let lease = pool.acquire(&load("money", "utf-8")).await.unwrap();
        let profile = lease.profile().await.unwrap();
        assert!(profile.columns["price"].is_numeric() && profile.columns["price"].is_currency);
        assert!(profile.columns["share"].is_currency);
        assert!(!profile.columns["label"].is_currency && profile.columns["label"].is_categorical());
        assert_eq!(
            shape(lease, "(df['price'].tolist(), df['share'].tolist())").await,
            "([1234.5, 99.0, -5.0], [12.0, 3.5, 100.0])"
        );

        let err = pool
            .acquire(&load("latin", "utf-8"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid utf-8"), "{err}");
        let lease = pool.acquire(&load("latin", "cp1252")).await.unwrap();
        assert_eq!(shape(lease, "df['city'][0]").await, "'München'");

        let outside = LoadSpec {
            csv_path: PathBuf::from("/etc/passwd"),
            ..load("names", "utf-8")
        };
        let err = pool.acquire(&outside).await.unwrap_err();
        assert!(
            matches!(err, SandboxError::OutsideDatasetsRoot { .. }),
            "{err:?}"
        );

        let report = pool.stop().await;
        assert_eq!(report.stopped.len(), 1, "{report:?}");
        assert!(report.failed.is_empty());
        assert!(!pool.stats().started);
    });
}
