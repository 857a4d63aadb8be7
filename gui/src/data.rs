//! Datasets, questions and episodes: read-only views over the data directory (SDK readers only).

use std::collections::BTreeMap;
use std::path::PathBuf;

use csvagent_sdk::ErrorCode;
use csvagent_sdk::dataset::{Catalog, Profile, cached_profile, profile_with_cache};
use csvagent_sdk::events::EventSink;
use csvagent_sdk::record::parse_source;
use csvagent_sdk::sandbox::SandboxPool;
use csvagent_sdk::schema::{Episode, Question, Source};
use csvagent_sdk::status::{Snapshot, difficulty_name};
use serde::Serialize;

use crate::config::AppConfig;
use crate::error::{CommandError, CommandResult, sdk};

/// One row of the Datasets view: a usable dataset, or a skipped one with its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetRow {
    /// Folder name.
    pub name: String,
    /// Whether discovery accepted it.
    pub usable: bool,
    /// `meta.json` title.
    pub title: Option<String>,
    /// Kaggle `ref` (`owner/slug`).
    pub reference: Option<String>,
    /// Data rows (usable datasets).
    pub rows: Option<u64>,
    /// Columns (usable datasets).
    pub columns: Option<u64>,
    /// Detected encoding.
    pub encoding: Option<String>,
    /// Detected delimiter (`comma`, `tab`, `semicolon`, `pipe` or the character).
    pub delimiter: Option<String>,
    /// `dataset_hash` (SHA-256 of the CSV bytes).
    pub dataset_hash: Option<String>,
    /// Why it was skipped.
    pub reason: Option<String>,
    /// Questions on disk per source (`template`, `procedural`, `llm_gen`).
    pub questions: BTreeMap<String, usize>,
    /// Episodes on disk per source.
    pub episodes: BTreeMap<String, usize>,
    /// Verified episodes per source.
    pub verified: BTreeMap<String, usize>,
}

/// The Datasets view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetList {
    /// The datasets directory listed.
    pub dir: PathBuf,
    /// Every discovered dataset, usable and skipped, sorted by name.
    pub datasets: Vec<DatasetRow>,
}

/// Human name of a delimiter, as the CLI prints it.
pub fn delimiter_name(d: char) -> String {
    match d {
        '\t' => "tab".into(),
        ',' => "comma".into(),
        ';' => "semicolon".into(),
        '|' => "pipe".into(),
        other => format!("{other:?}"),
    }
}

fn parse_opt_source(source: Option<&str>) -> CommandResult<Vec<Source>> {
    match source.map(str::trim) {
        None | Some("") | Some("all") => Ok(Source::ALL.to_vec()),
        Some(s) => parse_source(s)
            .map(|s| vec![s])
            .map_err(|e| CommandError::new(ErrorCode::InvalidInput, e.to_string())),
    }
}

/// Lists the datasets of `config.datasets_dir` with shapes, dialects and per-source counts.
///
/// # Errors
/// `dataset` when the directory cannot be read or a CSV cannot be counted.
pub fn list_datasets(config: &AppConfig) -> CommandResult<DatasetList> {
    let catalog = Catalog::discover(&config.datasets_dir).map_err(sdk)?;
    let snap = Snapshot::read(&config.layout(), &config.datasets_dir);
    let counts = |name: &str| {
        let mut q = BTreeMap::new();
        let mut e = BTreeMap::new();
        let mut v = BTreeMap::new();
        for source in Source::ALL {
            let key = source.as_str().to_owned();
            let nq = snap
                .questions
                .get(&source)
                .and_then(|m| m.get(name))
                .map_or(0, Vec::len);
            let eps: Vec<&Episode> = snap
                .episodes
                .get(&source)
                .into_iter()
                .flatten()
                .filter(|ep| ep.question.dataset.as_deref() == Some(name))
                .collect();
            q.insert(key.clone(), nq);
            e.insert(key.clone(), eps.len());
            v.insert(key, eps.iter().filter(|ep| ep.verified).count());
        }
        (q, e, v)
    };
    let mut rows = Vec::new();
    for ds in &catalog.datasets {
        let shape = ds.host_shape().map_err(sdk)?;
        let meta = serde_json::to_value(&ds.meta).unwrap_or_default();
        let text = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let (questions, episodes, verified) = counts(&ds.name);
        rows.push(DatasetRow {
            name: ds.name.clone(),
            usable: true,
            title: text("title"),
            reference: text("ref"),
            rows: Some(shape.rows),
            columns: Some(shape.columns),
            encoding: Some(ds.dialect.encoding.clone()),
            delimiter: Some(delimiter_name(ds.dialect.delimiter)),
            dataset_hash: Some(ds.dataset_hash.clone()),
            reason: None,
            questions,
            episodes,
            verified,
        });
    }
    for s in &catalog.skipped {
        let (questions, episodes, verified) = counts(&s.name);
        rows.push(DatasetRow {
            name: s.name.clone(),
            usable: false,
            title: None,
            reference: None,
            rows: None,
            columns: None,
            encoding: None,
            delimiter: None,
            dataset_hash: None,
            reason: Some(s.reason.clone()),
            questions,
            episodes,
            verified,
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(DatasetList {
        dir: catalog.dir.clone(),
        datasets: rows,
    })
}

/// The profile view of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileView {
    /// Folder name.
    pub name: String,
    /// The description the teacher sees.
    pub description: String,
    /// Column profile, correlations, quality alerts and the first rows (`sample_head`).
    pub profile: Profile,
    /// Whether the profile came from the cache (no container started).
    pub cached: bool,
}

/// Profiles dataset `name` in the sandbox (one container), or returns the cached profile, as
/// `csvagent datasets profile` does.
///
/// # Errors
/// `not_found` for an unknown dataset; `docker` when the sandbox cannot start.
pub async fn profile_dataset(config: &AppConfig, name: &str) -> CommandResult<ProfileView> {
    let catalog = Catalog::discover(&config.datasets_dir).map_err(sdk)?;
    let ds = catalog.get(name).map_err(sdk)?;
    let mut cfg = config.settings()?.sandbox;
    cfg.datasets_root = config.datasets_dir.clone();
    cfg.max_containers = 1;
    let layout = config.layout();
    let pool = SandboxPool::new(cfg, EventSink::discard());
    let result: csvagent_sdk::Result<(Profile, bool)> = async {
        pool.start().await?;
        let tag = pool.provenance().map(|p| p.image_tag).unwrap_or_default();
        if let Some(p) = cached_profile(&layout, ds, &tag) {
            return Ok((p, true));
        }
        let lease = pool.acquire(&ds.load_spec()).await?;
        Ok((profile_with_cache(&layout, ds, &lease, &tag).await?, false))
    }
    .await;
    pool.stop().await;
    let (profile, cached) = result.map_err(sdk)?;
    Ok(ProfileView {
        name: ds.name.clone(),
        description: ds.description.clone(),
        profile,
        cached,
    })
}

/// The Questions view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionList {
    /// Matching questions, by source (processing order) then dataset name.
    pub questions: Vec<Question>,
    /// Source -> difficulty (`EASY` ... `VERY_HARD`, `unknown`) -> count, over the matches.
    pub by_difficulty: BTreeMap<String, BTreeMap<String, usize>>,
    /// Question files that could not be read (path and reason).
    pub malformed: Vec<String>,
}

/// Questions of `source` (`template`, `procedural`, `llm_gen`; none or `all` for every source),
/// optionally of one dataset.
///
/// # Errors
/// `invalid_input` for an unknown source.
pub fn list_questions(
    config: &AppConfig,
    source: Option<&str>,
    dataset: Option<&str>,
) -> CommandResult<QuestionList> {
    let sources = parse_opt_source(source)?;
    let snap = Snapshot::read(&config.layout(), &config.datasets_dir);
    let mut questions = Vec::new();
    let mut by_difficulty: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for s in sources {
        let counts = by_difficulty.entry(s.as_str().to_owned()).or_default();
        for (name, qs) in snap.questions.get(&s).into_iter().flatten() {
            if dataset.is_some_and(|d| !d.is_empty() && d != name) {
                continue;
            }
            for q in qs {
                *counts.entry(difficulty_name(q.difficulty)).or_default() += 1;
                questions.push(q.clone());
            }
        }
    }
    Ok(QuestionList {
        questions,
        by_difficulty,
        malformed: snap.malformed.clone(),
    })
}

/// One row of the Episodes list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeSummary {
    /// Episode id.
    pub episode_id: String,
    /// Source.
    pub source: Source,
    /// Dataset name.
    pub dataset: Option<String>,
    /// Question id.
    pub question_id: String,
    /// Question wording.
    pub question_text: String,
    /// Difficulty name.
    pub difficulty: String,
    /// Whether it verified.
    pub verified: bool,
    /// Gold-trace turns.
    pub turns: usize,
    /// Verification method (`ground_truth`, `triangulation`, ...).
    pub method: String,
    /// Verification error, if any.
    pub error: Option<String>,
    /// RFC 3339 timestamp.
    pub timestamp: String,
}

/// Episodes of `source` (none or `all`: every source) filtered by `verified` and `dataset`.
///
/// # Errors
/// `invalid_input` for an unknown source.
pub fn list_episodes(
    config: &AppConfig,
    source: Option<&str>,
    verified: Option<bool>,
    dataset: Option<&str>,
) -> CommandResult<Vec<EpisodeSummary>> {
    let sources = parse_opt_source(source)?;
    let snap = Snapshot::read(&config.layout(), &config.datasets_dir);
    let mut out = Vec::new();
    for s in sources {
        for e in snap.episodes.get(&s).into_iter().flatten() {
            if verified.is_some_and(|v| v != e.verified) {
                continue;
            }
            if dataset.is_some_and(|d| !d.is_empty() && e.question.dataset.as_deref() != Some(d)) {
                continue;
            }
            let v = serde_json::to_value(&e.verification).unwrap_or_default();
            out.push(EpisodeSummary {
                episode_id: e.episode_id.clone(),
                source: s,
                dataset: e.question.dataset.clone(),
                question_id: e.question.id.clone(),
                question_text: e.question.question_text.clone(),
                difficulty: difficulty_name(e.question.difficulty),
                verified: e.verified,
                turns: e.gold_trace.turns.len(),
                method: v
                    .get("method")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_owned(),
                error: v.get("error").and_then(|m| m.as_str()).map(str::to_owned),
                timestamp: e.timestamp.clone(),
            });
        }
    }
    Ok(out)
}

/// The full episode `episode_id` (gold and consistency traces, verification, triangulation,
/// timing), for the trace viewer.
///
/// # Errors
/// `not_found` when no episode file holds that id.
pub fn get_episode(config: &AppConfig, episode_id: &str) -> CommandResult<Episode> {
    let snap = Snapshot::read(&config.layout(), &config.datasets_dir);
    snap.episodes
        .values()
        .flatten()
        .find(|e| e.episode_id == episode_id)
        .cloned()
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::NotFound,
                format!(
                    "episode `{episode_id}` not found in `{}`",
                    config.data_dir.display()
                ),
            )
        })
}
