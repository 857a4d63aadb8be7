//! Dataset discovery (SPEC 1.13): folders of `data.csv` + `meta.json` under a datasets
//! directory, each checked on the host and either usable or skipped with a reason.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dialect;
use super::{Dataset, DatasetError};
use crate::schema::DatasetMeta;
use crate::verify::sha256_hex;

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9._-]+$").expect("valid regex"));

/// Every dataset found under a datasets directory: the usable ones and the skipped ones.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The datasets directory that was searched.
    pub dir: PathBuf,
    /// Usable datasets, in discovery order (`manifest.json` order, else by folder name).
    pub datasets: Vec<Dataset>,
    /// Datasets that cannot be used, with the reason, in discovery order.
    pub skipped: Vec<SkippedDataset>,
}

/// A dataset folder that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedDataset {
    /// The folder name.
    pub name: String,
    /// Why it is skipped, e.g. `empty file`, `no data rows`, `invalid dataset name`.
    pub reason: String,
}

/// Rows and columns counted on the host with the detected dialect (quote-aware). The sandbox
/// profile is the authority; this is what `datasets list` shows without starting a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostShape {
    /// Data rows (header excluded; blank lines not counted).
    pub rows: u64,
    /// Header fields.
    pub columns: u64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ManifestEntry {
    Slug {
        slug: String,
    },
    Ref {
        #[allow(dead_code, reason = "accepted for the Kaggle manifest shape")]
        r#ref: Option<String>,
        slug: String,
    },
}

impl Catalog {
    /// Discovers the datasets under `dir` (SPEC 1.13).
    ///
    /// With `dir/manifest.json` (`[{"slug": ...}]` or `[{"ref": ..., "slug": ...}]`), its order is
    /// used; otherwise every folder of `dir` (not hidden ones, `.name`), sorted by name. A
    /// candidate without a `data.csv` is skipped with the reason `no data.csv`. Each candidate is read once: hashed (SHA-256), its encoding and
    /// delimiter detected (`meta.json` `read_options` win) and its rows counted. Problems make
    /// the dataset skipped with a reason; they never fail discovery.
    ///
    /// # Errors
    /// [`DatasetError::DirUnreadable`] when `dir` does not exist or cannot be listed;
    /// [`DatasetError::Manifest`] when `manifest.json` exists but is not a list of slugs.
    pub fn discover(dir: &Path) -> Result<Catalog, DatasetError> {
        let names = candidate_names(dir)?;
        let mut catalog = Catalog {
            dir: dir.to_path_buf(),
            ..Catalog::default()
        };
        for name in names {
            if !dir.join(&name).join("data.csv").is_file() {
                catalog.skipped.push(SkippedDataset {
                    name,
                    reason: "no data.csv".to_owned(),
                });
                continue;
            }
            match load_dataset(dir, &name) {
                Ok(ds) => catalog.datasets.push(ds),
                Err(reason) => catalog.skipped.push(SkippedDataset { name, reason }),
            }
        }
        Ok(catalog)
    }

    /// The usable dataset called `name`.
    ///
    /// # Errors
    /// [`DatasetError::NotFound`] when no usable dataset has that name (a skipped one says why).
    pub fn get(&self, name: &str) -> Result<&Dataset, DatasetError> {
        if let Some(ds) = self.datasets.iter().find(|d| d.name == name) {
            return Ok(ds);
        }
        if let Some(s) = self.skipped.iter().find(|s| s.name == name) {
            return Err(DatasetError::Unusable {
                name: name.to_owned(),
                reason: s.reason.clone(),
            });
        }
        Err(DatasetError::NotFound {
            name: name.to_owned(),
            dir: self.dir.clone(),
            usable: self.datasets.iter().map(|d| d.name.clone()).collect(),
        })
    }
}

fn candidate_names(dir: &Path) -> Result<Vec<String>, DatasetError> {
    let unreadable = |e: std::io::Error| DatasetError::DirUnreadable {
        dir: dir.to_path_buf(),
        source: e,
    };
    let manifest = dir.join("manifest.json");
    if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest).map_err(unreadable)?;
        let entries: Vec<ManifestEntry> =
            serde_json::from_str(&text).map_err(|e| DatasetError::Manifest {
                path: manifest.clone(),
                message: e.to_string(),
            })?;
        return Ok(entries
            .into_iter()
            .map(|e| match e {
                ManifestEntry::Slug { slug } | ManifestEntry::Ref { slug, .. } => slug,
            })
            .collect());
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

fn load_dataset(root: &Path, name: &str) -> Result<Dataset, String> {
    if !NAME.is_match(name) {
        return Err("invalid dataset name".to_owned());
    }
    let dir = root.join(name);
    let csv_path = dir.join("data.csv");
    let meta = read_meta(&dir.join("meta.json"))?;
    let bytes = std::fs::read(&csv_path).map_err(|e| format!("unreadable: {e}"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty file".to_owned());
    }
    let overrides = meta.read_options.as_ref();
    let enc = overrides.and_then(|o| o.encoding.as_deref());
    let delim = match overrides.and_then(|o| o.delimiter.as_deref()) {
        None => None,
        Some(d) => Some(single_char(d).ok_or_else(|| {
            format!("invalid read_options.delimiter `{d}` in meta.json: expected a single character such as `,` or a tab")
        })?),
    };
    let (dialect, text) = dialect::detect(&bytes, enc, delim)?;
    let shape = host_shape(&text, dialect.delimiter)?;
    if shape.columns < 2 {
        return Err(format!(
            "only {} column with delimiter {:?}",
            shape.columns, dialect.delimiter
        ));
    }
    if shape.rows == 0 {
        return Err("no data rows".to_owned());
    }
    Ok(Dataset {
        name: name.to_owned(),
        description: description(&meta),
        dataset_hash: sha256_hex(&bytes),
        size_bytes: bytes.len() as u64,
        dir,
        csv_path,
        meta,
        dialect,
    })
}

fn single_char(s: &str) -> Option<char> {
    match s {
        "\\t" | "tab" => Some('\t'),
        _ => {
            let mut chars = s.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(c)
        }
    }
}

/// Reads `meta.json`; a missing file is an empty meta.
fn read_meta(path: &Path) -> Result<DatasetMeta, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("invalid meta.json ({}): {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(serde_json::from_value(Value::Object(Default::default()))
                .map_err(|e| e.to_string())?)
        }
        Err(e) => Err(format!("unreadable meta.json: {e}")),
    }
}

/// Counts rows and header columns quote-aware with the `csv` crate.
pub(crate) fn host_shape(text: &str, delimiter: char) -> Result<HostShape, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter as u8)
        .from_reader(text.as_bytes());
    let mut columns = 0u64;
    let mut rows = 0u64;
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| format!("parse error: {e}"))?;
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        if i == 0 || columns == 0 {
            columns = rec.len() as u64;
        } else {
            rows += 1;
        }
    }
    Ok(HostShape { rows, columns })
}

/// The description (SPEC 1.13): the first non-empty of `description`, `subtitle`, `title`,
/// else `""`.
pub fn description(meta: &DatasetMeta) -> String {
    [&meta.description, &meta.subtitle, &meta.title]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// Card tags from `meta.json` `keywords`: stringified JSON objects contribute their `name`,
/// plain strings are used as they are.
pub fn keyword_tags(meta: &DatasetMeta) -> Vec<String> {
    meta.keywords
        .iter()
        .flatten()
        .filter_map(|k| match serde_json::from_str::<Value>(k) {
            Ok(Value::Object(o)) => o.get("name").and_then(Value::as_str).map(str::to_owned),
            _ => Some(k.clone()),
        })
        .collect()
}

impl Dataset {
    /// Rows and columns counted on the host (quote-aware) with this dataset's dialect.
    ///
    /// # Errors
    /// [`DatasetError::Read`] when the file can no longer be read or decoded.
    pub fn host_shape(&self) -> Result<HostShape, DatasetError> {
        let read_err = |reason: String| DatasetError::Read {
            path: self.csv_path.clone(),
            reason,
        };
        let bytes = std::fs::read(&self.csv_path).map_err(|e| read_err(e.to_string()))?;
        let text = dialect::decode(&bytes, &self.dialect.encoding).map_err(read_err)?;
        host_shape(&text, self.dialect.delimiter).map_err(read_err)
    }
}
