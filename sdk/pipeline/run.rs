//! `run`: the question stage then the episode stage for each selected source (SPEC 8.2), plus
//! the dry-run plan (SPEC 8.5).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::episodes::{EpisodeStageOptions, ResumeState};
use super::questions::QuestionStageOptions;
use super::{Pipeline, StageReport};
use crate::config::Mode;
use crate::events::{Event, Stage, StageKind, StageOutcome};
use crate::record::load_questions;
use crate::schema::Source;

/// Options of `run`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// Only these datasets (all usable ones when empty).
    pub datasets: Vec<String>,
    /// At most this many datasets.
    pub max_datasets: Option<usize>,
    /// At most this many questions per dataset in the episode stage (after resume filtering).
    pub max_questions: Option<usize>,
    /// Consistency traces per llm_gen question, for every difficulty.
    pub n_consistency: Option<u32>,
    /// Rerun only failed questions in the episode stages.
    pub retry_failed: bool,
    /// llm_gen questions per dataset (overrides `num_questions`).
    pub num_questions: Option<usize>,
}

/// What a run did: every stage's report, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// The run id.
    pub run_id: String,
    /// Stage reports in execution order (1a 2a 1b 2b 1c 2c).
    pub stages: Vec<StageReport>,
    /// Episode lines per source file after the run.
    pub episode_lines: Vec<(Source, usize, PathBuf)>,
}

impl RunReport {
    /// Whether every stage was `ok` or `skipped` (exit code 0).
    pub fn success(&self) -> bool {
        self.stages
            .iter()
            .all(|s| s.outcome != StageOutcome::Failed)
    }
}

/// What a dry run found for one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourcePlan {
    /// The source.
    pub source: Source,
    /// Datasets selected.
    pub datasets: Vec<String>,
    /// Datasets whose questions would be generated (no valid file yet, or llm_gen top-up).
    pub datasets_to_generate: Vec<String>,
    /// Questions on disk.
    pub questions_on_disk: usize,
    /// Questions the episode stage would process after resume filtering (from the files on
    /// disk; newly generated questions add to this).
    pub questions_to_process: usize,
    /// The output files.
    pub outputs: Vec<PathBuf>,
}

/// The dry-run plan (SPEC 8.5): nothing is written, no container starts, no model is called.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunPlan {
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// Per source.
    pub sources: Vec<SourcePlan>,
    /// Datasets skipped by discovery, with the reason.
    pub skipped_datasets: Vec<(String, String)>,
}

/// The stages of `mode`, in order: questions then episodes per source.
pub fn stages_of(mode: Mode) -> Vec<Stage> {
    mode.sources()
        .into_iter()
        .flat_map(|source| {
            [
                Stage {
                    kind: StageKind::Questions,
                    source,
                },
                Stage {
                    kind: StageKind::Episodes,
                    source,
                },
            ]
        })
        .collect()
}

impl Pipeline {
    /// Runs `mode`: for each selected source, the question stage then the episode stage. A
    /// failed stage does not stop later ones; an episode stage without questions is reported as
    /// its own outcome. Stops early when cancelled.
    ///
    /// # Errors
    /// Only for a failure before any stage (the catalogue cannot be read).
    pub async fn run(&self, mode: Mode, opts: &RunOptions) -> crate::Result<RunReport> {
        let stages = stages_of(mode);
        self.start_run_log();
        self.events()
            .emit(Event::RunStarted {
                run_id: self.run_id().to_owned(),
                stages: stages.clone(),
            })
            .await;
        let mut report = RunReport {
            run_id: self.run_id().to_owned(),
            stages: Vec::new(),
            episode_lines: Vec::new(),
        };
        for stage in stages {
            if self.is_cancelled() {
                break;
            }
            let r = match stage.kind {
                StageKind::Questions => {
                    let q = QuestionStageOptions {
                        datasets: opts.datasets.clone(),
                        max_datasets: opts.max_datasets,
                        num_questions: opts.num_questions,
                    };
                    self.generate_questions(stage.source, &q).await
                }
                StageKind::Episodes => {
                    let e = EpisodeStageOptions {
                        datasets: opts.datasets.clone(),
                        max_datasets: opts.max_datasets,
                        max_questions: opts.max_questions,
                        n_consistency: opts.n_consistency,
                        retry_failed: opts.retry_failed,
                    };
                    self.generate_episodes(stage.source, &e).await
                }
            };
            report.stages.push(r);
        }
        for source in mode.sources() {
            let path = self.layout().episodes_file(source);
            let lines = std::fs::read_to_string(&path)
                .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
                .unwrap_or(0);
            report.episode_lines.push((source, lines, path));
        }
        self.events()
            .emit(Event::RunFinished {
                run_id: self.run_id().to_owned(),
                success: report.success(),
            })
            .await;
        Ok(report)
    }

    /// The dry-run plan of `mode` with `opts`: discovery, detection and resume filtering only.
    ///
    /// # Errors
    /// When the datasets directory or an existing artifact cannot be read.
    pub fn dry_run(&self, mode: Mode, opts: &RunOptions) -> crate::Result<DryRunPlan> {
        let catalog = self.catalog()?;
        let datasets = self.select_datasets(&catalog, &opts.datasets, opts.max_datasets)?;
        let mut sources = Vec::new();
        for source in mode.sources() {
            let state = ResumeState::read_only(self.layout(), source)?;
            let mut plan = SourcePlan {
                source,
                datasets: datasets.iter().map(|d| d.name.clone()).collect(),
                datasets_to_generate: Vec::new(),
                questions_on_disk: 0,
                questions_to_process: 0,
                outputs: vec![
                    self.layout().questions_dir(source),
                    self.layout().episodes_file(source),
                    self.layout().failures_file(source),
                    self.layout().manifest_file(),
                ],
            };
            for d in &datasets {
                let path = self.layout().questions_file(source, &d.name);
                match load_questions(&path) {
                    Ok(qs) => {
                        plan.questions_on_disk += qs.len();
                        let mut pending = qs
                            .iter()
                            .filter(|q| state.pending(q, opts.retry_failed))
                            .count();
                        if let Some(m) = opts.max_questions {
                            pending = pending.min(m);
                        }
                        plan.questions_to_process += pending;
                        let wanted = opts.num_questions.unwrap_or(self.settings().num_questions);
                        if source == Source::LlmGen && qs.len() < wanted {
                            plan.datasets_to_generate.push(d.name.clone());
                        }
                    }
                    Err(_) => plan.datasets_to_generate.push(d.name.clone()),
                }
            }
            sources.push(plan);
        }
        Ok(DryRunPlan {
            stages: stages_of(mode),
            sources,
            skipped_datasets: catalog
                .skipped
                .iter()
                .map(|s| (s.name.clone(), s.reason.clone()))
                .collect(),
        })
    }
}
