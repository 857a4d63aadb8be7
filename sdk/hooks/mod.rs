//! Hooks: grounding of the checkpoints agent code records with `hook(value, code_line, ...)`
//! (SPEC 3.7).
//!
//! A hook is grounded when every line of its `code_line` is a line that actually ran. The
//! submission review ([`crate::episode`]) accepts an answer only when no reviewed hook is
//! ungrounded and at least [`required_hooks`] are grounded.
//!
//! ```
//! use csvagent_sdk::hooks::{ExecutedLines, ground};
//! use csvagent_sdk::schema::Hook;
//! let mut executed = ExecutedLines::new();
//! executed.record_cell("m = df['Age'].mean()\nsubmit(round(m, 2))");
//! let hook = Hook {
//!     variable_name: Some("m".into()),
//!     code_line: Some("m  =  df['Age'].mean()".into()),
//!     value: serde_json::json!(39.2),
//!     value_hash: None,
//!     depends_on: vec![],
//!     description: None,
//!     ungrounded_reason: None,
//! };
//! let grounding = ground(&[hook], &executed);
//! assert_eq!(grounding.grounded.len(), 1);
//! ```

mod grounding;

pub use grounding::{
    CODE_LINE_NOT_FOUND, ExecutedLines, Grounding, HookReview, MISSING_CODE_LINE, ground,
    normalize_line, required_hooks, review_hooks, ungrounded_reason,
};
