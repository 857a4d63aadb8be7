//! Procedural question generation (SPEC 6) on the eleven shared datasets, through the real
//! sandbox: record validity and counts, ground truths reproduced by re-running their code,
//! ground truths recomputed by an independent Rust implementation, byte-identical reruns, and
//! text/schema/value agreement.
//!
//! Needs Docker and the shared datasets (`tests/support`). One generation run over every dataset
//! is shared by the tests of this binary (a process-wide runtime and sandbox pool).

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "integration tests: failures should panic, and the run time per dataset is worth seeing"
)]

#[path = "procedural/recompute.rs"]
mod recompute;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use csvagent_sdk::dataset::{Catalog, Dataset, Profile};
use csvagent_sdk::events::EventSink;
use csvagent_sdk::question::procedural::{
    Generated, Plan, ProceduralConfig, difficulty, generate, plan, write_outputs,
};
use csvagent_sdk::question::procedural_fingerprint;
use csvagent_sdk::record::{DataLayout, load_questions};
use csvagent_sdk::sandbox::{DatasetLease, ExecMode, SandboxConfig, SandboxPool};
use csvagent_sdk::schema::{ExecStatus, Question, Source};
use csvagent_sdk::verify::{answer_hash, string_hash};
use serde_json::Value;
use tokio::sync::OnceCell;

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

async fn pool(root: &Path) -> SandboxPool {
    static POOL: OnceCell<SandboxPool> = OnceCell::const_new();
    POOL.get_or_init(|| async {
        let pool = SandboxPool::new(
            SandboxConfig {
                datasets_root: root.to_path_buf(),
                memory_bytes: 2 << 30,
                max_containers: 1,
                workers_per_container: 8,
                ..SandboxConfig::default()
            },
            EventSink::discard(),
        );
        pool.start().await.expect("the sandbox pool starts");
        pool
    })
    .await
    .clone()
}

/// One dataset's generation, written to disk and read back.
struct DatasetRun {
    dataset: Dataset,
    profile: Profile,
    plan: Plan,
    generated: Generated,
    /// The bytes of the written `questions.json`.
    bytes: Vec<u8>,
    /// The questions as `load_questions` reads them back.
    loaded: Vec<Question>,
}

/// Generates every shared dataset once, into `out`, and reads the files back.
async fn generate_all(root: &Path, out: &Path) -> Vec<DatasetRun> {
    let catalog = Catalog::discover(root).expect("the shared datasets are discoverable");
    let pool = pool(root).await;
    let layout = DataLayout::new(out);
    let config = ProceduralConfig::default();
    let mut runs = Vec::new();
    for dataset in catalog.datasets {
        let started = Instant::now();
        let lease = pool
            .acquire(&dataset.load_spec())
            .await
            .expect("the dataset loads");
        let profile = lease.profile().await.expect("the dataset profiles");
        let provenance = pool.provenance();
        let generated = generate(
            &dataset,
            &profile,
            &lease,
            provenance.as_ref(),
            &config,
            &EventSink::discard(),
        )
        .await
        .expect("generation runs");
        write_outputs(&layout, &generated).expect("outputs are written");
        let path = layout.questions_file(Source::Procedural, &dataset.name);
        let bytes = std::fs::read(&path).expect("questions.json exists");
        let loaded = load_questions(&path).expect("questions.json passes the contract");
        eprintln!(
            "{}: {} questions from {} executed programs in {:.1} s",
            dataset.name,
            generated.questions.len(),
            generated.report.executed,
            started.elapsed().as_secs_f64()
        );
        runs.push(DatasetRun {
            plan: plan(&profile, &config),
            dataset,
            profile,
            generated,
            bytes,
            loaded,
        });
    }
    runs
}

/// The generation run shared by the tests of this binary.
fn first_run(root: &Path) -> &'static [DatasetRun] {
    static RUN: OnceLock<(tempfile::TempDir, Vec<DatasetRun>)> = OnceLock::new();
    let (_, runs) = RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary data dir");
        let runs = rt().block_on(generate_all(root, dir.path()));
        (dir, runs)
    });
    runs
}

#[test]
fn ten_or_more_shared_datasets_yield_forty_schema_valid_questions() {
    let Some(root) =
        prerequisites("ten_or_more_shared_datasets_yield_forty_schema_valid_questions")
    else {
        return;
    };
    let runs = first_run(&root);
    assert_eq!(runs.len(), 11, "the eleven shared datasets are discovered");
    let counts: BTreeMap<&str, usize> = runs
        .iter()
        .map(|r| (r.dataset.name.as_str(), r.loaded.len()))
        .collect();
    let rich = counts.values().filter(|&&n| n >= 40).count();
    assert!(
        rich >= 10,
        "at least ten datasets need 40+ questions: {counts:?}"
    );
    for run in runs {
        assert!(
            run.loaded.len() <= 50,
            "{}: the default cap is 50",
            run.dataset.name
        );
        let report = &run.generated.report;
        assert_eq!(
            report.bound_programs,
            report.questions + report.rejected.values().sum::<u64>(),
            "{}: every bound program is a question or has a counted drop reason: {:?}",
            run.dataset.name,
            report.rejected
        );
        assert_eq!(
            run.loaded, run.generated.questions,
            "{}: what is read back is what was generated",
            run.dataset.name
        );
        let mut ids = BTreeSet::new();
        for q in &run.loaded {
            let ops = q.program_ops.clone().expect("program_ops");
            let code = q.code.as_deref().expect("code");
            let name = q.program_name.as_deref().expect("program_name");
            let fingerprint = procedural_fingerprint(&ops, code, &run.dataset.dataset_hash);
            assert_eq!(q.source, Source::Procedural);
            assert_eq!(q.dataset, run.dataset.name);
            assert_eq!(q.fingerprint.as_deref(), Some(fingerprint.as_str()));
            assert_eq!(
                q.id,
                format!("prog_{}_{name}_{}", run.dataset.name, &fingerprint[..8])
            );
            assert!(ids.insert(q.id.clone()), "duplicate id {}", q.id);
            assert_eq!(
                q.dataset_hash.as_deref(),
                Some(run.dataset.dataset_hash.as_str())
            );
            assert_eq!(q.code_hash.as_deref(), Some(string_hash(code).as_str()));
            let hash = answer_hash(&q.ground_truth);
            assert_eq!(q.ground_truth_hash.as_deref(), Some(hash.as_str()));
            assert_eq!(q.ground_truth_hashes, Some(vec![hash]));
            assert_eq!(q.accepted_answers, Some(vec![q.ground_truth.clone()]));
            assert_eq!(q.n_steps, Some(ops.len() as u64));
            assert_eq!(q.difficulty, Some(difficulty(ops.len())));
            assert_eq!(
                q.question_text, None,
                "procedural questions are not paraphrased by default"
            );
            assert_eq!(q.hint.as_deref(), Some(""));
            assert!(q.provenance.is_some(), "{}: provenance from the pool", q.id);
            assert_eq!(
                code.matches("submit(").count(),
                1,
                "{}: exactly one submit",
                q.id
            );
        }
    }
}

#[test]
fn every_ground_truth_is_reproduced_by_rerunning_its_code_on_a_fresh_worker() {
    let Some(root) =
        prerequisites("every_ground_truth_is_reproduced_by_rerunning_its_code_on_a_fresh_worker")
    else {
        return;
    };
    let runs = first_run(&root);
    rt().block_on(async {
        let pool = pool(&root).await;
        for run in runs {
            let lease = pool
                .acquire(&run.dataset.load_spec())
                .await
                .expect("the dataset loads");
            // Reverse order: a program never runs after the one it followed during generation.
            for q in run.loaded.iter().rev() {
                let response = rerun(&lease, q.code.as_deref().unwrap()).await;
                assert_eq!(response.0, ExecStatus::Ok, "{}: {:?}", q.id, response.2);
                assert_eq!(response.1.len(), 1, "{}: exactly one submission", q.id);
                assert_eq!(
                    answer_hash(&response.1[0]),
                    q.ground_truth_hash.clone().unwrap(),
                    "{}: {} vs {}",
                    q.id,
                    response.1[0],
                    q.ground_truth
                );
            }
        }
    });
}

async fn rerun(lease: &DatasetLease, code: &str) -> (ExecStatus, Vec<Value>, Option<String>) {
    let worker = lease.worker().await.expect("a worker");
    let response = worker
        .exec(code, ExecMode::Reference, Duration::from_secs(120))
        .await
        .expect("exec answers");
    (
        response.status,
        response.submissions.into_iter().map(|s| s.answer).collect(),
        response
            .exception
            .map(|e| format!("{}: {}", e.type_, e.message)),
    )
}

/// Recomputes every question's answer in Rust and returns the terminal operators checked and
/// the mismatches.
fn recompute_all(
    dataset: &Dataset,
    profile: &Profile,
    plan: &Plan,
    questions: &[Question],
) -> (BTreeMap<String, usize>, Vec<String>) {
    let table = recompute::load(dataset, profile);
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for q in questions {
        let name = q.program_name.as_deref().unwrap();
        let candidate = plan
            .candidates
            .iter()
            .find(|c| c.program.name == name)
            .expect("every question comes from a planned program");
        let test = q.ground_truth.get("test").and_then(Value::as_str);
        match recompute::evaluate(&table, &candidate.program.steps, &plan.pools, test) {
            Ok(value) if recompute::agrees(&value, &q.ground_truth) => {
                let ops = q.program_ops.as_deref().unwrap();
                for op in ops {
                    *checked.entry(op.clone()).or_default() += 1;
                }
                if name.starts_with("cascading_") {
                    *checked.entry("cascading".to_owned()).or_default() += 1;
                }
            }
            other => mismatches.push(format!(
                "{}: recomputed {other:?}, ground truth {}",
                q.id, q.ground_truth
            )),
        }
    }
    (checked, mismatches)
}

#[test]
fn ground_truths_agree_with_an_independent_rust_recomputation() {
    let Some(root) = prerequisites("ground_truths_agree_with_an_independent_rust_recomputation")
    else {
        return;
    };
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut total = 0;
    for run in first_run(&root) {
        let (c, m) = recompute_all(&run.dataset, &run.profile, &run.plan, &run.loaded);
        for (op, n) in c {
            *checked.entry(op).or_default() += n;
        }
        mismatches.extend(m);
        total += run.loaded.len();
    }
    assert!(
        mismatches.is_empty(),
        "{} of {total} ground truths disagree:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    for kind in [
        "mean",
        "median",
        "std",
        "variance",
        "sum",
        "min",
        "max",
        "correlation",
        "ratio",
        "filter_by_threshold",
        "sort_by_column",
        "top_n",
        "pick_numeric_by_variance",
        "argmax_group",
        "argmin_group_median",
        "argmax_group_count",
        "zscore",
        "ttest_ind",
        "cascading",
    ] {
        assert!(
            checked.get(kind).copied().unwrap_or(0) > 0,
            "no recomputed question uses `{kind}`: {checked:?}"
        );
    }
}

#[test]
fn a_second_run_writes_byte_identical_questions() {
    let Some(root) = prerequisites("a_second_run_writes_byte_identical_questions") else {
        return;
    };
    let first = first_run(&root);
    let dir = tempfile::tempdir().unwrap();
    let second = rt().block_on(generate_all(&root, dir.path()));
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.dataset.name, b.dataset.name);
        assert!(
            a.bytes == b.bytes,
            "{}: questions.json differs between two runs",
            a.dataset.name
        );
    }
}

#[test]
fn wording_schema_and_answer_describe_the_same_value() {
    let Some(root) = prerequisites("wording_schema_and_answer_describe_the_same_value") else {
        return;
    };
    for run in first_run(&root) {
        for q in &run.loaded {
            let schema_text = q.output_schema.as_deref().unwrap();
            let schema: Value =
                serde_json::from_str(schema_text).expect("the schema is a JSON example");
            let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
            assert_eq!(
                keys(&schema),
                keys(&q.ground_truth),
                "{}: schema keys are the answer keys",
                q.id
            );
            if let Some(metric) = schema.get("metric") {
                assert_eq!(Some(metric), q.ground_truth.get("metric"), "{}", q.id);
            }
            if let Some(test) = q.ground_truth.get("test") {
                assert!(test == "ttest" || test == "mwu", "{}: test {test}", q.id);
            }
            let text = q.question_mechanical.as_deref().unwrap();
            assert!(
                text.ends_with(&format!("Return as JSON, e.g.: {schema_text}")),
                "{}: {text}",
                q.id
            );
            let candidate = run
                .plan
                .candidates
                .iter()
                .find(|c| Some(c.program.name.as_str()) == q.program_name.as_deref())
                .unwrap();
            for column in candidate.program.bound_columns() {
                assert!(
                    text.contains(&format!("`{column}`")),
                    "{}: wording does not name `{column}`: {text}",
                    q.id
                );
            }
            for key in ["column", "col1", "col2"] {
                if let Some(Value::String(column)) = q.ground_truth.get(key) {
                    let named = text.contains(&format!("`{column}`"))
                        || text.contains("select the one with");
                    assert!(
                        named,
                        "{}: the answer's `{key}` is neither named nor picked by a stated rule: {text}",
                        q.id
                    );
                }
            }
        }
    }
}

#[test]
fn sequential_programs_on_reused_workers_see_pristine_data() {
    let Some(root) = prerequisites("sequential_programs_on_reused_workers_see_pristine_data")
    else {
        return;
    };
    rt().block_on(async {
        let catalog = Catalog::discover(&root).unwrap();
        let dataset = catalog.get("mirichoi0218_insurance").unwrap().clone();
        let pool = pool(&root).await;
        let lease = pool.acquire(&dataset.load_spec()).await.unwrap();
        let profile = lease.profile().await.unwrap();
        // One program at a time, so every program reuses a worker a filtering program ran on.
        let config = ProceduralConfig {
            concurrency: 1,
            max_executed: 80,
            ..ProceduralConfig::default()
        };
        let generated = generate(
            &dataset,
            &profile,
            &lease,
            None,
            &config,
            &EventSink::discard(),
        )
        .await
        .unwrap();
        let filters = generated
            .questions
            .iter()
            .filter(|q| {
                q.program_ops
                    .as_deref()
                    .unwrap()
                    .iter()
                    .any(|o| o == "filter_by_threshold" || o == "top_n")
            })
            .count();
        assert!(filters > 0, "some kept programs filter rows");
        let plan = plan(&profile, &config);
        let (_, mismatches) = recompute_all(&dataset, &profile, &plan, &generated.questions);
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    });
}
