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

mod applicability;
mod catalogue;
mod generate;
mod plan;
mod render;
mod report;

pub use applicability::{ProfileFacts, Requirement, check_all};
pub use catalogue::{Alternative, CATALOGUE, OutputType, Scope, Template, template};
pub use generate::{TemplateConfig, TemplateOutput};
pub use plan::{Candidate, Plan, plan};
pub use render::{Param, ParamSet, fill_slots, prelude, python_str};
pub use report::{
    AlternativeFailure, CandidateEntry, Rejection, TemplateEntry, TemplateReport, TemplateStatus,
};

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::ErrorCode;
use crate::record::{DataLayout, RecordError, write_json_atomic, write_questions};
use crate::sandbox::SandboxError;
use crate::schema::Source;

/// Errors of template generation. A template that does not apply, or a candidate whose program
/// fails, is not an error: it is reported and the run continues.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The sandbox failed on every candidate of the dataset (the container is unusable).
    #[error("sandbox failed on every template program of dataset `{dataset}`")]
    Sandbox {
        /// Dataset name.
        dataset: String,
        /// The first failure.
        #[source]
        source: SandboxError,
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
