//! The data contract (issue 2): every document in `schema/examples/` behaves as documented, the
//! golden reference shapes deserialise, legacy shapes are refused at run time with a message
//! naming the key and the file/record, and at compile time (trybuild).

#![allow(
    clippy::unwrap_used,
    reason = "integration test code: a panic is a test failure"
)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use csvagent_sdk::record::{load_questions, read_jsonl};
use csvagent_sdk::schema::{DatasetMeta, Episode, FailureRecord, ManifestEntry, Question};
use serde_json::Value;

fn examples(schema: &str, kind: &str) -> Vec<PathBuf> {
    let dir = support::repo_root()
        .join("schema/examples")
        .join(schema)
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "expected.json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no examples in {}", dir.display());
    files
}

fn expected_messages(schema: &str) -> BTreeMap<String, String> {
    let p = support::repo_root()
        .join("schema/examples")
        .join(schema)
        .join("invalid/expected.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn compact(path: &Path) -> String {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_string(&v).unwrap()
}

/// Loads one question document through the real reader (wrapped in a questions.json array).
fn load_one_question(doc: &str) -> (tempfile::TempDir, PathBuf, Result<Vec<Question>, String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("questions.json");
    std::fs::write(&path, format!("[{doc}]")).unwrap();
    let r = load_questions(&path).map_err(|e| e.to_string());
    (dir, path, r)
}

/// Reads one JSON Lines record through the real reader.
fn read_one_line<T: serde::de::DeserializeOwned>(
    line: &str,
) -> (tempfile::TempDir, PathBuf, Result<T, String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.jsonl");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let mut read = read_jsonl::<T>(&path).unwrap();
    let r = if let Some(e) = read.errors.pop() {
        Err(e.to_string())
    } else {
        Ok(read.records.remove(0).1)
    };
    (dir, path, r)
}

fn check_jsonl_schema<T: serde::de::DeserializeOwned + serde::Serialize>(schema: &str) {
    for path in examples(schema, "valid") {
        let original = compact(&path);
        let (_d, _p, r) = read_one_line::<T>(&original);
        let rec = r.unwrap_or_else(|e| panic!("{} should be valid: {e}", path.display()));
        assert_eq!(
            serde_json::to_string(&rec).unwrap(),
            original,
            "{} round-trips unchanged",
            path.display()
        );
    }
    let expected = expected_messages(schema);
    let invalid = examples(schema, "invalid");
    assert_eq!(
        invalid.len(),
        expected.len(),
        "every invalid {schema} example has an expected message"
    );
    for path in invalid {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (_d, file, r) = read_one_line::<T>(&compact(&path));
        let err = r
            .err()
            .unwrap_or_else(|| panic!("{} should be refused", path.display()));
        assert!(
            err.contains(&expected[&name]),
            "{name}: `{err}` should contain `{}`",
            expected[&name]
        );
        assert!(
            err.starts_with(&format!("{} line 1: ", file.display())),
            "{name}: `{err}` names file and line"
        );
    }
}

#[test]
fn question_examples_round_trip_or_fail_with_the_documented_message() {
    for path in examples("question", "valid") {
        let original = compact(&path);
        let (_d, _p, r) = load_one_question(&original);
        let qs = r.unwrap_or_else(|e| panic!("{} should be valid: {e}", path.display()));
        assert_eq!(
            serde_json::to_string(&qs[0]).unwrap(),
            original,
            "{} round-trips unchanged",
            path.display()
        );
    }
    let expected = expected_messages("question");
    let invalid = examples("question", "invalid");
    assert_eq!(invalid.len(), expected.len());
    for path in invalid {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (_d, file, r) = load_one_question(&compact(&path));
        let err = r
            .err()
            .unwrap_or_else(|| panic!("{} should be refused", path.display()));
        assert!(
            err.contains(&expected[&name]),
            "{name}: `{err}` should contain `{}`",
            expected[&name]
        );
        assert!(
            err.contains(&format!("{}[0]", file.display())),
            "{name}: `{err}` names the file and index"
        );
    }
}

#[test]
fn episode_examples_round_trip_or_fail_with_the_documented_message() {
    check_jsonl_schema::<Episode>("episode");
}

#[test]
fn manifest_entry_examples_round_trip_or_fail_with_the_documented_message() {
    check_jsonl_schema::<ManifestEntry>("manifest_entry");
}

#[test]
fn failure_record_examples_round_trip_or_fail_with_the_documented_message() {
    check_jsonl_schema::<FailureRecord>("failure_record");
}

#[test]
fn dataset_meta_examples_parse_or_fail_with_the_documented_message() {
    for path in examples("dataset_meta", "valid") {
        let text = std::fs::read_to_string(&path).unwrap();
        let meta: DatasetMeta =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let back = serde_json::to_value(&meta).unwrap();
        let original: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, original, "{} round-trips unchanged", path.display());
    }
    let expected = expected_messages("dataset_meta");
    for path in examples("dataset_meta", "invalid") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let err = serde_json::from_str::<DatasetMeta>(&std::fs::read_to_string(&path).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&expected[&name]),
            "{name}: `{err}` should contain `{}`",
            expected[&name]
        );
    }
}

fn golden(rel: &str) -> String {
    let dir = support::repo_root().join("../shared/fixtures/golden");
    let dir = if dir.is_dir() {
        dir
    } else {
        PathBuf::from("/work/shared/fixtures/golden")
    };
    std::fs::read_to_string(dir.join(rel))
        .unwrap_or_else(|e| panic!("golden fixture {rel}: {e}"))
        .replace(
            "<normalized-episode-id>",
            "0b7c9a4e-3f55-4a8e-9a63-1b2f0d6c7e11",
        )
        .replace("<normalized-id>", "golden_question_1")
        .replace("<normalized-timestamp>", "2026-02-16T09:30:12.345Z")
}

#[test]
fn golden_reference_shapes_deserialise_once_placeholders_are_real() {
    for source in ["template", "procedural", "llm_gen"] {
        let q = golden(&format!("questions/{source}.json"));
        let (_d, _p, r) = load_one_question(&q);
        let qs = r.unwrap_or_else(|e| panic!("golden {source} question: {e}"));
        assert_eq!(qs[0].source.as_str(), source);

        let ep: Value = serde_json::from_str(&golden(&format!("episodes/{source}.json"))).unwrap();
        let (_d, _p, r) = read_one_line::<Episode>(&serde_json::to_string(&ep).unwrap());
        let ep = r.unwrap_or_else(|e| panic!("golden {source} episode: {e}"));
        assert_eq!(ep.source.as_str(), source);
        assert!(ep.verified);
        assert_eq!(ep.gold_trace.final_answer, serde_json::json!(42.5));
    }
}

#[test]
fn a_legacy_questions_file_is_refused_with_a_message_a_user_understands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("questions.json");
    let legacy = r#"[{"id": "q7", "source": "synthetic", "dataset": "titanic", "question": "How many?",
        "_ground_truth": 3, "subtype": "count"}]"#;
    std::fs::write(&path, legacy).unwrap();
    let err = load_questions(&path).unwrap_err().to_string();
    insta::assert_snapshot!(
        err.replace(&path.display().to_string(), "<path>"),
        @"invalid question `q7` at <path>[0]: invalid source `synthetic`; missing unified field `question_text`; missing unified field `question_mechanical`; missing unified field `hint`; missing unified field `code`; missing unified field `code_hash`; missing unified field `ground_truth`; missing unified field `ground_truth_hash`; missing unified field `ground_truth_hashes`; missing unified field `output_schema`; missing unified field `n_steps`; missing unified field `difficulty`; missing unified field `dataset_description`; field not allowed in unified contract: `subtype`; legacy answer key not allowed: `_ground_truth`; legacy answer key not allowed: `question`"
    );
    std::fs::write(&path, r#"{"questions": []}"#).unwrap();
    assert_eq!(
        load_questions(&path).unwrap_err().to_string(),
        format!("questions file must be a JSON array: {}", path.display())
    );
}

#[test]
fn legacy_shapes_cannot_be_written_in_rust() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/trybuild/*.rs");
}
