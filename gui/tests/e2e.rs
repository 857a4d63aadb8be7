//! End to end in a real window: the built app under Xvfb, driven over WebDriver
//! (`tauri-driver` in front of Debian's `WebKitWebDriver`). A procedural run on one example
//! dataset with the scripted teacher is started from the Run view and watched until the view
//! says it finished; then one trace is opened in the Episodes view.
//!
//! Then the Questions, Datasets (profile and first rows from the sandbox), System and Publish
//! (an invalid repository shows `[invalid_input]`; a valid one previews the card) views.
//!
//! Screenshots in `<target>/e2e/`: `run-view-during.png` (during the run, also copied to
//! `docs/screenshots/run-view.png` for the README when `CSVAGENT_UPDATE_SCREENSHOTS` is set), `run-view.png` (finished), `trace.png`,
//! `questions.png`, `datasets.png`, `system.png`, `publish.png`.
//!
//! A second test starts a run the same way and sends the app `SIGTERM` during the episode stage
//! (the path a closed window also takes, `RunEvent::Exit`): the app exits within seconds, the run
//! lock is released, none of the run's containers is left running and the episode file holds only
//! whole records. The two tests take turns (one app at a time).
//!
//! Needs `DISPLAY` (Xvfb), `tauri-driver` (PATH or `~/.cargo/bin`), `WebKitWebDriver`, Docker
//! and the sandbox image. With `CSVAGENT_REQUIRE_ALL=1` a missing one fails the test; otherwise
//! it prints SKIPPED.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use csvagent_sdk::record::{DataLayout, read_jsonl};
use csvagent_sdk::sandbox::{SandboxConfig, image_status};
use csvagent_sdk::schema::{Episode, Source};
use csvagent_sdk::teacher::scripted::{Rule, Script, ScriptedServer};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const TEST: &str = "e2e_run_from_the_run_view_and_open_a_trace";
const EXIT_TEST: &str = "e2e_sigterm_during_a_run_stops_it_cleanly";

/// One app (tauri-driver, WebKitWebDriver, a WebKit process) at a time: two at once on 2 cores
/// beside the sandbox made both slow.
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_csvagent-desktop"))
}

fn shots_dir() -> PathBuf {
    // <target>/debug/csvagent-desktop -> <target>/e2e
    let bin = app_binary();
    let target = bin
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| repo_root().join("target"), Path::to_path_buf);
    target.join("e2e")
}

fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Ends the tauri-driver child (and with it the app) when the test ends, pass or fail:
/// `SIGTERM` first, on which tauri-driver also ends the `WebKitWebDriver` it started (a
/// `SIGKILL` left one behind per test), then `SIGKILL` after 5 s.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("script")
}

async fn wait_js(c: &Client, script: &str, timeout: Duration, what: &str) -> Value {
    let start = Instant::now();
    loop {
        let v = js(c, script).await;
        if !(v.is_null() || v == json!(false) || v == json!("")) {
            return v;
        }
        if start.elapsed() > timeout {
            let log = js(c, "return document.querySelector('#run-log').innerText").await;
            let banner = js(
                c,
                "return document.querySelector('#error-banner').innerText",
            )
            .await;
            panic!("timed out waiting for {what}; banner: {banner}; log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("element {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn screenshot(c: &Client, path: &Path) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, png).expect("write screenshot");
}

/// Teacher replies: explore with a hook, then submit.
fn script() -> Script {
    Script::new().rule(
        Rule::any()
            .delay(Duration::from_millis(1500))
            .reply(
                "First I count the visits.\n```python\nn_rows = len(df)\nhook(n_rows, 'n_rows = len(df)', name='n_rows')\nprint(n_rows)\n```",
            )
            .reply("I have what I need.\n```python\nsubmit(n_rows)\n```"),
    )
}

/// The running app with its data, teacher and WebDriver session. Dropping it kills
/// tauri-driver (and with it the app).
struct App {
    client: Client,
    server: ScriptedServer,
    data: PathBuf,
    _tmp: tempfile::TempDir,
    _driver: Driver,
}

/// Checks the prerequisites (`None` after reporting a missing one), then starts the app on one
/// example dataset, an empty data directory and the scripted teacher `script`, and opens a
/// WebDriver session once the page is ready.
async fn launch(test: &str, script: Script) -> Option<App> {
    // Prerequisites.
    if std::env::var_os("DISPLAY").is_none() {
        support::missing(
            test,
            "DISPLAY is not set (start `Xvfb :99` and export DISPLAY=:99)",
        );
        return None;
    }
    let Some(driver) = which("tauri-driver") else {
        support::missing(
            test,
            "tauri-driver not found (cargo install --locked tauri-driver --version 2.1.0)",
        );
        return None;
    };
    if which("WebKitWebDriver").is_none() {
        support::missing(
            test,
            "WebKitWebDriver not found (apt-get install webkit2gtk-driver)",
        );
        return None;
    }
    if !support::require_docker(test) {
        return None;
    }
    let image = image_status(&SandboxConfig::default()).await;
    if !image.daemon_reachable || !image.present {
        support::missing(
            test,
            &format!(
                "sandbox image {} is not present (csvagent sandbox build)",
                image.tag
            ),
        );
        return None;
    }

    // One example dataset, an empty data dir, the scripted teacher.
    let tmp = tempfile::tempdir().expect("tmp");
    let datasets = tmp.path().join("datasets");
    let src = repo_root().join("examples/datasets/clinic_visits");
    std::fs::create_dir_all(datasets.join("clinic_visits")).expect("mkdir");
    for f in ["data.csv", "meta.json"] {
        std::fs::copy(src.join(f), datasets.join("clinic_visits").join(f)).expect("copy dataset");
    }
    let data = tmp.path().join("data");
    let server = ScriptedServer::start(script)
        .await
        .expect("scripted teacher");

    let port = free_port();
    let native = free_port();
    let child = Command::new(&driver)
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("CSVAGENT_DATA_DIR", &data)
        .env("CSVAGENT_DATASETS", &datasets)
        .env("CSVAGENT_TEACHER_URL", server.url())
        .env("CSVAGENT_TEACHER_MODEL", "scripted")
        .env("CSVAGENT_PROCEDURAL_MAX_PER_DATASET", "2")
        .env("CSVAGENT_MIN_EXPLORATION_TURNS", "1")
        .env("CSVAGENT_MAX_TURNS", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tauri-driver");
    let driver = Driver(child);

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": app_binary() }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let c = loop {
        match ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) if start.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => panic!("cannot open a WebDriver session on {url}: {e}"),
        }
    };
    wait_js(
        &c,
        "return document.readyState === 'complete' && !!window.__TAURI__",
        Duration::from_secs(30),
        "the page",
    )
    .await;
    Some(App {
        client: c,
        server,
        data,
        _tmp: tmp,
        _driver: driver,
    })
}

/// Run view: a procedural run on one dataset with at most `max_questions` questions, started.
async fn start_procedural_run(c: &Client, max_questions: u32) {
    click(c, "#nav button[data-view=run]").await;
    js(c, &format!("const f = document.querySelector('#run-form').elements; f.mode.value = 'procedural'; f.action.value = 'run'; f.max_questions.value = '{max_questions}'; f.max_datasets.value = '1'; f.mode.dispatchEvent(new Event('change', {{bubbles: true}})); return true")).await;
    wait_js(
        c,
        "return !document.querySelector('#run-start').disabled",
        Duration::from_secs(30),
        "preflight ok / Start enabled",
    )
    .await;
    click(c, "#run-start").await;
    wait_js(
        c,
        "return document.querySelector('#run-status').dataset.state === 'running'",
        Duration::from_secs(10),
        "the run to start",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_run_from_the_run_view_and_open_a_trace() {
    let _one = ONE_APP.lock().await;
    let Some(app) = launch(TEST, script()).await else {
        return;
    };
    let (c, server) = (&app.client, &app.server);
    start_procedural_run(c, 1).await;

    // During the run: a screenshot once the episode stage is live.
    let shots = shots_dir();
    let during = shots.join("run-view-during.png");
    let mut took_during = false;
    let t0 = Instant::now();
    let state = loop {
        let state = js(
            c,
            "return document.querySelector('#run-status').dataset.state",
        )
        .await;
        if state != json!("running") {
            break state;
        }
        if !took_during {
            let live = js(c, "return Array.from(document.querySelectorAll('#run-stages tbody tr')).some(r => r.innerText.includes('procedural episodes') && r.innerText.includes('running'))").await;
            if live == json!(true) {
                screenshot(c, &during).await;
                took_during = true;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "the run did not finish in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let status = js(c, "return document.querySelector('#run-status').innerText").await;
    let outcome = js(c, "return document.querySelector('#run-outcome').innerText").await;
    let log = js(c, "return document.querySelector('#run-log').innerText").await;
    assert_eq!(
        state,
        json!("finished"),
        "status {status}; outcome {outcome}; log:\n{log}"
    );
    let outcome = outcome.as_str().unwrap_or_default().to_owned();
    assert!(
        outcome.contains("procedural questions")
            && outcome.contains("procedural episodes")
            && outcome.contains("procedural 1 lines"),
        "{outcome}"
    );
    screenshot(c, &shots.join("run-view.png")).await;
    assert!(
        took_during,
        "no screenshot during the episode stage; log:\n{log}"
    );
    // The README's screenshot is refreshed on request only, so a test run leaves the tree clean.
    if std::env::var_os("CSVAGENT_UPDATE_SCREENSHOTS").is_some() {
        let docs = repo_root().join("docs/screenshots/run-view.png");
        std::fs::create_dir_all(docs.parent().expect("parent")).expect("mkdir docs");
        std::fs::copy(&during, &docs).expect("copy screenshot to docs");
    }

    // The teacher was really asked.
    assert!(
        !server.requests().is_empty(),
        "the scripted teacher got no request"
    );

    // Episodes view: open the one trace.
    click(c, "#nav button[data-view=episodes]").await;
    wait_js(
        c,
        "return document.querySelectorAll('#ep-table tbody tr.clickable').length === 1",
        Duration::from_secs(20),
        "the episode list",
    )
    .await;
    js(
        c,
        "document.querySelector('#ep-table tbody tr.clickable').click(); return true",
    )
    .await;
    let verdict = wait_js(
        c,
        "const v = document.querySelector('#trace-verdict'); return v && v.innerText",
        Duration::from_secs(20),
        "the trace",
    )
    .await;
    assert!(
        verdict == json!("verified") || verdict == json!("not verified"),
        "{verdict}"
    );
    let turns = js(
        c,
        "return document.querySelectorAll('#trace-body .turn').length",
    )
    .await;
    assert!(turns.as_u64().unwrap_or(0) >= 1, "the trace shows no turn");
    let code = js(c, "return document.querySelector('#trace-body').innerText").await;
    assert!(
        code.as_str().unwrap_or_default().contains("n_rows"),
        "{code}"
    );
    screenshot(c, &shots.join("trace.png")).await;

    // The other views, on the same data.
    click(c, "#nav button[data-view=questions]").await;
    wait_js(c, "return document.querySelectorAll('#q-list details').length >= 1 && document.querySelector('#q-counts').innerText.includes('procedural')", Duration::from_secs(20), "the questions").await;
    screenshot(c, &shots.join("questions.png")).await;

    click(c, "#nav button[data-view=datasets]").await;
    wait_js(c, "const t = document.querySelector('#ds-table tbody').innerText; return t.includes('clinic_visits') && t.includes('usable')", Duration::from_secs(20), "the datasets").await;
    js(
        c,
        "document.querySelector('#ds-table tbody tr.clickable').click(); return true",
    )
    .await;
    click(c, "#ds-profile").await;
    wait_js(c, "const b = document.querySelector('#ds-profile-body'); return b && b.querySelectorAll('table').length === 2 && b.innerText.includes('First rows')", Duration::from_secs(60), "the profile and first rows").await;
    screenshot(c, &shots.join("datasets.png")).await;

    click(c, "#nav button[data-view=system]").await;
    let system = wait_js(
        c,
        "const t = document.querySelector('#sys-body').innerText; return t.includes('Docker') && t",
        Duration::from_secs(30),
        "the system view",
    )
    .await;
    let system = system.as_str().unwrap_or_default().to_owned();
    assert!(
        system.contains("reachable") && system.contains("present"),
        "{system}"
    );
    screenshot(c, &shots.join("system.png")).await;

    click(c, "#nav button[data-view=publish]").await;
    wait_js(
        c,
        "return document.querySelector('#pub-token').innerText",
        Duration::from_secs(10),
        "the token status",
    )
    .await;
    js(c, "document.querySelector('#error-banner').classList.add('hidden'); document.querySelector('#pub-form').elements.repo.value = 'not-a-repo'; document.querySelector('#pub-preview').click(); return true").await;
    let banner = wait_js(c, "const b = document.querySelector('#error-banner'); return !b.classList.contains('hidden') && b.innerText", Duration::from_secs(10), "the error banner").await;
    assert!(
        banner
            .as_str()
            .unwrap_or_default()
            .starts_with("[invalid_input]"),
        "{banner}"
    );
    js(c, "document.querySelector('#pub-form').elements.repo.value = 'csvagent/e2e'; document.querySelector('#pub-preview').click(); return true").await;
    let preview = wait_js(c, "const t = document.querySelector('#pub-preview-body').innerText; return t.includes('Dataset card') && t", Duration::from_secs(30), "the publish preview").await;
    assert!(
        preview.as_str().unwrap_or_default().contains("README.md"),
        "{preview}"
    );
    screenshot(c, &shots.join("publish.png")).await;

    c.clone().close().await.expect("close session");
}

/// The teacher for the exit test: every reply comes after 3 s, so episodes are in flight.
fn slow_script() -> Script {
    Script::new().rule(
        Rule::any()
            .delay(Duration::from_secs(3))
            .reply("Looking.\n```python\nn_rows = len(df)\nhook(n_rows, 'n_rows = len(df)', name='n_rows')\n```"),
    )
}

/// The pid of the app started for `data` (matched on `CSVAGENT_DATA_DIR` in its environment).
fn app_pid(data: &Path) -> Option<u32> {
    let wanted = format!("CSVAGENT_DATA_DIR={}", data.display());
    let exe = std::fs::canonicalize(app_binary()).ok()?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path().join("exe")).ok()?;
            if !target
                .to_string_lossy()
                .starts_with(&*exe.to_string_lossy())
            {
                return None;
            }
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ
                .split(|b| *b == 0)
                .any(|kv| kv == wanted.as_bytes())
                .then_some(pid)
        })
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by WebKitWebDriver) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_sigterm_during_a_run_stops_it_cleanly() {
    let _one = ONE_APP.lock().await;
    let Some(app) = launch(EXIT_TEST, slow_script()).await else {
        return;
    };
    start_procedural_run(&app.client, 2).await;

    // Wait for the episode stage's first teacher request, then read the run id off the lock.
    let t0 = Instant::now();
    while app.server.requests().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "no teacher request within 3 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let layout = DataLayout::new(&app.data);
    let lock: Value = serde_json::from_str(
        &std::fs::read_to_string(layout.lock_file()).expect("the run holds its lock"),
    )
    .expect("lock file is JSON");
    let run_id = lock["run_id"]
        .as_str()
        .expect("run_id in the lock")
        .to_owned();
    let ours =
        |status: &csvagent_sdk::sandbox::ImageStatus| support::run_containers(status, &run_id);
    let before = image_status(&SandboxConfig::default()).await;
    assert!(
        ours(&before) > 0,
        "the run has sandbox containers: {before:?}"
    );

    let pid = app_pid(&app.data).expect("the app's process");
    let sent = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill -TERM {pid}");
    let t1 = Instant::now();
    while alive(pid) {
        assert!(
            t1.elapsed() < Duration::from_secs(40),
            "the app still runs 40 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert!(
        !layout.lock_file().exists(),
        "the run lock is released when the app exits"
    );
    let after = image_status(&SandboxConfig::default()).await;
    assert_eq!(
        ours(&after),
        0,
        "the run's containers are stopped: {after:?}"
    );
    let episodes = layout.episodes_file(Source::Procedural);
    if episodes.exists() {
        let read = read_jsonl::<Episode>(&episodes).expect("read episodes");
        assert!(
            read.errors.is_empty() && read.torn_tail.is_none(),
            "only whole records: {:?} {:?}",
            read.errors,
            read.torn_tail
        );
    }
}
