//! Where the app reads and writes, and which teacher it uses: from the environment at start,
//! editable in the page.

use std::path::PathBuf;

use csvagent_sdk::config::Settings;
use serde::{Deserialize, Serialize};

use crate::error::{CommandResult, sdk};

/// Environment variables the app reads that are not csvagent settings (they are removed before
/// [`Settings::load`] sees the environment).
const APP_ENV: [&str; 2] = ["CSVAGENT_DATA_DIR", "CSVAGENT_DATASETS"];

/// The app's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppConfig {
    /// The data directory (outputs): `CSVAGENT_DATA_DIR`, default `data`.
    pub data_dir: PathBuf,
    /// The datasets directory (inputs): `CSVAGENT_DATASETS`, default `<data_dir>/datasets`.
    pub datasets_dir: PathBuf,
    /// OpenAI-compatible teacher endpoint: `CSVAGENT_TEACHER_URL` (none: the configured or
    /// embedded teacher).
    pub teacher_url: Option<String>,
    /// Teacher model name: `CSVAGENT_TEACHER_MODEL`.
    pub teacher_model: Option<String>,
}

impl AppConfig {
    /// The configuration from the process environment (see the field docs for names and
    /// defaults).
    pub fn from_env() -> AppConfig {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The configuration from `lookup` (an environment), for tests.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> AppConfig {
        let nonempty = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let data_dir =
            PathBuf::from(nonempty("CSVAGENT_DATA_DIR").unwrap_or_else(|| "data".into()));
        let datasets_dir = nonempty("CSVAGENT_DATASETS")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("datasets"));
        AppConfig {
            data_dir,
            datasets_dir,
            teacher_url: nonempty("CSVAGENT_TEACHER_URL"),
            teacher_model: nonempty("CSVAGENT_TEACHER_MODEL"),
        }
    }

    /// Run settings exactly as the CLI builds them: `csvagent.toml` in the working directory
    /// if present, then the environment, then the teacher URL/model of this configuration.
    ///
    /// # Errors
    /// `invalid_input` naming the file or variable when the configuration is invalid.
    pub fn settings(&self) -> CommandResult<Settings> {
        let file = PathBuf::from("csvagent.toml");
        let env = std::env::vars().filter(|(k, _)| !APP_ENV.contains(&k.as_str()));
        let mut s = Settings::load(file.is_file().then_some(file.as_path()), env).map_err(sdk)?;
        s.llm.apply_env();
        if let Some(url) = &self.teacher_url {
            s.llm.base_url = Some(url.clone());
        }
        if let Some(model) = &self.teacher_model {
            s.llm.model = Some(model.clone());
        }
        if s.llm.llm_errors_log.is_none() {
            s.llm.llm_errors_log = Some(self.layout().llm_errors_log());
        }
        Ok(s)
    }

    /// The data layout under [`AppConfig::data_dir`].
    pub fn layout(&self) -> csvagent_sdk::record::DataLayout {
        csvagent_sdk::record::DataLayout::new(&self.data_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_dir_defaults_to_data_dir_datasets() {
        let c = AppConfig::from_lookup(|k| (k == "CSVAGENT_DATA_DIR").then(|| "/x/out".into()));
        assert_eq!(c.datasets_dir, PathBuf::from("/x/out/datasets"));
        assert_eq!(c.teacher_url, None);
    }

    #[test]
    fn teacher_and_dirs_come_from_the_environment() {
        let c = AppConfig::from_lookup(|k| match k {
            "CSVAGENT_DATASETS" => Some("/in".into()),
            "CSVAGENT_TEACHER_URL" => Some("http://127.0.0.1:9/v1".into()),
            "CSVAGENT_TEACHER_MODEL" => Some("m".into()),
            _ => None,
        });
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.datasets_dir, PathBuf::from("/in"));
        assert_eq!(c.teacher_url.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert_eq!(c.teacher_model.as_deref(), Some("m"));
    }
}
