//! Datasets: discovery, encoding and dialect detection, column profiles.

mod profile;

pub use profile::{ColumnProfile, ColumnStats, Correlation, Profile, Shape};

/// Errors discovering, reading or profiling a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The dataset does not exist in the catalogue.
    #[error("dataset `{name}` not found in `{}`", dir.display())]
    NotFound {
        /// The name asked for.
        name: String,
        /// The datasets directory searched.
        dir: std::path::PathBuf,
    },
}
