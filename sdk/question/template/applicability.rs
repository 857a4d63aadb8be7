//! Applicability of a template to a dataset, decided on the column profile (SPEC 5.2, 5.5).
//!
//! Counts use the eligible columns of SPEC 5.2 (typed numeric/categorical, `missing_pct < 95`,
//! more than one distinct value, not ID-like). A requirement that fails gives the reason shown
//! in the generation report, such as `needs at least 3 eligible numeric columns (found 2)`.

use crate::dataset::{Profile, eligible_categorical, eligible_numeric};

/// One condition a dataset must meet for a template to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requirement {
    /// At least this many data rows.
    MinRows(u64),
    /// At least this many eligible numeric columns.
    MinNumeric(usize),
    /// At least this many eligible categorical columns (bool included).
    MinCategorical(usize),
    /// At least this many columns the profile types `categorical`, eligible or not.
    MinProfileCategorical(usize),
    /// An eligible numeric column with missing values (`missing_pct > 0`).
    NumericWithMissing,
    /// An eligible categorical column whose distinct non-null count lies in `lo..=hi`.
    CategoricalWithValues {
        /// Fewest distinct values.
        lo: u64,
        /// Most distinct values.
        hi: u64,
    },
}

/// The facts about one dataset that requirements are checked against, computed once from its
/// [`Profile`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileFacts {
    /// Data rows.
    pub rows: u64,
    /// Eligible numeric columns, in file order.
    pub numeric: Vec<String>,
    /// Eligible categorical columns, in file order.
    pub categorical: Vec<String>,
    /// Columns typed `categorical` by the profile (eligible or not).
    pub profile_categorical: usize,
    /// Eligible numeric columns with `missing_pct > 0`.
    pub numeric_with_missing: usize,
    /// Distinct non-null counts of the eligible categorical columns, in file order.
    pub categorical_unique_counts: Vec<u64>,
}

impl ProfileFacts {
    /// Computes the facts from a profile.
    pub fn from_profile(profile: &Profile) -> Self {
        let numeric = eligible_numeric(profile);
        let categorical = eligible_categorical(profile);
        let numeric_with_missing = numeric
            .iter()
            .filter(|c| profile.columns[c.as_str()].missing_pct > 0.0)
            .count();
        let categorical_unique_counts = categorical
            .iter()
            .map(|c| profile.columns[c.as_str()].unique_count)
            .collect();
        ProfileFacts {
            rows: profile.shape.rows,
            numeric,
            categorical,
            profile_categorical: profile
                .columns
                .values()
                .filter(|c| c.is_categorical())
                .count(),
            numeric_with_missing,
            categorical_unique_counts,
        }
    }
}

impl Requirement {
    /// Checks the requirement.
    ///
    /// # Errors
    /// Why it does not hold, e.g. `needs at least 3 eligible numeric columns (found 2)`.
    pub fn check(&self, facts: &ProfileFacts) -> Result<(), String> {
        let fail = |what: String, found: String| Err(format!("needs {what} (found {found})"));
        match *self {
            Requirement::MinRows(n) if facts.rows < n => {
                fail(format!("at least {n} rows"), facts.rows.to_string())
            }
            Requirement::MinNumeric(n) if facts.numeric.len() < n => fail(
                format!("at least {n} eligible numeric column{}", plural(n)),
                facts.numeric.len().to_string(),
            ),
            Requirement::MinCategorical(n) if facts.categorical.len() < n => fail(
                format!("at least {n} eligible categorical column{}", plural(n)),
                facts.categorical.len().to_string(),
            ),
            Requirement::MinProfileCategorical(n) if facts.profile_categorical < n => fail(
                format!("at least {n} categorical column{}", plural(n)),
                facts.profile_categorical.to_string(),
            ),
            Requirement::NumericWithMissing if facts.numeric_with_missing == 0 => fail(
                "an eligible numeric column with missing values".to_owned(),
                "none".to_owned(),
            ),
            Requirement::CategoricalWithValues { lo, hi }
                if !facts
                    .categorical_unique_counts
                    .iter()
                    .any(|u| (lo..=hi).contains(u)) =>
            {
                fail(
                    format!("an eligible categorical column with {lo}-{hi} distinct values"),
                    "none".to_owned(),
                )
            }
            _ => Ok(()),
        }
    }
}

/// Checks every requirement in order; the first failure is the reason.
///
/// # Errors
/// The reason of the first requirement that does not hold.
pub fn check_all(requirements: &[Requirement], facts: &ProfileFacts) -> Result<(), String> {
    requirements.iter().try_for_each(|r| r.check(facts))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ProfileFacts {
        ProfileFacts {
            rows: 100,
            numeric: vec!["a".into(), "b".into()],
            categorical: vec!["c".into()],
            profile_categorical: 2,
            numeric_with_missing: 0,
            categorical_unique_counts: vec![12],
        }
    }

    #[test]
    fn unmet_requirements_name_what_is_needed_and_what_was_found() {
        let f = facts();
        assert_eq!(
            Requirement::MinNumeric(3).check(&f).unwrap_err(),
            "needs at least 3 eligible numeric columns (found 2)"
        );
        assert_eq!(
            Requirement::MinCategorical(1).check(&f),
            Ok(()),
            "one eligible categorical column is enough"
        );
        assert_eq!(
            Requirement::NumericWithMissing.check(&f).unwrap_err(),
            "needs an eligible numeric column with missing values (found none)"
        );
        assert_eq!(
            Requirement::CategoricalWithValues { lo: 3, hi: 10 }
                .check(&f)
                .unwrap_err(),
            "needs an eligible categorical column with 3-10 distinct values (found none)"
        );
        assert_eq!(
            Requirement::MinRows(200).check(&f).unwrap_err(),
            "needs at least 200 rows (found 100)"
        );
    }

    #[test]
    fn the_first_failing_requirement_is_the_reason() {
        let f = facts();
        let reqs = [
            Requirement::MinNumeric(1),
            Requirement::MinCategorical(2),
            Requirement::MinNumeric(9),
        ];
        assert_eq!(
            check_all(&reqs, &f).unwrap_err(),
            "needs at least 2 eligible categorical columns (found 1)"
        );
        assert!(check_all(&reqs[..1], &f).is_ok());
    }
}
