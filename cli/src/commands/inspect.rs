//! `csvagent inspect questions|episodes|trace`.

use csvagent_sdk::episode::resolve_prompt;
use csvagent_sdk::record::{load_questions, read_jsonl};
use csvagent_sdk::schema::{Episode, Question, Source, Trace};
use csvagent_sdk::verify::canonical_json;

use super::{Context, out, out_json};
use crate::args::{InspectEpisodesArgs, InspectQuestionsArgs, InspectTraceArgs, SourceArg};
use crate::exit;

fn sources(arg: SourceArg) -> Vec<Source> {
    match arg {
        SourceArg::Template => vec![Source::Template],
        SourceArg::Procedural => vec![Source::Procedural],
        SourceArg::LlmGen => vec![Source::LlmGen],
        SourceArg::All => Source::ALL.to_vec(),
    }
}

fn cut(s: &str, n: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        let mut t: String = one_line.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Dataset names csvagent knows of: folders of the datasets directory and of every source's
/// questions directory.
fn known_datasets(ctx: &Context) -> std::collections::BTreeSet<String> {
    let mut dirs = vec![ctx.datasets_dir.clone()];
    dirs.extend(Source::ALL.iter().map(|s| ctx.layout.questions_dir(*s)));
    dirs.iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `Some(exit code)` after reporting `--dataset NAME` when no such dataset exists.
fn unknown_dataset(ctx: &Context, dataset: Option<&String>) -> anyhow::Result<Option<u8>> {
    let Some(name) = dataset else { return Ok(None) };
    let known = known_datasets(ctx);
    if known.contains(name) {
        return Ok(None);
    }
    let list = if known.is_empty() {
        "none".to_owned()
    } else {
        known.into_iter().collect::<Vec<_>>().join(", ")
    };
    out(&format!(
        "Unknown dataset `{name}` (in {} and {}); known datasets: {list}",
        ctx.datasets_dir.display(),
        ctx.layout.root().join("questions").display()
    ))?;
    Ok(Some(exit::FAILED))
}

pub fn questions(ctx: &Context, args: InspectQuestionsArgs) -> anyhow::Result<u8> {
    if let Some(code) = unknown_dataset(ctx, args.dataset.as_ref())? {
        return Ok(code);
    }
    let mut found: Vec<Question> = Vec::new();
    let mut datasets = std::collections::BTreeSet::new();
    for source in sources(args.source) {
        let dir = ctx.layout.questions_dir(source);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            if args.dataset.as_ref().is_some_and(|d| *d != name) {
                continue;
            }
            let path = ctx.layout.questions_file(source, &name);
            // Missing: nothing to show; anything else that is not a readable file is an error.
            if !path.exists() {
                continue;
            }
            let qs = load_questions(&path)?;
            if !qs.is_empty() {
                datasets.insert(name.clone());
            }
            found.extend(qs);
        }
    }
    if args.json {
        out_json(&found.iter().take(args.sample).collect::<Vec<_>>())?;
        return Ok(exit::OK);
    }
    if found.is_empty() {
        out("No questions found for selected source")?;
        return Ok(exit::OK);
    }
    let mut t = format!(
        "Found {} questions across {} datasets\n\n",
        found.len(),
        datasets.len()
    );
    t.push_str(&format!(
        "{:>3}  {:<40} {:<9} {:<60}",
        "#", "id", "difficulty", "question"
    ));
    if args.show_hint {
        t.push_str(&format!(" {:<40}", "hint"));
    }
    if args.show_answer {
        t.push_str(&format!(" {:<20}", "answer"));
    }
    t.push('\n');
    for (i, q) in found.iter().take(args.sample).enumerate() {
        t.push_str(&format!(
            "{:>3}  {:<40} {:<9} {:<60}",
            i + 1,
            cut(&q.id, 40),
            q.difficulty
                .map(|d| format!("{d:?}").to_uppercase())
                .unwrap_or_else(|| "-".into()),
            cut(resolve_prompt(q).unwrap_or(""), 60)
        ));
        if args.show_hint {
            t.push_str(&format!(
                " {:<40}",
                cut(q.hint.as_deref().unwrap_or(""), 40)
            ));
        }
        if args.show_answer {
            t.push_str(&format!(
                " {:<20}",
                cut(&canonical_json(&q.ground_truth), 20)
            ));
        }
        t.push('\n');
    }
    let q = &found[0];
    t.push_str(&format!(
        "\n--- {} ---\n{}\n",
        q.id,
        resolve_prompt(q).unwrap_or("")
    ));
    if let Some(s) = &q.output_schema {
        t.push_str(&format!("output schema: {s}\n"));
    }
    if args.show_hint {
        t.push_str(&format!("hint: {}\n", q.hint.as_deref().unwrap_or("")));
    }
    if args.show_answer {
        t.push_str(&format!(
            "ground truth: {}\n",
            canonical_json(&q.ground_truth)
        ));
        if let Some(code) = &q.code {
            t.push_str(&format!("code:\n{code}\n"));
        }
    }
    out(&t)?;
    Ok(exit::OK)
}

fn read_episodes(ctx: &Context, source: Source) -> anyhow::Result<Vec<Episode>> {
    let read = read_jsonl::<Episode>(&ctx.layout.episodes_file(source))?;
    if let Some(e) = read.errors.first() {
        anyhow::bail!("{e}");
    }
    Ok(read.records.into_iter().map(|(_, e)| e).collect())
}

pub fn episodes(ctx: &Context, args: InspectEpisodesArgs) -> anyhow::Result<u8> {
    if let Some(code) = unknown_dataset(ctx, args.dataset.as_ref())? {
        return Ok(code);
    }
    let mut t = String::new();
    let mut json_rows = Vec::new();
    for source in sources(args.source) {
        let path = ctx.layout.episodes_file(source);
        if !path.exists() {
            continue;
        }
        let eps: Vec<Episode> = read_episodes(ctx, source)?
            .into_iter()
            .filter(|e| {
                args.dataset
                    .as_ref()
                    .is_none_or(|d| e.question.dataset.as_deref() == Some(d.as_str()))
            })
            .collect();
        let verified = eps.iter().filter(|e| e.verified).count();
        t.push_str(&format!(
            "{}: {} episodes ({} verified)\n",
            path.display(),
            eps.len(),
            verified
        ));
        let shown: Vec<&Episode> = eps
            .iter()
            .filter(|e| !args.verified || e.verified)
            .take(args.count)
            .collect();
        for e in &shown {
            let hooks: usize = e
                .gold_trace
                .turns
                .iter()
                .map(|t| t.execution.hooks.len())
                .sum();
            t.push_str(&format!(
                "  {:<10} {} {:<50} {:<25} turns {:>2} hooks {:>2}\n",
                cut(&e.episode_id, 10),
                if e.verified { "✓" } else { "✗" },
                cut(&e.question.question_text, 50),
                cut(&canonical_json(&e.gold_trace.final_answer), 25),
                e.gold_trace.turns.len(),
                hooks
            ));
            if args.show_hooks {
                for turn in &e.gold_trace.turns {
                    for h in &turn.execution.hooks {
                        t.push_str(&format!(
                            "      hook {} = {} [{}]\n",
                            h.variable_name.as_deref().unwrap_or("?"),
                            cut(&canonical_json(&h.value), 40),
                            h.ungrounded_reason.as_deref().unwrap_or("grounded")
                        ));
                    }
                }
            }
        }
        json_rows.extend(shown.into_iter().cloned());
    }
    if args.json {
        out_json(&json_rows)?;
    } else if t.is_empty() {
        out("No episodes found")?;
    } else {
        out(&t)?;
    }
    Ok(exit::OK)
}

pub fn trace(ctx: &Context, args: InspectTraceArgs) -> anyhow::Result<u8> {
    let mut matches: Vec<Episode> = Vec::new();
    // Episode ids are lower-case UUIDs; a prefix copied in upper case finds them too.
    let prefix = args.episode_id_prefix.to_lowercase();
    for source in sources(args.source) {
        if !ctx.layout.episodes_file(source).exists() {
            continue;
        }
        matches.extend(
            read_episodes(ctx, source)?
                .into_iter()
                .filter(|e| e.episode_id.to_lowercase().starts_with(&prefix)),
        );
    }
    // The same episode written twice (a line copied by hand) is one episode: show the last.
    if matches.len() > 1
        && matches
            .iter()
            .all(|e| e.episode_id == matches[0].episode_id)
    {
        crate::render::print_stderr(&format!(
            "note: {} lines hold episode {}; showing the last",
            matches.len(),
            matches[0].episode_id
        ));
        matches.drain(..matches.len() - 1);
    }
    match matches.len() {
        0 => {
            out(&format!("Episode not found: {}", args.episode_id_prefix))?;
            return Ok(exit::FAILED);
        }
        1 => {}
        _ => {
            let mut t = format!(
                "Ambiguous prefix {}: {} episodes match\n",
                args.episode_id_prefix,
                matches.len()
            );
            for e in &matches {
                t.push_str(&format!(
                    "  {}  {}\n",
                    e.episode_id,
                    cut(&e.question.question_text, 60)
                ));
            }
            out(&t)?;
            return Ok(exit::FAILED);
        }
    }
    let e = &matches[0];
    if args.json {
        out_json(e)?;
        return Ok(exit::OK);
    }
    let trace: &Trace = match args.consistency {
        Some(k) => match e.consistency_traces.get(k) {
            Some(t) => t,
            None => {
                out(&format!(
                    "Episode {} has {} consistency traces; --consistency {k} does not exist",
                    e.episode_id,
                    e.consistency_traces.len()
                ))?;
                return Ok(exit::FAILED);
            }
        },
        None => &e.gold_trace,
    };
    let q = &e.question;
    let mut t = format!(
        "Episode {}\nQuestion: {}\nDataset: {}  Source: {}  Verified: {}  Difficulty: {}\n",
        e.episode_id,
        q.question_text,
        q.dataset.as_deref().unwrap_or("?"),
        e.source.as_str(),
        if e.verified { "yes" } else { "no" },
        q.difficulty
            .map(|d| format!("{d:?}").to_uppercase())
            .unwrap_or_else(|| "-".into())
    );
    if let Some(n) = q.template_name.as_ref().or(q.program_name.as_ref()) {
        t.push_str(&format!("Program: {n}\n"));
    }
    if let Some(h) = q.hint.as_deref().filter(|h| !h.is_empty()) {
        t.push_str(&format!("Hint: {h}\n"));
    }
    for turn in &trace.turns {
        t.push_str(&format!(
            "\n--- turn {} ---\n{}\n",
            turn.turn_index,
            cut(&turn.reasoning, 200)
        ));
        t.push_str(&format!("```python\n{}\n```\n", turn.code));
        let x = &turn.execution;
        t.push_str(&format!(
            "status: {}\n",
            x.status
                .map(|s| format!("{s:?}").to_lowercase())
                .unwrap_or_else(|| if x.success {
                    "ok".into()
                } else {
                    "error".into()
                })
        ));
        if !x.stdout.trim().is_empty() {
            t.push_str(&format!(
                "stdout:\n{}\n",
                x.stdout.chars().take(500).collect::<String>()
            ));
        }
        if !x.stderr.trim().is_empty() {
            t.push_str(&format!(
                "stderr:\n{}\n",
                crate::render::tail(&x.stderr, 600)
            ));
        }
        for h in &x.hooks {
            t.push_str(&format!(
                "hook {} = {}  ({})  code_line: {}\n",
                h.variable_name.as_deref().unwrap_or("?"),
                cut(&canonical_json(&h.value), 60),
                h.ungrounded_reason
                    .as_deref()
                    .map(|r| format!("UNGROUNDED: {r}"))
                    .unwrap_or_else(|| "grounded".into()),
                h.code_line.as_deref().unwrap_or("")
            ));
        }
        if let Some(c) = &turn.correction {
            t.push_str(&format!(
                "correction of turn {}: {} {}\n",
                c.corrects_turn, c.error_type, c.error_message
            ));
        }
        if let Some(r) = &turn.submission {
            t.push_str(&format!(
                "submission: {:?} {}\n",
                r.status,
                r.reasons.join("; ")
            ));
        }
    }
    t.push_str(&format!(
        "\nAnswer: {}  hash {}  stop: {}\n",
        canonical_json(&trace.final_answer),
        trace.final_answer_hash.as_deref().unwrap_or("-"),
        trace
            .stop_reason
            .map(|s| format!("{s:?}"))
            .unwrap_or_default()
    ));
    if let Some(v) = &e.verification {
        t.push_str(&format!(
            "Verification: {:?} {}\n",
            v.method,
            v.error.as_deref().unwrap_or("")
        ));
    }
    if args.messages {
        for (i, m) in trace.messages.iter().flatten().enumerate() {
            t.push_str(&format!("\n[{i}] {:?}:\n{}\n", m.role, m.content));
        }
    }
    out(&t)?;
    Ok(exit::OK)
}
