//! Pushing a staged tree to the Hub through `hf-hub` (SPEC 9.5): create the repository if
//! needed, compare with what is there, and make one commit (or none).

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use hf_hub::repository::{CommitOperation, RepoTreeEntry};
use hf_hub::{HFClient, HFError, HFRepository, RepoTypeDataset};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use super::auth::HubAuth;
use super::options::UploadOptions;
use super::stage::{StagedFile, StagedUpload};
use super::{PublishError, RepoId};
use crate::events::{Event, EventSink, LogLevel};

/// Repository folders csvagent owns: files there that are no longer staged are deleted.
const OWNED_PREFIXES: [&str; 3] = ["data/", "questions/", "datasets/"];

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadOutcome {
    /// The repository.
    pub repo: RepoId,
    /// The dataset page: `<endpoint>/datasets/<org>/<name>`.
    pub url: String,
    /// The branch committed to.
    pub revision: String,
    /// Whether the repository was created by this upload.
    pub created: bool,
    /// The new commit's id; `None` when nothing changed (or on a dry run).
    pub commit: Option<String>,
    /// Every staged file already matched the repository: no commit was made.
    pub unchanged: bool,
    /// Repository paths added or replaced by the commit, sorted.
    pub added: Vec<String>,
    /// Repository paths deleted by the commit, sorted.
    pub deleted: Vec<String>,
    /// Nothing was sent because the options asked for a dry run.
    pub dry_run: bool,
}

/// A file as the repository lists it.
#[derive(Debug, Clone)]
struct RemoteFile {
    /// Git object id: the blob's SHA-1, or the LFS pointer's for large files.
    oid: String,
    /// SHA-256 of the content, when the listing gives it.
    lfs_sha256: Option<String>,
}

/// Pushes `staged` to `opts.repo` on the Hub at `auth.endpoint()`; `opts` also gives the
/// visibility, branch, dry-run flag and retry policy.
///
/// 1. Creates the dataset repository (private per `opts.private`) if it does not exist; an
///    existing one keeps its visibility, with a warning event when `opts.private` disagrees.
///    A missing non-`main` branch is created from `main`.
/// 2. Lists the branch and compares every staged file by content (git blob SHA-1, or the LFS
///    pointer / SHA-256 for large files). When all match and nothing stale is left under
///    `data/`, `questions/` or `datasets/`, no commit is made (`unchanged: true`).
/// 3. Otherwise makes exactly one commit `csvagent upload: <counts>` with the changed files and
///    the deletions, based on the branch head read in step 2; hf-hub decides which files go
///    through its large-file path. If the branch moved meanwhile (409/412), it re-reads and
///    retries once.
///
/// hf-hub retries each request on 429, 5xx and connection errors per `opts.retry`. Progress goes
/// to `events` as `Event::Upload` phases `creating repository`, `comparing`, `committing`,
/// `done`. With `opts.dry_run` nothing is sent. Cancellation: dropping the future before the
/// commit request leaves the repository untouched; a commit is all or nothing on the Hub.
///
/// # Errors
/// [`PublishError::Unauthorized`] (401), [`PublishError::Forbidden`] (403),
/// [`PublishError::RepoNotFound`] / [`PublishError::RevisionNotFound`] (404),
/// [`PublishError::Conflict`] (409/412 twice), [`PublishError::RateLimited`] (429 after the
/// retries), [`PublishError::Server`] (5xx after the retries), [`PublishError::Unreachable`],
/// [`PublishError::Hub`] for anything else, [`PublishError::Io`] if a staged file vanished,
/// [`PublishError::StagedAsDryRun`] if `staged` was a dry run, [`PublishError::InvalidRepoId`] if `staged` was staged for another
/// repository, [`PublishError::InvalidLicense`] / [`PublishError::InvalidRevision`] (checked
/// before any request, see [`UploadOptions::validate`]).
/// No message contains the token.
#[tracing::instrument(skip_all, fields(repo = %opts.repo, revision = opts.branch()))]
pub async fn upload(
    staged: &StagedUpload,
    opts: &UploadOptions,
    auth: &HubAuth,
    events: &EventSink,
) -> Result<UploadOutcome, PublishError> {
    let branch = opts.branch().to_owned();
    let mut outcome = UploadOutcome {
        repo: staged.repo.clone(),
        url: format!("{}/datasets/{}", auth.endpoint(), staged.repo),
        revision: branch.clone(),
        created: false,
        commit: None,
        unchanged: false,
        added: Vec::new(),
        deleted: Vec::new(),
        dry_run: opts.dry_run,
    };
    opts.validate()?;
    if opts.repo != staged.repo {
        return Err(PublishError::InvalidRepoId {
            value: opts.repo.to_string(),
            reason: format!(
                "the upload was staged for `{}`; stage it again for this repository",
                staged.repo
            ),
        });
    }
    if opts.dry_run {
        return Ok(outcome);
    }
    if staged.dry_run {
        return Err(PublishError::StagedAsDryRun {
            repo: staged.repo.to_string(),
        });
    }
    let ctx = Ctx {
        repo: &staged.repo,
        revision: &branch,
        auth,
        dir: &staged.dir,
    };
    let client = HFClient::builder()
        .token(auth.token())
        .endpoint(auth.endpoint())
        .cache_enabled(false)
        .retry_max_attempts(opts.retry.max_retries)
        .retry_base_delay(opts.retry.base_delay)
        .build()
        .map_err(|e| ctx.map(e))?;
    let repo = client.dataset(staged.repo.org(), staged.repo.name());

    events
        .emit(Event::Upload {
            phase: "creating repository".to_owned(),
            done: 0,
            total: 1,
        })
        .await;
    match repo.info().send().await {
        Ok(info) => {
            let is_private = info.private.unwrap_or(false);
            if is_private != opts.private {
                events
                    .log(
                        LogLevel::Warn,
                        format!(
                            "repository `{}` already exists and is {}; its visibility is left \
                             unchanged",
                            staged.repo,
                            if is_private { "private" } else { "public" }
                        ),
                    )
                    .await;
            }
        }
        Err(HFError::RepoNotFound { .. }) => {
            client
                .create_repository()
                .repo_id(&staged.repo.to_string())
                .repo_type(RepoTypeDataset)
                .private(opts.private)
                .exist_ok(true)
                .send()
                .await
                .map_err(|e| ctx.map(e))?;
            outcome.created = true;
            tracing::info!(repo = %staged.repo, private = opts.private, "created repository");
        }
        Err(e) => return Err(ctx.map(e)),
    }
    if branch != "main"
        && !repo
            .revision_exists()
            .revision(&branch)
            .send()
            .await
            .map_err(|e| ctx.map(e))?
    {
        repo.create_branch()
            .branch(&branch)
            .send()
            .await
            .map_err(|e| ctx.map(e))?;
    }

    for attempt in 0..2 {
        events
            .emit(Event::Upload {
                phase: "comparing".to_owned(),
                done: 0,
                total: staged.files.len() as u64,
            })
            .await;
        let head = repo
            .info()
            .revision(branch.clone())
            .send()
            .await
            .map_err(|e| ctx.map(e))?
            .sha;
        let remote = list_files(&repo, &branch).await.map_err(|e| ctx.map(e))?;
        let (added, deleted) = plan(&staged.files, &remote)?;
        if added.is_empty() && deleted.is_empty() {
            outcome.unchanged = true;
            events
                .emit(Event::Upload {
                    phase: "done".to_owned(),
                    done: 0,
                    total: 0,
                })
                .await;
            return Ok(outcome);
        }
        let mut operations: Vec<CommitOperation> = added
            .iter()
            .map(|f| CommitOperation::add_file(f.path_in_repo.clone(), f.local_path.clone()))
            .collect();
        operations.extend(deleted.iter().map(CommitOperation::delete));
        let total = operations.len() as u64;
        events
            .emit(Event::Upload {
                phase: "committing".to_owned(),
                done: 0,
                total,
            })
            .await;
        let result = repo
            .create_commit()
            .operations(operations)
            .commit_message(staged.commit_message())
            .commit_description(staged.commit_description())
            .revision(branch.clone())
            .maybe_parent_commit(head)
            .send()
            .await;
        match result {
            Ok(info) => {
                outcome.commit = info.commit_oid;
                outcome.added = added.iter().map(|f| f.path_in_repo.clone()).collect();
                outcome.deleted = deleted;
                events
                    .emit(Event::Upload {
                        phase: "done".to_owned(),
                        done: total,
                        total,
                    })
                    .await;
                tracing::info!(repo = %staged.repo, commit = ?outcome.commit, "committed");
                return Ok(outcome);
            }
            Err(e) if attempt == 0 && is_branch_moved(&e) => {
                events
                    .log(
                        LogLevel::Warn,
                        format!(
                            "`{}` moved while uploading (another commit landed); re-reading \
                             and retrying once",
                            staged.repo
                        ),
                    )
                    .await;
            }
            Err(e) => return Err(ctx.map(e)),
        }
    }
    Err(PublishError::Conflict {
        repo: staged.repo.clone(),
        revision: branch,
    })
}

fn is_branch_moved(e: &HFError) -> bool {
    match e {
        HFError::Conflict { .. } => true,
        HFError::Http { context } => matches!(context.status.as_u16(), 409 | 412),
        _ => false,
    }
}

async fn list_files(
    repo: &HFRepository<RepoTypeDataset>,
    branch: &str,
) -> Result<BTreeMap<String, RemoteFile>, HFError> {
    let stream = repo
        .list_tree()
        .revision(branch.to_owned())
        .recursive(true)
        .send()?;
    futures::pin_mut!(stream);
    let mut files = BTreeMap::new();
    while let Some(entry) = stream.next().await {
        if let RepoTreeEntry::File { oid, path, lfs, .. } = entry? {
            files.insert(
                path,
                RemoteFile {
                    oid,
                    lfs_sha256: lfs.and_then(|l| l.sha256),
                },
            );
        }
    }
    Ok(files)
}

/// The staged files that differ from the repository, and the stale repository paths to delete.
fn plan<'a>(
    staged: &'a [StagedFile],
    remote: &BTreeMap<String, RemoteFile>,
) -> Result<(Vec<&'a StagedFile>, Vec<String>), PublishError> {
    let mut added = Vec::new();
    for file in staged {
        let same = match remote.get(&file.path_in_repo) {
            Some(r) => same_content(file, r)?,
            None => false,
        };
        if !same {
            added.push(file);
        }
    }
    let keep: BTreeSet<&str> = staged.iter().map(|f| f.path_in_repo.as_str()).collect();
    let deleted = remote
        .keys()
        .filter(|p| OWNED_PREFIXES.iter().any(|prefix| p.starts_with(prefix)))
        .filter(|p| !keep.contains(p.as_str()))
        .cloned()
        .collect();
    Ok((added, deleted))
}

/// Whether a staged file has the content the repository lists: by SHA-256 (LFS), by the git
/// object id of the LFS pointer, or by the git blob id of the content itself.
fn same_content(file: &StagedFile, remote: &RemoteFile) -> Result<bool, PublishError> {
    if remote.lfs_sha256.as_deref() == Some(file.sha256.as_str())
        || remote.oid == git_blob_oid(lfs_pointer(&file.sha256, file.size_bytes).as_bytes())
    {
        return Ok(true);
    }
    let bytes =
        std::fs::read(&file.local_path).map_err(|e| PublishError::io(&file.local_path, e))?;
    Ok(remote.oid == git_blob_oid(&bytes))
}

/// The git object id (SHA-1 of `blob <len>\0<content>`) of `content`.
fn git_blob_oid(content: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hex::encode(hasher.finalize())
}

/// The git-lfs pointer file git stores for a large file.
fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

/// What an error is about, to name it in messages.
struct Ctx<'a> {
    repo: &'a RepoId,
    revision: &'a str,
    auth: &'a HubAuth,
    /// The staging directory (hf-hub reads the files from there).
    dir: &'a std::path::Path,
}

impl Ctx<'_> {
    /// The error for an HTTP `status`; `server` is the Hub's message, redacted of the token.
    fn status_error(
        &self,
        status: u16,
        server: Option<&str>,
        retry_after: Option<u64>,
    ) -> PublishError {
        let repo = self.repo.clone();
        let endpoint = self.auth.endpoint().to_owned();
        match status {
            401 => PublishError::Unauthorized { repo, endpoint },
            403 => PublishError::Forbidden { repo },
            404 => PublishError::RepoNotFound { repo, endpoint },
            409 | 412 => PublishError::Conflict {
                repo,
                revision: self.revision.to_owned(),
            },
            429 => PublishError::RateLimited {
                repo,
                retry_after_s: retry_after,
            },
            500..=599 => PublishError::Server { repo, status },
            _ => PublishError::Hub {
                repo,
                message: format!(
                    "HTTP {status}{}",
                    server
                        .map(|m| format!(": {}", self.auth.redact(m)))
                        .unwrap_or_default()
                ),
            },
        }
    }

    /// Maps an hf-hub error to its own clear message.
    fn map(&self, e: HFError) -> PublishError {
        match e {
            HFError::AuthRequired { .. } => self.status_error(401, None, None),
            HFError::Forbidden { .. } => self.status_error(403, None, None),
            HFError::RepoNotFound { .. } => self.status_error(404, None, None),
            HFError::RevisionNotFound { .. } => PublishError::RevisionNotFound {
                repo: self.repo.clone(),
                revision: self.revision.to_owned(),
            },
            HFError::Conflict { .. } => self.status_error(409, None, None),
            HFError::RateLimited { retry_after, .. } => {
                self.status_error(429, None, retry_after.map(|d| d.as_secs()))
            }
            HFError::Http { context } => self.status_error(
                context.status.as_u16(),
                context.server_message.as_deref(),
                None,
            ),
            HFError::Request { source, .. } => PublishError::Unreachable {
                endpoint: self.auth.endpoint().to_owned(),
                message: self.auth.redact(&source.to_string()),
            },
            HFError::Io(source) => PublishError::Io {
                path: self.dir.to_path_buf(),
                source,
            },
            other => PublishError::Hub {
                repo: self.repo.clone(),
                message: self.auth.redact(&other.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_oid_matches_git_hash_object() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_oid(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        // `git hash-object /dev/null`
        assert_eq!(
            git_blob_oid(b""),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    fn staged(dir: &std::path::Path, path: &str, content: &[u8]) -> StagedFile {
        let local_path = dir.join(path.replace('/', "_"));
        std::fs::write(&local_path, content).unwrap();
        StagedFile {
            path_in_repo: path.to_owned(),
            local_path,
            size_bytes: content.len() as u64,
            sha256: crate::verify::sha256_hex(content),
        }
    }

    #[test]
    fn plan_keeps_identical_files_and_deletes_only_stale_owned_paths() {
        let dir = tempfile::tempdir().unwrap();
        let card = staged(dir.path(), "README.md", b"card");
        let parquet = staged(dir.path(), "data/template/train-0.parquet", b"PAR1 rows");
        let changed = staged(dir.path(), "questions/template-0.parquet", b"new");
        let mut remote = BTreeMap::new();
        remote.insert(
            "README.md".to_owned(),
            RemoteFile {
                oid: git_blob_oid(b"card"),
                lfs_sha256: None,
            },
        );
        // An LFS file as the Hub lists it: the oid is the pointer blob's, no usable sha256.
        remote.insert(
            parquet.path_in_repo.clone(),
            RemoteFile {
                oid: git_blob_oid(lfs_pointer(&parquet.sha256, parquet.size_bytes).as_bytes()),
                lfs_sha256: None,
            },
        );
        remote.insert(
            changed.path_in_repo.clone(),
            RemoteFile {
                oid: git_blob_oid(b"old"),
                lfs_sha256: None,
            },
        );
        for stale in [
            "data/procedural/train-0.parquet",
            ".gitattributes",
            "notes.md",
        ] {
            remote.insert(
                stale.to_owned(),
                RemoteFile {
                    oid: "x".to_owned(),
                    lfs_sha256: None,
                },
            );
        }
        let files = vec![card, parquet, changed];
        let (added, deleted) = plan(&files, &remote).unwrap();
        let added: Vec<&str> = added.iter().map(|f| f.path_in_repo.as_str()).collect();
        assert_eq!(added, ["questions/template-0.parquet"]);
        assert_eq!(deleted, ["data/procedural/train-0.parquet"]);
    }
}
