//! Questions from the three sources: `template`, `procedural` and `llm_gen`, and their
//! fingerprints (SPEC 1.11).

mod fingerprint;
pub mod llm_gen;
pub mod procedural;
pub mod template;

pub use fingerprint::{
    llm_gen_fingerprint, norm_text, procedural_fingerprint, template_fingerprint,
};
