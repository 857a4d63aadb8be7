// An episode's question projection has no legacy `_ground_truths` field to set.
use csvagent_sdk::schema::QuestionProjection;

fn set(p: &mut QuestionProjection) {
    p._ground_truths = Some(vec![]);
}

fn main() {}
