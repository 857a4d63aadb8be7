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
//! Needs `DISPLAY` (Xvfb), `tauri-driver` (PATH or `~/.cargo/bin`), `WebKitWebDriver`, Docker
//! and the sandbox image. With `CSVAGENT_REQUIRE_ALL=1` a missing one fails the test; otherwise
//! it prints SKIPPED.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use csvagent_sdk::sandbox::{SandboxConfig, image_status};
use csvagent_sdk::teacher::scripted::{Rule, Script, ScriptedServer};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const TEST: &str = "e2e_run_from_the_run_view_and_open_a_trace";

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

/// Kills the tauri-driver child (and with it the app) when the test ends, pass or fail.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_run_from_the_run_view_and_open_a_trace() {
    // Prerequisites.
    if std::env::var_os("DISPLAY").is_none() {
        support::missing(
            TEST,
            "DISPLAY is not set (start `Xvfb :99` and export DISPLAY=:99)",
        );
        return;
    }
    let Some(driver) = which("tauri-driver") else {
        support::missing(
            TEST,
            "tauri-driver not found (cargo install --locked tauri-driver --version 2.1.0)",
        );
        return;
    };
    if which("WebKitWebDriver").is_none() {
        support::missing(
            TEST,
            "WebKitWebDriver not found (apt-get install webkit2gtk-driver)",
        );
        return;
    }
    if !support::require_docker(TEST) {
        return;
    }
    let image = image_status(&SandboxConfig::default()).await;
    if !image.daemon_reachable || !image.present {
        support::missing(
            TEST,
            &format!(
                "sandbox image {} is not present (csvagent sandbox build)",
                image.tag
            ),
        );
        return;
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
    let server = ScriptedServer::start(script())
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
    let _driver = Driver(child);

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

    // Run view: procedural, 1 question, start.
    wait_js(
        &c,
        "return document.readyState === 'complete' && !!window.__TAURI__",
        Duration::from_secs(30),
        "the page",
    )
    .await;
    click(&c, "#nav button[data-view=run]").await;
    js(&c, "const f = document.querySelector('#run-form').elements; f.mode.value = 'procedural'; f.action.value = 'run'; f.max_questions.value = '1'; f.max_datasets.value = '1'; f.mode.dispatchEvent(new Event('change', {bubbles: true})); return true").await;
    wait_js(
        &c,
        "return !document.querySelector('#run-start').disabled",
        Duration::from_secs(30),
        "preflight ok / Start enabled",
    )
    .await;
    click(&c, "#run-start").await;

    // During the run: a screenshot once the episode stage is live.
    wait_js(
        &c,
        "return document.querySelector('#run-status').dataset.state === 'running'",
        Duration::from_secs(10),
        "the run to start",
    )
    .await;
    let shots = shots_dir();
    let during = shots.join("run-view-during.png");
    let mut took_during = false;
    let t0 = Instant::now();
    let state = loop {
        let state = js(
            &c,
            "return document.querySelector('#run-status').dataset.state",
        )
        .await;
        if state != json!("running") {
            break state;
        }
        if !took_during {
            let live = js(&c, "return Array.from(document.querySelectorAll('#run-stages tbody tr')).some(r => r.innerText.includes('procedural episodes') && r.innerText.includes('running'))").await;
            if live == json!(true) {
                screenshot(&c, &during).await;
                took_during = true;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "the run did not finish in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let status = js(&c, "return document.querySelector('#run-status').innerText").await;
    let outcome = js(
        &c,
        "return document.querySelector('#run-outcome').innerText",
    )
    .await;
    let log = js(&c, "return document.querySelector('#run-log').innerText").await;
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
    screenshot(&c, &shots.join("run-view.png")).await;
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
    click(&c, "#nav button[data-view=episodes]").await;
    wait_js(
        &c,
        "return document.querySelectorAll('#ep-table tbody tr.clickable').length === 1",
        Duration::from_secs(20),
        "the episode list",
    )
    .await;
    js(
        &c,
        "document.querySelector('#ep-table tbody tr.clickable').click(); return true",
    )
    .await;
    let verdict = wait_js(
        &c,
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
        &c,
        "return document.querySelectorAll('#trace-body .turn').length",
    )
    .await;
    assert!(turns.as_u64().unwrap_or(0) >= 1, "the trace shows no turn");
    let code = js(&c, "return document.querySelector('#trace-body').innerText").await;
    assert!(
        code.as_str().unwrap_or_default().contains("n_rows"),
        "{code}"
    );
    screenshot(&c, &shots.join("trace.png")).await;

    // The other views, on the same data.
    click(&c, "#nav button[data-view=questions]").await;
    wait_js(&c, "return document.querySelectorAll('#q-list details').length >= 1 && document.querySelector('#q-counts').innerText.includes('procedural')", Duration::from_secs(20), "the questions").await;
    screenshot(&c, &shots.join("questions.png")).await;

    click(&c, "#nav button[data-view=datasets]").await;
    wait_js(&c, "const t = document.querySelector('#ds-table tbody').innerText; return t.includes('clinic_visits') && t.includes('usable')", Duration::from_secs(20), "the datasets").await;
    js(
        &c,
        "document.querySelector('#ds-table tbody tr.clickable').click(); return true",
    )
    .await;
    click(&c, "#ds-profile").await;
    wait_js(&c, "const b = document.querySelector('#ds-profile-body'); return b && b.querySelectorAll('table').length === 2 && b.innerText.includes('First rows')", Duration::from_secs(60), "the profile and first rows").await;
    screenshot(&c, &shots.join("datasets.png")).await;

    click(&c, "#nav button[data-view=system]").await;
    let system = wait_js(
        &c,
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
    screenshot(&c, &shots.join("system.png")).await;

    click(&c, "#nav button[data-view=publish]").await;
    wait_js(
        &c,
        "return document.querySelector('#pub-token').innerText",
        Duration::from_secs(10),
        "the token status",
    )
    .await;
    js(&c, "document.querySelector('#error-banner').classList.add('hidden'); document.querySelector('#pub-form').elements.repo.value = 'not-a-repo'; document.querySelector('#pub-preview').click(); return true").await;
    let banner = wait_js(&c, "const b = document.querySelector('#error-banner'); return !b.classList.contains('hidden') && b.innerText", Duration::from_secs(10), "the error banner").await;
    assert!(
        banner
            .as_str()
            .unwrap_or_default()
            .starts_with("[invalid_input]"),
        "{banner}"
    );
    js(&c, "document.querySelector('#pub-form').elements.repo.value = 'csvagent/e2e'; document.querySelector('#pub-preview').click(); return true").await;
    let preview = wait_js(&c, "const t = document.querySelector('#pub-preview-body').innerText; return t.includes('Dataset card') && t", Duration::from_secs(30), "the publish preview").await;
    assert!(
        preview.as_str().unwrap_or_default().contains("README.md"),
        "{preview}"
    );
    screenshot(&c, &shots.join("publish.png")).await;

    c.close().await.expect("close session");
}
