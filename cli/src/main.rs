//! `csvagent`: parses the command line, runs the command, maps the outcome to an exit code.
//! Everything else lives in `csvagent-sdk`.

mod args;
mod commands;
mod render;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

/// Documented exit codes (also in `--help`).
pub mod exit {
    /// Every selected stage ok or skipped.
    pub const OK: u8 = 0;
    /// A stage failed, a mismatch, an upload error, or a target not found.
    pub const FAILED: u8 = 1;
    /// Usage error: clap's, or an invalid setting (config file or `CSVAGENT_*` variable).
    pub const USAGE: u8 = 2;
    /// Preflight refusal; nothing written.
    pub const PREFLIGHT: u8 = 3;
    /// Interrupted.
    pub const INTERRUPTED: u8 = 130;
}

fn main() -> ExitCode {
    default_matrix_threads();
    let cli = Cli::parse();
    render::init_tracing(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            render::print_error(&anyhow::Error::new(e).context("cannot start the async runtime"));
            return ExitCode::from(exit::FAILED);
        }
    };
    let code = runtime.block_on(commands::run(cli));
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
    ExitCode::from(code)
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
