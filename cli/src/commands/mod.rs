//! One file per subcommand; `run` dispatches and maps errors to exit codes.

mod datasets;
mod manifest;
mod upload;

use std::path::PathBuf;

use csvagent_sdk::record::DataLayout;

use crate::args::{Cli, Command, GlobalArgs};
use crate::exit;
use crate::render::print_error;

/// Paths and options every command needs, resolved from the global flags.
pub struct Context {
    pub global: GlobalArgs,
    pub layout: DataLayout,
    pub datasets_dir: PathBuf,
}

impl Context {
    fn new(global: GlobalArgs) -> Self {
        let datasets_dir = global
            .datasets
            .clone()
            .unwrap_or_else(|| global.data_dir.join("datasets"));
        Context {
            layout: DataLayout::new(&global.data_dir),
            datasets_dir,
            global,
        }
    }
}

/// Runs the parsed command and returns the exit code.
pub async fn run(cli: Cli) -> u8 {
    let ctx = Context::new(cli.global);
    let result = match cli.command {
        Command::Datasets(cmd) => datasets::run(&ctx, cmd).await,
        Command::Manifest(args) => manifest::run(&ctx, args),
        Command::Upload(args) => upload::run(&ctx, args).await,
        other => Err(anyhow::anyhow!(
            "`{other:?}` is not available in this build"
        )),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return exit::OK;
            }
            print_error(&err);
            exit::FAILED
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}

/// Writes `value` as pretty JSON to stdout.
pub fn out_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    out(&serde_json::to_string_pretty(value)?)
}
