//! One file per subcommand; `run` dispatches and maps errors to exit codes.

mod datasets;
mod inspect;
mod manifest;
mod pipeline;
mod sandbox;
mod status;
mod upload;
mod validate;

use std::path::PathBuf;

use csvagent_sdk::config::Settings;
use csvagent_sdk::record::DataLayout;

use crate::args::{Cli, Command, GenerateCommand, GlobalArgs, InspectCommand};
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

    /// Settings: CLI flags > environment > config file (`--config`, else `csvagent.toml` if
    /// present) > defaults.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let default_file = PathBuf::from("csvagent.toml");
        let file = match &self.global.config {
            Some(f) => Some(f.clone()),
            None => default_file.is_file().then_some(default_file),
        };
        let mut s = Settings::load(file.as_deref(), std::env::vars())?;
        s.llm.apply_env();
        if let Some(url) = &self.global.teacher_url {
            s.llm.base_url = Some(url.clone());
        }
        if let Some(model) = &self.global.teacher_model {
            s.llm.model = Some(model.clone());
        }
        if let Some(t) = self.global.teacher_threads {
            s.llm.threads = Some(t);
        }
        if let Some(slots) = self.global.slots {
            s.sandbox.workers_per_container = slots.max(1);
        }
        if s.llm.llm_errors_log.is_none() {
            s.llm.llm_errors_log = Some(self.layout.llm_errors_log());
        }
        Ok(s)
    }
}

/// Runs the parsed command and returns the exit code.
pub async fn run(cli: Cli) -> u8 {
    let ctx = Context::new(cli.global);
    let result = match cli.command {
        Command::Datasets(cmd) => datasets::run(&ctx, cmd).await,
        Command::Manifest(args) => manifest::run(&ctx, args),
        Command::Upload(args) => upload::run(&ctx, args).await,
        Command::Run(args) => pipeline::run(&ctx, args).await,
        Command::Generate(GenerateCommand::Questions(args)) => {
            pipeline::generate_questions(&ctx, args).await
        }
        Command::Generate(GenerateCommand::Episodes(args)) => {
            pipeline::generate_episodes(&ctx, args).await
        }
        Command::Status(flags) => status::status(&ctx, flags.json).await,
        Command::Progress(flags) => status::progress(&ctx, flags.json),
        Command::Stats(args) => status::stats(&ctx, args),
        Command::Inspect(InspectCommand::Questions(args)) => inspect::questions(&ctx, args),
        Command::Inspect(InspectCommand::Episodes(args)) => inspect::episodes(&ctx, args),
        Command::Inspect(InspectCommand::Trace(args)) => inspect::trace(&ctx, args),
        Command::Validate(args) => validate::run(&ctx, args).await,
        Command::Sandbox(cmd) => sandbox::run(&ctx, cmd).await,
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
