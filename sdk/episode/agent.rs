//! The agent loop (SPEC 3.3): one trace of a teacher solving one question in one sandbox worker.
//!
//! The teacher sees the system prompt and `Begin. <question>`, replies with reasoning and one
//! python block per turn; the block runs in the worker and the output comes back as the next user
//! message, until a submission is accepted, the turn limit is reached, the reply format fails too
//! often, or the teacher or the sandbox fails. The trace keeps every message exactly as sent and
//! received, which messages each request carried, every turn's code, execution, hooks and review,
//! and the corrections.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::context::{ContextLimits, context_window};
use super::correction::{CellResult, corrections};
use super::prompt::{PromptInputs, TraceMode, first_user_message, system_prompt};
use super::reply::{extract_code, format_feedback};
use super::review::{ReviewLimits, SubmissionReviewer};
use crate::hooks::required_hooks;
use crate::sandbox::{ExecMode, ExecResponse, SandboxError, WorkerLease};
use crate::schema::{
    ExecStatus, Execution, Hook, LlmCall, Message, Role, StopReason, SubmissionReviewStatus, Trace,
    Turn,
};
use crate::teacher::{ChatMessage, ChatReply, ChatRequest, Teacher, TeacherError};
use crate::verify::{MatchingConfig, answer_hash};

/// Something that answers chat requests: the [`Teacher`], or a test double.
pub trait ChatClient: Send + Sync {
    /// One chat completion.
    fn chat(
        &self,
        request: ChatRequest,
    ) -> impl Future<Output = Result<ChatReply, TeacherError>> + Send;
}

impl ChatClient for Teacher {
    fn chat(
        &self,
        request: ChatRequest,
    ) -> impl Future<Output = Result<ChatReply, TeacherError>> + Send {
        Teacher::chat(self, request)
    }
}

/// Something that runs a code cell: a sandbox [`WorkerLease`], or a test double.
pub trait CodeRunner: Send + Sync {
    /// Runs `code` in agent mode with a timeout.
    fn run_cell(
        &self,
        code: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<ExecResponse, SandboxError>> + Send;
}

impl CodeRunner for WorkerLease {
    fn run_cell(
        &self,
        code: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<ExecResponse, SandboxError>> + Send {
        self.exec(code, ExecMode::Agent, timeout)
    }
}

/// Limits and settings of one trace.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Turns before the turn-limit message (SPEC: 10). At most `max_turns + 1` turns run.
    pub max_turns: usize,
    /// Consecutive invalid replies tolerated (2); one more stops the trace.
    pub max_format_retries_per_turn: usize,
    /// Invalid replies tolerated in all (6); one more stops the trace.
    pub max_format_retries_total: usize,
    /// Per-cell execution timeout (60 s).
    pub exec_timeout: Duration,
    /// The request window (SPEC 3.9).
    pub context: ContextLimits,
    /// Format and hook rejections before force-acceptance (2 and 2).
    pub review: ReviewLimits,
    /// The tolerant matcher's settings (used by the format check's ignorable keys).
    pub matching: MatchingConfig,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            max_turns: 10,
            max_format_retries_per_turn: 2,
            max_format_retries_total: 6,
            exec_timeout: Duration::from_secs(60),
            context: ContextLimits::default(),
            review: ReviewLimits::default(),
            matching: MatchingConfig::default(),
        }
    }
}

/// The question as one trace sees it.
#[derive(Debug, Clone)]
pub struct TraceTask<'a> {
    /// Tutor (gold, hinted) or consistency (un-hinted).
    pub mode: TraceMode,
    /// The resolved prompt.
    pub question: &'a str,
    /// The hint (used in tutor mode only).
    pub hint: &'a str,
    /// The dataset description.
    pub description: &'a str,
    /// The data overview from the sandbox.
    pub overview: &'a str,
    /// The expected answer format.
    pub output_schema: Option<&'a str>,
    /// Expected steps; sets the required hook count.
    pub n_steps: Option<u64>,
}

/// The stop sequence of every agent request: the closing fence of the first code block.
pub const STOP_AFTER_BLOCK: &str = "\n```\n";

const TURN_LIMIT_MESSAGE: &str =
    "Turn limit reached. Call submit() with your final answer in one python block.";

/// Runs one trace to its end and returns it. Never fails: teacher and sandbox failures end the
/// trace with `llm_error` / `sandbox_error` and the error text; cancellation ends it with
/// `cancelled`.
///
/// The worker is left as the trace left it; the caller resets it (dropping a [`WorkerLease`]
/// does).
pub async fn run_trace<C: ChatClient, R: CodeRunner>(
    teacher: &C,
    runner: &R,
    task: &TraceTask<'_>,
    cfg: &LoopConfig,
    cancel: &CancellationToken,
) -> Trace {
    let started = Instant::now();
    let prompt = PromptInputs {
        question: task.question,
        hint: task.hint,
        description: task.description,
        overview: task.overview,
        output_schema: task.output_schema,
        required_hooks: required_hooks(task.n_steps),
    };
    let mut state = LoopState {
        messages: vec![
            Message {
                role: Role::System,
                content: system_prompt(task.mode, &prompt),
            },
            Message {
                role: Role::User,
                content: first_user_message(task.question),
            },
        ],
        turns: Vec::new(),
        llm_calls: Vec::new(),
        format_retries: 0,
        final_answer: None,
    };
    let mut reviewer = SubmissionReviewer::new(cfg.review);
    let mut consecutive_invalid = 0usize;
    let mut final_call = false;

    let (stop, error) = loop {
        if cancel.is_cancelled() {
            break (StopReason::Cancelled, None);
        }
        if state.turns.len() >= cfg.max_turns {
            if final_call {
                break (StopReason::TurnLimit, None);
            }
            final_call = true;
            state.messages.push(Message {
                role: Role::User,
                content: TURN_LIMIT_MESSAGE.to_owned(),
            });
        }
        let reply = tokio::select! {
            r = state.call(teacher, cfg) => r,
            () = cancel.cancelled() => break (StopReason::Cancelled, None),
        };
        let content = match reply {
            Ok(c) => c,
            Err(e) => break (StopReason::LlmError, Some(e.to_string())),
        };
        let assistant_index = state.messages.len() - 1;
        let extracted = match extract_code(&content) {
            Ok(x) => x,
            Err(fe) => {
                state.format_retries += 1;
                consecutive_invalid += 1;
                if consecutive_invalid > cfg.max_format_retries_per_turn
                    || state.format_retries > cfg.max_format_retries_total
                {
                    break (
                        StopReason::FormatRetriesExhausted,
                        Some(format!("invalid reply format: {fe}")),
                    );
                }
                if final_call {
                    break (StopReason::TurnLimit, None);
                }
                state.messages.push(Message {
                    role: Role::User,
                    content: format_feedback(&fe),
                });
                continue;
            }
        };
        consecutive_invalid = 0;
        let turn_index = state.turns.len();
        let exec = tokio::select! {
            r = runner.run_cell(&extracted.code, cfg.exec_timeout) => r,
            () = cancel.cancelled() => break (StopReason::Cancelled, None),
        };
        let exec = match exec {
            Ok(x) => x,
            Err(e) => break (StopReason::SandboxError, Some(e.to_string())),
        };
        let execution = execution_record(&exec);
        reviewer.record_cell(turn_index, &extracted.code, &execution.hooks);
        let mut turn = Turn {
            turn_index: turn_index as u64,
            assistant_message_index: Some(assistant_index as u64),
            feedback_message_index: None,
            reasoning: extracted.reasoning.clone(),
            code: extracted.code.clone(),
            execution,
            submission: None,
            correction: None,
        };
        let mut review_text = None;
        let mut accepted = false;
        if let Some(sub) = exec.submissions.first() {
            let decision =
                reviewer.review(&sub.answer, task.output_schema, task.n_steps, &cfg.matching);
            for u in &decision.ungrounded {
                let hook = if u.turn_index == turn_index {
                    turn.execution.hooks.get_mut(u.hook_index)
                } else {
                    state
                        .turns
                        .get_mut(u.turn_index)
                        .and_then(|t| t.execution.hooks.get_mut(u.hook_index))
                };
                if let Some(h) = hook {
                    h.ungrounded_reason = Some(u.reason.clone());
                }
            }
            accepted = matches!(
                decision.review.status,
                SubmissionReviewStatus::Accepted | SubmissionReviewStatus::ForceAccepted
            );
            if accepted {
                state.final_answer = Some(sub.answer.clone());
            }
            review_text = decision.feedback.clone();
            turn.submission = Some(decision.review);
        }
        if accepted {
            state.turns.push(turn);
            break (StopReason::Submitted, None);
        }
        state.messages.push(Message {
            role: Role::User,
            content: feedback(&exec, cfg.exec_timeout, review_text.as_deref()),
        });
        turn.feedback_message_index = Some((state.messages.len() - 1) as u64);
        state.turns.push(turn);
        if final_call {
            break (StopReason::TurnLimit, None);
        }
    };
    state.finish(stop, error, started.elapsed())
}

struct LoopState {
    messages: Vec<Message>,
    turns: Vec<Turn>,
    llm_calls: Vec<LlmCall>,
    format_retries: usize,
    final_answer: Option<Value>,
}

impl LoopState {
    /// Sends the current window; appends the reply (an empty string for missing content) and
    /// records the call. Returns the reply text.
    async fn call<C: ChatClient>(
        &mut self,
        teacher: &C,
        cfg: &LoopConfig,
    ) -> Result<String, TeacherError> {
        let contents: Vec<&str> = self.messages.iter().map(|m| m.content.as_str()).collect();
        let window = context_window(&contents, cfg.context);
        let request = ChatRequest {
            messages: window
                .iter()
                .map(|&i| ChatMessage {
                    role: self.messages[i].role,
                    content: self.messages[i].content.clone(),
                })
                .collect(),
            temperature: None,
            top_p: None,
            max_tokens: None,
            // A turn is reasoning plus one python block: stop at the block's closing fence so a
            // model never runs on into a second block or an invented output.
            stop: vec![STOP_AFTER_BLOCK.to_owned()],
        };
        let started = Instant::now();
        let reply = teacher.chat(request).await?;
        let content = reply.content.clone().unwrap_or_default();
        self.messages.push(Message {
            role: Role::Assistant,
            content: content.clone(),
        });
        self.llm_calls.push(LlmCall {
            sent: window.iter().map(|&i| i as u64).collect(),
            received: Some((self.messages.len() - 1) as u64),
            finish_reason: reply.finish_reason.clone(),
            prompt_tokens: reply.prompt_tokens,
            completion_tokens: reply.completion_tokens,
            attempts: u64::from(reply.attempts),
            elapsed_ms: if reply.elapsed_ms > 0 {
                reply.elapsed_ms
            } else {
                started.elapsed().as_millis() as u64
            },
        });
        Ok(content)
    }

    fn finish(mut self, stop: StopReason, error: Option<String>, elapsed: Duration) -> Trace {
        let found = {
            let cells: Vec<CellResult> = self.turns.iter().map(CellResult::from).collect();
            corrections(&cells)
        };
        for (turn, correction) in self.turns.iter_mut().zip(found) {
            turn.correction = correction;
        }
        let success = stop == StopReason::Submitted && self.final_answer.is_some();
        let final_answer = if success {
            self.final_answer.take()
        } else {
            None
        };
        Trace {
            final_answer_hash: final_answer.as_ref().map(answer_hash),
            final_answer: final_answer.unwrap_or(Value::Null),
            success,
            stop_reason: Some(stop),
            error,
            format_retries: Some(self.format_retries as u64),
            messages: Some(self.messages),
            llm_calls: Some(self.llm_calls),
            elapsed_seconds: Some(elapsed.as_secs_f64()),
            turns: self.turns,
        }
    }
}

/// The execution record of a cell: status from the structured response, hooks with their
/// host-computed `value_hash`, the cell's (first) submission even when it is later rejected.
pub fn execution_record(exec: &ExecResponse) -> Execution {
    Execution {
        status: Some(exec.status),
        success: exec.status == ExecStatus::Ok,
        stdout: exec.stdout.clone(),
        stderr: exec.stderr.clone(),
        hooks: exec
            .hooks
            .iter()
            .map(|h| Hook {
                variable_name: h.variable_name.clone(),
                code_line: h.code_line.clone(),
                value: h.value.clone(),
                value_hash: Some(answer_hash(h.hash_value.as_ref().unwrap_or(&h.value))),
                depends_on: h.depends_on.clone(),
                description: h.description.clone(),
                ungrounded_reason: None,
            })
            .collect(),
        submitted_answer: exec
            .submissions
            .first()
            .map(|s| s.answer.clone())
            .unwrap_or(Value::Null),
        exception: exec.exception.clone(),
        elapsed_ms: Some(exec.elapsed_ms),
        truncated: Some(exec.truncated),
    }
}

/// The user message after a cell (SPEC 3.5): status line, output, any review text, then
/// `What will you do next?`.
pub fn feedback(exec: &ExecResponse, timeout: Duration, review: Option<&str>) -> String {
    let mut s = match exec.status {
        ExecStatus::Ok => {
            let mut s = "✓ Cell executed successfully".to_owned();
            if !exec.stdout.trim().is_empty() {
                s.push_str(&format!("\nOutput:\n{}", exec.stdout.trim_end()));
            }
            if let Some(r) = exec.result_repr.as_deref().filter(|r| !r.is_empty()) {
                s.push_str(&format!("\nResult: {r}"));
            }
            s
        }
        ExecStatus::Error => format!("✗ Cell failed\nError:\n{}", exec.stderr.trim_end()),
        ExecStatus::Timeout => format!(
            "✗ Cell timed out after {} s; the Python state was reset (df reloaded, variables cleared)",
            timeout.as_secs()
        ),
        ExecStatus::Crashed => {
            "✗ Cell crashed; the Python state was reset (df reloaded, variables cleared)".to_owned()
        }
    };
    if let Some(r) = review.filter(|r| !r.trim().is_empty()) {
        s.push_str("\n\n");
        s.push_str(r.trim());
    }
    s.push_str("\n\nWhat will you do next?");
    s
}
