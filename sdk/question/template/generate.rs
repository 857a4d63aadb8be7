//! Running the candidates of one dataset and turning answers into question records
//! (SPEC 5.4, 5.6, 5.7).
//!
//! Every program (primary and each alternative) runs once on a fresh sandbox worker in reference
//! mode. Candidates run concurrently, but results keep work order, so the output depends only on
//! the dataset bytes, the catalogue and the image pins.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use super::plan::{Candidate, Plan, plan};
use super::report::{
    AlternativeFailure, CandidateEntry, Rejection, TemplateEntry, TemplateReport, TemplateStatus,
};
use super::{CATALOGUE, TemplateError};
use crate::dataset::{Dataset, Profile};
use crate::events::{Event, EventSink};
use crate::sandbox::SandboxError;
use crate::schema::{ExceptionInfo, ExecStatus, Provenance, Question, Source};
use crate::verify::{answer_hash, string_hash};

/// Settings of template generation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateConfig {
    /// Time limit of one reference program (seconds in config files). By default 120 s
    /// (SPEC 4.6); a program that runs longer is rejected as `timeout`.
    #[serde(deserialize_with = "seconds")]
    pub reference_timeout: Duration,
    /// Candidates in flight at once on a dataset (each waits for a free worker of the dataset's
    /// container). By default 4; at least 1 is used.
    pub concurrency: usize,
    /// `template_max_per_dataset`: keep only the first N work items. By default unlimited.
    pub max_per_dataset: Option<usize>,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig {
            reference_timeout: Duration::from_secs(120),
            concurrency: 4,
            max_per_dataset: None,
        }
    }
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

/// The result of generating one dataset's template questions.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateOutput {
    /// The accepted questions, in work order (schema-valid [`Question`] records).
    pub questions: Vec<Question>,
    /// Every template and candidate with its outcome.
    pub report: TemplateReport,
    /// The rejected candidates, in work order (the lines of `rejected.jsonl`).
    pub rejections: Vec<Rejection>,
    /// Wall time of the dataset (not written to any file).
    pub elapsed: Duration,
}

/// What one reference program gave back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunResult {
    pub status: ExecStatus,
    pub exception: Option<ExceptionInfo>,
    /// `(answer, alternatives)` of each `submit()` call, in order.
    pub submissions: Vec<(Value, Vec<Value>)>,
}

/// Runs one complete program on a fresh worker in reference mode.
pub(crate) trait ProgramRunner: Sync {
    fn run(
        &self,
        code: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<RunResult, SandboxError>> + Send;
}

/// The single answer of a program, or why there is none (SPEC 5.4 step 1).
fn single_answer(result: &RunResult) -> Result<(Value, Vec<Value>), String> {
    match result.status {
        ExecStatus::Ok => {}
        ExecStatus::Timeout => return Err("timeout".to_owned()),
        ExecStatus::Crashed => return Err("crashed".to_owned()),
        ExecStatus::Error => {
            return Err(match &result.exception {
                Some(e) => format!("exception: {}: {}", e.type_, e.message),
                None => "exception: unknown".to_owned(),
            });
        }
    }
    let [(answer, alternatives)] = result.submissions.as_slice() else {
        return Err(format!("submit_count:{}", result.submissions.len()));
    };
    if let Some(msg) = error_message(answer) {
        return Err(format!("not_applicable: {msg}"));
    }
    if answer.is_null() {
        return Err("null_answer".to_owned());
    }
    Ok((answer.clone(), alternatives.clone()))
}

fn error_message(answer: &Value) -> Option<String> {
    let err = answer.as_object()?.get("error")?;
    Some(err.as_str().map_or_else(|| err.to_string(), str::to_owned))
}

struct Outcome {
    candidate: Candidate,
    accepted: Result<Vec<Value>, String>,
    alternative_failures: Vec<AlternativeFailure>,
    /// The sandbox failed at the protocol level on the primary program.
    sandbox_error: Option<SandboxError>,
}

async fn run_candidate<R: ProgramRunner>(
    runner: &R,
    candidate: Candidate,
    timeout: Duration,
) -> Outcome {
    let primary = match runner.run(&candidate.code, timeout).await {
        Ok(result) => single_answer(&result),
        Err(e) => {
            return Outcome {
                candidate,
                accepted: Err(format!("sandbox_error: {e}")),
                alternative_failures: Vec::new(),
                sandbox_error: Some(e),
            };
        }
    };
    let (answer, ties) = match primary {
        Ok(found) => found,
        Err(reason) => {
            return Outcome {
                candidate,
                accepted: Err(reason),
                alternative_failures: Vec::new(),
                sandbox_error: None,
            };
        }
    };
    let runs = candidate
        .alternatives
        .iter()
        .map(|(_, code)| runner.run(code, timeout));
    let results = futures::future::join_all(runs).await;

    let mut values = vec![answer];
    values.extend(ties.into_iter().filter(|v| !v.is_null() && error_message(v).is_none()));
    let mut alternative_failures = Vec::new();
    for ((reading, _), result) in candidate.alternatives.iter().zip(results) {
        let answer = match result {
            Ok(r) => single_answer(&r).map(|(a, _)| a),
            Err(e) => Err(format!("sandbox_error: {e}")),
        };
        match answer {
            Ok(a) => values.push(a),
            Err(reason) => {
                tracing::debug!(template = candidate.template.name, reading, %reason, "alternative gave no answer");
                alternative_failures.push(AlternativeFailure {
                    reading: (*reading).to_owned(),
                    reason,
                });
            }
        }
    }
    Outcome {
        candidate,
        accepted: Ok(dedup_by_hash(values)),
        alternative_failures,
        sandbox_error: None,
    }
}

/// Keeps the first value of each distinct `H`, in order.
fn dedup_by_hash(values: Vec<Value>) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(answer_hash(v)))
        .collect()
}

fn question(
    candidate: &Candidate,
    accepted: Vec<Value>,
    dataset: &Dataset,
    provenance: &Provenance,
) -> Question {
    let t = candidate.template;
    let hashes: Vec<String> = accepted.iter().map(answer_hash).collect();
    let ground_truth = accepted.first().cloned().unwrap_or(Value::Null);
    Question {
        id: candidate.id.clone(),
        source: Source::Template,
        dataset: dataset.name.clone(),
        question_text: Some(format!("{}.", candidate.description)),
        question_mechanical: Some(format!(
            "{}. Return as JSON matching this schema: {}",
            candidate.description, t.output_schema
        )),
        hint: Some(String::new()),
        code: Some(candidate.code.clone()),
        code_hash: Some(string_hash(&candidate.code)),
        ground_truth_hash: Some(answer_hash(&ground_truth)),
        ground_truth,
        ground_truth_hashes: Some(hashes),
        output_schema: Some(t.output_schema.to_owned()),
        n_steps: Some(u64::from(t.n_steps)),
        difficulty: Some(t.difficulty),
        dataset_description: Some(dataset.description.clone()),
        accepted_answers: Some(accepted),
        fingerprint: Some(candidate.fingerprint.clone()),
        dataset_hash: Some(dataset.dataset_hash.clone()),
        provenance: Some(provenance.clone()),
        category: Some(t.category.to_owned()),
        tags: Some(Vec::new()),
        template_name: Some(t.name.to_owned()),
        template_params: candidate.params_json(),
        output_type: Some(t.output_type.as_str().to_owned()),
        verbalization_attempts: Some(1),
        candidate_index: Some(1),
        program_name: None,
        program_ops: None,
    }
}

/// Generates the template questions of one dataset with `runner` executing the programs.
pub(crate) async fn generate_with<R: ProgramRunner>(
    runner: &R,
    dataset: &Dataset,
    profile: &Profile,
    config: &TemplateConfig,
    provenance: &Provenance,
    events: &EventSink,
) -> Result<TemplateOutput, TemplateError> {
    let started = Instant::now();
    let Plan {
        candidates,
        not_applicable,
        truncated,
    } = plan(
        &dataset.name,
        &dataset.dataset_hash,
        profile,
        config.max_per_dataset,
    );
    let n_candidates = candidates.len();
    let timeout = config.reference_timeout;

    let outcomes: Vec<Outcome> = futures::stream::iter(candidates)
        .map(|candidate| async move {
            let outcome = run_candidate(runner, candidate, timeout).await;
            let (accepted, detail) = match &outcome.accepted {
                Ok(values) => (true, format!("+{} alt", values.len() - 1)),
                Err(reason) => (false, reason.clone()),
            };
            events
                .emit(Event::QuestionFinished {
                    source: Source::Template,
                    dataset: dataset.name.clone(),
                    name: outcome.candidate.label(),
                    accepted,
                    detail: Some(detail),
                })
                .await;
            outcome
        })
        .buffered(config.concurrency.max(1))
        .collect()
        .await;

    let mut outcomes = outcomes;
    if outcomes.iter().all(|o| o.sandbox_error.is_some()) {
        if let Some(source) = outcomes.first_mut().and_then(|o| o.sandbox_error.take()) {
            return Err(TemplateError::Sandbox {
                dataset: dataset.name.clone(),
                source,
            });
        }
    }

    let mut questions = Vec::new();
    let mut rejections = Vec::new();
    let mut entries: Vec<TemplateEntry> = CATALOGUE
        .iter()
        .map(|t| TemplateEntry {
            name: t.name.to_owned(),
            status: TemplateStatus::Applied,
            reason: None,
            candidates: Vec::new(),
        })
        .collect();
    let entry_of = |entries: &mut Vec<TemplateEntry>, name: &str| {
        entries.iter().position(|e| e.name == name)
    };
    for (name, reason) in not_applicable {
        if let Some(i) = entry_of(&mut entries, name) {
            entries[i].status = TemplateStatus::NotApplicable;
            entries[i].reason = Some(reason);
        }
    }
    for outcome in outcomes {
        let c = &outcome.candidate;
        let mut entry = CandidateEntry {
            index: c.index,
            params: c.params_json(),
            accepted: false,
            question_id: None,
            accepted_answers: 0,
            reason: None,
            alternative_failures: outcome.alternative_failures,
        };
        match outcome.accepted {
            Ok(values) => {
                entry.accepted = true;
                entry.question_id = Some(c.id.clone());
                entry.accepted_answers = values.len();
                questions.push(question(c, values, dataset, provenance));
            }
            Err(reason) => {
                rejections.push(Rejection {
                    dataset: dataset.name.clone(),
                    template_name: c.template.name.to_owned(),
                    template_params: c.params_json(),
                    reason: reason.clone(),
                });
                entry.reason = Some(reason);
            }
        }
        if let Some(i) = entry_of(&mut entries, c.template.name) {
            entries[i].candidates.push(entry);
        }
    }
    for (name, _) in truncated {
        if let Some(i) = entry_of(&mut entries, name) {
            if entries[i].candidates.is_empty() {
                entries[i].status = TemplateStatus::Truncated;
            }
        }
    }

    let report = TemplateReport {
        dataset: dataset.name.clone(),
        dataset_hash: dataset.dataset_hash.clone(),
        candidates: n_candidates,
        accepted: questions.len(),
        rejected: rejections.len(),
        templates: entries,
    };
    Ok(TemplateOutput {
        questions,
        report,
        rejections,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(answer: Value, ties: Vec<Value>) -> RunResult {
        RunResult {
            status: ExecStatus::Ok,
            exception: None,
            submissions: vec![(answer, ties)],
        }
    }

    #[test]
    fn an_error_object_is_not_applicable_and_names_the_message() {
        let r = ok(json!({"error": "no categorical column has 3-10 distinct values"}), vec![]);
        assert_eq!(
            single_answer(&r).unwrap_err(),
            "not_applicable: no categorical column has 3-10 distinct values"
        );
    }

    #[test]
    fn programs_must_submit_exactly_once() {
        let mut r = ok(json!(1), vec![]);
        r.submissions.push((json!(2), vec![]));
        assert_eq!(single_answer(&r).unwrap_err(), "submit_count:2");
        r.submissions.clear();
        assert_eq!(single_answer(&r).unwrap_err(), "submit_count:0");
    }

    #[test]
    fn exceptions_timeouts_and_crashes_are_rejections_with_their_kind() {
        let r = RunResult {
            status: ExecStatus::Error,
            exception: Some(ExceptionInfo {
                type_: "KeyError".into(),
                message: "'x'".into(),
            }),
            submissions: vec![],
        };
        assert_eq!(single_answer(&r).unwrap_err(), "exception: KeyError: 'x'");
        let t = RunResult {
            status: ExecStatus::Timeout,
            ..r.clone()
        };
        assert_eq!(single_answer(&t).unwrap_err(), "timeout");
        let c = RunResult {
            status: ExecStatus::Crashed,
            ..r
        };
        assert_eq!(single_answer(&c).unwrap_err(), "crashed");
    }

    #[test]
    fn accepted_answers_drop_repeats_by_hash_and_keep_order() {
        let values = vec![json!(42), json!({"a": 1}), json!(42.0), json!(7), json!({"a": 1.0})];
        assert_eq!(
            dedup_by_hash(values),
            vec![json!(42), json!({"a": 1}), json!(7)]
        );
    }

    #[test]
    fn config_reads_the_timeout_in_seconds_and_defaults_the_rest() {
        let c: TemplateConfig = serde_json::from_value(json!({"reference_timeout": 30})).unwrap();
        assert_eq!(c.reference_timeout, Duration::from_secs(30));
        assert_eq!(c.concurrency, 4);
        assert_eq!(c.max_per_dataset, None);
        assert!(serde_json::from_value::<TemplateConfig>(json!({"timeout": 30})).is_err());
    }
}
