//! The command-line surface (clap). Data goes to stdout, progress and logs to stderr.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use csvagent_sdk::publish::RepoId;
use csvagent_sdk::schema::Source;

const EXIT_CODES: &str = "\
Exit codes:
  0    every selected stage ok or skipped; validate matched; upload pushed
  1    a stage failed (fatal error, or nothing produced from a non-empty input); validate
       mismatch or no answer; upload error; inspect target not found; status, progress or
       stats found a malformed artifact (listed; left out of the figures)
  2    usage error: unknown or rejected flag, missing or conflicting mode, invalid setting
       (config file or CSVAGENT_* variable; every command checks them)
  3    preflight refusal (legacy layout, lock held, unwritable path, malformed artifact);
       nothing written
  130  interrupted (Ctrl-C or SIGTERM)";

/// Verified multi-turn data-analysis traces from real CSV files.
///
/// csvagent turns folders of `data.csv` + `meta.json` into questions (template, procedural,
/// llm_gen), lets a teacher LLM solve each one in a sandboxed Python REPL, verifies the answers and
/// publishes the episodes to the Hugging Face Hub.
#[derive(Debug, Parser)]
#[command(name = "csvagent", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(flatten, next_help_heading = "Global options")]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Data directory holding questions, episodes and the manifest.
    #[arg(
        long,
        global = true,
        env = "CSVAGENT_DATA_DIR",
        value_name = "DIR",
        default_value = "data"
    )]
    pub data_dir: PathBuf,
    /// Datasets directory (folders of data.csv + meta.json) [default: <data-dir>/datasets].
    #[arg(long, global = true, env = "CSVAGENT_DATASETS", value_name = "DIR")]
    pub datasets: Option<PathBuf>,
    /// Configuration file [default: csvagent.toml if present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// OpenAI-compatible endpoint of the teacher (e.g. http://localhost:8000/v1). Without it the
    /// embedded local model runs.
    #[arg(long, global = true, env = "CSVAGENT_TEACHER_URL", value_name = "URL")]
    pub teacher_url: Option<String>,
    /// Teacher model: a model name for an endpoint, or for the embedded teacher a local .gguf
    /// path or a Hub file `owner/repo:file.gguf`.
    #[arg(
        long,
        global = true,
        env = "CSVAGENT_TEACHER_MODEL",
        value_name = "MODEL"
    )]
    pub teacher_model: Option<String>,
    /// CPU threads for the embedded local teacher [default: all cores].
    #[arg(long, global = true, value_name = "N", value_parser = at_least_one())]
    pub teacher_threads: Option<usize>,
    /// Sandbox worker slots per container.
    #[arg(long, global = true, value_name = "N", value_parser = at_least_one())]
    pub slots: Option<usize>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors and data.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The mode selector: exactly one of the three sources, or all of them.
#[derive(Debug, Args, Clone, Copy)]
#[group(required = true, multiple = false)]
pub struct ModeArgs {
    /// Template questions (the catalogue of 32 parametrised analyses).
    #[arg(long)]
    pub template: bool,
    /// Procedural questions (typed operator programs).
    #[arg(long)]
    pub procedural: bool,
    /// LLM-written questions (verified by triangulation).
    #[arg(long)]
    pub llm_gen: bool,
    /// All three, in the order template, procedural, llm_gen.
    #[arg(long)]
    pub all: bool,
}

/// The mode selector of `run`, required unless `--test` is given.
#[derive(Debug, Args, Clone, Copy)]
#[group(required = false, multiple = false)]
pub struct RunModeArgs {
    /// Template questions (the catalogue of 32 parametrised analyses).
    #[arg(long)]
    pub template: bool,
    /// Procedural questions (typed operator programs).
    #[arg(long)]
    pub procedural: bool,
    /// LLM-written questions (verified by triangulation).
    #[arg(long)]
    pub llm_gen: bool,
    /// All three, in the order template, procedural, llm_gen.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Where the data stands: datasets, questions, episodes, manifest, sandbox, teacher; and the
    /// next command to run.
    #[command(after_help = "Example:\n  csvagent status\n  csvagent status --json")]
    Status(JsonFlag),
    /// Per-source progress: datasets with questions, questions with episodes, remaining, ETA.
    #[command(after_help = "Example:\n  csvagent progress")]
    Progress(JsonFlag),
    /// Summarise the manifest (the ledger of processed questions); `--compact` rewrites it.
    #[command(after_help = "Example:\n  csvagent manifest\n  csvagent manifest --compact")]
    Manifest(ManifestArgs),
    /// Question and episode statistics; `--gaps` lists what is missing.
    #[command(after_help = "Example:\n  csvagent stats\n  csvagent stats --gaps")]
    Stats(StatsArgs),
    /// Run the pipeline: the question stage, then the episode stage, per selected mode.
    #[command(after_help = "Examples:\n  csvagent run --procedural\n  csvagent run --all --max-questions 5\n  csvagent run --test\n\n".to_owned() + EXIT_CODES)]
    Run(RunArgs),
    /// Generate questions or episodes for one stage.
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Look at questions, episodes and traces.
    #[command(subcommand)]
    Inspect(InspectCommand),
    /// Run one question's reference code in the sandbox and compare with its ground truth.
    #[command(
        after_help = "Example:\n  csvagent validate --csv data/datasets/insurance/data.csv \\\n      --questions-file data/questions/template/insurance/questions.json --index 0 --show-code"
    )]
    Validate(ValidateArgs),
    /// Publish episodes and questions to the Hugging Face Hub as a dataset with a card.
    #[command(
        after_help = "Examples:\n  csvagent upload --repo my-org/csv-traces --dry-run\n  HF_TOKEN=hf_... csvagent upload --repo my-org/csv-traces --private"
    )]
    Upload(UploadArgs),
    /// The dataset catalogue.
    #[command(subcommand)]
    Datasets(DatasetsCommand),
    /// The Docker sandbox: build the image, show its status, prune leftovers.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Rewrite the manifest atomically with one line per question.
    #[arg(long)]
    pub compact: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Question statistics only.
    #[arg(long)]
    pub questions: bool,
    /// Episode statistics only.
    #[arg(long)]
    pub episodes: bool,
    /// Datasets missing questions or episodes, and low verification rates.
    #[arg(long)]
    pub gaps: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Smoke run: the first usable dataset, one question per source, one consistency trace;
    /// outputs go to <data-dir>/smoke/<stamp>/.
    #[arg(long)]
    pub test: bool,
    /// Show what would run (datasets, counts, paths); write nothing, start nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Move the selected sources' outputs aside to <data-dir>/.previous/<stamp>/ first.
    #[arg(long)]
    pub fresh: bool,
    /// Process at most N datasets.
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    pub max_datasets: Option<usize>,
    /// Process at most N questions per dataset (after resume filtering).
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    pub max_questions: Option<usize>,
    /// Consistency traces per llm_gen question, for every difficulty.
    #[arg(long, value_name = "K", value_parser = at_least_one())]
    pub n_consistency: Option<usize>,
    /// Rerun only questions that failed before.
    #[arg(long)]
    pub retry_failed: bool,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten, next_help_heading = "Mode (one of; optional with --test)")]
    pub mode: RunModeArgs,
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Generate questions for the selected sources.
    #[command(
        after_help = "Examples:\n  csvagent generate questions --template\n  csvagent generate questions --procedural --dataset mirichoi0218_insurance"
    )]
    Questions(GenerateQuestionsArgs),
    /// Generate episodes (teacher traces, verified) for existing questions.
    #[command(
        after_help = "Examples:\n  csvagent generate episodes --procedural --max-questions 2\n  csvagent generate episodes --llm-gen --n-consistency 3"
    )]
    Episodes(GenerateEpisodesArgs),
}

#[derive(Debug, Args)]
pub struct GenerateQuestionsArgs {
    /// Process at most N datasets.
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    pub max_datasets: Option<usize>,
    /// Only these datasets (repeatable).
    #[arg(long = "dataset", value_name = "NAME")]
    pub only: Vec<String>,
    /// Show what would run; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Move the selected sources' question files aside first.
    #[arg(long)]
    pub fresh: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten, next_help_heading = "Mode (exactly one)")]
    pub mode: ModeArgs,
}

#[derive(Debug, Args)]
pub struct GenerateEpisodesArgs {
    /// Process at most N questions per dataset (after resume filtering).
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    pub max_questions: Option<usize>,
    /// Process at most N datasets.
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    pub max_datasets: Option<usize>,
    /// Only these datasets (repeatable).
    #[arg(long = "dataset", value_name = "NAME")]
    pub only: Vec<String>,
    /// Consistency traces per llm_gen question, for every difficulty.
    #[arg(long, value_name = "K", value_parser = at_least_one())]
    pub n_consistency: Option<usize>,
    /// Rerun only questions that failed before.
    #[arg(long)]
    pub retry_failed: bool,
    /// Show what would run; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Move the selected sources' episode and failure files aside first.
    #[arg(long)]
    pub fresh: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten, next_help_heading = "Mode (exactly one)")]
    pub mode: ModeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    Template,
    Procedural,
    #[value(name = "llm_gen")]
    LlmGen,
    All,
}

#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// List questions with their text, hint and answer.
    #[command(
        after_help = "Example:\n  csvagent inspect questions --source template --sample 10 --show-answer"
    )]
    Questions(InspectQuestionsArgs),
    /// List episodes with their verdict, answer, turns and hooks.
    #[command(after_help = "Example:\n  csvagent inspect episodes --verified --count 10")]
    Episodes(InspectEpisodesArgs),
    /// Show one trace turn by turn: reasoning, code, output, hooks, review.
    #[command(after_help = "Example:\n  csvagent inspect trace 0b7c9a4e")]
    Trace(InspectTraceArgs),
}

#[derive(Debug, Args)]
pub struct InspectQuestionsArgs {
    /// Which source: template, procedural, llm_gen or all.
    #[arg(long, value_enum, required = true)]
    pub source: SourceArg,
    /// Only this dataset.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// How many to show (at least 1).
    #[arg(long, default_value_t = 5, value_parser = at_least_one())]
    pub sample: usize,
    /// Show hints.
    #[arg(long)]
    pub show_hint: bool,
    /// Show ground truths.
    #[arg(long)]
    pub show_answer: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InspectEpisodesArgs {
    /// Which source.
    #[arg(long, value_enum, default_value = "all")]
    pub source: SourceArg,
    /// Only this dataset.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// How many to show per file (at least 1).
    #[arg(long, default_value_t = 5, value_parser = at_least_one())]
    pub count: usize,
    /// Only verified episodes.
    #[arg(long)]
    pub verified: bool,
    /// Show each episode's hooks.
    #[arg(long)]
    pub show_hooks: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InspectTraceArgs {
    /// The episode id or a unique prefix of it.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub episode_id_prefix: String,
    /// Which source to search.
    #[arg(long, value_enum, default_value = "all")]
    pub source: SourceArg,
    /// Show consistency trace K (0-based) instead of the gold trace.
    #[arg(long, value_name = "K")]
    pub consistency: Option<usize>,
    /// Print the full chat transcript.
    #[arg(long)]
    pub messages: bool,
    /// Print the whole episode record as JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The CSV file the question is about.
    #[arg(long, value_name = "CSV")]
    pub csv: PathBuf,
    /// The questions.json file.
    #[arg(long, value_name = "FILE")]
    pub questions_file: PathBuf,
    /// Which question (0-based).
    #[arg(long, default_value_t = 0)]
    pub index: usize,
    /// Print the code, its output and hooks.
    #[arg(long)]
    pub show_code: bool,
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Target dataset repository, `<org>/<name>`.
    #[arg(long, value_name = "ORG/NAME", value_parser = parse_repo)]
    pub repo: RepoId,
    /// Create the repository as private.
    #[arg(long)]
    pub private: bool,
    /// Branch to commit to (a valid git branch name; created from main if missing)
    /// [default: main].
    #[arg(long, value_name = "REV", value_parser = parse_revision)]
    pub revision: Option<String>,
    /// Also upload the CSVs (and meta.json) of the datasets the episodes use.
    #[arg(long)]
    pub include_csvs: bool,
    /// Sources to upload, comma-separated [default: all that have episodes].
    #[arg(long, value_delimiter = ',', value_name = "SOURCES", value_parser = parse_source_arg)]
    pub sources: Vec<Source>,
    /// Only verified episodes (on by default; `--verified-only false` includes unverified).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub verified_only: bool,
    /// Licence id for the dataset card: one of the Hub's ids (cc-by-4.0, mit, apache-2.0, ...;
    /// an unknown id is refused and the valid ones listed).
    #[arg(long, default_value = "other", value_parser = parse_license)]
    pub license: String,
    /// Print the file list, sizes and card; write nothing and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON for scripts: `{"staged": ..., "outcome": ...}` (`outcome` null for a dry run).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// List datasets: name, rows, columns, hash, usable or the reason not.
    #[command(after_help = "Example:\n  csvagent datasets list --datasets ../shared/datasets")]
    List(JsonFlag),
    /// Profile one dataset's columns in the sandbox (cached by dataset hash).
    #[command(after_help = "Example:\n  csvagent datasets profile mirichoi0218_insurance")]
    Profile(ProfileArgs),
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The dataset name (its folder name).
    pub name: String,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Build the sandbox image (Python with pinned pandas, numpy, scipy, statsmodels, sklearn).
    #[command(after_help = "Example:\n  csvagent sandbox build --offline")]
    Build(SandboxBuildArgs),
    /// Docker daemon, image and containers.
    #[command(after_help = "Example:\n  csvagent sandbox status")]
    Status(JsonFlag),
    /// Remove containers this tool left behind (only ours, only of dead runs).
    #[command(after_help = "Example:\n  csvagent sandbox prune")]
    Prune,
}

#[derive(Debug, Args)]
pub struct SandboxBuildArgs {
    /// Build without a container registry: debootstrap a Debian root file system and import it.
    #[arg(long)]
    pub offline: bool,
    /// Rebuild even if the image exists.
    #[arg(long)]
    pub force: bool,
}

/// A count of at least 1.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

fn parse_repo(value: &str) -> Result<RepoId, String> {
    RepoId::parse(value).map_err(|e| e.to_string())
}

fn parse_revision(value: &str) -> Result<String, String> {
    csvagent_sdk::publish::validate_revision(value)
        .map(|()| value.to_owned())
        .map_err(|e| e.to_string())
}

fn parse_license(value: &str) -> Result<String, String> {
    csvagent_sdk::publish::validate_license(value)
        .map(|()| value.to_owned())
        .map_err(|e| e.to_string())
}

fn parse_source_arg(value: &str) -> Result<Source, String> {
    csvagent_sdk::record::parse_source(value.trim()).map_err(|e| e.to_string())
}
