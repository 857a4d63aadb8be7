//! The on-disk layout under the data directory (SPEC 1.12): the one source -> path resolver.

use std::path::{Path, PathBuf};

use super::RecordError;
use crate::schema::Source;

/// Parses a persisted source name. Only `template`, `procedural` and `llm_gen` are valid.
///
/// # Errors
/// [`RecordError::InvalidSource`]:
/// ``invalid artifact source `<x>`: expected one of template, procedural, llm_gen``.
pub fn parse_source(value: &str) -> Result<Source, RecordError> {
    match value {
        "template" => Ok(Source::Template),
        "procedural" => Ok(Source::Procedural),
        "llm_gen" => Ok(Source::LlmGen),
        other => Err(RecordError::InvalidSource {
            value: other.to_owned(),
        }),
    }
}

impl Source {
    /// Every source, in processing order: template, procedural, llm_gen.
    pub const ALL: [Source; 3] = [Source::Template, Source::Procedural, Source::LlmGen];

    /// The persisted name: `template`, `procedural` or `llm_gen`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Template => "template",
            Source::Procedural => "procedural",
            Source::LlmGen => "llm_gen",
        }
    }
}

/// Paths of every artifact under a data directory (default `data`).
///
/// | artifact | path |
/// |---|---|
/// | questions | `questions/<source>/<dataset>/questions.json` |
/// | template rejections | `questions/template/<dataset>/rejected.jsonl` |
/// | llm_gen exploration | `questions/llm_gen/<dataset>/exploration_trace.json` |
/// | episodes | `episodes/<source>.jsonl` |
/// | failures | `episodes/failures/<source>.jsonl` |
/// | manifest | `datagen_manifest.jsonl` |
/// | upload staging | `upload/<org>__<name>/` |
/// | moved aside by `--fresh` | `.previous/<stamp>/...` |
/// | run lock | `.csvagent.lock` |
/// | logs | `logs/runs/<run_id>.log`, `logs/llm_errors.jsonl` |
/// | profile cache | `cache/profiles/<dataset_hash>.json` |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLayout {
    root: PathBuf,
}

impl DataLayout {
    /// A layout rooted at `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        DataLayout {
            root: data_dir.into(),
        }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `questions/<source>/`.
    pub fn questions_dir(&self, source: Source) -> PathBuf {
        self.root.join("questions").join(source.as_str())
    }

    /// `questions/<source>/<dataset>/questions.json`.
    pub fn questions_file(&self, source: Source, dataset: &str) -> PathBuf {
        self.questions_dir(source)
            .join(dataset)
            .join("questions.json")
    }

    /// `questions/<source>/<dataset>/` generation report (`report.json`).
    pub fn report_file(&self, source: Source, dataset: &str) -> PathBuf {
        self.questions_dir(source).join(dataset).join("report.json")
    }

    /// `questions/template/<dataset>/rejected.jsonl`.
    pub fn rejected_file(&self, dataset: &str) -> PathBuf {
        self.questions_dir(Source::Template)
            .join(dataset)
            .join("rejected.jsonl")
    }

    /// `questions/llm_gen/<dataset>/exploration_trace.json`.
    pub fn exploration_trace(&self, dataset: &str) -> PathBuf {
        self.questions_dir(Source::LlmGen)
            .join(dataset)
            .join("exploration_trace.json")
    }

    /// `episodes/<source>.jsonl`.
    pub fn episodes_file(&self, source: Source) -> PathBuf {
        self.root
            .join("episodes")
            .join(format!("{}.jsonl", source.as_str()))
    }

    /// `episodes/failures/<source>.jsonl`.
    pub fn failures_file(&self, source: Source) -> PathBuf {
        self.root
            .join("episodes")
            .join("failures")
            .join(format!("{}.jsonl", source.as_str()))
    }

    /// `datagen_manifest.jsonl`.
    pub fn manifest_file(&self) -> PathBuf {
        self.root.join("datagen_manifest.jsonl")
    }

    /// `upload/<org>__<name>/`.
    pub fn upload_staging(&self, org: &str, name: &str) -> PathBuf {
        self.root.join("upload").join(format!("{org}__{name}"))
    }

    /// `.previous/<stamp>/`.
    pub fn previous_dir(&self, stamp: &str) -> PathBuf {
        self.root.join(".previous").join(stamp)
    }

    /// `.csvagent.lock`.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(".csvagent.lock")
    }

    /// `logs/runs/<run_id>.log`.
    pub fn run_log(&self, run_id: &str) -> PathBuf {
        self.root
            .join("logs")
            .join("runs")
            .join(format!("{run_id}.log"))
    }

    /// `logs/llm_errors.jsonl`.
    pub fn llm_errors_log(&self) -> PathBuf {
        self.root.join("logs").join("llm_errors.jsonl")
    }

    /// `smoke/<stamp>/`: the data directory of a `run --test` smoke run.
    pub fn smoke_dir(&self, stamp: &str) -> PathBuf {
        self.root.join("smoke").join(stamp)
    }

    /// `cache/profiles/<dataset_hash>.json`.
    pub fn profile_cache(&self, dataset_hash: &str) -> PathBuf {
        self.root
            .join("cache")
            .join("profiles")
            .join(format!("{dataset_hash}.json"))
    }

    /// The predecessor's mixed layout paths; any of them existing makes writing commands refuse.
    pub fn legacy_paths(&self) -> Vec<PathBuf> {
        vec![
            self.root.join("questions_synthetic"),
            self.root.join("questions_llm"),
            self.root.join("episodes").join("episodes_synthetic.jsonl"),
            self.root.join("episodes").join("episodes_llm.jsonl"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_sources_are_rejected_with_the_vocabulary() {
        for bad in ["llm", "synthetic", "all", "", "LLM", "synth"] {
            let err = parse_source(bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid artifact source `{bad}`: expected one of template, procedural, llm_gen"
                )
            );
        }
        assert_eq!(parse_source("llm_gen").unwrap(), Source::LlmGen);
    }

    #[test]
    fn paths_follow_the_layout() {
        let l = DataLayout::new("data");
        assert_eq!(
            l.questions_file(Source::LlmGen, "d"),
            Path::new("data/questions/llm_gen/d/questions.json")
        );
        assert_eq!(
            l.failures_file(Source::Template),
            Path::new("data/episodes/failures/template.jsonl")
        );
        assert_eq!(
            l.episodes_file(Source::Procedural),
            Path::new("data/episodes/procedural.jsonl")
        );
    }
}
