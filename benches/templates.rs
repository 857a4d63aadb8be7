//! Benchmark: template question generation over the shared datasets through the real sandbox.
//!
//! Prints the wall time per dataset (load + profile + every reference program + writing) and
//! the questions generated per second over all datasets. Run with
//! `cargo bench --bench templates` (needs Docker; the datasets come from
//! `CSVAGENT_SHARED_DATASETS`, else `../shared/datasets`, else `/work/shared/datasets`).
//!
//! Environment: `CSVAGENT_BENCH_CONTAINERS` (default 2) datasets at a time, each in its own
//! container with `CSVAGENT_BENCH_WORKERS` (default 4) workers.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark prints its figures"
)]

use std::path::PathBuf;
use std::time::Instant;

use csvagent_sdk::dataset::Catalog;
use csvagent_sdk::events::EventSink;
use csvagent_sdk::question::template::{DatasetRun, TemplateConfig, run_dataset};
use csvagent_sdk::record::DataLayout;
use csvagent_sdk::sandbox::{SandboxConfig, SandboxPool};
use futures::StreamExt;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn datasets_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CSVAGENT_SHARED_DATASETS") {
        return Some(PathBuf::from(p));
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../shared/datasets"),
        PathBuf::from("/work/shared/datasets"),
    ]
    .into_iter()
    .find(|p| p.join("mirichoi0218_insurance/data.csv").is_file())
}

fn main() {
    let Some(root) = datasets_dir() else {
        eprintln!("templates bench: shared datasets not found (set CSVAGENT_SHARED_DATASETS)");
        std::process::exit(2);
    };
    let containers = env_usize("CSVAGENT_BENCH_CONTAINERS", 2).max(1);
    let workers = env_usize("CSVAGENT_BENCH_WORKERS", 4).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let catalog = Catalog::discover(&root).expect("dataset catalogue");
        let pool = SandboxPool::new(
            SandboxConfig {
                memory_bytes: 2 << 30,
                max_containers: containers,
                workers_per_container: workers,
                datasets_root: root.clone(),
                ..SandboxConfig::default()
            },
            EventSink::discard(),
        );
        let started = Instant::now();
        pool.start().await.expect("sandbox pool starts");
        println!(
            "pool start (image check, containers): {:.2} s",
            started.elapsed().as_secs_f64()
        );

        let out = tempfile::tempdir().expect("tempdir");
        let layout = DataLayout::new(out.path());
        let config = TemplateConfig {
            concurrency: workers,
            ..TemplateConfig::default()
        };
        let started = Instant::now();
        let rows: Vec<(String, f64, usize, usize)> = futures::stream::iter(&catalog.datasets)
            .map(|d| {
                let (layout, config) = (&layout, &config);
                let pool = pool.clone();
                async move {
                    let t = Instant::now();
                    let run = run_dataset(&pool, d, layout, config, &EventSink::discard()).await;
                    let secs = t.elapsed().as_secs_f64();
                    match run {
                        Ok(DatasetRun::Generated(o)) => {
                            (d.name.clone(), secs, o.questions.len(), o.rejections.len())
                        }
                        Ok(other) => {
                            eprintln!("{}: {other:?}", d.name);
                            (d.name.clone(), secs, 0, 0)
                        }
                        Err(e) => {
                            eprintln!("{}: {e}", d.name);
                            (d.name.clone(), secs, 0, 0)
                        }
                    }
                }
            })
            .buffered(containers)
            .collect()
            .await;
        let wall = started.elapsed().as_secs_f64();

        println!(
            "{:<52} {:>8} {:>9} {:>8} {:>10}",
            "dataset", "seconds", "questions", "rejected", "q/s"
        );
        for (name, secs, n, rejected) in &rows {
            println!(
                "{name:<52} {secs:>8.2} {n:>9} {rejected:>8} {:>10.2}",
                *n as f64 / secs
            );
        }
        let total: usize = rows.iter().map(|r| r.2).sum();
        println!(
            "total: {total} questions from {} datasets in {wall:.2} s = {:.2} questions/s \
             ({containers} containers x {workers} workers)",
            rows.len(),
            total as f64 / wall
        );
        pool.stop().await;
    });
}
