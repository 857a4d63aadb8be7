//! Episodes end to end against the scripted teacher and the real sandbox (issues 8 and 9):
//! verification by ground truth, hook grounding, triangulation majorities, resume, and the
//! llm_gen question writer's handling of valid, duplicate and malformed proposals.

#![allow(
    clippy::unwrap_used,
    reason = "integration test code: a panic is a test failure"
)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use csvagent_sdk::config::Settings;
use csvagent_sdk::events::{EventSink, StageOutcome};
use csvagent_sdk::pipeline::{EpisodeStageOptions, Pipeline, QuestionStageOptions};
use csvagent_sdk::question::{llm_gen_fingerprint, template_fingerprint};
use csvagent_sdk::record::{DataLayout, load_questions, read_jsonl, write_questions};
use csvagent_sdk::sandbox::{ExecMode, SandboxConfig};
use csvagent_sdk::schema::{
    Difficulty, Episode, FailureRecord, FailureRecordErrorKind, ManifestEntry, ManifestEntryStatus,
    Question, Source, StopReason, SubmissionReviewStatus,
};
use csvagent_sdk::teacher::scripted::{Rule, Script, ScriptedServer};
use csvagent_sdk::verify::answer_hash;
use serde_json::{Map, Value, json};

const DATASET: &str = "clinic_visits";

fn examples() -> PathBuf {
    support::repo_root().join("examples/datasets")
}

fn settings(server: &ScriptedServer) -> Settings {
    Settings {
        llm: server.teacher_config(),
        sandbox: SandboxConfig {
            max_containers: 1,
            workers_per_container: 8,
            ..SandboxConfig::default()
        },
        max_turns: 4,
        ..Settings::default()
    }
}

/// A teacher reply: reasoning, then one python block.
fn turn(reasoning: &str, code: &str) -> String {
    format!("{reasoning}\n```python\n{code}\n```")
}

/// A reply that hooks two steps and submits `expr` (a Python expression over `df`).
fn solve(expr: &str) -> String {
    turn(
        "I compute the value in two recorded steps and submit it.",
        &format!(
            "v = {expr}\nhook(v, \"v = {expr}\", name='v')\nr = v\nhook(r, \"r = v\", name='r', depends_on=['v'])\nsubmit(r)"
        ),
    )
}

/// Runs `code` as a reference program on the dataset and returns its single submission.
async fn reference_answer(pipeline: &Pipeline, code: &str) -> Value {
    let catalog = pipeline.catalog().unwrap();
    let pool = pipeline.pool().await.unwrap();
    let lease = pool
        .acquire(&catalog.get(DATASET).unwrap().load_spec())
        .await
        .unwrap();
    let worker = lease.worker().await.unwrap();
    let r = worker
        .exec(code, ExecMode::Reference, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(r.submissions.len(), 1, "{}", r.stderr);
    r.submissions[0].answer.clone()
}

fn template_question(
    id: &str,
    text: &str,
    code: &str,
    answer: Value,
    dataset_hash: &str,
) -> Question {
    let fp = template_fingerprint(id, code, &[], &Map::new(), dataset_hash);
    Question {
        id: format!("tpl_{DATASET}_{id}_{}", &fp[..8]),
        source: Source::Template,
        dataset: DATASET.into(),
        question_text: Some(text.into()),
        question_mechanical: Some(format!(
            "{text}. Return as JSON matching this schema: scalar:float"
        )),
        hint: Some(String::new()),
        code: Some(code.into()),
        code_hash: Some(csvagent_sdk::verify::string_hash(code)),
        ground_truth_hash: Some(answer_hash(&answer)),
        ground_truth_hashes: Some(vec![answer_hash(&answer)]),
        accepted_answers: Some(vec![answer.clone()]),
        ground_truth: answer,
        output_schema: Some("scalar:float".into()),
        n_steps: Some(2),
        difficulty: Some(Difficulty::Easy),
        dataset_description: Some("Clinic visits".into()),
        fingerprint: Some(fp),
        dataset_hash: Some(dataset_hash.into()),
        provenance: None,
        category: Some("descriptive".into()),
        tags: Some(vec![]),
        template_name: Some(id.into()),
        template_params: None,
        output_type: Some("scalar".into()),
        verbalization_attempts: Some(1),
        candidate_index: Some(1),
        program_name: None,
        program_ops: None,
    }
}

fn llm_question(text: &str, dataset_hash: &str) -> Question {
    let fp = llm_gen_fingerprint(text, dataset_hash);
    Question {
        id: format!("llm_{DATASET}_{}", &fp[..8]),
        source: Source::LlmGen,
        dataset: DATASET.into(),
        question_text: Some(text.into()),
        question_mechanical: None,
        hint: Some("Count carefully.".into()),
        code: None,
        code_hash: None,
        ground_truth: Value::Null,
        ground_truth_hash: None,
        ground_truth_hashes: None,
        output_schema: Some("scalar:int".into()),
        n_steps: Some(2),
        difficulty: Some(Difficulty::Easy),
        dataset_description: Some("Clinic visits".into()),
        accepted_answers: None,
        fingerprint: Some(fp),
        dataset_hash: Some(dataset_hash.into()),
        provenance: None,
        category: None,
        tags: None,
        template_name: None,
        template_params: None,
        output_type: None,
        verbalization_attempts: None,
        candidate_index: None,
        program_name: None,
        program_ops: None,
    }
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    let r = read_jsonl::<T>(path).unwrap();
    assert!(
        r.errors.is_empty() && r.torn_tail.is_none(),
        "{:?}",
        r.errors
    );
    r.records.into_iter().map(|(_, x)| x).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_answers_verify_wrong_ones_do_not_and_ungrounded_hooks_are_caught() {
    if !support::require_docker(
        "correct_answers_verify_wrong_ones_do_not_and_ungrounded_hooks_are_caught",
    ) {
        return;
    }
    let q_mean = "What is the mean age of the patients";
    let q_smokers = "How many patients smoke";
    let q_hooks = "What is the largest annual cost";
    let script = Script::new()
        .rule(Rule::matching(q_mean).reply(solve("round(df['age'].mean(), 2)")))
        // Wrong on purpose: counts non-smokers.
        .rule(Rule::matching(q_smokers).reply(solve("int((df['smoker'] == 'no').sum())")))
        // First a hook whose code_line never ran (`x = 10` vs `x = 1`), then a correct turn.
        .rule(Rule::matching(q_hooks).replies([
            turn(
                "I record a value but cite a line that did not run.",
                "x = 1\nhook(x, \"x = 10\", name='x')\nm = float(df['annual_cost'].max())\nhook(m, \"m = float(df['annual_cost'].max())\", name='m')\nsubmit(m)",
            ),
            solve("float(df['annual_cost'].max())"),
        ]));
    let server = ScriptedServer::start(script).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(
        data.path(),
        examples(),
        settings(&server),
        EventSink::discard(),
    );
    let dataset_hash = pipeline
        .catalog()
        .unwrap()
        .get(DATASET)
        .unwrap()
        .dataset_hash
        .clone();
    let mean = reference_answer(&pipeline, "submit(round(df['age'].mean(), 2))").await;
    let smokers = reference_answer(&pipeline, "submit(int((df['smoker'] == 'yes').sum()))").await;
    let max_cost = reference_answer(&pipeline, "submit(float(df['annual_cost'].max()))").await;
    let questions = vec![
        template_question(
            "mean_age",
            q_mean,
            "submit(round(df['age'].mean(), 2))",
            mean.clone(),
            &dataset_hash,
        ),
        template_question(
            "smokers",
            q_smokers,
            "submit(int((df['smoker'] == 'yes').sum()))",
            smokers.clone(),
            &dataset_hash,
        ),
        template_question(
            "max_cost",
            q_hooks,
            "submit(float(df['annual_cost'].max()))",
            max_cost,
            &dataset_hash,
        ),
    ];
    let layout = DataLayout::new(data.path());
    write_questions(
        &layout.questions_file(Source::Template, DATASET),
        &questions,
    )
    .unwrap();

    let report = pipeline
        .generate_episodes(Source::Template, &EpisodeStageOptions::default())
        .await;
    assert_eq!(report.outcome, StageOutcome::Ok, "{:?}", report.detail);
    assert_eq!((report.verified, report.item_failures), (2, 1));

    let episodes: Vec<Episode> = read(&layout.episodes_file(Source::Template));
    assert_eq!(
        episodes.len(),
        3,
        "every finished trace is written, verified or not"
    );
    let by = |text: &str| {
        episodes
            .iter()
            .find(|e| e.question.question_text.starts_with(text))
            .unwrap()
    };
    let e_mean = by(q_mean);
    assert!(e_mean.verified);
    assert_eq!(e_mean.gold_trace.final_answer, mean);
    assert_eq!(e_mean.question.dataset.as_deref(), Some(DATASET));
    assert_eq!(e_mean.gold_trace.stop_reason, Some(StopReason::Submitted));
    let msgs = e_mean.gold_trace.messages.as_ref().unwrap();
    assert_eq!(msgs.len(), 3, "system, first user, one assistant reply");
    assert!(msgs[1].content.starts_with("Begin. "));
    assert_eq!(
        e_mean.gold_trace.llm_calls.as_ref().unwrap()[0].sent,
        vec![0, 1]
    );
    assert!(
        e_mean.gold_trace.turns[0]
            .execution
            .hooks
            .iter()
            .all(|h| h.ungrounded_reason.is_none() && h.value_hash.is_some())
    );

    let e_smokers = by(q_smokers);
    assert!(!e_smokers.verified, "a wrong answer does not verify");
    assert_ne!(e_smokers.gold_trace.final_answer, smokers);
    let failures: Vec<FailureRecord> = read(&layout.failures_file(Source::Template));
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].error_kind,
        FailureRecordErrorKind::AnswerMismatch
    );
    assert_eq!(
        failures[0].episode_id.as_deref(),
        Some(e_smokers.episode_id.as_str())
    );

    let e_hooks = by(q_hooks);
    let t0 = &e_hooks.gold_trace.turns[0];
    assert_eq!(
        t0.submission.as_ref().unwrap().status,
        SubmissionReviewStatus::Rejected
    );
    assert_eq!(
        t0.execution.hooks[0].ungrounded_reason.as_deref(),
        Some("code_line not found in executed code")
    );
    assert!(t0.execution.hooks[1].ungrounded_reason.is_none());
    assert_eq!(
        e_hooks.gold_trace.turns[1]
            .submission
            .as_ref()
            .unwrap()
            .status,
        SubmissionReviewStatus::Accepted
    );
    assert!(e_hooks.verified, "the grounded retry verifies");

    let manifest: Vec<ManifestEntry> = read(&layout.manifest_file());
    assert_eq!(manifest.len(), 3);
    assert_eq!(
        manifest
            .iter()
            .filter(|m| m.status == ManifestEntryStatus::Success)
            .count(),
        2
    );

    // Resume: a second run finds nothing to do and writes nothing.
    let again = pipeline
        .generate_episodes(Source::Template, &EpisodeStageOptions::default())
        .await;
    assert_eq!(again.outcome, StageOutcome::Skipped, "{:?}", again.detail);
    assert_eq!(
        read::<Episode>(&layout.episodes_file(Source::Template)).len(),
        3
    );
    // --retry-failed reruns only the failure (still wrong): one more episode line.
    let retry = pipeline
        .generate_episodes(
            Source::Template,
            &EpisodeStageOptions {
                retry_failed: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(retry.outcome, StageOutcome::Ok);
    let after: Vec<Episode> = read(&layout.episodes_file(Source::Template));
    assert_eq!(after.len(), 4);
    assert_eq!(
        after[3].question.question_text,
        e_smokers.question.question_text
    );
    pipeline.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_of_5_majority_verifies_and_a_2_of_5_plurality_does_not() {
    if !support::require_docker("a_3_of_5_majority_verifies_and_a_2_of_5_plurality_does_not") {
        return;
    }
    let q_major = "How many patients are older than 60";
    let q_plural = "How many patients live in the north region";
    let consistency = |q: &str| format!("{q}\n\nNo hint is given");
    let tutor = |q: &str| format!("{q}\n\nHINT");
    let script = Script::new()
        .rule(Rule::matching(tutor(q_major)).reply(solve("42")))
        .rule(Rule::matching(consistency(q_major)).cycling().replies([
            solve("42"),
            solve("7"),
            solve("42.0"),
            solve("9"),
            solve("42"),
        ]))
        .rule(Rule::matching(tutor(q_plural)).reply(solve("42")))
        .rule(Rule::matching(consistency(q_plural)).cycling().replies([
            solve("42"),
            solve("7"),
            solve("42"),
            solve("9"),
            solve("11"),
        ]));
    let server = ScriptedServer::start(script).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(
        data.path(),
        examples(),
        settings(&server),
        EventSink::discard(),
    );
    let dataset_hash = pipeline
        .catalog()
        .unwrap()
        .get(DATASET)
        .unwrap()
        .dataset_hash
        .clone();
    let layout = DataLayout::new(data.path());
    write_questions(
        &layout.questions_file(Source::LlmGen, DATASET),
        &[
            llm_question(q_major, &dataset_hash),
            llm_question(q_plural, &dataset_hash),
        ],
    )
    .unwrap();
    let opts = EpisodeStageOptions {
        n_consistency: Some(5),
        ..Default::default()
    };
    let report = pipeline.generate_episodes(Source::LlmGen, &opts).await;
    assert_eq!(report.outcome, StageOutcome::Ok, "{:?}", report.detail);
    let episodes: Vec<Episode> = read(&layout.episodes_file(Source::LlmGen));
    assert_eq!(
        episodes.len(),
        2,
        "unverified llm_gen episodes are written too"
    );
    let major = episodes
        .iter()
        .find(|e| e.question.question_text == q_major)
        .unwrap();
    let plural = episodes
        .iter()
        .find(|e| e.question.question_text == q_plural)
        .unwrap();
    assert_eq!(major.consistency_traces.len(), 5);
    assert_eq!(major.triangulation.required_majority, Some(3));
    assert_eq!(
        major.triangulation.majority_count, 3,
        "42 and 42.0 cluster together"
    );
    assert!(major.verified && major.triangulation.gold_matches_majority);
    assert_eq!(plural.triangulation.majority_count, 2);
    assert_eq!(plural.triangulation.has_majority, Some(false));
    assert!(!plural.verified, "a 2-of-5 plurality is not a majority");
    let failures: Vec<FailureRecord> = read(&layout.failures_file(Source::LlmGen));
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].error_kind, FailureRecordErrorKind::NoMajority);
    // Consistency prompts never contain the hint; the tutor prompt does.
    let requests = server.requests();
    let system_of =
        |r: &csvagent_sdk::teacher::scripted::RecordedRequest| r.messages()[0].1.clone();
    assert!(
        requests
            .iter()
            .map(system_of)
            .filter(|s| s.contains("No hint is given"))
            .all(|s| !s.contains("Count carefully."))
    );
    assert!(
        requests
            .iter()
            .map(system_of)
            .any(|s| s.contains("Count carefully."))
    );
    pipeline.shutdown().await;
}

fn explore_reply(n: usize) -> String {
    turn(
        &format!("Exploration step {n}: I look at the columns and their distributions."),
        "print(df.describe())",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn question_writer_keeps_valid_proposals_drops_duplicates_and_malformed_ones_and_tops_up() {
    if !support::require_docker(
        "question_writer_keeps_valid_proposals_drops_duplicates_and_malformed_ones_and_tops_up",
    ) {
        return;
    }
    let list = json!({"questions": [
        {"question_text": "What is the mean bmi of smokers?", "hint": "Filter smoker == 'yes'.", "n_steps": 2, "difficulty": "easy", "output_schema": "scalar:float"},
        {"question_text": "what is the mean BMI of smokers", "hint": null, "n_steps": 2, "difficulty": "EASY"},
        {"question_text": "Which region has the highest mean annual_cost?", "n_steps": 3, "difficulty": "MEDIUM", "output_schema": "{\"region\": \"<name>\", \"mean\": 0.0}"},
        {"question_text": "Plot the distribution of age.", "difficulty": "EASY"},
        {"question_text": "How many rows have a cholesterol above 240?", "difficulty": "IMPOSSIBLE"},
        {"hint": "no text"},
        {"question_text": "What is the average salary of engineers?", "difficulty": "HARD"}
    ]});
    let done = format!("Here are the questions.\n```json\n{list}\n```\n<DONE>");
    // The first <DONE> comes too early (before 3 exploration turns) and is refused.
    let writer = Rule::matching("You write evaluation questions").replies([
        explore_reply(0),
        done.clone(),
        explore_reply(1),
        explore_reply(2),
        "```json\n{\"questions\": [ {\"question_text\": \n```\n<DONE>".to_owned(),
        done,
    ]);
    let server = ScriptedServer::start(Script::new().rule(writer))
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut s = settings(&server);
    s.num_questions = 4;
    let pipeline = Pipeline::new(data.path(), examples(), s, EventSink::discard());
    let opts = QuestionStageOptions {
        datasets: vec![DATASET.into()],
        ..Default::default()
    };
    let report = pipeline.generate_questions(Source::LlmGen, &opts).await;
    assert_eq!(report.outcome, StageOutcome::Ok, "{:?}", report.detail);
    let layout = DataLayout::new(data.path());
    let qs = load_questions(&layout.questions_file(Source::LlmGen, DATASET)).unwrap();
    let texts: Vec<&str> = qs
        .iter()
        .map(|q| q.question_text.as_deref().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "What is the mean bmi of smokers?",
            "Which region has the highest mean annual_cost?"
        ]
    );
    assert!(
        qs.iter().all(|q| q.ground_truth.is_null()
            && q.ground_truth_hashes.is_none()
            && q.code.is_none())
    );
    assert_eq!(
        qs[0].difficulty,
        Some(Difficulty::Easy),
        "lowercase difficulty is upper-cased"
    );
    let report_json: Value = serde_json::from_str(
        &std::fs::read_to_string(layout.report_file(Source::LlmGen, DATASET)).unwrap(),
    )
    .unwrap();
    let reasons: Vec<String> = report_json["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[1].as_str().unwrap().to_owned())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r == "duplicate of an earlier question"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r == "asks for a plot or an opinion"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.starts_with("invalid difficulty")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r == "missing or blank question_text"),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r == "names no column or value of the dataset"),
        "{reasons:?}"
    );
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(layout.exploration_trace(DATASET)).unwrap())
            .unwrap();
    assert_eq!(
        trace["n_turns"], 3,
        "three exploration turns ran before the list was accepted"
    );
    let msgs = trace["messages"].as_array().unwrap();
    assert!(msgs.iter().any(|m| {
        m["content"]
            .as_str()
            .unwrap()
            .starts_with("Not yet: explore at least 3 turns")
    }));
    assert!(msgs.iter().any(|m| {
        m["content"]
            .as_str()
            .unwrap()
            .starts_with("Your question list could not be parsed")
    }));

    // A rerun tops up: the same proposals are all duplicates now, so nothing is added.
    let again = pipeline.generate_questions(Source::LlmGen, &opts).await;
    assert_eq!(
        again.outcome,
        StageOutcome::Failed,
        "nothing new survived: {:?}",
        again.detail
    );
    assert_eq!(
        load_questions(&layout.questions_file(Source::LlmGen, DATASET))
            .unwrap()
            .len(),
        2
    );
    pipeline.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_episode_stage_without_questions_fails_with_the_next_command() {
    let server = ScriptedServer::start(Script::instant("unused"))
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(
        data.path(),
        examples(),
        settings(&server),
        EventSink::discard(),
    );
    let report = pipeline
        .generate_episodes(Source::Procedural, &EpisodeStageOptions::default())
        .await;
    assert_eq!(report.outcome, StageOutcome::Failed);
    assert_eq!(
        report.detail.as_deref(),
        Some("no procedural questions; run csvagent generate questions --procedural first")
    );
    assert!(server.requests().is_empty(), "no model call");
}

/// Settings for the embedded local test model: short replies and few turns so the test stays
/// small on a 2-core machine. The protocol is under test here, not the model's skill.
fn local_settings(model: &Path) -> Settings {
    let mut s = Settings {
        max_turns: 2,
        num_questions: 3,
        question_gen_max_turns: 2,
        min_exploration_turns: 1,
        sandbox: SandboxConfig {
            max_containers: 1,
            ..SandboxConfig::default()
        },
        ..Settings::default()
    };
    s.llm.model = Some(model.display().to_string());
    s.llm.local_max_tokens = 160;
    s
}

const SHARED: &str = "mirichoi0218_insurance";

/// The local-model tests take turns: two models on two cores at once only make both slower.
static LOCAL_MODEL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A pipeline over the shared datasets with the embedded test model, once Docker, the model and
/// the datasets are there; the guard keeps the local-model tests from running at once.
async fn local_pipeline(
    test: &str,
) -> Option<(
    tokio::sync::MutexGuard<'static, ()>,
    tempfile::TempDir,
    Pipeline,
)> {
    if !support::require_docker(test) {
        return None;
    }
    let model = support::require_test_model(test)?;
    let shared = support::require_shared_datasets(test)?;
    let turn = LOCAL_MODEL.lock().await;
    let data = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(
        data.path(),
        shared,
        local_settings(&model),
        EventSink::discard(),
    );
    Some((turn, data, pipeline))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_model_writes_schema_valid_procedural_episodes_on_a_shared_dataset() {
    let test = "the_local_model_writes_schema_valid_procedural_episodes_on_a_shared_dataset";
    let Some((_turn, data, pipeline)) = local_pipeline(test).await else {
        return;
    };
    let q = pipeline
        .generate_questions(
            Source::Procedural,
            &QuestionStageOptions {
                datasets: vec![SHARED.into()],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(q.outcome, StageOutcome::Ok, "{:?}", q.detail);
    let opts = EpisodeStageOptions {
        datasets: vec![SHARED.into()],
        max_questions: Some(1),
        ..Default::default()
    };
    let report = pipeline.generate_episodes(Source::Procedural, &opts).await;
    pipeline.shutdown().await;
    assert_eq!(report.outcome, StageOutcome::Ok, "{:?}", report.detail);
    let layout = DataLayout::new(data.path());
    // Typed reading is the schema check: unknown, legacy or missing keys fail to deserialise.
    let episodes: Vec<Episode> = read(&layout.episodes_file(Source::Procedural));
    assert_eq!(
        episodes.len(),
        1,
        "the local model's trace is written, verified or not"
    );
    let e = &episodes[0];
    assert_eq!(e.question.dataset.as_deref(), Some(SHARED));
    let assistant_replies = e.gold_trace.messages.as_ref().map_or(0, |m| {
        m.iter()
            .filter(|m| m.role == csvagent_sdk::schema::Role::Assistant)
            .count()
    });
    assert!(
        assistant_replies >= 1,
        "the model's replies are in the trace"
    );
    assert!(
        e.gold_trace
            .llm_calls
            .as_ref()
            .is_some_and(|c| !c.is_empty()),
        "the model was called"
    );
    let name = e.model.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    assert!(
        name.contains("SmolLM2"),
        "the episode names the local model: {name:?}"
    );
    let manifest: Vec<ManifestEntry> = read(&layout.manifest_file());
    assert_eq!(manifest.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_model_gets_a_schema_valid_llm_gen_questions_file_on_a_shared_dataset() {
    let test = "the_local_model_gets_a_schema_valid_llm_gen_questions_file_on_a_shared_dataset";
    let Some((_turn, data, pipeline)) = local_pipeline(test).await else {
        return;
    };
    let report = pipeline
        .generate_questions(
            Source::LlmGen,
            &QuestionStageOptions {
                datasets: vec![SHARED.into()],
                ..Default::default()
            },
        )
        .await;
    pipeline.shutdown().await;
    let layout = DataLayout::new(data.path());
    // However few questions survive validation, the file is valid and the count is reported.
    let questions = load_questions(&layout.questions_file(Source::LlmGen, SHARED))
        .unwrap_or_else(|e| panic!("{e} ({:?})", report.detail));
    let report_json: Value = serde_json::from_str(
        &std::fs::read_to_string(layout.report_file(Source::LlmGen, SHARED)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        report_json["accepted"].as_u64(),
        Some(questions.len() as u64),
        "{report_json}"
    );
    assert!(
        report_json["turns"].as_u64().is_some_and(|t| t <= 2),
        "{report_json}"
    );
    assert!(
        questions
            .iter()
            .all(|q| q.source == Source::LlmGen && q.ground_truth.is_null() && q.dataset == SHARED)
    );
    assert_eq!(
        report.outcome == StageOutcome::Ok,
        !questions.is_empty(),
        "{:?}",
        report.detail
    );
    eprintln!(
        "local model llm_gen on {SHARED}: {} question(s) accepted, report {report_json}",
        questions.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_teacher_fails_the_stage_and_records_nothing() {
    if !support::require_docker("an_unreachable_teacher_fails_the_stage_and_records_nothing") {
        return;
    }
    let down = Rule::any().fault(csvagent_sdk::teacher::scripted::Fault::Status {
        status: 503,
        body: "down for maintenance".into(),
    });
    let server = ScriptedServer::start(Script::new().rule(down))
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(
        data.path(),
        examples(),
        settings(&server),
        EventSink::discard(),
    );
    let dataset_hash = pipeline
        .catalog()
        .unwrap()
        .get(DATASET)
        .unwrap()
        .dataset_hash
        .clone();
    let questions: Vec<Question> = ["first", "second", "third"]
        .iter()
        .map(|n| {
            template_question(
                n,
                &format!("What is the {n} answer"),
                "submit(1.0)",
                json!(1.0),
                &dataset_hash,
            )
        })
        .collect();
    let layout = DataLayout::new(data.path());
    write_questions(
        &layout.questions_file(Source::Template, DATASET),
        &questions,
    )
    .unwrap();
    let report = pipeline
        .generate_episodes(Source::Template, &EpisodeStageOptions::default())
        .await;
    pipeline.shutdown().await;
    assert_eq!(report.outcome, StageOutcome::Failed);
    let detail = report.detail.unwrap_or_default();
    assert!(
        detail.starts_with("the teacher did not answer") && detail.contains("HTTP 5"),
        "{detail}"
    );
    // Nothing is recorded, so every question runs again once the teacher is back.
    for file in [
        layout.episodes_file(Source::Template),
        layout.failures_file(Source::Template),
        layout.manifest_file(),
    ] {
        let lines = std::fs::read_to_string(&file).map_or(0, |t| t.lines().count());
        assert_eq!(lines, 0, "{} has {lines} line(s)", file.display());
    }
}
