//! The episode stage of one source: every pending question gets a gold trace (and for llm_gen
//! consistency traces), is verified, and its episode line, failure record and manifest entry are
//! appended in that order as it finishes (SPEC 8.3). An interrupted run resumes with nothing lost
//! or duplicated.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{Pipeline, StageReport};
use crate::dataset::Dataset;
use crate::episode::{
    DatasetFacts, EpisodeSettings, LoopConfig, QuestionOutcome, process_question,
};
use crate::events::{Event, Stage, StageKind, StageOutcome};
use crate::manifest::Manifest;
use crate::record::{
    DataLayout, JsonlAppender, RecordError, load_questions, now_stamp, read_jsonl, repair_torn_tail,
};
use crate::schema::{Episode, FailureRecord, ManifestEntry, ManifestEntryStatus, Question, Source};
use crate::teacher::Teacher;

/// Options of an episode stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeStageOptions {
    /// Only these datasets (all usable ones when empty).
    pub datasets: Vec<String>,
    /// At most this many datasets.
    pub max_datasets: Option<usize>,
    /// At most this many questions per dataset, after resume filtering.
    pub max_questions: Option<usize>,
    /// Consistency traces per llm_gen question, for every difficulty.
    pub n_consistency: Option<u32>,
    /// Rerun only the questions that failed before.
    pub retry_failed: bool,
}

/// What is already done for one source: read from the episode file, the failure file and the
/// manifest.
#[derive(Debug, Clone, Default)]
pub struct ResumeState {
    /// Question ids with any episode line.
    pub with_episode: BTreeSet<String>,
    /// Question ids with a verified episode line.
    pub verified: BTreeSet<String>,
    /// Question ids with a failure record.
    pub failed: BTreeSet<String>,
    /// The last episode per question id (for repairing missing manifest entries).
    last_episode: BTreeMap<String, Episode>,
    /// The manifest.
    pub manifest: Manifest,
}

impl ResumeState {
    /// Reads the state of `source`, first cutting off torn last lines (moved to
    /// `<file>.torn-<stamp>`).
    ///
    /// # Errors
    /// [`RecordError`] when a file cannot be read or repaired.
    pub fn read(layout: &DataLayout, source: Source) -> Result<ResumeState, RecordError> {
        let stamp = now_stamp();
        for path in [
            layout.episodes_file(source),
            layout.failures_file(source),
            layout.manifest_file(),
        ] {
            if let Some(aside) = repair_torn_tail(&path, &stamp)? {
                tracing::warn!(
                    "cut a torn last line off {} (kept in {})",
                    path.display(),
                    aside.display()
                );
            }
        }
        Self::read_only(layout, source)
    }

    /// Reads the state of `source` without repairing anything (for dry runs).
    ///
    /// # Errors
    /// [`RecordError`] when a file cannot be read.
    pub fn read_only(layout: &DataLayout, source: Source) -> Result<ResumeState, RecordError> {
        let mut state = ResumeState {
            manifest: Manifest::load(&layout.manifest_file())?,
            ..ResumeState::default()
        };
        for (_, e) in read_jsonl::<Episode>(&layout.episodes_file(source))?.records {
            state.with_episode.insert(e.question.id.clone());
            if e.verified {
                state.verified.insert(e.question.id.clone());
            }
            state.last_episode.insert(e.question.id.clone(), e);
        }
        for (_, f) in read_jsonl::<FailureRecord>(&layout.failures_file(source))?.records {
            state.failed.insert(f.question_id);
        }
        Ok(state)
    }

    /// Whether `q` still needs an episode: never processed (default), or (with `retry_failed`)
    /// failed before and not verified since.
    pub fn pending(&self, q: &Question, retry_failed: bool) -> bool {
        let fp = q.fingerprint.as_deref().unwrap_or("");
        let succeeded = self.verified.contains(&q.id)
            || (!fp.is_empty() && self.manifest.has(q.source, fp, false));
        if succeeded {
            return false;
        }
        let failed = self.failed.contains(&q.id)
            || self.with_episode.contains(&q.id)
            || (!fp.is_empty() && self.manifest.has(q.source, fp, true));
        if retry_failed { failed } else { !failed }
    }

    /// Manifest entries missing for episodes already written (a crash between the episode line
    /// and its manifest entry): the episode file is the truth.
    fn missing_manifest_entries(&self, questions: &[Question]) -> Vec<ManifestEntry> {
        questions
            .iter()
            .filter_map(|q| {
                let fp = q.fingerprint.as_deref()?;
                let e = self.last_episode.get(&q.id)?;
                if self.manifest.has(q.source, fp, true) {
                    return None;
                }
                Some(ManifestEntry {
                    source: q.source,
                    fingerprint: fp.to_owned(),
                    status: if e.verified {
                        ManifestEntryStatus::Success
                    } else {
                        ManifestEntryStatus::Failure
                    },
                    dataset: q.dataset.clone(),
                    dataset_hash: e.dataset_hash.clone(),
                    question_id: Some(q.id.clone()),
                    timestamp: e.timestamp.clone(),
                    run_id: e.run_id.clone(),
                    episode_id: e.verified.then(|| e.episode_id.clone()),
                    template_name: q.template_name.clone(),
                    template_params: (q.source == Source::Template)
                        .then(|| q.template_params.clone().unwrap_or_default()),
                    program_name: q.program_name.clone(),
                    question_text: (q.source == Source::LlmGen).then(|| {
                        q.question_text
                            .as_deref()
                            .unwrap_or("")
                            .chars()
                            .take(200)
                            .collect()
                    }),
                    n_consistency: Some(e.consistency_traces.len() as u64),
                    model: e.model.as_ref().map(|m| m.name.clone()),
                    elapsed_seconds: Some(e.timing.total_elapsed),
                })
            })
            .collect()
    }
}

/// The three append-only files of a source.
struct Writers {
    episodes: JsonlAppender,
    failures: JsonlAppender,
    manifest: JsonlAppender,
    write_unverified: bool,
}

impl Writers {
    /// Episode line, then failure record, then manifest entry; each flushed before the next.
    /// Returns the episode lines written (0 or 1).
    fn write(&self, outcome: &QuestionOutcome) -> Result<u64, RecordError> {
        let mut written = 0;
        if let Some(e) = &outcome.episode
            && (e.verified || self.write_unverified)
        {
            self.episodes.append(e)?;
            written += 1;
        }
        if let Some(f) = &outcome.failure {
            let mut f = f.clone();
            if !outcome
                .episode
                .as_ref()
                .is_some_and(|e| e.verified || self.write_unverified)
            {
                f.episode_id = None;
            }
            self.failures.append(&f)?;
        }
        self.manifest.append(&outcome.manifest)?;
        Ok(written)
    }
}

impl Pipeline {
    /// Runs the pending questions of `source` and reports the stage. A source with no questions
    /// fails with the hint to generate them first; a source with nothing left is `skipped`.
    pub async fn generate_episodes(
        &self,
        source: Source,
        opts: &EpisodeStageOptions,
    ) -> StageReport {
        let stage = Stage {
            kind: StageKind::Episodes,
            source,
        };
        let mut report = StageReport::new(stage);
        let plan = match self.episode_plan(source, opts) {
            Ok(p) => p,
            Err(e) => {
                let started = self.stage_started(stage, None).await;
                report.outcome = StageOutcome::Failed;
                report.detail = Some(e.to_string());
                return self.stage_finished(report, started).await;
            }
        };
        let total: u64 = plan.work.iter().map(|(_, qs)| qs.len() as u64).sum();
        let started = self.stage_started(stage, Some(total)).await;
        if plan.question_count == 0 {
            let flag = match source {
                Source::Template => "--template",
                Source::Procedural => "--procedural",
                Source::LlmGen => "--llm-gen",
            };
            report.outcome = StageOutcome::Failed;
            report.detail = Some(format!(
                "no {} questions; run csvagent generate questions {flag} first",
                source.as_str()
            ));
            return self.stage_finished(report, started).await;
        }
        if total == 0 {
            report.detail = Some(format!(
                "nothing left to do: {} questions already processed",
                plan.question_count
            ));
            return self.stage_finished(report, started).await;
        }
        match self.run_episode_plan(source, plan, opts, &mut report).await {
            Ok(None) => {}
            Ok(Some(teacher_down)) => {
                report.outcome = StageOutcome::Failed;
                report.detail = Some(teacher_down);
                return self.stage_finished(report, started).await;
            }
            Err(e) => {
                report.outcome = StageOutcome::Failed;
                report.detail = Some(e.to_string());
                return self.stage_finished(report, started).await;
            }
        }
        report.outcome = if self.is_cancelled() {
            report.detail = Some("cancelled".into());
            StageOutcome::Failed
        } else if report.written > 0 {
            StageOutcome::Ok
        } else {
            report.detail = Some(format!("produced nothing from {total} question(s)"));
            StageOutcome::Failed
        };
        self.stage_finished(report, started).await
    }

    /// The pending questions per dataset, after resume filtering and `max_questions`.
    fn episode_plan(
        &self,
        source: Source,
        opts: &EpisodeStageOptions,
    ) -> crate::Result<EpisodePlan> {
        let catalog = self.catalog()?;
        let datasets = self.select_datasets(&catalog, &opts.datasets, opts.max_datasets)?;
        let state = ResumeState::read(self.layout(), source)?;
        let mut plan = EpisodePlan {
            work: Vec::new(),
            question_count: 0,
            repairs: Vec::new(),
        };
        for d in datasets {
            let path = self.layout().questions_file(source, &d.name);
            if !path.is_file() {
                continue;
            }
            let questions = load_questions(&path)?;
            plan.question_count += questions.len();
            plan.repairs
                .extend(state.missing_manifest_entries(&questions));
            let mut pending: Vec<Question> = questions
                .into_iter()
                .filter(|q| state.pending(q, opts.retry_failed))
                .collect();
            if let Some(m) = opts.max_questions {
                pending.truncate(m);
            }
            if !pending.is_empty() {
                plan.work.push((d, pending));
            }
        }
        Ok(plan)
    }

    async fn run_episode_plan(
        &self,
        source: Source,
        plan: EpisodePlan,
        opts: &EpisodeStageOptions,
        report: &mut StageReport,
    ) -> crate::Result<Option<String>> {
        let layout = self.layout();
        let writers = Arc::new(Writers {
            episodes: JsonlAppender::open(&layout.episodes_file(source))?,
            failures: JsonlAppender::open(&layout.failures_file(source))?,
            manifest: JsonlAppender::open(&layout.manifest_file())?,
            write_unverified: self.settings().write_unverified,
        });
        for entry in &plan.repairs {
            writers.manifest.append(entry)?;
        }
        report.outputs = vec![
            layout.episodes_file(source),
            layout.failures_file(source),
            layout.manifest_file(),
        ];
        let teacher = self.teacher().await?;
        let pool = self.pool().await?;
        let mut triangulation = self.settings().triangulation();
        triangulation.n_consistency_override = opts.n_consistency;
        let workers = self.settings().sandbox.workers_per_container;
        if source == Source::LlmGen {
            let d = triangulation.triangulation_by_difficulty;
            let by_difficulty = [d.easy, d.medium, d.hard, d.very_hard]
                .into_iter()
                .max()
                .unwrap_or(0)
                .max(triangulation.n_consistency);
            let need = opts.n_consistency.unwrap_or(by_difficulty) as usize;
            if need + 1 > workers {
                return Err(crate::Error::InvalidInput {
                    what: "n_consistency".into(),
                    message: format!(
                        "{need} consistency traces need {} workers per container, but sandbox.workers_per_container is {workers}",
                        need + 1
                    ),
                });
            }
        }
        let settings = EpisodeSettings {
            run_id: self.run_id().to_owned(),
            model: teacher.model_info(),
            provenance: pool.provenance(),
            loop_config: LoopConfig {
                max_turns: self.settings().max_turns,
                exec_timeout: self.settings().sandbox.exec_timeout,
                matching: self.settings().matching.clone(),
                ..LoopConfig::default()
            },
            matching: self.settings().matching.clone(),
            triangulation,
        };
        let total: u64 = plan.work.iter().map(|(_, qs)| qs.len() as u64).sum();
        let progress = Progress {
            total,
            done: std::sync::atomic::AtomicU64::new(0),
            teacher_down: std::sync::OnceLock::new(),
        };
        let concurrency = match source {
            Source::LlmGen => 1,
            _ => self.settings().episode_concurrency.clamp(1, workers.max(1)),
        };
        let dataset_parallelism = match source {
            Source::LlmGen => self.settings().sandbox.max_containers.max(1),
            _ => 1,
        };
        let runs = futures::stream::iter(plan.work.iter().map(|(dataset, questions)| {
            let writers = writers.clone();
            let (teacher, pool, settings, progress) = (&teacher, &pool, &settings, &progress);
            async move {
                self.run_dataset_episodes(
                    source,
                    dataset,
                    questions,
                    teacher,
                    pool,
                    settings,
                    &writers,
                    concurrency,
                    progress,
                )
                .await
            }
        }))
        .buffer_unordered(dataset_parallelism);
        let results: Vec<crate::Result<DatasetTally>> = runs.collect().await;
        for r in results {
            match r {
                Ok(t) => {
                    report.written += t.written;
                    report.verified += t.verified;
                    report.item_failures += t.failed;
                }
                Err(e) => {
                    report.item_failures += 1;
                    self.events()
                        .log(crate::events::LogLevel::Error, e.to_string())
                        .await;
                    if report.detail.is_none() {
                        report.detail = Some(e.to_string());
                    }
                }
            }
        }
        Ok(progress.teacher_down.get().map(|why| {
            format!(
                "the teacher did not answer ({why}); the questions it could not answer were not \
                 recorded and run again once it is reachable"
            )
        }))
    }

    #[expect(clippy::too_many_arguments, reason = "the dataset's shared context")]
    async fn run_dataset_episodes(
        &self,
        source: Source,
        dataset: &Dataset,
        questions: &[Question],
        teacher: &Teacher,
        pool: &crate::sandbox::SandboxPool,
        settings: &EpisodeSettings,
        writers: &Writers,
        concurrency: usize,
        progress: &Progress,
    ) -> crate::Result<DatasetTally> {
        let stage = Stage {
            kind: StageKind::Episodes,
            source,
        };
        self.events()
            .emit(Event::DatasetStarted {
                stage,
                dataset: dataset.name.clone(),
                total: Some(questions.len() as u64),
            })
            .await;
        let lease = pool.acquire(&dataset.load_spec()).await?;
        let overview = lease.overview().await?;
        let csv_source: PathBuf = self.csv_source(dataset);
        let facts = DatasetFacts {
            name: &dataset.name,
            csv_source: &csv_source,
            dataset_hash: &dataset.dataset_hash,
            description: &dataset.description,
            overview: &overview,
        };
        let cancel = self.cancel_token();
        let mut tally = DatasetTally::default();
        let mut runs = futures::stream::iter(questions.iter().map(|q| {
            let (lease, facts, cancel) = (&lease, &facts, &cancel);
            async move {
                if cancel.is_cancelled() || progress.teacher_down.get().is_some() {
                    return (q, None);
                }
                (
                    q,
                    process_question(teacher, lease, q, facts, settings, cancel).await,
                )
            }
        }))
        .buffer_unordered(concurrency);
        while let Some((q, outcome)) = runs.next().await {
            let Some(outcome) = outcome else { continue };
            if let Some(why) = teacher_never_answered(&outcome) {
                // An unreachable teacher is not the question's failure: record nothing, so the
                // question runs again, and stop asking.
                let _ = progress.teacher_down.set(why);
                continue;
            }
            tally.written += writers.write(&outcome)?;
            let verified = outcome.verified();
            if verified {
                tally.verified += 1;
            } else {
                tally.failed += 1;
            }
            let elapsed_ms = outcome
                .episode
                .as_ref()
                .map(|e| (e.timing.total_elapsed * 1000.0) as u64)
                .unwrap_or(0);
            self.events()
                .emit(Event::EpisodeFinished {
                    source,
                    dataset: dataset.name.clone(),
                    question_id: q.id.clone(),
                    verified,
                    error_kind: outcome.failure.as_ref().map(|f| {
                        serde_json::to_value(f.error_kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    }),
                    elapsed_ms,
                })
                .await;
            let done = progress
                .done
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            self.events()
                .emit(Event::StageProgress {
                    stage,
                    done,
                    total: progress.total,
                })
                .await;
        }
        drop(runs);
        self.events()
            .emit(Event::DatasetFinished {
                stage,
                dataset: dataset.name.clone(),
                written: tally.written,
                rejected: tally.failed,
            })
            .await;
        Ok(tally)
    }
}

struct EpisodePlan {
    work: Vec<(Dataset, Vec<Question>)>,
    question_count: usize,
    repairs: Vec<ManifestEntry>,
}

struct Progress {
    total: u64,
    done: std::sync::atomic::AtomicU64,
    /// Set when a trace ended on a teacher error before the teacher answered once.
    teacher_down: std::sync::OnceLock<String>,
}

/// Why the teacher never answered in this outcome's gold trace (it ended on an LLM error before
/// any assistant message), or `None`.
fn teacher_never_answered(outcome: &QuestionOutcome) -> Option<String> {
    let trace = &outcome.episode.as_ref()?.gold_trace;
    if trace.stop_reason != Some(crate::schema::StopReason::LlmError) {
        return None;
    }
    let answered = trace
        .messages
        .as_ref()
        .is_some_and(|m| m.iter().any(|m| m.role == crate::schema::Role::Assistant));
    if answered {
        return None;
    }
    Some(trace.error.clone().unwrap_or_else(|| "no reply".into()))
}

#[derive(Default)]
struct DatasetTally {
    written: u64,
    verified: u64,
    failed: u64,
}
