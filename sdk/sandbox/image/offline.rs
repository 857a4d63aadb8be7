//! The offline build path (SPEC 4.1): debootstrap a Debian root file system with python3,
//! install the pinned wheels into it with the host's pip (`--no-index`), add the sandbox user
//! and the csvagent files, and import the tree as an image through the Engine API.

use std::path::Path;
use std::process::Stdio;

use bollard::Docker;
use bollard::query_parameters::CreateImageOptions;
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::io::ReaderStream;

use super::{
    ImageBuildOptions, PROFILE_PY, REQUIREMENTS_LOCK, RUNTIME_PY, SITE, SUITE, SUPERVISOR_PY,
    build_error, image_env, image_labels, progress,
};
use crate::events::{Event, EventSink};
use crate::sandbox::SandboxError;

/// Runs a command, streaming its output lines to the event sink; fails with its last lines.
pub(super) async fn run(
    tag: &str,
    step: &str,
    events: &EventSink,
    program: &str,
    args: &[&str],
) -> Result<(), SandboxError> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env_remove("PIP_FIND_LINKS")
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            let hint = match program {
                "debootstrap" => " (install it: `apt-get install debootstrap`)",
                "python3" => " (a host `python3` with pip is needed to fetch the wheels)",
                _ => "",
            };
            build_error(tag, step, format!("cannot run `{program}`: {e}{hint}"))
        })?;
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(build_error(tag, step, "no output pipes"));
    };
    let tail = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let pump = |stream: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        let tail = tail.clone();
        let events = events.clone();
        let step = step.to_string();
        async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                events
                    .emit(Event::ImageBuild {
                        step: step.clone(),
                        message: line.clone(),
                    })
                    .await;
                if let Ok(mut t) = tail.lock() {
                    t.push(line);
                    if t.len() > 8 {
                        t.remove(0);
                    }
                }
            }
        }
    };
    let (_, _, status) = tokio::join!(pump(Box::new(out)), pump(Box::new(err)), child.wait());
    let status = status.map_err(|e| build_error(tag, step, format!("`{program}` failed: {e}")))?;
    if status.success() {
        return Ok(());
    }
    let last = tail.lock().map(|t| t.join("\n")).unwrap_or_default();
    Err(build_error(
        tag,
        step,
        format!("`{program}` exited with {status}:\n{last}"),
    ))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn pip_platform_args(arch: &str) -> Vec<String> {
    let mut args = Vec::new();
    for p in [
        "manylinux2014",
        "manylinux_2_17",
        "manylinux_2_24",
        "manylinux_2_27",
        "manylinux_2_28",
    ] {
        args.push("--platform".to_string());
        args.push(format!("{p}_{arch}"));
    }
    for a in [
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--no-deps",
        "--require-hashes",
    ] {
        args.push(a.to_string());
    }
    args
}

pub(super) async fn build_offline(
    docker: &Docker,
    tag: &str,
    opts: &ImageBuildOptions,
    events: &EventSink,
) -> Result<(), SandboxError> {
    let io =
        |step: &str, what: &str, e: std::io::Error| build_error(tag, step, format!("{what}: {e}"));
    let cache = &opts.cache_dir;
    std::fs::create_dir_all(cache).map_err(|e| {
        io(
            "prepare",
            &format!("cannot create `{}`", cache.display()),
            e,
        )
    })?;
    let work = tempfile::Builder::new()
        .prefix("csvagent-image-")
        .tempdir_in(cache)
        .map_err(|e| io("prepare", "cannot create a work directory", e))?;
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(&rootfs).map_err(|e| io("prepare", "cannot create the root fs", e))?;
    let rootfs_s = rootfs.to_string_lossy().into_owned();

    // 1. Debian root file system (cached as a tarball keyed by suite).
    let tarball = cache.join(format!("rootfs-{SUITE}-minbase-python3.tar"));
    if tarball.is_file() {
        progress(
            events,
            "rootfs",
            format!("unpacking cached {}", tarball.display()),
        )
        .await;
        run(
            tag,
            "rootfs",
            events,
            "tar",
            &[
                "--numeric-owner",
                "-xf",
                &tarball.to_string_lossy(),
                "-C",
                &rootfs_s,
            ],
        )
        .await?;
    } else {
        if !is_root() {
            return Err(build_error(
                tag,
                "debootstrap",
                "debootstrap needs root: run `csvagent sandbox build` as root once, or build with a registry (`offline_build = false`)",
            ));
        }
        progress(
            events,
            "debootstrap",
            format!(
                "debootstrap {SUITE} (minbase + python3) from {}",
                opts.debian_mirror
            ),
        )
        .await;
        run(
            tag,
            "debootstrap",
            events,
            "debootstrap",
            &[
                "--variant=minbase",
                "--include=python3",
                SUITE,
                &rootfs_s,
                &opts.debian_mirror,
            ],
        )
        .await?;
        let partial = cache.join(format!(
            "rootfs-{SUITE}-minbase-python3.tar.partial-{}",
            std::process::id()
        ));
        run(
            tag,
            "rootfs",
            events,
            "tar",
            &[
                "--numeric-owner",
                "-C",
                &rootfs_s,
                "-cf",
                &partial.to_string_lossy(),
                ".",
            ],
        )
        .await?;
        std::fs::rename(&partial, &tarball)
            .map_err(|e| io("rootfs", "cannot cache the root fs tarball", e))?;
    }

    // 2. Wheels: downloaded on the host (hash-checked), installed with --no-index.
    let arch = match std::env::consts::ARCH {
        "aarch64" => "aarch64",
        _ => "x86_64",
    };
    let wheels = cache.join(format!("wheels-{arch}"));
    std::fs::create_dir_all(&wheels)
        .map_err(|e| io("wheels", "cannot create the wheel cache", e))?;
    let lock = work.path().join("requirements.lock");
    std::fs::write(&lock, REQUIREMENTS_LOCK)
        .map_err(|e| io("wheels", "cannot write the lock file", e))?;
    let lock_s = lock.to_string_lossy().into_owned();
    let wheels_s = wheels.to_string_lossy().into_owned();
    progress(events, "wheels", "downloading the pinned wheels").await;
    let mut args: Vec<String> = [
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "-d",
        &wheels_s,
        "-r",
        &lock_s,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(pip_platform_args(arch));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(tag, "wheels", events, "python3", &refs).await?;
    progress(
        events,
        "install",
        format!("installing the wheels into {SITE}"),
    )
    .await;
    let target = format!("{rootfs_s}{SITE}");
    let mut args: Vec<String> = [
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        &wheels_s,
        "--target",
        &target,
        "-r",
        &lock_s,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(pip_platform_args(arch));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(tag, "install", events, "python3", &refs).await?;

    // 3. User, mount points, csvagent files; drop caches.
    progress(
        events,
        "files",
        "adding the sandbox user and the csvagent files",
    )
    .await;
    let add_line = |file: &str, line: &str| -> Result<(), SandboxError> {
        let path = rootfs.join(file);
        let mut text = std::fs::read_to_string(&path)
            .map_err(|e| io("files", &format!("cannot read /{file}"), e))?;
        if !text.lines().any(|l| l.starts_with("sandbox:")) {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(line);
            text.push('\n');
            std::fs::write(&path, text)
                .map_err(|e| io("files", &format!("cannot write /{file}"), e))?;
        }
        Ok(())
    };
    add_line(
        "etc/passwd",
        "sandbox:x:10001:10001:csvagent sandbox:/scratch:/usr/sbin/nologin",
    )?;
    add_line("etc/group", "sandbox:x:10001:")?;
    for dir in ["scratch", "datasets", "opt/csvagent"] {
        std::fs::create_dir_all(rootfs.join(dir))
            .map_err(|e| io("files", &format!("cannot create /{dir}"), e))?;
    }
    for (name, body) in [
        ("supervisor.py", SUPERVISOR_PY),
        ("runtime.py", RUNTIME_PY),
        ("profile.py", PROFILE_PY),
        ("requirements.lock", REQUIREMENTS_LOCK),
    ] {
        std::fs::write(rootfs.join("opt/csvagent").join(name), body)
            .map_err(|e| io("files", &format!("cannot write /opt/csvagent/{name}"), e))?;
    }
    for dir in [
        "var/cache/apt/archives",
        "var/lib/apt/lists",
        "usr/share/doc",
        "usr/share/man",
    ] {
        clear_dir(&rootfs.join(dir));
    }

    // 4. Import the tree as an image through the Engine API.
    progress(events, "import", format!("importing the root fs as {tag}")).await;
    let mut tar = tokio::process::Command::new("tar")
        .args([
            "--numeric-owner",
            "--exclude=./dev/*",
            "-C",
            &rootfs_s,
            "-cf",
            "-",
            ".",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| io("import", "cannot run `tar`", e))?;
    let Some(stdout) = tar.stdout.take() else {
        return Err(build_error(tag, "import", "no tar output"));
    };
    let body = bollard::body_try_stream(ReaderStream::new(stdout));
    let (repo, version) = tag.split_once(':').unwrap_or((tag, "latest"));
    let mut changes = vec![
        "USER 10001:10001".to_string(),
        "WORKDIR /scratch".to_string(),
        "CMD [\"python3\", \"/opt/csvagent/supervisor.py\"]".to_string(),
    ];
    for (k, v) in image_env() {
        changes.push(format!("ENV {k}={v}"));
    }
    for (k, v) in image_labels() {
        changes.push(format!("LABEL {k}=\"{v}\""));
    }
    let options = CreateImageOptions {
        from_src: Some("-".to_string()),
        repo: Some(repo.to_string()),
        tag: Some(version.to_string()),
        changes,
        message: Some(format!("csvagent sandbox (offline build, Debian {SUITE})")),
        ..CreateImageOptions::default()
    };
    let docker = docker
        .clone()
        .with_timeout(std::time::Duration::from_secs(3600));
    let mut stream = docker.create_image(Some(options), Some(body), None);
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    return Err(build_error(tag, "import", detail));
                }
                if let Some(status) = info.status {
                    progress(events, "import", status).await;
                }
            }
            Err(e) => return Err(build_error(tag, "import", e.to_string())),
        }
    }
    let status = tar
        .wait()
        .await
        .map_err(|e| io("import", "tar failed", e))?;
    if !status.success() {
        return Err(build_error(
            tag,
            "import",
            format!("`tar` exited with {status}"),
        ));
    }
    Ok(())
}

fn clear_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let p = entry.path();
            let _ = if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}
