//! Shared helpers for integration tests: locating real inputs and deciding whether a test that
//! needs Docker, a local model or the shared datasets can run.
//!
//! CI sets `CSVAGENT_REQUIRE_ALL=1`: there, a missing prerequisite fails the test. On a
//! developer machine without it, the test prints `SKIPPED <name>: <why>` to stderr and returns,
//! so a local `cargo test` says clearly what it did not run.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(
    clippy::print_stderr,
    reason = "a local skip must be visible in the test output"
)]

use std::path::{Path, PathBuf};

/// Whether CI demands every prerequisite (`CSVAGENT_REQUIRE_ALL=1`).
pub fn required() -> bool {
    std::env::var("CSVAGENT_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Reports a missing prerequisite: panics in CI, prints a skip line otherwise. Returns `false`
/// so callers can `if !prerequisite(...) { return; }`.
pub fn missing(test: &str, why: &str) -> bool {
    if required() {
        panic!("{test}: prerequisite missing in CI: {why}");
    }
    eprintln!("SKIPPED {test}: {why} (set CSVAGENT_REQUIRE_ALL=1 to make this a failure)");
    false
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The eleven real Kaggle datasets: `CSVAGENT_SHARED_DATASETS`, else `../shared/datasets`
/// beside the repository, else `/work/shared/datasets`.
pub fn shared_datasets() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CSVAGENT_SHARED_DATASETS") {
        return Some(PathBuf::from(p));
    }
    [
        repo_root().join("../shared/datasets"),
        PathBuf::from("/work/shared/datasets"),
    ]
    .into_iter()
    .find(|p| p.join("mirichoi0218_insurance/data.csv").is_file())
}

/// The shared datasets, or a skip/panic per [`missing`].
pub fn require_shared_datasets(test: &str) -> Option<PathBuf> {
    match shared_datasets() {
        Some(p) => Some(p),
        None => {
            missing(
                test,
                "the shared datasets were not found (set CSVAGENT_SHARED_DATASETS)",
            );
            None
        }
    }
}

/// The test model (SmolLM2-135M-Instruct Q4_1 GGUF): `CSVAGENT_TEST_MODEL`, else
/// `.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf` under the repository (where `.ci/run` and
/// `scripts/fetch-test-model.sh` put it).
pub fn require_test_model(test: &str) -> Option<PathBuf> {
    let path = std::env::var("CSVAGENT_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    if path.is_file() {
        Some(path)
    } else {
        missing(
            test,
            &format!(
                "test model not found at {} (run scripts/fetch-test-model.sh)",
                path.display()
            ),
        );
        None
    }
}

/// Whether a Docker daemon answers on `DOCKER_HOST` or the local socket.
pub fn docker_available() -> bool {
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        if let Some(path) = host.strip_prefix("unix://") {
            return Path::new(path).exists();
        }
        return true;
    }
    Path::new("/var/run/docker.sock").exists()
}

/// Docker, or a skip/panic per [`missing`].
pub fn require_docker(test: &str) -> bool {
    docker_available() || missing(test, "no Docker daemon (start dockerd or set DOCKER_HOST)")
}

/// How many sandbox containers in `status` carry `run_id`, live or orphaned (a container whose
/// owner process is dead is filed under `orphans`, so after a process exits both count).
pub fn run_containers(status: &csvagent_sdk::sandbox::ImageStatus, run_id: &str) -> usize {
    status
        .running
        .iter()
        .chain(&status.orphans)
        .filter(|c| c.run_id.as_deref() == Some(run_id))
        .count()
}
