//! A local, Hub-compatible HTTP server for the upload tests: it serves the endpoints hf-hub 1.x
//! calls for an upload, keeps repositories in memory, records every request, and injects faults.
//!
//! Served (all under `Authorization: Bearer <token>`, else 401 echoing the presented token):
//! - `GET /api/datasets/<org>/<name>[/revision/<rev>]` repository info (`sha`, `private`);
//! - `POST /api/repos/create` (409 when it exists);
//! - `POST /api/datasets/<org>/<name>/branch/<branch>`;
//! - `GET /api/datasets/<org>/<name>/tree/<rev>?recursive=true`, listing files as the Hub does:
//!   a regular file's `oid` is its git blob id; a large file (`*.parquet`, `*.csv`, > 10 MiB or
//!   binary) is listed as a git-lfs pointer (`oid` = the pointer blob's id, `lfs: {oid: sha256,
//!   size, pointerSize}`);
//! - `POST /api/datasets/<org>/<name>/preupload/<rev>` (`lfs` for large files, else `regular`);
//! - `POST /datasets/<org>/<name>.git/info/lfs/objects/batch`: answers `transfer: basic`. hf-hub
//!   1.x uploads large files only through Xet, which this server does not implement; on a
//!   non-Xet answer hf-hub sends the content inline in the commit, so the server receives every
//!   byte;
//! - `POST /api/datasets/<org>/<name>/commit/<rev>` (NDJSON: header with `parentCommit`, `file`
//!   base64 entries, `deletedFile`); 412 when `parentCommit` is not the head.

#![allow(dead_code, reason = "not every test uses every helper")]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A scripted failure: requests whose method matches and whose path ends with `path_suffix`
/// get `status` (with `Retry-After` if set) `times` times.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path_suffix: String,
    pub status: u16,
    pub times: usize,
    pub retry_after_s: Option<u64>,
}

impl Fault {
    pub fn new(method: &'static str, path_suffix: &str, status: u16, times: usize) -> Fault {
        Fault {
            method,
            path_suffix: path_suffix.to_owned(),
            status,
            times,
            retry_after_s: None,
        }
    }
}

/// One commit of a branch.
#[derive(Debug, Clone)]
pub struct Commit {
    pub oid: String,
    pub summary: String,
    pub description: String,
    pub added: Vec<String>,
    pub deleted: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files committed as `lfsFile` after a Xet upload: path -> (sha256, size). The server never
    /// sees their bytes (they travel as chunked xorbs).
    pub lfs_files: BTreeMap<String, (String, u64)>,
    pub commits: Vec<Commit>,
}

impl Branch {
    pub fn head(&self) -> &str {
        &self.commits.last().expect("a branch has commits").oid
    }
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub private: bool,
    pub branches: BTreeMap<String, Branch>,
}

impl Repo {
    pub fn main(&self) -> &Branch {
        &self.branches["main"]
    }
}

#[derive(Default)]
struct HubState {
    token: String,
    repos: BTreeMap<String, Repo>,
    requests: Vec<Recorded>,
    faults: Vec<Fault>,
    /// Before the next commit request, land this foreign commit on `main` (a concurrent upload).
    concurrent_commit: Option<(String, Vec<u8>)>,
    commit_counter: u64,
    /// Answer the LFS batch with `transfer: xet` and serve a minimal Xet CAS.
    xet: bool,
    endpoint: String,
}

/// The Xet access token the fake hands out (a CAS credential, not the Hub token).
pub const XET_TOKEN: &str = "xet-cas-token";

/// The running server.
pub struct FakeHub {
    addr: SocketAddr,
    state: Arc<Mutex<HubState>>,
}

const GITATTRIBUTES: &str = "*.parquet filter=lfs diff=lfs merge=lfs -text\n\
                             *.csv filter=lfs diff=lfs merge=lfs -text\n";

impl FakeHub {
    /// Starts a server accepting `token`, on a free loopback port.
    pub async fn start(token: &str) -> FakeHub {
        FakeHub::start_with(token, false).await
    }

    /// Starts a server that offers Xet for large files, like the Hub does today: the LFS batch
    /// answers `transfer: xet`, `xet-write-token` hands out a CAS token whose `casUrl` is this
    /// server, and `/v1/xorbs`, `/v1/shards` accept uploads (`/v1/xorb-grants`, `/v2/shards` and
    /// `/v1/chunks` answer 404, which the Xet client treats as "not offered" / "no dedup").
    pub async fn start_with_xet(token: &str) -> FakeHub {
        FakeHub::start_with(token, true).await
    }

    async fn start_with(token: &str, xet: bool) -> FakeHub {
        let state = Arc::new(Mutex::new(HubState {
            token: token.to_owned(),
            xet,
            ..HubState::default()
        }));
        let app = Router::new()
            .fallback(handle)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        state.lock().unwrap().endpoint = format!("http://{addr}");
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeHub { addr, state }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn fault(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.state.lock().unwrap().faults.clear();
    }

    /// Makes the next commit request race with a foreign commit adding `path`.
    pub fn concurrent_commit_before_next(&self, path: &str, content: &[u8]) {
        self.state.lock().unwrap().concurrent_commit = Some((path.to_owned(), content.to_vec()));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// Requests with `method` whose path contains `fragment`.
    pub fn count(&self, method: &str, fragment: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(fragment))
            .count()
    }

    pub fn repo(&self, id: &str) -> Option<Repo> {
        self.state.lock().unwrap().repos.get(id).cloned()
    }

    /// Creates a repository directly (as if made earlier on the Hub).
    pub fn create_repo(&self, id: &str, private: bool) {
        let mut state = self.state.lock().unwrap();
        let repo = new_repo(&mut state, private);
        state.repos.insert(id.to_owned(), repo);
    }
}

fn new_repo(state: &mut HubState, private: bool) -> Repo {
    state.commit_counter += 1;
    let oid = hex40(&format!("initial {}", state.commit_counter));
    let mut files = BTreeMap::new();
    files.insert(
        ".gitattributes".to_owned(),
        GITATTRIBUTES.as_bytes().to_vec(),
    );
    Repo {
        private,
        branches: BTreeMap::from([(
            "main".to_owned(),
            Branch {
                files,
                lfs_files: BTreeMap::new(),
                commits: vec![Commit {
                    oid,
                    summary: "initial commit".to_owned(),
                    description: String::new(),
                    added: vec![".gitattributes".to_owned()],
                    deleted: Vec::new(),
                }],
            },
        )]),
    }
}

fn hex40(seed: &str) -> String {
    hex::encode(Sha1::digest(seed.as_bytes()))
}

pub fn git_blob_oid(content: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    hex::encode(h.finalize())
}

pub fn sha256(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

pub fn is_large(path: &str, content: &[u8]) -> bool {
    path.ends_with(".parquet")
        || path.ends_with(".csv")
        || content.len() > 10 * 1024 * 1024
        || content.iter().take(512).any(|b| *b == 0)
}

fn json_response(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, json!({ "error": message }))
}

async fn handle(
    State(state): State<Arc<Mutex<HubState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut state = state.lock().unwrap();
    state.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or("").to_owned(),
        authorization: authorization.clone(),
        body: body.to_vec(),
    });
    let is_cas = path.starts_with("/v1/") || path.starts_with("/v2/");
    let expected = if is_cas {
        format!("Bearer {XET_TOKEN}")
    } else {
        format!("Bearer {}", state.token)
    };
    if authorization.as_deref() != Some(expected.as_str()) {
        // Like a careless server, echo what was presented: clients must not repeat it.
        let presented = authorization.unwrap_or_default();
        return error(
            401,
            &format!("Invalid credentials in Authorization header: {presented}"),
        );
    }
    if let Some(fault) = state
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && f.method == method.as_str() && path.ends_with(&f.path_suffix))
    {
        fault.times -= 1;
        let mut response = error(fault.status, &format!("injected {}", fault.status));
        if let Some(s) = fault.retry_after_s {
            response
                .headers_mut()
                .insert("retry-after", s.to_string().parse().unwrap());
        }
        return response;
    }
    route(&mut state, &method, &path, &body)
}

fn route(state: &mut HubState, method: &Method, path: &str, body: &[u8]) -> Response {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["api", "repos", "create"]) => create(state, body),
        ("GET", ["api", "datasets", org, name]) => info(state, &format!("{org}/{name}"), "main"),
        ("GET", ["api", "datasets", org, name, "revision", rev]) => {
            info(state, &format!("{org}/{name}"), &decode(rev))
        }
        ("GET", ["api", "datasets", org, name, "tree", rev]) => {
            tree(state, &format!("{org}/{name}"), &decode(rev))
        }
        ("POST", ["api", "datasets", org, name, "branch", branch]) => {
            create_branch(state, &format!("{org}/{name}"), &decode(branch))
        }
        ("POST", ["api", "datasets", org, name, "preupload", _rev]) => {
            if !state.repos.contains_key(&format!("{org}/{name}")) {
                return error(404, "Repository not found");
            }
            preupload(body)
        }
        ("POST", ["datasets", org, name_git, "info", "lfs", "objects", "batch"]) => {
            let name = name_git.trim_end_matches(".git");
            if !state.repos.contains_key(&format!("{org}/{name}")) {
                return error(404, "Repository not found");
            }
            let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let transfer = if state.xet { "xet" } else { "basic" };
            json_response(
                200,
                json!({ "transfer": transfer, "objects": request["objects"], "hash_algo": "sha256" }),
            )
        }
        ("GET", ["api", "datasets", _org, _name, "xet-write-token", _rev]) if state.xet => {
            json_response(
                200,
                json!({ "accessToken": XET_TOKEN, "exp": 4_102_444_800u64, "casUrl": state.endpoint }),
            )
        }
        ("POST", ["v1", "xorbs", _prefix, _hash]) if state.xet => {
            json_response(200, json!({ "was_inserted": true }))
        }
        ("POST", ["v1", "shards"]) if state.xet => json_response(200, json!({ "result": 1 })),
        ("POST", ["v1", "telemetry"]) => json_response(200, json!({})),
        ("POST", ["api", "datasets", org, name, "commit", rev]) => {
            commit(state, &format!("{org}/{name}"), &decode(rev), body)
        }
        _ => error(404, &format!("no route for {method} {path}")),
    }
}

fn decode(segment: &str) -> String {
    segment.replace("%2F", "/")
}

fn create(state: &mut HubState, body: &[u8]) -> Response {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if request["type"] != "dataset" {
        return error(400, "expected a dataset repository");
    }
    let name = request["name"].as_str().unwrap_or_default();
    let org = request["organization"].as_str().unwrap_or("me");
    let id = format!("{org}/{name}");
    if state.repos.contains_key(&id) {
        return error(409, "You already created this dataset repo");
    }
    let private = request["private"].as_bool().unwrap_or(false);
    let repo = new_repo(state, private);
    state.repos.insert(id.clone(), repo);
    json_response(
        200,
        json!({ "url": format!("http://hub.local/datasets/{id}") }),
    )
}

fn info(state: &HubState, id: &str, rev: &str) -> Response {
    let Some(repo) = state.repos.get(id) else {
        return error(404, "Repository not found");
    };
    let Some(branch) = repo.branches.get(rev) else {
        return error(404, "Revision not found");
    };
    let siblings: Vec<Value> = branch
        .files
        .keys()
        .map(|p| json!({ "rfilename": p }))
        .collect();
    json_response(
        200,
        json!({ "id": id, "sha": branch.head(), "private": repo.private, "siblings": siblings }),
    )
}

fn tree(state: &HubState, id: &str, rev: &str) -> Response {
    let Some(repo) = state.repos.get(id) else {
        return error(404, "Repository not found");
    };
    let Some(branch) = repo.branches.get(rev) else {
        return error(404, "Revision not found");
    };
    let mut entries = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    for (path, content) in &branch.files {
        let mut prefix = String::new();
        for part in path
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            prefix = if prefix.is_empty() {
                part.to_owned()
            } else {
                format!("{prefix}/{part}")
            };
            dirs.insert(prefix.clone());
        }
        if is_large(path, content) {
            let sha = sha256(content);
            let pointer = format!(
                "version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {}\n",
                content.len()
            );
            entries.push(json!({
                "type": "file", "oid": git_blob_oid(pointer.as_bytes()), "size": content.len(),
                "path": path,
                "lfs": { "oid": sha, "size": content.len(), "pointerSize": pointer.len() }
            }));
        } else {
            entries.push(json!({
                "type": "file", "oid": git_blob_oid(content), "size": content.len(), "path": path
            }));
        }
    }
    for (path, (sha, size)) in &branch.lfs_files {
        let pointer =
            format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n");
        entries.push(json!({
            "type": "file", "oid": git_blob_oid(pointer.as_bytes()), "size": size, "path": path,
            "lfs": { "oid": sha, "size": size, "pointerSize": pointer.len() },
            "xetHash": hex40(sha)
        }));
    }
    for dir in dirs {
        entries.push(json!({ "type": "directory", "oid": hex40(&dir), "size": 0, "path": dir }));
    }
    json_response(200, Value::Array(entries))
}

fn create_branch(state: &mut HubState, id: &str, branch: &str) -> Response {
    let Some(repo) = state.repos.get_mut(id) else {
        return error(404, "Repository not found");
    };
    if repo.branches.contains_key(branch) {
        return error(409, "Branch already exists");
    }
    let main = repo.branches["main"].clone();
    repo.branches.insert(branch.to_owned(), main);
    json_response(200, json!({}))
}

fn preupload(body: &[u8]) -> Response {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let files: Vec<Value> = request["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let path = f["path"].as_str().unwrap_or_default();
            let sample = base64::engine::general_purpose::STANDARD
                .decode(f["sample"].as_str().unwrap_or_default())
                .unwrap_or_default();
            let size = f["size"].as_u64().unwrap_or(0);
            let large = is_large(path, &sample) || size > 10 * 1024 * 1024;
            json!({ "path": path, "uploadMode": if large { "lfs" } else { "regular" }, "shouldIgnore": false })
        })
        .collect();
    json_response(200, json!({ "files": files }))
}

fn commit(state: &mut HubState, id: &str, rev: &str, body: &[u8]) -> Response {
    if !state.repos.contains_key(id) {
        return error(404, "Repository not found");
    }
    if let Some((path, content)) = state.concurrent_commit.take() {
        state.commit_counter += 1;
        let oid = hex40(&format!("foreign {}", state.commit_counter));
        let branch = state
            .repos
            .get_mut(id)
            .unwrap()
            .branches
            .get_mut("main")
            .unwrap();
        branch.files.insert(path.clone(), content);
        branch.commits.push(Commit {
            oid,
            summary: "a concurrent commit".to_owned(),
            description: String::new(),
            added: vec![path],
            deleted: Vec::new(),
        });
    }
    let mut summary = String::new();
    let mut description = String::new();
    let mut parent = None;
    let mut adds = Vec::new();
    let mut deletes = Vec::new();
    let mut lfs = Vec::new();
    for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(entry) = serde_json::from_slice::<Value>(line) else {
            return error(400, "invalid NDJSON line");
        };
        let value = &entry["value"];
        match entry["key"].as_str() {
            Some("header") => {
                summary = value["summary"].as_str().unwrap_or_default().to_owned();
                description = value["description"].as_str().unwrap_or_default().to_owned();
                parent = value["parentCommit"].as_str().map(str::to_owned);
            }
            Some("file") => {
                let content = base64::engine::general_purpose::STANDARD
                    .decode(value["content"].as_str().unwrap_or_default())
                    .unwrap_or_default();
                adds.push((
                    value["path"].as_str().unwrap_or_default().to_owned(),
                    content,
                ));
            }
            Some("deletedFile") => {
                deletes.push(value["path"].as_str().unwrap_or_default().to_owned())
            }
            Some("lfsFile") if state.xet => lfs.push((
                value["path"].as_str().unwrap_or_default().to_owned(),
                value["oid"].as_str().unwrap_or_default().to_owned(),
                value["size"].as_u64().unwrap_or(0),
            )),
            Some("lfsFile") => return error(400, "lfsFile: this server stores no LFS objects"),
            _ => return error(400, "unknown commit entry"),
        }
    }
    state.commit_counter += 1;
    let oid = hex40(&format!("commit {} {summary}", state.commit_counter));
    let repo = state.repos.get_mut(id).unwrap();
    let Some(branch) = repo.branches.get_mut(rev) else {
        return error(404, "Revision not found");
    };
    if let Some(parent) = parent
        && parent != branch.head()
    {
        return error(
            412,
            "A commit has happened since. Please refresh and try again.",
        );
    }
    for (path, content) in &adds {
        branch.lfs_files.remove(path);
        branch.files.insert(path.clone(), content.clone());
    }
    for (path, oid, size) in &lfs {
        branch.files.remove(path);
        branch.lfs_files.insert(path.clone(), (oid.clone(), *size));
    }
    for path in &deletes {
        branch.files.remove(path);
        branch.lfs_files.remove(path);
    }
    branch.commits.push(Commit {
        oid: oid.clone(),
        summary: summary.clone(),
        description,
        added: adds
            .into_iter()
            .map(|(p, _)| p)
            .chain(lfs.into_iter().map(|(p, _, _)| p))
            .collect(),
        deleted: deletes,
    });
    json_response(
        200,
        json!({
            "commitUrl": format!("http://hub.local/datasets/{id}/commit/{oid}"),
            "commitOid": oid,
            "commitMessage": summary,
        }),
    )
}
