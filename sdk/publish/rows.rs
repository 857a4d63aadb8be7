//! Row formats of the pushed Parquet files (SPEC 9.3) and their explicit Arrow schemas.
//!
//! Everything is typed, with real nested types: `turns` is a list of structs whose `hooks` is a
//! list of structs, `messages` a list of `{role, content}` structs, `triangulation`, `timing`
//! and `model` are structs. Only the polymorphic answers (`ground_truth`, `final_answer`, a
//! turn's `submitted_answer`, a hook's `value`, `accepted_answers`) are stored as canonical JSON
//! text (RFC 8785, [`canonical_json`]); a JSON `null` is stored as a Parquet null.

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, Fields};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::{Episode, Hook, Message, Question, Trace, Triangulation, Turn};
use crate::verify::canonical_json;

/// One episode as a Parquet row of `data/<source>/<split>-*.parquet`.
///
/// The trace columns (`turns`, `messages`, `final_answer`) describe the gold (hinted) trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRow {
    /// UUIDv4 of the episode.
    pub episode_id: String,
    /// Finish time, RFC 3339 UTC.
    pub timestamp: String,
    /// `template`, `procedural` or `llm_gen`.
    pub source: String,
    /// Dataset folder name.
    pub dataset: String,
    /// SHA-256 (64 hex) of the CSV bytes the episode ran on.
    pub dataset_hash: String,
    /// The question's id.
    pub question_id: String,
    /// The resolved prompt the teacher saw.
    pub question_text: String,
    /// The hint shown to the gold trace.
    pub hint: Option<String>,
    /// `EASY`, `MEDIUM`, `HARD` or `VERY_HARD`.
    pub difficulty: Option<String>,
    /// Expected number of steps.
    pub n_steps: Option<i64>,
    /// The expected answer's shape (`scalar:float`, a JSON example, ...).
    pub output_schema: Option<String>,
    /// Template name (template questions).
    pub template_name: Option<String>,
    /// Program name (procedural questions).
    pub program_name: Option<String>,
    /// Whether the episode verified (SPEC 2.6).
    pub verified: bool,
    /// `ground_truth` or `triangulation`.
    pub verification_method: Option<String>,
    /// `hash` or `tolerance` when verified against ground truth.
    pub matched_by: Option<String>,
    /// Canonical JSON of the primary expected answer; null for llm_gen.
    pub ground_truth: Option<String>,
    /// Canonical JSON of the gold trace's accepted answer.
    pub final_answer: Option<String>,
    /// `H(final_answer)`.
    pub final_answer_hash: Option<String>,
    /// Why the gold trace stopped (`submitted`, `turn_limit`, ...).
    pub stop_reason: Option<String>,
    /// Number of executed turns of the gold trace.
    pub n_turns: i64,
    /// The gold trace's turns, in order.
    pub turns: Vec<TurnRow>,
    /// The gold trace's full transcript, exactly as sent and received.
    pub messages: Vec<MessageRow>,
    /// Triangulation summary (zeroed for template and procedural).
    pub triangulation: TriangulationRow,
    /// Wall times in seconds.
    pub timing: TimingRow,
    /// The teacher model and its sampling settings.
    pub model: Option<ModelRow>,
    /// csvagent version that produced the episode.
    pub csvagent_version: Option<String>,
    /// The sandbox image tag the code ran in.
    pub image_tag: Option<String>,
}

/// One executed code cell of the gold trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRow {
    /// 0-based turn index.
    pub turn_index: i64,
    /// The assistant's text before the code block.
    pub reasoning: String,
    /// Exactly the code that ran.
    pub code: String,
    /// `ok`, `error`, `timeout` or `crashed`.
    pub status: Option<String>,
    /// Whether the cell ran without error.
    pub success: bool,
    /// Captured standard output (capped).
    pub stdout: String,
    /// Captured standard error (the traceback on error).
    pub stderr: String,
    /// Canonical JSON of this cell's submission, even if it was rejected.
    pub submitted_answer: Option<String>,
    /// Hooks recorded in this cell.
    pub hooks: Vec<HookRow>,
}

/// A checkpoint recorded by `hook(value, code_line, ...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRow {
    /// The variable name given to the hook.
    pub variable_name: Option<String>,
    /// The source line that produced the value.
    pub code_line: Option<String>,
    /// Canonical JSON of the value (a scalar, small value or summary).
    pub value: Option<String>,
    /// Host-computed `H` of the value.
    pub value_hash: Option<String>,
    /// Names of the hooks this one depends on.
    pub depends_on: Vec<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// Why review found the hook ungrounded, if it did.
    pub ungrounded_reason: Option<String>,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRow {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: String,
}

/// The triangulation summary (SPEC 1.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriangulationRow {
    /// Consistency traces run.
    pub n_consistency_runs: i64,
    /// Consistency traces that submitted an answer.
    pub n_consistency_succeeded: i64,
    /// Cluster size needed for a strict majority.
    pub required_majority: Option<i64>,
    /// `H` of the largest cluster's representative.
    pub majority_answer_hash: Option<String>,
    /// Size of the largest tolerant cluster.
    pub majority_count: i64,
    /// Whether the largest cluster reached the required majority.
    pub has_majority: Option<bool>,
    /// Whether the gold answer matches the majority.
    pub gold_matches_majority: bool,
    /// Answer clusters, largest first.
    pub clusters: Vec<ClusterRow>,
}

/// One cluster of consistency answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRow {
    /// `H` of the cluster's first member.
    pub representative_hash: String,
    /// Number of members.
    pub size: i64,
    /// Consistency trace indices in the cluster.
    pub members: Vec<i64>,
}

/// Wall times of an episode, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingRow {
    /// The gold trace.
    pub gold_elapsed: f64,
    /// Each consistency trace.
    pub consistency_elapsed: Vec<f64>,
    /// From the gold trace's start to the end of the last trace.
    pub total_elapsed: f64,
    /// Mean over all traces.
    pub avg_elapsed: f64,
}

/// The teacher model of an episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    /// Model name.
    pub name: String,
    /// Host of the endpoint, or `local`.
    pub base_url_host: Option<String>,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus sampling `top_p`.
    pub top_p: f64,
    /// Completion token limit.
    pub max_tokens: i64,
}

/// One question as a Parquet row of `questions/<source>-*.parquet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionRow {
    /// Unique within the source.
    pub id: String,
    /// `template`, `procedural` or `llm_gen`.
    pub source: String,
    /// Dataset folder name.
    pub dataset: String,
    /// SHA-256 of the CSV bytes the question was made on, when recorded.
    pub dataset_hash: Option<String>,
    /// The resolved prompt: `question_text` if non-blank, else `question_mechanical`.
    pub question_text: String,
    /// The hint for the gold trace.
    pub hint: Option<String>,
    /// `EASY`, `MEDIUM`, `HARD` or `VERY_HARD`.
    pub difficulty: Option<String>,
    /// Expected number of steps.
    pub n_steps: Option<i64>,
    /// The expected answer's shape.
    pub output_schema: Option<String>,
    /// Canonical JSON of the primary expected answer; null for llm_gen.
    pub ground_truth: Option<String>,
    /// `H` of every accepted answer, primary first.
    pub ground_truth_hashes: Option<Vec<String>>,
    /// Canonical JSON of every accepted answer, in the order of `ground_truth_hashes`.
    pub accepted_answers: Option<Vec<String>>,
    /// Template name (template questions).
    pub template_name: Option<String>,
    /// Program name (procedural questions).
    pub program_name: Option<String>,
    /// Operator names in chain order (procedural questions).
    pub program_ops: Option<Vec<String>>,
}

/// Canonical JSON text of `value`, or `None` for JSON `null`.
fn json_text(value: &Value) -> Option<String> {
    (!value.is_null()).then(|| canonical_json(value))
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn usize_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl EpisodeRow {
    /// The row of `episode`. `dataset` and `dataset_hash` are passed in because the golden
    /// reference shapes may lack them on the episode (staging resolves them).
    pub fn from_episode(episode: &Episode, dataset: &str, dataset_hash: &str) -> EpisodeRow {
        let q = &episode.question;
        let gold = &episode.gold_trace;
        let provenance = episode.provenance.as_ref();
        EpisodeRow {
            episode_id: episode.episode_id.clone(),
            timestamp: episode.timestamp.clone(),
            source: episode.source.as_str().to_owned(),
            dataset: dataset.to_owned(),
            dataset_hash: dataset_hash.to_owned(),
            question_id: q.id.clone(),
            question_text: q.question_text.clone(),
            hint: q.hint.clone(),
            difficulty: q.difficulty.map(|d| d.to_string()),
            n_steps: q.n_steps.map(int),
            output_schema: q.output_schema.clone(),
            template_name: q.template_name.clone(),
            program_name: q.program_name.clone(),
            verified: episode.verified,
            verification_method: episode.verification.as_ref().map(|v| v.method.to_string()),
            matched_by: episode
                .verification
                .as_ref()
                .and_then(|v| v.matched_by.map(|m| m.to_string())),
            ground_truth: json_text(&q.ground_truth),
            final_answer: json_text(&gold.final_answer),
            final_answer_hash: gold.final_answer_hash.clone(),
            stop_reason: gold.stop_reason.map(|s| s.to_string()),
            n_turns: usize_int(gold.turns.len()),
            turns: gold.turns.iter().map(TurnRow::from_turn).collect(),
            messages: messages(gold),
            triangulation: TriangulationRow::from_triangulation(&episode.triangulation),
            timing: TimingRow {
                gold_elapsed: episode.timing.gold_elapsed,
                consistency_elapsed: episode.timing.consistency_elapsed.clone(),
                total_elapsed: episode.timing.total_elapsed,
                avg_elapsed: episode.timing.avg_elapsed,
            },
            model: episode.model.as_ref().map(|m| ModelRow {
                name: m.name.clone(),
                base_url_host: m.base_url_host.clone(),
                temperature: m.temperature,
                top_p: m.top_p,
                max_tokens: int(m.max_tokens),
            }),
            csvagent_version: provenance.map(|p| p.csvagent_version.clone()),
            image_tag: provenance.map(|p| p.image_tag.clone()),
        }
    }
}

fn messages(trace: &Trace) -> Vec<MessageRow> {
    trace
        .messages
        .iter()
        .flatten()
        .map(|m: &Message| MessageRow {
            role: m.role.to_string(),
            content: m.content.clone(),
        })
        .collect()
}

impl TurnRow {
    fn from_turn(turn: &Turn) -> TurnRow {
        let exec = &turn.execution;
        TurnRow {
            turn_index: int(turn.turn_index),
            reasoning: turn.reasoning.clone(),
            code: turn.code.clone(),
            status: exec.status.map(|s| s.to_string()),
            success: exec.success,
            stdout: exec.stdout.clone(),
            stderr: exec.stderr.clone(),
            submitted_answer: json_text(&exec.submitted_answer),
            hooks: exec.hooks.iter().map(HookRow::from_hook).collect(),
        }
    }
}

impl HookRow {
    fn from_hook(hook: &Hook) -> HookRow {
        HookRow {
            variable_name: hook.variable_name.clone(),
            code_line: hook.code_line.clone(),
            value: json_text(&hook.value),
            value_hash: hook.value_hash.clone(),
            depends_on: hook.depends_on.clone(),
            description: hook.description.clone(),
            ungrounded_reason: hook.ungrounded_reason.clone(),
        }
    }
}

impl TriangulationRow {
    fn from_triangulation(t: &Triangulation) -> TriangulationRow {
        TriangulationRow {
            n_consistency_runs: int(t.n_consistency_runs),
            n_consistency_succeeded: int(t.n_consistency_succeeded),
            required_majority: t.required_majority.map(int),
            majority_answer_hash: t.majority_answer_hash.clone(),
            majority_count: int(t.majority_count),
            has_majority: t.has_majority,
            gold_matches_majority: t.gold_matches_majority,
            clusters: t
                .clusters
                .iter()
                .flatten()
                .map(|c| ClusterRow {
                    representative_hash: c.representative_hash.clone(),
                    size: int(c.size),
                    members: c.members.iter().copied().map(int).collect(),
                })
                .collect(),
        }
    }
}

impl QuestionRow {
    /// The row of `question`.
    pub fn from_question(question: &Question) -> QuestionRow {
        let non_blank = |s: &Option<String>| s.clone().filter(|t| !t.trim().is_empty());
        let accepted = question
            .accepted_answers
            .as_ref()
            .map(|answers| answers.iter().map(canonical_json).collect::<Vec<_>>());
        QuestionRow {
            id: question.id.clone(),
            source: question.source.as_str().to_owned(),
            dataset: question.dataset.clone(),
            dataset_hash: question.dataset_hash.clone(),
            question_text: non_blank(&question.question_text)
                .or_else(|| non_blank(&question.question_mechanical))
                .unwrap_or_default(),
            hint: question.hint.clone(),
            difficulty: question.difficulty.map(|d| d.to_string()),
            n_steps: question.n_steps.map(int),
            output_schema: question.output_schema.clone(),
            ground_truth: json_text(&question.ground_truth),
            ground_truth_hashes: question.ground_truth_hashes.clone(),
            accepted_answers: accepted,
            template_name: question.template_name.clone(),
            program_name: question.program_name.clone(),
            program_ops: question.program_ops.clone(),
        }
    }
}

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn int64(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Int64, nullable)
}

fn list_of(name: &str, item: DataType, nullable: bool) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", item, false))),
        nullable,
    )
}

fn structure(name: &str, fields: Vec<Field>, nullable: bool) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), nullable)
}

fn hook_fields() -> Vec<Field> {
    vec![
        utf8("variable_name", true),
        utf8("code_line", true),
        utf8("value", true),
        utf8("value_hash", true),
        list_of("depends_on", DataType::Utf8, false),
        utf8("description", true),
        utf8("ungrounded_reason", true),
    ]
}

fn turn_fields() -> Vec<Field> {
    vec![
        int64("turn_index", false),
        utf8("reasoning", false),
        utf8("code", false),
        utf8("status", true),
        Field::new("success", DataType::Boolean, false),
        utf8("stdout", false),
        utf8("stderr", false),
        utf8("submitted_answer", true),
        list_of(
            "hooks",
            DataType::Struct(Fields::from(hook_fields())),
            false,
        ),
    ]
}

/// The Arrow schema of [`EpisodeRow`], column for column.
pub fn episode_schema() -> Vec<FieldRef> {
    let message = vec![utf8("role", false), utf8("content", false)];
    let cluster = vec![
        utf8("representative_hash", false),
        int64("size", false),
        list_of("members", DataType::Int64, false),
    ];
    let triangulation = vec![
        int64("n_consistency_runs", false),
        int64("n_consistency_succeeded", false),
        int64("required_majority", true),
        utf8("majority_answer_hash", true),
        int64("majority_count", false),
        Field::new("has_majority", DataType::Boolean, true),
        Field::new("gold_matches_majority", DataType::Boolean, false),
        list_of("clusters", DataType::Struct(Fields::from(cluster)), false),
    ];
    let timing = vec![
        Field::new("gold_elapsed", DataType::Float64, false),
        list_of("consistency_elapsed", DataType::Float64, false),
        Field::new("total_elapsed", DataType::Float64, false),
        Field::new("avg_elapsed", DataType::Float64, false),
    ];
    let model = vec![
        utf8("name", false),
        utf8("base_url_host", true),
        Field::new("temperature", DataType::Float64, false),
        Field::new("top_p", DataType::Float64, false),
        int64("max_tokens", false),
    ];
    [
        utf8("episode_id", false),
        utf8("timestamp", false),
        utf8("source", false),
        utf8("dataset", false),
        utf8("dataset_hash", false),
        utf8("question_id", false),
        utf8("question_text", false),
        utf8("hint", true),
        utf8("difficulty", true),
        int64("n_steps", true),
        utf8("output_schema", true),
        utf8("template_name", true),
        utf8("program_name", true),
        Field::new("verified", DataType::Boolean, false),
        utf8("verification_method", true),
        utf8("matched_by", true),
        utf8("ground_truth", true),
        utf8("final_answer", true),
        utf8("final_answer_hash", true),
        utf8("stop_reason", true),
        int64("n_turns", false),
        list_of(
            "turns",
            DataType::Struct(Fields::from(turn_fields())),
            false,
        ),
        list_of("messages", DataType::Struct(Fields::from(message)), false),
        structure("triangulation", triangulation, false),
        structure("timing", timing, false),
        structure("model", model, true),
        utf8("csvagent_version", true),
        utf8("image_tag", true),
    ]
    .into_iter()
    .map(Arc::new)
    .collect()
}

/// The Arrow schema of [`QuestionRow`], column for column.
pub fn question_schema() -> Vec<FieldRef> {
    [
        utf8("id", false),
        utf8("source", false),
        utf8("dataset", false),
        utf8("dataset_hash", true),
        utf8("question_text", false),
        utf8("hint", true),
        utf8("difficulty", true),
        int64("n_steps", true),
        utf8("output_schema", true),
        utf8("ground_truth", true),
        list_of("ground_truth_hashes", DataType::Utf8, true),
        list_of("accepted_answers", DataType::Utf8, true),
        utf8("template_name", true),
        utf8("program_name", true),
        list_of("program_ops", DataType::Utf8, true),
    ]
    .into_iter()
    .map(Arc::new)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn polymorphic_answers_become_canonical_json_text_and_null_stays_null() {
        assert_eq!(
            json_text(&json!({"b": 1.0, "a": [2, "x"]})).unwrap(),
            r#"{"a":[2,"x"],"b":1}"#
        );
        assert_eq!(json_text(&json!(false)).unwrap(), "false");
        assert_eq!(json_text(&json!(0)).unwrap(), "0");
        assert_eq!(json_text(&Value::Null), None);
    }

    #[test]
    fn question_text_resolves_to_the_mechanical_wording_when_blank() {
        let q: Question = serde_json::from_value(json!({
            "id": "prog_x_mean_0001", "source": "procedural", "dataset": "x",
            "question_text": "  ", "question_mechanical": "Mean of `age`.", "hint": "",
            "code": "submit(1)", "code_hash": "h", "ground_truth": 1.5,
            "ground_truth_hash": "g", "ground_truth_hashes": ["g"], "output_schema": "scalar:float",
            "n_steps": 2, "difficulty": "EASY", "dataset_description": null,
            "program_name": "mean", "program_ops": ["select", "mean"]
        }))
        .unwrap();
        let row = QuestionRow::from_question(&q);
        assert_eq!(row.question_text, "Mean of `age`.");
        assert_eq!(row.ground_truth.as_deref(), Some("1.5"));
        assert_eq!(row.difficulty.as_deref(), Some("EASY"));
        assert_eq!(row.program_ops.unwrap(), ["select", "mean"]);
        assert_eq!(row.accepted_answers, None);
    }
}
