//! Bound programs: binding enumeration over the pools (SPEC 6.7), the hand-written long chains
//! (SPEC 6.8), program names, pre-execution filters and the seeded execution sample.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ops::{Op, Var};
use super::pools::Pools;
use super::search::validate;
use crate::verify::sha256_hex;

/// One operator of a bound program; binding operators carry their column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The operator.
    pub op: Op,
    /// The bound column, for `bind_*` operators.
    pub column: Option<String>,
}

/// Where a program came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramFamily {
    /// A cascading-filter long chain (SPEC 6.8).
    Cascading,
    /// An evidence-then-test long chain (SPEC 6.8).
    EvidenceDecision,
    /// A chain of the typed grammar (SPEC 6.4), with its index among the valid chains.
    Grammar(usize),
}

/// A chain with every binding filled: what compiles to one reference program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Program {
    /// `program_<chain index>_<key>_<col>...`, `cascading_<a>_<b>_<cat>` or
    /// `evidence_decision_<value>_<group>`.
    pub name: String,
    /// Where the chain came from.
    pub family: ProgramFamily,
    /// The operators in chain order, with bound columns.
    pub steps: Vec<Step>,
}

impl Program {
    /// The operator names in chain order (`program_ops`).
    pub fn op_names(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.op.name().to_owned()).collect()
    }

    /// The operators in chain order.
    pub fn ops(&self) -> Vec<Op> {
        self.steps.iter().map(|s| s.op).collect()
    }

    /// The last operator (the one that writes `answer`).
    pub fn terminal(&self) -> Op {
        self.steps.last().map_or(Op::Mean, |s| s.op)
    }

    /// Every bound column, in chain order.
    pub fn bound_columns(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter_map(|s| s.column.as_deref())
            .collect()
    }
}

/// A column name as it appears in a program name: spaces and `-` become `_`, cut to 20
/// characters (SPEC 6.7).
pub fn name_part(column: &str) -> String {
    column
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .take(20)
        .collect()
}

/// Every binding of a grammar chain (SPEC 6.7): binding keys sorted by name, each drawn from its
/// pool, as a cartesian product in key order; tuples that repeat a column are dropped, and
/// ordered pairs `(a, b)` and `(b, a)` both stay.
pub fn bind_chain(index: usize, chain: &[Op], pools: &Pools) -> Vec<Program> {
    let mut keys: Vec<Var> = chain.iter().filter_map(|op| op.spec().binding).collect();
    keys.sort_by_key(|k| k.name());
    keys.dedup();
    let mut tuples: Vec<Vec<&str>> = vec![Vec::new()];
    for &key in &keys {
        let mut next = Vec::new();
        for tuple in &tuples {
            for column in pools.for_key(key) {
                if !tuple.contains(&column.as_str()) {
                    let mut t = tuple.clone();
                    t.push(column.as_str());
                    next.push(t);
                }
            }
        }
        tuples = next;
    }
    tuples
        .into_iter()
        .map(|tuple| {
            let mut name = format!("program_{index}");
            for (key, column) in keys.iter().zip(&tuple) {
                name.push_str(&format!("_{}_{}", key.name(), name_part(column)));
            }
            let steps = chain
                .iter()
                .map(|&op| Step {
                    op,
                    column: op.spec().binding.and_then(|key| {
                        keys.iter()
                            .position(|k| *k == key)
                            .map(|i| tuple[i].to_owned())
                    }),
                })
                .collect();
            Program {
                name,
                family: ProgramFamily::Grammar(index),
                steps,
            }
        })
        .collect()
}

fn step(op: Op) -> Step {
    Step { op, column: None }
}

fn bound(op: Op, column: &str) -> Step {
    Step {
        op,
        column: Some(column.to_owned()),
    }
}

/// The cascading-filter chains (SPEC 6.8, 9 operators): for every num-pool pair `a < b` and
/// each of the first 2 binary-pool columns `cat`: keep rows with `a > 0`, then `b > 0`, count
/// the rows per `cat` label and report the largest group.
pub fn cascading_chains(pools: &Pools) -> Vec<Program> {
    let mut out = Vec::new();
    for (i, a) in pools.num.iter().enumerate() {
        for b in &pools.num[i + 1..] {
            for cat in pools.binary.iter().take(2) {
                out.push(Program {
                    name: format!(
                        "cascading_{}_{}_{}",
                        name_part(a),
                        name_part(b),
                        name_part(cat)
                    ),
                    family: ProgramFamily::Cascading,
                    steps: vec![
                        step(Op::SelectNumericCols),
                        bound(Op::BindNumericCol, a),
                        step(Op::FilterByThreshold),
                        bound(Op::BindNumericCol, b),
                        step(Op::FilterByThreshold),
                        step(Op::SelectCategoricalCols),
                        bound(Op::BindBinaryCatCol, cat),
                        step(Op::GroupbyCount),
                        step(Op::ArgmaxGroupCount),
                    ],
                });
            }
        }
    }
    out
}

/// The evidence-then-test chains (SPEC 6.8, 9 operators): for each of the first 2 num-pool
/// columns `value` and the first 2 binary-pool columns `group`: Shapiro-Wilk normality of
/// `value`, Levene equal variances across the two `group` groups, then Student's t-test when
/// both p-values exceed 0.05, else Mann-Whitney U. Submits once: `{test, stat, p_value}`.
pub fn evidence_chains(pools: &Pools) -> Vec<Program> {
    let mut out = Vec::new();
    for value in pools.num.iter().take(2) {
        for group in pools.binary.iter().take(2) {
            out.push(Program {
                name: format!(
                    "evidence_decision_{}_{}",
                    name_part(value),
                    name_part(group)
                ),
                family: ProgramFamily::EvidenceDecision,
                steps: vec![
                    step(Op::SelectNumericCols),
                    bound(Op::BindNumericCol, value),
                    step(Op::SelectCategoricalCols),
                    bound(Op::BindBinaryCatCol, group),
                    step(Op::GroupbyValues),
                    step(Op::ShapiroP),
                    step(Op::LeveneP),
                    step(Op::ChooseTest),
                    step(Op::TtestInd),
                ],
            });
        }
    }
    out
}

/// Why a bound program is dropped before execution (counted in the report).
pub fn pre_execution_rejection(program: &Program, pools: &Pools) -> Option<&'static str> {
    if validate(&program.ops()).is_err() {
        return Some("ill_formed");
    }
    if program
        .bound_columns()
        .iter()
        .any(|c| pools.unique_count(c) < 2)
    {
        return Some("constant_column");
    }
    let terminal = program.terminal();
    let needs_rows = matches!(
        terminal,
        Op::Mean
            | Op::Median
            | Op::Std
            | Op::Variance
            | Op::MeanSeries
            | Op::MedianSeries
            | Op::StdSeries
            | Op::MaxSeries
            | Op::MinSeries
    );
    if needs_rows && pools.rows < 30 {
        return Some("too_few_rows");
    }
    if matches!(terminal, Op::MeanSeries | Op::StdSeries) && program.ops().contains(&Op::Zscore) {
        return Some("constant_by_construction");
    }
    None
}

/// The seeded sort key of a program: SHA-256 over `<seed>:<name>`. Sorting by it is a
/// deterministic shuffle that depends only on the seed and the program name.
pub fn seeded_key(seed: u64, name: &str) -> String {
    sha256_hex(format!("{seed}:{name}").as_bytes())
}

/// Orders program groups in coverage waves: each next group is the one whose operators add the
/// most not yet covered in the current wave (ties: more operators, then the seeded key); when no
/// group adds anything the wave ends and coverage starts afresh. Every prefix of the order thus
/// spreads over many operators.
fn coverage_waves(groups: Vec<(String, Vec<Op>, Vec<Program>)>) -> Vec<Vec<Program>> {
    let mut remaining = groups;
    let mut ordered = Vec::with_capacity(remaining.len());
    let mut covered: std::collections::BTreeSet<Op> = std::collections::BTreeSet::new();
    while !remaining.is_empty() {
        let gain = |ops: &[Op], covered: &std::collections::BTreeSet<Op>| {
            ops.iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|op| !covered.contains(op))
                .count()
        };
        let best = remaining
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| {
                gain(&a.1, &covered)
                    .cmp(&gain(&b.1, &covered))
                    .then(a.1.len().cmp(&b.1.len()))
                    .then(b.0.cmp(&a.0))
            })
            .map(|(i, _)| i)
            .unwrap_or(0);
        if gain(&remaining[best].1, &covered) == 0 && !covered.is_empty() {
            covered.clear();
            continue;
        }
        let (_, ops, programs) = remaining.swap_remove(best);
        covered.extend(ops);
        ordered.push(programs);
    }
    ordered
}

/// Chooses which programs to execute. Programs are grouped by chain structure (all cascading
/// chains, all evidence chains, one group per grammar chain); groups are ordered in coverage
/// waves (the next group adds the most operators not yet covered in the wave), each group's programs are shuffled by [`seeded_key`], and groups are visited
/// round-robin, one program per group per round, until `budget` programs are chosen. So every
/// chain structure is tried before any is tried twice, and a small budget still spans the
/// catalogue. Returns the chosen programs in execution order and how many were left out.
pub fn sample(programs: Vec<Program>, seed: u64, budget: usize) -> (Vec<Program>, usize) {
    let total = programs.len();
    let mut groups: BTreeMap<ProgramFamily, Vec<(String, Program)>> = BTreeMap::new();
    for program in programs {
        let key = seeded_key(seed, &program.name);
        groups
            .entry(program.family)
            .or_default()
            .push((key, program));
    }
    let groups: Vec<(String, Vec<Op>, Vec<Program>)> = groups
        .into_values()
        .map(|mut g| {
            g.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
            let ops = g.first().map(|(_, p)| p.ops()).unwrap_or_default();
            let key = g.first().map(|(k, _)| k.clone()).unwrap_or_default();
            (key, ops, g.into_iter().map(|(_, p)| p).collect())
        })
        .collect();
    let mut queues: Vec<std::vec::IntoIter<Program>> = coverage_waves(groups)
        .into_iter()
        .map(Vec::into_iter)
        .collect();
    let mut chosen = Vec::with_capacity(budget.min(total));
    'rounds: loop {
        let mut progressed = false;
        for queue in &mut queues {
            if chosen.len() >= budget {
                break 'rounds;
            }
            if let Some(program) = queue.next() {
                chosen.push(program);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    let left_out = total - chosen.len();
    (chosen, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools() -> Pools {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        Pools {
            num: s(&["age", "blood pressure", "x-ray"]),
            cat: s(&["region", "sex", "smoker"]),
            binary: s(&["sex", "smoker"]),
            id_like: vec![],
            rows: 100,
            unique_counts: [
                ("age", 40),
                ("blood pressure", 30),
                ("x-ray", 1),
                ("sex", 2),
                ("smoker", 2),
                ("region", 4),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }
    }

    #[test]
    fn bindings_are_sorted_by_key_and_never_repeat_a_column() {
        let chain = [
            Op::SelectNumericCols,
            Op::BindNumCol1,
            Op::BindNumCol2,
            Op::Correlation,
        ];
        let programs = bind_chain(7, &chain, &pools());
        assert_eq!(programs.len(), 6, "3 x 3 ordered pairs minus 3 repeats");
        assert_eq!(
            programs[0].name,
            "program_7_num_col_1_age_num_col_2_blood_pressure"
        );
        assert_eq!(programs[0].bound_columns(), ["age", "blood pressure"]);
        assert!(
            programs
                .iter()
                .any(|p| p.bound_columns() == ["blood pressure", "age"])
        );
        assert!(
            programs
                .iter()
                .all(|p| p.bound_columns()[0] != p.bound_columns()[1])
        );
    }

    #[test]
    fn long_chains_have_nine_operators_and_valid_structure() {
        let p = pools();
        let cascading = cascading_chains(&p);
        assert_eq!(cascading.len(), 3 * 2, "3 pairs x 2 binary columns");
        assert_eq!(cascading[0].name, "cascading_age_blood_pressure_sex");
        let evidence = evidence_chains(&p);
        assert_eq!(evidence.len(), 4);
        assert_eq!(evidence[0].name, "evidence_decision_age_sex");
        for program in cascading.iter().chain(&evidence) {
            assert_eq!(program.steps.len(), 9);
            assert_eq!(validate(&program.ops()), Ok(()), "{}", program.name);
        }
    }

    #[test]
    fn constant_columns_and_constant_answers_are_dropped_before_execution() {
        let p = pools();
        let chain = [Op::SelectNumericCols, Op::BindNumericCol, Op::Mean];
        let programs = bind_chain(0, &chain, &p);
        let reasons: Vec<_> = programs
            .iter()
            .map(|q| pre_execution_rejection(q, &p))
            .collect();
        assert_eq!(reasons, [None, None, Some("constant_column")]);
        let zscore = bind_chain(
            1,
            &[
                Op::SelectNumericCols,
                Op::BindNumericCol,
                Op::Zscore,
                Op::StdSeries,
            ],
            &p,
        );
        assert_eq!(
            pre_execution_rejection(&zscore[0], &p),
            Some("constant_by_construction")
        );
    }

    #[test]
    fn sampling_is_seeded_and_visits_every_chain_first() {
        let p = pools();
        let mut programs = cascading_chains(&p);
        programs.extend(bind_chain(
            0,
            &[
                Op::SelectNumericCols,
                Op::BindNumCol1,
                Op::BindNumCol2,
                Op::Ratio,
            ],
            &p,
        ));
        programs.extend(bind_chain(
            1,
            &[Op::SelectNumericCols, Op::BindNumericCol, Op::Median],
            &p,
        ));
        let (a, left_a) = sample(programs.clone(), 42, 3);
        let (b, _) = sample(programs.clone(), 42, 3);
        assert_eq!(a, b);
        assert_eq!(left_a, programs.len() - 3);
        let families: Vec<_> = a.iter().map(|p| p.family).collect();
        // The cascading chain covers the most operators, then the ratio chain adds
        // bind_num_col_1, bind_num_col_2 and ratio, then the median chain adds median.
        assert_eq!(
            families,
            [
                ProgramFamily::Cascading,
                ProgramFamily::Grammar(0),
                ProgramFamily::Grammar(1)
            ]
        );
        let (small, _) = sample(programs.clone(), 42, 2);
        assert_eq!(small.len(), 2);
        assert_ne!(
            small[0].family, small[1].family,
            "a small budget spans two structures"
        );
        let (other_seed, _) = sample(programs.clone(), 7, programs.len());
        let (same_seed, _) = sample(programs.clone(), 42, programs.len());
        assert_eq!(other_seed.len(), programs.len());
        assert_ne!(
            other_seed.iter().map(|p| &p.name).collect::<Vec<_>>(),
            same_seed.iter().map(|p| &p.name).collect::<Vec<_>>(),
            "another seed gives another order"
        );
    }
}
