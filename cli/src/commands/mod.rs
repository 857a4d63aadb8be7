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
    settings: Settings,
}

impl Context {
    /// Resolves the paths and loads the settings. Every command loads them, used or not, so a
    /// bad setting (`CSVAGENT_MAX_TURNS=abc`, `max_turns = 0` in the config file) is reported
    /// by whichever command meets it first instead of surfacing later in a long run.
    ///
    /// # Errors
    /// The settings error (it names the file or environment variable, the key and what is
    /// valid).
    fn new(mut global: GlobalArgs) -> anyhow::Result<Self> {
        // An empty value (`CSVAGENT_TEACHER_URL=` in a shell profile) means unset.
        global.teacher_url = global.teacher_url.filter(|u| !u.trim().is_empty());
        global.teacher_model = global.teacher_model.filter(|m| !m.trim().is_empty());
        let datasets_dir = global
            .datasets
            .clone()
            .unwrap_or_else(|| global.data_dir.join("datasets"));
        let layout = DataLayout::new(&global.data_dir);
        let settings = load_settings(&global, &layout)?;
        Ok(Context {
            layout,
            datasets_dir,
            global,
            settings,
        })
    }

    /// The settings (loaded once by [`Context::new`]).
    pub fn settings(&self) -> anyhow::Result<Settings> {
        Ok(self.settings.clone())
    }
}

/// Settings: CLI flags > environment > config file (`--config`, else `csvagent.toml` if
/// present) > defaults.
fn load_settings(global: &GlobalArgs, layout: &DataLayout) -> anyhow::Result<Settings> {
    let default_file = PathBuf::from("csvagent.toml");
    let file = match &global.config {
        Some(f) => Some(f.clone()),
        None => default_file.is_file().then_some(default_file),
    };
    let mut s = Settings::load(file.as_deref(), std::env::vars())?;
    s.llm.apply_env();
    if let Some(url) = &global.teacher_url {
        s.llm.base_url = Some(url.clone());
    }
    if let Some(model) = &global.teacher_model {
        s.llm.model = Some(model.clone());
    }
    if let Some(t) = global.teacher_threads {
        s.llm.threads = Some(t);
    }
    if let Some(slots) = global.slots {
        s.sandbox.workers_per_container = slots;
    }
    if s.llm.llm_errors_log.is_none() {
        s.llm.llm_errors_log = Some(layout.llm_errors_log());
    }
    // The flags and teacher variables are applied after loading: check what they set too.
    s.validate()?;
    Ok(s)
}

/// Runs the parsed command and returns the exit code.
pub async fn run(cli: Cli) -> u8 {
    let ctx = match Context::new(cli.global) {
        Ok(ctx) => ctx,
        Err(err) => {
            print_error(&err);
            return exit::USAGE;
        }
    };
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
    use anyhow::Context as _;
    let text = serde_json::to_string_pretty(value).context(
        "cannot print JSON: a path in the output is not valid UTF-8 (use the text output, or \
         directories whose names are UTF-8)",
    )?;
    out(&text)
}
