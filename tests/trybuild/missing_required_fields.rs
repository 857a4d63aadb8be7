// A question cannot be built without its required fields.
use csvagent_sdk::schema::{Question, Source};

fn main() {
    let _q = Question {
        id: "q1".into(),
        source: Source::Template,
        dataset: "d".into(),
    };
}
