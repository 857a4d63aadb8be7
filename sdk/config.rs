//! Run configuration shared by the CLI and the desktop app.

use serde::{Deserialize, Serialize};

use crate::schema::Source;

/// What a run or generate command works on: one source, or `all` of them in processing order.
/// `all` is a mode, never a source. There is no other mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Template questions.
    Template,
    /// Procedural questions.
    Procedural,
    /// LLM-written questions.
    LlmGen,
    /// template -> procedural -> llm_gen.
    All,
}

impl Mode {
    /// The sources this mode selects, in processing order.
    pub fn sources(self) -> Vec<Source> {
        match self {
            Mode::Template => vec![Source::Template],
            Mode::Procedural => vec![Source::Procedural],
            Mode::LlmGen => vec![Source::LlmGen],
            Mode::All => Source::ALL.to_vec(),
        }
    }
}

/// Serde helper: a [`std::time::Duration`] written as seconds (a number; fractions allowed).
pub mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the duration as seconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    /// Reads seconds (a non-negative number).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// Every setting of a run (SPEC 8.1), with the SPEC defaults.
///
/// Sources, strongest first: CLI flags (applied by the front end after loading), environment
/// variables `CSVAGENT_<KEY>` for top-level keys and `CSVAGENT_<SECTION>_<KEY>` for the
/// `[matching]`, `[llm]`, `[sandbox]` and `[split]` sections (plus the teacher variables
/// `CSVAGENT_TEACHER_URL`, `CSVAGENT_TEACHER_MODEL`, `CSVAGENT_TEACHER_API_KEY`,
/// `OPENAI_API_KEY`), the TOML config file (`--config`, default `csvagent.toml` if present), and
/// the built-in defaults. Unknown keys are errors naming the key and where it came from.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Turns per trace before the turn-limit message. By default 10.
    pub max_turns: usize,
    /// Consistency traces for an llm_gen question of unknown difficulty. By default 7.
    pub n_consistency: u32,
    /// Whether llm_gen difficulty picks the number of consistency traces. By default true.
    pub dynamic_triangulation: bool,
    /// Consistency traces per difficulty. By default EASY 2, MEDIUM 2, HARD 4, VERY_HARD 6.
    pub triangulation_by_difficulty: crate::verify::RunsByDifficulty,
    /// A majority cluster needs more than this fraction of the runs. By default 0.5.
    pub majority_fraction: f64,
    /// Write unverified episodes too (flagged `verified: false`). By default true.
    pub write_unverified: bool,
    /// Questions run at once per container (template, procedural). By default 8.
    pub episode_concurrency: usize,
    /// llm_gen questions per dataset. By default 30.
    pub num_questions: usize,
    /// Exploration turns of the question writer. By default 20.
    pub question_gen_max_turns: usize,
    /// Exploration turns before the question list is accepted. By default 3.
    pub min_exploration_turns: usize,
    /// Procedural questions kept per dataset. By default 50.
    pub procedural_max_per_dataset: usize,
    /// Seed of generation and sampling. By default 42.
    pub seed: u64,
    /// Upload splits. By default seed 42, 0.8 / 0.1 / 0.1.
    pub split: crate::publish::SplitConfig,
    /// The tolerant matcher (SPEC 2.3).
    pub matching: crate::verify::MatchingConfig,
    /// The teacher (SPEC 3.1).
    pub llm: crate::teacher::TeacherConfig,
    /// The sandbox (SPEC 4.2, 4.6).
    pub sandbox: crate::sandbox::SandboxConfig,
}

impl Default for Settings {
    fn default() -> Self {
        let tri = crate::verify::TriangulationConfig::default();
        Settings {
            max_turns: 10,
            n_consistency: tri.n_consistency,
            dynamic_triangulation: tri.dynamic_triangulation,
            triangulation_by_difficulty: tri.triangulation_by_difficulty,
            majority_fraction: tri.majority_fraction,
            write_unverified: true,
            episode_concurrency: 8,
            num_questions: 30,
            question_gen_max_turns: 20,
            min_exploration_turns: 3,
            procedural_max_per_dataset: 50,
            seed: 42,
            split: crate::publish::SplitConfig::default(),
            matching: crate::verify::MatchingConfig::default(),
            llm: crate::teacher::TeacherConfig::default(),
            sandbox: crate::sandbox::SandboxConfig::default(),
        }
    }
}

/// Environment variables that belong to csvagent but are not settings (front-end paths, the
/// teacher shortcuts, test and benchmark switches); so are all `CSVAGENT_BENCH_*`.
const NON_SETTING_ENV: [&str; 11] = [
    "CSVAGENT_DATA_DIR",
    "CSVAGENT_DATASETS",
    "CSVAGENT_TEACHER_URL",
    "CSVAGENT_TEACHER_MODEL",
    "CSVAGENT_TEACHER_API_KEY",
    "CSVAGENT_REQUIRE_ALL",
    "CSVAGENT_TEST_MODEL",
    "CSVAGENT_SHARED_DATASETS",
    "CSVAGENT_LOG",
    "CSVAGENT_GUI_TEST",
    "CSVAGENT_UPDATE_SCREENSHOTS",
];
const SECTIONS: [&str; 4] = ["matching", "llm", "sandbox", "split"];

impl Settings {
    /// Loads settings from an optional TOML file and the environment (see the type docs).
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming the file or environment variable and the key when
    /// the file cannot be read or parsed, or a key is unknown or has the wrong type.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> crate::Result<Settings> {
        use serde_json::{Map, Value};
        let invalid = |what: String, message: String| crate::Error::InvalidInput { what, message };
        let mut root = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
                let table: toml::Table = toml::from_str(&text).map_err(|e| {
                    invalid(format!("config file `{}`", path.display()), e.to_string())
                })?;
                let value = serde_json::to_value(table).map_err(|e| {
                    invalid(format!("config file `{}`", path.display()), e.to_string())
                })?;
                check(&value)
                    .map_err(|m| invalid(format!("config file `{}`", path.display()), m))?;
                value
            }
            None => Value::Object(Map::new()),
        };
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("CSVAGENT_"))
            .collect();
        env.sort();
        for (name, raw) in env {
            if NON_SETTING_ENV.contains(&name.as_str()) || name.starts_with("CSVAGENT_BENCH_") {
                continue;
            }
            let key = name["CSVAGENT_".len()..].to_lowercase();
            let section = SECTIONS.iter().find(|s| key.starts_with(&format!("{s}_")));
            let single = |value: Value| -> Value {
                let mut single = Map::new();
                match section {
                    Some(section) => {
                        let mut inner = Map::new();
                        inner.insert(key[section.len() + 1..].to_owned(), value);
                        single.insert((*section).to_owned(), Value::Object(inner));
                    }
                    None => {
                        single.insert(key.clone(), value);
                    }
                }
                Value::Object(single)
            };
            // A value is read as JSON (`8`, `true`, `0.5`, `[...]`) when that fits the setting,
            // else as the plain string (`CSVAGENT_LLM_MODEL=123` is the model named "123").
            let as_string = Value::String(raw.clone());
            let value = match serde_json::from_str::<Value>(&raw) {
                Ok(json) if check(&single(json.clone())).is_ok() => json,
                _ => {
                    check(&single(as_string.clone()))
                        .map_err(|m| invalid(format!("environment variable `{name}`"), m))?;
                    as_string
                }
            };
            match section {
                Some(section) => {
                    let target = root.as_object_mut().and_then(|r| {
                        r.entry((*section).to_owned())
                            .or_insert_with(|| Value::Object(Map::new()))
                            .as_object_mut()
                    });
                    if let Some(t) = target {
                        t.insert(key[section.len() + 1..].to_owned(), value);
                    }
                }
                None => {
                    if let Some(r) = root.as_object_mut() {
                        r.insert(key, value);
                    }
                }
            }
        }
        let settings: Settings = serde_json::from_value(root)
            .map_err(|e| invalid("configuration".into(), e.to_string()))?;
        settings.validate().map_err(|e| match (e, file) {
            (crate::Error::InvalidInput { what, message }, Some(path)) => {
                crate::Error::InvalidInput {
                    what: format!("{what}, or in config file `{}`", path.display()),
                    message,
                }
            }
            (e, _) => e,
        })?;
        Ok(settings)
    }

    /// Checks that numeric settings are in range: turn, trace, question, container and worker
    /// counts at least 1; `majority_fraction` in `[0, 1)`; sandbox timeouts above zero;
    /// matcher tolerances 0 or more; split fractions summing to 1; the teacher values
    /// ([`crate::teacher::TeacherConfig::validate_values`]).
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming the setting (as a config key and as its
    /// `CSVAGENT_*` variable), the value and the valid range.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |key: &str, value: String, valid: &str| {
            let var = format!("CSVAGENT_{}", key.replace('.', "_").to_uppercase());
            Err(crate::Error::InvalidInput {
                what: format!("setting `{key}` ({var})"),
                message: format!("{value} is out of range: {valid}"),
            })
        };
        let counts = [
            ("max_turns", self.max_turns),
            ("n_consistency", self.n_consistency as usize),
            ("episode_concurrency", self.episode_concurrency),
            ("num_questions", self.num_questions),
            ("question_gen_max_turns", self.question_gen_max_turns),
            (
                "procedural_max_per_dataset",
                self.procedural_max_per_dataset,
            ),
            (
                "sandbox.workers_per_container",
                self.sandbox.workers_per_container,
            ),
            ("sandbox.max_containers", self.sandbox.max_containers),
        ];
        for (key, value) in counts {
            if value == 0 {
                return bad(key, "0".into(), "it must be at least 1");
            }
        }
        if !(0.0..1.0).contains(&self.majority_fraction) {
            return bad(
                "majority_fraction",
                self.majority_fraction.to_string(),
                "it must be at least 0 and below 1 (a majority needs more than this fraction of the traces)",
            );
        }
        let timeouts = [
            ("sandbox.exec_timeout", self.sandbox.exec_timeout),
            ("sandbox.reference_timeout", self.sandbox.reference_timeout),
            ("sandbox.start_timeout", self.sandbox.start_timeout),
            ("sandbox.load_timeout", self.sandbox.load_timeout),
        ];
        for (key, value) in timeouts {
            if value.is_zero() {
                return bad(key, "0".into(), "a timeout must be above 0 seconds");
            }
        }
        let tolerances = [
            ("matching.float_rel_tol", self.matching.float_rel_tol),
            ("matching.float_abs_tol", self.matching.float_abs_tol),
            ("matching.p_value_abs_tol", self.matching.p_value_abs_tol),
            ("matching.p_value_rel_tol", self.matching.p_value_rel_tol),
        ];
        for (key, value) in tolerances {
            if !(value.is_finite() && value >= 0.0) {
                return bad(key, value.to_string(), "a tolerance must be 0 or more");
            }
        }
        if let Err(e) = self.split.validate() {
            return Err(crate::Error::InvalidInput {
                what: "settings `split.train`, `split.validation`, `split.test` \
                       (CSVAGENT_SPLIT_TRAIN, ...)"
                    .to_owned(),
                message: e.to_string(),
            });
        }
        if let Err(crate::teacher::TeacherError::Config { field, message }) =
            self.llm.validate_values()
        {
            return Err(crate::Error::InvalidInput {
                what: format!(
                    "setting `llm.{field}` (CSVAGENT_LLM_{})",
                    field.to_uppercase()
                ),
                message,
            });
        }
        Ok(())
    }

    /// The triangulation settings these settings imply.
    pub fn triangulation(&self) -> crate::verify::TriangulationConfig {
        crate::verify::TriangulationConfig {
            n_consistency: self.n_consistency,
            dynamic_triangulation: self.dynamic_triangulation,
            triangulation_by_difficulty: self.triangulation_by_difficulty,
            majority_fraction: self.majority_fraction,
            n_consistency_override: None,
        }
    }
}

/// Deserialises `value` alone into [`Settings`] to check its keys and types.
fn check(value: &serde_json::Value) -> Result<(), String> {
    serde_path_to_error::deserialize::<_, Settings>(value.clone())
        .map(|_| ())
        .map_err(|e| match e.path().to_string().as_str() {
            "." | "" => e.inner().to_string(),
            // serde's message quotes the value: never for a secret.
            path if path.ends_with("api_key") => {
                format!("key `{path}`: expected a string (the value is not shown)")
            }
            path => format!("key `{path}`: {}", e.inner()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_spec() {
        let s = Settings::load(None, Vec::new()).unwrap();
        assert_eq!(
            (
                s.max_turns,
                s.n_consistency,
                s.episode_concurrency,
                s.num_questions
            ),
            (10, 7, 8, 30)
        );
        assert_eq!(
            (s.procedural_max_per_dataset, s.seed, s.majority_fraction),
            (50, 42, 0.5)
        );
        assert!(s.write_unverified && s.dynamic_triangulation);
    }

    #[test]
    fn env_beats_file_and_sections_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("csvagent.toml");
        std::fs::write(
            &f,
            "max_turns = 5\nseed = 7\n[matching]\nfloat_rel_tol = 0.01\n",
        )
        .unwrap();
        let s = Settings::load(
            Some(&f),
            env(&[
                ("CSVAGENT_MAX_TURNS", "12"),
                ("CSVAGENT_MATCHING_FLOAT_ABS_TOL", "0.5"),
                ("CSVAGENT_TEST_MODEL", "x"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!((s.max_turns, s.seed), (12, 7));
        assert_eq!(
            (s.matching.float_rel_tol, s.matching.float_abs_tol),
            (0.01, 0.5)
        );
    }

    #[test]
    fn unknown_keys_name_their_origin() {
        let err = Settings::load(None, env(&[("CSVAGENT_MAX_TURN", "3")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("environment variable `CSVAGENT_MAX_TURN`")
                && err.contains("unknown field `max_turn`"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[sandbox]\nmemory = 3\n").unwrap();
        let err = Settings::load(Some(&f), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.toml") && err.contains("unknown field `memory`"),
            "{err}"
        );
        let err = Settings::load(None, env(&[("CSVAGENT_MAX_TURNS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CSVAGENT_MAX_TURNS") && err.contains("invalid type"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_settings_name_the_setting_and_the_valid_range() {
        let err = Settings::load(None, [("CSVAGENT_MAX_TURNS".to_owned(), "0".to_owned())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`max_turns` (CSVAGENT_MAX_TURNS)") && err.contains("at least 1"),
            "{err}"
        );
        let err = Settings::load(
            None,
            [("CSVAGENT_MAJORITY_FRACTION".to_owned(), "2.5".to_owned())],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("majority_fraction") && err.contains("2.5") && err.contains("below 1"),
            "{err}"
        );
        let err = Settings::load(
            None,
            [("CSVAGENT_SANDBOX_MAX_CONTAINERS".to_owned(), "0".to_owned())],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CSVAGENT_SANDBOX_MAX_CONTAINERS"), "{err}");
        assert!(
            Settings::load(
                None,
                [("CSVAGENT_MAJORITY_FRACTION".to_owned(), "0.6".to_owned())]
            )
            .is_ok()
        );
    }

    #[test]
    fn a_wrong_type_in_the_config_file_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("csvagent.toml");
        std::fs::write(
            &path,
            "max_turns = 3\n[sandbox]\nmax_containers = \"many\"\n",
        )
        .unwrap();
        let err = Settings::load(Some(&path), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("csvagent.toml") && err.contains("key `sandbox.max_containers`"),
            "{err}"
        );
    }
}
