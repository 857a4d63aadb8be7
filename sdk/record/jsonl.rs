//! JSON Lines: append-a-line-and-flush writers and line-checked readers, plus atomic JSON
//! document writes.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::RecordError;
use super::contract::{find_legacy_key, normalise_difficulty};

/// A corrupt or contract-breaking line of a JSON Lines file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} line {}: {}",
            self.path.display(),
            self.line,
            self.message
        )
    }
}

/// The result of reading a JSON Lines file: every good record, and every bad line reported.
///
/// A bad line never hides the lines after it. `torn_tail` is set when the last line is
/// unparseable and has no trailing newline: the mark of a write interrupted mid-line.
#[derive(Debug)]
pub struct JsonlRead<T> {
    /// `(1-based line number, record)` for every valid line, in file order.
    pub records: Vec<(usize, T)>,
    /// Every invalid line except a torn tail.
    pub errors: Vec<LineError>,
    /// The last line, when it is unparseable and unterminated.
    pub torn_tail: Option<LineError>,
}

/// Reads a JSON Lines file of `T` records. A missing file reads as empty; blank lines are
/// skipped.
///
/// Each line must be strict JSON (no `NaN`/`Infinity`), carry no legacy key (SPEC 1.4) and
/// deserialise as `T` (which rejects unknown fields). A lowercase `difficulty` is upper-cased.
///
/// # Errors
/// [`RecordError::Io`] when the file exists but cannot be read. Bad lines are not errors of
/// this function; they are listed in [`JsonlRead::errors`].
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<JsonlRead<T>, RecordError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(RecordError::io(path, e)),
    };
    let ends_with_newline = text.last() == Some(&b'\n');
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    let mut out = JsonlRead {
        records: Vec::new(),
        errors: Vec::new(),
        torn_tail: None,
    };
    let n = lines.len();
    for (i, bytes) in lines.into_iter().enumerate() {
        let line_no = i + 1;
        let is_last = i + 1 == n;
        // A line that is not UTF-8 is malformed (never silently repaired with U+FFFD).
        let raw = match std::str::from_utf8(bytes) {
            Ok(raw) => raw,
            Err(e) => {
                let err = LineError {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: format!(
                        "not valid UTF-8 (invalid byte at column {})",
                        e.valid_up_to() + 1
                    ),
                };
                if is_last && !ends_with_newline {
                    out.torn_tail = Some(err);
                } else {
                    out.errors.push(err);
                }
                continue;
            }
        };
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line::<T>(raw) {
            Ok(rec) => out.records.push((line_no, rec)),
            Err(message) => {
                let err = LineError {
                    path: path.to_path_buf(),
                    line: line_no,
                    message,
                };
                if is_last && !ends_with_newline && serde_json::from_str::<Value>(raw).is_err() {
                    out.torn_tail = Some(err);
                } else {
                    out.errors.push(err);
                }
            }
        }
    }
    Ok(out)
}

fn parse_line<T: DeserializeOwned>(raw: &str) -> Result<T, String> {
    let mut value: Value = serde_json::from_str(raw).map_err(|e| format!("invalid JSON: {e}"))?;
    if let Some(msg) = find_legacy_key(&value) {
        return Err(msg);
    }
    if let Some(q) = value.get_mut("question") {
        normalise_difficulty(q);
    }
    normalise_difficulty(&mut value);
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Cuts a torn last line off a JSON Lines file (SPEC 8.3): when the file does not end with `\n`
/// and its last line is not valid JSON, that line is moved to `<file>.torn-<stamp>` and the file
/// is truncated after its last complete line. Returns the path of the moved-aside fragment.
///
/// # Errors
/// [`RecordError::Io`] when the file cannot be read, the fragment written or the file truncated.
pub fn repair_torn_tail(path: &Path, stamp: &str) -> Result<Option<PathBuf>, RecordError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RecordError::io(path, e)),
    };
    if bytes.is_empty() || bytes.last() == Some(&b'\n') {
        return Ok(None);
    }
    let cut = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let tail = &bytes[cut..];
    if serde_json::from_slice::<Value>(tail).is_ok() {
        // A complete record that only lacks its newline: keep it, add the newline.
        let mut f = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| RecordError::io(path, e))?;
        f.write_all(b"\n").map_err(|e| RecordError::io(path, e))?;
        f.sync_data().map_err(|e| RecordError::io(path, e))?;
        return Ok(None);
    }
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".torn-{stamp}"));
    let aside = PathBuf::from(name);
    std::fs::write(&aside, tail).map_err(|e| RecordError::io(&aside, e))?;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| RecordError::io(path, e))?;
    f.set_len(cut as u64)
        .map_err(|e| RecordError::io(path, e))?;
    f.sync_data().map_err(|e| RecordError::io(path, e))?;
    Ok(Some(aside))
}

/// An append-only JSON Lines file: each [`append`](Self::append) writes one compact line,
/// then flushes and syncs it to disk before returning, so a crash never loses a finished record.
///
/// Cheap to share behind an `Arc`; appends from several tasks are serialised by a mutex.
#[derive(Debug)]
pub struct JsonlAppender {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonlAppender {
    /// Opens (creating parent directories and the file if needed) `path` for appending.
    ///
    /// # Errors
    /// [`RecordError::Io`] when the directory or file cannot be created or opened.
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| RecordError::io(parent, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| RecordError::io(path, e))?;
        Ok(JsonlAppender {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// The file this appender writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one compact JSON line and syncs it (`write_all` + `flush` +
    /// `sync_data`). Non-finite floats serialise as `null`.
    ///
    /// # Errors
    /// [`RecordError::Io`] when the write or sync fails.
    pub fn append<T: Serialize>(&self, record: &T) -> Result<(), RecordError> {
        let mut line = serde_json::to_string(record)
            .map_err(|e| RecordError::io(&self.path, std::io::Error::other(e)))?;
        line.push('\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(line.as_bytes())
            .map_err(|e| RecordError::io(&self.path, e))?;
        file.flush().map_err(|e| RecordError::io(&self.path, e))?;
        file.sync_data().map_err(|e| RecordError::io(&self.path, e))
    }
}

/// Writes `value` as pretty JSON (2-space indent, trailing newline) atomically: a temporary file
/// in the same directory is written, synced and renamed over `path`. A reader never sees a
/// half-written file, and a failed write leaves the old file intact.
///
/// # Errors
/// [`RecordError::Io`] when the directory cannot be created or the write/rename fails.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), RecordError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| RecordError::io(path, std::io::Error::other(e)))?;
    text.push('\n');
    write_bytes_atomic(path, text.as_bytes())
}

/// The episodes of one episodes file with each `episode_id` once (see [`distinct_episodes`]).
#[derive(Debug, Default)]
pub struct DistinctEpisodes {
    /// `(1-based line, episode)`, the first line of each id, in file order.
    pub episodes: Vec<(usize, crate::schema::Episode)>,
    /// Lines that repeat an earlier line's episode exactly (same id and record), skipped.
    pub repeated: Vec<usize>,
    /// Lines holding a different record under an id an earlier line already used.
    pub conflicts: Vec<LineError>,
}

/// Keeps the first line of each `episode_id` in `records` (as read from `path`): an exact
/// repeat (a line copied by hand) is listed in `repeated`, a different record under the same
/// id in `conflicts`. `status` counts and `upload` publishes what this keeps.
pub fn distinct_episodes(
    path: &Path,
    records: Vec<(usize, crate::schema::Episode)>,
) -> DistinctEpisodes {
    let mut out = DistinctEpisodes::default();
    let mut seen: std::collections::HashMap<String, (usize, Value)> =
        std::collections::HashMap::new();
    for (line, episode) in records {
        let value = serde_json::to_value(&episode).unwrap_or_default();
        match seen.get(&episode.episode_id) {
            Some((_, earlier)) if *earlier == value => out.repeated.push(line),
            Some((first, _)) => out.conflicts.push(LineError {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "episode_id `{}` is also used by line {first} with a different record",
                    episode.episode_id
                ),
            }),
            None => {
                seen.insert(episode.episode_id.clone(), (line, value));
                out.episodes.push((line, episode));
            }
        }
    }
    out
}

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename). The
/// file keeps the permissions of the one it replaces; a new file gets 0644.
///
/// # Errors
/// [`RecordError::Io`] when the directory cannot be created or the write/rename fails.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| RecordError::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| RecordError::io(dir, e))?;
    // The temporary file is private (0600); the result keeps the permissions of the file it
    // replaces, or gets the usual 0644 for a new one.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let permissions = std::fs::metadata(path)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
        tmp.as_file()
            .set_permissions(permissions)
            .map_err(|e| RecordError::io(path, e))?;
    }
    tmp.write_all(bytes).map_err(|e| RecordError::io(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| RecordError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| RecordError::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Rec {
        a: u32,
    }

    #[test]
    fn a_line_that_is_not_utf8_is_malformed_not_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, b"{\"a\":1}\n{\"a\":2, \"b\": \"caf\xe9\"}\n{\"a\":3}\n").unwrap();
        let r = read_jsonl::<serde_json::Value>(&p).unwrap();
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].line, 2);
        assert!(
            r.errors[0].message.contains("not valid UTF-8"),
            "{}",
            r.errors[0].message
        );
    }

    #[test]
    fn corrupt_line_is_reported_with_its_line_and_later_lines_survive() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"a\":1}\nnot json\n\n{\"a\":NaN}\n{\"a\":3}\n").unwrap();
        let r = read_jsonl::<Rec>(&p).unwrap();
        assert_eq!(
            r.records.iter().map(|(l, r)| (*l, r.a)).collect::<Vec<_>>(),
            vec![(1, 1), (5, 3)]
        );
        assert_eq!(
            r.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert!(
            r.errors[0]
                .to_string()
                .starts_with(&format!("{} line 2: invalid JSON", p.display()))
        );
        assert!(r.torn_tail.is_none());
    }

    #[test]
    fn unterminated_unparseable_last_line_is_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"a\":1}\n{\"a\":").unwrap();
        let r = read_jsonl::<Rec>(&p).unwrap();
        assert_eq!(r.records.len(), 1);
        assert!(r.errors.is_empty());
        assert_eq!(r.torn_tail.unwrap().line, 2);
    }

    #[test]
    fn a_torn_tail_is_moved_aside_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.jsonl");
        std::fs::write(&p, "{\"a\":1}\n{\"a\":").unwrap();
        let aside = repair_torn_tail(&p, "S").unwrap().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"a\":1}\n");
        assert_eq!(std::fs::read_to_string(&aside).unwrap(), "{\"a\":");
        assert!(aside.to_string_lossy().ends_with("e.jsonl.torn-S"));
        std::fs::write(&p, "{\"a\":1}\n{\"a\":2}").unwrap();
        assert!(
            repair_torn_tail(&p, "S").unwrap().is_none(),
            "a complete last record is kept"
        );
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }

    #[test]
    fn legacy_key_line_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"a\":1,\"_ground_truth\":2}\n").unwrap();
        let r = read_jsonl::<Rec>(&p).unwrap();
        assert_eq!(
            r.errors[0].message,
            "legacy answer key not allowed: `_ground_truth`"
        );
    }

    #[test]
    fn appender_writes_one_line_per_record_and_missing_file_reads_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.jsonl");
        assert!(read_jsonl::<Rec>(&p).unwrap().records.is_empty());
        let w = JsonlAppender::open(&p).unwrap();
        w.append(&Rec { a: 1 }).unwrap();
        w.append(&Rec { a: 2 }).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }

    #[test]
    fn atomic_write_is_pretty_with_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.json");
        write_json_atomic(&p, &vec![Rec { a: 1 }]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "[\n  {\n    \"a\": 1\n  }\n]\n"
        );
    }
}
