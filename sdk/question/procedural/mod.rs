//! Procedural questions (SPEC 6).

pub mod ops;
pub mod pools;
pub mod search;
pub mod program;
pub mod compile;
pub mod wording;
pub mod select;
