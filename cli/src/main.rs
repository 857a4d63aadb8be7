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
    /// Usage error (clap).
    pub const USAGE: u8 = 2;
    /// Preflight refusal; nothing written.
    pub const PREFLIGHT: u8 = 3;
    /// Interrupted.
    pub const INTERRUPTED: u8 = 130;
}

fn main() -> ExitCode {
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
