//! The embedded local teacher: a GGUF chat model running in-process on the CPU with candle.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use candle_transformers::generation::{LogitsProcessor, Sampling};
use tokenizers::Tokenizer;

use super::chat_template::ChatTemplate;
use super::decoder::{Decoder, KvCache};
use super::gguf;
use super::{ChatMessage, ChatReply, ChatRequest, TeacherConfig, TeacherError};
use crate::events::{EventSink, LogLevel};
use crate::schema::ModelInfo;

/// Prompt tokens fed to the model per forward pass while reading the prompt.
const PREFILL_CHUNK: usize = 256;
/// Conversations whose attention state is kept (least recently used dropped first).
const CACHED_CONVERSATIONS: usize = 4;
/// A cached conversation whose tokens the prompt extends except for at most this many at the
/// end is continued in place rather than copied.
const TAKE_OVER_SLACK: usize = 32;

/// Generated tokens the repetition penalty looks back over.
const REPEAT_WINDOW: usize = 64;

/// A GGUF chat model (`llama` or `qwen2` architecture) running in-process on the CPU.
///
/// The prompt is the model's own chat template (`tokenizer.chat_template`, rendered with
/// minijinja; ChatML when the file has none) applied to the messages, ending with the
/// assistant's turn header. The tokenizer is built from the file's `tokenizer.ggml.*` metadata.
/// Weights stored as Q4_1, Q5_0 or Q5_1 (which candle multiplies with a scalar loop) are
/// converted to Q8_0 while loading, about 2.5 times faster for the Q4_1 test model.
/// Generation samples with the request's (or the configured) temperature and top-p and stops at
/// an end-of-turn token (`finish_reason = "stop"`), at a stop string (`"stop"`, the string and
/// what follows it are cut), or after `max_tokens` (`"length"`; by default
/// [`TeacherConfig::local_max_tokens`] = 512).
///
/// The transformer is csvagent's own decoder over candle's quantized kernels (see
/// `teacher/decoder.rs`): its key/value cache grows in place, so a token costs about the same
/// at 2,500 tokens of context as at 100, apart from the attention arithmetic. The attention
/// states of the last four conversations are kept; a request reuses the one sharing the longest
/// beginning with its prompt (the previous turn of the same conversation, or another question
/// on the same dataset, whose system prompt starts alike) and reads only the rest.
///
/// Cheap to clone; clones share the model. Requests are served one at a time; the others
/// wait. Generation runs on a blocking thread
/// inside a dedicated rayon pool of [`TeacherConfig::threads`] threads, off the async runtime.
///
/// Threads: candle runs the quantized matrix products, most of the work, on its own
/// process-wide pool, sized once from `CANDLE_NUM_THREADS` (else `RAYON_NUM_THREADS`, else the
/// physical core count); the other kernels run on this teacher's rayon pool. To pin the whole
/// model to `n` threads, also set `CANDLE_NUM_THREADS=n` in the environment before the process
/// starts; [`LocalTeacher::load`] warns when `threads` and that pool disagree. The `csvagent`
/// CLI and the desktop app set `CANDLE_NUM_THREADS=1` when it is unset: that pool spin-waits
/// for its workers, and on a small machine shared with the sandbox a reply generated about three
/// times slower with it than on the calling thread alone.
#[derive(Clone)]
pub struct LocalTeacher {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    path: PathBuf,
    architecture: String,
    context_tokens: usize,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop_ids: Vec<u32>,
    model: Arc<Decoder>,
    /// Attention states of recent conversations, least recently used first; the lock also
    /// serialises requests.
    caches: Arc<tokio::sync::Mutex<Vec<KvCache>>>,
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
    temperature: f64,
    top_p: f64,
    max_tokens: u32,
    repeat_penalty: f32,
    seed: Option<u64>,
    requests: AtomicU64,
}

impl fmt::Debug for LocalTeacher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalTeacher")
            .field("path", &self.inner.path)
            .field("architecture", &self.inner.architecture)
            .field("threads", &self.inner.threads)
            .finish_non_exhaustive()
    }
}

/// Sets a flag when the request future is dropped, so a cancelled generation stops early.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What one generation produced.
struct Generated {
    text: String,
    finish_reason: &'static str,
    completion_tokens: usize,
}

impl LocalTeacher {
    /// Loads the GGUF model at `path` (a local file; Hub names are resolved by
    /// [`crate::teacher::Teacher::from_config`]) with `config`'s sampling defaults, thread
    /// count, seed and repetition penalty. Reading the file runs on a blocking thread. Sends an
    /// info [`crate::events::Event::Log`] when loaded, and a warning when `threads` cannot
    /// govern candle's matrix pool (see the type's docs).
    ///
    /// # Errors
    /// [`TeacherError::ModelNotFound`], [`TeacherError::NotGguf`],
    /// [`TeacherError::UnsupportedArchitecture`], [`TeacherError::ModelLoad`] (including an
    /// invalid chat template), [`TeacherError::Config`] for invalid settings.
    pub async fn load(
        path: &Path,
        config: &TeacherConfig,
        events: &EventSink,
    ) -> Result<Self, TeacherError> {
        config.validate()?;
        let started = Instant::now();
        let owned = path.to_path_buf();
        let loaded = tokio::task::spawn_blocking(move || gguf::load(&owned))
            .await
            .map_err(|e| TeacherError::ModelLoad {
                path: path.to_path_buf(),
                detail: format!("the loading thread failed: {e}"),
            })??;
        let threads = config
            .threads
            .unwrap_or_else(candle_core::utils::get_num_threads);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("csvagent-teacher-{i}"))
            .build()
            .map_err(|e| TeacherError::ModelLoad {
                path: path.to_path_buf(),
                detail: format!("cannot start {threads} threads: {e}"),
            })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        events
            .log(
                LogLevel::Info,
                format!(
                    "loaded `{name}` ({} architecture, {} tokens of context, {threads} threads) in {:.1} s{}",
                    loaded.architecture,
                    loaded.context_tokens,
                    started.elapsed().as_secs_f64(),
                    if loaded.template.is_from_model() {
                        ""
                    } else {
                        "; the file has no chat template, using ChatML"
                    }
                ),
            )
            .await;
        if let Some(wanted) = config.threads {
            let matrix_threads = candle_core::utils::barrier_pool().n_workers() + 1;
            if matrix_threads != wanted {
                events
                    .log(
                        LogLevel::Warn,
                        format!(
                            "the embedded model's matrix kernels use {matrix_threads} threads, not \
                             {wanted}: set CANDLE_NUM_THREADS={wanted} before starting to change that"
                        ),
                    )
                    .await;
            }
        }
        Ok(LocalTeacher {
            inner: Arc::new(Inner {
                name,
                path: path.to_path_buf(),
                architecture: loaded.architecture,
                context_tokens: loaded.context_tokens,
                tokenizer: loaded.tokenizer,
                template: loaded.template,
                stop_ids: loaded.stop_ids,
                model: Arc::new(loaded.weights),
                caches: Arc::new(tokio::sync::Mutex::new(Vec::new())),
                pool: Arc::new(pool),
                threads,
                temperature: config.temperature,
                top_p: config.top_p,
                max_tokens: config.local_max_tokens,
                repeat_penalty: config.repeat_penalty,
                seed: config.seed,
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The model recorded on traces: the file name, `base_url_host = "local"` and the
    /// configured sampling defaults (`max_tokens` = the local default).
    pub fn model_info(&self) -> ModelInfo {
        ModelInfo {
            name: self.inner.name.clone(),
            base_url_host: Some("local".to_string()),
            temperature: self.inner.temperature,
            top_p: self.inner.top_p,
            max_tokens: u64::from(self.inner.max_tokens),
        }
    }

    /// `general.architecture` of the file (`llama` or `qwen2`).
    pub fn architecture(&self) -> &str {
        &self.inner.architecture
    }

    /// Tokens (prompt plus reply) the model attends to: the file's `<arch>.context_length`,
    /// capped at 32,768.
    pub fn context_tokens(&self) -> usize {
        self.inner.context_tokens
    }

    /// Threads of this teacher's rayon pool.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// The exact prompt text the model reads for `messages`: the chat template applied, ending
    /// with the assistant's turn header.
    ///
    /// # Errors
    /// [`TeacherError::Generation`] when the template rejects the conversation (for example a
    /// template that demands alternating roles).
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, TeacherError> {
        self.inner
            .template
            .render(messages)
            .map_err(|detail| TeacherError::Generation { detail })
    }

    /// Token ids of `text` with this model's tokenizer (no special tokens added; special token
    /// text such as `<|im_start|>` becomes its single id).
    ///
    /// # Errors
    /// [`TeacherError::Generation`] when the tokenizer fails.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, TeacherError> {
        self.inner
            .tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| TeacherError::Generation {
                detail: format!("tokenizer: {e}"),
            })
    }

    /// Generates the assistant's reply to `request.messages`.
    ///
    /// Usage is counted with the model's tokenizer; `attempts` is 1; `elapsed_ms` includes
    /// waiting for the model while other requests run. `max_tokens` is cut to the room left in
    /// the context.
    ///
    /// # Errors
    /// [`TeacherError::PromptTooLong`] when the prompt leaves no room in the context;
    /// [`TeacherError::Generation`] when the template, tokenizer or model fails.
    ///
    /// Dropping the future stops the generation at the next token.
    #[tracing::instrument(level = "debug", skip_all, fields(model = %self.inner.name, n_messages = request.messages.len()))]
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatReply, TeacherError> {
        let started = Instant::now();
        let inner = &self.inner;
        let prompt = self.render_prompt(&request.messages)?;
        let prompt_ids = self.tokenize(&prompt)?;
        if prompt_ids.is_empty() || prompt_ids.len() >= inner.context_tokens {
            return Err(TeacherError::PromptTooLong {
                prompt_tokens: prompt_ids.len(),
                context_tokens: inner.context_tokens,
            });
        }
        let room = inner.context_tokens - prompt_ids.len();
        let max_tokens = (request.max_tokens.unwrap_or(inner.max_tokens) as usize).min(room);
        let temperature = request.temperature.unwrap_or(inner.temperature);
        let top_p = request.top_p.unwrap_or(inner.top_p);
        let sampling = if temperature < 1e-7 {
            Sampling::ArgMax
        } else if top_p >= 1.0 {
            Sampling::All { temperature }
        } else {
            Sampling::TopP {
                p: top_p,
                temperature,
            }
        };
        let n = inner.requests.fetch_add(1, Ordering::Relaxed);
        let seed = inner
            .seed
            .map_or_else(|| fastrand::u64(..), |s| s.wrapping_add(n));
        let caches = Arc::clone(&inner.caches).lock_owned().await;
        let cancelled = Arc::new(AtomicBool::new(false));
        let _cancel = CancelOnDrop(Arc::clone(&cancelled));
        let this = self.clone();
        let prompt_tokens = prompt_ids.len();
        let job = tokio::task::spawn_blocking(move || {
            let mut caches = caches;
            let pool = Arc::clone(&this.inner.pool);
            pool.install(|| {
                this.generate(
                    &mut caches,
                    &prompt_ids,
                    LogitsProcessor::from_sampling(seed, sampling),
                    max_tokens,
                    &request.stop,
                    &cancelled,
                )
            })
        });
        let generated = job.await.map_err(|e| TeacherError::Generation {
            detail: format!("the generation thread failed: {e}"),
        })??;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(
            prompt_tokens,
            completion_tokens = generated.completion_tokens,
            elapsed_ms,
            "local reply"
        );
        Ok(ChatReply {
            content: Some(generated.text),
            finish_reason: Some(generated.finish_reason.to_string()),
            prompt_tokens: Some(prompt_tokens as u64),
            completion_tokens: Some(generated.completion_tokens as u64),
            attempts: 1,
            elapsed_ms,
        })
    }

    /// The token loop: read the prompt in chunks, then sample one token at a time.
    ///
    /// The conversation cache sharing the longest beginning with the prompt is reused (the
    /// previous turn of the same conversation, or another question's prompt on the same
    /// dataset): only the tokens after the shared beginning are read.
    fn generate(
        &self,
        caches: &mut Vec<KvCache>,
        prompt_ids: &[u32],
        mut sampler: LogitsProcessor,
        max_tokens: usize,
        stops: &[String],
        cancelled: &AtomicBool,
    ) -> Result<Generated, TeacherError> {
        let inner = &self.inner;
        let model = &inner.model;
        let fail = |e: candle_core::Error| TeacherError::Generation {
            detail: e.to_string(),
        };
        // The cache sharing the longest beginning with the prompt. One the prompt extends up to
        // its last few tokens (this conversation's previous turn: the reply's last token was
        // never read, and re-tokenising the reply can differ at its end) is taken over;
        // otherwise the shared beginning is copied into a new cache, so the other
        // conversation keeps its state.
        let best = caches
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.reusable(prompt_ids)))
            .max_by_key(|&(i, reuse)| (reuse, i));
        let mut cache = match best {
            Some((i, reuse)) if reuse > 0 && caches[i].len() - reuse <= TAKE_OVER_SLACK => {
                caches.remove(i)
            }
            Some((i, reuse)) if reuse > 0 => model.fork(&caches[i], reuse).map_err(&fail)?,
            _ => KvCache::new(),
        };
        while caches.len() >= CACHED_CONVERSATIONS {
            caches.remove(0);
        }
        let reused = cache.reusable(prompt_ids);
        cache.truncate(reused);
        let result = self.run(
            model,
            &mut cache,
            prompt_ids,
            reused,
            &mut sampler,
            max_tokens,
            stops,
            cancelled,
            fail,
        );
        if result.is_err() {
            cache.truncate(0);
        }
        caches.push(cache);
        result
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the token loop's state, passed once"
    )]
    fn run(
        &self,
        model: &Decoder,
        cache: &mut KvCache,
        prompt_ids: &[u32],
        reused: usize,
        sampler: &mut LogitsProcessor,
        max_tokens: usize,
        stops: &[String],
        cancelled: &AtomicBool,
        fail: impl Fn(candle_core::Error) -> TeacherError,
    ) -> Result<Generated, TeacherError> {
        let inner = &self.inner;
        let mut logits = None;
        for chunk in prompt_ids[reused..].chunks(PREFILL_CHUNK) {
            if cancelled.load(Ordering::Relaxed) {
                return Err(cancelled_error());
            }
            logits = Some(model.forward(cache, chunk).map_err(&fail)?);
        }
        tracing::debug!(reused, read = prompt_ids.len() - reused, "prompt read");
        let mut logits = logits.ok_or_else(|| TeacherError::Generation {
            detail: "empty prompt".into(),
        })?;
        let stops: Vec<&str> = stops
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let mut generated: Vec<u32> = Vec::new();
        let mut finish_reason = "length";
        let mut cut_text = None;
        while generated.len() < max_tokens {
            if cancelled.load(Ordering::Relaxed) {
                return Err(cancelled_error());
            }
            let scores = if inner.repeat_penalty > 1.0 && !generated.is_empty() {
                let window = &generated[generated.len().saturating_sub(REPEAT_WINDOW)..];
                candle_transformers::utils::apply_repeat_penalty(
                    &logits,
                    inner.repeat_penalty,
                    window,
                )
                .map_err(&fail)?
            } else {
                logits.clone()
            };
            let next = sampler.sample(&scores).map_err(&fail)?;
            if inner.stop_ids.contains(&next) {
                finish_reason = "stop";
                break;
            }
            generated.push(next);
            if !stops.is_empty() {
                let text = self.decode(&generated)?;
                if let Some(at) = stops.iter().filter_map(|s| text.find(s)).min() {
                    cut_text = Some(text[..at].to_string());
                    finish_reason = "stop";
                    break;
                }
            }
            if generated.len() == max_tokens {
                break;
            }
            logits = model.forward(cache, &[next]).map_err(&fail)?;
        }
        let text = match cut_text {
            Some(text) => text,
            None => self.decode(&generated)?,
        };
        Ok(Generated {
            text,
            finish_reason,
            completion_tokens: generated.len(),
        })
    }

    fn decode(&self, ids: &[u32]) -> Result<String, TeacherError> {
        self.inner
            .tokenizer
            .decode(ids, true)
            .map_err(|e| TeacherError::Generation {
                detail: format!("tokenizer: {e}"),
            })
    }
}

fn cancelled_error() -> TeacherError {
    TeacherError::Generation {
        detail: "cancelled".into(),
    }
}
