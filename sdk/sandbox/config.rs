//! [`SandboxConfig`]: limits, timeouts and image choice of the sandbox pool (SPEC 4.2, 4.6).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SandboxError;

/// Limits, timeouts and image choice of a [`super::SandboxPool`].
///
/// In configuration files durations are given in seconds (`exec_timeout = 60`). Defaults are
/// those of SPEC 4.2 and 4.6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Memory limit per container in bytes, also used as the memory+swap limit (no swap).
    /// By default 4 GiB.
    pub memory_bytes: u64,
    /// CPUs per container (fractional allowed). By default 2.0.
    pub cpus: f64,
    /// Maximum number of processes and threads per container. By default 256.
    pub pids: i64,
    /// Python workers (parallel REPLs) per container. By default 16.
    pub workers_per_container: usize,
    /// Upper bound on concurrently running containers; the pool also caps it by free memory
    /// (`max(1, floor((MemAvailable − 2 GiB) / memory_bytes))`). By default 4.
    pub max_containers: usize,
    /// Default timeout of one agent cell. By default 60 s.
    #[serde(with = "secs")]
    pub exec_timeout: Duration,
    /// Default timeout of one reference program. By default 120 s.
    #[serde(with = "secs")]
    pub reference_timeout: Duration,
    /// Time a new container has to answer `ping`. By default 60 s.
    #[serde(with = "secs")]
    pub start_timeout: Duration,
    /// Timeout of `load`, `profile` and `overview`. By default 120 s.
    #[serde(with = "secs")]
    pub load_timeout: Duration,
    /// The host directory mounted read-only at `/datasets`; every [`super::LoadSpec::csv_path`]
    /// must lie under it. By default `datasets` (relative to the working directory).
    pub datasets_root: PathBuf,
    /// Use this image instead of the built-in `csvagent-sandbox:<version>-<hash>` tag. It is
    /// never built; it must exist.
    pub image: Option<String>,
    /// How a missing image is built: `true` (the default) builds offline with `debootstrap`
    /// from the Debian mirror plus wheels from PyPI (needs root and `debootstrap`); `false`
    /// builds from the Dockerfile on `python:3.11-slim` (needs a reachable container
    /// registry).
    pub offline_build: bool,
    /// Debian mirror for the offline build. By default `http://deb.debian.org/debian`.
    pub debian_mirror: String,
    /// Cache directory for the offline build (root file system tarball, wheels). By default
    /// `$XDG_CACHE_HOME/csvagent/sandbox` or `~/.cache/csvagent/sandbox`.
    pub cache_dir: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            memory_bytes: 4 << 30,
            cpus: 2.0,
            pids: 256,
            workers_per_container: 16,
            max_containers: 4,
            exec_timeout: Duration::from_secs(60),
            reference_timeout: Duration::from_secs(120),
            start_timeout: Duration::from_secs(60),
            load_timeout: Duration::from_secs(120),
            datasets_root: PathBuf::from("datasets"),
            image: None,
            offline_build: true,
            debian_mirror: "http://deb.debian.org/debian".to_string(),
            cache_dir: None,
        }
    }
}

impl SandboxConfig {
    /// Checks every field once.
    ///
    /// # Errors
    /// [`SandboxError::Config`] naming the first invalid field and the valid range.
    pub fn validate(&self) -> Result<(), SandboxError> {
        let bad = |field: &str, message: &str| {
            Err(SandboxError::Config {
                field: field.to_string(),
                message: message.to_string(),
            })
        };
        if self.memory_bytes < 256 << 20 {
            return bad("memory_bytes", "must be at least 268435456 (256 MiB)");
        }
        if !(self.cpus.is_finite() && self.cpus > 0.0) {
            return bad("cpus", "must be a positive number");
        }
        if self.pids < 32 {
            return bad("pids", "must be at least 32");
        }
        if self.workers_per_container == 0 || self.workers_per_container > 64 {
            return bad("workers_per_container", "must be between 1 and 64");
        }
        if self.max_containers == 0 {
            return bad("max_containers", "must be at least 1");
        }
        for (field, d) in [
            ("exec_timeout", self.exec_timeout),
            ("reference_timeout", self.reference_timeout),
            ("start_timeout", self.start_timeout),
            ("load_timeout", self.load_timeout),
        ] {
            if d.is_zero() {
                return bad(field, "must be greater than 0 seconds");
            }
        }
        Ok(())
    }

    /// The cache directory of the offline build (see [`SandboxConfig::cache_dir`]).
    pub fn resolved_cache_dir(&self) -> PathBuf {
        if let Some(dir) = &self.cache_dir {
            return dir.clone();
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("csvagent").join("sandbox")
    }
}

/// Serde for a [`Duration`] as a number of seconds.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(|_| {
            serde::de::Error::custom(format!("invalid duration {v}: expected seconds >= 0"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_durations_in_seconds_and_keeps_defaults() {
        let c: SandboxConfig =
            serde_json::from_str(r#"{"exec_timeout": 5, "max_containers": 2}"#).unwrap();
        assert_eq!(c.exec_timeout, Duration::from_secs(5));
        assert_eq!(c.max_containers, 2);
        assert_eq!(c.memory_bytes, 4 << 30);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn invalid_config_names_the_field() {
        let c = SandboxConfig {
            workers_per_container: 0,
            ..SandboxConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("`workers_per_container`"), "{e}");
    }
}
