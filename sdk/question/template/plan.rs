//! Work items for one dataset (SPEC 5.3): the applicable templates, stable-sorted by `n_steps`
//! descending, expanded per parameter set, each rendered into a complete reference program with
//! its wording, alternatives, fingerprint and id. Pure: no sandbox involved.

use serde_json::{Map, Value};

use super::applicability::{ProfileFacts, check_all};
use super::catalogue::{CATALOGUE, Scope, Template};
use super::render::{ParamSet, fill_slots, params_json, prelude};
use crate::dataset::{Profile, id_like_columns};
use crate::question::template_fingerprint;

/// One rendered question candidate: a template with one parameter set, on one dataset.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The template.
    pub template: &'static Template,
    /// Its parameter set (empty for templates without parameters).
    pub params: ParamSet,
    /// 1-based position in the dataset's work list.
    pub index: usize,
    /// The wording with actual parameters and the column-scope sentence, without a final period.
    pub description: String,
    /// The complete reference program (prelude + body, parameters filled).
    pub code: String,
    /// The complete alternative programs, with what each reading is.
    pub alternatives: Vec<(&'static str, String)>,
    /// `H` of the template identity on these dataset bytes (SPEC 1.11).
    pub fingerprint: String,
    /// `tpl_<dataset>_<template>_<fp8>`.
    pub id: String,
}

impl Candidate {
    /// `template_params`: the parameters as a JSON object, `None` when there are none.
    pub fn params_json(&self) -> Option<Map<String, Value>> {
        (!self.params.is_empty()).then(|| params_json(self.params))
    }

    /// A short label: `name (k=v, ...)` or `name (default)`.
    pub fn label(&self) -> String {
        if self.params.is_empty() {
            format!("{} (default)", self.template.name)
        } else {
            let kv: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{k}={}", v.python_literal()))
                .collect();
            format!("{} ({})", self.template.name, kv.join(", "))
        }
    }
}

/// What will run on a dataset, and what will not and why.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The candidates, in work order.
    pub candidates: Vec<Candidate>,
    /// Templates that do not apply, in catalogue order, with the reason.
    pub not_applicable: Vec<(&'static str, String)>,
    /// Candidates cut by `max_per_dataset`, as `(template, label)`.
    pub truncated: Vec<(&'static str, String)>,
}

/// Plans the template questions of one dataset.
///
/// `max_per_dataset` truncates the work list after sorting (`None`: unlimited).
pub fn plan(
    dataset: &str,
    dataset_hash: &str,
    profile: &Profile,
    max_per_dataset: Option<usize>,
) -> Plan {
    let facts = ProfileFacts::from_profile(profile);
    let id_like = id_like_columns(profile);
    let head = prelude(&id_like);
    let scope = scope_sentence(&id_like);

    let mut out = Plan::default();
    let mut applicable: Vec<&'static Template> = Vec::new();
    for template in CATALOGUE {
        match check_all(template.requires, &facts) {
            Ok(()) => applicable.push(template),
            Err(reason) => out.not_applicable.push((template.name, reason)),
        }
    }
    applicable.sort_by_key(|t| std::cmp::Reverse(t.n_steps));

    let mut index = 0;
    for template in applicable {
        for &params in template.param_sets {
            index += 1;
            let candidate = instantiate(
                template,
                params,
                index,
                dataset,
                dataset_hash,
                &head,
                &scope,
            );
            if max_per_dataset.is_some_and(|max| index > max) {
                out.truncated.push((template.name, candidate.label()));
            } else {
                out.candidates.push(candidate);
            }
        }
    }
    out
}

fn instantiate(
    template: &'static Template,
    params: ParamSet,
    index: usize,
    dataset: &str,
    dataset_hash: &str,
    head: &str,
    scope: &str,
) -> Candidate {
    let program = |body: &str| format!("{head}\n\n{}", fill_slots(body, params));
    let code = program(template.code);
    let alternatives: Vec<(&'static str, String)> = template
        .alternatives
        .iter()
        .map(|alt| {
            let body = alt
                .edits
                .iter()
                .fold(template.code.to_owned(), |body, (from, to)| {
                    body.replace(from, to)
                });
            (alt.reading, program(&body))
        })
        .collect();
    let mut description = fill_slots(template.description, params);
    if template.scope == Scope::Typed {
        description.push_str(". ");
        description.push_str(scope);
    }
    let alternative_codes: Vec<String> = alternatives.iter().map(|(_, c)| c.clone()).collect();
    let fingerprint = template_fingerprint(
        template.name,
        &code,
        &alternative_codes,
        &params_json(params),
        dataset_hash,
    );
    let id = format!("tpl_{dataset}_{}_{}", template.name, &fingerprint[..8]);
    Candidate {
        template,
        params,
        index,
        description,
        code,
        alternatives,
        fingerprint,
        id,
    }
}

/// The sentence that fixes which columns "numeric" and "categorical" mean, naming the
/// identifier-like columns left out.
fn scope_sentence(id_like: &[String]) -> String {
    let mut s = "Numeric columns are the integer and float columns, and categorical columns are \
                 the text, category and boolean columns"
        .to_owned();
    if !id_like.is_empty() {
        let names: Vec<String> = id_like.iter().map(|c| format!("`{c}`")).collect();
        s.push_str(&format!(
            "; the identifier-like column{} {} {} left out of both",
            if id_like.len() == 1 { "" } else { "s" },
            names.join(", "),
            if id_like.len() == 1 { "is" } else { "are" },
        ));
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use indexmap::IndexMap;

    use super::*;
    use crate::dataset::{ColumnProfile, ColumnStats, Shape};

    fn numeric(missing_pct: f64) -> ColumnProfile {
        ColumnProfile {
            dtype: "float64".into(),
            missing_count: 0,
            missing_pct,
            unique_count: 50,
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
            unique_count: unique,
            stats: ColumnStats::Categorical {
                top_values: IndexMap::new(),
            },
            ..numeric(0.0)
        }
    }

    /// A 200-row profile: `id` (index-like), numeric `a`, `b`, `c` (`c` with missing values) and
    /// categorical `region` (4 values).
    pub(crate) fn sample_profile() -> Profile {
        let mut id = numeric(0.0);
        id.is_index_like = true;
        let cols = [
            ("id", id),
            ("a", numeric(0.0)),
            ("b", numeric(0.0)),
            ("c", numeric(2.5)),
            ("region", categorical(4)),
        ];
        Profile {
            shape: Shape {
                rows: 200,
                columns: cols.len() as u64,
            },
            columns: cols.into_iter().map(|(n, c)| (n.to_owned(), c)).collect(),
            correlations: vec![],
            quality_alerts: vec![],
            sample_head: vec![],
        }
    }

    #[test]
    fn templates_that_do_not_apply_are_listed_with_the_reason_and_not_run() {
        let p = plan("demo", "abc", &sample_profile(), None);
        let reasons: Vec<(&str, &str)> = p
            .not_applicable
            .iter()
            .map(|(n, r)| (*n, r.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    "chi_squared_independence",
                    "needs at least 2 categorical columns (found 1)"
                ),
                (
                    "multiple_regression_top_predictors",
                    "needs at least 4 eligible numeric columns (found 3)"
                ),
            ]
        );
        assert!(
            p.candidates
                .iter()
                .all(|c| c.template.name != "chi_squared_independence")
        );
        // 32 templates, 2 not applicable, 2 of the rest with two parameter sets.
        assert_eq!(p.candidates.len(), 32);
    }

    #[test]
    fn work_items_run_longest_first_and_expand_every_parameter_set() {
        let p = plan("demo", "abc", &sample_profile(), None);
        let steps: Vec<u32> = p.candidates.iter().map(|c| c.template.n_steps).collect();
        assert!(steps.windows(2).all(|w| w[0] >= w[1]), "{steps:?}");
        let indices: Vec<usize> = p.candidates.iter().map(|c| c.index).collect();
        assert_eq!(indices, (1..=p.candidates.len()).collect::<Vec<_>>());
        let z: Vec<String> = p
            .candidates
            .iter()
            .filter(|c| c.template.name == "count_outlier_columns")
            .map(Candidate::label)
            .collect();
        assert_eq!(
            z,
            [
                "count_outlier_columns (z_threshold=3.0)",
                "count_outlier_columns (z_threshold=2.5)"
            ]
        );
    }

    #[test]
    fn wording_names_the_actual_threshold_and_the_identifier_columns() {
        let p = plan("demo", "abc", &sample_profile(), None);
        let loose = p
            .candidates
            .iter()
            .find(|c| c.label() == "count_outlier_columns (z_threshold=2.5)")
            .expect("planned");
        assert!(
            loose
                .description
                .contains("more than 2.5 sample standard deviations")
        );
        assert!(!loose.description.contains("3.0"));
        assert!(loose.code.contains("> 2.5 * std"));
        assert!(
            loose
                .description
                .ends_with("the identifier-like column `id` is left out of both")
        );
        assert!(loose.code.starts_with("_ID_LIKE_COLS = ['id']\n"));
        let missing = p
            .candidates
            .iter()
            .find(|c| c.template.name == "count_high_missing_columns")
            .expect("planned");
        assert!(
            !missing.description.contains("identifier"),
            "all-column templates need no scope"
        );
    }

    #[test]
    fn ids_and_fingerprints_depend_only_on_the_template_and_the_dataset_bytes() {
        let a = plan("demo", "abc", &sample_profile(), None);
        let b = plan("demo", "abc", &sample_profile(), None);
        let other_bytes = plan("demo", "abd", &sample_profile(), None);
        let ids = |p: &Plan| {
            p.candidates
                .iter()
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        let first = &a.candidates[0];
        assert_eq!(
            first.id,
            format!(
                "tpl_demo_{}_{}",
                first.template.name,
                &first.fingerprint[..8]
            )
        );
        assert_eq!(
            first.fingerprint,
            crate::question::template_fingerprint(
                first.template.name,
                &first.code,
                &first
                    .alternatives
                    .iter()
                    .map(|(_, c)| c.clone())
                    .collect::<Vec<_>>(),
                &params_json(first.params),
                "abc",
            )
        );
        assert_ne!(
            a.candidates[0].fingerprint,
            other_bytes.candidates[0].fingerprint
        );
        let distinct: std::collections::BTreeSet<_> = ids(&a).into_iter().collect();
        assert_eq!(distinct.len(), a.candidates.len(), "ids are unique");
    }

    #[test]
    fn the_per_dataset_cap_truncates_the_work_list_and_says_so() {
        let p = plan("demo", "abc", &sample_profile(), Some(5));
        assert_eq!(p.candidates.len(), 5);
        assert_eq!(p.truncated.len(), 27);
    }

    #[test]
    fn alternatives_are_complete_programs_with_the_prelude() {
        let p = plan("demo", "abc", &sample_profile(), None);
        let mean = p
            .candidates
            .iter()
            .find(|c| c.template.name == "max_variance_mean")
            .expect("planned");
        assert_eq!(mean.alternatives.len(), 3);
        for (_, code) in &mean.alternatives {
            assert!(code.starts_with("_ID_LIKE_COLS = ['id']\nnum_cols = "));
            assert!(code.contains("submit(round(float(mean_value), 3))"));
            assert_ne!(code, &mean.code);
        }
    }

    #[test]
    fn scope_sentence_names_the_identifier_columns() {
        assert_eq!(
            scope_sentence(&["id".to_owned()]),
            "Numeric columns are the integer and float columns, and categorical columns are the \
             text, category and boolean columns; the identifier-like column `id` is left out of both"
        );
        assert_eq!(
            scope_sentence(&["id".to_owned(), "Name".to_owned()]),
            "Numeric columns are the integer and float columns, and categorical columns are the \
             text, category and boolean columns; the identifier-like columns `id`, `Name` are left \
             out of both"
        );
        assert!(scope_sentence(&[]).ends_with("boolean columns"));
    }
}
