//! `csvagent status`, `progress` and `stats`: where the data stands (SPEC 8.2).

use csvagent_sdk::sandbox::image_status;
use csvagent_sdk::schema::Source;
use csvagent_sdk::status::Snapshot;
use serde_json::json;

use super::{Context, out, out_json};
use crate::args::StatsArgs;
use crate::exit;

pub async fn status(ctx: &Context, json: bool) -> anyhow::Result<u8> {
    let snap = Snapshot::read(&ctx.layout, &ctx.datasets_dir);
    let settings = ctx.settings()?;
    let mut sandbox_cfg = settings.sandbox.clone();
    sandbox_cfg.datasets_root = ctx.datasets_dir.clone();
    let sandbox = image_status(&sandbox_cfg).await;
    let teacher_host = settings
        .llm
        .base_url
        .as_deref()
        .map(host_of)
        .unwrap_or_else(|| "local (embedded)".into());
    let summaries: Vec<_> = Source::ALL
        .iter()
        .map(|s| snap.source_summary(*s))
        .collect();
    let stats = snap.manifest.stats();
    let next = snap.next_step();
    if json {
        out_json(&json!({
            "datasets": {"usable": snap.usable, "skipped": snap.skipped},
            "sources": summaries,
            "manifest": {"entries": snap.manifest.len(), "by_source": stats.iter().map(|(s, c)| (s.as_str(), c)).collect::<std::collections::BTreeMap<_, _>>()},
            "sandbox": {
                "docker_reachable": sandbox.daemon_reachable, "daemon_error": sandbox.daemon_error,
                "image": sandbox.tag, "image_present": sandbox.present, "versions": sandbox.versions,
                "running_containers": sandbox.running.len(), "orphans": sandbox.orphans.len(),
            },
            "llm": {"host": teacher_host, "model": settings.llm.model, "api_key_set": settings.llm.api_key.is_some()},
            "malformed": snap.malformed,
            "next": next,
        }))?;
    } else {
        let mut t = format!("Datasets: {} usable", snap.usable.len());
        if snap.skipped.is_empty() {
            t.push('\n');
        } else {
            t.push_str(&format!(", {} skipped\n", snap.skipped.len()));
            for (name, reason) in &snap.skipped {
                t.push_str(&format!("  skipped {name}: {reason}\n"));
            }
        }
        t.push_str("\nQuestions:\n");
        for s in &summaries {
            t.push_str(&format!(
                "  {:<11} {:>6} records in {} datasets\n",
                s.source.as_str(),
                s.question_records,
                s.question_datasets
            ));
        }
        t.push_str("\nEpisodes:\n");
        for s in &summaries {
            let pct = if s.episodes > 0 {
                100.0 * s.verified as f64 / s.episodes as f64
            } else {
                0.0
            };
            t.push_str(&format!(
                "  {:<11} {:>6} verified / {:>6} total ({pct:.1}%), {} failure records\n",
                s.source.as_str(),
                s.verified,
                s.episodes,
                s.failures
            ));
        }
        t.push_str(&format!("\nManifest: {} entries", snap.manifest.len()));
        for (s, c) in &stats {
            t.push_str(&format!(
                "; {} {} ok / {} failed",
                s.as_str(),
                c.success,
                c.failure
            ));
        }
        t.push_str(&format!(
            "\n\nSandbox: docker {}; image {} {}; {} running csvagent containers, {} orphans\n",
            if sandbox.daemon_reachable {
                "reachable"
            } else {
                "UNREACHABLE"
            },
            sandbox.tag,
            if sandbox.present {
                "present"
            } else {
                "missing (built on first use)"
            },
            sandbox.running.len(),
            sandbox.orphans.len()
        ));
        if let Some(e) = &sandbox.daemon_error {
            t.push_str(&format!("  {e}\n"));
        }
        t.push_str(&format!(
            "LLM: {teacher_host}, model {}, API key {}\n",
            settings.llm.model.as_deref().unwrap_or("(default)"),
            if settings.llm.api_key.is_some() {
                "set"
            } else {
                "not set"
            }
        ));
        if !snap.malformed.is_empty() {
            t.push_str("\nMalformed artifacts:\n");
            for m in &snap.malformed {
                t.push_str(&format!("  {m}\n"));
            }
        }
        match &next {
            Some(cmd) => t.push_str(&format!("\nNext: {cmd}\n")),
            None => t.push_str("\nPipeline complete\n"),
        }
        out(&t)?;
    }
    Ok(if snap.malformed.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    })
}

fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', '?'])
        .next()
        .unwrap_or(url)
        .to_owned()
}

pub fn progress(ctx: &Context, json: bool) -> anyhow::Result<u8> {
    let snap = Snapshot::read(&ctx.layout, &ctx.datasets_dir);
    let rows: Vec<_> = Source::ALL.iter().map(|s| snap.progress(*s)).collect();
    if json {
        out_json(&rows)?;
        return Ok(exit::OK);
    }
    let mut t = String::new();
    for p in &rows {
        let frac = if p.questions > 0 {
            p.processed as f64 / p.questions as f64
        } else {
            0.0
        };
        let cells = (frac * 20.0).round() as usize;
        let eta = match p.eta_seconds {
            Some(s) if p.remaining > 0 => format!("ETA {}", human(s)),
            Some(_) => "done".into(),
            None => "no estimate".into(),
        };
        t.push_str(&format!(
            "{:<11} questions in {}/{} datasets  [{}{}] {}/{} processed, {} remaining, {eta}\n",
            p.source.as_str(),
            p.datasets_with_questions,
            p.usable_datasets,
            "#".repeat(cells),
            ".".repeat(20 - cells),
            p.processed,
            p.questions,
            p.remaining
        ));
    }
    out(&t)?;
    Ok(exit::OK)
}

fn human(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

pub fn stats(ctx: &Context, args: StatsArgs) -> anyhow::Result<u8> {
    let snap = Snapshot::read(&ctx.layout, &ctx.datasets_dir);
    let all = !args.questions && !args.episodes && !args.gaps;
    let stats = snap.stats();
    let gaps = args.gaps.then(|| snap.gaps());
    if args.json {
        out_json(&json!({
            "questions": (all || args.questions).then_some(&stats.questions),
            "top_names": (all || args.questions).then_some(&stats.top_names),
            "episodes": (all || args.episodes).then_some(&stats.episodes),
            "top_datasets": (all || args.episodes).then_some(&stats.top_datasets),
            "gaps": gaps,
        }))?;
        return Ok(exit::OK);
    }
    let mut t = String::new();
    let diffs = ["EASY", "MEDIUM", "HARD", "VERY_HARD", "UNKNOWN"];
    if all || args.questions {
        t.push_str(&format!(
            "Questions by source x difficulty\n  {:<11}",
            "source"
        ));
        for d in diffs {
            t.push_str(&format!(" {d:>9}"));
        }
        t.push('\n');
        for s in Source::ALL {
            t.push_str(&format!("  {:<11}", s.as_str()));
            for d in diffs {
                t.push_str(&format!(
                    " {:>9}",
                    stats
                        .questions
                        .get(s.as_str())
                        .and_then(|m| m.get(d))
                        .copied()
                        .unwrap_or(0)
                ));
            }
            t.push('\n');
        }
        for s in Source::ALL {
            if let Some(top) = stats.top_names.get(s.as_str()).filter(|v| !v.is_empty()) {
                t.push_str(&format!(
                    "  top {}: {}\n",
                    s.as_str(),
                    top.iter()
                        .map(|(n, c)| format!("{n} ({c})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    if all || args.episodes {
        t.push_str("\nEpisodes by source x difficulty (verified/total)\n");
        for s in Source::ALL {
            t.push_str(&format!("  {:<11}", s.as_str()));
            for d in diffs {
                let c = stats
                    .episodes
                    .get(s.as_str())
                    .and_then(|m| m.get(d))
                    .copied()
                    .unwrap_or_default();
                t.push_str(&format!(" {:>9}", format!("{}/{}", c.success, c.total)));
            }
            t.push('\n');
        }
        for s in Source::ALL {
            if let Some(top) = stats.top_datasets.get(s.as_str()).filter(|v| !v.is_empty()) {
                t.push_str(&format!(
                    "  top datasets {}: {}\n",
                    s.as_str(),
                    top.iter()
                        .map(|(n, c)| format!("{n} ({c})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    if let Some(g) = &gaps {
        t.push_str("\nGaps\n");
        for s in Source::ALL {
            let k = s.as_str();
            let wq = g.without_questions.get(k).cloned().unwrap_or_default();
            let we = g.without_episodes.get(k).cloned().unwrap_or_default();
            let low = g.low_verification.get(k).cloned().unwrap_or_default();
            t.push_str(&format!(
                "  {k}: {} dataset(s) without questions{}\n",
                wq.len(),
                list(&wq)
            ));
            t.push_str(&format!(
                "  {k}: {} dataset(s) with questions but no episodes{}\n",
                we.len(),
                list(&we)
            ));
            for l in low {
                t.push_str(&format!(
                    "  {k}: low verification {} {}/{} ({:.0}%)\n",
                    l.dataset,
                    l.verified,
                    l.episodes,
                    l.rate * 100.0
                ));
            }
        }
    }
    out(&t)?;
    Ok(exit::OK)
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(": {}", names.join(", "))
    }
}
