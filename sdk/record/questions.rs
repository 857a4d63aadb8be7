//! Question files: `questions/<source>/<dataset>/questions.json`, a JSON array of records.

use std::path::Path;

use serde_json::Value;

use super::RecordError;
use super::contract::{normalise_difficulty, validate_question};
use super::jsonl::write_json_atomic;
use crate::schema::Question;

/// Loads a questions file. It must be a JSON array (no `{"questions": [...]}` form); each
/// element must pass [`validate_question`](super::validate_question) and deserialise as a
/// [`Question`] (unknown keys rejected). A lowercase difficulty is upper-cased.
///
/// # Errors
/// - [`RecordError::Io`]: the file cannot be read;
/// - [`RecordError::Json`]: not valid JSON (names the file, line and column);
/// - [`RecordError::NotArray`]: `questions file must be a JSON array: <path>`;
/// - [`RecordError::InvalidQuestion`]: the first invalid element, as
///   ``invalid question `<id>` at <path>[<index>]: <err1>; <err2>``.
pub fn load_questions(path: &Path) -> Result<Vec<Question>, RecordError> {
    let text = std::fs::read_to_string(path).map_err(|e| RecordError::io(path, e))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| RecordError::Json {
        path: path.to_path_buf(),
        message: if text.starts_with('\u{feff}') {
            "the file starts with a byte-order mark (BOM), which JSON does not allow: save it \
             as UTF-8 without BOM"
                .to_owned()
        } else {
            e.to_string()
        },
    })?;
    let Value::Array(items) = doc else {
        return Err(RecordError::NotArray {
            path: path.to_path_buf(),
        });
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, mut item) in items.into_iter().enumerate() {
        let id = item.get("id").and_then(Value::as_str).map(str::to_owned);
        let errors = validate_question(&item);
        if !errors.is_empty() {
            return Err(RecordError::InvalidQuestion {
                path: path.to_path_buf(),
                index,
                id,
                errors,
            });
        }
        normalise_difficulty(&mut item);
        let q: Question =
            serde_json::from_value(item).map_err(|e| RecordError::InvalidQuestion {
                path: path.to_path_buf(),
                index,
                id: id.clone(),
                errors: vec![e.to_string()],
            })?;
        out.push(q);
    }
    Ok(out)
}

/// Writes `questions` to `path` atomically as a pretty JSON array with a trailing newline.
///
/// # Errors
/// [`RecordError::Io`] when the directory cannot be created or the write fails.
pub fn write_questions(path: &Path, questions: &[Question]) -> Result<(), RecordError> {
    write_json_atomic(path, &questions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_questions_file_with_a_byte_order_mark_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("questions.json");
        std::fs::write(&path, "\u{feff}[]").unwrap();
        let err = load_questions(&path).unwrap_err().to_string();
        assert!(
            err.contains("questions.json") && err.contains("byte-order mark"),
            "{err}"
        );
    }
}
