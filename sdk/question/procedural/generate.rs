//! Planning, assembly and writing of one dataset's procedural questions.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use super::compile::compile;
use super::ops::Op;
use super::pools::Pools;
use super::program::{
    Program, bind_chain, cascading_chains, evidence_chains,
    pre_execution_rejection, sample,
};
use super::report::{ChainCounts, PoolSizes, ProceduralReport};
use super::search::{SearchStats, enumerate_chains};
use super::select::{ProgramOutcome, Survivor, cap_by_coverage, check_outcome, drop_near_duplicates};
use super::wording::{mechanical_wording, output_schema};
use super::{ProceduralConfig, ProceduralError};
use crate::dataset::{Dataset, Profile};
use crate::question::procedural_fingerprint;
use crate::record::{DataLayout, write_json_atomic};
use crate::schema::{Difficulty, Provenance, Question, Source};
use crate::verify::{answer_hash, string_hash};

/// One program chosen for execution, with everything its question needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The bound program.
    pub program: Program,
    /// The reference code (SPEC 6.9).
    pub code: String,
    /// The mechanical wording (SPEC 6.11).
    pub question_mechanical: String,
    /// The terminal operator's JSON example.
    pub output_schema: String,
}

/// The result of [`plan`]: the programs to execute, in execution order, and the counts so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The column pools of the profile.
    pub pools: Pools,
    /// The generation seed.
    pub seed: u64,
    /// Enumeration counts.
    pub search: SearchStats,
    /// Chains by family.
    pub chains: ChainCounts,
    /// Programs after binding enumeration.
    pub bound_programs: u64,
    /// Programs dropped before execution, by reason (`constant_column`, `too_few_rows`,
    /// `constant_by_construction`, `ill_formed`, `not_sampled`).
    pub rejected: BTreeMap<String, u64>,
    /// The programs to execute.
    pub candidates: Vec<Candidate>,
    /// Planning wall time, ms.
    pub elapsed_ms: u64,
}

/// Plans one dataset's procedural programs from its profile (no I/O, deterministic).
///
/// Builds the pools (SPEC 6.3), enumerates and validates grammar chains (6.4-6.6), adds the long
/// chains (6.8, listed first), enumerates bindings (6.7), drops programs that are degenerate by
/// construction (a bound column with fewer than 2 distinct values, a mean/median/std/variance
/// or series statistic on fewer than 30 rows, `zscore` followed by `mean_series`/`std_series`),
/// samples at most `config.max_executed` programs (seeded round-robin over chain structures)
/// and compiles and words each one.
pub fn plan(profile: &Profile, config: &ProceduralConfig) -> Plan {
    let started = Instant::now();
    let pools = Pools::from_profile(profile);
    let (chains, search) = enumerate_chains(&pools, config.search_limits());
    let cascading = cascading_chains(&pools);
    let evidence = evidence_chains(&pools);
    let counts = ChainCounts {
        grammar: chains.len(),
        cascading: cascading.len(),
        evidence: evidence.len(),
    };
    let mut programs: Vec<Program> = cascading;
    programs.extend(evidence);
    for (index, chain) in chains.iter().enumerate() {
        programs.extend(bind_chain(index, chain, &pools));
    }
    let bound_programs = programs.len() as u64;
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    let mut runnable = Vec::with_capacity(programs.len());
    for program in programs {
        match pre_execution_rejection(&program, &pools) {
            Some(reason) => *rejected.entry(reason.to_owned()).or_default() += 1,
            None => runnable.push(program),
        }
    }
    let (chosen, left_out) = sample(runnable, config.seed, config.max_executed);
    if left_out > 0 {
        rejected.insert("not_sampled".to_owned(), left_out as u64);
    }
    let candidates = chosen
        .into_iter()
        .map(|program| Candidate {
            code: compile(&program, &pools, config.seed),
            question_mechanical: mechanical_wording(&program, &pools, config.seed),
            output_schema: output_schema(&program),
            program,
        })
        .collect();
    Plan {
        pools,
        seed: config.seed,
        search,
        chains: counts,
        bound_programs,
        rejected,
        candidates,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// One dataset's procedural questions and its report.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The questions, in cap pick order (coverage first).
    pub questions: Vec<Question>,
    /// What happened to every program.
    pub report: ProceduralReport,
}

/// Difficulty from the operator count (SPEC 6.12): up to 3 EASY, 4-5 MEDIUM, 6-9 HARD, 10 or
/// more VERY_HARD.
pub fn difficulty(n_steps: usize) -> Difficulty {
    match n_steps {
        0..=3 => Difficulty::Easy,
        4..=5 => Difficulty::Medium,
        6..=9 => Difficulty::Hard,
        _ => Difficulty::VeryHard,
    }
}

/// Builds the record of a kept program (SPEC 1.3, 1.5, 6.12).
fn question(
    dataset: &Dataset,
    candidate: &Candidate,
    answer: Value,
    provenance: Option<&Provenance>,
) -> Question {
    let ops = candidate.program.op_names();
    let fingerprint = procedural_fingerprint(&ops, &candidate.code, &dataset.dataset_hash);
    let hash = answer_hash(&answer);
    Question {
        id: question_id(&dataset.name, &candidate.program.name, &fingerprint),
        source: Source::Procedural,
        dataset: dataset.name.clone(),
        question_text: None,
        question_mechanical: Some(candidate.question_mechanical.clone()),
        hint: Some(String::new()),
        code: Some(candidate.code.clone()),
        code_hash: Some(string_hash(&candidate.code)),
        ground_truth: answer.clone(),
        ground_truth_hash: Some(hash.clone()),
        ground_truth_hashes: Some(vec![hash]),
        output_schema: Some(candidate.output_schema.clone()),
        n_steps: Some(ops.len() as u64),
        difficulty: Some(difficulty(ops.len())),
        dataset_description: Some(dataset.description.clone()),
        accepted_answers: Some(vec![answer]),
        fingerprint: Some(fingerprint),
        dataset_hash: Some(dataset.dataset_hash.clone()),
        provenance: provenance.cloned(),
        category: None,
        tags: None,
        template_name: None,
        template_params: None,
        output_type: None,
        verbalization_attempts: None,
        candidate_index: None,
        program_name: Some(candidate.program.name.clone()),
        program_ops: Some(ops),
    }
}

/// `prog_<dataset>_<program_name>_<fp8>` (SPEC 1.5).
pub fn question_id(dataset: &str, program_name: &str, fingerprint: &str) -> String {
    format!("prog_{dataset}_{program_name}_{}", &fingerprint[..8.min(fingerprint.len())])
}

/// Turns executed programs into questions (pure, deterministic): the output filter, near-
/// duplicate removal and the coverage cap of SPEC 6.10, then the records, in pick order.
///
/// `outcomes[i]` is the result of `plan.candidates[i]`; `Err(reason)` stands for a program the
/// sandbox could not run (counted under that reason). Timing fields of the report are left for
/// the caller.
pub fn assemble(
    dataset: &Dataset,
    plan: &Plan,
    outcomes: &[Result<ProgramOutcome, String>],
    provenance: Option<&Provenance>,
    config: &ProceduralConfig,
) -> Generated {
    let mut report = ProceduralReport {
        dataset: dataset.name.clone(),
        dataset_hash: dataset.dataset_hash.clone(),
        seed: plan.seed,
        pools: PoolSizes {
            num: plan.pools.num.len(),
            cat: plan.pools.cat.len(),
            binary: plan.pools.binary.len(),
        },
        search: plan.search.clone(),
        chains: plan.chains.clone(),
        bound_programs: plan.bound_programs,
        executed: outcomes.len() as u64,
        plan_ms: plan.elapsed_ms,
        ..ProceduralReport::default()
    };
    for (reason, n) in &plan.rejected {
        report.reject(reason, *n);
    }
    let mut survivors = Vec::new();
    let mut by_id: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    for (i, (candidate, outcome)) in plan.candidates.iter().zip(outcomes).enumerate() {
        let checked = outcome
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|o| check_outcome(candidate.program.terminal(), o));
        match checked {
            Err(reason) => report.reject(&reason, 1),
            Ok(answer) => {
                let fingerprint = procedural_fingerprint(
                    &candidate.program.op_names(),
                    &candidate.code,
                    &dataset.dataset_hash,
                );
                let id = question_id(&dataset.name, &candidate.program.name, &fingerprint);
                by_id.insert(id.clone(), (i, answer.clone()));
                survivors.push(Survivor {
                    id,
                    ops: candidate.program.ops(),
                    answer,
                });
            }
        }
    }
    report.reject("not_executed", plan.candidates.len().saturating_sub(outcomes.len()) as u64);
    report.passed_filter = survivors.len() as u64;
    let (survivors, duplicates) = drop_near_duplicates(survivors);
    report.reject("near_duplicate", duplicates.len() as u64);
    let picks = cap_by_coverage(&survivors, config.max_per_dataset);
    report.reject("over_cap", (survivors.len() - picks.len()) as u64);
    let mut questions = Vec::with_capacity(picks.len());
    for &pick in &picks {
        let survivor = &survivors[pick];
        let Some((index, answer)) = by_id.get(&survivor.id) else {
            continue;
        };
        let candidate = &plan.candidates[*index];
        questions.push(question(dataset, candidate, answer.clone(), provenance));
    }
    report.questions = questions.len() as u64;
    for q in &questions {
        let ops = q.program_ops.as_deref().unwrap_or_default();
        *report.kept_by_length.entry(ops.len() as u64).or_default() += 1;
        if let Some(last) = ops.last() {
            *report.kept_by_terminal.entry(last.clone()).or_default() += 1;
        }
    }
    report.operators_covered = Op::ALL
        .iter()
        .filter(|op| {
            questions.iter().any(|q| {
                q.program_ops
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|name| name == op.name())
            })
        })
        .map(|op| op.name().to_owned())
        .collect();
    if questions.len() < 20 {
        report.warnings.push(format!(
            "only {} procedural questions for dataset `{}` (fewer than 20)",
            questions.len(),
            dataset.name
        ));
    }
    Generated { questions, report }
}

/// Writes one dataset's outputs under `layout`: `questions/procedural/<dataset>/questions.json`
/// (a JSON array, 2-space indent, trailing newline, written atomically, replacing any earlier
/// file without merging) and `report.json` beside it.
///
/// Object keys inside `provenance.versions` are written sorted, so the file is byte-identical
/// across runs.
///
/// # Errors
/// [`ProceduralError::Write`] naming the file.
pub fn write_outputs(layout: &DataLayout, generated: &Generated) -> Result<(), ProceduralError> {
    let dataset = &generated.report.dataset;
    let path = layout.questions_file(Source::Procedural, dataset);
    let records: Vec<Value> = generated
        .questions
        .iter()
        .map(|q| {
            let mut value = serde_json::to_value(q).unwrap_or(Value::Null);
            if let Some(Value::Object(versions)) = value
                .get_mut("provenance")
                .and_then(|p| p.get_mut("versions"))
            {
                versions.sort_keys();
            }
            value
        })
        .collect();
    write_json_atomic(&path, &records).map_err(|source| ProceduralError::Write {
        dataset: dataset.clone(),
        path: path.clone(),
        source,
    })?;
    let report_path = layout.report_file(Source::Procedural, dataset);
    write_json_atomic(&report_path, &generated.report).map_err(|source| ProceduralError::Write {
        dataset: dataset.clone(),
        path: report_path.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_follows_the_operator_count() {
        assert_eq!(difficulty(3), Difficulty::Easy);
        assert_eq!(difficulty(4), Difficulty::Medium);
        assert_eq!(difficulty(5), Difficulty::Medium);
        assert_eq!(difficulty(6), Difficulty::Hard);
        assert_eq!(difficulty(9), Difficulty::Hard);
        assert_eq!(difficulty(10), Difficulty::VeryHard);
    }
}
