//! The NDJSON channel to one container's supervisor: request ids, pending answers, the reader
//! task, and the host guard timeout (SPEC 4.3, 4.6).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Map, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

/// Why a request got no answer.
#[derive(Debug)]
pub(crate) enum ChannelError {
    /// The container's output ended (it died or was removed).
    Closed,
    /// No answer within the guard.
    Guard,
    /// The supervisor answered `ok: false`.
    Failed(String),
}

type Pending = Arc<Mutex<BTreeMap<u64, oneshot::Sender<Map<String, Value>>>>>;

/// One supervisor connection. Requests may be issued concurrently; answers are matched by id.
pub(crate) struct Channel {
    writer: tokio::sync::Mutex<Option<Pin<Box<dyn AsyncWrite + Send>>>>,
    pending: Pending,
    next_id: AtomicU64,
    closed: Arc<AtomicBool>,
}

impl Channel {
    /// Wraps an attached container and spawns the reader task.
    pub(crate) fn new(
        label: String,
        stdin: Pin<Box<dyn AsyncWrite + Send>>,
        mut stdout: BoxStream<'static, Result<Bytes, String>>,
    ) -> Channel {
        let pending: Pending = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let (p, c) = (pending.clone(), closed.clone());
        tokio::spawn(async move {
            let mut buf: Vec<u8> = Vec::new();
            while let Some(item) = stdout.next().await {
                let chunk = match item {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        tracing::warn!(container = %label, "supervisor stream error: {e}");
                        break;
                    }
                };
                buf.extend_from_slice(&chunk);
                while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    dispatch(&label, &p, &line);
                }
            }
            c.store(true, Ordering::SeqCst);
            // Dropping the senders wakes every waiter with `Closed`.
            if let Ok(mut map) = p.lock() {
                map.clear();
            }
            tracing::debug!(container = %label, "supervisor stream ended");
        });
        Channel {
            writer: tokio::sync::Mutex::new(Some(stdin)),
            pending,
            next_id: AtomicU64::new(1),
            closed,
        }
    }

    /// Whether the container's output has ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Sends `request` (an object without `id`) and waits up to `guard` for its answer.
    /// Returns the answer object (with `ok: true`).
    pub(crate) async fn request(
        &self,
        mut request: Map<String, Value>,
        guard: Duration,
    ) -> Result<Map<String, Value>, ChannelError> {
        if self.is_closed() {
            return Err(ChannelError::Closed);
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        request.insert("id".into(), Value::from(id));
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| ChannelError::Closed)?
            .insert(id, tx);
        let mut line =
            serde_json::to_vec(&Value::Object(request)).map_err(|_| ChannelError::Closed)?;
        line.push(b'\n');
        let write = async {
            let mut w = self.writer.lock().await;
            let Some(writer) = w.as_mut() else {
                return Err(ChannelError::Closed);
            };
            writer
                .write_all(&line)
                .await
                .map_err(|_| ChannelError::Closed)?;
            writer.flush().await.map_err(|_| ChannelError::Closed)
        };
        let result = tokio::time::timeout(guard, async {
            write.await?;
            rx.await.map_err(|_| ChannelError::Closed)
        })
        .await;
        match result {
            Err(_) => {
                self.forget(id);
                Err(ChannelError::Guard)
            }
            Ok(Err(e)) => {
                self.forget(id);
                Err(e)
            }
            Ok(Ok(answer)) => {
                if answer.get("ok").and_then(Value::as_bool) == Some(true) {
                    Ok(answer)
                } else {
                    let msg = answer
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("the supervisor reported a failure without a message")
                        .to_string();
                    Err(ChannelError::Failed(msg))
                }
            }
        }
    }

    /// Closes stdin: the supervisor exits and the container removes itself.
    pub(crate) async fn close(&self) {
        let mut w = self.writer.lock().await;
        if let Some(mut writer) = w.take() {
            let _ = writer.shutdown().await;
        }
    }

    fn forget(&self, id: u64) {
        if let Ok(mut map) = self.pending.lock() {
            map.remove(&id);
        }
    }
}

fn dispatch(label: &str, pending: &Pending, line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(container = %label, "unreadable supervisor line ({e}): {text:.200}");
            return;
        }
    };
    let Value::Object(map) = value else { return };
    let Some(id) = map.get("id").and_then(Value::as_u64) else {
        tracing::warn!(container = %label, "supervisor message without id: {text:.200}");
        return;
    };
    let sender = pending.lock().ok().and_then(|mut p| p.remove(&id));
    if let Some(tx) = sender {
        let _ = tx.send(map);
    }
}
