//! Procedural generation benchmark: prints programs enumerated per second (pure planning: raw
//! candidates of the typed search plus bound programs, divided by the planning time) and
//! questions per second end to end (planning, execution in the real sandbox, filtering, cap,
//! wording), per dataset and in total.
//!
//! `cargo bench --bench procedural` over the shared datasets (`CSVAGENT_SHARED_DATASETS`, else
//! `/work/shared/datasets`); `CSVAGENT_BENCH_DATASETS=a,b` limits the datasets. Without a
//! Docker daemon only the planning figures are printed.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::path::{Path, PathBuf};
use std::time::Instant;

use csvagent_sdk::dataset::Catalog;
use csvagent_sdk::events::EventSink;
use csvagent_sdk::question::procedural::{ProceduralConfig, generate, plan};
use csvagent_sdk::sandbox::{SandboxConfig, SandboxPool};

fn datasets_dir() -> PathBuf {
    std::env::var("CSVAGENT_SHARED_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/work/shared/datasets"))
}

fn docker_available() -> bool {
    match std::env::var("DOCKER_HOST") {
        Ok(host) => host
            .strip_prefix("unix://")
            .is_none_or(|p| Path::new(p).exists()),
        Err(_) => Path::new("/var/run/docker.sock").exists(),
    }
}

fn main() {
    let root = datasets_dir();
    let catalog = match Catalog::discover(&root) {
        Ok(c) => c,
        Err(e) => {
            println!("procedural bench: no datasets ({e}); nothing measured");
            return;
        }
    };
    let only: Option<Vec<String>> = std::env::var("CSVAGENT_BENCH_DATASETS")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    let datasets: Vec<_> = catalog
        .datasets
        .into_iter()
        .filter(|d| only.as_ref().is_none_or(|o| o.contains(&d.name)))
        .collect();
    if !docker_available() {
        println!("procedural bench: no Docker daemon; end-to-end figures skipped");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let pool = SandboxPool::new(
            SandboxConfig {
                datasets_root: root.clone(),
                max_containers: 1,
                ..SandboxConfig::default()
            },
            EventSink::discard(),
        );
        pool.start().await.expect("the sandbox pool starts");
        let config = ProceduralConfig::default();
        println!(
            "{:<46} {:>9} {:>11} {:>9} {:>9} {:>10} {:>9} {:>9}",
            "dataset", "enumerated", "enum/s", "executed", "questions", "exec ms", "total ms", "q/s"
        );
        let (mut all_programs, mut all_plan_s, mut all_questions, mut all_s) = (0u64, 0.0, 0u64, 0.0);
        for dataset in &datasets {
            let lease = pool.acquire(&dataset.load_spec()).await.expect("the dataset loads");
            let profile = lease.profile().await.expect("the dataset profiles");
            let planned = Instant::now();
            let p = plan(&profile, &config);
            let plan_s = planned.elapsed().as_secs_f64();
            let enumerated = p.search.candidates + p.bound_programs;
            let started = Instant::now();
            let generated = generate(dataset, &profile, &lease, pool.provenance().as_ref(), &config, &EventSink::discard())
                .await
                .expect("generation runs");
            let total_s = started.elapsed().as_secs_f64();
            let r = &generated.report;
            println!(
                "{:<46} {:>9} {:>11.0} {:>9} {:>9} {:>10} {:>9} {:>9.1}",
                dataset.name,
                enumerated,
                enumerated as f64 / plan_s,
                r.executed,
                r.questions,
                r.execute_ms,
                r.total_ms,
                r.questions as f64 / total_s
            );
            all_programs += enumerated;
            all_plan_s += plan_s;
            all_questions += r.questions;
            all_s += total_s;
        }
        println!(
            "total: {all_programs} programs enumerated ({:.0}/s planning), {all_questions} questions in {all_s:.1} s ({:.2} questions/s end to end)",
            all_programs as f64 / all_plan_s,
            all_questions as f64 / all_s
        );
        pool.stop().await;
    });
}
