//! The signals that stop a run (SPEC: the first SIGINT/SIGTERM cancels cooperatively, a second
//! one stops the run's containers at once). The CLI and the desktop app both wait on
//! [`StopSignals`], so a run ends the same way whether it was started from a terminal or the app.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// `SIGINT` (Ctrl-C in the terminal).
    Interrupt,
    /// `SIGTERM` (`kill`, a logout, a service manager, CI cancelling a job).
    Terminate,
}

impl std::fmt::Display for StopSignal {
    /// `Ctrl-C` or `SIGTERM`, as shown to the user.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopSignal::Interrupt => "Ctrl-C",
            StopSignal::Terminate => "SIGTERM",
        })
    }
}

/// Handlers for `SIGINT` and `SIGTERM`; while they are installed the process is no longer killed
/// by those signals (for the rest of its life: tokio keeps its handler once installed), so the
/// holder must act on every [`StopSignals::next`].
#[derive(Debug)]
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    /// Installs both handlers. Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// The OS error when a handler cannot be installed.
    pub fn install() -> std::io::Result<Self> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// [`StopSignals::install`], or `None` after logging why the handlers could not be
    /// installed (a warning: the signals then kill the process as before).
    pub fn install_or_warn() -> Option<Self> {
        Self::install()
            .inspect_err(|e| tracing::warn!("cannot install the Ctrl-C/SIGTERM handlers: {e}"))
            .ok()
    }

    /// Waits for the next `SIGINT` or `SIGTERM`.
    pub async fn next(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.interrupt.recv() => StopSignal::Interrupt,
            _ = self.terminate.recv() => StopSignal::Terminate,
        }
    }
}
