//! What to upload and where: the repository id, the selection, the split and the retry policy.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::PublishError;
use crate::schema::Source;

/// The licence ids the Hub accepts in a card's `license` field (its documented list, "Licenses"
/// in the Hub documentation). `other` stands for any licence not listed.
pub const HUB_LICENSES: &[&str] = &[
    "apache-2.0",
    "mit",
    "openrail",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m",
    "afl-3.0",
    "artistic-2.0",
    "bsl-1.0",
    "bsd",
    "bsd-2-clause",
    "bsd-3-clause",
    "bsd-3-clause-clear",
    "c-uda",
    "cc",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0",
    "cdla-permissive-1.0",
    "cdla-permissive-2.0",
    "wtfpl",
    "ecl-2.0",
    "epl-1.0",
    "epl-2.0",
    "etalab-2.0",
    "eupl-1.1",
    "eupl-1.2",
    "agpl-3.0",
    "gfdl",
    "gpl",
    "gpl-2.0",
    "gpl-3.0",
    "lgpl",
    "lgpl-2.1",
    "lgpl-3.0",
    "isc",
    "h-research",
    "intel-research",
    "lppl-1.3c",
    "ms-pl",
    "apple-ascl",
    "apple-amlr",
    "mpl-2.0",
    "odc-by",
    "odbl",
    "openmdw-1.0",
    "openrail++",
    "osl-3.0",
    "postgresql",
    "ofl-1.1",
    "ncsa",
    "unlicense",
    "zlib",
    "pddl",
    "lgpl-lr",
    "deepfloyd-if-license",
    "fair-noncommercial-research-license",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "grok2-community",
    "gemma",
    "unknown",
    "other",
];

/// Checks a card licence id against [`HUB_LICENSES`].
///
/// # Errors
/// [`PublishError::InvalidLicense`] naming the value, the valid ids and, for a wrong case
/// (`MIT`), the id meant.
pub fn validate_license(license: &str) -> Result<(), PublishError> {
    if HUB_LICENSES.contains(&license) {
        return Ok(());
    }
    Err(PublishError::InvalidLicense {
        value: license.to_owned(),
    })
}

/// ` (did you mean `mit`?)` when `value` is a listed id in another case, else empty.
pub(crate) fn licence_hint(value: &str) -> String {
    let lower = value.trim().to_lowercase();
    HUB_LICENSES
        .iter()
        .find(|id| **id == lower)
        .map(|id| format!(" (did you mean `{id}`?)"))
        .unwrap_or_default()
}

/// Checks that `revision` is a valid git branch name (no spaces, `..`, `~^:?*[\\`, `@{`, leading
/// `-` or `/`, trailing `.lock`, `/` or `.`, not `HEAD`, not empty), using `gix-validate`.
///
/// # Errors
/// [`PublishError::InvalidRevision`] naming the value and what is wrong.
pub fn validate_revision(revision: &str) -> Result<(), PublishError> {
    let invalid = |reason: String| PublishError::InvalidRevision {
        value: revision.to_owned(),
        reason,
    };
    if revision.is_empty() {
        return Err(invalid("a branch name cannot be empty".to_owned()));
    }
    if revision.starts_with('-') {
        return Err(invalid("a branch name cannot start with `-`".to_owned()));
    }
    let full = format!("refs/heads/{revision}");
    gix_validate::reference::branch_name(full.as_str().into())
        .map(|_| ())
        .map_err(|e| invalid(e.to_string()))
}

/// A Hub dataset repository id, `<org>/<name>`, validated once on construction.
///
/// Both parts follow the Hub's naming rules: 1 to 96 characters from `A-Z a-z 0-9 - _ .`, not
/// starting or ending with `-` or `.`, and without `--` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoId {
    org: String,
    name: String,
}

impl RepoId {
    /// Parses `<org>/<name>`.
    ///
    /// # Errors
    /// [`PublishError::InvalidRepoId`] naming the value and what is valid.
    pub fn parse(value: &str) -> Result<RepoId, PublishError> {
        let invalid = |why: &str| PublishError::InvalidRepoId {
            value: value.to_owned(),
            reason: why.to_owned(),
        };
        let Some((org, name)) = value.split_once('/') else {
            return Err(invalid("expected `<org>/<dataset>`"));
        };
        if name.contains('/') {
            return Err(invalid("expected exactly one `/`"));
        }
        for (what, part) in [("organisation", org), ("dataset name", name)] {
            if let Some(why) = part_problem(part) {
                return Err(invalid(&format!("the {what} {why}")));
            }
        }
        Ok(RepoId {
            org: org.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The organisation or user part.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The dataset name part.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The dataset's page on the public Hub: `https://huggingface.co/datasets/<org>/<name>`.
    pub fn hub_url(&self) -> String {
        format!("https://huggingface.co/datasets/{self}")
    }
}

fn part_problem(part: &str) -> Option<&'static str> {
    if part.is_empty() {
        return Some("is empty");
    }
    if part.len() > 96 {
        return Some("is longer than 96 characters");
    }
    if !part
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some("may only contain letters, digits, `-`, `_` and `.`");
    }
    if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
        return Some("may not start or end with `-` or `.`");
    }
    if part.contains("--") || part.contains("..") {
        return Some("may not contain `--` or `..`");
    }
    None
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.org, self.name)
    }
}

impl FromStr for RepoId {
    type Err = PublishError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RepoId::parse(s)
    }
}

impl TryFrom<String> for RepoId {
    type Error = PublishError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RepoId::parse(&value)
    }
}

impl From<RepoId> for String {
    fn from(id: RepoId) -> String {
        id.to_string()
    }
}

/// How datasets are assigned to `train` / `validation` / `test` (SPEC 9.2).
///
/// By default: seed 42, fractions 0.8 / 0.1 / 0.1. A dataset goes to `train` when its draw
/// `u < train`, to `validation` when `u < train + validation`, else to `test`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    /// Seed mixed into every dataset's draw.
    pub seed: u64,
    /// Fraction of datasets (in expectation) in `train`.
    pub train: f64,
    /// Fraction of datasets (in expectation) in `validation`.
    pub validation: f64,
    /// Fraction of datasets (in expectation) in `test`.
    pub test: f64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            seed: 42,
            train: 0.8,
            validation: 0.1,
            test: 0.1,
        }
    }
}

impl SplitConfig {
    /// Checks that every fraction lies in `[0, 1]` and that they sum to 1 (within 1e-9).
    ///
    /// # Errors
    /// [`PublishError::InvalidSplit`] naming the fractions.
    pub fn validate(&self) -> Result<(), PublishError> {
        let parts = [self.train, self.validation, self.test];
        let in_range = parts
            .iter()
            .all(|p| p.is_finite() && (0.0..=1.0).contains(p));
        if !in_range || (parts.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return Err(PublishError::InvalidSplit {
                train: self.train,
                validation: self.validation,
                test: self.test,
            });
        }
        Ok(())
    }
}

/// Retries of one Hub request on 408, 429, 500, 502, 503, 504 and connection errors, with
/// jittered exponential backoff: the waits are at most `2·base, 4·base, 8·base, ...`.
///
/// hf-hub performs these retries itself; this only sets how many and how long. By default,
/// 5 retries with a 1 s base (at most about a minute in all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// The backoff base.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_secs(1),
        }
    }
}

/// Everything `csvagent upload` (and the desktop app's Publish view) decides.
///
/// Construct with [`UploadOptions::new`] for the defaults: public repository, branch `main`,
/// no CSVs, every source that has episodes, verified episodes only, licence `other`, the
/// default split and retry policy, not a dry run.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadOptions {
    /// The target dataset repository.
    pub repo: RepoId,
    /// Create the repository as private. An existing repository keeps its visibility.
    pub private: bool,
    /// The branch to commit to; `None` means `main`. A missing branch is created from `main`.
    pub revision: Option<String>,
    /// Also push `datasets/<dataset>/data.csv` and `meta.json` for every dataset the uploaded
    /// episodes use.
    pub include_csvs: bool,
    /// The sources to upload; `None` means every source that has selected episodes.
    pub sources: Option<Vec<Source>>,
    /// Upload only episodes with `verified: true` (the default).
    pub verified_only: bool,
    /// The card's `license` (a Hub licence id such as `cc-by-4.0`); by default `other`.
    pub license: String,
    /// The card's `pretty_name`; `None` derives `<name> (csvagent)` from the repository name.
    pub pretty_name: Option<String>,
    /// Preview only: staging encodes the files in memory without writing them (nothing under
    /// the data directory changes) and nothing is sent.
    pub dry_run: bool,
    /// How datasets are split.
    pub split: SplitConfig,
    /// How hard each Hub request is retried.
    pub retry: RetryPolicy,
}

impl UploadOptions {
    /// The defaults for `repo` (see the type docs).
    pub fn new(repo: RepoId) -> UploadOptions {
        UploadOptions {
            repo,
            private: false,
            revision: None,
            include_csvs: false,
            sources: None,
            verified_only: true,
            license: "other".to_owned(),
            pretty_name: None,
            dry_run: false,
            split: SplitConfig::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// Checks what the Hub would otherwise refuse only at the commit, after staging: the
    /// licence must be one of [`HUB_LICENSES`], the revision (if any) a valid git branch name
    /// (no spaces, `..`, `~^:?*[\\`, `@{`, leading `-` or `/`, trailing `.lock`, `/` or `.`),
    /// and the split fractions valid.
    ///
    /// # Errors
    /// [`PublishError::InvalidLicense`], [`PublishError::InvalidRevision`] or
    /// [`PublishError::InvalidSplit`], naming the value and what is valid.
    pub fn validate(&self) -> Result<(), PublishError> {
        validate_license(&self.license)?;
        if let Some(revision) = &self.revision {
            validate_revision(revision)?;
        }
        self.split.validate()
    }

    /// The branch commits go to: [`revision`](Self::revision), or `main`.
    pub fn branch(&self) -> &str {
        self.revision.as_deref().unwrap_or("main")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_id_accepts_org_and_name() {
        let id = RepoId::parse("my-org/csv_agent.v2").unwrap();
        assert_eq!((id.org(), id.name()), ("my-org", "csv_agent.v2"));
        assert_eq!(id.to_string(), "my-org/csv_agent.v2");
        assert_eq!(
            id.hub_url(),
            "https://huggingface.co/datasets/my-org/csv_agent.v2"
        );
    }

    #[test]
    fn malformed_repo_ids_are_rejected_with_the_reason() {
        for (bad, why) in [
            ("justaname", "expected `<org>/<dataset>`"),
            ("a/b/c", "exactly one `/`"),
            ("/name", "organisation is empty"),
            ("org/", "dataset name is empty"),
            ("org/na me", "may only contain"),
            ("org/-name", "may not start or end"),
            ("org/a..b", "may not contain"),
        ] {
            let err = RepoId::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn licence_and_revision_are_checked_before_anything_is_sent() {
        let mut opts = UploadOptions::new(RepoId::parse("o/n").unwrap());
        assert!(opts.validate().is_ok(), "the defaults are valid");
        opts.license = "CC-BY-4.0".to_owned();
        let err = opts.validate().unwrap_err().to_string();
        assert!(
            err.contains("`CC-BY-4.0` (did you mean `cc-by-4.0`?)") && err.contains("other"),
            "{err}"
        );
        opts.license = "cc-by-4.0".to_owned();
        for good in ["main", "v2", "release/2026-11", "refs-ok_1.0"] {
            opts.revision = Some(good.to_owned());
            assert!(opts.validate().is_ok(), "{good}");
        }
        for bad in [
            "",
            "a b",
            "x..y",
            "-x",
            "topic.lock",
            "a/",
            "a//b",
            "x~1",
            "a@{1}",
            "a:b",
        ] {
            opts.revision = Some(bad.to_owned());
            let err = opts.validate().unwrap_err().to_string();
            assert!(
                err.contains(&format!("invalid revision `{bad}`")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn split_fractions_must_sum_to_one() {
        assert!(SplitConfig::default().validate().is_ok());
        let bad = SplitConfig {
            train: 0.9,
            ..SplitConfig::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("0.9"), "{err}");
    }
}
