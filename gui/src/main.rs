//! `csvagent-desktop`: the csvagent desktop app (see the `csvagent_desktop` library).
//!
//! Developer logs (`tracing`) go to stderr, filtered by `RUST_LOG` (default `warn`).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
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
