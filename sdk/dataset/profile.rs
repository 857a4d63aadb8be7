//! Column profiles (SPEC 5.1): computed in the sandbox with pandas by the `profile` op, parsed
//! here, cached by `dataset_hash`.
//!
//! JSON shape (what the sandbox's `profile.py` returns):
//!
//! ```json
//! {"shape": {"rows": 1338, "columns": 7},
//!  "columns": {"age": {"dtype": "int64", "missing_count": 0, "missing_pct": 0.0,
//!                      "unique_count": 47, "is_index_like": false, "is_boolean": false,
//!                      "is_currency": false, "type": "numeric", "mean": 39.2, "std": 14.05,
//!                      "min": 18.0, "max": 64.0, "q25": 27.0, "median": 39.0, "q75": 51.0,
//!                      "skew": 0.056}, ...},
//!  "correlations": [{"col1": "age", "col2": "charges", "r": 0.299}],
//!  "quality_alerts": ["2 duplicate rows"],
//!  "sample_head": [{"age": 19, "sex": "female", ...}, ...]}
//! ```
//!
//! `columns` keeps the file's column order.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The profile of one dataset as loaded by the sandbox loader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Rows x columns of the loaded frame.
    pub shape: Shape,
    /// Per-column statistics, in file order.
    pub columns: IndexMap<String, ColumnProfile>,
    /// The top 5 |Pearson| pairs among numeric columns, largest first.
    pub correlations: Vec<Correlation>,
    /// Human-readable alerts: duplicate rows, empty columns, all-unique columns.
    pub quality_alerts: Vec<String>,
    /// The first 3 rows as records (normalised JSON values).
    pub sample_head: Vec<Map<String, Value>>,
}

/// Rows and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Data rows (header excluded).
    pub rows: u64,
    /// Columns.
    pub columns: u64,
}

/// One Pearson correlation between two numeric columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    /// First column (file order).
    pub col1: String,
    /// Second column.
    pub col2: String,
    /// Pearson r on pairwise-complete rows.
    pub r: f64,
}

/// Statistics of one column. (Unknown keys cannot be refused here: serde's `flatten` and
/// `deny_unknown_fields` do not combine.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// The pandas dtype after loading (`int64`, `float64`, `object`, `bool`, ...).
    pub dtype: String,
    /// Null cells.
    pub missing_count: u64,
    /// Null cells as a percentage of rows, 2 dp.
    pub missing_pct: f64,
    /// Distinct non-null values.
    pub unique_count: u64,
    /// The name looks like a row index/identifier, or an integer column is exactly `0..n-1` or
    /// `1..n` (SPEC 5.1).
    pub is_index_like: bool,
    /// A bool column, or an object column holding only two true/false-like values.
    pub is_boolean: bool,
    /// An object column the loader converted to numbers from currency/thousands strings
    /// (`$1,234`, `12%`).
    pub is_currency: bool,
    /// Type-specific statistics.
    #[serde(flatten)]
    pub stats: ColumnStats,
}

/// Type-specific statistics, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ColumnStats {
    /// int/float columns (bool is not numeric). Null when the column has no finite values.
    Numeric {
        /// Mean.
        mean: Option<f64>,
        /// Sample standard deviation (ddof 1).
        std: Option<f64>,
        /// Minimum.
        min: Option<f64>,
        /// Maximum.
        max: Option<f64>,
        /// 25th percentile (linear).
        q25: Option<f64>,
        /// Median.
        median: Option<f64>,
        /// 75th percentile (linear).
        q75: Option<f64>,
        /// Bias-corrected skewness (pandas `skew`).
        skew: Option<f64>,
    },
    /// Object columns whose non-null values all strictly parse as dates.
    Datetime {
        /// Earliest date, ISO 8601.
        min: String,
        /// Latest date, ISO 8601.
        max: String,
        /// Days between them.
        range_days: f64,
    },
    /// object, category and bool columns.
    Categorical {
        /// The 5 most frequent values (as strings) and their counts, most frequent first.
        top_values: IndexMap<String, u64>,
    },
    /// All values null.
    Empty,
}

impl ColumnProfile {
    /// Whether the column is numeric (`type == numeric`).
    pub fn is_numeric(&self) -> bool {
        matches!(self.stats, ColumnStats::Numeric { .. })
    }

    /// Whether the column is categorical (`type == categorical`, bool included).
    pub fn is_categorical(&self) -> bool {
        matches!(self.stats, ColumnStats::Categorical { .. })
    }

    /// The `type` name: `numeric`, `datetime`, `categorical` or `empty`.
    pub fn type_name(&self) -> &'static str {
        match self.stats {
            ColumnStats::Numeric { .. } => "numeric",
            ColumnStats::Datetime { .. } => "datetime",
            ColumnStats::Categorical { .. } => "categorical",
            ColumnStats::Empty => "empty",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_json_round_trips_in_column_order() {
        let text = r#"{"shape":{"rows":3,"columns":3},
          "columns":{
            "z":{"dtype":"int64","missing_count":0,"missing_pct":0.0,"unique_count":3,"is_index_like":true,"is_boolean":false,"is_currency":false,"type":"numeric","mean":2.0,"std":1.0,"min":1.0,"max":3.0,"q25":1.5,"median":2.0,"q75":2.5,"skew":0.0},
            "a":{"dtype":"bool","missing_count":0,"missing_pct":0.0,"unique_count":2,"is_index_like":false,"is_boolean":true,"is_currency":false,"type":"categorical","top_values":{"False":2,"True":1}},
            "e":{"dtype":"float64","missing_count":3,"missing_pct":100.0,"unique_count":0,"is_index_like":false,"is_boolean":false,"is_currency":false,"type":"empty"}},
          "correlations":[],"quality_alerts":["1 empty column: e"],"sample_head":[{"z":1,"a":false,"e":null}]}"#;
        let p: Profile = serde_json::from_str(text).unwrap();
        assert_eq!(p.columns.keys().collect::<Vec<_>>(), ["z", "a", "e"]);
        assert!(p.columns["z"].is_numeric());
        assert!(p.columns["a"].is_categorical());
        assert_eq!(p.columns["e"].type_name(), "empty");
        let back: Profile = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
