//! Datasets: discovery, encoding and dialect detection, column profiles, eligibility.
//!
//! A dataset is a folder holding `data.csv` and `meta.json` under the datasets directory
//! (default `data/datasets`). Its name is the folder name; its `dataset_hash` is the SHA-256 of
//! the raw CSV bytes.

mod cache;
mod catalog;
mod dialect;
mod eligibility;
mod profile;

pub use cache::{cached_profile, profile_with_cache};
pub use catalog::{Catalog, HostShape, SkippedDataset, description, keyword_tags};
pub use dialect::{decode, detect_decimal, detect_delimiter, detect_encoding};
pub use eligibility::{
    eligible_categorical, eligible_numeric, id_like_columns, is_id_like, viability,
};
pub use profile::{ColumnProfile, ColumnStats, Correlation, Profile, Shape};

use std::path::PathBuf;

use crate::schema::DatasetMeta;

/// How to read a CSV file: detected once on the host and handed to the sandbox loader, so what
/// pandas loads is what was profiled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dialect {
    /// Python codec name: `utf-8`, `utf-8-sig`, `utf-16`, `cp1252` or `latin-1`.
    pub encoding: String,
    /// Field delimiter: `,`, `\t`, `;` or `|`.
    pub delimiter: char,
    /// Decimal mark: `.`, or `,` for files whose numbers are written `1,5` (only detected when
    /// the delimiter is not a comma).
    pub decimal: char,
}

/// A discovered, readable dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The folder name (matches `[A-Za-z0-9._-]+`).
    pub name: String,
    /// The dataset folder.
    pub dir: PathBuf,
    /// `<dir>/data.csv`.
    pub csv_path: PathBuf,
    /// The parsed `meta.json` (all fields optional).
    pub meta: DatasetMeta,
    /// SHA-256 (64 lowercase hex) of the raw CSV bytes.
    pub dataset_hash: String,
    /// Detected (or `meta.json`-overridden) encoding and delimiter.
    pub dialect: Dialect,
    /// The description used in prompts and cards (SPEC 1.13).
    pub description: String,
    /// Size of `data.csv` in bytes.
    pub size_bytes: u64,
}

/// Errors discovering, reading or profiling a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The dataset does not exist in the catalogue.
    #[error(
        "dataset `{name}` not found in `{}`; {}",
        dir.display(),
        if usable.is_empty() {
            "it holds no usable dataset (`csvagent datasets list` shows why)".to_owned()
        } else {
            format!("usable datasets: {}", usable.join(", "))
        }
    )]
    NotFound {
        /// The name asked for.
        name: String,
        /// The datasets directory searched.
        dir: std::path::PathBuf,
        /// The usable datasets' names, in catalogue order.
        usable: Vec<String>,
    },
    /// The dataset exists but cannot be used.
    #[error("dataset `{name}` is not usable: {reason}")]
    Unusable {
        /// The dataset name.
        name: String,
        /// Why (e.g. `no data rows`).
        reason: String,
    },
    /// The datasets directory does not exist or cannot be listed.
    #[error("cannot read datasets directory `{}` (pass --datasets DIR)", dir.display())]
    DirUnreadable {
        /// The directory.
        dir: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `manifest.json` in the datasets directory is malformed.
    #[error("invalid `{}`: {message}; expected a JSON array of {{\"slug\": ...}} objects", path.display())]
    Manifest {
        /// The manifest file.
        path: std::path::PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A dataset file cannot be read or decoded.
    #[error("cannot read `{}`: {reason}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

impl Dataset {
    /// How the sandbox loads this dataset: its CSV path, detected dialect and hash.
    pub fn load_spec(&self) -> crate::sandbox::LoadSpec {
        crate::sandbox::LoadSpec {
            dataset: self.name.clone(),
            csv_path: self.csv_path.clone(),
            encoding: self.dialect.encoding.clone(),
            delimiter: self.dialect.delimiter,
            decimal: self.dialect.decimal,
            dataset_hash: self.dataset_hash.clone(),
        }
    }
}
