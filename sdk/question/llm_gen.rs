//! LLM-written questions (`source = "llm_gen"`, SPEC 7): the question writer explores a dataset
//! in its own sandbox worker for a few turns, then proposes questions as structured JSON; they
//! are validated, de-duplicated, filtered, fitted to a difficulty mix and written with null
//! ground truth (their answers come from triangulation).

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::fingerprint::{llm_gen_fingerprint, norm_text};
use crate::dataset::{Dataset, Profile};
use crate::episode::{
    ChatClient, CodeRunner, ContextLimits, context_window, execution_record, extract_code, feedback,
};
use crate::events::{Event, EventSink, Stage, StageKind};
use crate::record::{
    DataLayout, RecordError, load_questions, now_rfc3339, write_json_atomic, write_questions,
};
use crate::schema::{Difficulty, Execution, Message, Provenance, Question, Role, Source};
use crate::teacher::{ChatMessage, ChatRequest, TeacherError};

/// Settings of the question writer (SPEC 7, 8.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmGenConfig {
    /// Questions wanted per dataset. By default 30.
    pub num_questions: usize,
    /// Most exploration turns. By default 20.
    pub max_turns: usize,
    /// Turns of exploration before `<DONE>` is accepted. By default 3.
    pub min_exploration_turns: usize,
    /// Parse failures after `<DONE>` tolerated before the dataset fails. By default 2.
    pub max_parse_retries: usize,
    /// Difficulty mix as fractions of `num_questions` for EASY, MEDIUM, HARD (VERY_HARD gets the
    /// rest). By default 1/3, 1/3, 1/4 (10/10/7/3 of 30).
    pub mix: [f64; 3],
    /// Per-cell execution timeout. By default 60 s.
    #[serde(with = "crate::config::duration_secs")]
    pub exec_timeout: Duration,
    /// Context window of each request (SPEC 3.9 with 100 messages).
    pub context: ContextLimits,
}

impl Default for LlmGenConfig {
    fn default() -> Self {
        LlmGenConfig {
            num_questions: 30,
            max_turns: 20,
            min_exploration_turns: 3,
            max_parse_retries: 2,
            mix: [1.0 / 3.0, 1.0 / 3.0, 0.25],
            exec_timeout: Duration::from_secs(60),
            context: ContextLimits {
                max_messages: 100,
                max_tokens: 80_000,
            },
        }
    }
}

/// Errors of the question writer for one dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmGenError {
    /// The teacher failed.
    #[error("question writer for `{dataset}`: {source}")]
    Teacher {
        /// Dataset name.
        dataset: String,
        /// The cause.
        #[source]
        source: TeacherError,
    },
    /// The sandbox failed.
    #[error("question writer for `{dataset}`: sandbox: {message}")]
    Sandbox {
        /// Dataset name.
        dataset: String,
        /// The cause.
        message: String,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Write(#[from] RecordError),
}

/// One proposed question as the writer returns it (before validation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The question.
    pub question_text: String,
    /// The hint for the gold trace.
    pub hint: Option<String>,
    /// Expected steps (>= 1).
    pub n_steps: Option<u64>,
    /// EASY, MEDIUM, HARD or VERY_HARD.
    pub difficulty: Difficulty,
    /// The expected answer kind.
    pub output_schema: Option<String>,
}

/// Why a proposal was dropped, and what came of the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmGenReport {
    /// Dataset name.
    pub dataset: String,
    /// Items in the writer's list(s).
    pub proposed: usize,
    /// Questions written this run (new ones).
    pub accepted: usize,
    /// Questions already on disk before this run.
    pub existing: usize,
    /// `(question text or item, reason)` for each dropped item.
    pub dropped: Vec<(String, String)>,
    /// Exploration turns used.
    pub turns: usize,
    /// Warnings (short buckets).
    pub warnings: Vec<String>,
}

/// One exploration turn, as stored in `exploration_trace.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplorationTurn {
    /// 0-based.
    pub turn_index: usize,
    /// Text before the code block.
    pub reasoning: String,
    /// The code that ran.
    pub code: String,
    /// Its execution.
    pub execution: Execution,
}

/// `exploration_trace.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplorationTrace {
    /// Dataset name.
    pub dataset: String,
    /// The writer model.
    pub model: String,
    /// RFC 3339 start.
    pub started_at: String,
    /// RFC 3339 end.
    pub finished_at: String,
    /// Executed turns.
    pub turns: Vec<ExplorationTurn>,
    /// The whole conversation.
    pub messages: Vec<Message>,
    /// The items the writer returned (raw).
    pub questions: Vec<Value>,
    /// Turns used.
    pub n_turns: usize,
    /// Why no question list was accepted (the writer never produced a parseable one within its
    /// turns); `None` when a list was accepted.
    pub error: Option<String>,
}

fn system_prompt(
    dataset: &Dataset,
    overview: &str,
    cfg: &LlmGenConfig,
    wanted: usize,
    avoid: &[String],
) -> String {
    let mix = mix_counts(wanted, &cfg.mix);
    let mut s = format!(
        "You write evaluation questions about a dataset for data-analysis agents.\n\n\
         DATASET: {name}\n{desc}\n\nThe data is loaded as `df` (pandas); `pd`, `np`, `scipy`, `stats`, `sm`, `sklearn` \
         and `json` are available. Do not import anything.\n\nDATA OVERVIEW\n{overview}\n\n\
         FIRST explore the data, one ```python block per turn, and wait for the real output (never simulate it). Look \
         at columns, distributions and relationships. Prefer reproducible analyses: aggregations, correlations, OLS, \
         t-tests and chi-square tests; use random_state=42 wherever randomness is involved. Avoid clustering, random \
         forests, deep learning and hyper-parameter tuning.\n\n\
         THEN write exactly {wanted} questions: {e} EASY, {m} MEDIUM, {h} HARD, {v} VERY_HARD. Each must be answerable \
         from this data with one value or a small JSON object, name the columns it is about, and be unambiguous. No \
         plots, no opinions. Review them for coverage, diversity, ambiguity and duplicates.\n\n\
         Output them as one fenced ```json block:\n\
         {{\"questions\": [{{\"question_text\": \"...\", \"hint\": \"...\", \"n_steps\": 3, \"difficulty\": \"EASY\", \
         \"output_schema\": \"{{\\\"column\\\": \\\"<name>\\\", \\\"mean\\\": 0.0}}\"}}]}}\n\
         followed by <DONE>. Explore for at least {min} turns before that.",
        name = dataset.name,
        desc = dataset.description,
        e = mix[0],
        m = mix[1],
        h = mix[2],
        v = mix[3],
        min = cfg.min_exploration_turns,
    );
    if !avoid.is_empty() {
        s.push_str("\n\nThese questions already exist; do not repeat them:\n");
        for q in avoid.iter().take(50) {
            s.push_str(&format!("- {q}\n"));
        }
    }
    s
}

/// Counts per difficulty (EASY, MEDIUM, HARD, VERY_HARD) for `n` questions: fractions `mix` for
/// the first three, the rest for VERY_HARD, by largest remainder with ties to the earlier bucket.
/// `mix_counts(30, [1/3, 1/3, 1/4])` is `[10, 10, 7, 3]`.
pub fn mix_counts(n: usize, mix: &[f64; 3]) -> [usize; 4] {
    let rest = (1.0 - mix.iter().sum::<f64>()).max(0.0);
    let fractions = [mix[0], mix[1], mix[2], rest];
    let exact: Vec<f64> = fractions.iter().map(|f| f * n as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut left = n.saturating_sub(counts.iter().sum());
    let mut order: Vec<usize> = (0..4).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(left.min(8)) {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    [counts[0], counts[1], counts[2], counts[3]]
}

static FENCED_JSON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)```(?:json|JSON)?[ \t]*\n(.*?)```").expect("valid regex"));
static ASSIGNMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)questions\s*=\s*(\{.*\})").expect("valid regex"));

/// Finds the question list in a writer reply: the first fenced json block holding
/// `{"questions": [...]}`, else a bare `{"questions": [...]}` object, else a `questions = {...}`
/// assignment (SPEC 7).
///
/// # Errors
/// What was wrong, for the corrective message.
pub fn parse_question_list(reply: &str) -> Result<Vec<Value>, String> {
    let mut candidates: Vec<String> = FENCED_JSON
        .captures_iter(reply)
        .map(|c| c[1].to_owned())
        .collect();
    if let Some(start) = reply
        .find("{\"questions\"")
        .or_else(|| reply.find("{ \"questions\""))
    {
        candidates.push(reply[start..].to_owned());
    }
    if let Some(c) = ASSIGNMENT.captures(reply) {
        candidates.push(c[1].to_owned());
    }
    let mut last = "no ```json block with {\"questions\": [...]} found".to_owned();
    for text in candidates {
        let mut stream = serde_json::Deserializer::from_str(text.trim()).into_iter::<Value>();
        match stream.next() {
            Some(Ok(Value::Object(obj))) => match obj.get("questions") {
                Some(Value::Array(items)) => return Ok(items.clone()),
                _ => last = "the JSON object has no `questions` array".to_owned(),
            },
            Some(Ok(_)) => last = "the JSON is not an object with a `questions` array".to_owned(),
            Some(Err(e)) => last = format!("invalid JSON: {e}"),
            None => {}
        }
    }
    Err(last)
}

/// Validates one raw item (SPEC 7 "Items"): `question_text` non-blank (a `question` key is
/// accepted and renamed), `hint` string or null, `n_steps` integer >= 1 or null, `difficulty`
/// valid after upper-casing, `output_schema` string or null.
///
/// # Errors
/// The reason the item is dropped.
pub fn validate_item(item: &Value) -> Result<Proposal, String> {
    let Value::Object(obj) = item else {
        return Err("not a JSON object".into());
    };
    let text = obj
        .get("question_text")
        .or_else(|| obj.get("question"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("missing or blank question_text")?;
    let hint = match obj.get("hint") {
        None | Some(Value::Null) => None,
        Some(Value::String(h)) => Some(h.clone()),
        Some(other) => return Err(format!("hint must be a string, got {other}")),
    };
    let n_steps = match obj.get("n_steps") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => return Err(format!("n_steps must be an integer >= 1, got {v}")),
        },
    };
    let difficulty = match obj
        .get("difficulty")
        .and_then(Value::as_str)
        .map(str::to_uppercase)
        .as_deref()
    {
        Some("EASY") => Difficulty::Easy,
        Some("MEDIUM") => Difficulty::Medium,
        Some("HARD") => Difficulty::Hard,
        Some("VERY_HARD") => Difficulty::VeryHard,
        other => {
            return Err(format!(
                "invalid difficulty {other:?}: expected EASY, MEDIUM, HARD or VERY_HARD"
            ));
        }
    };
    let output_schema = match obj.get("output_schema") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    Ok(Proposal {
        question_text: text.to_owned(),
        hint,
        n_steps,
        difficulty,
        output_schema,
    })
}

static ASKS_FOR_PLOT_OR_OPINION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(plot|chart|graph|visuali[sz]e|histogram|draw|in your opinion|do you think|do you believe|should we|would you recommend|your view)\b")
        .expect("valid regex")
});

/// The content filter (issue 9): a question must name at least one column or value the data
/// has, and must not ask for a plot or an opinion.
///
/// # Errors
/// The reason the question is dropped.
pub fn content_filter(text: &str, profile: &Profile) -> Result<(), String> {
    if ASKS_FOR_PLOT_OR_OPINION.is_match(text) {
        return Err("asks for a plot or an opinion".into());
    }
    let words = phrase_words(text);
    let names = |candidate: &str| {
        let needle = phrase_words(candidate);
        !needle.is_empty() && words.windows(needle.len()).any(|w| w == needle.as_slice())
    };
    let names_column = profile.columns.keys().any(|c| names(c));
    let names_value = profile.columns.values().any(|c| match &c.stats {
        crate::dataset::ColumnStats::Categorical { top_values } => top_values
            .keys()
            .any(|v| v.chars().count() >= 3 && names(v)),
        _ => false,
    });
    if names_column || names_value {
        Ok(())
    } else {
        Err("names no column or value of the dataset".into())
    }
}

/// Lower-cased words of `text`, split at anything that is not a letter or digit, so a column
/// `annual_cost` is named by "annual cost" or "annual_cost" but `age` is not named by "average".
fn phrase_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Builds the question record of an accepted proposal (SPEC 1.5, llm_gen column).
pub fn question_record(
    dataset: &Dataset,
    p: &Proposal,
    provenance: Option<&Provenance>,
) -> Question {
    let fingerprint = llm_gen_fingerprint(&p.question_text, &dataset.dataset_hash);
    Question {
        id: format!("llm_{}_{}", dataset.name, &fingerprint[..8]),
        source: Source::LlmGen,
        dataset: dataset.name.clone(),
        question_text: Some(p.question_text.clone()),
        question_mechanical: None,
        hint: p.hint.clone(),
        code: None,
        code_hash: None,
        ground_truth: Value::Null,
        ground_truth_hash: None,
        ground_truth_hashes: None,
        output_schema: p.output_schema.clone(),
        n_steps: p.n_steps,
        difficulty: Some(p.difficulty),
        dataset_description: Some(dataset.description.clone()),
        accepted_answers: None,
        fingerprint: Some(fingerprint),
        dataset_hash: Some(dataset.dataset_hash.clone()),
        provenance: provenance.cloned(),
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

/// Validates, de-duplicates (against `existing` and within the list), filters and fits to the
/// mix: the first `k` valid items per difficulty bucket; if a bucket is short, the other valid
/// items fill up to `wanted` and a warning is added.
pub fn select(
    items: &[Value],
    existing: &[Question],
    profile: &Profile,
    wanted: usize,
    mix: &[f64; 3],
    report: &mut LlmGenReport,
) -> Vec<Proposal> {
    let mut seen: BTreeSet<String> = existing
        .iter()
        .filter_map(|q| q.question_text.as_deref())
        .map(norm_text)
        .collect();
    let mut valid = Vec::new();
    for item in items {
        let label = item
            .get("question_text")
            .or_else(|| item.get("question"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let label = if label.is_empty() {
            item.to_string().chars().take(80).collect()
        } else {
            label
        };
        let p = match validate_item(item)
            .and_then(|p| content_filter(&p.question_text, profile).map(|()| p))
        {
            Ok(p) => p,
            Err(reason) => {
                report.dropped.push((label, reason));
                continue;
            }
        };
        let key = norm_text(&p.question_text);
        if !seen.insert(key) {
            report
                .dropped
                .push((label, "duplicate of an earlier question".into()));
            continue;
        }
        valid.push(p);
    }
    let targets = mix_counts(wanted, mix);
    let buckets = [
        Difficulty::Easy,
        Difficulty::Medium,
        Difficulty::Hard,
        Difficulty::VeryHard,
    ];
    let mut chosen: Vec<Option<&Proposal>> = vec![None; valid.len()];
    for (b, target) in buckets.iter().zip(targets) {
        let mut taken = 0;
        for (i, p) in valid.iter().enumerate() {
            if taken < target && p.difficulty == *b {
                chosen[i] = Some(p);
                taken += 1;
            }
        }
        if taken < target {
            report
                .warnings
                .push(format!("{b:?}: {taken} of {target} wanted"));
        }
    }
    let mut picked: usize = chosen.iter().filter(|c| c.is_some()).count();
    for (i, p) in valid.iter().enumerate() {
        if picked >= wanted {
            break;
        }
        if chosen[i].is_none() {
            chosen[i] = Some(p);
            picked += 1;
        }
    }
    for (i, p) in valid.iter().enumerate() {
        if chosen[i].is_none() {
            report
                .dropped
                .push((p.question_text.clone(), "over the wanted count".into()));
        }
    }
    chosen.into_iter().flatten().cloned().collect()
}

/// The writer's exploration and proposal for one dataset: runs until a question list parses
/// (after at least `min_exploration_turns` executed turns) or the turns run out; then one forcing
/// message; returns the raw items and the trace. A list that never parses is not an error: the
/// items are empty and [`ExplorationTrace::error`] says why, so the caller still writes the
/// trace and a (possibly empty) questions file.
///
/// # Errors
/// [`LlmGenError::Teacher`] or [`LlmGenError::Sandbox`].
#[expect(clippy::too_many_arguments, reason = "the exploration's whole context")]
pub async fn explore<C: ChatClient, R: CodeRunner>(
    teacher: &C,
    runner: &R,
    dataset: &Dataset,
    overview: &str,
    cfg: &LlmGenConfig,
    wanted: usize,
    avoid: &[String],
    model: &str,
) -> Result<(Vec<Value>, ExplorationTrace), LlmGenError> {
    let started_at = now_rfc3339();
    let mut messages = vec![
        Message {
            role: Role::System,
            content: system_prompt(dataset, overview, cfg, wanted, avoid),
        },
        Message {
            role: Role::User,
            content: "Begin exploring.".to_owned(),
        },
    ];
    let mut turns: Vec<ExplorationTurn> = Vec::new();
    let mut parse_failures = 0usize;
    let mut last_error = String::from("no reply");
    let mut forced = false;
    loop {
        if turns.len() >= cfg.max_turns && !forced {
            forced = true;
            messages.push(Message {
                role: Role::User,
                content:
                    "No turns left. Output the questions now as one ```json block, then <DONE>."
                        .to_owned(),
            });
        }
        let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
        let window = context_window(&contents, cfg.context);
        let request = ChatRequest {
            messages: window
                .iter()
                .map(|&i| ChatMessage {
                    role: messages[i].role,
                    content: messages[i].content.clone(),
                })
                .collect(),
            temperature: None,
            top_p: None,
            max_tokens: None,
            stop: Vec::new(),
        };
        let reply = match teacher.chat(request).await {
            Ok(reply) => reply,
            // A conversation that outgrows a small model's context ends the exploration like
            // running out of turns: the trace is kept and the report says why.
            Err(e @ TeacherError::PromptTooLong { .. }) => {
                let error =
                    format!("no question list before the conversation outgrew the model: {e}");
                return Ok(no_list(dataset, model, started_at, turns, messages, error));
            }
            Err(source) => {
                return Err(LlmGenError::Teacher {
                    dataset: dataset.name.clone(),
                    source,
                });
            }
        };
        let content = reply.content.unwrap_or_default();
        messages.push(Message {
            role: Role::Assistant,
            content: content.clone(),
        });
        let done = content.contains("<DONE>") || content.contains("</DONE>");
        if done || forced {
            if turns.len() < cfg.min_exploration_turns && !forced {
                messages.push(Message {
                    role: Role::User,
                    content: format!(
                        "Not yet: explore at least {} turns first ({} so far). Run one more ```python block.",
                        cfg.min_exploration_turns,
                        turns.len()
                    ),
                });
                continue;
            }
            match parse_question_list(&content) {
                Ok(items) => {
                    let trace = ExplorationTrace {
                        dataset: dataset.name.clone(),
                        model: model.to_owned(),
                        started_at,
                        finished_at: now_rfc3339(),
                        n_turns: turns.len(),
                        turns,
                        messages,
                        questions: items.clone(),
                        error: None,
                    };
                    return Ok((items, trace));
                }
                Err(e) => {
                    parse_failures += 1;
                    last_error = e.clone();
                    if forced || parse_failures > cfg.max_parse_retries {
                        let error = format!(
                            "no parseable question list after {} turns: {last_error}",
                            turns.len()
                        );
                        return Ok(no_list(dataset, model, started_at, turns, messages, error));
                    }
                    messages.push(Message {
                        role: Role::User,
                        content: format!(
                            "Your question list could not be parsed ({e}). Output it again as one ```json block \
                             {{\"questions\": [...]}} followed by <DONE>."
                        ),
                    });
                    continue;
                }
            }
        }
        match extract_code(&content) {
            Ok(x) => {
                let exec = runner
                    .run_cell(&x.code, cfg.exec_timeout)
                    .await
                    .map_err(|e| LlmGenError::Sandbox {
                        dataset: dataset.name.clone(),
                        message: e.to_string(),
                    })?;
                let execution = execution_record(&exec);
                messages.push(Message {
                    role: Role::User,
                    content: feedback(&exec, cfg.exec_timeout, None),
                });
                turns.push(ExplorationTurn {
                    turn_index: turns.len(),
                    reasoning: x.reasoning,
                    code: x.code,
                    execution,
                });
            }
            Err(fe) => {
                last_error = fe.to_string();
                messages.push(Message {
                    role: Role::User,
                    content: format!(
                        "{}\nExplore with one ```python block per turn; when you are done, output the questions \
                         as a ```json block followed by <DONE>.",
                        crate::episode::format_feedback(&fe)
                    ),
                });
                if turns.len() >= cfg.max_turns {
                    forced = true;
                }
            }
        }
        if messages.len() > 4 * (cfg.max_turns + cfg.max_parse_retries + 4) {
            let error = format!(
                "no parseable question list after {} turns: {last_error}",
                turns.len()
            );
            return Ok(no_list(dataset, model, started_at, turns, messages, error));
        }
    }
}

/// The outcome of an exploration that ended without an accepted question list: no items, and a
/// trace that keeps the whole conversation and says why.
fn no_list(
    dataset: &Dataset,
    model: &str,
    started_at: String,
    turns: Vec<ExplorationTurn>,
    messages: Vec<Message>,
    error: String,
) -> (Vec<Value>, ExplorationTrace) {
    let trace = ExplorationTrace {
        dataset: dataset.name.clone(),
        model: model.to_owned(),
        started_at,
        finished_at: now_rfc3339(),
        n_turns: turns.len(),
        turns,
        messages,
        questions: Vec::new(),
        error: Some(error),
    };
    (Vec::new(), trace)
}

/// What one dataset's question-writing produced.
#[derive(Debug, Clone)]
pub struct LlmGenOutput {
    /// Every question now in the dataset's file (existing first, then new).
    pub questions: Vec<Question>,
    /// The report.
    pub report: LlmGenReport,
    /// The exploration trace of this run.
    pub trace: Option<ExplorationTrace>,
}

/// Generates (or tops up) one dataset's llm_gen questions: reads the existing file, explores,
/// selects the new questions and returns everything to write. Nothing is written here.
///
/// # Errors
/// As [`explore`]; a malformed existing file is [`LlmGenError::Write`].
#[expect(clippy::too_many_arguments, reason = "the dataset's whole context")]
pub async fn generate<C: ChatClient, R: CodeRunner>(
    teacher: &C,
    runner: &R,
    layout: &DataLayout,
    dataset: &Dataset,
    profile: &Profile,
    overview: &str,
    provenance: Option<&Provenance>,
    cfg: &LlmGenConfig,
    model: &str,
    events: &EventSink,
) -> Result<LlmGenOutput, LlmGenError> {
    let path = layout.questions_file(Source::LlmGen, &dataset.name);
    let existing = if path.is_file() {
        load_questions(&path)?
    } else {
        Vec::new()
    };
    let mut report = LlmGenReport {
        dataset: dataset.name.clone(),
        existing: existing.len(),
        ..LlmGenReport::default()
    };
    let wanted = cfg.num_questions.saturating_sub(existing.len());
    if wanted == 0 {
        return Ok(LlmGenOutput {
            questions: existing,
            report,
            trace: None,
        });
    }
    let avoid: Vec<String> = existing
        .iter()
        .filter_map(|q| q.question_text.clone())
        .collect();
    let (items, trace) = explore(
        teacher, runner, dataset, overview, cfg, wanted, &avoid, model,
    )
    .await?;
    report.proposed = items.len();
    report.turns = trace.n_turns;
    if let Some(error) = &trace.error {
        report.warnings.push(error.clone());
    }
    let picked = select(&items, &existing, profile, wanted, &cfg.mix, &mut report);
    report.accepted = picked.len();
    let stage = Stage {
        kind: StageKind::Questions,
        source: Source::LlmGen,
    };
    for (text, reason) in &report.dropped {
        events
            .emit(Event::QuestionFinished {
                source: stage.source,
                dataset: dataset.name.clone(),
                name: text.chars().take(60).collect(),
                accepted: false,
                detail: Some(reason.clone()),
            })
            .await;
    }
    let mut questions = existing;
    questions.extend(
        picked
            .iter()
            .map(|p| question_record(dataset, p, provenance)),
    );
    Ok(LlmGenOutput {
        questions,
        report,
        trace: Some(trace),
    })
}

/// Writes one dataset's llm_gen outputs: `questions.json` (atomic), `exploration_trace.json`
/// (when this run explored) and `report.json`.
///
/// # Errors
/// [`RecordError::Io`] naming the file.
pub fn write_outputs(
    layout: &DataLayout,
    dataset: &str,
    output: &LlmGenOutput,
) -> Result<(), RecordError> {
    write_questions(
        &layout.questions_file(Source::LlmGen, dataset),
        &output.questions,
    )?;
    if let Some(trace) = &output.trace {
        write_json_atomic(&layout.exploration_trace(dataset), trace)?;
    }
    let report: Map<String, Value> = match serde_json::to_value(&output.report) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    write_json_atomic(&layout.report_file(Source::LlmGen, dataset), &json!(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mix_of_30_is_10_10_7_3() {
        assert_eq!(mix_counts(30, &LlmGenConfig::default().mix), [10, 10, 7, 3]);
        assert_eq!(mix_counts(1, &LlmGenConfig::default().mix), [1, 0, 0, 0]);
        assert_eq!(mix_counts(4, &[0.25, 0.25, 0.25]), [1, 1, 1, 1]);
    }

    #[test]
    fn question_lists_parse_from_fences_bare_objects_and_assignments() {
        let fenced =
            "Here they are\n```json\n{\"questions\": [{\"question_text\": \"a\"}]}\n```\n<DONE>";
        assert_eq!(parse_question_list(fenced).unwrap().len(), 1);
        let bare =
            "{\"questions\": [{\"question_text\": \"a\"}, {\"question_text\": \"b\"}]} <DONE>";
        assert_eq!(parse_question_list(bare).unwrap().len(), 2);
        let assign = "questions = {\"questions\": [{\"question_text\": \"a\"}]}\n<DONE>";
        assert_eq!(parse_question_list(assign).unwrap().len(), 1);
        let truncated = "```json\n{\"questions\": [{\"question_text\": \"a\"\n```\n<DONE>";
        assert!(
            parse_question_list(truncated)
                .unwrap_err()
                .contains("invalid JSON")
        );
    }

    #[test]
    fn items_are_validated_with_reasons() {
        let ok = json!({"question": "Mean age?", "difficulty": "easy", "n_steps": 2});
        let p = validate_item(&ok).unwrap();
        assert_eq!(
            (p.question_text.as_str(), p.difficulty, p.n_steps),
            ("Mean age?", Difficulty::Easy, Some(2))
        );
        assert!(
            validate_item(&json!({"question_text": " ", "difficulty": "EASY"}))
                .unwrap_err()
                .contains("blank")
        );
        assert!(
            validate_item(&json!({"question_text": "x", "difficulty": "EXTREME"}))
                .unwrap_err()
                .contains("invalid difficulty")
        );
        assert!(
            validate_item(&json!({"question_text": "x", "difficulty": "HARD", "n_steps": 0}))
                .unwrap_err()
                .contains("n_steps")
        );
        assert!(
            validate_item(&json!({"question_text": "x", "difficulty": "HARD", "hint": 3}))
                .unwrap_err()
                .contains("hint")
        );
    }

    #[test]
    fn the_content_filter_matches_whole_words_of_columns_and_values() {
        let col = |stats: serde_json::Value| {
            let mut c = json!({"dtype": "object", "missing_count": 0, "missing_pct": 0.0,
                "unique_count": 3, "is_index_like": false, "is_boolean": false,
                "is_currency": false});
            c.as_object_mut()
                .unwrap()
                .extend(stats.as_object().unwrap().clone());
            c
        };
        let profile: Profile = serde_json::from_value(json!({
            "shape": {"rows": 3, "columns": 2},
            "columns": {
                "age": col(json!({"type": "numeric", "mean": 40.0, "std": 1.0, "min": 1.0,
                    "max": 90.0, "q25": 20.0, "median": 40.0, "q75": 60.0, "skew": 0.1})),
                "annual_cost": col(json!({"type": "numeric", "mean": 1.0, "std": 1.0,
                    "min": 1.0, "max": 9.0, "q25": 1.0, "median": 2.0, "q75": 3.0,
                    "skew": 0.0})),
                "region": col(json!({"type": "categorical",
                    "top_values": {"north": 2, "south": 1}})),
            },
            "correlations": [], "quality_alerts": [], "sample_head": [],
        }))
        .unwrap();
        assert!(content_filter("What is the mean age?", &profile).is_ok());
        assert!(content_filter("What is the total annual cost?", &profile).is_ok());
        assert!(content_filter("How many visits come from the North?", &profile).is_ok());
        assert_eq!(
            content_filter("What is the average salary of engineers?", &profile).unwrap_err(),
            "names no column or value of the dataset",
            "`age` inside `average` is not a column name"
        );
        assert_eq!(
            content_filter("Plot the age distribution", &profile).unwrap_err(),
            "asks for a plot or an opinion"
        );
    }
}
