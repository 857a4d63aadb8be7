//! # csvagent-sdk
//!
//! Verified multi-turn data-analysis traces from real CSV files.
//!
//! The pipeline: datasets (folders of `data.csv` + `meta.json`) -> questions from three sources
//! (`template`, `procedural`, `llm_gen`) -> episodes, in which a teacher LLM solves each question
//! in a sandboxed Python REPL and its answer is verified -> upload to the Hugging Face Hub.
//!
//! Main types: [`schema::Question`] and [`schema::Episode`] (records generated from `schema/`),
//! [`record::DataLayout`] (where everything lives on disk), [`verify::answer_hash`] (the answer
//! hash `H`), [`events::EventSink`] (progress for front ends).
//!
//! ```
//! use csvagent_sdk::verify::answer_hash;
//! use serde_json::json;
//! // 42 and 42.0 are the same answer.
//! assert_eq!(answer_hash(&json!(42)), answer_hash(&json!(42.0)));
//! ```

pub mod config;
pub mod dataset;
pub mod episode;
pub mod error;
pub mod events;
pub mod hooks;
pub mod manifest;
pub mod pipeline;
pub mod publish;
pub mod question;
pub mod record;
pub mod sandbox;
pub mod schema;
pub mod status;
pub mod teacher;
pub mod verify;

pub use error::{Error, ErrorCode, Result};

/// The README's code examples, compiled as doctests so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
