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
use crate::sandbox::{DatasetLease, ExecMode, SandboxError};
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

impl TemplateConfig {
    /// Checks every field once.
    ///
    /// # Errors
    /// [`TemplateError::Config`] naming the first invalid field and what is valid.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let bad = |field: &'static str, message: &str| {
            Err(TemplateError::Config {
                field,
                message: message.to_owned(),
            })
        };
        if self.reference_timeout.is_zero() {
            return bad("reference_timeout", "must be greater than 0 seconds");
        }
        if self.concurrency == 0 {
            return bad("concurrency", "must be at least 1");
        }
        if self.max_per_dataset == Some(0) {
            return bad(
                "max_per_dataset",
                "must be at least 1, or absent for no limit",
            );
        }
        Ok(())
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
    values.extend(
        ties.into_iter()
            .filter(|v| !v.is_null() && error_message(v).is_none()),
    );
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

/// Runs each program on a fresh worker of a dataset lease: acquire (a used worker is reset
/// first, so `df` is pristine and the namespace empty), exec once in reference mode, release.
struct LeaseRunner<'a>(&'a DatasetLease);

impl ProgramRunner for LeaseRunner<'_> {
    async fn run(&self, code: &str, timeout: Duration) -> Result<RunResult, SandboxError> {
        let worker = self.0.worker().await?;
        let response = worker.exec(code, ExecMode::Reference, timeout).await?;
        drop(worker);
        Ok(RunResult {
            status: response.status,
            exception: response.exception,
            submissions: response
                .submissions
                .into_iter()
                .map(|s| (s.answer, s.alternatives))
                .collect(),
        })
    }
}

/// Generates the template questions of one dataset (SPEC 5.3-5.7).
///
/// `profile` is the dataset's column profile (from [`DatasetLease::profile`] or the catalogue's
/// cache) and `lease` a container with the dataset loaded. Every applicable template and
/// parameter set becomes a candidate; each candidate's program and each of its alternative
/// programs runs once on a fresh worker in reference mode, `config.concurrency` candidates at a
/// time, and the results keep work order. An [`Event::QuestionFinished`] is sent per candidate
/// (`name` = `template (k=v, ...)`, `detail` = `+k alt` or the rejection reason). `provenance`
/// (the pool's image tag and pins) is stamped on every record.
///
/// A template that does not apply, or a candidate whose program fails, is reported in
/// [`TemplateOutput::report`] and [`TemplateOutput::rejections`]; it is not an error.
///
/// # Errors
/// [`TemplateError::Config`] for an invalid `config`; [`TemplateError::Sandbox`] when the sandbox
/// failed on every candidate of the dataset (a protocol-level failure such as a dead container,
/// not a Python exception).
///
/// # Cancellation
/// Dropping the future drops the worker leases in flight; their programs run on until their
/// timeout inside the container and the workers are reset before reuse.
#[tracing::instrument(skip_all, fields(dataset = %dataset.name))]
pub async fn generate(
    dataset: &Dataset,
    profile: &Profile,
    lease: &DatasetLease,
    config: &TemplateConfig,
    provenance: &Provenance,
    events: &EventSink,
) -> Result<TemplateOutput, TemplateError> {
    generate_with(
        &LeaseRunner(lease),
        dataset,
        profile,
        config,
        provenance,
        events,
    )
    .await
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
    config.validate()?;
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
    if outcomes.iter().all(|o| o.sandbox_error.is_some())
        && let Some(source) = outcomes.first_mut().and_then(|o| o.sandbox_error.take())
    {
        return Err(TemplateError::Sandbox {
            dataset: dataset.name.clone(),
            step: "every template program",
            source,
        });
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
    let entry_of =
        |entries: &mut Vec<TemplateEntry>, name: &str| entries.iter().position(|e| e.name == name);
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
        if let Some(i) = entry_of(&mut entries, name)
            && entries[i].candidates.is_empty()
        {
            entries[i].status = TemplateStatus::Truncated;
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
        let r = ok(
            json!({"error": "no categorical column has 3-10 distinct values"}),
            vec![],
        );
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
        let values = vec![
            json!(42),
            json!({"a": 1}),
            json!(42.0),
            json!(7),
            json!({"a": 1.0}),
        ];
        assert_eq!(
            dedup_by_hash(values),
            vec![json!(42), json!({"a": 1}), json!(7)]
        );
    }

    /// Answers every program with `respond(code)`.
    struct FakeRunner<F>(F);

    impl<F> ProgramRunner for FakeRunner<F>
    where
        F: Fn(&str) -> Result<RunResult, SandboxError> + Sync,
    {
        fn run(
            &self,
            code: &str,
            _timeout: Duration,
        ) -> impl Future<Output = Result<RunResult, SandboxError>> + Send {
            std::future::ready((self.0)(code))
        }
    }

    fn dataset() -> Dataset {
        Dataset {
            name: "demo".into(),
            dir: "d/demo".into(),
            csv_path: "d/demo/data.csv".into(),
            meta: Default::default(),
            dataset_hash: "ab".repeat(32),
            dialect: crate::dataset::Dialect {
                encoding: "utf-8".into(),
                delimiter: ',',
                decimal: '.',
            },
            description: "A demo table".into(),
            size_bytes: 10,
        }
    }

    fn provenance() -> Provenance {
        Provenance {
            csvagent_version: "0.1.0".into(),
            image_tag: "csvagent-sandbox:0.1.0-deadbeef".into(),
            versions: [("pandas".to_owned(), "2.3.3".to_owned())]
                .into_iter()
                .collect(),
        }
    }

    async fn run_fake<F>(respond: F) -> (TemplateOutput, Vec<Event>)
    where
        F: Fn(&str) -> Result<RunResult, SandboxError> + Sync,
    {
        let (sink, mut rx) = EventSink::channel(1024);
        let out = generate_with(
            &FakeRunner(respond),
            &dataset(),
            &super::super::plan::tests::sample_profile(),
            &TemplateConfig::default(),
            &provenance(),
            &sink,
        )
        .await
        .expect("generation succeeds");
        drop(sink);
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        (out, events)
    }

    #[tokio::test]
    async fn ties_then_alternative_readings_become_accepted_answers_without_repeats() {
        let (out, _) = run_fake(|code| {
            Ok(
                if code.contains("submit(round(float(mean_value), 3))")
                    && code.contains("cvs = (stds")
                {
                    ok(json!(3.5), vec![])
                } else if code.contains("submit(round(float(mean_value), 3))") {
                    ok(json!(1.25), vec![json!(2.0), json!(1.25), Value::Null])
                } else {
                    ok(json!({"x": 1}), vec![])
                },
            )
        })
        .await;
        let q = out
            .questions
            .iter()
            .find(|q| q.template_name.as_deref() == Some("max_variance_mean"))
            .expect("accepted");
        // primary, then the distinct tie, then the CV reading (the other two readings repeat
        // the primary); nulls and repeats are dropped.
        assert_eq!(
            q.accepted_answers,
            Some(vec![json!(1.25), json!(2.0), json!(3.5)])
        );
        assert_eq!(q.ground_truth, json!(1.25));
        assert_eq!(
            q.ground_truth_hash.as_deref(),
            Some(answer_hash(&json!(1.25)).as_str())
        );
        assert_eq!(
            q.ground_truth_hashes,
            Some(vec![
                answer_hash(&json!(1.25)),
                answer_hash(&json!(2.0)),
                answer_hash(&json!(3.5))
            ])
        );
    }

    #[tokio::test]
    async fn records_carry_every_template_field_and_pass_the_contract() {
        let (out, _) = run_fake(|_| Ok(ok(json!({"count": 0, "columns": []}), vec![]))).await;
        assert_eq!(out.questions.len(), 32);
        for q in &out.questions {
            let value = serde_json::to_value(q).expect("serialises");
            assert_eq!(
                crate::record::validate_question(&value),
                Vec::<String>::new()
            );
            let code = q.code.as_deref().expect("code");
            assert_eq!(q.code_hash.as_deref(), Some(string_hash(code).as_str()));
            assert_eq!(q.hint.as_deref(), Some(""));
            assert_eq!(q.provenance, Some(provenance()));
            assert_eq!(q.dataset_hash.as_deref(), Some("ab".repeat(32).as_str()));
            assert_eq!(q.dataset_description.as_deref(), Some("A demo table"));
            assert_eq!(q.tags, Some(vec![]));
            assert_eq!(
                (q.verbalization_attempts, q.candidate_index),
                (Some(1), Some(1))
            );
            let text = q.question_text.as_deref().expect("text");
            let mechanical = q.question_mechanical.as_deref().expect("mechanical");
            assert_eq!(
                mechanical,
                format!(
                    "{}. Return as JSON matching this schema: {}",
                    text.trim_end_matches('.'),
                    q.output_schema.as_deref().expect("schema")
                )
            );
            let fp = q.fingerprint.as_deref().expect("fingerprint");
            assert!(q.id.starts_with("tpl_demo_") && q.id.ends_with(&fp[..8]));
        }
        let with_params = out
            .questions
            .iter()
            .find(|q| q.template_name.as_deref() == Some("count_high_missing_columns"))
            .expect("accepted");
        assert_eq!(
            serde_json::to_value(&with_params.template_params).expect("json"),
            json!({"missing_threshold": 5.0})
        );
        let without = out
            .questions
            .iter()
            .find(|q| q.template_name.as_deref() == Some("duplicate_rows_summary"))
            .expect("accepted");
        assert_eq!(without.template_params, None);
    }

    #[tokio::test]
    async fn the_recorded_code_is_exactly_the_program_that_ran_and_alternatives_ran_too() {
        let ran = std::sync::Mutex::new(Vec::<String>::new());
        let (out, _) = run_fake(|code| {
            ran.lock().expect("lock").push(code.to_owned());
            Ok(ok(json!(1), vec![]))
        })
        .await;
        let ran = ran.into_inner().expect("lock");
        let plan = super::super::plan(
            "demo",
            &"ab".repeat(32),
            &super::super::plan::tests::sample_profile(),
            None,
        );
        let expected: usize = plan
            .candidates
            .iter()
            .map(|c| 1 + c.alternatives.len())
            .sum();
        assert_eq!(ran.len(), expected, "each program runs exactly once");
        for q in &out.questions {
            let code = q.code.as_deref().expect("code");
            assert_eq!(
                ran.iter().filter(|c| c.as_str() == code).count(),
                1,
                "{}",
                q.id
            );
        }
    }

    #[tokio::test]
    async fn rejected_candidates_are_reported_with_reasons_and_the_run_goes_on() {
        let (out, events) = run_fake(|code| {
            Ok(if code.contains("stats.chi2_contingency") {
                ok(json!({"error": "fewer than two categorical columns have 2-10 distinct values"}), vec![])
            } else if code.contains("stats.levene(*samples") {
                RunResult {
                    status: ExecStatus::Error,
                    exception: Some(ExceptionInfo {
                        type_: "ValueError".into(),
                        message: "bad".into(),
                    }),
                    submissions: vec![],
                }
            } else {
                ok(json!(1), vec![])
            })
        })
        .await;
        // chi-squared does not apply to the sample profile (one categorical column), so only
        // Levene is rejected.
        assert_eq!(
            out.rejections,
            vec![Rejection {
                dataset: "demo".into(),
                template_name: "levene_variance_test".into(),
                template_params: None,
                reason: "exception: ValueError: bad".into(),
            }]
        );
        assert_eq!(out.report.candidates, 32);
        assert_eq!((out.report.accepted, out.report.rejected), (31, 1));
        let levene = out
            .report
            .templates
            .iter()
            .find(|t| t.name == "levene_variance_test")
            .expect("listed");
        assert_eq!(levene.status, TemplateStatus::Applied);
        assert_eq!(
            levene.candidates[0].reason.as_deref(),
            Some("exception: ValueError: bad")
        );
        let chi = out
            .report
            .templates
            .iter()
            .find(|t| t.name == "chi_squared_independence")
            .expect("listed");
        assert_eq!(chi.status, TemplateStatus::NotApplicable);
        assert_eq!(
            chi.reason.as_deref(),
            Some("needs at least 2 categorical columns (found 1)")
        );
        assert_eq!(
            out.report.templates.len(),
            32,
            "every template is in the report"
        );
        let finished: Vec<(bool, Option<String>)> = events
            .iter()
            .filter_map(|e| match e {
                Event::QuestionFinished {
                    accepted, detail, ..
                } => Some((*accepted, detail.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(finished.len(), 32, "one event per candidate");
        assert!(finished.contains(&(false, Some("exception: ValueError: bad".into()))));
    }

    #[tokio::test]
    async fn a_failing_alternative_is_noted_and_the_question_kept() {
        let (out, _) = run_fake(|code| {
            Ok(if code.contains("std = values.std(ddof=0)") {
                RunResult {
                    status: ExecStatus::Timeout,
                    exception: None,
                    submissions: vec![],
                }
            } else {
                ok(
                    json!({"columns_with_outliers": 1, "total_outliers": 2}),
                    vec![],
                )
            })
        })
        .await;
        let entry = out
            .report
            .templates
            .iter()
            .find(|t| t.name == "count_outlier_columns")
            .expect("listed");
        assert_eq!(entry.candidates.len(), 2);
        for c in &entry.candidates {
            assert!(c.accepted);
            assert_eq!(
                c.alternative_failures,
                vec![AlternativeFailure {
                    reading: "the population standard deviation".into(),
                    reason: "timeout".into(),
                }]
            );
        }
    }

    #[tokio::test]
    async fn a_sandbox_that_fails_every_program_is_an_error_naming_the_dataset() {
        let err = generate_with(
            &FakeRunner(|_: &str| {
                Err(SandboxError::DaemonUnavailable {
                    message: "gone".into(),
                })
            }),
            &dataset(),
            &super::super::plan::tests::sample_profile(),
            &TemplateConfig::default(),
            &provenance(),
            &EventSink::discard(),
        )
        .await
        .expect_err("every program failed");
        assert_eq!(
            err.to_string(),
            "sandbox failed on dataset `demo` (every template program)"
        );
    }

    #[tokio::test]
    async fn outputs_are_written_beside_each_other_and_rejections_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = crate::record::DataLayout::new(dir.path());
        let (out, _) = run_fake(|code| {
            Ok(if code.contains("stats.levene(*samples") {
                ok(
                    json!({"error": "no categorical column has 2-6 distinct values"}),
                    vec![],
                )
            } else {
                ok(json!(7), vec![])
            })
        })
        .await;
        super::super::write_outputs(&layout, &out).expect("written");
        let loaded =
            crate::record::load_questions(&layout.questions_file(Source::Template, "demo"))
                .expect("valid questions file");
        assert_eq!(loaded, out.questions);
        let rejected = std::fs::read_to_string(layout.rejected_file("demo")).expect("rejected");
        assert_eq!(
            rejected,
            "{\"dataset\":\"demo\",\"template_name\":\"levene_variance_test\",\"template_params\":null,\"reason\":\"not_applicable: no categorical column has 2-6 distinct values\"}\n"
        );
        let report: TemplateReport = serde_json::from_str(
            &std::fs::read_to_string(layout.report_file(Source::Template, "demo")).expect("report"),
        )
        .expect("report parses");
        assert_eq!(report, out.report);

        let (clean, _) = run_fake(|_| Ok(ok(json!(7), vec![]))).await;
        super::super::write_outputs(&layout, &clean).expect("rewritten");
        assert_eq!(
            std::fs::read_to_string(layout.rejected_file("demo")).expect("rejected"),
            "",
            "rejected.jsonl is rewritten with the dataset, not appended"
        );
    }

    #[test]
    fn config_reads_the_timeout_in_seconds_and_defaults_the_rest() {
        let c: TemplateConfig = serde_json::from_value(json!({"reference_timeout": 30})).unwrap();
        assert_eq!(c.reference_timeout, Duration::from_secs(30));
        assert_eq!(c.concurrency, 4);
        assert_eq!(c.max_per_dataset, None);
        assert!(serde_json::from_value::<TemplateConfig>(json!({"timeout": 30})).is_err());
        assert!(c.validate().is_ok());
        let zero = TemplateConfig {
            concurrency: 0,
            ..c
        };
        assert_eq!(
            zero.validate().expect_err("invalid").to_string(),
            "invalid template config `concurrency`: must be at least 1"
        );
    }
}
