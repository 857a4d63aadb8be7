//! The run lock `.csvagent.lock` (SPEC 1.12, 8.4): one writing run per data directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record::now_rfc3339;

/// The lock file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Process id of the holder.
    pub pid: u32,
    /// The holder's run id.
    pub run_id: String,
    /// The holder's host name.
    pub host: String,
    /// When the lock was taken (RFC 3339 UTC).
    pub started_at: String,
}

/// A held run lock; the file is removed when this is dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock at `path` for `run_id`. A lock left by a dead process on this host (or an
    /// unreadable lock file) is replaced.
    ///
    /// # Errors
    /// The reason as a preflight message when a live process holds the lock, or the file cannot
    /// be written.
    pub fn acquire(path: &Path, run_id: &str) -> Result<RunLock, String> {
        if let Some(reason) = held_by_live_process(path) {
            return Err(reason);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        let info = LockInfo {
            pid: std::process::id(),
            run_id: run_id.to_owned(),
            host: host_name(),
            started_at: now_rfc3339(),
        };
        let _ = std::fs::remove_file(path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| format!("cannot take the run lock `{}`: {e}", path.display()))?;
        let text = serde_json::to_string(&info).unwrap_or_default();
        file.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        Ok(RunLock {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `Some(reason)` when the lock at `path` is held by a live process (on this host, a running
/// pid; on another host, always, since it cannot be checked).
pub fn held_by_live_process(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let info: LockInfo = serde_json::from_str(&text).ok()?;
    let live = if info.host == host_name() {
        pid_alive(info.pid) && info.pid != std::process::id()
    } else {
        true
    };
    live.then(|| {
        format!(
            "`{}` is held by run {} (pid {} on {}, since {}); wait for it or stop it",
            path.display(),
            info.run_id,
            info.pid,
            info.host,
            info.started_at
        )
    })
}

/// Whether a process with this pid exists (Linux: `/proc/<pid>`).
pub fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// This machine's host name (`unknown` if it cannot be read).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_holder_refuses_and_a_dead_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".csvagent.lock");
        // A live holder: pid 1 always exists on Linux.
        let live = LockInfo {
            pid: 1,
            run_id: "r-live".into(),
            host: host_name(),
            started_at: now_rfc3339(),
        };
        std::fs::write(&path, serde_json::to_string(&live).unwrap()).unwrap();
        let err = RunLock::acquire(&path, "me").unwrap_err();
        assert!(err.contains("held by run r-live (pid 1"), "{err}");
        // A dead holder: a pid that does not exist.
        let dead = LockInfo {
            pid: 4_000_000,
            ..live
        };
        std::fs::write(&path, serde_json::to_string(&dead).unwrap()).unwrap();
        let lock = RunLock::acquire(&path, "me").unwrap();
        let info: LockInfo =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!((info.pid, info.run_id.as_str()), (std::process::id(), "me"));
        drop(lock);
        assert!(!path.exists(), "the lock is released on drop");
    }
}
