//! The Hugging Face token and endpoint (SPEC 9): where they come from, without ever showing the
//! token.
//!
//! Environment variables read here (the product's complete list for publishing):
//!
//! | variable | use |
//! |---|---|
//! | `HF_TOKEN` | the token; wins over every file |
//! | `HF_TOKEN_PATH` | a file holding the token, when `HF_TOKEN` is unset or empty |
//! | `HF_HOME` | `$HF_HOME/token` is read next (default `~/.cache/huggingface`, where `huggingface-cli login` writes) |
//! | `HF_ENDPOINT` | the Hub base URL (default `https://huggingface.co`) |

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::PublishError;

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Where the token was found. Serialisable for the desktop app's Publish view; it never holds
/// the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenSource {
    /// The `HF_TOKEN` environment variable.
    Env,
    /// A token file (`HF_TOKEN_PATH`, or `$HF_HOME/token`).
    File {
        /// The file read.
        path: PathBuf,
    },
    /// Given directly by the caller (the desktop app, tests).
    Explicit,
    /// No token anywhere.
    Missing,
}

/// Where a token would come from right now, without reading it into anything that could leak.
///
/// Reads the process environment and, when needed, the token files (SPEC 9 order).
pub fn token_status() -> TokenSource {
    resolve(&|k| std::env::var(k).ok(), home_dir().as_deref())
        .map(|(_, source)| source)
        .unwrap_or(TokenSource::Missing)
}

/// A token and the endpoint it is sent to.
///
/// `Debug` prints `<redacted>` instead of the token, and no error or event of this module
/// contains it. Cheap to clone.
#[derive(Clone)]
pub struct HubAuth {
    token: String,
    endpoint: String,
    source: TokenSource,
}

impl HubAuth {
    /// Resolves the token (`HF_TOKEN`, else the file at `HF_TOKEN_PATH`, else `$HF_HOME/token`
    /// with `HF_HOME` defaulting to `~/.cache/huggingface`; surrounding whitespace is trimmed,
    /// an empty value counts as unset) and the endpoint (`HF_ENDPOINT`, else
    /// [`DEFAULT_ENDPOINT`]).
    ///
    /// # Errors
    /// [`PublishError::NoToken`] with guidance when no token is found.
    pub fn from_env() -> Result<HubAuth, PublishError> {
        let env = |k: &str| std::env::var(k).ok();
        let (token, source) = resolve(&env, home_dir().as_deref()).ok_or(PublishError::NoToken)?;
        let endpoint = env("HF_ENDPOINT")
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        Ok(HubAuth {
            token,
            endpoint: endpoint.trim().trim_end_matches('/').to_owned(),
            source,
        })
    }

    /// A token given directly, sent to `endpoint` (a base URL such as `http://127.0.0.1:8080`).
    pub fn new(token: impl Into<String>, endpoint: impl Into<String>) -> HubAuth {
        HubAuth {
            token: token.into(),
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            source: TokenSource::Explicit,
        }
    }

    /// The Hub base URL, without a trailing `/`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Where the token came from.
    pub fn source(&self) -> &TokenSource {
        &self.source
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// Replaces every occurrence of the token in `text` (server messages may echo a header).
    pub(crate) fn redact(&self, text: &str) -> String {
        if self.token.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.token, "<redacted>")
        }
    }
}

impl fmt::Debug for HubAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubAuth")
            .field("token", &"<redacted>")
            .field("endpoint", &self.endpoint)
            .field("source", &self.source)
            .finish()
    }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The SPEC 9 token order over an environment lookup and a home directory.
fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Option<(String, TokenSource)> {
    if let Some(token) = env("HF_TOKEN").map(|t| t.trim().to_owned())
        && !token.is_empty()
    {
        return Some((token, TokenSource::Env));
    }
    let mut files = Vec::new();
    if let Some(path) = env("HF_TOKEN_PATH").filter(|p| !p.is_empty()) {
        files.push(PathBuf::from(path));
    }
    let hf_home = env("HF_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".cache").join("huggingface")));
    if let Some(hf_home) = hf_home {
        files.push(hf_home.join("token"));
    }
    files.into_iter().find_map(|path| {
        let token = std::fs::read_to_string(&path).ok()?.trim().to_owned();
        (!token.is_empty()).then_some((token, TokenSource::File { path }))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn hf_token_wins_over_token_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "hf_from_file\n").unwrap();
        let env = lookup(&[
            ("HF_TOKEN", "hf_from_env".to_owned()),
            ("HF_HOME", dir.path().display().to_string()),
        ]);
        let (token, source) = resolve(&env, None).unwrap();
        assert_eq!((token.as_str(), source), ("hf_from_env", TokenSource::Env));
    }

    #[test]
    fn token_path_then_hf_home_then_default_home_are_read_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let explicit = dir.path().join("explicit");
        std::fs::write(&explicit, "  hf_explicit \n").unwrap();
        let hf_home = dir.path().join("hf");
        std::fs::create_dir_all(&hf_home).unwrap();
        std::fs::write(hf_home.join("token"), "hf_home_token").unwrap();
        let user_home = dir.path().join("user");
        let default = user_home.join(".cache/huggingface");
        std::fs::create_dir_all(&default).unwrap();
        std::fs::write(default.join("token"), "hf_login_token").unwrap();

        let env = lookup(&[
            ("HF_TOKEN", String::new()),
            ("HF_TOKEN_PATH", explicit.display().to_string()),
            ("HF_HOME", hf_home.display().to_string()),
        ]);
        let (token, source) = resolve(&env, Some(&user_home)).unwrap();
        assert_eq!(token, "hf_explicit");
        assert_eq!(source, TokenSource::File { path: explicit });

        let env = lookup(&[("HF_HOME", hf_home.display().to_string())]);
        assert_eq!(resolve(&env, Some(&user_home)).unwrap().0, "hf_home_token");

        let env = lookup(&[]);
        let (token, source) = resolve(&env, Some(&user_home)).unwrap();
        assert_eq!(token, "hf_login_token");
        assert_eq!(
            source,
            TokenSource::File {
                path: default.join("token")
            }
        );
    }

    #[test]
    fn no_token_anywhere_resolves_to_none() {
        let dir = tempfile::tempdir().unwrap();
        let env = lookup(&[("HF_HOME", dir.path().display().to_string())]);
        assert!(resolve(&env, Some(dir.path())).is_none());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let auth = HubAuth::new("hf_SECRETSECRET", "http://127.0.0.1:1/");
        let shown = format!("{auth:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(auth.endpoint(), "http://127.0.0.1:1");
        assert_eq!(
            auth.redact("Bearer hf_SECRETSECRET rejected"),
            "Bearer <redacted> rejected"
        );
    }
}
