//! Teacher settings ([`TeacherConfig`]), the redacting [`ApiKey`] and the model name syntax
//! ([`ModelSource`]).

use std::fmt;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Deserializer};

use super::TeacherError;

/// The embedded teacher's model when none is configured: Qwen2.5-Coder 1.5B Instruct, Q4_K_M
/// (about 1 GB, Apache-2.0), fetched once into the Hugging Face cache.
pub const DEFAULT_LOCAL_MODEL: &str =
    "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";

/// An API key. `Debug` and `Display` print `[redacted]`; only [`ApiKey::expose`] gives the
/// secret, for the `Authorization` header.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps `key`.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The secret itself. Never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which teacher to run and how (SPEC 3.1, the `[llm]` section).
///
/// A plain struct: build it with `Default`, deserialise it from the config file (durations as
/// seconds: `request_timeout_s`, `retry_base_s`), then apply the environment with
/// [`TeacherConfig::apply_env`] and command-line flags on top (precedence: flag > env > file >
/// default). [`crate::teacher::Teacher::from_config`] validates it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeacherConfig {
    /// Base URL of an OpenAI-compatible endpoint, e.g. `https://api.openai.com/v1`; requests go
    /// to `{base_url}/chat/completions`. By default none: the embedded local teacher runs.
    /// Flag `--teacher-url`, env `CSVAGENT_TEACHER_URL`.
    pub base_url: Option<String>,
    /// The model. For an endpoint, its model name (required). For the embedded teacher, a local
    /// `.gguf` path or a Hub file written `owner/repo:file.gguf` (or
    /// `owner/repo@revision:file.gguf`); by default [`DEFAULT_LOCAL_MODEL`].
    /// Flag `--teacher-model`, env `CSVAGENT_TEACHER_MODEL`.
    pub model: Option<String>,
    /// The endpoint's key, sent as `Authorization: Bearer <key>`; none for servers that need
    /// none. Env `CSVAGENT_TEACHER_API_KEY`, else `OPENAI_API_KEY`.
    pub api_key: Option<ApiKey>,
    /// Sampling temperature, 0 to 2. By default 0.7.
    pub temperature: f64,
    /// Nucleus sampling mass, above 0 up to 1. By default 1.0.
    pub top_p: f64,
    /// Most tokens per endpoint reply. By default 6000.
    pub max_tokens: u32,
    /// Most tokens per reply of the embedded model. By default 512: a turn is a few sentences
    /// and one code block; what a small CPU model writes past that is rambling, at about a
    /// tenth of a second per token.
    pub local_max_tokens: u32,
    /// Time allowed for one HTTP attempt, body included. By default 120 s.
    #[serde(rename = "request_timeout_s", deserialize_with = "de_seconds")]
    pub request_timeout: Duration,
    /// HTTP attempts per request, at least 1. By default 3.
    pub max_attempts: u32,
    /// First retry delay; the second is twice that, and so on, each plus up to a quarter of it
    /// of random jitter (by default 1 s, then 2 s, plus up to 250 ms). A 429 waits its
    /// `Retry-After` instead (at most 60 s).
    #[serde(rename = "retry_base_s", deserialize_with = "de_seconds")]
    pub retry_base: Duration,
    /// Endpoint requests in flight at once, over all clones of one teacher. By default 32.
    pub max_concurrency: usize,
    /// CPU threads for the embedded model. By default candle's choice: `CANDLE_NUM_THREADS`,
    /// else `RAYON_NUM_THREADS`, else the physical core count. See
    /// [`crate::teacher::LocalTeacher`] for what it controls.
    pub threads: Option<usize>,
    /// Base sampling seed of the embedded model; request `n` of a teacher uses `seed + n`.
    /// By default none: a random seed per request.
    pub seed: Option<u64>,
    /// Repetition penalty of the embedded model over its last 64 tokens (1.0 = off).
    /// By default 1.1.
    pub repeat_penalty: f32,
    /// Where non-429 4xx failures are appended as JSON lines (SPEC 3.1:
    /// `logs/llm_errors.jsonl` under the data directory). By default none.
    pub llm_errors_log: Option<PathBuf>,
    /// Hugging Face cache for Hub models. By default the standard cache: `HF_HUB_CACHE`, else
    /// `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
    pub hf_cache_dir: Option<PathBuf>,
    /// Hugging Face Hub URL. By default `HF_ENDPOINT`, else `https://huggingface.co`.
    pub hf_endpoint: Option<String>,
}

impl Default for TeacherConfig {
    fn default() -> Self {
        TeacherConfig {
            base_url: None,
            model: None,
            api_key: None,
            temperature: 0.7,
            top_p: 1.0,
            max_tokens: 6000,
            local_max_tokens: 512,
            request_timeout: Duration::from_secs(120),
            max_attempts: 3,
            retry_base: Duration::from_secs(1),
            max_concurrency: 32,
            threads: None,
            seed: None,
            repeat_penalty: 1.1,
            llm_errors_log: None,
            hf_cache_dir: None,
            hf_endpoint: None,
        }
    }
}

impl TeacherConfig {
    /// The defaults with the process environment applied ([`TeacherConfig::apply_env`]).
    pub fn from_env() -> Self {
        let mut config = TeacherConfig::default();
        config.apply_env();
        config
    }

    /// Overrides settings from the process environment: `CSVAGENT_TEACHER_URL` (`base_url`),
    /// `CSVAGENT_TEACHER_MODEL` (`model`), `CSVAGENT_TEACHER_API_KEY` (`api_key`), and
    /// `OPENAI_API_KEY` when no key is set otherwise. Empty values count as unset.
    pub fn apply_env(&mut self) {
        self.apply_env_from(|name| std::env::var(name).ok());
    }

    /// [`TeacherConfig::apply_env`] reading variables through `lookup` (for tests and front
    /// ends that hold their own environment).
    pub fn apply_env_from(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(url) = get("CSVAGENT_TEACHER_URL") {
            self.base_url = Some(url);
        }
        if let Some(model) = get("CSVAGENT_TEACHER_MODEL") {
            self.model = Some(model);
        }
        if let Some(key) = get("CSVAGENT_TEACHER_API_KEY") {
            self.api_key = Some(ApiKey(key));
        } else if self.api_key.is_none() {
            self.api_key = get("OPENAI_API_KEY").map(ApiKey);
        }
    }

    /// Checks every setting once: [`TeacherConfig::validate_values`], and an endpoint teacher
    /// (`base_url` set) needs a `model`.
    ///
    /// # Errors
    /// [`TeacherError::Config`] naming the first invalid setting and what is valid.
    pub fn validate(&self) -> Result<(), TeacherError> {
        self.validate_values()?;
        if self.base_url.is_some() && self.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
            return Err(TeacherError::Config {
                field: "model".to_string(),
                message: "an endpoint teacher needs a model name: pass `--teacher-model <name>` \
                          or set `CSVAGENT_TEACHER_MODEL`"
                    .to_string(),
            });
        }
        Ok(())
    }

    /// Checks each value on its own (what a settings file or variable can get wrong, whatever
    /// command uses it): `base_url` an http(s) URL, `temperature` in 0..=2, `top_p` in (0, 1],
    /// token, attempt, concurrency and thread counts at least 1, a timeout above 0,
    /// `repeat_penalty` at least 1.
    ///
    /// # Errors
    /// [`TeacherError::Config`] naming the first invalid setting and what is valid.
    pub fn validate_values(&self) -> Result<(), TeacherError> {
        let bad = |field: &str, message: String| {
            Err(TeacherError::Config {
                field: field.to_string(),
                message,
            })
        };
        if let Some(url) = &self.base_url {
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                _ => {
                    return bad(
                        "base_url",
                        format!(
                            "`{url}` is not an http(s) URL such as `https://api.openai.com/v1`"
                        ),
                    );
                }
            }
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return bad(
                "temperature",
                format!("{} is outside 0 to 2", self.temperature),
            );
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", format!("{} is outside (0, 1]", self.top_p));
        }
        if self.max_tokens == 0 {
            return bad("max_tokens", "must be at least 1".to_string());
        }
        if self.local_max_tokens == 0 {
            return bad("local_max_tokens", "must be at least 1".to_string());
        }
        if self.max_attempts == 0 {
            return bad("max_attempts", "must be at least 1".to_string());
        }
        if self.max_concurrency == 0 {
            return bad("max_concurrency", "must be at least 1".to_string());
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout_s", "must be above 0".to_string());
        }
        if self.threads == Some(0) {
            return bad("threads", "must be at least 1".to_string());
        }
        if !(self.repeat_penalty.is_finite() && self.repeat_penalty >= 1.0) {
            return bad(
                "repeat_penalty",
                format!("{} must be 1.0 (off) or more", self.repeat_penalty),
            );
        }
        Ok(())
    }
}

fn de_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

/// Where the embedded teacher's model comes from, parsed from `--teacher-model`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A GGUF file on disk, used as is.
    Path(PathBuf),
    /// A file in a Hugging Face model repository, fetched into the HF cache.
    Hub {
        /// `owner/name`.
        repo: String,
        /// File name inside the repository, e.g. `model-q4_k_m.gguf`.
        file: String,
        /// Branch, tag or commit; `None` = `main`.
        revision: Option<String>,
    },
}

static HUB_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9][\w.-]*/[\w.-]+)(?:@([\w./-]+))?:([^:\\]+\.gguf)$")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

impl ModelSource {
    /// Parses a model name: an existing file is a [`ModelSource::Path`]; otherwise
    /// `owner/repo:file.gguf` or `owner/repo@revision:file.gguf` is a [`ModelSource::Hub`]
    /// file; anything else is a path (reported as not found when loading).
    ///
    /// # Errors
    /// [`TeacherError::Config`] for an empty name.
    pub fn parse(spec: &str) -> Result<ModelSource, TeacherError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(TeacherError::Config {
                field: "model".into(),
                message: "empty; give a `.gguf` path or `owner/repo:file.gguf`".into(),
            });
        }
        let path = PathBuf::from(spec);
        if path.is_file() {
            return Ok(ModelSource::Path(path));
        }
        if let Some(c) = HUB_SPEC.captures(spec) {
            let group = |i| c.get(i).map(|m| m.as_str().to_string());
            if let (Some(repo), Some(file)) = (group(1), group(3)) {
                return Ok(ModelSource::Hub {
                    repo,
                    file,
                    revision: group(2),
                });
            }
        }
        Ok(ModelSource::Path(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn defaults_follow_the_spec() {
        let c = TeacherConfig::default();
        assert_eq!(c.base_url, None);
        assert_eq!(c.temperature, 0.7);
        assert_eq!(c.top_p, 1.0);
        assert_eq!(c.max_tokens, 6000);
        assert_eq!(c.request_timeout, Duration::from_secs(120));
        assert_eq!(c.max_attempts, 3);
        assert_eq!(c.max_concurrency, 32);
        assert_eq!(c.retry_base, Duration::from_secs(1));
        c.validate().unwrap();
    }

    #[test]
    fn teacher_api_key_wins_over_openai_key() {
        let mut c = TeacherConfig::default();
        c.apply_env_from(env(&[
            ("CSVAGENT_TEACHER_URL", "http://localhost:8000/v1"),
            ("CSVAGENT_TEACHER_MODEL", "qwen"),
            ("CSVAGENT_TEACHER_API_KEY", "sk-teacher"),
            ("OPENAI_API_KEY", "sk-openai"),
        ]));
        assert_eq!(c.base_url.as_deref(), Some("http://localhost:8000/v1"));
        assert_eq!(c.model.as_deref(), Some("qwen"));
        assert_eq!(c.api_key.as_ref().map(ApiKey::expose), Some("sk-teacher"));
    }

    #[test]
    fn openai_key_is_the_fallback_and_empty_values_are_unset() {
        let mut c = TeacherConfig::default();
        c.apply_env_from(env(&[
            ("CSVAGENT_TEACHER_API_KEY", ""),
            ("CSVAGENT_TEACHER_URL", "  "),
            ("OPENAI_API_KEY", "sk-openai"),
        ]));
        assert_eq!(c.base_url, None);
        assert_eq!(c.api_key.as_ref().map(ApiKey::expose), Some("sk-openai"));
    }

    #[test]
    fn config_file_key_is_kept_over_openai_key() {
        let mut c = TeacherConfig {
            api_key: Some(ApiKey::new("sk-file")),
            ..TeacherConfig::default()
        };
        c.apply_env_from(env(&[("OPENAI_API_KEY", "sk-openai")]));
        assert_eq!(c.api_key.as_ref().map(ApiKey::expose), Some("sk-file"));
    }

    #[test]
    fn api_key_is_redacted_in_debug_and_display() {
        let c = TeacherConfig {
            api_key: Some(ApiKey::new("sk-secret-123")),
            ..TeacherConfig::default()
        };
        let debug = format!("{c:?}");
        assert!(!debug.contains("sk-secret-123"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
        assert_eq!(ApiKey::new("sk-secret-123").to_string(), "[redacted]");
    }

    #[test]
    fn config_deserialises_with_seconds_and_defaults() {
        let c: TeacherConfig = serde_json::from_value(serde_json::json!({
            "base_url": "https://openrouter.ai/api/v1",
            "model": "openai/gpt-oss-120b",
            "request_timeout_s": 2.5,
            "max_attempts": 5
        }))
        .unwrap();
        assert_eq!(c.request_timeout, Duration::from_millis(2500));
        assert_eq!(c.max_attempts, 5);
        assert_eq!(c.temperature, 0.7);
        let err =
            serde_json::from_value::<TeacherConfig>(serde_json::json!({"request_timeout": 1}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("unknown field `request_timeout`"), "{err}");
    }

    #[test]
    fn invalid_settings_name_the_field() {
        let check = |c: TeacherConfig, field: &str| match c.validate() {
            Err(TeacherError::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected a config error for {field}, got {other:?}"),
        };
        check(
            TeacherConfig {
                base_url: Some("ftp://x".into()),
                model: Some("m".into()),
                ..TeacherConfig::default()
            },
            "base_url",
        );
        check(
            TeacherConfig {
                base_url: Some("http://localhost:8080/v1".into()),
                ..TeacherConfig::default()
            },
            "model",
        );
        check(
            TeacherConfig {
                temperature: 3.0,
                ..TeacherConfig::default()
            },
            "temperature",
        );
        check(
            TeacherConfig {
                top_p: 0.0,
                ..TeacherConfig::default()
            },
            "top_p",
        );
        check(
            TeacherConfig {
                max_attempts: 0,
                ..TeacherConfig::default()
            },
            "max_attempts",
        );
        check(
            TeacherConfig {
                threads: Some(0),
                ..TeacherConfig::default()
            },
            "threads",
        );
    }

    #[test]
    fn hub_files_and_paths_are_told_apart() {
        assert_eq!(
            ModelSource::parse(
                "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
            )
            .unwrap(),
            ModelSource::Hub {
                repo: "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF".into(),
                file: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf".into(),
                revision: None,
            }
        );
        assert_eq!(
            ModelSource::parse("owner/repo@v1.0:sub/dir/m.gguf").unwrap(),
            ModelSource::Hub {
                repo: "owner/repo".into(),
                file: "sub/dir/m.gguf".into(),
                revision: Some("v1.0".into()),
            }
        );
        assert_eq!(
            ModelSource::parse("models/m.gguf").unwrap(),
            ModelSource::Path(PathBuf::from("models/m.gguf"))
        );
        assert_eq!(
            ModelSource::parse("C:\\models\\m.gguf").unwrap(),
            ModelSource::Path(PathBuf::from("C:\\models\\m.gguf"))
        );
        assert!(ModelSource::parse(" ").is_err());
    }

    #[test]
    fn an_existing_file_is_a_path_even_if_it_looks_like_a_hub_name() {
        let dir = tempfile::tempdir().unwrap();
        let owner = dir.path().join("owner");
        std::fs::create_dir(&owner).unwrap();
        let file = owner.join("repo:m.gguf");
        std::fs::write(&file, b"x").unwrap();
        let spec = file.to_str().unwrap();
        assert_eq!(ModelSource::parse(spec).unwrap(), ModelSource::Path(file));
    }
}
