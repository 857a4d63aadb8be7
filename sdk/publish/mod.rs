//! Publishing to the Hugging Face Hub: staging, splits, Parquet, dataset card, commit.

/// Errors from publishing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// No Hugging Face token was found.
    #[error("no Hugging Face token: set `HF_TOKEN` or run `huggingface-cli login`")]
    NoToken,
}
