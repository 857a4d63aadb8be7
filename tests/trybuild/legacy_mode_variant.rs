// The legacy modes `synth` and `triangulate` do not exist; only template, procedural, llm_gen, all.
use csvagent_sdk::config::Mode;

fn main() {
    let _a = Mode::Synth;
    let _b = Mode::Triangulate;
}
