//! Typed breadth-first enumeration (SPEC 6.4), reduction (6.5) and well-formedness and
//! dead-code validation (6.6).
//!
//! Enumeration composes operators by type into raw chains; every recorded candidate is reduced
//! (backward slice from `answer`/`chosen_test`, length >= 3, canonical topological order) and
//! de-duplicated, and the unique reduced chains are validated. Nothing is repaired: an invalid
//! chain is rejected with a counted reason.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use indexmap::IndexSet;
use serde::{Deserialize, Serialize};

use super::ops::{Op, OpAttr, TypeCounts, ValueType, Var, VarSet};
use super::pools::Pools;

/// Limits of the breadth-first enumeration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLimits {
    /// Stop after this many dequeues. By default 10,000 (SPEC 6.4).
    pub max_dequeues: usize,
    /// Never extend a chain beyond this many operators. By default 15.
    pub max_chain_len: usize,
}

impl Default for SearchLimits {
    fn default() -> Self {
        SearchLimits {
            max_dequeues: 10_000,
            max_chain_len: 15,
        }
    }
}

/// Counts from one enumeration: what was tried, what reduction kept, why chains were rejected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchStats {
    /// Queue entries taken.
    pub dequeues: u64,
    /// Extensions recorded as candidates (>= 1 selector, >= 1 analysis, decisions after
    /// evidence).
    pub candidates: u64,
    /// Candidates shorter than 3 operators after the backward slice.
    pub too_short: u64,
    /// Candidates whose reduced chain was already seen.
    pub duplicates: u64,
    /// Unique reduced chains.
    pub unique: u64,
    /// Unique reduced chains rejected, by reason (`ill_formed`, `dead_code`,
    /// `redundant_repeat`, `sort_without_top_n`).
    pub rejected: BTreeMap<String, u64>,
    /// Unique reduced chains that passed validation.
    pub valid: u64,
}

/// Why a chain was rejected by validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainRejection {
    /// An operator's input type is not available at its position.
    MissingInput {
        /// The operator.
        op: Op,
        /// The missing type.
        ty: ValueType,
    },
    /// An operator reads a variable no earlier operator wrote.
    UnboundRead {
        /// The operator.
        op: Op,
        /// The unbound variable.
        var: Var,
    },
    /// A produced name other than `answer` is never consumed by a later operator.
    DeadCode {
        /// The producing operator.
        op: Op,
        /// The unused name.
        var: Var,
    },
    /// The chain does not end in exactly one answer writer.
    NoAnswer,
    /// An operator repeats an identical earlier one whose inputs did not change since (the
    /// repeat cannot change any value).
    RedundantRepeat {
        /// The repeated operator.
        op: Op,
    },
    /// `sort_by_column` without a later `top_n`: sorting cannot change an order-insensitive
    /// statistic.
    SortWithoutTopN,
}

impl ChainRejection {
    /// The counted reason key: `ill_formed`, `dead_code`, `redundant_repeat` or
    /// `sort_without_top_n`.
    pub fn reason(&self) -> &'static str {
        match self {
            ChainRejection::MissingInput { .. }
            | ChainRejection::UnboundRead { .. }
            | ChainRejection::NoAnswer => "ill_formed",
            ChainRejection::DeadCode { .. } => "dead_code",
            ChainRejection::RedundantRepeat { .. } => "redundant_repeat",
            ChainRejection::SortWithoutTopN => "sort_without_top_n",
        }
    }
}

impl fmt::Display for ChainRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainRejection::MissingInput { op, ty } => {
                write!(f, "ill_formed: `{op}` needs a {ty:?} that is not available")
            }
            ChainRejection::UnboundRead { op, var } => {
                write!(f, "ill_formed: `{op}` reads unbound `{}`", var.name())
            }
            ChainRejection::DeadCode { op, var } => {
                write!(
                    f,
                    "dead_code: `{}` produced by `{op}` is never consumed",
                    var.name()
                )
            }
            ChainRejection::NoAnswer => write!(f, "ill_formed: no operator writes `answer`"),
            ChainRejection::RedundantRepeat { op } => {
                write!(f, "redundant_repeat: `{op}` repeats with unchanged inputs")
            }
            ChainRejection::SortWithoutTopN => {
                write!(f, "sort_without_top_n: sorting does not change the answer")
            }
        }
    }
}

struct Node {
    chain: Vec<Op>,
    types: TypeCounts,
    written: VarSet,
    has_selector: bool,
    has_analysis: bool,
    evidence_seen: bool,
    decision_before_evidence: bool,
}

impl Node {
    fn extend(&self, op: Op) -> Node {
        let attr = op.spec().attr;
        let mut chain = Vec::with_capacity(self.chain.len() + 1);
        chain.extend_from_slice(&self.chain);
        chain.push(op);
        Node {
            chain,
            types: self.types.apply(op),
            written: self.written.union(VarSet::of(op.spec().writes)),
            has_selector: self.has_selector || attr == OpAttr::Selector,
            has_analysis: self.has_analysis || attr == OpAttr::Analysis,
            evidence_seen: self.evidence_seen || attr == OpAttr::Evidence,
            decision_before_evidence: self.decision_before_evidence
                || (attr == OpAttr::Decision && !self.evidence_seen),
        }
    }

    fn is_candidate(&self) -> bool {
        self.has_selector && self.has_analysis && !self.decision_before_evidence
    }
}

/// Enumerates grammar chains for a dataset's pools: breadth-first over [`Op::ALL`] in catalogue
/// order, recording candidates, reducing and de-duplicating them, then validating the unique
/// chains. Returns the valid chains in first-appearance order (their index names them:
/// `program_<index>`) and the counts.
///
/// An extension needs the operator's input types, its dataset precondition (pool sizes) and,
/// evaluated on the resulting binding state, every variable it reads already written (so
/// `argmax_group` needs `group_means`, `min` needs `num_col_1`). Without that binding check the
/// 10,000 dequeues are spent on chains that can never be well-formed and no chain of 6
/// operators (groupby statistic + argmax, groupby values + t-test) is ever reached; with it the
/// shared datasets give about 117k-144k candidates and 337-393 valid chains of 3-6 operators.
///
/// Deterministic: the queue is FIFO, operators are tried in catalogue order, and de-duplication
/// keeps insertion order.
pub fn enumerate_chains(pools: &Pools, limits: SearchLimits) -> (Vec<Vec<Op>>, SearchStats) {
    let mut stats = SearchStats::default();
    let mut unique: IndexSet<Vec<Op>> = IndexSet::new();
    let mut queue = VecDeque::new();
    queue.push_back(Node {
        chain: Vec::new(),
        types: TypeCounts::start(),
        written: VarSet::of(&[Var::Df]),
        has_selector: false,
        has_analysis: false,
        evidence_seen: false,
        decision_before_evidence: false,
    });
    let applicable: Vec<Op> = Op::ALL
        .into_iter()
        .filter(|op| pools.satisfies(op.spec().precondition))
        .collect();
    while stats.dequeues < limits.max_dequeues as u64 {
        let Some(node) = queue.pop_front() else { break };
        stats.dequeues += 1;
        for &op in &applicable {
            if !node.types.admits(op) || !VarSet::of(op.spec().reads).is_subset(node.written) {
                continue;
            }
            let next = node.extend(op);
            if next.is_candidate() {
                stats.candidates += 1;
                match reduce(&next.chain) {
                    None => stats.too_short += 1,
                    Some(reduced) => {
                        if !unique.insert(reduced) {
                            stats.duplicates += 1;
                        }
                    }
                }
            }
            if next.chain.len() < limits.max_chain_len {
                queue.push_back(next);
            }
        }
    }
    stats.unique = unique.len() as u64;
    let mut valid = Vec::new();
    for chain in unique {
        match validate(&chain).and_then(|()| check_redundancy(&chain)) {
            Ok(()) => valid.push(chain),
            Err(rejection) => {
                *stats
                    .rejected
                    .entry(rejection.reason().to_owned())
                    .or_default() += 1;
            }
        }
    }
    stats.valid = valid.len() as u64;
    (valid, stats)
}

/// Reduces a raw chain (SPEC 6.5): the backward slice from `{answer, chosen_test}` (an operator
/// is kept iff its writes meet the needed set, which becomes `needed - writes + reads`; operators
/// with no writes always drop), then `None` when fewer than 3 operators remain, else the
/// canonical order.
pub fn reduce(chain: &[Op]) -> Option<Vec<Op>> {
    let sliced = backward_slice(chain);
    if sliced.len() < 3 {
        return None;
    }
    Some(canonicalise(&sliced))
}

fn backward_slice(chain: &[Op]) -> Vec<Op> {
    let mut needed = VarSet::of(&[Var::Answer, Var::ChosenTest]);
    let mut kept = Vec::new();
    for &op in chain.iter().rev() {
        let spec = op.spec();
        let writes = VarSet::of(spec.writes);
        if writes.is_empty() || !writes.meets(needed) {
            continue;
        }
        needed = needed.minus(writes).union(spec.all_reads());
        kept.push(op);
    }
    kept.reverse();
    kept
}

fn conflicts(a: Op, b: Op) -> bool {
    let (sa, sb) = (a.spec(), b.spec());
    let (wa, wb) = (VarSet::of(sa.writes), VarSet::of(sb.writes));
    wa.meets(sb.all_reads().union(wb)) || wb.meets(sa.all_reads())
}

/// The lexicographically smallest topological order of the dependency DAG by
/// `(stage, name, sorted params)`; two operators conflict (keep their relative order) when one's
/// writes meet the other's reads or writes.
fn canonicalise(chain: &[Op]) -> Vec<Op> {
    let n = chain.len();
    let mut preds = vec![0usize; n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 1..n {
            if conflicts(chain[i], chain[j]) {
                preds[j] += 1;
                succs[i].push(j);
            }
        }
    }
    let mut done = vec![false; n];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let next = (0..n)
            .filter(|&i| !done[i] && preds[i] == 0)
            .min_by(|&a, &b| {
                chain[a]
                    .spec()
                    .canonical_key()
                    .cmp(&chain[b].spec().canonical_key())
                    .then(a.cmp(&b))
            });
        let Some(i) = next else { break };
        done[i] = true;
        out.push(chain[i]);
        for &j in &succs[i] {
            preds[j] -= 1;
        }
    }
    out
}

/// Well-formedness and dead-code validation (SPEC 6.6). Replays the chain from `{Table: 1}`:
/// every operator's input types must be available and every variable it reads must have been
/// written by an earlier operator (`df` exists from the start). Then every produced name other
/// than `answer` must be consumed by a later operator (`df` counts as consumed when any operator
/// follows its last producer), and exactly the last operator writes `answer`.
///
/// # Errors
/// The first [`ChainRejection`] found.
pub fn validate(chain: &[Op]) -> Result<(), ChainRejection> {
    let mut types = TypeCounts::start();
    let mut written = VarSet::of(&[Var::Df]);
    for &op in chain {
        let spec = op.spec();
        if let Some(&ty) = ValueType::ALL.iter().find(|&&ty| {
            usize::from(types.count(ty)) < spec.inputs.iter().filter(|&&t| t == ty).count()
        }) {
            return Err(ChainRejection::MissingInput { op, ty });
        }
        if let Some(&var) = spec.reads.iter().find(|&&v| !written.contains(v)) {
            return Err(ChainRejection::UnboundRead { op, var });
        }
        types = types.apply(op);
        written = written.union(VarSet::of(spec.writes));
    }
    let answer_writers = chain.iter().filter(|op| op.spec().is_terminal()).count();
    if answer_writers != 1 || !chain.last().is_some_and(|op| op.spec().is_terminal()) {
        return Err(ChainRejection::NoAnswer);
    }
    for (i, &op) in chain.iter().enumerate() {
        for &var in op.spec().produces {
            let consumed = match var {
                Var::Answer => true,
                Var::Df => i + 1 < chain.len(),
                _ => chain[i + 1..]
                    .iter()
                    .any(|later| later.spec().consumes.contains(&var)),
            };
            if !consumed {
                return Err(ChainRejection::DeadCode { op, var });
            }
        }
    }
    Ok(())
}

/// Grammar-chain redundancy checks (csvagent additions; every binding key binds one column per
/// program, so a repeated operator with unchanged inputs recomputes the same value):
/// an operator identical to an earlier one with no write to its inputs in between, and a sort
/// with no later `top_n`.
///
/// # Errors
/// [`ChainRejection::RedundantRepeat`] or [`ChainRejection::SortWithoutTopN`].
pub fn check_redundancy(chain: &[Op]) -> Result<(), ChainRejection> {
    for (j, &op) in chain.iter().enumerate() {
        let reads = op.spec().all_reads();
        for i in (0..j).rev() {
            if chain[i] == op {
                return Err(ChainRejection::RedundantRepeat { op });
            }
            if VarSet::of(chain[i].spec().writes).meets(reads) {
                break;
            }
        }
        if op == Op::SortByColumn && !chain[j + 1..].contains(&Op::TopN) {
            return Err(ChainRejection::SortWithoutTopN);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools(num: usize, cat: usize, binary: usize) -> Pools {
        let names =
            |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>();
        let cat_names = names("c", cat);
        Pools {
            num: names("n", num),
            binary: cat_names[..binary.min(cat)].to_vec(),
            cat: cat_names,
            id_like: vec![],
            rows: 1000,
            unique_counts: BTreeMap::new(),
        }
    }

    use Op::*;

    #[test]
    fn backward_slice_keeps_only_what_the_answer_needs() {
        let raw = [SelectNumericCols, BindNumCol1, BindNumericCol, Zscore, Mean];
        assert_eq!(
            reduce(&raw).expect("3 ops remain"),
            [SelectNumericCols, BindNumericCol, Mean]
        );
        // Only the last answer writer survives.
        let raw = [SelectNumericCols, BindNumericCol, Median, Mean];
        assert_eq!(
            reduce(&raw).expect("kept"),
            [SelectNumericCols, BindNumericCol, Mean]
        );
        // A filter into an unused table and derived columns always drop.
        let raw = [
            SelectNumericCols,
            BindNumericCol,
            FilterGreaterThan,
            CumulativeSum,
            Mean,
        ];
        assert_eq!(
            reduce(&raw).expect("kept"),
            [SelectNumericCols, BindNumericCol, Mean]
        );
        assert_eq!(reduce(&[SelectNumericCols, Mean]), None);
    }

    #[test]
    fn canonical_order_moves_independent_selectors_first() {
        let raw = [
            SelectNumericCols,
            BindNumericCol,
            SelectCategoricalCols,
            BindBinaryCatCol,
            GroupbyMean,
            ArgmaxGroup,
        ];
        let shuffled = [
            SelectCategoricalCols,
            SelectNumericCols,
            BindBinaryCatCol,
            BindNumericCol,
            GroupbyMean,
            ArgmaxGroup,
        ];
        assert_eq!(reduce(&raw), reduce(&shuffled));
        assert_eq!(
            reduce(&raw).expect("kept"),
            [
                SelectCategoricalCols,
                BindBinaryCatCol,
                SelectNumericCols,
                BindNumericCol,
                GroupbyMean,
                ArgmaxGroup
            ]
        );
        // A filter keeps its place before the statistic that reads the filtered frame.
        let raw = [SelectNumericCols, BindNumericCol, TopN, Mean];
        assert_eq!(
            reduce(&raw).expect("kept"),
            [SelectNumericCols, BindNumericCol, TopN, Mean]
        );
    }

    #[test]
    fn unbound_reads_and_dead_code_are_rejected_not_repaired() {
        assert_eq!(
            validate(&[SelectNumericCols, BindNumericCol, Min]),
            Err(ChainRejection::UnboundRead {
                op: Min,
                var: Var::NumCol1
            })
        );
        assert_eq!(
            validate(&[SelectNumericCols, BindNumericCol, ShapiroP, Mean]),
            Err(ChainRejection::DeadCode {
                op: ShapiroP,
                var: Var::NormalityP
            })
        );
        assert_eq!(
            validate(&[SelectNumericCols, BindNumericCol, CumulativeSum, Mean]),
            Err(ChainRejection::DeadCode {
                op: CumulativeSum,
                var: Var::DerivedCol
            })
        );
        assert!(validate(&[SelectNumericCols, BindNumCol1, Max]).is_ok());
    }

    #[test]
    fn shapiro_choose_test_mean_is_rejected() {
        let chain = [
            SelectNumericCols,
            BindNumericCol,
            ShapiroP,
            ChooseTest,
            Mean,
        ];
        assert!(matches!(
            validate(&chain),
            Err(ChainRejection::MissingInput { op: ChooseTest, .. })
        ));
        let raw = [
            SelectNumericCols,
            BindNumericCol,
            SelectCategoricalCols,
            BindBinaryCatCol,
            GroupbyValues,
            ShapiroP,
            LeveneP,
            ChooseTest,
            Mean,
        ];
        let reduced = reduce(&raw).expect("chosen_test is needed");
        assert!(reduced.contains(&ChooseTest));
        assert_eq!(validate(&reduced).map_err(|r| r.reason()), Err("dead_code"));
    }

    #[test]
    fn repeats_with_unchanged_inputs_and_lone_sorts_are_redundant() {
        assert_eq!(
            check_redundancy(&[SelectNumericCols, BindNumericCol, TopN, TopN, Mean]),
            Err(ChainRejection::RedundantRepeat { op: TopN })
        );
        assert_eq!(
            check_redundancy(&[SelectNumericCols, BindNumericCol, SortByColumn, Mean]),
            Err(ChainRejection::SortWithoutTopN)
        );
        assert!(
            check_redundancy(&[SelectNumericCols, BindNumericCol, SortByColumn, TopN, Mean])
                .is_ok()
        );
        // A pick after a filter sees different rows: not a repeat.
        assert!(
            check_redundancy(&[
                SelectNumericCols,
                PickNumericByVariance,
                FilterByThreshold,
                PickNumericByVariance,
                Mean
            ])
            .is_ok()
        );
    }

    #[test]
    fn enumeration_is_deterministic_and_yields_valid_chains() {
        let p = pools(4, 3, 2);
        let limits = SearchLimits {
            max_dequeues: 2_000,
            max_chain_len: 15,
        };
        let (a, stats_a) = enumerate_chains(&p, limits);
        let (b, stats_b) = enumerate_chains(&p, limits);
        assert_eq!(a, b);
        assert_eq!(stats_a, stats_b);
        assert!(stats_a.candidates > 1_000, "{stats_a:?}");
        assert!(!a.is_empty());
        for chain in &a {
            assert!(chain.len() >= 3);
            assert_eq!(validate(chain), Ok(()));
        }
        let (numeric_only, _) = enumerate_chains(&pools(4, 0, 0), limits);
        assert!(!numeric_only.is_empty());
        assert!(
            numeric_only
                .iter()
                .flatten()
                .all(|op| !matches!(op, SelectCategoricalCols | GroupbyCount)),
            "no categorical operator applies without a cat pool"
        );
    }
}
