//! Staging (SPEC 9.1-9.4): select episodes, split them by dataset, write exactly the tree to
//! push under `<data-dir>/upload/<org>__<name>/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::card::{self, CardInput};
use super::options::UploadOptions;
use super::parquet::{encode_episodes, encode_questions};
use super::rows::{EpisodeRow, QuestionRow};
use super::split::{Split, assign_split};
use super::{PublishError, RepoId};
use crate::events::{Event, EventSink, LogLevel};
use crate::record::{DataLayout, distinct_episodes, load_questions, read_jsonl};
use crate::schema::{DatasetMeta, Episode, Source};
use crate::verify::sha256_hex;

/// One file of the staged tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StagedFile {
    /// Path inside the repository, `/`-separated (`data/template/train-00000-of-00001.parquet`).
    pub path_in_repo: String,
    /// Where the file is on disk (under the staging directory).
    pub local_path: PathBuf,
    /// Size in bytes.
    pub size_bytes: u64,
    /// SHA-256 of the content, 64 lowercase hex.
    pub sha256: String,
}

/// Episode rows of one split of one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SplitCounts {
    /// Rows in the split.
    pub episodes: u64,
    /// Rows with `verified: true`.
    pub verified: u64,
}

/// What staging found and selected for one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// The source.
    pub source: Source,
    /// Episode lines in `episodes/<source>.jsonl`, before selection.
    pub episodes_read: u64,
    /// The 1-based number of an incomplete last line of `episodes/<source>.jsonl` (a write
    /// interrupted by a crash or Ctrl-C), which was skipped; the next run repairs the file.
    pub torn_line: Option<usize>,
    /// Lines that repeat an earlier line's episode exactly (same id and record), skipped.
    pub repeated_lines: Vec<usize>,
    /// Of those, how many verified.
    pub verified_read: u64,
    /// Selected rows per split (only splits with rows).
    pub splits: BTreeMap<Split, SplitCounts>,
    /// Questions staged for the source (all datasets).
    pub questions: u64,
}

impl SourceSummary {
    /// Selected episode rows over all splits.
    pub fn rows(&self) -> u64 {
        self.splits.values().map(|c| c.episodes).sum()
    }

    /// Selected verified rows over all splits.
    pub fn verified_rows(&self) -> u64 {
        self.splits.values().map(|c| c.verified).sum()
    }
}

/// A dataset the staged episodes use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetSummary {
    /// Folder name.
    pub name: String,
    /// The hash the split was drawn from.
    pub dataset_hash: String,
    /// Its split.
    pub split: Split,
    /// Selected episode rows on it.
    pub episodes: u64,
    /// `meta.json` title (trimmed).
    pub title: Option<String>,
    /// Kaggle `ref` (`owner/slug`).
    pub reference: Option<String>,
    /// Dataset page.
    pub url: Option<String>,
    /// Licence names.
    pub licenses: Vec<String>,
}

/// The staged tree: exactly what [`upload`](super::upload) pushes. Serialisable for the
/// desktop app's preview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StagedUpload {
    /// The target repository.
    pub repo: RepoId,
    /// The staging directory, `<data-dir>/upload/<org>__<name>/` (for a dry run, where the
    /// files would be: nothing is written there).
    pub dir: PathBuf,
    /// Every file, sorted by repository path.
    pub files: Vec<StagedFile>,
    /// Per source, in processing order (only the sources considered).
    pub sources: Vec<SourceSummary>,
    /// The datasets used, sorted by name.
    pub datasets: Vec<DatasetSummary>,
    /// The dataset card text (`README.md`).
    pub card: String,
    /// Staged as a dry run: the files were only encoded, not written, so this cannot be pushed.
    pub dry_run: bool,
}

impl StagedUpload {
    /// Selected episode rows over all sources.
    pub fn total_rows(&self) -> u64 {
        self.sources.iter().map(SourceSummary::rows).sum()
    }

    /// Total size of the staged files in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size_bytes).sum()
    }

    /// The commit message: `csvagent upload: <n> episodes (<source> <n>, ...), <q> questions,
    /// <d> datasets`.
    pub fn commit_message(&self) -> String {
        let per_source: Vec<String> = self
            .sources
            .iter()
            .filter(|s| s.rows() > 0)
            .map(|s| format!("{} {}", s.source.as_str(), s.rows()))
            .collect();
        let questions: u64 = self.sources.iter().map(|s| s.questions).sum();
        format!(
            "csvagent upload: {} episodes ({}), {questions} questions, {} datasets",
            self.total_rows(),
            per_source.join(", "),
            self.datasets.len()
        )
    }

    /// A longer commit description: rows per source and split.
    pub fn commit_description(&self) -> String {
        let mut lines = Vec::new();
        for s in self.sources.iter().filter(|s| s.rows() > 0) {
            let splits: Vec<String> = s
                .splits
                .iter()
                .map(|(split, c)| format!("{split} {}", c.episodes))
                .collect();
            lines.push(format!("{}: {}", s.source.as_str(), splits.join(", ")));
        }
        lines.join("\n")
    }
}

/// A selected episode and where it came from.
struct Selected {
    episode: Episode,
    dataset: String,
}

/// Stages an upload: reads `episodes/<source>.jsonl` and `questions/<source>/*/questions.json`
/// under `layout`, and `meta.json` (and with `include_csvs`, `data.csv`) under `datasets_dir`;
/// writes the repository tree under `layout.upload_staging(org, name)` (removing what was
/// there), and returns the file list, counts and card. With `opts.dry_run` the tree is only
/// encoded in memory (for the sizes and hashes) and nothing is written or removed.
///
/// An incomplete last line of an episodes file (an interrupted write) is skipped with a
/// warning and reported in [`SourceSummary::torn_line`], so is a line repeating an earlier
/// episode exactly ([`SourceSummary::repeated_lines`]); any other corrupt line, or two different
/// records under one `episode_id`, is an error.
///
/// Selection: the sources in `opts.sources` (default: all), episodes with `verified: true`
/// unless `verified_only` is off. Splits are by dataset (SPEC 9.2), drawn from the first
/// `dataset_hash` recorded on the dataset's episodes, or from the SHA-256 of its `data.csv` when
/// none is recorded. Rows are ordered by dataset, question id, timestamp and episode id, so the
/// same inputs give byte-identical files. Blocking (file I/O and Parquet encoding): call it from
/// `spawn_blocking` in async code. Progress goes to `events` as `Event::Upload { phase:
/// "staging" }`.
///
/// # Errors
/// - [`PublishError::InvalidLicense`], [`PublishError::InvalidRevision`],
///   [`PublishError::InvalidSplit`]: options the Hub would refuse (see
///   [`UploadOptions::validate`]), checked before anything is read;
/// - [`PublishError::CorruptEpisodes`]: a corrupt or contract-breaking episode line (names the
///   file and line);
/// - [`PublishError::Questions`]: a malformed `questions.json`;
/// - [`PublishError::EpisodeWithoutDataset`], [`PublishError::MissingDatasetHash`],
///   [`PublishError::MissingCsv`], [`PublishError::Meta`]: an episode or dataset that cannot
///   be placed or described;
/// - [`PublishError::NothingToUpload`]: no episode was selected;
/// - [`PublishError::Io`], [`PublishError::Parquet`], [`PublishError::Card`]: writing failed.
pub fn stage(
    layout: &DataLayout,
    datasets_dir: &Path,
    opts: &UploadOptions,
    events: &EventSink,
) -> Result<StagedUpload, PublishError> {
    opts.validate()?;
    let considered: Vec<Source> = match &opts.sources {
        Some(list) => Source::ALL
            .into_iter()
            .filter(|s| list.contains(s))
            .collect(),
        None => Source::ALL.to_vec(),
    };

    // 1. Read and select episodes.
    let mut summaries = Vec::new();
    let mut selected: BTreeMap<Source, Vec<Selected>> = BTreeMap::new();
    for &source in &considered {
        let path = layout.episodes_file(source);
        let read = read_jsonl::<Episode>(&path).map_err(|e| PublishError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        if let Some(bad) = read.errors.first() {
            return Err(PublishError::CorruptEpisodes {
                path: bad.path.clone(),
                line: bad.line,
                message: bad.message.clone(),
            });
        }
        if let Some(torn) = &read.torn_tail {
            tracing::warn!(
                file = %torn.path.display(),
                line = torn.line,
                "skipping the incomplete last line (an interrupted write; the next run repairs it)"
            );
        }
        let mut summary = SourceSummary {
            source,
            torn_line: read.torn_tail.as_ref().map(|t| t.line),
            repeated_lines: Vec::new(),
            episodes_read: 0,
            verified_read: 0,
            splits: BTreeMap::new(),
            questions: 0,
        };
        let mut chosen = Vec::new();
        // The same episode written twice (a line copied by hand) is published once; two
        // different records under one id are a corrupt file.
        let distinct = distinct_episodes(&path, read.records);
        if let Some(bad) = distinct.conflicts.first() {
            return Err(PublishError::CorruptEpisodes {
                path: bad.path.clone(),
                line: bad.line,
                message: bad.message.clone(),
            });
        }
        for line in &distinct.repeated {
            tracing::warn!(file = %path.display(), line, "skipping a repeated episode line");
        }
        summary.repeated_lines = distinct.repeated;
        for (line, episode) in distinct.episodes {
            summary.episodes_read += 1;
            summary.verified_read += u64::from(episode.verified);
            if opts.verified_only && !episode.verified {
                continue;
            }
            let dataset =
                episode_dataset(&episode).ok_or_else(|| PublishError::EpisodeWithoutDataset {
                    path: path.clone(),
                    line,
                    episode_id: episode.episode_id.clone(),
                })?;
            chosen.push(Selected { episode, dataset });
        }
        summaries.push(summary);
        selected.insert(source, chosen);
    }
    let total: usize = selected.values().map(Vec::len).sum();
    if total == 0 {
        return Err(PublishError::NothingToUpload {
            sources: considered.iter().map(|s| s.as_str().to_owned()).collect(),
            verified_only: opts.verified_only,
        });
    }

    // 2. One hash and one split per dataset.
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in selected.values().flatten() {
        let hashes = recorded.entry(s.dataset.clone()).or_default();
        if let Some(h) = &s.episode.dataset_hash
            && !hashes.contains(h)
        {
            hashes.push(h.clone());
        }
    }
    let mut datasets: BTreeMap<String, DatasetSummary> = BTreeMap::new();
    let mut tags = BTreeSet::new();
    for (name, hashes) in &recorded {
        let csv = datasets_dir.join(name).join("data.csv");
        let hash = match hashes.first() {
            Some(h) => h.clone(),
            None => {
                let bytes = std::fs::read(&csv).map_err(|_| PublishError::MissingDatasetHash {
                    dataset: name.clone(),
                    path: csv.clone(),
                })?;
                sha256_hex(&bytes)
            }
        };
        if hashes.len() > 1 {
            events.emit_now(Event::Log {
                level: LogLevel::Warn,
                msg: format!(
                    "dataset `{name}`: episodes were made on {} different versions of its CSV; \
                     its split is drawn from the first ({})",
                    hashes.len(),
                    &hash[..hash.len().min(12)]
                ),
            });
        }
        let meta = read_meta(datasets_dir, name)?.unwrap_or_default();
        tags.extend(keywords(&meta));
        datasets.insert(
            name.clone(),
            DatasetSummary {
                name: name.clone(),
                split: assign_split(&opts.split, &hash),
                dataset_hash: hash,
                episodes: 0,
                title: meta
                    .title
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
                reference: meta.ref_.clone(),
                url: meta.url.clone(),
                licenses: meta
                    .licenses
                    .iter()
                    .flatten()
                    .map(|l| l.name.clone())
                    .collect(),
            },
        );
    }

    // 3. Rows per source and split; card facts.
    let mut rows: BTreeMap<(Source, Split), Vec<EpisodeRow>> = BTreeMap::new();
    let mut models: BTreeMap<String, u64> = BTreeMap::new();
    let mut versions = BTreeSet::new();
    let mut images: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (source, chosen) in &selected {
        for s in chosen {
            let Some(d) = datasets.get_mut(&s.dataset) else {
                continue;
            };
            d.episodes += 1;
            let hash = s.episode.dataset_hash.as_deref().unwrap_or(&d.dataset_hash);
            let row = EpisodeRow::from_episode(&s.episode, &s.dataset, hash);
            rows.entry((*source, d.split)).or_default().push(row);
            if let Some(m) = &s.episode.model {
                let key = format!(
                    "`{}` ({}), temperature {}, top_p {}, max_tokens {}",
                    m.name,
                    m.base_url_host.as_deref().unwrap_or("host not recorded"),
                    m.temperature,
                    m.top_p,
                    m.max_tokens
                );
                *models.entry(key).or_default() += 1;
            }
            if let Some(p) = &s.episode.provenance {
                versions.insert(p.csvagent_version.clone());
                images
                    .entry(p.image_tag.clone())
                    .or_default()
                    .extend(p.versions.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }
    for group in rows.values_mut() {
        group.sort_by(|a, b| {
            (&a.dataset, &a.question_id, &a.timestamp, &a.episode_id).cmp(&(
                &b.dataset,
                &b.question_id,
                &b.timestamp,
                &b.episode_id,
            ))
        });
    }
    for summary in &mut summaries {
        for split in Split::ALL {
            if let Some(group) = rows.get(&(summary.source, split)) {
                summary.splits.insert(
                    split,
                    SplitCounts {
                        episodes: group.len() as u64,
                        verified: group.iter().filter(|r| r.verified).count() as u64,
                    },
                );
            }
        }
    }

    // 4. Questions of every source with rows.
    let mut questions: BTreeMap<Source, Vec<QuestionRow>> = BTreeMap::new();
    for summary in summaries.iter_mut().filter(|s| s.rows() > 0) {
        let q = read_source_questions(layout, summary.source)?;
        summary.questions = q.len() as u64;
        if !q.is_empty() {
            questions.insert(summary.source, q);
        }
    }

    // 5. Write the tree (a dry run only encodes it, for the sizes and hashes).
    let dir = layout.upload_staging(opts.repo.org(), opts.repo.name());
    if !opts.dry_run && dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| PublishError::io(&dir, e))?;
    }
    let mut planned: Vec<(String, Content)> = Vec::new();
    for ((source, split), group) in &rows {
        let prefix = format!("data/{}/{}", source.as_str(), split.as_str());
        for (path, shard) in shards(&prefix, group, EPISODES_PER_FILE) {
            planned.push((path, Content::Episodes(shard)));
        }
    }
    for (source, q) in &questions {
        let prefix = format!("questions/{}", source.as_str());
        for (path, shard) in shards(&prefix, q, QUESTIONS_PER_FILE) {
            planned.push((path, Content::Questions(shard)));
        }
    }
    if opts.include_csvs {
        for name in datasets.keys() {
            let csv = datasets_dir.join(name).join("data.csv");
            if !csv.is_file() {
                return Err(PublishError::MissingCsv {
                    dataset: name.clone(),
                    path: csv,
                });
            }
            planned.push((format!("datasets/{name}/data.csv"), Content::Copy(csv)));
            let meta = datasets_dir.join(name).join("meta.json");
            if meta.is_file() {
                planned.push((format!("datasets/{name}/meta.json"), Content::Copy(meta)));
            }
        }
    }
    let dataset_list: Vec<DatasetSummary> = datasets.into_values().collect();
    let card_text = card::render(&CardInput {
        pretty_name: opts
            .pretty_name
            .clone()
            .unwrap_or_else(|| format!("{} (csvagent)", opts.repo.name())),
        license: &opts.license,
        repo: opts.repo.to_string(),
        verified_only: opts.verified_only,
        split_seed: opts.split.seed,
        sources: &summaries,
        datasets: &dataset_list,
        keywords: tags,
        models,
        csvagent_versions: versions,
        images,
        include_csvs: opts.include_csvs,
    })?;
    planned.push(("README.md".to_owned(), Content::Text(&card_text)));
    planned.sort_by(|a, b| a.0.cmp(&b.0));

    let total_files = planned.len() as u64;
    let mut files = Vec::with_capacity(planned.len());
    for (done, (path_in_repo, content)) in planned.into_iter().enumerate() {
        let local_path = dir.join(&path_in_repo);
        let bytes = match content {
            Content::Episodes(group) => encode_episodes(&local_path, group)?,
            Content::Questions(q) => encode_questions(&local_path, q)?,
            Content::Copy(from) => std::fs::read(&from).map_err(|e| PublishError::io(&from, e))?,
            Content::Text(text) => text.as_bytes().to_vec(),
        };
        if !opts.dry_run {
            if let Some(parent) = local_path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| PublishError::io(parent, e))?;
            }
            std::fs::write(&local_path, &bytes).map_err(|e| PublishError::io(&local_path, e))?;
        }
        files.push(StagedFile {
            path_in_repo,
            local_path,
            size_bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
        events.emit_now(Event::Upload {
            phase: "staging".to_owned(),
            done: done as u64 + 1,
            total: total_files,
        });
    }
    tracing::debug!(repo = %opts.repo, files = files.len(), "staged upload");
    Ok(StagedUpload {
        repo: opts.repo.clone(),
        dir,
        files,
        sources: summaries,
        datasets: dataset_list,
        card: card_text,
        dry_run: opts.dry_run,
    })
}

/// Episode rows per Parquet file: keeps files well under the Hub's recommended shard size even
/// with long transcripts.
const EPISODES_PER_FILE: usize = 10_000;

/// Question rows per Parquet file.
const QUESTIONS_PER_FILE: usize = 100_000;

/// `<prefix>-00000-of-0000N.parquet` paths over chunks of at most `per_file` rows.
fn shards<'a, T>(prefix: &str, rows: &'a [T], per_file: usize) -> Vec<(String, &'a [T])> {
    let chunks: Vec<&[T]> = rows.chunks(per_file.max(1)).collect();
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| (format!("{prefix}-{i:05}-of-{n:05}.parquet"), chunk))
        .collect()
}

enum Content<'a> {
    Episodes(&'a [EpisodeRow]),
    Questions(&'a [QuestionRow]),
    Copy(PathBuf),
    Text(&'a str),
}

/// The dataset of an episode: its projection's `dataset`, else the folder of its `csv_source`
/// when that ends in `<dataset>/data.csv`.
fn episode_dataset(episode: &Episode) -> Option<String> {
    if let Some(d) = episode
        .question
        .dataset
        .as_deref()
        .filter(|d| !d.is_empty())
    {
        return Some(d.to_owned());
    }
    let mut parts = episode.csv_source.rsplit('/');
    match (parts.next(), parts.next()) {
        (Some("data.csv"), Some(folder)) if !folder.is_empty() => Some(folder.to_owned()),
        _ => None,
    }
}

/// Every question of `source`, datasets in name order, file order within a dataset.
fn read_source_questions(
    layout: &DataLayout,
    source: Source,
) -> Result<Vec<QuestionRow>, PublishError> {
    let dir = layout.questions_dir(source);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(PublishError::io(&dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| PublishError::io(&dir, e))?;
        if entry.path().join("questions.json").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut rows = Vec::new();
    for name in names {
        let path = layout.questions_file(source, &name);
        let questions = load_questions(&path).map_err(|e| PublishError::Questions {
            path: path.clone(),
            message: e.to_string(),
        })?;
        rows.extend(questions.iter().map(QuestionRow::from_question));
    }
    Ok(rows)
}

/// Reads `<datasets_dir>/<name>/meta.json`; `None` when it does not exist.
///
/// Kept small and private: the dataset catalogue module will provide this.
fn read_meta(datasets_dir: &Path, name: &str) -> Result<Option<DatasetMeta>, PublishError> {
    let path = datasets_dir.join(name).join("meta.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PublishError::io(&path, e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| PublishError::Meta {
            path,
            message: e.to_string(),
        })
}

/// Card tags from `keywords`: the `name` of stringified-JSON entries, else the entry itself;
/// lowercased, spaces to `-`.
fn keywords(meta: &DatasetMeta) -> Vec<String> {
    meta.keywords
        .iter()
        .flatten()
        .filter_map(|k| {
            let name = match serde_json::from_str::<Value>(k) {
                Ok(Value::Object(o)) => o.get("name").and_then(Value::as_str)?.to_owned(),
                _ => k.clone(),
            };
            let tag = name.trim().to_lowercase().replace(' ', "-");
            (!tag.is_empty()).then_some(tag)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_groups_are_split_into_numbered_shards() {
        let rows: Vec<u32> = (0..25).collect();
        let shards = shards("data/template/train", &rows, 10);
        let names: Vec<&str> = shards.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "data/template/train-00000-of-00003.parquet",
                "data/template/train-00001-of-00003.parquet",
                "data/template/train-00002-of-00003.parquet"
            ]
        );
        assert_eq!(shards[2].1, &[20, 21, 22, 23, 24]);
        assert_eq!(
            super::shards("q/x", &rows, 100)[0].0,
            "q/x-00000-of-00001.parquet"
        );
    }

    #[test]
    fn kaggle_keywords_become_tags() {
        let meta: DatasetMeta = serde_json::from_value(serde_json::json!({
            "keywords": [
                "{\"ref\": \"healthcare\", \"name\": \"Health Care\", \"description\": null}",
                "finance",
                "{\"ref\": \"x\"}"
            ]
        }))
        .unwrap();
        assert_eq!(keywords(&meta), ["health-care", "finance"]);
    }
}
