//! `csvagent validate`: run one question's reference code in the sandbox and compare.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use csvagent_sdk::dataset::{Dataset, Dialect, description};
use csvagent_sdk::events::EventSink;
use csvagent_sdk::record::load_questions;
use csvagent_sdk::sandbox::{ExecMode, SandboxPool};
use csvagent_sdk::schema::DatasetMeta;
use csvagent_sdk::verify::{answer_hash, canonical_json, matches, sha256_hex};

use super::{Context, out};
use crate::args::ValidateArgs;
use crate::exit;

pub async fn run(ctx: &Context, args: ValidateArgs) -> anyhow::Result<u8> {
    let questions = load_questions(&args.questions_file)?;
    let q = questions.get(args.index).with_context(|| {
        format!(
            "--index {} is out of range: {} has {} questions",
            args.index,
            args.questions_file.display(),
            questions.len()
        )
    })?;
    let code = q.code.as_deref().with_context(|| {
        format!(
            "question `{}` has no reference code (llm_gen questions have none)",
            q.id
        )
    })?;
    let csv = std::fs::canonicalize(&args.csv)
        .with_context(|| format!("cannot read --csv {}", args.csv.display()))?;
    let bytes = std::fs::read(&csv)?;
    let meta: DatasetMeta = csv
        .parent()
        .map(|d| d.join("meta.json"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| {
            serde_json::from_str("{}").unwrap_or_else(|_| unreachable!("{{}} is a valid meta"))
        });
    let enc = csvagent_sdk::dataset::detect_encoding(&bytes);
    let text = csvagent_sdk::dataset::decode(&bytes, enc).map_err(anyhow::Error::msg)?;
    let delimiter = csvagent_sdk::dataset::detect_delimiter(&text)
        .context("no delimiter yields at least 2 columns")?;
    let dir = csv
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let dataset = Dataset {
        name: q.dataset.clone(),
        description: description(&meta),
        dataset_hash: sha256_hex(&bytes),
        size_bytes: bytes.len() as u64,
        dialect: Dialect {
            encoding: enc.to_owned(),
            delimiter,
            decimal: csvagent_sdk::dataset::detect_decimal(&text, delimiter),
        },
        meta,
        csv_path: csv.clone(),
        dir: dir.clone(),
    };
    let mut t = format!(
        "Validation Setup\n  question: {} ({})\n  csv: {}\n  dataset hash: {}\n",
        q.id,
        q.source.as_str(),
        csv.display(),
        dataset.dataset_hash
    );
    if q.dataset_hash
        .as_deref()
        .is_some_and(|h| h != dataset.dataset_hash)
    {
        t.push_str("  warning: the CSV bytes differ from the ones the question was generated on\n");
    }
    let mut cfg = ctx.settings()?.sandbox;
    cfg.datasets_root = dir;
    cfg.max_containers = 1;
    let pool = SandboxPool::new(cfg, EventSink::discard());
    let result = async {
        pool.start().await?;
        let lease = pool.acquire(&dataset.load_spec()).await?;
        let worker = lease.worker().await?;
        let started = Instant::now();
        let r = worker
            .exec(code, ExecMode::Reference, Duration::from_secs(120))
            .await?;
        Ok::<_, csvagent_sdk::sandbox::SandboxError>((r, started.elapsed()))
    }
    .await;
    pool.stop().await;
    let (r, elapsed) = result?;
    if args.show_code {
        t.push_str(&format!("\nCode:\n{code}\n"));
        let so: String = if r.stdout.chars().count() > 500 {
            let head: String = r.stdout.chars().take(400).collect();
            let tail: String = r
                .stdout
                .chars()
                .rev()
                .take(100)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("{head}\n…\n{tail}")
        } else {
            r.stdout.clone()
        };
        t.push_str(&format!("\nstdout:\n{so}\n"));
        if !r.stderr.trim().is_empty() {
            t.push_str(&format!(
                "stderr:\n{}\n",
                crate::render::tail(&r.stderr, 600)
            ));
        }
        for h in r.hooks.iter().take(5) {
            t.push_str(&format!(
                "hook {} = {}\n",
                h.variable_name.as_deref().unwrap_or("?"),
                canonical_json(&h.value)
                    .chars()
                    .take(80)
                    .collect::<String>()
            ));
        }
    }
    let expected: Vec<String> = q
        .ground_truth_hashes
        .clone()
        .unwrap_or_else(|| q.ground_truth_hash.iter().cloned().collect());
    let (verdict, code_out) = match r.submissions.as_slice() {
        [sub] => {
            let h = answer_hash(&sub.answer);
            t.push_str(&format!(
                "\nactual: {} (hash {h})\nexpected: {} (hashes {})\n",
                canonical_json(&sub.answer)
                    .chars()
                    .take(50)
                    .collect::<String>(),
                canonical_json(&q.ground_truth)
                    .chars()
                    .take(50)
                    .collect::<String>(),
                expected.join(", ")
            ));
            if expected.is_empty() && q.ground_truth.is_null() {
                ("NO GROUND TRUTH", exit::OK)
            } else if expected.contains(&h)
                || matches(
                    &q.ground_truth,
                    &sub.answer,
                    &csvagent_sdk::verify::MatchingConfig::default(),
                )
            {
                ("SUCCESS", exit::OK)
            } else {
                ("ANSWER MISMATCH", exit::FAILED)
            }
        }
        subs => {
            t.push_str(&format!(
                "\n{} submissions (expected exactly 1); status {:?}\n",
                subs.len(),
                r.status
            ));
            ("FAILED", exit::FAILED)
        }
    };
    t.push_str(&format!(
        "\nResult: {verdict} in {:.2}s\n",
        elapsed.as_secs_f64()
    ));
    out(&t)?;
    Ok(code_out)
}
