//! One question, start to finish: the gold trace (and for llm_gen the consistency traces),
//! verification, and the episode, failure and manifest records (SPEC 1.6-1.11, 2.4-2.6).

use std::path::Path;
use std::time::Instant;

use futures::future::join_all;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::agent::{ChatClient, LoopConfig, TraceTask, run_trace};
use super::prompt::TraceMode;
use crate::sandbox::{DatasetLease, SandboxError};
use crate::schema::{
    Episode, FailureRecord, FailureRecordErrorKind, FailureRecordStage, ManifestEntry,
    ManifestEntryStatus, ModelInfo, Provenance, Question, QuestionProjection, Source, StopReason,
    Timing, Trace, Triangulation, Verification,
};
use crate::verify::{
    GroundTruthCheck, MatchingConfig, TriangulationConfig, accepted_answer, triangulate,
    verify_ground_truth, zeroed_triangulation,
};

/// Everything that is the same for every question of a run.
#[derive(Debug, Clone)]
pub struct EpisodeSettings {
    /// The producing run.
    pub run_id: String,
    /// The teacher's identity, stamped on episodes.
    pub model: ModelInfo,
    /// The sandbox image, stamped on episodes.
    pub provenance: Option<Provenance>,
    /// Agent-loop limits.
    pub loop_config: LoopConfig,
    /// The tolerant matcher.
    pub matching: MatchingConfig,
    /// How many consistency traces llm_gen questions get, and the majority rule.
    pub triangulation: TriangulationConfig,
}

/// The dataset facts an episode records.
#[derive(Debug, Clone)]
pub struct DatasetFacts<'a> {
    /// Dataset name.
    pub name: &'a str,
    /// `csv_source`: the CSV path as given (relative to the project root when possible).
    pub csv_source: &'a Path,
    /// SHA-256 of the CSV bytes.
    pub dataset_hash: &'a str,
    /// The description used in prompts.
    pub description: &'a str,
    /// The sandbox's data overview.
    pub overview: &'a str,
}

/// What processing one question produced.
#[derive(Debug, Clone)]
pub struct QuestionOutcome {
    /// The episode, when one was written (verified or not).
    pub episode: Option<Episode>,
    /// The failure record, when the question did not yield a verified episode.
    pub failure: Option<FailureRecord>,
    /// The manifest entry (success or failure).
    pub manifest: ManifestEntry,
}

impl QuestionOutcome {
    /// Whether a verified episode was produced.
    pub fn verified(&self) -> bool {
        self.episode.as_ref().is_some_and(|e| e.verified)
    }
}

/// The prompt a question is asked with: non-blank `question_text`, else non-blank
/// `question_mechanical` (SPEC 1.3). `None` when both are blank.
pub fn resolve_prompt(q: &Question) -> Option<&str> {
    [q.question_text.as_deref(), q.question_mechanical.as_deref()]
        .into_iter()
        .flatten()
        .find(|t| !t.trim().is_empty())
}

/// Runs one question on `lease` (gold trace; for llm_gen also the consistency traces in
/// parallel) and builds its records. Returns `None` when cancelled mid-way (nothing must be
/// written for it). Sandbox and teacher failures become unverified episodes with failure
/// records; they never abort the caller.
pub async fn process_question<C: ChatClient>(
    teacher: &C,
    lease: &DatasetLease,
    question: &Question,
    facts: &DatasetFacts<'_>,
    settings: &EpisodeSettings,
    cancel: &CancellationToken,
) -> Option<QuestionOutcome> {
    let started = Instant::now();
    let fingerprint = question.fingerprint.clone().unwrap_or_default();
    let Some(prompt) = resolve_prompt(question) else {
        let failure = failure_record(
            question,
            facts,
            settings,
            FailureRecordStage::Prompt,
            FailureRecordErrorKind::MissingPrompt,
            "missing `question_text`/`question_mechanical`".to_owned(),
            None,
            0.0,
        );
        let manifest = manifest_entry(question, facts, settings, &fingerprint, None, 0, 0.0);
        return Some(QuestionOutcome {
            episode: None,
            failure: Some(failure),
            manifest,
        });
    };
    let task = |mode| TraceTask {
        mode,
        question: prompt,
        hint: question.hint.as_deref().unwrap_or(""),
        description: facts.description,
        overview: facts.overview,
        output_schema: question.output_schema.as_deref(),
        n_steps: question.n_steps,
    };
    let gold = run_on_fresh_worker(teacher, lease, &task(TraceMode::Tutor), settings, cancel).await;
    if gold.stop_reason == Some(StopReason::Cancelled) || cancel.is_cancelled() {
        return None;
    }
    let gold_elapsed = gold.elapsed_seconds.unwrap_or(0.0);

    let (consistency, verified, verification, triangulation, failure_kind) =
        if question.source == Source::LlmGen {
            let n = settings.triangulation.consistency_runs(question.difficulty) as usize;
            let consistency_task = task(TraceMode::Consistency);
            let runs =
                join_all((0..n).map(|_| {
                    run_on_fresh_worker(teacher, lease, &consistency_task, settings, cancel)
                }))
                .await;
            if cancel.is_cancelled()
                || runs
                    .iter()
                    .any(|t| t.stop_reason == Some(StopReason::Cancelled))
            {
                return None;
            }
            let answers: Vec<Option<&Value>> = runs.iter().map(accepted_answer).collect();
            let result = triangulate(
                accepted_answer(&gold),
                &answers,
                settings.triangulation.majority_fraction,
                &settings.matching,
            );
            let kind = result.failure().map(|f| {
                (
                    FailureRecordStage::Triangulation,
                    f.error_kind(),
                    f.to_string(),
                )
            });
            let verified = result.verified();
            (runs, verified, result.verification(), result.record(), kind)
        } else {
            let check = GroundTruthCheck::new(question, prompt, &gold);
            let outcome = verify_ground_truth(&check, &settings.matching);
            let verified = outcome.verified();
            let kind = outcome
                .failure()
                .map(|f| (f.stage(), f.error_kind(), f.to_string()));
            let tri = zeroed_triangulation(gold.final_answer_hash.as_deref(), verified);
            (Vec::new(), verified, outcome.verification(), tri, kind)
        };

    let consistency_elapsed: Vec<f64> = consistency
        .iter()
        .map(|t| t.elapsed_seconds.unwrap_or(0.0))
        .collect();
    let all: Vec<f64> = std::iter::once(gold_elapsed)
        .chain(consistency_elapsed.iter().copied())
        .collect();
    let timing = Timing {
        gold_elapsed,
        total_elapsed: started.elapsed().as_secs_f64(),
        avg_elapsed: all.iter().sum::<f64>() / all.len() as f64,
        consistency_elapsed,
    };
    let n_consistency = consistency.len() as u64;
    let episode = build_episode(
        question,
        prompt,
        facts,
        settings,
        gold,
        consistency,
        verified,
        verification,
        triangulation,
        timing,
    );
    let failure = failure_kind.map(|(stage, kind, message)| {
        let mut f = failure_record(
            question,
            facts,
            settings,
            stage,
            kind,
            message,
            Some(&episode),
            episode.timing.total_elapsed,
        );
        f.episode_id = Some(episode.episode_id.clone());
        f
    });
    let manifest = manifest_entry(
        question,
        facts,
        settings,
        &fingerprint,
        verified.then_some(episode.episode_id.as_str()),
        n_consistency,
        episode.timing.total_elapsed,
    );
    Some(QuestionOutcome {
        episode: Some(episode),
        failure,
        manifest,
    })
}

async fn run_on_fresh_worker<C: ChatClient>(
    teacher: &C,
    lease: &DatasetLease,
    task: &TraceTask<'_>,
    settings: &EpisodeSettings,
    cancel: &CancellationToken,
) -> Trace {
    let worker = tokio::select! {
        w = lease.worker() => w,
        () = cancel.cancelled() => return stopped_trace(StopReason::Cancelled, None),
    };
    match worker {
        Ok(worker) => {
            let trace = run_trace(teacher, &worker, task, &settings.loop_config, cancel).await;
            // Dropping the lease resets the worker to a fresh fork (SPEC 3.3).
            drop(worker);
            trace
        }
        Err(e) => stopped_trace(StopReason::SandboxError, Some(sandbox_message(&e))),
    }
}

fn sandbox_message(e: &SandboxError) -> String {
    e.to_string()
}

fn stopped_trace(stop: StopReason, error: Option<String>) -> Trace {
    Trace {
        turns: Vec::new(),
        final_answer: Value::Null,
        final_answer_hash: None,
        success: false,
        stop_reason: Some(stop),
        error,
        format_retries: Some(0),
        messages: Some(Vec::new()),
        llm_calls: Some(Vec::new()),
        elapsed_seconds: Some(0.0),
    }
}

/// The projection of a question carried by its episode (SPEC 1.7).
pub fn project(q: &Question, prompt: &str) -> QuestionProjection {
    QuestionProjection {
        id: q.id.clone(),
        dataset: Some(q.dataset.clone()),
        source: Some(q.source),
        question_text: prompt.to_owned(),
        hint: q.hint.clone(),
        difficulty: q.difficulty,
        n_steps: q.n_steps,
        category: q.category.clone(),
        tags: q.tags.clone(),
        template_name: q.template_name.clone(),
        template_params: q.template_params.clone(),
        program_name: q.program_name.clone(),
        program_ops: q.program_ops.clone(),
        output_type: q.output_type.clone(),
        output_schema: q.output_schema.clone(),
        ground_truth_hash: q.ground_truth_hash.clone(),
        ground_truth_hashes: q.ground_truth_hashes.clone(),
        ground_truth: q.ground_truth.clone(),
        accepted_answers: q.accepted_answers.clone(),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one record assembled from its parts"
)]
fn build_episode(
    q: &Question,
    prompt: &str,
    facts: &DatasetFacts<'_>,
    settings: &EpisodeSettings,
    gold: Trace,
    consistency: Vec<Trace>,
    verified: bool,
    verification: Verification,
    triangulation: Triangulation,
    timing: Timing,
) -> Episode {
    Episode {
        episode_id: uuid::Uuid::new_v4().to_string(),
        timestamp: crate::record::now_rfc3339(),
        run_id: Some(settings.run_id.clone()),
        source: q.source,
        csv_source: facts.csv_source.to_string_lossy().replace('\\', "/"),
        dataset_hash: Some(facts.dataset_hash.to_owned()),
        model: Some(settings.model.clone()),
        question: project(q, prompt),
        gold_trace: gold,
        consistency_traces: consistency,
        verified,
        verification: Some(verification),
        triangulation,
        timing,
        provenance: settings.provenance.clone(),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one record assembled from its parts"
)]
fn failure_record(
    q: &Question,
    facts: &DatasetFacts<'_>,
    settings: &EpisodeSettings,
    stage: FailureRecordStage,
    error_kind: FailureRecordErrorKind,
    error: String,
    episode: Option<&Episode>,
    elapsed_seconds: f64,
) -> FailureRecord {
    let expected = q
        .accepted_answers
        .clone()
        .or_else(|| (!q.ground_truth.is_null()).then(|| vec![q.ground_truth.clone()]));
    FailureRecord {
        timestamp: crate::record::now_rfc3339(),
        run_id: settings.run_id.clone(),
        source: q.source,
        dataset: facts.name.to_owned(),
        question_id: q.id.clone(),
        fingerprint: q.fingerprint.clone().unwrap_or_default(),
        stage,
        error_kind,
        error,
        expected,
        actual: episode
            .map(|e| e.gold_trace.final_answer.clone())
            .unwrap_or(Value::Null),
        majority_answer_hash: episode.and_then(|e| {
            (e.source == Source::LlmGen)
                .then(|| e.triangulation.majority_answer_hash.clone())
                .flatten()
        }),
        majority_count: episode.map(|e| e.triangulation.majority_count).unwrap_or(0),
        n_consistency: episode
            .map(|e| e.consistency_traces.len() as u64)
            .unwrap_or(0),
        elapsed_seconds,
        episode_id: None,
    }
}

fn manifest_entry(
    q: &Question,
    facts: &DatasetFacts<'_>,
    settings: &EpisodeSettings,
    fingerprint: &str,
    verified_episode_id: Option<&str>,
    n_consistency: u64,
    elapsed_seconds: f64,
) -> ManifestEntry {
    ManifestEntry {
        source: q.source,
        fingerprint: fingerprint.to_owned(),
        status: if verified_episode_id.is_some() {
            ManifestEntryStatus::Success
        } else {
            ManifestEntryStatus::Failure
        },
        dataset: facts.name.to_owned(),
        dataset_hash: Some(facts.dataset_hash.to_owned()),
        question_id: Some(q.id.clone()),
        timestamp: crate::record::now_rfc3339(),
        run_id: Some(settings.run_id.clone()),
        episode_id: verified_episode_id.map(str::to_owned),
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
        n_consistency: Some(n_consistency),
        model: Some(settings.model.name.clone()),
        elapsed_seconds: Some(elapsed_seconds),
    }
}
