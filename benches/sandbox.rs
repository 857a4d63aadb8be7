//! Sandbox benchmark (prints figures; asserts nothing): pool start time, exec round-trip
//! p50/p99 on a warm worker, and executions per second on 1 and N workers.
//!
//! Run with `cargo bench --bench sandbox`. Needs a Docker daemon and the shared datasets
//! (`CSVAGENT_SHARED_DATASETS`, else `/work/shared/datasets`); builds the image if missing.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "a benchmark prints its figures and may panic on setup failure"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use csvagent_sdk::events::EventSink;
use csvagent_sdk::sandbox::{
    ExecMode, ImageBuildOptions, LoadSpec, SandboxConfig, SandboxPool, build_image,
};
use futures::future::join_all;

const WORKERS: usize = 4;
const ROUNDS: usize = 200;

fn datasets_root() -> Option<PathBuf> {
    std::env::var_os("CSVAGENT_SHARED_DATASETS")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("/work/shared/datasets"),
            PathBuf::from("../shared/datasets"),
        ])
        .find(|p| p.join("mirichoi0218_insurance/data.csv").is_file())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() {
    let Some(root) = datasets_root() else {
        println!("sandbox bench skipped: shared datasets not found (set CSVAGENT_SHARED_DATASETS)");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let opts = ImageBuildOptions::from_config(&SandboxConfig::default());
        if let Err(e) = build_image(&opts, &EventSink::discard()).await {
            println!("sandbox bench skipped: {e}");
            return;
        }
        let config = SandboxConfig {
            memory_bytes: 1 << 30,
            max_containers: 1,
            workers_per_container: WORKERS,
            datasets_root: root.clone(),
            ..SandboxConfig::default()
        };
        let pool = SandboxPool::new(config, EventSink::discard());
        let t = Instant::now();
        pool.start().await.unwrap();
        println!(
            "pool start (1 container, ping answered): {:.2} s",
            t.elapsed().as_secs_f64()
        );

        let csv_path = root.join("mirichoi0218_insurance/data.csv");
        let bytes = std::fs::read(&csv_path).unwrap();
        let spec = LoadSpec {
            dataset: "mirichoi0218_insurance".into(),
            csv_path,
            encoding: "utf-8".into(),
            delimiter: ',',
            decimal: '.',
            dataset_hash: csvagent_sdk::verify::sha256_hex(&bytes),
        };
        let t = Instant::now();
        let lease = pool.acquire(&spec).await.unwrap();
        println!(
            "dataset load (insurance, 1338 rows): {:.0} ms",
            t.elapsed().as_secs_f64() * 1e3
        );

        let timeout = Duration::from_secs(30);
        let worker = lease.worker().await.unwrap();
        let t = Instant::now();
        worker.exec("1", ExecMode::Agent, timeout).await.unwrap();
        println!(
            "first exec on a fresh worker (fork + namespace): {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        for _ in 0..5 {
            worker.exec("1", ExecMode::Agent, timeout).await.unwrap();
        }
        let mut samples = Vec::with_capacity(ROUNDS);
        let t = Instant::now();
        for _ in 0..ROUNDS {
            let s = Instant::now();
            worker
                .exec("x = df['charges'].mean()", ExecMode::Agent, timeout)
                .await
                .unwrap();
            samples.push(s.elapsed());
        }
        let one = ROUNDS as f64 / t.elapsed().as_secs_f64();
        samples.sort();
        println!(
            "exec round-trip on a warm worker ({ROUNDS} cells): p50 {:.2} ms, p99 {:.2} ms",
            percentile(&samples, 0.5).as_secs_f64() * 1e3,
            percentile(&samples, 0.99).as_secs_f64() * 1e3
        );
        println!("executions per second, 1 worker: {one:.0}");

        let mut workers = vec![worker];
        for _ in 1..WORKERS {
            let w = lease.worker().await.unwrap();
            w.exec("1", ExecMode::Agent, timeout).await.unwrap();
            workers.push(w);
        }
        let t = Instant::now();
        join_all(workers.iter().map(|w| async move {
            for _ in 0..ROUNDS {
                w.exec("x = df['charges'].mean()", ExecMode::Agent, timeout)
                    .await
                    .unwrap();
            }
        }))
        .await;
        let many = (ROUNDS * WORKERS) as f64 / t.elapsed().as_secs_f64();
        println!("executions per second, {WORKERS} workers in one container: {many:.0}");
        drop(workers);
        drop(lease);
        let t = Instant::now();
        let report = pool.stop().await;
        println!(
            "pool stop: {:.2} s ({} stopped, {} failed)",
            t.elapsed().as_secs_f64(),
            report.stopped.len(),
            report.failed.len()
        );
    });
}
