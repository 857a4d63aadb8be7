//! The question stage of one source: every selected dataset gets its questions file (SPEC 5, 6,
//! 7), resuming by default.

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{Pipeline, StageReport};
use crate::dataset::{Dataset, profile_with_cache};
use crate::events::{Event, Stage, StageKind, StageOutcome};
use crate::question::{llm_gen, procedural, template};
use crate::record::load_questions;
use crate::schema::Source;

/// Options of a question stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuestionStageOptions {
    /// Only these datasets (all usable ones when empty).
    pub datasets: Vec<String>,
    /// At most this many datasets.
    pub max_datasets: Option<usize>,
    /// Override of `num_questions` for llm_gen (the smoke run asks for 1).
    pub num_questions: Option<usize>,
}

/// What one dataset contributed.
enum DatasetResult {
    /// Questions written (count), items rejected.
    Written(u64, u64),
    /// Already has its questions (resume).
    AlreadyDone,
    /// Not usable for this source, with the reason (not a failure).
    Skipped(String),
    /// Failed with an error (an item failure).
    Failed(String),
    /// A failure of the shared resources (pool or teacher).
    Fatal(String),
}

impl Pipeline {
    /// Generates questions of `source` for the selected datasets and reports the stage.
    ///
    /// Resume is the default: template and procedural datasets whose `questions.json` exists and
    /// validates are left alone; llm_gen datasets are topped up to `num_questions`. A dataset
    /// that fails (sandbox error, writer failure) is an item failure; the stage fails only when
    /// it wrote nothing from a non-empty input, or on a fatal error.
    pub async fn generate_questions(
        &self,
        source: Source,
        opts: &QuestionStageOptions,
    ) -> StageReport {
        let stage = Stage {
            kind: StageKind::Questions,
            source,
        };
        let mut report = StageReport::new(stage);
        let catalog = match self.catalog() {
            Ok(c) => c,
            Err(e) => {
                let started = self.stage_started(stage, None).await;
                report.outcome = StageOutcome::Failed;
                report.detail = Some(e.to_string());
                return self.stage_finished(report, started).await;
            }
        };
        let datasets = match self.select_datasets(&catalog, &opts.datasets, opts.max_datasets) {
            Ok(d) => d,
            Err(e) => {
                let started = self.stage_started(stage, None).await;
                report.outcome = StageOutcome::Failed;
                report.detail = Some(e.to_string());
                return self.stage_finished(report, started).await;
            }
        };
        let started = self.stage_started(stage, Some(datasets.len() as u64)).await;
        if datasets.is_empty() {
            report.detail = Some(format!(
                "no usable datasets in `{}`",
                self.datasets_dir().display()
            ));
            report.outcome = StageOutcome::Failed;
            return self.stage_finished(report, started).await;
        }
        let concurrency = self.settings().sandbox.max_containers.clamp(1, 2);
        let total = datasets.len() as u64;
        let mut results = futures::stream::iter(
            datasets
                .iter()
                .map(|d| async move { (d, self.questions_for(source, d, opts).await) }),
        )
        .buffered(concurrency);
        let (mut done, mut attempted, mut already, mut fatal) = (0u64, 0u64, 0u64, None);
        let mut first_failure: Option<String> = None;
        while let Some((dataset, result)) = results.next().await {
            done += 1;
            let is_fatal = matches!(result, DatasetResult::Fatal(_));
            match result {
                DatasetResult::Written(n, rejected) => {
                    attempted += 1;
                    report.written += n;
                    report
                        .outputs
                        .push(self.layout().questions_file(source, &dataset.name));
                    if source == Source::LlmGen {
                        self.events()
                            .emit(Event::DatasetFinished {
                                stage,
                                dataset: dataset.name.clone(),
                                written: n,
                                rejected,
                            })
                            .await;
                    }
                }
                DatasetResult::AlreadyDone => {
                    already += 1;
                    self.events()
                        .emit(Event::DatasetSkipped {
                            stage,
                            dataset: dataset.name.clone(),
                            reason: "questions already exist (resume)".into(),
                        })
                        .await;
                }
                DatasetResult::Skipped(reason) if source == Source::LlmGen => {
                    self.events()
                        .emit(Event::DatasetSkipped {
                            stage,
                            dataset: dataset.name.clone(),
                            reason,
                        })
                        .await;
                }
                DatasetResult::Skipped(_) => {}
                DatasetResult::Failed(error) | DatasetResult::Fatal(error) => {
                    attempted += 1;
                    report.item_failures += 1;
                    if fatal.is_none() && is_fatal {
                        fatal = Some(error.clone());
                    }
                    if first_failure.is_none() {
                        first_failure = Some(format!("{}: {error}", dataset.name));
                    }
                    self.events()
                        .emit(Event::DatasetSkipped {
                            stage,
                            dataset: dataset.name.clone(),
                            reason: format!("failed: {error}"),
                        })
                        .await;
                }
            }
            self.events()
                .emit(Event::StageProgress { stage, done, total })
                .await;
            if self.is_cancelled() {
                break;
            }
        }
        drop(results);
        report.outcome = if self.is_cancelled() {
            report.detail = Some("cancelled".into());
            StageOutcome::Failed
        } else if report.written > 0 {
            StageOutcome::Ok
        } else if let Some(f) = fatal {
            report.detail = Some(f);
            StageOutcome::Failed
        } else if attempted == 0 {
            report.detail = Some(if already > 0 {
                format!(
                    "{already} dataset(s) already have {} questions",
                    source.as_str()
                )
            } else {
                "no dataset is usable for this source".into()
            });
            StageOutcome::Skipped
        } else {
            report.detail = Some(match first_failure {
                Some(why) => format!("produced no questions from {attempted} dataset(s); {why}"),
                None => format!("produced no questions from {attempted} dataset(s)"),
            });
            StageOutcome::Failed
        };
        self.stage_finished(report, started).await
    }

    async fn questions_for(
        &self,
        source: Source,
        dataset: &Dataset,
        opts: &QuestionStageOptions,
    ) -> DatasetResult {
        if self.is_cancelled() {
            return DatasetResult::Failed("cancelled".into());
        }
        let path = self.layout().questions_file(source, &dataset.name);
        if source != Source::LlmGen && path.is_file() && load_questions(&path).is_ok() {
            return DatasetResult::AlreadyDone;
        }
        let pool = match self.pool().await {
            Ok(p) => p,
            Err(e) => return DatasetResult::Fatal(e.to_string()),
        };
        let stage = Stage {
            kind: StageKind::Questions,
            source,
        };
        // The template and procedural generators report their own dataset events.
        if source == Source::LlmGen {
            self.events()
                .emit(Event::DatasetStarted {
                    stage,
                    dataset: dataset.name.clone(),
                    total: None,
                })
                .await;
        }
        match source {
            Source::Template => {
                let cfg = template::TemplateConfig::default();
                match template::run_dataset(&pool, dataset, self.layout(), &cfg, self.events())
                    .await
                {
                    Ok(template::DatasetRun::Generated(out)) => DatasetResult::Written(
                        out.questions.len() as u64,
                        out.rejections.len() as u64,
                    ),
                    Ok(template::DatasetRun::Skipped { reason, .. }) => {
                        DatasetResult::Skipped(reason)
                    }
                    Err(e) => DatasetResult::Failed(e.to_string()),
                }
            }
            Source::Procedural => self.procedural_for(&pool, dataset).await,
            Source::LlmGen => self.llm_gen_for(&pool, dataset, opts).await,
        }
    }

    async fn procedural_for(
        &self,
        pool: &crate::sandbox::SandboxPool,
        dataset: &Dataset,
    ) -> DatasetResult {
        let cfg = procedural::ProceduralConfig {
            seed: self.settings().seed,
            max_per_dataset: self.settings().procedural_max_per_dataset,
            ..procedural::ProceduralConfig::default()
        };
        match procedural::run_dataset(pool, dataset, self.layout(), &cfg, self.events()).await {
            Ok(procedural::DatasetRun::Generated(g)) if g.questions.is_empty() => {
                DatasetResult::Failed("every program was dropped by the output filter".into())
            }
            Ok(procedural::DatasetRun::Generated(g)) => {
                DatasetResult::Written(g.questions.len() as u64, 0)
            }
            Ok(procedural::DatasetRun::Skipped { reason, .. }) => DatasetResult::Skipped(reason),
            Err(e) => DatasetResult::Failed(e.to_string()),
        }
    }

    async fn llm_gen_for(
        &self,
        pool: &crate::sandbox::SandboxPool,
        dataset: &Dataset,
        opts: &QuestionStageOptions,
    ) -> DatasetResult {
        let mut cfg = llm_gen::LlmGenConfig {
            num_questions: self.settings().num_questions,
            max_turns: self.settings().question_gen_max_turns,
            min_exploration_turns: self.settings().min_exploration_turns,
            exec_timeout: self.settings().sandbox.exec_timeout,
            ..llm_gen::LlmGenConfig::default()
        };
        if let Some(n) = opts.num_questions {
            cfg.num_questions = n;
        }
        let existing = self.layout().questions_file(Source::LlmGen, &dataset.name);
        if let Ok(qs) = load_questions(&existing)
            && qs.len() >= cfg.num_questions
        {
            return DatasetResult::AlreadyDone;
        }
        let teacher = match self.teacher().await {
            Ok(t) => t,
            Err(e) => return DatasetResult::Fatal(e.to_string()),
        };
        let lease = match pool.acquire(&dataset.load_spec()).await {
            Ok(l) => l,
            Err(e) => return DatasetResult::Failed(e.to_string()),
        };
        let tag = pool.provenance().map(|p| p.image_tag).unwrap_or_default();
        let profile = match profile_with_cache(self.layout(), dataset, &lease, &tag).await {
            Ok(p) => p,
            Err(e) => return DatasetResult::Failed(e.to_string()),
        };
        let overview = match lease.overview().await {
            Ok(o) => o,
            Err(e) => return DatasetResult::Failed(e.to_string()),
        };
        let worker = match lease.worker().await {
            Ok(w) => w,
            Err(e) => return DatasetResult::Failed(e.to_string()),
        };
        let model = teacher.model_info().name;
        let provenance = pool.provenance();
        let result = llm_gen::generate(
            &teacher,
            &worker,
            self.layout(),
            dataset,
            &profile,
            &overview,
            provenance.as_ref(),
            &cfg,
            &model,
            self.events(),
        )
        .await;
        drop(worker);
        match result {
            Ok(out) => {
                let new = out.report.accepted as u64;
                let dropped = out.report.dropped.len() as u64;
                if out.trace.is_none() {
                    return DatasetResult::AlreadyDone;
                }
                if let Err(e) = llm_gen::write_outputs(self.layout(), &dataset.name, &out) {
                    return DatasetResult::Failed(e.to_string());
                }
                self.events()
                    .log(
                        crate::events::LogLevel::Info,
                        format!(
                            "{}: {} proposed, {new} accepted, {dropped} dropped ({} on disk)",
                            dataset.name,
                            out.report.proposed,
                            out.questions.len()
                        ),
                    )
                    .await;
                if new == 0 {
                    return DatasetResult::Failed(
                        match out.trace.as_ref().and_then(|t| t.error.clone()) {
                            Some(error) => format!("the question writer gave {error}"),
                            None => format!(
                                "no proposed question survived validation ({} proposed, {dropped} dropped)",
                                out.report.proposed
                            ),
                        },
                    );
                }
                DatasetResult::Written(new, dropped)
            }
            Err(e) => DatasetResult::Failed(e.to_string()),
        }
    }
}
