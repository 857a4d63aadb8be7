//! `csvagent-desktop`: the csvagent desktop app (see the `csvagent_desktop` library).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    match csvagent_desktop::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: cannot start the csvagent desktop app: {e}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
