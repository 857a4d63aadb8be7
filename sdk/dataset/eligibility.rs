//! Column eligibility and dataset viability for generated questions (SPEC 5.2).

use std::sync::LazyLock;

use regex::Regex;

use super::profile::{ColumnProfile, Profile};

static ID_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(^id$|_id$|^id_|uuid|guid|index$|^unnamed:\s*\d+$|person.?id|row.?id|serial.?no|sr.?no)",
    )
    .expect("valid regex")
});

/// Whether a column is ID-like (SPEC 5.2): the profile's `is_index_like`, or a lower-cased name
/// matching `(^id$|_id$|^id_|uuid|guid|index$|^unnamed:\s*\d+$|person.?id|row.?id|serial.?no|sr.?no)`,
/// or a non-numeric column whose distinct count is at least `max(2, floor(0.98 * rows))`.
/// Continuous numeric columns such as `charges` are never ID-like by uniqueness alone.
pub fn is_id_like(name: &str, column: &ColumnProfile, rows: u64) -> bool {
    if column.is_index_like || ID_NAME.is_match(&name.to_lowercase()) {
        return true;
    }
    let threshold = (rows * 98 / 100).max(2);
    !column.is_numeric() && column.unique_count >= threshold
}

fn eligible(name: &str, column: &ColumnProfile, rows: u64) -> bool {
    column.missing_pct < 95.0 && column.unique_count > 1 && !is_id_like(name, column, rows)
}

/// Eligible numeric columns, in file order: `type == numeric`, `missing_pct < 95`,
/// `unique_count > 1`, not ID-like.
pub fn eligible_numeric(profile: &Profile) -> Vec<String> {
    let rows = profile.shape.rows;
    profile
        .columns
        .iter()
        .filter(|(n, c)| c.is_numeric() && eligible(n, c, rows))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Eligible categorical columns (bool included), in file order, by the same rules.
pub fn eligible_categorical(profile: &Profile) -> Vec<String> {
    let rows = profile.shape.rows;
    profile
        .columns
        .iter()
        .filter(|(n, c)| c.is_categorical() && eligible(n, c, rows))
        .map(|(n, _)| n.clone())
        .collect()
}

/// ID-like columns, in file order (the `_ID_LIKE_COLS` literal of generated programs).
pub fn id_like_columns(profile: &Profile) -> Vec<String> {
    let rows = profile.shape.rows;
    profile
        .columns
        .iter()
        .filter(|(n, c)| is_id_like(n, c, rows))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Whether a dataset can yield template and procedural questions (SPEC 5.2).
///
/// # Errors
/// The skip reason, exactly: `too few rows (n)`, `too few columns (n)`,
/// `no eligible columns after filtering ids/degenerate fields`, `all columns are >=95% missing`.
pub fn viability(profile: &Profile) -> Result<(), String> {
    let rows = profile.shape.rows;
    let cols = profile.shape.columns;
    if rows < 50 {
        return Err(format!("too few rows ({rows})"));
    }
    if cols < 2 {
        return Err(format!("too few columns ({cols})"));
    }
    if !profile.columns.values().any(|c| c.missing_pct < 95.0) {
        return Err("all columns are >=95% missing".to_owned());
    }
    if eligible_numeric(profile).is_empty() && eligible_categorical(profile).is_empty() {
        return Err("no eligible columns after filtering ids/degenerate fields".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::profile::{ColumnStats, Shape};
    use indexmap::IndexMap;

    fn numeric(unique: u64, missing_pct: f64) -> ColumnProfile {
        ColumnProfile {
            dtype: "float64".into(),
            missing_count: 0,
            missing_pct,
            unique_count: unique,
            is_index_like: false,
            is_boolean: false,
            is_currency: false,
            stats: ColumnStats::Numeric {
                mean: Some(1.0),
                std: Some(1.0),
                min: Some(0.0),
                max: Some(2.0),
                q25: None,
                median: None,
                q75: None,
                skew: None,
            },
        }
    }

    fn categorical(unique: u64) -> ColumnProfile {
        ColumnProfile {
            dtype: "object".into(),
            stats: ColumnStats::Categorical {
                top_values: IndexMap::new(),
            },
            ..numeric(unique, 0.0)
        }
    }

    fn profile(rows: u64, cols: Vec<(&str, ColumnProfile)>) -> Profile {
        Profile {
            shape: Shape {
                rows,
                columns: cols.len() as u64,
            },
            columns: cols.into_iter().map(|(n, c)| (n.to_owned(), c)).collect(),
            correlations: vec![],
            quality_alerts: vec![],
            sample_head: vec![],
        }
    }

    #[test]
    fn continuous_numeric_columns_are_not_id_like_by_uniqueness() {
        let p = profile(
            1338,
            vec![("charges", numeric(1337, 0.0)), ("region", categorical(4))],
        );
        assert_eq!(eligible_numeric(&p), ["charges"]);
        assert_eq!(eligible_categorical(&p), ["region"]);
    }

    #[test]
    fn id_names_and_unique_strings_are_id_like() {
        let p = profile(
            100,
            vec![
                ("id", numeric(100, 0.0)),
                ("customer_id", numeric(50, 0.0)),
                ("Unnamed: 32", numeric(3, 0.0)),
                ("Name", categorical(99)),
                ("score", numeric(40, 0.0)),
            ],
        );
        assert_eq!(
            id_like_columns(&p),
            ["id", "customer_id", "Unnamed: 32", "Name"]
        );
        assert_eq!(eligible_numeric(&p), ["score"]);
    }

    #[test]
    fn viability_reasons_are_exact() {
        assert_eq!(
            viability(&profile(
                10,
                vec![("a", numeric(5, 0.0)), ("b", numeric(5, 0.0))]
            ))
            .unwrap_err(),
            "too few rows (10)"
        );
        assert_eq!(
            viability(&profile(60, vec![("a", numeric(5, 0.0))])).unwrap_err(),
            "too few columns (1)"
        );
        assert_eq!(
            viability(&profile(
                60,
                vec![("a", numeric(5, 99.0)), ("b", numeric(5, 96.0))]
            ))
            .unwrap_err(),
            "all columns are >=95% missing"
        );
        assert_eq!(
            viability(&profile(
                60,
                vec![("id", numeric(60, 0.0)), ("b", numeric(1, 0.0))]
            ))
            .unwrap_err(),
            "no eligible columns after filtering ids/degenerate fields"
        );
        assert!(
            viability(&profile(
                60,
                vec![("a", numeric(5, 0.0)), ("b", numeric(1, 0.0))]
            ))
            .is_ok()
        );
    }
}
