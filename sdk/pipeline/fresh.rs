//! `--fresh`: move the selected sources' outputs aside to `.previous/<stamp>/` (SPEC 8.3).
//! Nothing is deleted.

use std::path::{Path, PathBuf};

use crate::manifest::Manifest;
use crate::record::{DataLayout, RecordError};
use crate::schema::Source;

/// Which artifacts `--fresh` moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshScope {
    /// The question trees `questions/<source>/`.
    pub questions: bool,
    /// The episode and failure files, and the source's manifest entries.
    pub episodes: bool,
}

/// Moves the selected sources' artifacts to `.previous/<stamp>/<relative path>` and rewrites the
/// manifest without their entries (the old manifest is moved aside too). Returns the paths moved
/// (their new locations).
///
/// # Errors
/// [`RecordError::Io`] when a move or the manifest rewrite fails; what was already moved stays
/// in `.previous/`.
pub fn move_aside(
    layout: &DataLayout,
    sources: &[Source],
    scope: FreshScope,
    stamp: &str,
) -> Result<Vec<PathBuf>, RecordError> {
    let target = layout.previous_dir(stamp);
    let mut moved = Vec::new();
    let manifest_path = layout.manifest_file();
    for path in fresh_targets(layout, sources, scope) {
        if path == manifest_path {
            let manifest = Manifest::load(&manifest_path)?;
            let aside = move_one(layout.root(), &manifest_path, &target)?;
            manifest.write_filtered(&manifest_path, |e| !sources.contains(&e.source))?;
            moved.push(aside);
        } else {
            moved.push(move_one(layout.root(), &path, &target)?);
        }
    }
    Ok(moved)
}

/// The existing paths [`move_aside`] would move for `sources` and `scope`, in the order it
/// moves them: question trees, episode and failure files, then the manifest (which is moved
/// aside and rewritten without the sources' entries). Front ends show this list in the
/// confirmation before a `--fresh` run. Reads only file metadata.
pub fn fresh_targets(layout: &DataLayout, sources: &[Source], scope: FreshScope) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    for &s in sources {
        if scope.questions {
            candidates.push(layout.questions_dir(s));
        }
        if scope.episodes {
            candidates.push(layout.episodes_file(s));
            candidates.push(layout.failures_file(s));
        }
    }
    if scope.episodes {
        candidates.push(layout.manifest_file());
    }
    candidates.retain(|p| p.exists());
    candidates
}

fn move_one(root: &Path, path: &Path, target: &Path) -> Result<PathBuf, RecordError> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let dest = target.join(rel);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| RecordError::io(parent, e))?;
    }
    std::fs::rename(path, &dest).map_err(|e| RecordError::io(path, e))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_moves_selected_outputs_aside_and_filters_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DataLayout::new(dir.path());
        let q = layout.questions_file(Source::Template, "d");
        std::fs::create_dir_all(q.parent().unwrap()).unwrap();
        std::fs::write(&q, "[]\n").unwrap();
        let keep = layout.questions_file(Source::Procedural, "d");
        std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
        std::fs::write(&keep, "[]\n").unwrap();
        let ep = layout.episodes_file(Source::Template);
        std::fs::create_dir_all(ep.parent().unwrap()).unwrap();
        std::fs::write(&ep, "{}\n").unwrap();
        let line = |s: &str| {
            format!(
                r#"{{"source":"{s}","fingerprint":"f{s}","status":"success","dataset":"d","timestamp":"2026-01-01T00:00:00.000Z"}}"#
            )
        };
        std::fs::write(
            layout.manifest_file(),
            format!("{}\n{}\n", line("template"), line("procedural")),
        )
        .unwrap();

        let moved = move_aside(
            &layout,
            &[Source::Template],
            FreshScope {
                questions: true,
                episodes: true,
            },
            "S1",
        )
        .unwrap();
        assert_eq!(moved.len(), 3);
        assert!(!q.exists() && !ep.exists() && keep.exists());
        assert!(
            layout
                .previous_dir("S1")
                .join("questions/template/d/questions.json")
                .is_file()
        );
        assert!(
            layout
                .previous_dir("S1")
                .join("episodes/template.jsonl")
                .is_file()
        );
        assert!(
            layout
                .previous_dir("S1")
                .join("datagen_manifest.jsonl")
                .is_file()
        );
        let m = Manifest::load(&layout.manifest_file()).unwrap();
        assert_eq!(m.len(), 1);
        assert!(m.has(Source::Procedural, "fprocedural", false));
    }

    #[test]
    fn fresh_targets_lists_exactly_the_existing_paths_that_would_move() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DataLayout::new(dir.path());
        let q = layout.questions_file(Source::Template, "d");
        std::fs::create_dir_all(q.parent().unwrap()).unwrap();
        std::fs::write(&q, "[]\n").unwrap();
        let ep = layout.episodes_file(Source::Template);
        std::fs::create_dir_all(ep.parent().unwrap()).unwrap();
        std::fs::write(&ep, "{}\n").unwrap();
        let both = FreshScope {
            questions: true,
            episodes: true,
        };
        assert_eq!(
            fresh_targets(&layout, &[Source::Template], both),
            vec![layout.questions_dir(Source::Template), ep.clone()]
        );
        let questions_only = FreshScope {
            questions: true,
            episodes: false,
        };
        assert_eq!(
            fresh_targets(&layout, &[Source::Procedural], questions_only),
            Vec::<PathBuf>::new()
        );
        assert!(ep.is_file(), "listing must not move anything");
    }
}
