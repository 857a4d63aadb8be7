//! Template questions (`source = "template"`, SPEC 5): 32 parameterised analysis templates whose
//! reference programs run in the sandbox to give verified ground truth.
//!
//! Per dataset: [`plan`] keeps the templates whose requirements the column profile meets (the
//! others are reported with the reason), sorts them by `n_steps` descending and expands each
//! parameter set into a [`Candidate`]: a complete reference program (prelude + body, parameters
//! rendered as Python literals), its alternative readings, its wording, fingerprint and id.
//! [`generate`] runs every program on a fresh sandbox worker; a candidate whose program submits
//! exactly one non-error answer becomes a [`Question`](crate::schema::Question) whose
//! `accepted_answers` are the primary answer, tied answers and alternative readings,
//! de-duplicated by `H`. [`write_outputs`] writes
//! `questions/template/<dataset>/{questions.json, report.json, rejected.jsonl}`.
//!
//! Output is deterministic: the same dataset bytes, catalogue and image pins give byte-identical
//! files (no timestamps; work order fixed; programs seeded).
//!
//! [`run_dataset`] does all of it for one catalogued dataset (load, profile, viability,
//! generate, write); run several concurrently to use several containers:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use csvagent_sdk::dataset::Catalog;
//! use csvagent_sdk::events::EventSink;
//! use csvagent_sdk::question::template::{DatasetRun, TemplateConfig, run_dataset};
//! use csvagent_sdk::record::DataLayout;
//! use csvagent_sdk::sandbox::{SandboxConfig, SandboxPool};
//!
//! let catalog = Catalog::discover("data/datasets".as_ref())?;
//! let pool = SandboxPool::new(
//!     SandboxConfig { datasets_root: "data/datasets".into(), ..SandboxConfig::default() },
//!     EventSink::discard(),
//! );
//! let layout = DataLayout::new("data");
//! for dataset in &catalog.datasets {
//!     match run_dataset(&pool, dataset, &layout, &TemplateConfig::default(), &EventSink::discard())
//!         .await?
//!     {
//!         DatasetRun::Generated(out) => println!("{}: {} questions", dataset.name, out.questions.len()),
//!         DatasetRun::Skipped { reason, .. } => println!("{}: skipped: {reason}", dataset.name),
//!         _ => {}
//!     }
//! }
//! pool.stop().await;
//! # Ok(()) }
//! ```

mod applicability;
mod catalogue;
mod generate;
mod plan;
mod render;
mod report;

pub use applicability::{ProfileFacts, Requirement, check_all};
pub use catalogue::{Alternative, CATALOGUE, OutputType, Scope, Template, template};
pub use generate::{TemplateConfig, TemplateOutput, generate};
pub use plan::{Candidate, Plan, plan};
pub use render::{Param, ParamSet, fill_slots, prelude, python_str};
pub use report::{
    AlternativeFailure, CandidateEntry, Rejection, TemplateEntry, TemplateReport, TemplateStatus,
};

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, viability};
use crate::error::ErrorCode;
use crate::events::{Event, EventSink, Stage, StageKind};
use crate::record::{DataLayout, RecordError, write_json_atomic, write_questions};
use crate::sandbox::{SandboxError, SandboxPool};
use crate::schema::Source;

/// Errors of template generation. A template that does not apply, or a candidate whose program
/// fails, is not an error: it is reported and the run continues.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The sandbox failed at the protocol level: the pool did not start, the dataset did not
    /// load or profile, or every template program of the dataset failed (a dead container,
    /// not a Python exception).
    #[error("sandbox failed on dataset `{dataset}` ({step})")]
    Sandbox {
        /// Dataset name.
        dataset: String,
        /// `start`, `load`, `profile` or `every template program`.
        step: &'static str,
        /// The (first) failure.
        #[source]
        source: SandboxError,
    },
    /// A [`TemplateConfig`] field is invalid.
    #[error("invalid template config `{field}`: {message}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong and what is valid.
        message: String,
    },
    /// An output file could not be written.
    #[error("cannot write the template questions of dataset `{dataset}`")]
    Write {
        /// Dataset name.
        dataset: String,
        /// The cause (names the file).
        #[source]
        source: RecordError,
    },
}

impl TemplateError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            TemplateError::Sandbox { source, .. } => source.code(),
            TemplateError::Config { .. } => ErrorCode::InvalidInput,
            TemplateError::Write { .. } => ErrorCode::Io,
        }
    }
}

/// Writes the outputs of one dataset under `layout`:
/// `questions/template/<dataset>/questions.json` (JSON array, atomic), `report.json` (pretty
/// JSON, atomic) and `rejected.jsonl` (one compact line per rejected candidate, rewritten
/// atomically; empty when nothing was rejected).
///
/// # Errors
/// [`TemplateError::Write`] when a directory or file cannot be written.
pub fn write_outputs(layout: &DataLayout, output: &TemplateOutput) -> Result<(), TemplateError> {
    let dataset = &output.report.dataset;
    let wrap = |source: RecordError| TemplateError::Write {
        dataset: dataset.clone(),
        source,
    };
    write_questions(
        &layout.questions_file(Source::Template, dataset),
        &output.questions,
    )
    .map_err(wrap)?;
    write_json_atomic(
        &layout.report_file(Source::Template, dataset),
        &output.report,
    )
    .map_err(wrap)?;
    let mut lines = String::new();
    for rejection in &output.rejections {
        let line = serde_json::to_string(rejection).map_err(|e| {
            wrap(RecordError::Io {
                path: layout.rejected_file(dataset),
                source: std::io::Error::other(e),
            })
        })?;
        lines.push_str(&line);
        lines.push('\n');
    }
    write_text_atomic(&layout.rejected_file(dataset), &lines).map_err(wrap)
}

fn write_text_atomic(path: &Path, text: &str) -> Result<(), RecordError> {
    let io = |p: &Path, source| RecordError::Io {
        path: PathBuf::from(p),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io(dir, e))?;
    tmp.write_all(text.as_bytes()).map_err(|e| io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| io(path, e))?;
    tmp.persist(path).map_err(|e| io(path, e.error))?;
    Ok(())
}

/// What [`run_dataset`] did with one dataset.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DatasetRun {
    /// Questions were generated and the outputs written.
    Generated(TemplateOutput),
    /// The dataset is not viable for generated questions (SPEC 5.2); nothing was written.
    Skipped {
        /// Dataset name.
        dataset: String,
        /// `too few rows (n)`, `too few columns (n)`, `no eligible columns after filtering
        /// ids/degenerate fields` or `all columns are >=95% missing`.
        reason: String,
    },
}

/// Generates and writes the template questions of one catalogued dataset: starts `pool` if
/// needed (idempotent), loads the dataset into a container (its `LoadSpec` built from the
/// catalogue's dialect and hash), profiles it there, checks viability, then [`generate`] and
/// [`write_outputs`] under `layout`.
///
/// Sends `DatasetStarted` / `DatasetFinished` (or `DatasetSkipped`) for the template-questions
/// stage, and `QuestionFinished` per candidate. Datasets can run concurrently: each holds one
/// container of the pool while it runs.
///
/// # Errors
/// [`TemplateError::Config`] for an invalid `config`; [`TemplateError::Sandbox`] when the pool
/// cannot start, the dataset cannot be loaded or
/// profiled, or every program failed; [`TemplateError::Write`] when an output cannot be
/// written. A non-viable dataset is [`DatasetRun::Skipped`], not an error.
#[tracing::instrument(skip_all, fields(dataset = %dataset.name))]
pub async fn run_dataset(
    pool: &SandboxPool,
    dataset: &Dataset,
    layout: &DataLayout,
    config: &TemplateConfig,
    events: &EventSink,
) -> Result<DatasetRun, TemplateError> {
    let fail = |step: &'static str| {
        let dataset = dataset.name.clone();
        move |source| TemplateError::Sandbox {
            dataset,
            step,
            source,
        }
    };
    config.validate()?;
    pool.start().await.map_err(fail("start"))?;
    let provenance = pool.provenance().ok_or_else(|| TemplateError::Sandbox {
        dataset: dataset.name.clone(),
        step: "start",
        source: SandboxError::Stopped,
    })?;
    let lease = pool
        .acquire(&dataset.load_spec())
        .await
        .map_err(fail("load"))?;
    let profile = lease.profile().await.map_err(fail("profile"))?;
    let stage = Stage {
        kind: StageKind::Questions,
        source: Source::Template,
    };
    if let Err(reason) = viability(&profile) {
        events
            .emit(Event::DatasetSkipped {
                stage,
                dataset: dataset.name.clone(),
                reason: reason.clone(),
            })
            .await;
        return Ok(DatasetRun::Skipped {
            dataset: dataset.name.clone(),
            reason,
        });
    }
    let planned = plan(
        &dataset.name,
        &dataset.dataset_hash,
        &profile,
        config.max_per_dataset,
    );
    events
        .emit(Event::DatasetStarted {
            stage,
            dataset: dataset.name.clone(),
            total: Some(planned.candidates.len() as u64),
        })
        .await;
    let output = generate(dataset, &profile, &lease, config, &provenance, events).await?;
    drop(lease);
    write_outputs(layout, &output)?;
    events
        .emit(Event::DatasetFinished {
            stage,
            dataset: dataset.name.clone(),
            written: output.questions.len() as u64,
            rejected: output.rejections.len() as u64,
        })
        .await;
    Ok(DatasetRun::Generated(output))
}
