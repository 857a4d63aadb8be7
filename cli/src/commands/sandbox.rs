//! `csvagent sandbox build|status|prune`.

use csvagent_sdk::events::EventSink;
use csvagent_sdk::sandbox::{ImageBuildOptions, build_image, image_status, prune};

use super::{Context, out, out_json};
use crate::args::SandboxCommand;
use crate::exit;

pub async fn run(ctx: &Context, cmd: SandboxCommand) -> anyhow::Result<u8> {
    let mut cfg = ctx.settings()?.sandbox;
    cfg.datasets_root = ctx.datasets_dir.clone();
    match cmd {
        SandboxCommand::Build(args) => {
            let mut opts = ImageBuildOptions::from_config(&cfg);
            opts.offline = args.offline || cfg.offline_build;
            opts.force = args.force;
            let (events, rx) = EventSink::channel(256);
            let drawer = crate::render::Drawer::spawn(rx, ctx.global.quiet);
            let result = build_image(&opts, &events).await;
            drop(events);
            drawer.finish().await;
            let info = result?;
            out(&format!(
                "{} {} ({})\n{}",
                if info.built { "Built" } else { "Present:" },
                info.tag,
                if info.built {
                    format!("{:.0}s", info.elapsed_ms as f64 / 1000.0)
                } else {
                    "nothing to do".into()
                },
                info.versions
                    .iter()
                    .map(|(k, v)| format!("  {k} {v}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ))?;
            Ok(exit::OK)
        }
        SandboxCommand::Status(flags) => {
            let s = image_status(&cfg).await;
            if flags.json {
                out_json(&s)?;
            } else {
                let mut t = format!(
                    "Docker: {}\nImage: {} ({})\n",
                    if s.daemon_reachable {
                        "reachable"
                    } else {
                        "UNREACHABLE"
                    },
                    s.tag,
                    if s.present { "present" } else { "missing" }
                );
                if let Some(e) = &s.daemon_error {
                    t.push_str(&format!("  {e}\n"));
                }
                for (k, v) in &s.versions {
                    t.push_str(&format!("  {k} {v}\n"));
                }
                t.push_str(&format!(
                    "Running csvagent containers: {}\n",
                    s.running.len()
                ));
                for c in &s.running {
                    t.push_str(&format!(
                        "  {} {}\n",
                        c.name,
                        c.run_id.as_deref().unwrap_or("")
                    ));
                }
                t.push_str(&format!("Orphans (dead owner): {}\n", s.orphans.len()));
                for c in &s.orphans {
                    t.push_str(&format!(
                        "  {} (remove with `csvagent sandbox prune`)\n",
                        c.name
                    ));
                }
                out(&t)?;
            }
            Ok(if s.daemon_reachable {
                exit::OK
            } else {
                exit::FAILED
            })
        }
        SandboxCommand::Prune => {
            let r = prune(&cfg).await?;
            let mut t = format!("Removed {} orphan container(s)\n", r.removed.len());
            for (id, e) in &r.failed {
                t.push_str(&format!("  could not remove {id}: {e}\n"));
            }
            out(&t)?;
            Ok(if r.failed.is_empty() {
                exit::OK
            } else {
                exit::FAILED
            })
        }
    }
}
