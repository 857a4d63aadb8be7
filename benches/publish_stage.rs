//! Staging throughput: how fast `publish::stage` turns episode lines into Parquet, card and
//! question files. Prints figures; asserts nothing.
//!
//! `cargo bench --bench publish_stage` (set `CSVAGENT_BENCH_EPISODES`, default 5000). The
//! episodes are synthetic but full-shaped: two turns with hooks and a six-message transcript,
//! spread over 20 datasets and the three sources.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "a benchmark prints its figures and fails loudly"
)]

use std::time::Instant;

use csvagent_sdk::events::EventSink;
use csvagent_sdk::publish::{RepoId, UploadOptions, stage};
use csvagent_sdk::record::{DataLayout, JsonlAppender};
use csvagent_sdk::schema::{Episode, Source};
use csvagent_sdk::verify::{answer_hash, sha256_hex};
use serde_json::json;

fn episode(n: usize, source: Source) -> Episode {
    let dataset = format!("dataset_{:02}", n % 20);
    let answer = json!({"column": "age", "mean": n as f64 / 7.0});
    let turn = |i: usize| {
        json!({
            "turn_index": i, "assistant_message_index": 2 + 2 * i,
            "feedback_message_index": 3 + 2 * i,
            "reasoning": "Compute the mean of the age column, then check it.",
            "code": "m = df['Age'].mean()\nhook(m, \"m = df['Age'].mean()\", name='m')\nsubmit(m)",
            "execution": {"status": "ok", "success": true, "stdout": "📍 Hook m = 39.2\n".repeat(5),
                "stderr": "", "hooks": [{"variable_name": "m", "code_line": "m = df['Age'].mean()",
                "value": 39.2074, "value_hash": "0123456789abcdef", "depends_on": [],
                "description": null, "ungrounded_reason": null}],
                "submitted_answer": answer, "exception": null, "elapsed_ms": 84, "truncated": false},
            "submission": {"status": "accepted", "reasons": []}, "correction": null
        })
    };
    let message =
        |role: &str| json!({"role": role, "content": "lorem ipsum dolor sit amet ".repeat(40)});
    serde_json::from_value(json!({
        "episode_id": format!("00000000-0000-4000-8000-{n:012x}"),
        "timestamp": "2026-02-16T09:30:12.345Z", "run_id": "r", "source": source.as_str(),
        "csv_source": format!("data/datasets/{dataset}/data.csv"),
        "dataset_hash": sha256_hex(dataset.as_bytes()),
        "model": {"name": "teacher", "base_url_host": "local", "temperature": 0.2, "top_p": 0.95,
            "max_tokens": 2048},
        "question": {"id": format!("q{n}"), "dataset": dataset, "source": source.as_str(),
            "question_text": "What is the mean age?", "hint": "", "difficulty": "EASY",
            "n_steps": 2, "category": null, "tags": null, "template_name": null,
            "template_params": null, "program_name": null, "program_ops": null,
            "output_type": null, "output_schema": "scalar:float",
            "ground_truth_hash": answer_hash(&answer), "ground_truth_hashes": [answer_hash(&answer)],
            "ground_truth": answer, "accepted_answers": null},
        "gold_trace": {"turns": [turn(0), turn(1)], "final_answer": answer,
            "final_answer_hash": answer_hash(&answer), "success": true, "stop_reason": "submitted",
            "error": null, "format_retries": 0,
            "messages": [message("system"), message("user"), message("assistant"),
                message("user"), message("assistant"), message("user")],
            "llm_calls": [], "elapsed_seconds": 3.0},
        "consistency_traces": [], "verified": true,
        "verification": {"method": "ground_truth", "matched_by": "hash", "error": null},
        "triangulation": {"n_consistency_runs": 0, "n_consistency_succeeded": 0,
            "required_majority": 0, "majority_answer_hash": null, "majority_count": 0,
            "has_majority": false, "gold_matches_majority": true, "clusters": []},
        "timing": {"gold_elapsed": 3.0, "consistency_elapsed": [], "total_elapsed": 3.0,
            "avg_elapsed": 3.0},
        "provenance": {"csvagent_version": "0.1.0", "image_tag": "csvagent-sandbox:0.1.0",
            "versions": {"pandas": "2.3.3"}}
    }))
    .unwrap()
}

fn main() {
    let n: usize = std::env::var("CSVAGENT_BENCH_EPISODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let tmp = tempfile::tempdir().unwrap();
    let layout = DataLayout::new(tmp.path().join("data"));
    for source in Source::ALL {
        let writer = JsonlAppender::open(&layout.episodes_file(source)).unwrap();
        for i in 0..n / 3 {
            writer.append(&episode(i, source)).unwrap();
        }
    }
    let input_bytes: u64 = Source::ALL
        .iter()
        .map(|s| std::fs::metadata(layout.episodes_file(*s)).unwrap().len())
        .sum();
    let opts = UploadOptions::new(RepoId::parse("bench/stage").unwrap());
    for run in 1..=3 {
        let start = Instant::now();
        let staged = stage(&layout, tmp.path(), &opts, &EventSink::discard()).unwrap();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "run {run}: staged {} episodes ({:.1} MB of JSONL) into {} files, {:.1} MB, in {:.2} s \
             = {:.0} episodes/s",
            staged.total_rows(),
            input_bytes as f64 / 1e6,
            staged.files.len(),
            staged.total_bytes() as f64 / 1e6,
            secs,
            staged.total_rows() as f64 / secs
        );
    }
}
