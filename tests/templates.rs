//! Template questions on the eleven shared datasets through the real sandbox (issue 5).
//!
//! Needs a Docker daemon (the sandbox image is built on first use) and the shared datasets.
//! One test, because every check reads the same two generation runs: generating is the
//! expensive part (about 440 reference programs per run).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use csvagent_sdk::dataset::{Catalog, Dataset};
use csvagent_sdk::events::EventSink;
use csvagent_sdk::question::template::{DatasetRun, TemplateConfig, TemplateOutput, run_dataset};
use csvagent_sdk::record::{DataLayout, load_questions};
use csvagent_sdk::sandbox::{DatasetLease, ExecMode, SandboxConfig, SandboxPool};
use csvagent_sdk::schema::{ExecStatus, Question, Source};
use csvagent_sdk::verify::answer_hash;
use futures::StreamExt;
use serde_json::Value;

const TEST: &str = "shared_datasets_give_300_reproducible_schema_valid_template_questions";

fn pool_config(root: &Path) -> SandboxConfig {
    SandboxConfig {
        memory_bytes: 2 << 30,
        max_containers: 4,
        workers_per_container: 4,
        datasets_root: root.to_path_buf(),
        ..SandboxConfig::default()
    }
}

/// Generates every dataset into `layout`, four datasets at a time (one container each); returns
/// the outputs by name.
async fn generate_all(
    pool: &SandboxPool,
    datasets: &[Dataset],
    layout: &DataLayout,
) -> BTreeMap<String, TemplateOutput> {
    let config = TemplateConfig::default();
    let runs: Vec<(String, DatasetRun)> = futures::stream::iter(datasets)
        .map(|d| async {
            let run = run_dataset(pool, d, layout, &config, &EventSink::discard())
                .await
                .unwrap_or_else(|e| panic!("dataset `{}` crashed the run: {e:?}", d.name));
            (d.name.clone(), run)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    runs.into_iter()
        .map(|(name, run)| match run {
            DatasetRun::Generated(out) => (name, out),
            other => panic!("dataset `{name}` was not generated: {other:?}"),
        })
        .collect()
}

/// The key sets an `output_schema` allows (one per ` or `-separated form).
fn schema_key_sets(schema: &str) -> Vec<Vec<String>> {
    schema
        .split(" or ")
        .map(|form| {
            let v: Value = serde_json::from_str(form).expect("schema form is JSON");
            let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            keys.sort();
            keys
        })
        .collect()
}

fn assert_answer_matches_schema(q: &Question) {
    let schema = q.output_schema.as_deref().expect("output_schema");
    for answer in q.accepted_answers.as_deref().expect("accepted_answers") {
        if schema == "scalar:float" {
            assert!(answer.is_number(), "{}: {answer} is not a number", q.id);
            continue;
        }
        let mut keys: Vec<String> = answer
            .as_object()
            .unwrap_or_else(|| panic!("{}: {answer} is not an object", q.id))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert!(
            schema_key_sets(schema).contains(&keys),
            "{}: answer keys {keys:?} do not match the schema {schema}",
            q.id
        );
    }
}

/// Runs the question's `code` once on a fresh worker and checks that it submits exactly the
/// recorded ground truth (same `H`).
async fn reproduce(lease: &DatasetLease, q: &Question) {
    let worker = lease.worker().await.expect("worker");
    let code = q.code.as_deref().expect("code");
    let r = worker
        .exec(code, ExecMode::Reference, Duration::from_secs(120))
        .await
        .expect("exec");
    assert_eq!(r.status, ExecStatus::Ok, "{}: {:?}", q.id, r.exception);
    assert_eq!(r.submissions.len(), 1, "{}", q.id);
    assert_eq!(
        Some(answer_hash(&r.submissions[0].answer)),
        q.ground_truth_hash,
        "{}: re-running the code gave {}",
        q.id,
        r.submissions[0].answer
    );
}

#[test]
fn shared_datasets_give_300_reproducible_schema_valid_template_questions() {
    if !support::require_docker(TEST) {
        return;
    }
    let Some(root) = support::require_shared_datasets(TEST) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let catalog = Catalog::discover(&root).expect("catalogue");
        assert_eq!(catalog.datasets.len(), 11, "skipped: {:?}", catalog.skipped);
        let pool = SandboxPool::new(pool_config(&root), EventSink::discard());
        pool.start().await.expect("the sandbox starts");
        let tmp = tempfile::tempdir().expect("tempdir");
        let (first, second) = (
            DataLayout::new(tmp.path().join("first")),
            DataLayout::new(tmp.path().join("second")),
        );

        let started = Instant::now();
        let outputs = generate_all(&pool, &catalog.datasets, &first).await;
        let first_run = started.elapsed();

        // At least 300 questions, every record schema-valid (the loader enforces the contract
        // and rejects unknown keys) with a non-null ground truth whose keys match its schema.
        let mut total = 0;
        let mut per_dataset = Vec::new();
        let mut by_dataset: BTreeMap<String, Vec<Question>> = BTreeMap::new();
        for d in &catalog.datasets {
            let questions = load_questions(&first.questions_file(Source::Template, &d.name))
                .unwrap_or_else(|e| panic!("{}: {e}", d.name));
            assert_eq!(questions, outputs[&d.name].questions);
            for q in &questions {
                assert!(!q.ground_truth.is_null(), "{}: null ground truth", q.id);
                assert_eq!(
                    q.ground_truth_hash.as_deref(),
                    Some(answer_hash(&q.ground_truth).as_str())
                );
                assert_answer_matches_schema(q);
                assert!(q.provenance.is_some(), "{}: provenance", q.id);
            }
            total += questions.len();
            per_dataset.push(format!("{}={}", d.name, questions.len()));
            by_dataset.insert(d.name.clone(), questions);
        }
        eprintln!("template questions: {total} ({})", per_dataset.join(", "));
        assert!(total >= 300, "only {total} template questions");
        for (name, questions) in &by_dataset {
            assert!(
                questions.len() >= 20,
                "{name}: only {} questions",
                questions.len()
            );
        }

        // Re-running each question's own `code` on a fresh worker reproduces its ground truth.
        let started = Instant::now();
        futures::stream::iter(&catalog.datasets)
            .for_each_concurrent(4, |d| {
                let (pool, questions) = (&pool, &by_dataset[&d.name]);
                async move {
                    let lease = pool.acquire(&d.load_spec()).await.expect("dataset loads");
                    futures::stream::iter(questions)
                        .for_each_concurrent(4, |q| reproduce(&lease, q))
                        .await;
                }
            })
            .await;
        let reproduce_time = started.elapsed();

        // A second generation writes byte-identical files.
        let started = Instant::now();
        generate_all(&pool, &catalog.datasets, &second).await;
        let second_run = started.elapsed();
        for d in &catalog.datasets {
            for (a, b) in [
                (
                    first.questions_file(Source::Template, &d.name),
                    second.questions_file(Source::Template, &d.name),
                ),
                (
                    first.report_file(Source::Template, &d.name),
                    second.report_file(Source::Template, &d.name),
                ),
                (first.rejected_file(&d.name), second.rejected_file(&d.name)),
            ] {
                let (x, y) = (
                    std::fs::read(&a).expect("first"),
                    std::fs::read(&b).expect("second"),
                );
                assert!(x == y, "{} differs between runs", a.display());
            }
        }
        eprintln!(
            "timings: generate {:.1} s, reproduce {:.1} s, generate again {:.1} s",
            first_run.as_secs_f64(),
            reproduce_time.as_secs_f64(),
            second_run.as_secs_f64()
        );
        pool.stop().await;
    });
}
