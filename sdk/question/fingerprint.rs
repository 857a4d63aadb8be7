//! Fingerprints: the 16-hex identity of "this question on these dataset bytes" (SPEC 1.11),
//! used for ids and for resume.

use serde_json::{Map, Value, json};

use crate::verify::answer_hash;

/// The fingerprint of a template question: `H` of
/// `{"source":"template","template_name","template_code","alternative_codes","params","dataset_hash"}`.
/// Empty `params` hash as `{}`.
pub fn template_fingerprint(
    template_name: &str,
    template_code: &str,
    alternative_codes: &[String],
    params: &Map<String, Value>,
    dataset_hash: &str,
) -> String {
    answer_hash(&json!({
        "source": "template",
        "template_name": template_name,
        "template_code": template_code,
        "alternative_codes": alternative_codes,
        "params": params,
        "dataset_hash": dataset_hash,
    }))
}

/// The fingerprint of a procedural question: `H` of
/// `{"source":"procedural","program_ops","code","dataset_hash"}`.
pub fn procedural_fingerprint(program_ops: &[String], code: &str, dataset_hash: &str) -> String {
    answer_hash(&json!({
        "source": "procedural",
        "program_ops": program_ops,
        "code": code,
        "dataset_hash": dataset_hash,
    }))
}

/// The fingerprint of an llm_gen question: `H` of
/// `{"source":"llm_gen","question_text":norm(text),"dataset_hash"}`.
pub fn llm_gen_fingerprint(question_text: &str, dataset_hash: &str) -> String {
    answer_hash(&json!({
        "source": "llm_gen",
        "question_text": norm_text(question_text),
        "dataset_hash": dataset_hash,
    }))
}

/// `norm`: lowercase, delete ASCII punctuation, collapse whitespace runs to one space, trim.
/// `"What's the mean?"` -> `whats the mean`; `"???!!!"` -> `""`. Used for fingerprints and for
/// de-duplicating llm_gen questions.
pub fn norm_text(text: &str) -> String {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_fingerprint_vectors() {
        assert_eq!(
            template_fingerprint("max_variance_mean", "df.mean()", &[], &Map::new(), "abc123"),
            "49f0af19746ed63e"
        );
        let ops = ["select_numeric_cols", "bind_numeric_col", "mean"].map(String::from);
        assert_eq!(
            procedural_fingerprint(&ops, "df.mean()", "abc123"),
            "29542d7fec9126f5"
        );
        assert_eq!(
            llm_gen_fingerprint("What is the average salary?", "abc123"),
            "a2a531dc90304ad7"
        );
    }

    #[test]
    fn norm_drops_punctuation_and_collapses_whitespace() {
        assert_eq!(norm_text("What's the  mean?"), "whats the mean");
        assert_eq!(norm_text("???!!!"), "");
        assert_eq!(norm_text("  A\tB \n"), "a b");
    }
}
