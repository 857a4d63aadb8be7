//! The `csvagent-sandbox` image (SPEC 4.1): its build context and tag, the two build paths
//! (offline `debootstrap` + wheels, or a Dockerfile on `python:3.11-slim`), and the
//! `status`/`prune` housekeeping (in `housekeeping`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use bollard::Docker;
use bollard::query_parameters::BuildImageOptions;
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_util::io::ReaderStream;

use super::engine;
use super::{SandboxConfig, SandboxError};
use crate::events::{Event, EventSink};

mod housekeeping;
mod offline;

pub use housekeeping::{ImageStatus, ManagedContainer, PruneReport, image_status, prune};

const SUPERVISOR_PY: &str = include_str!("python/supervisor.py");
const RUNTIME_PY: &str = include_str!("python/runtime.py");
const PROFILE_PY: &str = include_str!("python/profile.py");
const REQUIREMENTS_LOCK: &str = include_str!("python/requirements.lock");

/// Image repository name.
const REPOSITORY: &str = "csvagent-sandbox";
/// Debian suite of the offline build.
const SUITE: &str = "bookworm";
/// Where the wheels go inside the image (on `PYTHONPATH`).
const SITE: &str = "/opt/csvagent/lib";

/// The process-wide build lock (SPEC 4.1).
static BUILD_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How to build the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBuildOptions {
    /// `true`: debootstrap + wheels (needs root, `debootstrap`, `tar` and a host `python3` with
    /// pip; reaches only the Debian mirror and PyPI). `false`: the Dockerfile on
    /// `python:3.11-slim` (needs a container registry).
    pub offline: bool,
    /// Debian mirror for `debootstrap`.
    pub debian_mirror: String,
    /// Cache of the debootstrapped root file system tarball and the downloaded wheels.
    pub cache_dir: PathBuf,
    /// Rebuild even if the tag exists.
    pub force: bool,
}

impl ImageBuildOptions {
    /// The build options implied by a pool config (never forced).
    pub fn from_config(config: &SandboxConfig) -> Self {
        ImageBuildOptions {
            offline: config.offline_build,
            debian_mirror: config.debian_mirror.clone(),
            cache_dir: config.resolved_cache_dir(),
            force: false,
        }
    }
}

/// A present sandbox image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    /// `csvagent-sandbox:<version>-<hash8>`.
    pub tag: String,
    /// The image id (`sha256:…`).
    pub id: String,
    /// Whether this call built it.
    pub built: bool,
    /// The image labels `csvagent.version` and `csvagent.pin.<package>` as
    /// `version` / `<package>` -> version.
    pub versions: BTreeMap<String, String>,
    /// Wall time of the build in milliseconds (0 if it was present).
    pub elapsed_ms: u64,
}

/// The files of the build context, in a fixed order: `(name, contents)`.
fn context_files() -> Vec<(&'static str, String)> {
    vec![
        ("Dockerfile", dockerfile()),
        ("profile.py", PROFILE_PY.to_string()),
        ("requirements.lock", REQUIREMENTS_LOCK.to_string()),
        ("runtime.py", RUNTIME_PY.to_string()),
        ("supervisor.py", SUPERVISOR_PY.to_string()),
    ]
}

/// SHA-256 hex over the build context (name, length and bytes of each file).
fn context_sha256() -> String {
    let mut h = Sha256::new();
    for (name, body) in context_files() {
        h.update(name.as_bytes());
        h.update([0]);
        h.update((body.len() as u64).to_le_bytes());
        h.update(body.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The image tag this build of csvagent uses: `csvagent-sandbox:<crate version>-<8 hex of
/// SHA-256 over the build context>`. Any change to the Python files or the pins changes it.
pub fn image_tag() -> String {
    format!(
        "{REPOSITORY}:{}-{}",
        env!("CARGO_PKG_VERSION"),
        &context_sha256()[..8]
    )
}

/// `(package, version)` of every pin in the lock file, in file order.
fn pins() -> Vec<(String, String)> {
    REQUIREMENTS_LOCK
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') || l.starts_with("--") {
                return None;
            }
            let (name, rest) = l.split_once("==")?;
            let version = rest.split_whitespace().next()?.trim_end_matches('\\');
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

/// Environment of every sandbox process.
fn image_env() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
        ("PYTHONPATH", SITE),
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("PYTHONUNBUFFERED", "1"),
        ("OPENBLAS_NUM_THREADS", "1"),
        ("OMP_NUM_THREADS", "1"),
        ("MKL_NUM_THREADS", "1"),
        ("CSVAGENT_SANDBOX", "1"),
        ("HOME", "/scratch"),
        ("TMPDIR", "/scratch"),
    ]
}

/// `LABEL` key/values: csvagent version, context hash and every pinned version.
fn image_labels() -> Vec<(String, String)> {
    let mut l = vec![
        (
            "csvagent.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (
            "csvagent.context_sha256".to_string(),
            context_sha256_without_dockerfile(),
        ),
    ];
    for (name, version) in pins() {
        l.push((format!("csvagent.pin.{name}"), version));
    }
    l
}

/// The context hash over the files other than the Dockerfile (the Dockerfile embeds it).
fn context_sha256_without_dockerfile() -> String {
    let mut h = Sha256::new();
    for (name, body) in [
        ("profile.py", PROFILE_PY),
        ("requirements.lock", REQUIREMENTS_LOCK),
        ("runtime.py", RUNTIME_PY),
        ("supervisor.py", SUPERVISOR_PY),
    ] {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(body.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The Dockerfile of the registry build path; the offline path reproduces it step by step.
fn dockerfile() -> String {
    let env = image_env()
        .iter()
        .map(|(k, v)| format!("ENV {k}={v}\n"))
        .collect::<String>();
    let labels = image_labels()
        .iter()
        .map(|(k, v)| format!("LABEL {k}=\"{v}\"\n"))
        .collect::<String>();
    format!(
        "FROM python:3.11-slim\n\
         RUN groupadd -g 10001 sandbox \\\n \
         && useradd -u 10001 -g 10001 -d /scratch -M -s /usr/sbin/nologin sandbox \\\n \
         && mkdir -p /scratch /datasets {SITE}\n\
         COPY requirements.lock /opt/csvagent/requirements.lock\n\
         RUN pip install --no-cache-dir --no-deps --require-hashes --only-binary=:all: \\\n    \
         --target {SITE} -r /opt/csvagent/requirements.lock\n\
         COPY supervisor.py runtime.py profile.py /opt/csvagent/\n\
         {env}{labels}USER 10001:10001\n\
         WORKDIR /scratch\n\
         CMD [\"python3\", \"/opt/csvagent/supervisor.py\"]\n"
    )
}

fn build_error(tag: &str, step: &str, message: impl Into<String>) -> SandboxError {
    SandboxError::ImageBuild {
        tag: tag.to_string(),
        step: step.to_string(),
        message: message.into(),
    }
}

async fn progress(events: &EventSink, step: &str, message: impl Into<String>) {
    let message = message.into();
    tracing::info!(step, "{message}");
    events
        .emit(Event::ImageBuild {
            step: step.to_string(),
            message,
        })
        .await;
}

/// Builds the sandbox image (or finds it present) and returns what is there.
///
/// Progress goes to `events` as [`Event::ImageBuild`]. A process-wide lock serialises builds.
/// The offline path takes a few minutes the first time (debootstrap ~1.5 min, wheels, import)
/// and well under a minute once the root file system tarball and wheels are cached under
/// `opts.cache_dir`.
///
/// # Errors
/// [`SandboxError::DaemonUnavailable`]; [`SandboxError::ImageBuild`] naming the step
/// (`debootstrap` needs root and the `debootstrap` package; `wheels` needs PyPI; `dockerfile`
/// needs a registry).
pub async fn build_image(
    opts: &ImageBuildOptions,
    events: &EventSink,
) -> Result<ImageInfo, SandboxError> {
    let docker = engine::connect().await?;
    ensure_image(&docker, opts, events).await
}

/// Fails unless `tag` exists.
pub(crate) async fn require_image(docker: &Docker, tag: &str) -> Result<ImageInfo, SandboxError> {
    inspect(docker, tag).await?.ok_or_else(|| SandboxError::Docker {
        action: "inspect image".into(),
        subject: tag.to_string(),
        message: "no such image (the configured `image` is never built; remove the setting to use the built-in image)".into(),
    })
}

async fn inspect(docker: &Docker, tag: &str) -> Result<Option<ImageInfo>, SandboxError> {
    match docker.inspect_image(tag).await {
        Ok(img) => {
            let labels = img.config.and_then(|c| c.labels).unwrap_or_default();
            Ok(Some(ImageInfo {
                tag: tag.to_string(),
                id: img.id.unwrap_or_default(),
                built: false,
                versions: versions_from_labels(&labels),
                elapsed_ms: 0,
            }))
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(SandboxError::Docker {
            action: "inspect image".into(),
            subject: tag.to_string(),
            message: e.to_string(),
        }),
    }
}

fn versions_from_labels(labels: &HashMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter_map(|(k, v)| {
            if k == "csvagent.version" {
                Some(("version".to_string(), v.clone()))
            } else {
                k.strip_prefix("csvagent.pin.")
                    .map(|p| (p.to_string(), v.clone()))
            }
        })
        .collect()
}

/// Returns the image, building it first when missing (or when `opts.force`).
pub(crate) async fn ensure_image(
    docker: &Docker,
    opts: &ImageBuildOptions,
    events: &EventSink,
) -> Result<ImageInfo, SandboxError> {
    let tag = image_tag();
    if !opts.force
        && let Some(info) = inspect(docker, &tag).await?
    {
        return Ok(info);
    }
    let _guard = BUILD_LOCK.lock().await;
    // Other processes (parallel test binaries, a second csvagent) wait on the same file lock.
    let _file_lock = lock_build_file(&tag, &opts.cache_dir).await?;
    if !opts.force
        && let Some(info) = inspect(docker, &tag).await?
    {
        return Ok(info);
    }
    let started = Instant::now();
    progress(
        events,
        "start",
        format!(
            "building {tag} ({})",
            if opts.offline {
                "offline"
            } else {
                "Dockerfile"
            }
        ),
    )
    .await;
    if opts.offline {
        offline::build_offline(docker, &tag, opts, events).await?;
    } else {
        build_dockerfile(docker, &tag, events).await?;
    }
    let mut info = inspect(docker, &tag).await?.ok_or_else(|| {
        build_error(
            &tag,
            "verify",
            "the build finished but the image is missing",
        )
    })?;
    info.built = true;
    info.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    progress(
        events,
        "done",
        format!("built {tag} in {:.0} s", started.elapsed().as_secs_f64()),
    )
    .await;
    Ok(info)
}

/// Takes the cross-process build lock `<cache_dir>/build.lock` (released when the file is
/// dropped).
async fn lock_build_file(tag: &str, cache_dir: &Path) -> Result<std::fs::File, SandboxError> {
    std::fs::create_dir_all(cache_dir).map_err(|e| {
        build_error(
            tag,
            "prepare",
            format!("cannot create `{}`: {e}", cache_dir.display()),
        )
    })?;
    let path = cache_dir.join("build.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            build_error(
                tag,
                "prepare",
                format!("cannot open `{}`: {e}", path.display()),
            )
        })?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| build_error(tag, "prepare", e.to_string()))?
        .map_err(|e| {
            build_error(
                tag,
                "prepare",
                format!("cannot lock `{}`: {e}", path.display()),
            )
        })
}

async fn build_dockerfile(
    docker: &Docker,
    tag: &str,
    events: &EventSink,
) -> Result<(), SandboxError> {
    let io = |what: &str, e: std::io::Error| build_error(tag, "dockerfile", format!("{what}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| io("cannot create the build context", e))?;
    for (name, body) in context_files() {
        std::fs::write(dir.path().join(name), body)
            .map_err(|e| io("cannot write the build context", e))?;
    }
    let mut tar = tokio::process::Command::new("tar")
        .args(["-C", &dir.path().to_string_lossy(), "-cf", "-", "."])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| io("cannot run `tar`", e))?;
    let Some(stdout) = tar.stdout.take() else {
        return Err(build_error(tag, "dockerfile", "no tar output"));
    };
    let body = bollard::body_try_stream(ReaderStream::new(stdout));
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".to_string(),
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        ..BuildImageOptions::default()
    };
    let docker = docker
        .clone()
        .with_timeout(std::time::Duration::from_secs(3600));
    let mut stream = docker.build_image(options, None, Some(body));
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    return Err(build_error(
                        tag,
                        "dockerfile",
                        format!(
                            "{detail} (is a container registry reachable? otherwise use the offline build)"
                        ),
                    ));
                }
                if let Some(line) = info.stream {
                    let line = line.trim_end();
                    if !line.is_empty() {
                        progress(events, "dockerfile", line).await;
                    }
                }
            }
            Err(e) => return Err(build_error(tag, "dockerfile", e.to_string())),
        }
    }
    let _ = tar.wait().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_version_and_eight_hex_of_the_context() {
        let tag = image_tag();
        let (repo, rest) = tag.split_once(':').unwrap();
        assert_eq!(repo, "csvagent-sandbox");
        let (version, hash) = rest.rsplit_once('-').unwrap();
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        assert_eq!(hash.len(), 8);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(hash, &context_sha256()[..8]);
    }

    #[test]
    fn labels_record_every_pinned_version() {
        let labels: BTreeMap<String, String> = image_labels().into_iter().collect();
        for (pkg, version) in [
            ("pandas", "2.3.3"),
            ("numpy", "2.3.5"),
            ("scipy", "1.16.3"),
            ("statsmodels", "0.14.6"),
            ("scikit-learn", "1.7.2"),
        ] {
            assert_eq!(
                labels
                    .get(&format!("csvagent.pin.{pkg}"))
                    .map(String::as_str),
                Some(version)
            );
        }
        assert_eq!(labels["csvagent.version"], env!("CARGO_PKG_VERSION"));
        // Every lock entry carries at least one sha256 hash.
        let entries = REQUIREMENTS_LOCK
            .lines()
            .filter(|l| l.contains("=="))
            .count();
        assert_eq!(entries, pins().len());
        assert!(REQUIREMENTS_LOCK.matches("--hash=sha256:").count() >= entries);
    }

    #[test]
    fn dockerfile_runs_as_the_sandbox_user_without_compilers() {
        let d = dockerfile();
        assert!(d.starts_with("FROM python:3.11-slim\n"));
        assert!(d.contains("USER 10001:10001"));
        assert!(d.contains("--require-hashes"));
        assert!(!d.contains("gcc") && !d.contains("build-essential"));
    }
}
