// The legacy sources `synthetic` and `llm` do not exist.
use csvagent_sdk::schema::Source;

fn main() {
    let _a = Source::Synthetic;
    let _b = Source::Llm;
}
