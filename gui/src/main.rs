//! `csvagent-desktop`: the csvagent desktop app (see the `csvagent_desktop` library).
//!
//! Developer logs (`tracing`) go to stderr, filtered by `RUST_LOG` (default `warn`).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    default_matrix_threads();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    match csvagent_desktop::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[expect(
                clippy::print_stderr,
                reason = "the window could not open: stderr is all there is"
            )]
            {
                eprintln!("error: cannot start the csvagent desktop app: {e}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs candle's quantized matrix products (the embedded teacher's main work) on the calling
/// thread unless `CANDLE_NUM_THREADS` is set. candle otherwise sizes a spin-waiting worker pool
/// from the core count; on a small machine its worker is often parked or descheduled between
/// products (the pipeline's other threads and the sandbox share the cores) and the caller spins
/// until it runs: on 2 cores a reply generated 3.3 times slower that way (`benches/teacher.rs`).
fn default_matrix_threads() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists, so nothing
        // reads or writes the environment concurrently.
        #[allow(
            unsafe_code,
            reason = "the documented exception: see the function's docs"
        )]
        unsafe {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
    }
}
