//! Parquet encoding of the row formats: rows -> Arrow record batch (serde_arrow, explicit
//! schema) -> Parquet (snappy), and back.
//!
//! Output is deterministic: the same rows give byte-identical files, which is what lets an
//! unchanged re-upload make no commit.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::FieldRef;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::PublishError;
use super::rows::{EpisodeRow, QuestionRow, episode_schema, question_schema};

/// Encodes `rows` with `schema` as one Parquet file (snappy-compressed, one row group per
/// 64 Ki rows).
pub(crate) fn encode<T: Serialize>(
    path: &Path,
    schema: &[FieldRef],
    rows: &[T],
) -> Result<Vec<u8>, PublishError> {
    let err = |message: String| PublishError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    let batch = serde_arrow::to_record_batch(schema, &rows).map_err(|e| err(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(64 * 1024))
        .set_created_by(format!("csvagent {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props))
        .map_err(|e| err(e.to_string()))?;
    writer.write(&batch).map_err(|e| err(e.to_string()))?;
    writer.close().map_err(|e| err(e.to_string()))?;
    Ok(out)
}

/// Decodes every row of a Parquet file into `T`.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>, PublishError> {
    let err = |message: String| PublishError::Parquet {
        path: "<bytes>".into(),
        message,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(bytes))
        .and_then(|b| b.build())
        .map_err(|e| err(e.to_string()))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| err(e.to_string()))?;
        let mut part: Vec<T> =
            serde_arrow::from_record_batch(&batch).map_err(|e| err(e.to_string()))?;
        rows.append(&mut part);
    }
    Ok(rows)
}

/// Reads an episode Parquet file (`data/<source>/<split>-*.parquet`) back into rows.
///
/// # Errors
/// [`PublishError::Parquet`] when the bytes are not a Parquet file of [`EpisodeRow`]s.
pub fn read_episode_rows(bytes: &[u8]) -> Result<Vec<EpisodeRow>, PublishError> {
    decode(bytes)
}

/// Reads a question Parquet file (`questions/<source>-*.parquet`) back into rows.
///
/// # Errors
/// [`PublishError::Parquet`] when the bytes are not a Parquet file of [`QuestionRow`]s.
pub fn read_question_rows(bytes: &[u8]) -> Result<Vec<QuestionRow>, PublishError> {
    decode(bytes)
}

/// Encodes episode rows with [`episode_schema`].
pub(crate) fn encode_episodes(path: &Path, rows: &[EpisodeRow]) -> Result<Vec<u8>, PublishError> {
    encode(path, &episode_schema(), rows)
}

/// Encodes question rows with [`question_schema`].
pub(crate) fn encode_questions(path: &Path, rows: &[QuestionRow]) -> Result<Vec<u8>, PublishError> {
    encode(path, &question_schema(), rows)
}
