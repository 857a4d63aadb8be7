//! Preflight (SPEC 8.4): every writing command checks, before any stage, that it can write what
//! it will write and that nothing already there is malformed. Read-only under `--dry-run`.

use std::path::{Path, PathBuf};

use crate::record::{DataLayout, load_questions, read_jsonl};
use crate::schema::{Episode, FailureRecord, ManifestEntry, Source};

use super::lock::held_by_live_process;

/// What a preflight should check.
#[derive(Debug, Clone, Default)]
pub struct PreflightScope {
    /// The sources whose artifacts the command writes or reads.
    pub sources: Vec<Source>,
    /// Dry run: check permissions only, create nothing.
    pub dry_run: bool,
    /// The command moves these outputs of the selected sources aside first (`--fresh`): a
    /// malformed artifact among them is not a reason to refuse, since it will not be read.
    pub fresh: Option<super::FreshScope>,
}

/// Runs the file-system checks of SPEC 8.4 (items 1-5) and returns every reason to refuse, in
/// check order; empty means go. Model and Docker availability (item 6) are checked by the caller,
/// which knows whether they are needed.
pub fn check(layout: &DataLayout, scope: &PreflightScope) -> Vec<String> {
    let mut reasons = Vec::new();
    // 1. Legacy layout.
    for p in layout.legacy_paths() {
        if p.exists() {
            reasons.push(format!(
                "legacy layout path exists: {} (csvagent reads only questions/<source>/ and episodes/<source>.jsonl; move it out of the data directory)",
                p.display()
            ));
        }
    }
    // 2. Wrong kinds.
    let mut dirs: Vec<PathBuf> = vec![layout.root().to_path_buf()];
    let mut files: Vec<PathBuf> = vec![layout.manifest_file()];
    for &s in &scope.sources {
        dirs.push(layout.questions_dir(s));
        files.push(layout.episodes_file(s));
        files.push(layout.failures_file(s));
    }
    for d in &dirs {
        if d.exists() && !d.is_dir() {
            reasons.push(format!(
                "{} should be a directory but is a file",
                d.display()
            ));
        }
    }
    for f in &files {
        if f.is_dir() {
            reasons.push(format!(
                "{} should be a file but is a directory",
                f.display()
            ));
        }
    }
    // 3. Writable nearest existing ancestor.
    if let Some(reason) = writable(layout.root(), scope.dry_run) {
        reasons.push(reason);
    }
    // 4. Malformed artifacts of the selected sources (except those `--fresh` moves aside).
    let fresh = scope.fresh.unwrap_or(super::FreshScope {
        questions: false,
        episodes: false,
    });
    let before = reasons.len();
    for &s in &scope.sources {
        if !fresh.questions {
            reasons.extend(malformed_questions(layout, s));
        }
        if !fresh.episodes {
            reasons.extend(malformed_jsonl::<Episode>(&layout.episodes_file(s)));
            reasons.extend(malformed_jsonl::<FailureRecord>(&layout.failures_file(s)));
        }
    }
    // The manifest is shared by every source; `--fresh` rewrites it from what parses (the old
    // file is moved aside), so a malformed line only blocks a run that resumes.
    if scope.fresh.is_none() {
        reasons.extend(malformed_jsonl::<ManifestEntry>(&layout.manifest_file()));
    }
    if reasons.len() > before {
        reasons.push(
            "to recover, fix the malformed files above, or start the sources again with --fresh \
             (their outputs are moved aside to .previous/<stamp>/; nothing is deleted)"
                .into(),
        );
    }
    // 5. Lock held by a live process.
    if let Some(reason) = held_by_live_process(&layout.lock_file()) {
        reasons.push(reason);
    }
    reasons
}

/// Checks the teacher settings before a command that calls the teacher (SPEC 8.4 item 6, the
/// model part): every setting valid ([`crate::teacher::TeacherConfig::validate`]) and, for the
/// embedded teacher, a model given as a path names an existing file. Returns the reasons to
/// refuse (empty means go). A Hub model (`owner/repo:file.gguf`) or the default model is fetched
/// later and not checked here.
pub fn teacher_check(cfg: &crate::teacher::TeacherConfig) -> Vec<String> {
    if let Err(e) = cfg.validate() {
        return vec![format!("teacher: {e}")];
    }
    if cfg.base_url.is_none()
        && let Some(model) = &cfg.model
        && let Ok(crate::teacher::ModelSource::Path(path)) =
            crate::teacher::ModelSource::parse(model)
        && !path.is_file()
    {
        return vec![format!(
            "teacher model file `{}` not found: pass an existing `.gguf` path or a Hub file \
             `owner/repo:file.gguf` with --teacher-model",
            path.display()
        )];
    }
    Vec::new()
}

/// Formats refusal reasons as SPEC 8.4 prints them: `Fail-fast: <reason>` lines, the first 10,
/// then `… and N more`.
pub fn format_reasons(reasons: &[String]) -> String {
    let mut out: Vec<String> = reasons
        .iter()
        .take(10)
        .map(|r| format!("Fail-fast: {r}"))
        .collect();
    if reasons.len() > 10 {
        out.push(format!("… and {} more", reasons.len() - 10));
    }
    out.join("\n")
}

fn nearest_existing(path: &Path) -> Option<&Path> {
    let mut p = Some(path);
    while let Some(cur) = p {
        if cur.as_os_str().is_empty() {
            return Some(Path::new("."));
        }
        if cur.exists() {
            return Some(cur);
        }
        p = cur.parent();
    }
    None
}

fn writable(root: &Path, dry_run: bool) -> Option<String> {
    let Some(anc) = nearest_existing(root) else {
        return Some(format!("no existing ancestor of {}", root.display()));
    };
    if !anc.is_dir() {
        return Some(format!("{} is not a directory", anc.display()));
    }
    if dry_run {
        return match std::fs::metadata(anc) {
            Ok(m) if m.permissions().readonly() => {
                Some(format!("{} is not writable", anc.display()))
            }
            Ok(_) => None,
            Err(e) => Some(format!("cannot inspect {}: {e}", anc.display())),
        };
    }
    let probe = anc.join(format!(
        ".csvagent-write-probe-{}.tmp",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => Some(format!("{} is not writable: {e}", anc.display())),
    }
}

fn malformed_questions(layout: &DataLayout, source: Source) -> Vec<String> {
    let dir = layout.questions_dir(source);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("questions.json"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| load_questions(&f).err().map(|e| e.to_string()))
        .collect()
}

fn malformed_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<String> {
    match read_jsonl::<T>(path) {
        Ok(read) => read.errors.iter().map(ToString::to_string).collect(),
        Err(e) => vec![e.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> PreflightScope {
        PreflightScope {
            sources: vec![Source::Template],
            dry_run: false,
            fresh: None,
        }
    }

    #[test]
    fn a_clean_data_dir_passes_and_probes_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DataLayout::new(dir.path().join("data"));
        assert!(check(&layout, &scope()).is_empty());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn legacy_layout_wrong_kinds_and_malformed_artifacts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DataLayout::new(dir.path());
        std::fs::create_dir_all(dir.path().join("questions_synthetic")).unwrap();
        std::fs::create_dir_all(layout.episodes_file(Source::Template)).unwrap();
        let q = layout.questions_file(Source::Template, "d");
        std::fs::create_dir_all(q.parent().unwrap()).unwrap();
        std::fs::write(&q, r#"{"questions": []}"#).unwrap();
        let f = layout.failures_file(Source::Template);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "not json\n{}\n").unwrap();
        let reasons = check(&layout, &scope());
        assert!(
            reasons[0].starts_with("legacy layout path exists"),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("template.jsonl should be a file but is a directory")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("questions file must be a JSON array")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("template.jsonl line 1: invalid JSON")),
            "{reasons:?}"
        );
    }

    #[test]
    fn malformed_outputs_that_fresh_moves_aside_do_not_block_it() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DataLayout::new(dir.path());
        let q = layout.questions_file(Source::Template, "d");
        std::fs::create_dir_all(q.parent().unwrap()).unwrap();
        std::fs::write(&q, "{ torn").unwrap();
        let reasons = check(&layout, &scope());
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[1].contains("--fresh"), "{reasons:?}");
        let episodes_only = PreflightScope {
            fresh: Some(crate::pipeline::FreshScope {
                questions: false,
                episodes: true,
            }),
            ..scope()
        };
        assert_eq!(
            check(&layout, &episodes_only).len(),
            2,
            "questions are still read"
        );
        let everything = PreflightScope {
            fresh: Some(crate::pipeline::FreshScope {
                questions: true,
                episodes: true,
            }),
            ..scope()
        };
        assert!(check(&layout, &everything).is_empty());
    }

    #[test]
    fn more_than_ten_reasons_are_summarised() {
        let reasons: Vec<String> = (0..13).map(|i| format!("r{i}")).collect();
        let text = format_reasons(&reasons);
        assert_eq!(text.lines().count(), 11);
        assert_eq!(text.lines().last().unwrap(), "… and 3 more");
        assert_eq!(text.lines().next().unwrap(), "Fail-fast: r0");
    }
}
