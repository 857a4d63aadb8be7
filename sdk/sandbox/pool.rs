//! [`SandboxPool`]: start, acquire, stop, orphan cleanup and capacity (SPEC 4.7-4.9); the
//! leases it hands out live in `lease`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bollard::Docker;
use futures::future::join_all;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, OnceCell, Semaphore};

mod lease;

pub use lease::{DatasetLease, WorkerLease};
use lease::{FreeWorker, LeaseShared};

use super::channel::{Channel, ChannelError};
use super::engine::{self, ContainerSpec, DockerEngine, Engine};
use super::image::{self, ImageBuildOptions};
use super::ownership;
use super::protocol::LoadSpec;
use super::{SandboxConfig, SandboxError};
use crate::events::{ContainerAction, Event, EventSink};
use crate::schema::Provenance;

/// Extra time the host waits beyond a request's own timeout before declaring the container
/// dead (SPEC 4.6).
const HOST_GUARD_EXTRA: Duration = Duration::from_secs(15);
/// How long `stop()` waits for a container to exit after `shutdown` before force-removing it.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Counts of the pool's containers and workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Live containers.
    pub total: usize,
    /// Containers not leased.
    pub idle: usize,
    /// Containers held by a [`DatasetLease`].
    pub busy: usize,
    /// Outstanding [`WorkerLease`]s.
    pub workers_busy: usize,
    /// Whether `start()` completed and `stop()` has not run since.
    pub started: bool,
    /// The container cap in force (`max_containers`, lowered by free memory).
    pub capacity: usize,
}

/// What `stop()` did: the containers it stopped and those it could not, with the error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReport {
    /// Ids of containers that are gone.
    pub stopped: Vec<String>,
    /// `(container id, error)` for each container that could not be stopped.
    pub failed: Vec<(String, String)>,
}

/// One container as the pool sees it.
struct Slot {
    id: String,
    name: String,
    channel: Channel,
    /// `dataset_hash` of the loaded dataset.
    loaded: Mutex<Option<String>>,
    leased: AtomicBool,
    dead: AtomicBool,
}

impl Slot {
    fn short_id(&self) -> String {
        self.id.chars().take(12).collect()
    }

    fn loaded(&self) -> Option<String> {
        lock(&self.loaded).clone()
    }

    fn set_loaded(&self, hash: Option<String>) {
        *lock(&self.loaded) = hash;
    }

    fn is_live(&self) -> bool {
        !self.dead.load(Ordering::SeqCst) && !self.channel.is_closed()
    }
}

struct Backend {
    engine: Arc<dyn Engine>,
    docker: Option<Docker>,
}

#[derive(Default)]
struct State {
    started: bool,
    capacity: usize,
    containers: Vec<Arc<Slot>>,
    starting: usize,
    next_n: u64,
}

struct Inner {
    config: SandboxConfig,
    events: EventSink,
    run_id: String,
    /// `csvagent-<first 8 of the run id>-<4 random hex>`: container names stay unique when one
    /// run starts a second pool (a retry after a failed start reuses the run id).
    name_prefix: String,
    backend: OnceCell<Backend>,
    image: Mutex<Option<String>>,
    provenance: Mutex<Option<Provenance>>,
    state: Mutex<State>,
    changed: Notify,
    start_lock: tokio::sync::Mutex<()>,
    workers_busy: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A pool of sandbox containers owned by this process (one run).
///
/// Cheap to clone (an `Arc`). [`SandboxPool::start`] cleans up orphans, builds the image if
/// it is missing and starts the containers; [`SandboxPool::acquire`] hands out a container with
/// a dataset loaded; [`SandboxPool::stop`] removes everything. When the last handle (and every
/// lease) is dropped without `stop()`, the containers' stdin closes, their supervisors exit and
/// Docker removes them (`--rm`); a best-effort force-removal is also spawned.
#[derive(Clone)]
pub struct SandboxPool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SandboxPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxPool")
            .field("run_id", &self.inner.run_id)
            .field("stats", &self.stats())
            .finish()
    }
}

impl SandboxPool {
    /// A pool for `config` that reports container and image events to `events`. Nothing
    /// starts until [`SandboxPool::start`] (or the first [`SandboxPool::acquire`]).
    /// Its containers carry a fresh run id (UUIDv4); see [`SandboxPool::for_run`].
    pub fn new(config: SandboxConfig, events: EventSink) -> Self {
        Self::for_run(config, events, uuid::Uuid::new_v4().to_string())
    }

    /// Like [`SandboxPool::new`], for the run `run_id`: its containers are labelled
    /// `csvagent.run_id=<run_id>`, so `csvagent sandbox status` and the app's System view tie
    /// them to the run's episodes and manifest entries. The pipeline passes its own run id.
    pub fn for_run(config: SandboxConfig, events: EventSink, run_id: String) -> Self {
        let run8: String = run_id.chars().take(8).collect();
        let name_prefix = format!("csvagent-{run8}-{:04x}", fastrand::u16(..));
        SandboxPool {
            inner: Arc::new(Inner {
                config,
                events,
                run_id,
                name_prefix,
                backend: OnceCell::new(),
                image: Mutex::new(None),
                provenance: Mutex::new(None),
                state: Mutex::new(State::default()),
                changed: Notify::new(),
                start_lock: tokio::sync::Mutex::new(()),
                workers_busy: AtomicUsize::new(0),
            }),
        }
    }

    /// A pool over a given engine (tests use a fake one); the image is taken as present.
    #[cfg(test)]
    fn with_engine(config: SandboxConfig, events: EventSink, engine: Arc<dyn Engine>) -> Self {
        let pool = SandboxPool::new(config, events);
        let _ = pool.inner.backend.set(Backend {
            engine,
            docker: None,
        });
        *lock(&pool.inner.image) = Some("csvagent-sandbox:test".to_string());
        pool
    }

    /// The configuration the pool was created with (timeouts for `exec`, limits).
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// The run id stamped on this pool's containers (`csvagent.run_id`).
    pub fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// Starts the pool: validates the config, connects to Docker, force-removes orphans of dead
    /// csvagent processes on this host (SPEC 4.9), ensures the image (building it when missing;
    /// offline unless `offline_build = false`), then starts the containers concurrently and
    /// waits for each supervisor to answer `ping`. Idempotent.
    ///
    /// # Errors
    /// [`SandboxError::Config`], [`SandboxError::DaemonUnavailable`] (with how to start a
    /// daemon), [`SandboxError::ImageBuild`], [`SandboxError::StartFailed`].
    ///
    /// Cancelling it may leave containers running; they are removed by `stop()` or when the pool
    /// is dropped.
    #[tracing::instrument(skip(self), fields(run_id = %self.inner.run_id))]
    pub async fn start(&self) -> Result<(), SandboxError> {
        let inner = &self.inner;
        let _guard = inner.start_lock.lock().await;
        if lock(&inner.state).started {
            return Ok(());
        }
        inner.config.validate()?;
        let backend = inner
            .backend
            .get_or_try_init(|| async {
                let docker = engine::connect().await?;
                Ok::<_, SandboxError>(Backend {
                    engine: Arc::new(DockerEngine {
                        docker: docker.clone(),
                    }),
                    docker: Some(docker),
                })
            })
            .await?;
        self.remove_orphans(backend).await;
        if let Some(docker) = &backend.docker {
            let tag = match &inner.config.image {
                Some(tag) => {
                    image::require_image(docker, tag).await?;
                    tag.clone()
                }
                None => {
                    let opts = ImageBuildOptions::from_config(&inner.config);
                    image::ensure_image(docker, &opts, &inner.events).await?.tag
                }
            };
            *lock(&inner.image) = Some(tag);
        }
        let capacity = capacity(&inner.config);
        {
            let mut st = lock(&inner.state);
            st.capacity = capacity;
            st.starting = capacity;
        }
        let started = join_all((0..capacity).map(|_| self.start_container())).await;
        let mut first_error = None;
        {
            let mut st = lock(&inner.state);
            st.starting = 0;
            for result in started {
                match result {
                    Ok(slot) => st.containers.push(slot),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if first_error.is_none() {
                st.started = true;
            }
        }
        if let Some(e) = first_error {
            // Leave nothing half-started behind.
            let slots = std::mem::take(&mut lock(&inner.state).containers);
            join_all(slots.iter().map(|s| backend.engine.remove_container(&s.id))).await;
            return Err(e);
        }
        inner.changed.notify_waiters();
        Ok(())
    }

    async fn remove_orphans(&self, backend: &Backend) {
        let host = ownership::host_name();
        let listed = match backend.engine.list_managed().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("cannot list containers for orphan cleanup: {e}");
                return;
            }
        };
        for c in listed {
            if ownership::is_orphan(&c.labels, &host) {
                match backend.engine.remove_container(&c.id).await {
                    Ok(()) => {
                        tracing::info!(container = %c.name, "removed orphan container");
                        self.inner
                            .events
                            .emit(Event::Container {
                                id: c.name.clone(),
                                action: ContainerAction::OrphanRemoved,
                                detail: c
                                    .labels
                                    .get(ownership::PID)
                                    .map(|p| format!("owner pid {p}")),
                            })
                            .await;
                    }
                    Err(e) => tracing::warn!(container = %c.name, "cannot remove orphan: {e}"),
                }
            }
        }
    }

    /// Starts one container and waits for its supervisor's `ping`.
    async fn start_container(&self) -> Result<Arc<Slot>, SandboxError> {
        let inner = &self.inner;
        let backend = inner.backend.get().ok_or(SandboxError::Stopped)?;
        let image = lock(&inner.image).clone().ok_or(SandboxError::Stopped)?;
        let n = {
            let mut st = lock(&inner.state);
            st.next_n += 1;
            st.next_n
        };
        let name = format!("{}-{n}", inner.name_prefix);
        let root = absolute(&inner.config.datasets_root);
        let (memory_bytes, nano_cpus, pids) = engine::limits(&inner.config);
        let spec = ContainerSpec {
            name: name.clone(),
            image: image.clone(),
            labels: ownership::labels(&inner.run_id, &image),
            datasets_root: root.to_string_lossy().into_owned(),
            memory_bytes,
            nano_cpus,
            pids,
        };
        let attached = backend
            .engine
            .start_container(spec)
            .await
            .map_err(|message| SandboxError::StartFailed {
                container: name.clone(),
                message,
            })?;
        let slot = Arc::new(Slot {
            id: attached.id.clone(),
            name: name.clone(),
            channel: Channel::new(name.clone(), attached.stdin, attached.stdout),
            loaded: Mutex::new(None),
            leased: AtomicBool::new(false),
            dead: AtomicBool::new(false),
        });
        let ping = slot
            .channel
            .request(
                Map::from_iter([("op".into(), json!("ping"))]),
                inner.config.start_timeout,
            )
            .await;
        let answer = match ping {
            Ok(a) => a,
            Err(e) => {
                let _ = backend.engine.remove_container(&slot.id).await;
                let message = match e {
                    ChannelError::Guard => format!(
                        "the supervisor did not answer `ping` within {} s",
                        inner.config.start_timeout.as_secs()
                    ),
                    ChannelError::Closed => "the container exited before answering `ping` (see `docker logs`; is the image complete?)".to_string(),
                    ChannelError::Failed(m) => m,
                };
                return Err(SandboxError::StartFailed {
                    container: name,
                    message,
                });
            }
        };
        if let Some(Value::Object(versions)) = answer.get("versions") {
            let mut prov = lock(&inner.provenance);
            if prov.is_none() {
                *prov = Some(Provenance {
                    csvagent_version: env!("CARGO_PKG_VERSION").to_string(),
                    image_tag: image.clone(),
                    versions: versions
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect(),
                });
            }
        }
        tracing::info!(container = %slot.short_id(), name = %name, "sandbox container started");
        inner
            .events
            .emit(Event::Container {
                id: name,
                action: ContainerAction::Started,
                detail: None,
            })
            .await;
        Ok(slot)
    }

    /// A container with `spec`'s dataset loaded, for exclusive use until the lease (and every
    /// [`WorkerLease`] taken from it) is dropped.
    ///
    /// Waits for capacity, then reuses an idle container that already has the same
    /// `dataset_hash`, or starts a new container, or reloads an idle one. Starts the pool first
    /// if needed.
    ///
    /// # Errors
    /// [`SandboxError::OutsideDatasetsRoot`], [`SandboxError::Load`] (the loader's reason),
    /// [`SandboxError::StartFailed`], [`SandboxError::Stopped`] if the pool is stopped while
    /// waiting, and the errors of [`SandboxPool::start`].
    ///
    /// Cancelling it while waiting is harmless; cancelling during a load leaves that container
    /// idle with no dataset.
    #[tracing::instrument(skip(self, spec), fields(run_id = %self.inner.run_id, dataset = %spec.dataset))]
    pub async fn acquire(&self, spec: &LoadSpec) -> Result<DatasetLease, SandboxError> {
        let in_container = container_path(&self.inner.config.datasets_root, spec)?;
        if !lock(&self.inner.state).started {
            self.start().await?;
        }
        enum Plan {
            Reuse(Arc<Slot>),
            New,
            Reload(Arc<Slot>),
        }
        let plan = loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = lock(&self.inner.state);
                if !st.started {
                    return Err(SandboxError::Stopped);
                }
                st.containers
                    .retain(|s| s.is_live() || s.leased.load(Ordering::SeqCst));
                let idle = |s: &&Arc<Slot>| s.is_live() && !s.leased.load(Ordering::SeqCst);
                if let Some(slot) = st
                    .containers
                    .iter()
                    .filter(idle)
                    .find(|s| s.loaded().as_deref() == Some(spec.dataset_hash.as_str()))
                    .cloned()
                {
                    slot.leased.store(true, Ordering::SeqCst);
                    break Plan::Reuse(slot);
                }
                let live = st.containers.iter().filter(|s| s.is_live()).count();
                if live + st.starting < st.capacity {
                    st.starting += 1;
                    break Plan::New;
                }
                if let Some(slot) = st.containers.iter().find(idle).cloned() {
                    slot.leased.store(true, Ordering::SeqCst);
                    break Plan::Reload(slot);
                }
            }
            notified.await;
        };
        // A reused container may still hold workers of the previous question: every worker
        // is reset before first use.
        let reused = matches!(plan, Plan::Reuse(_));
        let slot = match plan {
            Plan::Reuse(slot) => slot,
            Plan::Reload(slot) => slot,
            Plan::New => {
                let reservation = StartReservation(&self.inner);
                let started = self.start_container().await;
                drop(reservation);
                let mut st = lock(&self.inner.state);
                match started {
                    Ok(slot) => {
                        slot.leased.store(true, Ordering::SeqCst);
                        st.containers.push(slot.clone());
                        slot
                    }
                    Err(e) => {
                        drop(st);
                        self.inner.changed.notify_waiters();
                        return Err(e);
                    }
                }
            }
        };
        let shared = Arc::new(LeaseShared {
            pool: self.inner.clone(),
            spec: spec.clone(),
            in_container,
            slot: Mutex::new(slot.clone()),
            replace_lock: tokio::sync::Mutex::new(()),
            workers: Arc::new(Semaphore::new(self.inner.config.workers_per_container)),
            free: Mutex::new(
                (0..self.inner.config.workers_per_container)
                    .rev()
                    .map(|index| FreeWorker {
                        index,
                        dirty: reused,
                    })
                    .collect(),
            ),
        });
        if slot.loaded().as_deref() != Some(spec.dataset_hash.as_str()) {
            shared.load_into(&slot).await?;
        }
        Ok(DatasetLease { shared })
    }

    /// Shuts down every container (SPEC 4.8): sends `shutdown`, force-removes a container still
    /// present after 5 s, logs each failure at ERROR as `Failed to stop container <id>: <error>`
    /// and continues. Returns what happened; never fails. A pool that was never started returns
    /// at once. Leases still held afterwards fail with [`SandboxError::ContainerDied`].
    #[tracing::instrument(skip(self), fields(run_id = %self.inner.run_id))]
    pub async fn stop(&self) -> StopReport {
        let inner = &self.inner;
        let slots = {
            let mut st = lock(&inner.state);
            if !st.started && st.containers.is_empty() {
                return StopReport::default();
            }
            st.started = false;
            std::mem::take(&mut st.containers)
        };
        inner.changed.notify_waiters();
        let Some(backend) = inner.backend.get() else {
            return StopReport::default();
        };
        let results = join_all(slots.iter().map(|slot| stop_one(backend, slot))).await;
        let mut report = StopReport::default();
        for (slot, result) in slots.iter().zip(results) {
            slot.dead.store(true, Ordering::SeqCst);
            match result {
                Ok(()) => {
                    report.stopped.push(slot.id.clone());
                    inner
                        .events
                        .emit(Event::Container {
                            id: slot.name.clone(),
                            action: ContainerAction::Stopped,
                            detail: None,
                        })
                        .await;
                }
                Err(error) => {
                    tracing::error!("Failed to stop container {}: {}", slot.id, error);
                    inner
                        .events
                        .emit(Event::Container {
                            id: slot.name.clone(),
                            action: ContainerAction::StopFailed,
                            detail: Some(error.clone()),
                        })
                        .await;
                    report.failed.push((slot.id.clone(), error));
                }
            }
        }
        report
    }

    /// Current counts (see [`PoolStats`]).
    pub fn stats(&self) -> PoolStats {
        let st = lock(&self.inner.state);
        let live: Vec<&Arc<Slot>> = st.containers.iter().filter(|s| s.is_live()).collect();
        let busy = live
            .iter()
            .filter(|s| s.leased.load(Ordering::SeqCst))
            .count();
        PoolStats {
            total: live.len(),
            idle: live.len() - busy,
            busy,
            workers_busy: self.inner.workers_busy.load(Ordering::SeqCst),
            started: st.started,
            capacity: st.capacity,
        }
    }

    /// The image tag and the package versions reported by the running supervisor (python,
    /// pandas, numpy, scipy, statsmodels, sklearn), once a container has started.
    pub fn provenance(&self) -> Option<Provenance> {
        lock(&self.inner.provenance).clone()
    }
}

/// A reserved container start; released (also on cancellation) when dropped.
struct StartReservation<'a>(&'a Inner);

impl Drop for StartReservation<'_> {
    fn drop(&mut self) {
        let mut st = lock(&self.0.state);
        st.starting = st.starting.saturating_sub(1);
        drop(st);
        self.0.changed.notify_waiters();
    }
}

async fn stop_one(backend: &Backend, slot: &Slot) -> Result<(), String> {
    if !slot.channel.is_closed() {
        let _ = slot
            .channel
            .request(
                Map::from_iter([("op".into(), json!("shutdown"))]),
                STOP_GRACE,
            )
            .await;
        slot.channel.close().await;
    }
    let deadline = tokio::time::Instant::now() + STOP_GRACE;
    loop {
        match backend.engine.container_exists(&slot.id).await {
            Ok(false) => return Ok(()),
            Ok(true) | Err(_) if tokio::time::Instant::now() >= deadline => break,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    backend.engine.remove_container(&slot.id).await
}

impl Drop for Inner {
    fn drop(&mut self) {
        let slots = std::mem::take(&mut lock(&self.state).containers);
        if slots.is_empty() {
            return;
        }
        // Closing stdin (dropping the channels) makes each supervisor exit and Docker remove
        // the container; the force-removal below is a best effort on top of that.
        if let (Some(backend), Ok(handle)) =
            (self.backend.get(), tokio::runtime::Handle::try_current())
        {
            let engine = backend.engine.clone();
            let ids: Vec<String> = slots.iter().map(|s| s.id.clone()).collect();
            handle.spawn(async move {
                for id in ids {
                    let _ = engine.remove_container(&id).await;
                }
            });
        }
    }
}

/// `min(max_containers, max(1, floor((MemAvailable_GiB − 2) / memory_GiB)))`.
fn capacity(config: &SandboxConfig) -> usize {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024);
    let by_memory = match available {
        Some(bytes) => {
            let spare = bytes.saturating_sub(2 << 30);
            usize::try_from(spare / config.memory_bytes.max(1)).unwrap_or(usize::MAX)
        }
        None => config.max_containers,
    };
    config.max_containers.min(by_memory.max(1))
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

/// `/datasets/<path relative to the root>`, or an error naming both paths.
fn container_path(root: &Path, spec: &LoadSpec) -> Result<String, SandboxError> {
    let root_abs = absolute(root);
    let csv_abs = absolute(&spec.csv_path);
    let outside = || SandboxError::OutsideDatasetsRoot {
        dataset: spec.dataset.clone(),
        path: spec.csv_path.clone(),
        root: root.to_path_buf(),
    };
    let rel = csv_abs.strip_prefix(&root_abs).map_err(|_| outside())?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        return Err(outside());
    }
    Ok(format!("/datasets/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::io::Write;

    use futures::{FutureExt, StreamExt};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    use super::*;
    use crate::sandbox::ExecMode;
    use crate::sandbox::engine::{Attached, Listed};

    /// A Docker stand-in: containers are in-process fake supervisors over duplex pipes.
    #[derive(Default)]
    struct FakeEngine {
        /// Ids handed out by `start_container`, in order.
        ids: Mutex<Vec<String>>,
        gone: Arc<Mutex<BTreeSet<String>>>,
        /// Containers whose removal fails, and the error.
        failing: BTreeMap<String, String>,
    }

    impl FakeEngine {
        fn new(ids: &[&str], failing: &[(&str, &str)]) -> Arc<Self> {
            Arc::new(FakeEngine {
                ids: Mutex::new(ids.iter().rev().map(|s| s.to_string()).collect()),
                gone: Arc::default(),
                failing: failing
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
        }
    }

    impl Engine for FakeEngine {
        fn start_container(
            &self,
            _spec: ContainerSpec,
        ) -> futures::future::BoxFuture<'_, Result<Attached, String>> {
            let id = lock(&self.ids).pop();
            let gone = self.gone.clone();
            let sticky = id.as_ref().is_some_and(|id| self.failing.contains_key(id));
            async move {
                let id = id.ok_or("no more fake containers")?;
                let (host, sup) = tokio::io::duplex(1 << 16);
                let (host_r, host_w) = tokio::io::split(host);
                let (sup_r, mut sup_w) = tokio::io::split(sup);
                let me = id.clone();
                tokio::spawn(async move {
                    let mut lines = BufReader::new(sup_r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let req: Value = serde_json::from_str(&line).unwrap_or_default();
                        let mut answer = json!({"id": req["id"], "ok": true});
                        match req["op"].as_str() {
                            Some("ping") => answer["versions"] = json!({"pandas": "2.3.3"}),
                            Some("exec") if req["code"] == "hang" => continue,
                            Some("exec") => {
                                answer["status"] = json!("ok");
                                answer["execution_count"] = json!(1);
                            }
                            _ => {}
                        }
                        let mut out = answer.to_string();
                        out.push('\n');
                        let _ = sup_w.write_all(out.as_bytes()).await;
                        if req["op"] == "shutdown" {
                            if !sticky {
                                lock(&gone).insert(me.clone());
                            }
                            break;
                        }
                    }
                });
                Ok(Attached {
                    id,
                    stdin: Box::pin(host_w),
                    stdout: tokio_util::io::ReaderStream::new(host_r)
                        .map(|r| r.map_err(|e| e.to_string()))
                        .boxed(),
                })
            }
            .boxed()
        }

        fn container_exists<'a>(
            &'a self,
            id: &'a str,
        ) -> futures::future::BoxFuture<'a, Result<bool, String>> {
            let present = !lock(&self.gone).contains(id);
            async move { Ok(present) }.boxed()
        }

        fn remove_container<'a>(
            &'a self,
            id: &'a str,
        ) -> futures::future::BoxFuture<'a, Result<(), String>> {
            let result = match self.failing.get(id) {
                Some(e) => Err(e.clone()),
                None => {
                    lock(&self.gone).insert(id.to_string());
                    Ok(())
                }
            };
            async move { result }.boxed()
        }

        fn list_managed(&self) -> futures::future::BoxFuture<'_, Result<Vec<Listed>, String>> {
            async { Ok(Vec::new()) }.boxed()
        }
    }

    fn fake_config(root: &Path) -> SandboxConfig {
        SandboxConfig {
            memory_bytes: 256 << 20,
            max_containers: 2,
            workers_per_container: 2,
            datasets_root: root.to_path_buf(),
            ..SandboxConfig::default()
        }
    }

    fn fake_spec(root: &Path, name: &str) -> LoadSpec {
        LoadSpec {
            dataset: name.to_string(),
            csv_path: root.join(name).join("data.csv"),
            encoding: "utf-8".into(),
            delimiter: ',',
            decimal: '.',
            dataset_hash: format!("hash-{name}"),
        }
    }

    #[derive(Clone, Default)]
    struct LogBuffer(Arc<Mutex<Vec<u8>>>);

    impl Write for LogBuffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stop_failure_is_logged_and_shutdown_continues() {
        let logs = LogBuffer::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let root = std::env::temp_dir();
        let engine = FakeEngine::new(
            &["ok-container", "bad-container"],
            &[("bad-container", "boom")],
        );
        let pool = SandboxPool::with_engine(fake_config(&root), EventSink::discard(), engine);
        pool.start().await.unwrap();
        assert_eq!(pool.stats().total, 2);

        let report = pool.stop().await;
        assert_eq!(report.stopped, vec!["ok-container".to_string()]);
        assert_eq!(
            report.failed,
            vec![("bad-container".to_string(), "boom".to_string())]
        );
        let text = String::from_utf8(lock(&logs.0).clone()).unwrap();
        assert!(
            text.contains("ERROR") && text.contains("Failed to stop container bad-container: boom"),
            "{text}"
        );
        let stats = pool.stats();
        assert!(!stats.started);
        assert_eq!(stats.total, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_and_release_move_idle_two_one_two() {
        let root = std::env::temp_dir();
        let engine = FakeEngine::new(&["c1", "c2"], &[]);
        let pool = SandboxPool::with_engine(fake_config(&root), EventSink::discard(), engine);
        pool.start().await.unwrap();
        assert_eq!((pool.stats().idle, pool.stats().busy), (2, 0));

        let lease = pool.acquire(&fake_spec(&root, "a")).await.unwrap();
        assert_eq!((pool.stats().idle, pool.stats().busy), (1, 1));
        let worker = lease.worker().await.unwrap();
        assert_eq!(pool.stats().workers_busy, 1);
        let r = worker
            .exec("1", ExecMode::Agent, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(r.execution_count, 1);
        let container = lease.container_id();
        drop(worker);
        drop(lease);
        assert_eq!(
            (
                pool.stats().idle,
                pool.stats().busy,
                pool.stats().workers_busy
            ),
            (2, 0, 0)
        );

        // The same dataset goes back to the container that has it loaded.
        let again = pool.acquire(&fake_spec(&root, "a")).await.unwrap();
        assert_eq!(again.container_id(), container);
        let other = pool.acquire(&fake_spec(&root, "b")).await.unwrap();
        assert_ne!(other.container_id(), container);
        assert_eq!(pool.stats().idle, 0);
        pool.stop().await;
    }

    #[tokio::test]
    async fn acquire_waits_for_capacity_and_stop_releases_waiters() {
        let root = std::env::temp_dir();
        let engine = FakeEngine::new(&["only"], &[]);
        let config = SandboxConfig {
            max_containers: 1,
            ..fake_config(&root)
        };
        let pool = SandboxPool::with_engine(config, EventSink::discard(), engine);
        pool.start().await.unwrap();
        let held = pool.acquire(&fake_spec(&root, "a")).await.unwrap();
        let spec_b = fake_spec(&root, "b");
        let waiting = pool.acquire(&spec_b);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(200), &mut waiting)
                .await
                .is_err(),
            "no capacity: the second acquire waits"
        );
        drop(held);
        let second = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("released capacity wakes the waiter")
            .unwrap();
        assert_eq!(second.spec().dataset, "b");

        let spec_c = fake_spec(&root, "c");
        let (stopped, report) = tokio::join!(pool.acquire(&spec_c), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            pool.stop().await
        });
        assert!(matches!(stopped, Err(SandboxError::Stopped)), "{stopped:?}");
        assert_eq!(report.stopped, vec!["only".to_string()]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_request_hits_the_host_guard_and_the_container_is_replaced() {
        let root = std::env::temp_dir();
        let engine = FakeEngine::new(&["first", "spare", "replacement"], &[]);
        let pool =
            SandboxPool::with_engine(fake_config(&root), EventSink::discard(), engine.clone());
        pool.start().await.unwrap();
        let lease = pool.acquire(&fake_spec(&root, "a")).await.unwrap();
        assert_eq!(lease.container_id(), "first");
        let worker = lease.worker().await.unwrap();
        let err = worker
            .exec("hang", ExecMode::Agent, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SandboxError::HostGuardTimeout { guard_s: 16, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("did not answer `exec` within 16 s"),
            "{err}"
        );
        tokio::task::yield_now().await;
        assert!(
            lock(&engine.gone).contains("first"),
            "the silent container is removed"
        );
        let r = worker
            .exec("1", ExecMode::Agent, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(r.execution_count, 1);
        assert_eq!(lease.container_id(), "replacement");
        assert_eq!(pool.stats().total, 2, "the dead container left the pool");
    }

    #[tokio::test]
    async fn stop_on_a_never_started_pool_returns_at_once() {
        let pool = SandboxPool::new(SandboxConfig::default(), EventSink::discard());
        let report = tokio::time::timeout(Duration::from_secs(1), pool.stop())
            .await
            .unwrap();
        assert_eq!(report, StopReport::default());
        assert!(!pool.stats().started);
    }

    #[test]
    fn handles_can_move_into_spawned_tasks() {
        fn send_sync_static<T: Send + Sync + 'static>() {}
        send_sync_static::<SandboxPool>();
        send_sync_static::<DatasetLease>();
        send_sync_static::<WorkerLease>();
    }

    #[test]
    fn csv_paths_outside_the_datasets_root_are_refused() {
        let root = std::env::temp_dir().join("csvagent-root-test");
        let inside = LoadSpec {
            csv_path: root.join("ds").join("data.csv"),
            ..fake_spec(&root, "ds")
        };
        assert_eq!(
            container_path(&root, &inside).unwrap(),
            "/datasets/ds/data.csv"
        );
        let outside = LoadSpec {
            csv_path: PathBuf::from("/etc/passwd"),
            ..fake_spec(&root, "ds")
        };
        let e = container_path(&root, &outside).unwrap_err().to_string();
        assert!(
            e.contains("`/etc/passwd` is not under the datasets root"),
            "{e}"
        );
    }
}
