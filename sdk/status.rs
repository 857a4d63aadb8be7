//! Where the data stands: the facts behind `csvagent status`, `progress` and `stats` (SPEC 8.2),
//! read from the data directory. Used by the CLI and the desktop app alike.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::dataset::Catalog;
use crate::manifest::{Counts, Manifest};
use crate::record::{DataLayout, distinct_episodes, load_questions, read_jsonl};
use crate::schema::{Difficulty, Episode, FailureRecord, Question, Source};

/// Everything read from one data directory, per source.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Usable dataset names, in discovery order.
    pub usable: Vec<String>,
    /// Skipped datasets with reasons.
    pub skipped: Vec<(String, String)>,
    /// Per source: the questions of every dataset that has a valid file.
    pub questions: BTreeMap<Source, BTreeMap<String, Vec<Question>>>,
    /// Per source: every episode read.
    pub episodes: BTreeMap<Source, Vec<Episode>>,
    /// Per source: every failure record read.
    pub failures: BTreeMap<Source, Vec<FailureRecord>>,
    /// The manifest.
    pub manifest: Manifest,
    /// Malformed artifacts: file (and line) with the reason.
    pub malformed: Vec<String>,
}

impl Snapshot {
    /// Reads the datasets directory and the data directory. Malformed artifacts are listed in
    /// [`malformed`](Self::malformed), never fatal.
    pub fn read(layout: &DataLayout, datasets_dir: &std::path::Path) -> Snapshot {
        let mut snap = Snapshot::default();
        match Catalog::discover(datasets_dir) {
            Ok(cat) => {
                snap.usable = cat.datasets.iter().map(|d| d.name.clone()).collect();
                snap.skipped = cat
                    .skipped
                    .iter()
                    .map(|s| (s.name.clone(), s.reason.clone()))
                    .collect();
            }
            Err(e) => snap.malformed.push(e.to_string()),
        }
        for source in Source::ALL {
            let mut per_dataset = BTreeMap::new();
            if let Ok(entries) = std::fs::read_dir(layout.questions_dir(source)) {
                let mut files: Vec<(String, PathBuf)> = entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            e.path().join("questions.json"),
                        )
                    })
                    .filter(|(_, p)| p.is_file())
                    .collect();
                files.sort();
                for (name, path) in files {
                    match load_questions(&path) {
                        Ok(qs) => {
                            per_dataset.insert(name, qs);
                        }
                        Err(e) => snap.malformed.push(e.to_string()),
                    }
                }
            }
            snap.questions.insert(source, per_dataset);
            let path = layout.episodes_file(source);
            match read_jsonl::<Episode>(&path) {
                Ok(r) => {
                    snap.malformed
                        .extend(r.errors.iter().map(ToString::to_string));
                    // An episode repeated exactly counts once (as upload publishes it once);
                    // another record under the same id is malformed.
                    let distinct = distinct_episodes(&path, r.records);
                    snap.malformed
                        .extend(distinct.conflicts.iter().map(ToString::to_string));
                    let episodes = distinct.episodes.into_iter().map(|(_, e)| e).collect();
                    snap.episodes.insert(source, episodes);
                }
                Err(e) => snap.malformed.push(e.to_string()),
            }
            match read_jsonl::<FailureRecord>(&layout.failures_file(source)) {
                Ok(r) => {
                    snap.malformed
                        .extend(r.errors.iter().map(ToString::to_string));
                    snap.failures
                        .insert(source, r.records.into_iter().map(|(_, e)| e).collect());
                }
                Err(e) => snap.malformed.push(e.to_string()),
            }
        }
        match Manifest::load(&layout.manifest_file()) {
            Ok(m) => {
                snap.malformed.extend(m.skipped_lines().iter().cloned());
                snap.manifest = m;
            }
            Err(e) => snap.malformed.push(e.to_string()),
        }
        snap
    }

    /// Question ids that have an episode line or a failure record.
    pub fn processed_ids(&self, source: Source) -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = self
            .episodes
            .get(&source)
            .into_iter()
            .flatten()
            .map(|e| e.question.id.clone())
            .collect();
        ids.extend(
            self.failures
                .get(&source)
                .into_iter()
                .flatten()
                .map(|f| f.question_id.clone()),
        );
        ids
    }

    /// Per-source summary for `status`.
    pub fn source_summary(&self, source: Source) -> SourceSummary {
        let qs = self.questions.get(&source);
        let episodes = self
            .episodes
            .get(&source)
            .map(Vec::as_slice)
            .unwrap_or_default();
        SourceSummary {
            source,
            question_records: qs.map(|m| m.values().map(Vec::len).sum()).unwrap_or(0),
            question_datasets: qs
                .map(|m| m.values().filter(|v| !v.is_empty()).count())
                .unwrap_or(0),
            episodes: episodes.len(),
            verified: episodes.iter().filter(|e| e.verified).count(),
            failures: self.failures.get(&source).map(Vec::len).unwrap_or(0),
            processed: self.processed_ids(source).len(),
        }
    }

    /// What to run next, judged in this order: no usable dataset (look at `datasets list`);
    /// malformed artifacts (fix them first: runs refuse to start); a started source (one with
    /// questions) whose questions lack episodes (`generate episodes`), or some of whose usable
    /// datasets have no questions file yet (`generate questions`); then the first source not started
    /// yet, in the order template, procedural, llm_gen (`run`). `None` when every source has
    /// questions for every usable dataset and an episode or failure record for every question.
    pub fn next_step(&self) -> Option<NextStep> {
        if self.usable.is_empty() {
            return Some(NextStep {
                command: Some("datasets list".into()),
                reason: "no usable dataset: add folders of data.csv + meta.json to the datasets \
                         directory or pass --datasets DIR"
                    .into(),
            });
        }
        if !self.malformed.is_empty() {
            return Some(NextStep {
                command: None,
                reason: "fix or move aside the malformed files listed above; runs refuse to \
                         start while they are there"
                    .into(),
            });
        }
        let started: Vec<Source> = Source::ALL
            .into_iter()
            .filter(|s| self.source_summary(*s).question_records > 0)
            .collect();
        for &source in &started {
            let s = self.source_summary(source);
            if s.processed < s.question_records {
                return Some(NextStep {
                    command: Some(format!("generate episodes {}", mode_flag(source))),
                    reason: format!(
                        "{} of {} {} questions have no episode yet",
                        s.question_records - s.processed,
                        s.question_records,
                        source.as_str()
                    ),
                });
            }
            // A dataset whose questions file is empty was tried (its report says why).
            let qs = self.questions.get(&source);
            let missing = self
                .usable
                .iter()
                .filter(|d| qs.is_none_or(|m| !m.contains_key(*d)))
                .count();
            if missing > 0 {
                return Some(NextStep {
                    command: Some(format!("generate questions {}", mode_flag(source))),
                    reason: format!(
                        "{} of {} usable datasets have no {} questions file yet",
                        missing,
                        self.usable.len(),
                        source.as_str()
                    ),
                });
            }
        }
        Source::ALL
            .into_iter()
            .find(|s| !started.contains(s))
            .map(|source| NextStep {
                command: Some(format!("run {}", mode_flag(source))),
                reason: format!("no {} questions yet", source.as_str()),
            })
    }

    /// Usable datasets without a non-empty questions file for `source`.
    fn gaps_without_questions(&self, source: Source) -> Vec<String> {
        let qs = self.questions.get(&source);
        self.usable
            .iter()
            .filter(|d| qs.is_none_or(|m| m.get(*d).is_none_or(Vec::is_empty)))
            .cloned()
            .collect()
    }

    /// `progress` for one source.
    pub fn progress(&self, source: Source) -> Progress {
        let s = self.source_summary(source);
        let remaining = s.question_records.saturating_sub(s.processed);
        let episodes = self
            .episodes
            .get(&source)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let traces: Vec<f64> = episodes
            .iter()
            .flat_map(|e| {
                std::iter::once(e.timing.gold_elapsed)
                    .chain(e.timing.consistency_elapsed.iter().copied())
            })
            .collect();
        let per_trace =
            (!traces.is_empty()).then(|| traces.iter().sum::<f64>() / traces.len() as f64);
        let eta_seconds = per_trace.map(|t| {
            let questions = self.remaining_questions(source);
            questions
                .iter()
                .map(|d| t * traces_per_question(source, *d))
                .sum::<f64>()
        });
        Progress {
            source,
            datasets_with_questions: s.question_datasets,
            usable_datasets: self.usable.len(),
            processed: s.processed,
            questions: s.question_records,
            remaining,
            eta_seconds,
        }
    }

    fn remaining_questions(&self, source: Source) -> Vec<Option<Difficulty>> {
        let done = self.processed_ids(source);
        self.questions
            .get(&source)
            .into_iter()
            .flat_map(|m| m.values().flatten())
            .filter(|q| !done.contains(&q.id))
            .map(|q| q.difficulty)
            .collect()
    }

    /// `stats`: questions by source x difficulty and the top 10 templates/programs; episodes by
    /// source x difficulty with verified counts and the top 10 datasets.
    pub fn stats(&self) -> Stats {
        let mut out = Stats::default();
        for source in Source::ALL {
            let mut by_diff: BTreeMap<String, usize> = BTreeMap::new();
            let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
            for q in self
                .questions
                .get(&source)
                .into_iter()
                .flat_map(|m| m.values().flatten())
            {
                *by_diff.entry(difficulty_name(q.difficulty)).or_default() += 1;
                if let Some(n) = q
                    .template_name
                    .clone()
                    .or_else(|| q.program_ops.as_ref().and_then(|o| o.last().cloned()))
                {
                    *by_name.entry(n).or_default() += 1;
                }
            }
            out.questions.insert(source.as_str().to_owned(), by_diff);
            out.top_names
                .insert(source.as_str().to_owned(), top(by_name, 10));
            let mut ep_diff: BTreeMap<String, Counts> = BTreeMap::new();
            let mut by_dataset: BTreeMap<String, usize> = BTreeMap::new();
            for e in self.episodes.get(&source).into_iter().flatten() {
                let c = ep_diff
                    .entry(difficulty_name(e.question.difficulty))
                    .or_default();
                c.total += 1;
                if e.verified {
                    c.success += 1;
                } else {
                    c.failure += 1;
                }
                if let Some(d) = &e.question.dataset {
                    *by_dataset.entry(d.clone()).or_default() += 1;
                }
            }
            out.episodes.insert(source.as_str().to_owned(), ep_diff);
            out.top_datasets
                .insert(source.as_str().to_owned(), top(by_dataset, 10));
        }
        out
    }

    /// `stats --gaps`: datasets without questions (per source), datasets with questions but no
    /// episodes, and low-verification datasets (at least 5 episodes and under 50 % verified,
    /// ascending).
    pub fn gaps(&self) -> Gaps {
        let mut g = Gaps::default();
        for source in Source::ALL {
            let qs = self.questions.get(&source);
            let without = self.gaps_without_questions(source);
            g.without_questions
                .insert(source.as_str().to_owned(), without);
            let mut with_eps: BTreeMap<String, (usize, usize)> = BTreeMap::new();
            for e in self.episodes.get(&source).into_iter().flatten() {
                if let Some(d) = &e.question.dataset {
                    let c = with_eps.entry(d.clone()).or_default();
                    c.0 += 1;
                    c.1 += usize::from(e.verified);
                }
            }
            let no_eps: Vec<String> = qs
                .into_iter()
                .flat_map(|m| m.iter())
                .filter(|(d, v)| !v.is_empty() && !with_eps.contains_key(*d))
                .map(|(d, _)| d.clone())
                .collect();
            g.without_episodes
                .insert(source.as_str().to_owned(), no_eps);
            let mut low: Vec<LowVerification> = with_eps
                .into_iter()
                .filter(|(_, (n, v))| {
                    *n >= LOW_VERIFICATION_MIN_EPISODES && (*v as f64) < 0.5 * *n as f64
                })
                .map(|(d, (n, v))| LowVerification {
                    dataset: d,
                    episodes: n,
                    verified: v,
                    rate: v as f64 / n as f64,
                })
                .collect();
            low.sort_by(|a, b| a.rate.total_cmp(&b.rate).then(a.dataset.cmp(&b.dataset)));
            g.low_verification.insert(source.as_str().to_owned(), low);
            let unjudged: Vec<String> = self
                .episodes
                .get(&source)
                .into_iter()
                .flatten()
                .filter_map(|e| e.question.dataset.clone())
                .fold(BTreeMap::<String, usize>::new(), |mut m, d| {
                    *m.entry(d).or_default() += 1;
                    m
                })
                .into_iter()
                .filter(|(_, n)| *n < LOW_VERIFICATION_MIN_EPISODES)
                .map(|(d, _)| d)
                .collect();
            g.too_few_to_judge
                .insert(source.as_str().to_owned(), unjudged);
        }
        g
    }
}

/// The suggested next command (see [`Snapshot::next_step`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextStep {
    /// csvagent's arguments after the global options, e.g. `generate episodes --procedural`;
    /// `None` when the next step is not a command (fixing malformed files).
    pub command: Option<String>,
    /// Why, in one sentence.
    pub reason: String,
}

/// The CLI mode flag of `source`: `--template`, `--procedural`, `--llm-gen`.
pub fn mode_flag(source: Source) -> &'static str {
    match source {
        Source::Template => "--template",
        Source::Procedural => "--procedural",
        Source::LlmGen => "--llm-gen",
    }
}

fn traces_per_question(source: Source, difficulty: Option<Difficulty>) -> f64 {
    match source {
        Source::LlmGen => {
            let n = match difficulty {
                Some(Difficulty::Easy) | Some(Difficulty::Medium) => 2.0,
                Some(Difficulty::Hard) => 4.0,
                Some(Difficulty::VeryHard) => 6.0,
                None => 7.0,
            };
            1.0 + n
        }
        _ => 1.0,
    }
}

/// `EASY`, `MEDIUM`, `HARD`, `VERY_HARD`, or `UNKNOWN` for none.
pub fn difficulty_name(d: Option<Difficulty>) -> String {
    match d {
        Some(Difficulty::Easy) => "EASY",
        Some(Difficulty::Medium) => "MEDIUM",
        Some(Difficulty::Hard) => "HARD",
        Some(Difficulty::VeryHard) => "VERY_HARD",
        None => "UNKNOWN",
    }
    .to_owned()
}

fn top(counts: BTreeMap<String, usize>, n: usize) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Counts for one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// The source.
    pub source: Source,
    /// Question records across datasets.
    pub question_records: usize,
    /// Datasets with at least one question.
    pub question_datasets: usize,
    /// Episode lines.
    pub episodes: usize,
    /// Verified episodes.
    pub verified: usize,
    /// Failure records.
    pub failures: usize,
    /// Distinct question ids with an episode or a failure record.
    pub processed: usize,
}

/// Progress of one source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Progress {
    /// The source.
    pub source: Source,
    /// Datasets with questions.
    pub datasets_with_questions: usize,
    /// Usable datasets.
    pub usable_datasets: usize,
    /// Questions with an episode or failure record.
    pub processed: usize,
    /// Questions in all.
    pub questions: usize,
    /// Questions left.
    pub remaining: usize,
    /// Remaining x mean per-trace seconds x traces per question; `None` without timings.
    pub eta_seconds: Option<f64>,
}

/// Statistics for `stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Source -> difficulty -> question count.
    pub questions: BTreeMap<String, BTreeMap<String, usize>>,
    /// Source -> top 10 template names / terminal ops with counts.
    pub top_names: BTreeMap<String, Vec<(String, usize)>>,
    /// Source -> difficulty -> episode counts (`success` = verified).
    pub episodes: BTreeMap<String, BTreeMap<String, Counts>>,
    /// Source -> top 10 datasets by episodes.
    pub top_datasets: BTreeMap<String, Vec<(String, usize)>>,
}

/// What is missing, for `stats --gaps`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Gaps {
    /// Source -> usable datasets without questions.
    pub without_questions: BTreeMap<String, Vec<String>>,
    /// Source -> datasets with questions but no episodes.
    pub without_episodes: BTreeMap<String, Vec<String>>,
    /// Source -> datasets with at least 5 episodes and under 50 % verified, ascending by rate.
    pub low_verification: BTreeMap<String, Vec<LowVerification>>,
    /// Source -> datasets with 1 to 4 episodes: too few for their verification rate to be
    /// judged (so absent from `low_verification` whatever their rate).
    pub too_few_to_judge: BTreeMap<String, Vec<String>>,
}

/// Episodes a dataset needs before `stats --gaps` judges its verification rate (SPEC 8.2).
pub const LOW_VERIFICATION_MIN_EPISODES: usize = 5;

/// A dataset with a low verification rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LowVerification {
    /// Dataset name.
    pub dataset: String,
    /// Episodes.
    pub episodes: usize,
    /// Verified episodes.
    pub verified: usize,
    /// verified / episodes.
    pub rate: f64,
}
