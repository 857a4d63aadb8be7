//! The manifest: the append-only ledger `datagen_manifest.jsonl` (SPEC 1.11).
//!
//! One entry per processed question, keyed by (source, fingerprint), appended after its episode
//! line or failure record has been flushed. For a repeated key the last entry wins. Loading is
//! forgiving by design (the episode file is the truth): a malformed line is logged and skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;

use crate::record::{JsonlAppender, RecordError, read_jsonl, write_bytes_atomic};
use crate::schema::{ManifestEntry, ManifestEntryStatus, Source};

/// The loaded manifest: the latest entry per (source, fingerprint), in first-appearance order.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    path: PathBuf,
    entries: IndexMap<(Source, String), ManifestEntry>,
    skipped_lines: Vec<String>,
    torn_tail: Option<String>,
}

/// Success and failure counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Entries (successes + failures).
    pub total: u64,
    /// `status == success`.
    pub success: u64,
    /// `status == failure`.
    pub failure: u64,
}

impl Counts {
    fn add(&mut self, status: ManifestEntryStatus) {
        self.total += 1;
        match status {
            ManifestEntryStatus::Success => self.success += 1,
            ManifestEntryStatus::Failure => self.failure += 1,
        }
    }
}

/// Per-dataset counts for one source, plus the models seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DatasetSummary {
    /// Source -> dataset -> counts, in processing and name order.
    pub by_source: BTreeMap<String, BTreeMap<String, Counts>>,
    /// Every model name seen, sorted.
    pub models: Vec<String>,
}

impl Manifest {
    /// Loads `path`. A missing file is an empty manifest; blank lines are skipped; a line that is
    /// not JSON or lacks `source/fingerprint/status/dataset/timestamp` is skipped with a
    /// `Skipping malformed manifest entry at <path> line N: <why>` warning (also kept in
    /// [`skipped_lines`](Self::skipped_lines)); an incomplete last line is skipped and kept in
    /// [`torn_tail`](Self::torn_tail).
    ///
    /// # Errors
    /// [`RecordError::Io`] when the file exists but cannot be read.
    pub fn load(path: &Path) -> Result<Manifest, RecordError> {
        let read = read_jsonl::<ManifestEntry>(path)?;
        let mut m = Manifest {
            path: path.to_path_buf(),
            ..Manifest::default()
        };
        for err in &read.errors {
            let msg = format!(
                "Skipping malformed manifest entry at {} line {}: {}",
                err.path.display(),
                err.line,
                err.message
            );
            tracing::warn!("{msg}");
            m.skipped_lines.push(msg);
        }
        if let Some(err) = &read.torn_tail {
            let msg = format!(
                "Skipping the incomplete last line {} of {} (an interrupted write; the next run \
                 repairs it)",
                err.line,
                err.path.display()
            );
            tracing::warn!("{msg}");
            m.torn_tail = Some(msg);
        }
        for (_, entry) in read.records {
            m.insert(entry);
        }
        Ok(m)
    }

    fn insert(&mut self, entry: ManifestEntry) {
        let key = (entry.source, entry.fingerprint.clone());
        // Last wins, but the key keeps its first position.
        self.entries.insert(key, entry);
    }

    /// The file this manifest was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Warnings for the malformed lines that were skipped (not the incomplete last line, see
    /// [`torn_tail`](Self::torn_tail)).
    pub fn skipped_lines(&self) -> &[String] {
        &self.skipped_lines
    }

    /// The warning for an incomplete last line (an interrupted append), which was skipped; the
    /// next run's appender repairs it.
    pub fn torn_tail(&self) -> Option<&str> {
        self.torn_tail.as_deref()
    }

    /// Number of distinct (source, fingerprint) entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The latest entries, in first-appearance order.
    pub fn entries(&self) -> impl Iterator<Item = &ManifestEntry> {
        self.entries.values()
    }

    /// Whether `(source, fingerprint)` was processed: a success, or (with `include_failures`)
    /// a failure.
    pub fn has(&self, source: Source, fingerprint: &str, include_failures: bool) -> bool {
        self.entries
            .get(&(source, fingerprint.to_owned()))
            .is_some_and(|e| e.status == ManifestEntryStatus::Success || include_failures)
    }

    /// Per-source counts (every source present, even with zero entries).
    pub fn stats(&self) -> BTreeMap<Source, Counts> {
        let mut out: BTreeMap<Source, Counts> = Source::ALL
            .iter()
            .map(|s| (*s, Counts::default()))
            .collect();
        for e in self.entries.values() {
            out.entry(e.source).or_default().add(e.status);
        }
        out
    }

    /// Per-source, per-dataset counts and the sorted list of models.
    pub fn dataset_summary(&self) -> DatasetSummary {
        let mut s = DatasetSummary::default();
        let mut models = std::collections::BTreeSet::new();
        for e in self.entries.values() {
            s.by_source
                .entry(e.source.as_str().to_owned())
                .or_default()
                .entry(e.dataset.clone())
                .or_default()
                .add(e.status);
            if let Some(m) = &e.model {
                models.insert(m.clone());
            }
        }
        s.models = models.into_iter().collect();
        s
    }

    /// Counts by template name (template entries only).
    pub fn template_summary(&self) -> BTreeMap<String, Counts> {
        self.group_by(|e| e.template_name.clone())
    }

    /// Counts by model name.
    pub fn model_summary(&self) -> BTreeMap<String, Counts> {
        self.group_by(|e| e.model.clone())
    }

    /// Counts by a key derived from each entry (entries without a key are left out); the
    /// procedural "by terminal op" summary passes a lookup from program name to its last op.
    pub fn group_by(
        &self,
        key: impl Fn(&ManifestEntry) -> Option<String>,
    ) -> BTreeMap<String, Counts> {
        let mut out: BTreeMap<String, Counts> = BTreeMap::new();
        for e in self.entries.values() {
            if let Some(k) = key(e) {
                out.entry(k).or_default().add(e.status);
            }
        }
        out
    }

    /// Rewrites the file atomically with one line per key, ordered by source (template,
    /// procedural, llm_gen), then first appearance. Malformed lines are dropped, so check
    /// [`skipped_lines`](Self::skipped_lines) first (the CLI refuses to compact while there are
    /// any), and hold the run lock so that no run appends meanwhile. The file keeps its
    /// permissions.
    ///
    /// # Errors
    /// [`RecordError::Io`] when the rewrite fails; the old file is then left as it was.
    pub fn compact(&self) -> Result<usize, RecordError> {
        let mut text = String::new();
        let mut n = 0;
        for source in Source::ALL {
            for e in self.entries.values().filter(|e| e.source == source) {
                text.push_str(
                    &serde_json::to_string(e)
                        .map_err(|e| RecordError::io(&self.path, std::io::Error::other(e)))?,
                );
                text.push('\n');
                n += 1;
            }
        }
        write_bytes_atomic(&self.path, text.as_bytes())?;
        Ok(n)
    }

    /// Writes a manifest holding only the entries `keep` accepts (used by `--fresh`, after the
    /// old file has been moved aside). Returns how many entries were kept.
    ///
    /// # Errors
    /// [`RecordError::Io`] when the write fails.
    pub fn write_filtered(
        &self,
        path: &Path,
        keep: impl Fn(&ManifestEntry) -> bool,
    ) -> Result<usize, RecordError> {
        let mut text = String::new();
        let mut n = 0;
        for e in self.entries.values().filter(|e| keep(e)) {
            text.push_str(
                &serde_json::to_string(e)
                    .map_err(|err| RecordError::io(path, std::io::Error::other(err)))?,
            );
            text.push('\n');
            n += 1;
        }
        write_bytes_atomic(path, text.as_bytes())?;
        Ok(n)
    }

    /// Appends `entry` to the manifest file (after its episode line or failure record has been
    /// flushed) and records it in memory.
    ///
    /// # Errors
    /// [`RecordError::Io`] when the append fails.
    pub fn append(
        &mut self,
        writer: &JsonlAppender,
        entry: ManifestEntry,
    ) -> Result<(), RecordError> {
        writer.append(&entry)?;
        self.insert(entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(source: &str, fp: &str, status: &str, dataset: &str) -> String {
        format!(
            r#"{{"source":"{source}","fingerprint":"{fp}","status":"{status}","dataset":"{dataset}","timestamp":"2026-01-01T00:00:00.000Z","model":"m1"}}"#
        )
    }

    #[test]
    fn last_entry_wins_and_malformed_lines_are_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("datagen_manifest.jsonl");
        let text = [
            line("template", "aaaa", "failure", "d1"),
            "garbage".to_owned(),
            r#"{"source":"template","status":"success"}"#.to_owned(),
            line("procedural", "bbbb", "success", "d1"),
            line("template", "aaaa", "success", "d1"),
            String::new(),
        ]
        .join("\n");
        std::fs::write(&p, text).unwrap();
        let m = Manifest::load(&p).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m.has(Source::Template, "aaaa", false));
        assert!(!m.has(Source::LlmGen, "aaaa", true));
        assert_eq!(m.skipped_lines().len(), 2);
        assert!(m.skipped_lines()[0].starts_with(&format!(
            "Skipping malformed manifest entry at {} line 2: ",
            p.display()
        )));
        let stats = m.stats();
        assert_eq!(
            stats[&Source::Template],
            Counts {
                total: 1,
                success: 1,
                failure: 0
            }
        );
        assert_eq!(stats[&Source::LlmGen], Counts::default());
        assert_eq!(m.dataset_summary().models, vec!["m1"]);
    }

    #[test]
    fn a_failure_counts_as_processed_only_when_failures_are_included() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        std::fs::write(&p, line("llm_gen", "cccc", "failure", "d") + "\n").unwrap();
        let m = Manifest::load(&p).unwrap();
        assert!(!m.has(Source::LlmGen, "cccc", false));
        assert!(m.has(Source::LlmGen, "cccc", true));
    }

    #[test]
    fn compact_keeps_one_line_per_key_ordered_by_source() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        let text = [
            line("llm_gen", "c", "success", "d"),
            line("template", "a", "failure", "d"),
            line("template", "a", "success", "d"),
            line("procedural", "b", "success", "d"),
        ]
        .join("\n")
            + "\n";
        std::fs::write(&p, text).unwrap();
        let m = Manifest::load(&p).unwrap();
        assert_eq!(m.compact().unwrap(), 3);
        let out = std::fs::read_to_string(&p).unwrap();
        let sources: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["source"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(sources, ["template", "procedural", "llm_gen"]);
        assert!(out.lines().next().unwrap().contains("\"success\""));
    }

    #[test]
    fn a_missing_manifest_is_empty() {
        let m = Manifest::load(Path::new("/nonexistent/m.jsonl")).unwrap();
        assert!(m.is_empty());
    }
}
