//! Planning, assembly and writing of one dataset's procedural questions.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use serde_json::Value;

use super::compile::compile;
use super::ops::Op;
use super::pools::Pools;
use super::program::{
    Program, bind_chain, cascading_chains, evidence_chains, pre_execution_rejection, sample,
};
use super::report::{ChainCounts, PoolSizes, ProceduralReport};
use super::search::{SearchStats, enumerate_chains};
use super::select::{
    ProgramOutcome, Survivor, cap_by_coverage, check_outcome, drop_near_duplicates,
};
use super::wording::{mechanical_wording, output_schema};
use super::{ProceduralConfig, ProceduralError};
use crate::dataset::{Dataset, Profile, profile_with_cache, viability};
use crate::events::{Event, EventSink, Stage, StageKind};
use crate::question::procedural_fingerprint;
use crate::record::{DataLayout, write_json_atomic, write_questions};
use crate::sandbox::{DatasetLease, ExecMode, SandboxError, SandboxPool};
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
    format!(
        "prog_{dataset}_{program_name}_{}",
        &fingerprint[..8.min(fingerprint.len())]
    )
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
            .and_then(|o| check_outcome(&candidate.program.ops(), o));
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
    report.reject(
        "not_executed",
        plan.candidates.len().saturating_sub(outcomes.len()) as u64,
    );
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

/// Runs one reference program on a fresh worker of the lease (pristine `df`, empty namespace)
/// and drops the worker, so nothing the program did survives it.
async fn run_program(
    lease: &DatasetLease,
    code: &str,
    timeout: std::time::Duration,
) -> Result<ProgramOutcome, SandboxError> {
    let worker = lease.worker().await?;
    let response = worker.exec(code, ExecMode::Reference, timeout).await?;
    drop(worker);
    Ok(ProgramOutcome {
        status: response.status,
        submissions: response.submissions.into_iter().map(|s| s.answer).collect(),
        exception: response.exception.map(|e| (e.type_, e.message)),
    })
}

/// Generates one dataset's procedural questions: [`plan`] from the profile, every planned
/// program executed in reference mode on its own fresh worker of `lease` (up to
/// `config.concurrency` at once; results are kept in plan order, so the output does not depend
/// on timing), then [`assemble`].
///
/// `profile` must be the profile of the data `lease` has loaded (normally `lease.profile()`);
/// `provenance` is the pool's (`SandboxPool::provenance`) and is copied into every record.
/// Emits one [`Event::QuestionFinished`] per executed program (`accepted` = it passed the
/// output filter; `detail` = the drop reason), in plan order.
///
/// # Errors
/// - [`ProceduralError::Config`]: `config` is invalid;
/// - [`ProceduralError::NotViable`]: the dataset fails SPEC 5.2 viability;
/// - [`ProceduralError::Sandbox`]: the sandbox failed at the protocol level (a dead container,
///   a host guard timeout); a program's own exception, timeout or crash is not an error but a
///   counted drop reason.
///
/// Cancelling the future drops the in-flight worker leases; each worker is reset before reuse
/// and the dataset lease stays valid.
#[tracing::instrument(skip_all, fields(dataset = %dataset.name))]
pub async fn generate(
    dataset: &Dataset,
    profile: &Profile,
    lease: &DatasetLease,
    provenance: Option<&Provenance>,
    config: &ProceduralConfig,
    events: &EventSink,
) -> Result<Generated, ProceduralError> {
    config.validate()?;
    viability(profile).map_err(|reason| ProceduralError::NotViable {
        dataset: dataset.name.clone(),
        reason,
    })?;
    let started = Instant::now();
    let plan = plan(profile, config);
    tracing::debug!(programs = plan.candidates.len(), "procedural plan ready");
    let executing = Instant::now();
    let timeout = config.reference_timeout;
    let mut runs = futures::stream::iter(plan.candidates.iter().map(|candidate| async move {
        (
            candidate,
            run_program(lease, &candidate.code, timeout).await,
        )
    }))
    .buffered(config.concurrency);
    let mut outcomes = Vec::with_capacity(plan.candidates.len());
    while let Some((candidate, result)) = runs.next().await {
        let outcome = result.map_err(|source| ProceduralError::Sandbox {
            dataset: dataset.name.clone(),
            program: candidate.program.name.clone(),
            source: Box::new(source),
        })?;
        let verdict = check_outcome(&candidate.program.ops(), &outcome);
        events
            .emit(Event::QuestionFinished {
                source: Source::Procedural,
                dataset: dataset.name.clone(),
                name: candidate.program.name.clone(),
                accepted: verdict.is_ok(),
                detail: verdict.err(),
            })
            .await;
        outcomes.push(Ok(outcome));
    }
    drop(runs);
    let execute_ms = executing.elapsed().as_millis() as u64;
    let mut generated = assemble(dataset, &plan, &outcomes, provenance, config);
    generated.report.execute_ms = execute_ms;
    generated.report.total_ms = started.elapsed().as_millis() as u64;
    Ok(generated)
}

/// Writes one dataset's outputs under `layout`: `questions/procedural/<dataset>/questions.json`
/// (a JSON array, 2-space indent, trailing newline, written atomically, replacing any earlier
/// file without merging) and `report.json` beside it (pretty JSON, atomic).
///
/// # Errors
/// [`ProceduralError::Write`]; its cause names the file.
pub fn write_outputs(layout: &DataLayout, generated: &Generated) -> Result<(), ProceduralError> {
    let dataset = &generated.report.dataset;
    let path = layout.questions_file(Source::Procedural, dataset);
    let wrap = |source| ProceduralError::Write {
        dataset: dataset.clone(),
        source: Box::new(source),
    };
    write_questions(&path, &generated.questions).map_err(wrap)?;
    write_json_atomic(
        &layout.report_file(Source::Procedural, dataset),
        &generated.report,
    )
    .map_err(wrap)
}

/// What [`run_dataset`] did with one dataset.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DatasetRun {
    /// Questions were generated and the outputs written.
    Generated(Box<Generated>),
    /// The dataset is not viable for generated questions (SPEC 5.2); nothing was written.
    Skipped {
        /// Dataset name.
        dataset: String,
        /// `too few rows (n)`, `too few columns (n)`, `no eligible columns after filtering
        /// ids/degenerate fields` or `all columns are >=95% missing`.
        reason: String,
    },
}

/// Generates and writes the procedural questions of one catalogued dataset (what
/// `csvagent generate questions --procedural` does per dataset): starts `pool` if needed
/// (idempotent), loads the dataset into a container (`Dataset::load_spec`), profiles it there
/// (through the profile cache under `layout`), checks viability, then [`generate`] and
/// [`write_outputs`].
///
/// Sends `DatasetStarted` / `DatasetFinished` (or `DatasetSkipped`) for the procedural-questions
/// stage and `QuestionFinished` per executed program. Datasets can run concurrently: each holds
/// one container of the pool while it runs.
///
/// # Errors
/// [`ProceduralError::Config`] for an invalid `config`; [`ProceduralError::Sandbox`] when the
/// pool cannot start or the dataset cannot be loaded, profiled or run; [`ProceduralError::Write`]
/// when an output cannot be written. A non-viable dataset is [`DatasetRun::Skipped`], not an
/// error.
///
/// Cancelling the future releases the container and the worker leases in flight; nothing is
/// written unless generation finished.
#[tracing::instrument(skip_all, fields(dataset = %dataset.name))]
pub async fn run_dataset(
    pool: &SandboxPool,
    dataset: &Dataset,
    layout: &DataLayout,
    config: &ProceduralConfig,
    events: &EventSink,
) -> Result<DatasetRun, ProceduralError> {
    let fail = |step: &str| {
        let dataset = dataset.name.clone();
        let program = format!("<{step}>");
        move |source| ProceduralError::Sandbox {
            dataset,
            program,
            source: Box::new(source),
        }
    };
    config.validate()?;
    pool.start().await.map_err(fail("start"))?;
    let lease = pool
        .acquire(&dataset.load_spec())
        .await
        .map_err(fail("load"))?;
    let provenance = pool.provenance();
    let image_tag = provenance
        .as_ref()
        .map(|p| p.image_tag.clone())
        .unwrap_or_default();
    let profile = profile_with_cache(layout, dataset, &lease, &image_tag)
        .await
        .map_err(fail("profile"))?;
    let stage = Stage {
        kind: StageKind::Questions,
        source: Source::Procedural,
    };
    if let Err(reason) = viability(&profile) {
        events
            .emit(Event::DatasetSkipped {
                stage,
                dataset: dataset.name.clone(),
                reason: reason.clone(),
            })
            .await;
        return Ok(DatasetRun::Skipped {
            dataset: dataset.name.clone(),
            reason,
        });
    }
    events
        .emit(Event::DatasetStarted {
            stage,
            dataset: dataset.name.clone(),
            total: Some(config.max_executed as u64),
        })
        .await;
    let generated = generate(
        dataset,
        &profile,
        &lease,
        provenance.as_ref(),
        config,
        events,
    )
    .await?;
    drop(lease);
    write_outputs(layout, &generated)?;
    events
        .emit(Event::DatasetFinished {
            stage,
            dataset: dataset.name.clone(),
            written: generated.questions.len() as u64,
            rejected: generated
                .report
                .executed
                .saturating_sub(generated.report.questions),
        })
        .await;
    Ok(DatasetRun::Generated(Box::new(generated)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::question::procedural::program::{ProgramFamily, Step};
    use crate::schema::ExecStatus;
    use serde_json::json;

    fn dataset() -> Dataset {
        Dataset {
            name: "toy".into(),
            dir: ".".into(),
            csv_path: "toy.csv".into(),
            meta: Default::default(),
            dataset_hash: "ab".repeat(32),
            dialect: crate::dataset::Dialect {
                encoding: "utf-8".into(),
                delimiter: ',',
                decimal: '.',
            },
            description: "A toy table.".into(),
            size_bytes: 10,
        }
    }

    fn toy_plan() -> Plan {
        let pools = Pools {
            num: vec!["age".into(), "bmi".into()],
            cat: vec![],
            binary: vec![],
            id_like: vec![],
            rows: 100,
            unique_counts: BTreeMap::new(),
        };
        let program = |name: &str, column: &str, op: Op| Program {
            name: name.into(),
            family: ProgramFamily::Grammar(0),
            steps: vec![
                Step {
                    op: Op::SelectNumericCols,
                    column: None,
                },
                Step {
                    op: Op::BindNumericCol,
                    column: Some(column.into()),
                },
                Step { op, column: None },
            ],
        };
        let candidates = [
            program("program_0_selected_col_age", "age", Op::Mean),
            program("program_0_selected_col_bmi", "bmi", Op::Mean),
            program("program_1_selected_col_age", "age", Op::Variance),
        ]
        .into_iter()
        .map(|p| Candidate {
            code: compile(&p, &pools, 42),
            question_mechanical: mechanical_wording(&p, &pools, 42),
            output_schema: output_schema(&p),
            program: p,
        })
        .collect();
        Plan {
            pools,
            seed: 42,
            search: SearchStats::default(),
            chains: ChainCounts::default(),
            bound_programs: 3,
            rejected: BTreeMap::new(),
            candidates,
            elapsed_ms: 0,
        }
    }

    fn ok(answer: Value) -> Result<ProgramOutcome, String> {
        Ok(ProgramOutcome {
            status: ExecStatus::Ok,
            submissions: vec![answer],
            exception: None,
        })
    }

    fn provenance() -> Provenance {
        Provenance {
            csvagent_version: "0.1.0".into(),
            image_tag: "csvagent-sandbox:0.1.0-abcdef12".into(),
            versions: [
                "python",
                "pandas",
                "numpy",
                "scipy",
                "statsmodels",
                "sklearn",
            ]
            .into_iter()
            .map(|k| (k.to_owned(), "1.0".to_owned()))
            .collect(),
        }
    }

    #[test]
    fn kept_programs_become_complete_procedural_records() {
        let plan = toy_plan();
        let outcomes = [
            ok(json!({"column": "age", "mean": 39.207})),
            Err("timeout".to_owned()),
            ok(json!({"column": "age", "variance": 197.401})),
        ];
        let generated = assemble(
            &dataset(),
            &plan,
            &outcomes,
            Some(&provenance()),
            &ProceduralConfig::default(),
        );
        assert_eq!(generated.questions.len(), 2);
        assert_eq!(generated.report.rejected.get("timeout"), Some(&1));
        assert_eq!(
            generated.report.bound_programs,
            generated.report.questions + generated.report.rejected.values().sum::<u64>()
        );
        let q = generated
            .questions
            .iter()
            .find(|q| q.program_ops.as_ref().is_some_and(|o| o[2] == "mean"))
            .expect("the mean question");
        let fingerprint = q.fingerprint.clone().expect("fingerprint");
        assert_eq!(
            q.id,
            format!("prog_toy_program_0_selected_col_age_{}", &fingerprint[..8])
        );
        assert_eq!(q.source, Source::Procedural);
        assert_eq!(q.question_text, None);
        assert_eq!(q.hint.as_deref(), Some(""));
        assert_eq!(q.n_steps, Some(3));
        assert_eq!(q.difficulty, Some(Difficulty::Easy));
        assert_eq!(
            q.ground_truth_hashes,
            Some(vec![answer_hash(&json!({"column": "age", "mean": 39.207}))])
        );
        assert_eq!(q.accepted_answers, Some(vec![q.ground_truth.clone()]));
        assert_eq!(
            q.output_schema.as_deref(),
            Some(r#"{"column": "<name>", "mean": 0.0}"#)
        );
        assert_eq!(q.dataset_description.as_deref(), Some("A toy table."));
        assert_eq!(
            q.program_name.as_deref(),
            Some("program_0_selected_col_age")
        );
        let errors =
            crate::record::validate_question(&serde_json::to_value(q).expect("serialises"));
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn written_questions_are_byte_identical_across_writes() {
        let plan = toy_plan();
        let outcomes = [
            ok(json!({"column": "age", "mean": 39.207})),
            ok(json!({"column": "bmi", "mean": 30.663})),
            ok(json!({"column": "age", "variance": 197.401})),
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = DataLayout::new(dir.path());
        let mut texts = Vec::new();
        for _ in 0..4 {
            let generated = assemble(
                &dataset(),
                &plan,
                &outcomes,
                Some(&provenance()),
                &ProceduralConfig::default(),
            );
            write_outputs(&layout, &generated).expect("written");
            let path = layout.questions_file(Source::Procedural, "toy");
            texts.push(std::fs::read_to_string(&path).expect("readable"));
            let loaded = crate::record::load_questions(&path).expect("passes the contract");
            assert_eq!(loaded, generated.questions);
        }
        assert!(texts.windows(2).all(|w| w[0] == w[1]));
        assert!(
            dir.path()
                .join("questions/procedural/toy/report.json")
                .is_file()
        );
    }

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
