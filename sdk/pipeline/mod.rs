//! The pipeline: preflight, the run lock, `--fresh`, and the stages that generate questions and
//! episodes for each source.

mod fresh;
mod lock;
mod preflight;

pub use fresh::{FreshScope, move_aside};
pub use lock::{LockInfo, RunLock, host_name, pid_alive};
pub use preflight::{PreflightScope, check as preflight_check, format_reasons};
