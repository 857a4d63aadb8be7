//! Builds the sandbox image and prints the build's progress events and its duration.
//!
//! `cargo run --example sandbox_build [-- --force] [--cache-dir DIR] [--dockerfile]`
//!
//! CI can run it before `cargo test` so that the image build is visible on its own.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints progress"
)]

use std::time::Instant;

use csvagent_sdk::events::{Event, EventSink};
use csvagent_sdk::sandbox::{ImageBuildOptions, SandboxConfig, build_image};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = ImageBuildOptions::from_config(&SandboxConfig::default());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--force" => opts.force = true,
            "--dockerfile" => opts.offline = false,
            "--cache-dir" => {
                if let Some(dir) = it.next() {
                    opts.cache_dir = dir.into();
                }
            }
            other => {
                eprintln!(
                    "unknown argument `{other}`: expected --force, --dockerfile, --cache-dir DIR"
                );
                std::process::exit(2);
            }
        }
    }
    let (events, mut rx) = EventSink::channel(256);
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Event::ImageBuild { step, message } = event {
                eprintln!("[{step}] {message}");
            }
        }
    });
    let started = Instant::now();
    let result = build_image(&opts, &events).await;
    drop(events);
    let _ = printer.await;
    match result {
        Ok(info) => println!(
            "{} {} in {:.0} s ({})",
            info.tag,
            if info.built {
                "built"
            } else {
                "already present"
            },
            started.elapsed().as_secs_f64(),
            info.id
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
