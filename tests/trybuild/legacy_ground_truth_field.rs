// A question cannot carry the legacy `_ground_truth` key: the field does not exist.
use csvagent_sdk::schema::{Question, Source};

fn main() {
    let _q = Question {
        id: "q1".into(),
        source: Source::Template,
        dataset: "d".into(),
        question_text: None,
        question_mechanical: None,
        hint: None,
        code: None,
        code_hash: None,
        ground_truth: serde_json::Value::Null,
        ground_truth_hash: None,
        ground_truth_hashes: None,
        output_schema: None,
        n_steps: None,
        difficulty: None,
        dataset_description: None,
        accepted_answers: None,
        fingerprint: None,
        dataset_hash: None,
        provenance: None,
        category: None,
        tags: None,
        template_name: None,
        template_params: None,
        output_type: None,
        verbalization_attempts: None,
        candidate_index: None,
        program_name: None,
        program_ops: None,
        _ground_truth: Some(serde_json::json!(42)),
    };
}
