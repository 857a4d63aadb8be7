//! Leases: [`DatasetLease`] (a container with one dataset loaded, held exclusively) and
//! [`WorkerLease`] (one persistent Python REPL in it), with the replacement of a dead container.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{HOST_GUARD_EXTRA, Inner, SandboxPool, Slot, lock};
use crate::dataset::Profile;
use crate::events::{ContainerAction, Event};
use crate::sandbox::SandboxError;
use crate::sandbox::channel::ChannelError;
use crate::sandbox::protocol::{ExecMode, ExecResponse, LoadSpec, NA_TOKENS, WireExec};

pub(super) struct FreeWorker {
    pub(super) index: usize,
    pub(super) dirty: bool,
}

/// State shared by a [`DatasetLease`] and its [`WorkerLease`]s; the container goes idle when
/// the last of them is dropped.
pub(super) struct LeaseShared {
    pub(super) pool: Arc<Inner>,
    pub(super) spec: LoadSpec,
    pub(super) in_container: String,
    pub(super) slot: Mutex<Arc<Slot>>,
    pub(super) replace_lock: tokio::sync::Mutex<()>,
    pub(super) workers: Arc<Semaphore>,
    pub(super) free: Mutex<Vec<FreeWorker>>,
}

impl Drop for LeaseShared {
    fn drop(&mut self) {
        lock(&self.slot).leased.store(false, Ordering::SeqCst);
        self.pool.changed.notify_waiters();
    }
}

impl LeaseShared {
    fn current(&self) -> Arc<Slot> {
        lock(&self.slot).clone()
    }

    pub(super) async fn load_into(&self, slot: &Arc<Slot>) -> Result<(), SandboxError> {
        slot.set_loaded(None);
        let request = Map::from_iter([
            ("op".into(), json!("load")),
            ("path".into(), json!(self.in_container)),
            ("encoding".into(), json!(self.spec.encoding)),
            ("delimiter".into(), json!(self.spec.delimiter.to_string())),
            ("decimal".into(), json!(self.spec.decimal.to_string())),
            ("na_values".into(), json!(NA_TOKENS)),
            ("coerce".into(), json!(true)),
        ]);
        let guard = self.pool.config.load_timeout + HOST_GUARD_EXTRA;
        match slot.channel.request(request, guard).await {
            Ok(_) => {
                slot.set_loaded(Some(self.spec.dataset_hash.clone()));
                for w in lock(&self.free).iter_mut() {
                    w.dirty = false;
                }
                self.pool
                    .events
                    .emit(Event::Container {
                        id: slot.name.clone(),
                        action: ContainerAction::Loaded,
                        detail: Some(self.spec.dataset.clone()),
                    })
                    .await;
                Ok(())
            }
            Err(ChannelError::Failed(reason)) => Err(SandboxError::Load {
                dataset: self.spec.dataset.clone(),
                reason,
            }),
            Err(e) => Err(self.declare(slot, "load", guard, e)),
        }
    }

    /// Turns a channel failure into an error, marking the container dead (and removing it on
    /// a guard expiry).
    fn declare(
        &self,
        slot: &Arc<Slot>,
        op: &str,
        guard: Duration,
        e: ChannelError,
    ) -> SandboxError {
        match e {
            ChannelError::Failed(message) => SandboxError::Protocol {
                container: slot.short_id(),
                op: op.to_string(),
                message,
            },
            ChannelError::Closed => {
                slot.dead.store(true, Ordering::SeqCst);
                SandboxError::ContainerDied {
                    container: slot.short_id(),
                    dataset: self.spec.dataset.clone(),
                    op: op.to_string(),
                }
            }
            ChannelError::Guard => {
                slot.dead.store(true, Ordering::SeqCst);
                if let Some(backend) = self.pool.backend.get() {
                    let engine = backend.engine.clone();
                    let id = slot.id.clone();
                    tokio::spawn(async move {
                        let _ = engine.remove_container(&id).await;
                    });
                }
                SandboxError::HostGuardTimeout {
                    container: slot.short_id(),
                    op: op.to_string(),
                    guard_s: guard.as_secs(),
                }
            }
        }
    }

    /// The live container of this lease, replacing a dead one (new container, same dataset).
    async fn live_slot(&self) -> Result<Arc<Slot>, SandboxError> {
        let slot = self.current();
        if slot.is_live() {
            return Ok(slot);
        }
        let _g = self.replace_lock.lock().await;
        let slot = self.current();
        if slot.is_live() {
            return Ok(slot);
        }
        if !lock(&self.pool.state).started {
            return Err(SandboxError::Stopped);
        }
        let pool = SandboxPool {
            inner: self.pool.clone(),
        };
        let fresh = pool.start_container().await?;
        fresh.leased.store(true, Ordering::SeqCst);
        {
            let mut st = lock(&self.pool.state);
            st.containers.retain(|s| !Arc::ptr_eq(s, &slot));
            st.containers.push(fresh.clone());
        }
        *lock(&self.slot) = fresh.clone();
        tracing::warn!(dead = %slot.short_id(), new = %fresh.short_id(), "replaced a dead sandbox container");
        self.pool
            .events
            .emit(Event::Container {
                id: fresh.name.clone(),
                action: ContainerAction::Replaced,
                detail: Some(format!("replaces {} ({})", slot.name, self.spec.dataset)),
            })
            .await;
        self.load_into(&fresh).await?;
        Ok(fresh)
    }

    async fn request(
        &self,
        op: &str,
        request: Map<String, Value>,
        guard: Duration,
    ) -> Result<Map<String, Value>, SandboxError> {
        let slot = self.live_slot().await?;
        slot.channel
            .request(request, guard)
            .await
            .map_err(|e| self.declare(&slot, op, guard, e))
    }
}

/// A container with one dataset loaded, held exclusively (SPEC 4.7).
///
/// Dropping it (after every [`WorkerLease`] taken from it) returns the container to the pool
/// as idle, with the dataset still loaded for reuse. If the container dies, the next request
/// starts a replacement with the same dataset.
pub struct DatasetLease {
    pub(super) shared: Arc<LeaseShared>,
}

impl std::fmt::Debug for DatasetLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetLease")
            .field("dataset", &self.shared.spec.dataset)
            .field("container", &self.container_id())
            .finish()
    }
}

impl DatasetLease {
    /// What was loaded.
    pub fn spec(&self) -> &LoadSpec {
        &self.shared.spec
    }

    /// The full id of the container currently serving this lease.
    pub fn container_id(&self) -> String {
        self.shared.current().id.clone()
    }

    /// One of the container's `workers_per_container` Python workers, waiting for a free slot.
    /// The worker starts with a pristine `df` and an empty namespace.
    ///
    /// # Errors
    /// [`SandboxError::ContainerDied`] / [`SandboxError::HostGuardTimeout`] if resetting a
    /// previously used worker fails.
    pub async fn worker(&self) -> Result<WorkerLease, SandboxError> {
        let permit = self
            .shared
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SandboxError::Stopped)?;
        let free = lock(&self.shared.free).pop();
        let Some(free) = free else {
            return Err(SandboxError::Stopped);
        };
        let lease = WorkerLease {
            shared: self.shared.clone(),
            index: free.index,
            serial: tokio::sync::Mutex::new(()),
            _permit: permit,
        };
        self.shared.pool.workers_busy.fetch_add(1, Ordering::SeqCst);
        if free.dirty {
            lease.reset().await?;
        }
        Ok(lease)
    }

    /// The column profile of the loaded dataset (SPEC 5.1), computed by pandas in a throwaway
    /// worker.
    ///
    /// # Errors
    /// [`SandboxError::Protocol`] if profiling failed or its JSON does not parse as
    /// [`Profile`]; [`SandboxError::ContainerDied`], [`SandboxError::HostGuardTimeout`].
    pub async fn profile(&self) -> Result<Profile, SandboxError> {
        let answer = self.throwaway("profile").await?;
        let value = answer.get("profile").cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|e| SandboxError::Protocol {
            container: self.shared.current().short_id(),
            op: "profile".into(),
            message: format!("the profile JSON does not match `Profile`: {e}"),
        })
    }

    /// The text overview of the loaded dataset (SPEC 4.4): shape, columns, head, numeric
    /// summary, missing values, categorical value counts.
    ///
    /// # Errors
    /// As for [`DatasetLease::profile`].
    pub async fn overview(&self) -> Result<String, SandboxError> {
        let answer = self.throwaway("overview").await?;
        Ok(answer
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    async fn throwaway(&self, op: &str) -> Result<Map<String, Value>, SandboxError> {
        let timeout = self.shared.pool.config.load_timeout;
        let request = Map::from_iter([
            ("op".into(), json!(op)),
            ("timeout_s".into(), json!(timeout.as_secs_f64())),
        ]);
        self.shared
            .request(op, request, timeout + HOST_GUARD_EXTRA)
            .await
    }
}

/// One persistent Python REPL in a leased container (SPEC 4.3).
///
/// Variables persist between `exec` calls on the same lease. Dropping it returns the worker;
/// it is reset (fresh fork, pristine `df`, empty namespace) before anyone else uses it.
/// Requests on one lease are serialised.
pub struct WorkerLease {
    shared: Arc<LeaseShared>,
    index: usize,
    serial: tokio::sync::Mutex<()>,
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for WorkerLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerLease")
            .field("dataset", &self.shared.spec.dataset)
            .field("worker", &self.index)
            .finish()
    }
}

impl Drop for WorkerLease {
    fn drop(&mut self) {
        lock(&self.shared.free).push(FreeWorker {
            index: self.index,
            dirty: true,
        });
        self.shared.pool.workers_busy.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WorkerLease {
    /// The worker slot number inside the container (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Runs `code` as a module in this worker and returns its result. A trailing expression's
    /// `repr` is `result_repr`. On `timeout` (after `timeout`) or `crashed` the worker was
    /// killed; the next call runs in a fresh one (pristine `df`, empty namespace).
    ///
    /// # Errors
    /// [`SandboxError::ContainerDied`] if the container died during the call (it is replaced
    /// on the next call), [`SandboxError::HostGuardTimeout`] if no answer came within
    /// `timeout + 15 s`, [`SandboxError::Protocol`] for a malformed answer.
    ///
    /// Cancelling the future leaves the cell running until its timeout; the next `exec` on
    /// this worker then waits for it.
    #[tracing::instrument(skip(self, code), fields(dataset = %self.shared.spec.dataset, worker = self.index))]
    pub async fn exec(
        &self,
        code: &str,
        mode: ExecMode,
        timeout: Duration,
    ) -> Result<ExecResponse, SandboxError> {
        let _serial = self.serial.lock().await;
        let request = Map::from_iter([
            ("op".into(), json!("exec")),
            ("worker".into(), json!(self.index)),
            ("code".into(), json!(code)),
            ("timeout_s".into(), json!(timeout.as_secs_f64())),
            ("mode".into(), json!(mode.as_str())),
        ]);
        let answer = self
            .shared
            .request("exec", request, timeout + HOST_GUARD_EXTRA)
            .await?;
        let protocol = |message: String| SandboxError::Protocol {
            container: self.shared.current().short_id(),
            op: "exec".into(),
            message,
        };
        let wire: WireExec = serde_json::from_value(Value::Object(answer))
            .map_err(|e| protocol(format!("malformed exec response: {e}")))?;
        wire.into_response().map_err(protocol)
    }

    /// Kills this worker; the next `exec` forks a fresh one (pristine `df`, empty namespace,
    /// execution count 0).
    ///
    /// # Errors
    /// As for [`WorkerLease::exec`].
    pub async fn reset(&self) -> Result<(), SandboxError> {
        let _serial = self.serial.lock().await;
        let request = Map::from_iter([
            ("op".into(), json!("reset")),
            ("worker".into(), json!(self.index)),
        ]);
        self.shared
            .request("reset", request, HOST_GUARD_EXTRA)
            .await
            .map(|_| ())
    }
}
