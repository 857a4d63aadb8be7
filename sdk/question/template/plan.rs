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
            let candidate = instantiate(template, params, index, dataset, dataset_hash, &head, &scope);
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
    let program = |body: &str| format!("{head}\n{}", fill_slots(body, params));
    let code = program(template.code);
    let alternatives: Vec<(&'static str, String)> = template
        .alternatives
        .iter()
        .map(|alt| {
            let body = alt
                .edits
                .iter()
                .fold(template.code.to_owned(), |body, (from, to)| body.replace(from, to));
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
mod tests {
    use super::*;

    #[test]
    fn scope_sentence_names_the_identifier_columns() {
        assert_eq!(
            scope_sentence(&["id".to_owned()]),
            "Numeric columns are the integer and float columns, and categorical columns are the \
             text, category and boolean columns; the identifier-like column `id` is left out of both"
        );
        assert!(scope_sentence(&[]).ends_with("boolean columns"));
    }
}
