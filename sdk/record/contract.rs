//! The unified question contract (SPEC 1.3-1.4): exact validation messages.

use serde_json::{Map, Value};

/// Keys that held answers in the predecessor's formats. Any of them, even with a null value,
/// makes a record invalid.
pub const LEGACY_ANSWER_KEYS: [&str; 4] = [
    "_ground_truth",
    "_ground_truths",
    "ground_truths",
    "question",
];

const REQUIRED: [&str; 3] = ["id", "source", "dataset"];
const UNIFIED: [&str; 12] = [
    "question_text",
    "question_mechanical",
    "hint",
    "code",
    "code_hash",
    "ground_truth",
    "ground_truth_hash",
    "ground_truth_hashes",
    "output_schema",
    "n_steps",
    "difficulty",
    "dataset_description",
];
const SOURCES: [&str; 3] = ["template", "procedural", "llm_gen"];
const DIFFICULTIES: [&str; 4] = ["EASY", "MEDIUM", "HARD", "VERY_HARD"];

/// Checks one question record against the unified contract and returns every violation as the
/// exact SPEC 1.4 message; an empty list means valid.
///
/// Messages: ``missing required field `<key>` ``, ``invalid source `<value>` ``,
/// ``missing unified field `<key>` ``, ``invalid difficulty `<value>` ``,
/// ``field not allowed in unified contract: `subtype` `` and
/// ``legacy answer key not allowed: `<key>` ``. A lowercase difficulty is valid (readers
/// upper-case it). Unknown keys beyond these are reported by the typed deserialiser.
pub fn validate_question(record: &Value) -> Vec<String> {
    let Some(obj) = record.as_object() else {
        return vec!["question must be a JSON object".to_owned()];
    };
    let mut errors = Vec::new();
    for key in REQUIRED {
        if obj.get(key).is_none_or(Value::is_null) {
            errors.push(format!("missing required field `{key}`"));
        }
    }
    match obj.get("source") {
        Some(Value::String(s)) if SOURCES.contains(&s.as_str()) => {}
        Some(Value::String(s)) => errors.push(format!("invalid source `{s}`")),
        Some(Value::Null) => errors.push("invalid source `null`".to_owned()),
        Some(other) => errors.push(format!("invalid source `{other}`")),
        None => {}
    }
    for key in UNIFIED {
        if !obj.contains_key(key) {
            errors.push(format!("missing unified field `{key}`"));
        }
    }
    match obj.get("difficulty") {
        Some(Value::String(d)) if DIFFICULTIES.contains(&d.to_uppercase().as_str()) => {}
        Some(Value::Null) | None => {}
        Some(Value::String(d)) => errors.push(format!("invalid difficulty `{d}`")),
        Some(other) => errors.push(format!("invalid difficulty `{other}`")),
    }
    if obj.contains_key("subtype") {
        errors.push("field not allowed in unified contract: `subtype`".to_owned());
    }
    for key in LEGACY_ANSWER_KEYS {
        if obj.contains_key(key) {
            errors.push(format!("legacy answer key not allowed: `{key}`"));
        }
    }
    errors
}

/// The first legacy answer key or `subtype` found anywhere in `value` (depth-first), as its
/// SPEC 1.4 message. Episode and manifest readers use it so a legacy document is refused with
/// the same words as a legacy question.
pub fn find_legacy_key(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => legacy_in_object(map),
        Value::Array(items) => items.iter().find_map(find_legacy_key),
        _ => None,
    }
}

fn legacy_in_object(map: &Map<String, Value>) -> Option<String> {
    for key in ["_ground_truth", "_ground_truths", "ground_truths"] {
        if map.contains_key(key) {
            return Some(format!("legacy answer key not allowed: `{key}`"));
        }
    }
    if map.contains_key("subtype") {
        return Some("field not allowed in unified contract: `subtype`".to_owned());
    }
    map.values().find_map(find_legacy_key)
}

/// Upper-cases a lowercase `difficulty` string in place (SPEC 1.1: readers accept `easy`).
pub(crate) fn normalise_difficulty(obj: &mut Value) {
    if let Some(Value::String(d)) = obj.get_mut("difficulty") {
        let upper = d.to_uppercase();
        if DIFFICULTIES.contains(&upper.as_str()) {
            *d = upper;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "id": "q1", "source": "template", "dataset": "d",
            "question_text": "t", "question_mechanical": null, "hint": "", "code": null,
            "code_hash": null, "ground_truth": 1, "ground_truth_hash": null,
            "ground_truth_hashes": null, "output_schema": null, "n_steps": 2,
            "difficulty": "EASY", "dataset_description": null
        })
    }

    #[test]
    fn a_complete_record_is_valid() {
        assert!(validate_question(&valid()).is_empty());
    }

    #[test]
    fn legacy_keys_are_rejected_even_when_null() {
        for key in LEGACY_ANSWER_KEYS {
            let mut q = valid();
            q[key] = Value::Null;
            assert_eq!(
                validate_question(&q),
                vec![format!("legacy answer key not allowed: `{key}`")]
            );
        }
    }

    #[test]
    fn subtype_is_rejected() {
        let mut q = valid();
        q["subtype"] = json!("x");
        assert_eq!(
            validate_question(&q),
            vec!["field not allowed in unified contract: `subtype`"]
        );
    }

    #[test]
    fn unknown_and_null_sources_are_rejected() {
        for bad in ["llm", "synthetic", "synth", "all", "", "LLM"] {
            let mut q = valid();
            q["source"] = json!(bad);
            assert_eq!(
                validate_question(&q),
                vec![format!("invalid source `{bad}`")]
            );
        }
        let mut q = valid();
        q["source"] = Value::Null;
        assert_eq!(
            validate_question(&q),
            vec![
                "missing required field `source`".to_owned(),
                "invalid source `null`".to_owned()
            ]
        );
    }

    #[test]
    fn missing_unified_field_and_bad_difficulty() {
        let mut q = valid();
        q.as_object_mut().unwrap().remove("hint");
        q["difficulty"] = json!("IMPOSSIBLE");
        assert_eq!(
            validate_question(&q),
            vec![
                "missing unified field `hint`".to_owned(),
                "invalid difficulty `IMPOSSIBLE`".to_owned()
            ]
        );
    }

    #[test]
    fn lowercase_difficulty_is_accepted_and_upper_cased() {
        let mut q = valid();
        q["difficulty"] = json!("very_hard");
        assert!(validate_question(&q).is_empty());
        normalise_difficulty(&mut q);
        assert_eq!(q["difficulty"], "VERY_HARD");
    }

    #[test]
    fn nested_legacy_key_is_found() {
        let doc = json!({"question": {"id": "x", "_ground_truths": [1]}});
        assert_eq!(
            find_legacy_key(&doc).as_deref(),
            Some("legacy answer key not allowed: `_ground_truths`")
        );
    }
}
