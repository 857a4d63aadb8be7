//! `csvagent status`, `progress` and `stats`: where the data stands (SPEC 8.2).

use csvagent_sdk::sandbox::image_status;
use csvagent_sdk::schema::Source;
use csvagent_sdk::status::{NextStep, Snapshot};
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
            "next": next.as_ref().map(|n| json!({
                "command": n.command.as_ref().map(|c| suggested_command(ctx, c)),
                "reason": n.reason,
            })),
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
        t.push_str(&malformed_block(&snap));
        t.push_str(&next_line(ctx, next.as_ref()));
        out(&t)?;
    }
    Ok(malformed_exit(&snap))
}

/// The malformed artifacts (not counted in any figure), or nothing.
fn malformed_block(snap: &Snapshot) -> String {
    let mut t = String::new();
    if !snap.malformed.is_empty() {
        t.push_str("\nMalformed artifacts (not counted above):\n");
        for m in &snap.malformed {
            t.push_str(&format!("  {m}\n"));
        }
    }
    t
}

/// 1 when an artifact is malformed (the figures then leave it out), else 0.
fn malformed_exit(snap: &Snapshot) -> u8 {
    if snap.malformed.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// `Next: csvagent <options> <command>` with the reason on the following line, or `Pipeline
/// complete`. The options are the global ones this command was given (data and datasets
/// directories, config file, and for commands that call the teacher the teacher options), so the
/// line can be pasted as it is.
fn next_line(ctx: &Context, next: Option<&NextStep>) -> String {
    match next {
        Some(NextStep {
            command: Some(command),
            reason,
        }) => format!(
            "\nNext: {}\n  ({reason})\n",
            suggested_command(ctx, command)
        ),
        Some(NextStep {
            command: None,
            reason,
        }) => format!("\nNext: {reason}\n"),
        None => "\nPipeline complete\n".into(),
    }
}

fn suggested_command(ctx: &Context, command: &str) -> String {
    let g = &ctx.global;
    let mut words: Vec<String> = vec!["csvagent".into()];
    let mut option = |flag: &str, value: &str| {
        words.push(flag.into());
        words.push(
            shlex::try_quote(value)
                .map(|q| q.into_owned())
                .unwrap_or_else(|_| value.to_owned()),
        );
    };
    if g.data_dir != std::path::Path::new("data") {
        option("--data-dir", &g.data_dir.to_string_lossy());
    }
    if let Some(d) = &g.datasets {
        option("--datasets", &d.to_string_lossy());
    }
    if let Some(c) = &g.config {
        option("--config", &c.to_string_lossy());
    }
    if command.starts_with("run") || command.starts_with("generate") {
        if let Some(u) = &g.teacher_url {
            option("--teacher-url", &redact_url(u));
        }
        if let Some(m) = &g.teacher_model {
            option("--teacher-model", m);
        }
        if let Some(t) = g.teacher_threads {
            option("--teacher-threads", &t.to_string());
        }
        if let Some(n) = g.slots {
            option("--slots", &n.to_string());
        }
    }
    words.push(command.to_owned());
    words.join(" ")
}

/// The host (and port) of an endpoint URL, without any `user:password@`.
fn host_of(url: &str) -> String {
    let authority = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', '?'])
        .next()
        .unwrap_or(url);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_owned()
}

/// `url` with the password of a `user:password@` part replaced by `***`: never printed.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{}", &rest[end..])
        }
        None => url.to_owned(),
    }
}

pub fn progress(ctx: &Context, json: bool) -> anyhow::Result<u8> {
    let snap = Snapshot::read(&ctx.layout, &ctx.datasets_dir);
    let rows: Vec<_> = Source::ALL.iter().map(|s| snap.progress(*s)).collect();
    if json {
        out_json(&rows)?;
        // The JSON stays the list of rows; the malformed files go to stderr (and exit 1).
        if !snap.malformed.is_empty() {
            crate::render::print_stderr(malformed_block(&snap).trim());
        }
        return Ok(malformed_exit(&snap));
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
    t.push_str(&malformed_block(&snap));
    t.push_str(&next_line(ctx, snap.next_step().as_ref()));
    out(&t)?;
    Ok(malformed_exit(&snap))
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
            "malformed": snap.malformed,
        }))?;
        return Ok(malformed_exit(&snap));
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
            t.push_str(&format!(
                "  {k}: {} dataset(s) with low verification (at least 5 episodes, under 50% verified)\n",
                low.len()
            ));
            for l in low {
                t.push_str(&format!(
                    "    {} {}/{} ({:.0}%)\n",
                    l.dataset,
                    l.verified,
                    l.episodes,
                    l.rate * 100.0
                ));
            }
            let few = g.too_few_to_judge.get(k).cloned().unwrap_or_default();
            if !few.is_empty() {
                t.push_str(&format!(
                    "  {k}: {} dataset(s) with fewer than 5 episodes, rate not judged yet{}\n",
                    few.len(),
                    list(&few)
                ));
            }
        }
    }
    t.push_str(&malformed_block(&snap));
    out(&t)?;
    Ok(malformed_exit(&snap))
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(": {}", names.join(", "))
    }
}
