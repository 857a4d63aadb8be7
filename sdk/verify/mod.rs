//! Verification: canonical JSON and the answer hash `H`, the tolerant matcher, triangulation.

mod canonical;

pub use canonical::{answer_hash, canonical_json, sha256_hex, string_hash};
