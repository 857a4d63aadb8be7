//! Column pools (SPEC 6.3): which columns procedural programs may bind or pick. Deliberately
//! distinct from the template eligibility of SPEC 5.2: only a few identifier names are excluded
//! and the missing-value limit is 50 %.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::ops::{Precondition, Var};
use crate::dataset::{Profile, id_like_columns};

static EXCLUDED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(unnamed:\s*\d+|index|id|_id|row_?id|person_?id)$").expect("valid regex")
});

/// Whether a column name is excluded from every pool: its trimmed, lower-cased name matches
/// `^unnamed:\s*\d+$`, `^index$`, `^id$`, `^_id$`, `^row_?id$` or `^person_?id$`.
pub fn is_excluded_name(name: &str) -> bool {
    EXCLUDED_NAME.is_match(&name.trim().to_lowercase())
}

/// The column pools of one dataset, computed from its profile. Every list is sorted by name
/// (byte order, which is also Python's `sorted` order).
#[derive(Debug, Clone, PartialEq)]
pub struct Pools {
    /// num pool: numeric columns (bool is not numeric), name not excluded, `missing_pct < 50`.
    pub num: Vec<String>,
    /// cat pool: categorical columns (bool included) by the same rules, with at least 2
    /// distinct values.
    pub cat: Vec<String>,
    /// binary pool: the cat-pool columns with exactly 2 distinct values.
    pub binary: Vec<String>,
    /// ID-like columns of SPEC 5.2, in file order (the `_ID_LIKE_COLS` literal).
    pub id_like: Vec<String>,
    /// Rows of the profiled frame.
    pub rows: u64,
    /// Distinct non-null values per pooled column.
    pub unique_counts: BTreeMap<String, u64>,
}

impl Pools {
    /// The pools of `profile`.
    pub fn from_profile(profile: &Profile) -> Pools {
        let mut num = Vec::new();
        let mut cat = Vec::new();
        let mut unique_counts = BTreeMap::new();
        for (name, column) in &profile.columns {
            if is_excluded_name(name) || column.missing_pct >= 50.0 {
                continue;
            }
            if column.is_numeric() {
                num.push(name.clone());
            } else if column.is_categorical() && column.unique_count >= 2 {
                cat.push(name.clone());
            } else {
                continue;
            }
            unique_counts.insert(name.clone(), column.unique_count);
        }
        num.sort();
        cat.sort();
        let binary = cat
            .iter()
            .filter(|c| unique_counts.get(*c) == Some(&2))
            .cloned()
            .collect();
        Pools {
            num,
            cat,
            binary,
            id_like: id_like_columns(profile),
            rows: profile.shape.rows,
            unique_counts,
        }
    }

    /// Whether a dataset precondition holds.
    pub fn satisfies(&self, precondition: Precondition) -> bool {
        match precondition {
            Precondition::None => true,
            Precondition::NumPool => !self.num.is_empty(),
            Precondition::NumPoolTwo => self.num.len() >= 2,
            Precondition::CatPool => !self.cat.is_empty(),
            Precondition::BinaryPool => !self.binary.is_empty(),
        }
    }

    /// The pool a binding key draws from (SPEC 6.7): `num_col*`/`numeric*` the num pool,
    /// `cat_col`/`binary_cat*` the binary pool, any other `*cat*` the cat pool, anything else
    /// the num pool.
    pub fn for_key(&self, key: Var) -> &[String] {
        let name = key.name();
        if name.starts_with("num_col") || name.starts_with("numeric") {
            &self.num
        } else if name == "cat_col" || name.starts_with("binary_cat") {
            &self.binary
        } else if name.contains("cat") {
            &self.cat
        } else {
            &self.num
        }
    }

    /// Distinct non-null values of a pooled column (0 when unknown).
    pub fn unique_count(&self, column: &str) -> u64 {
        self.unique_counts.get(column).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_names_are_excluded_case_insensitively() {
        for name in [
            "id",
            "ID",
            " Id ",
            "_id",
            "row_id",
            "rowid",
            "person_id",
            "Unnamed: 32",
            "index",
        ] {
            assert!(is_excluded_name(name), "{name}");
        }
        for name in [
            "customer_id",
            "EmployeeNumber",
            "idx",
            "Rank",
            "#",
            "indexed",
        ] {
            assert!(!is_excluded_name(name), "{name}");
        }
    }

    #[test]
    fn binding_keys_map_to_their_pools() {
        let pools = Pools {
            num: vec!["a".into(), "b".into()],
            cat: vec!["c".into(), "d".into()],
            binary: vec!["d".into()],
            id_like: vec![],
            rows: 100,
            unique_counts: BTreeMap::new(),
        };
        assert_eq!(pools.for_key(Var::NumCol1), ["a", "b"]);
        assert_eq!(pools.for_key(Var::SelectedCol), ["a", "b"]);
        assert_eq!(pools.for_key(Var::CatCol), ["d"]);
        assert!(pools.satisfies(Precondition::NumPoolTwo));
        assert!(pools.satisfies(Precondition::BinaryPool));
    }
}
