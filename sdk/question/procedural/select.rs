//! The output filter and the cap (SPEC 6.10): which executed programs become questions.
//!
//! Filters, in order: a clean run (no exception; a tied argmax/argmin and a failed precondition
//! are named), exactly one submission, no `null` anywhere in the answer, a non-empty answer, and
//! `p_value <= 0.05` for group-difference programs. Then near-duplicates (same terminal operator
//! and the same answer hash) keep only the shortest program. The cap keeps
//! `max_per_dataset` programs chosen for operator coverage.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::compile::TIED_WINNER;
use super::ops::Op;
use crate::schema::ExecStatus;
use crate::verify::answer_hash;

/// What running one reference program returned, reduced to what the filters need.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramOutcome {
    /// How the execution ended.
    pub status: ExecStatus,
    /// The normalised answers submitted, in order.
    pub submissions: Vec<Value>,
    /// The exception, as `(type, message)`, if the code raised.
    pub exception: Option<(String, String)>,
}

/// The reason an executed program (operators `ops`, in chain order) is dropped, or its answer.
///
/// # Errors
/// The counted reason: `timeout`, `crashed`, `tied_winner`, `precondition_failed`,
/// `exception:<type>`, `submit_count:<n>`, `null_in_answer`, `empty_answer`,
/// `not_significant`, or `constant_answer` (the minimum or maximum of z-scores is 0 only when
/// every standardised value is equal, i.e. the column was constant on the remaining rows).
pub fn check_outcome(ops: &[Op], outcome: &ProgramOutcome) -> Result<Value, String> {
    let terminal = ops.last().copied().unwrap_or(Op::Mean);
    match outcome.status {
        ExecStatus::Timeout => return Err("timeout".to_owned()),
        ExecStatus::Crashed => return Err("crashed".to_owned()),
        _ => {}
    }
    if let Some((ty, message)) = &outcome.exception {
        if message.starts_with(TIED_WINNER) {
            return Err("tied_winner".to_owned());
        }
        if message.starts_with("Precondition failed for") {
            return Err("precondition_failed".to_owned());
        }
        return Err(format!("exception:{ty}"));
    }
    if outcome.status != ExecStatus::Ok {
        return Err("exception:unknown".to_owned());
    }
    let [answer] = outcome.submissions.as_slice() else {
        return Err(format!("submit_count:{}", outcome.submissions.len()));
    };
    if contains_null(answer) {
        return Err("null_in_answer".to_owned());
    }
    if is_empty(answer) {
        return Err("empty_answer".to_owned());
    }
    let p_value = answer.get("p_value").and_then(Value::as_f64);
    if (terminal == Op::TtestInd || p_value.is_some()) && p_value.is_none_or(|p| p > 0.05) {
        return Err("not_significant".to_owned());
    }
    if ops.contains(&Op::Zscore)
        && matches!(terminal, Op::MinSeries | Op::MaxSeries)
        && answer.get("value").and_then(Value::as_f64) == Some(0.0)
    {
        return Err("constant_answer".to_owned());
    }
    Ok(answer.clone())
}

fn contains_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(contains_null),
        Value::Object(map) => map.values().any(contains_null),
        _ => false,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// A program that passed the filters, as the cap sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Survivor {
    /// The question id (ties are broken by it).
    pub id: String,
    /// The operators in chain order.
    pub ops: Vec<Op>,
    /// The answer.
    pub answer: Value,
}

/// The cap score of an answer (SPEC 6.10): `(1 - p) * 100` when it has a `p_value`; otherwise
/// `min(10 * ln(1 + |v|), 100)` for the first of `variance`, `std`, `mean` or `median` present;
/// otherwise 0.
pub fn score(answer: &Value) -> f64 {
    if let Some(p) = answer.get("p_value").and_then(Value::as_f64) {
        return (1.0 - p) * 100.0;
    }
    for key in ["variance", "std", "mean", "median"] {
        if let Some(v) = answer.get(key).and_then(Value::as_f64) {
            return (10.0 * v.abs().ln_1p()).min(100.0);
        }
    }
    0.0
}

/// Whether `short` is `long` with some operators left out (a subsequence).
fn is_subsequence(short: &[Op], long: &[Op]) -> bool {
    let mut rest = long.iter();
    short.iter().all(|op| rest.any(|o| o == op))
}

/// Removes near-duplicates: a survivor is dropped when another with the same terminal operator
/// and the same answer hash has its operators as a subsequence (it is the same program plus
/// steps that did not change the answer, such as a filter that removed no row) and is shorter,
/// or as long with a smaller id. Programs that reach the same answer along different routes (a
/// named column versus the largest-variance pick) both stay. Returns the kept survivors (input
/// order) and the ids dropped.
pub fn drop_near_duplicates(survivors: Vec<Survivor>) -> (Vec<Survivor>, Vec<String>) {
    let mut groups: BTreeMap<(Op, String), Vec<usize>> = BTreeMap::new();
    for (i, s) in survivors.iter().enumerate() {
        let terminal = *s.ops.last().unwrap_or(&Op::Mean);
        groups
            .entry((terminal, answer_hash(&s.answer)))
            .or_default()
            .push(i);
    }
    let mut dropped = vec![false; survivors.len()];
    for members in groups.values_mut() {
        members.sort_by(|&a, &b| {
            (survivors[a].ops.len(), &survivors[a].id)
                .cmp(&(survivors[b].ops.len(), &survivors[b].id))
        });
        for (k, &i) in members.iter().enumerate() {
            dropped[i] = members[..k]
                .iter()
                .any(|&j| !dropped[j] && is_subsequence(&survivors[j].ops, &survivors[i].ops));
        }
    }
    let mut kept = Vec::new();
    let mut ids = Vec::new();
    for (s, d) in survivors.into_iter().zip(dropped) {
        if d {
            ids.push(s.id);
        } else {
            kept.push(s);
        }
    }
    (kept, ids)
}

/// A cap candidate's rank: new operators, fewer earlier picks of its operator sequence, weight.
type PickKey = (usize, std::cmp::Reverse<usize>, f64);

/// The cap (SPEC 6.10): picks up to `cap` survivors, each the one adding the most operators not
/// yet covered; ties go to the operator sequence picked fewest times so far (so the rest of the
/// cap spreads over different chains rather than near-identical bindings of one), then to the
/// larger `len(ops)^2 + score`, then to the smaller id. Returns indices into `survivors` in pick
/// order.
pub fn cap_by_coverage(survivors: &[Survivor], cap: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..survivors.len()).collect();
    order.sort_by(|&a, &b| survivors[a].id.cmp(&survivors[b].id));
    let weights: Vec<f64> = survivors
        .iter()
        .map(|s| (s.ops.len() * s.ops.len()) as f64 + score(&s.answer))
        .collect();
    let mut covered: BTreeSet<Op> = BTreeSet::new();
    let mut picked_sequences: BTreeMap<&[Op], usize> = BTreeMap::new();
    let mut taken = vec![false; survivors.len()];
    let mut picks = Vec::new();
    while picks.len() < cap {
        let mut best: Option<(usize, PickKey)> = None;
        for &i in &order {
            if taken[i] {
                continue;
            }
            let s = &survivors[i];
            let new_ops = s
                .ops
                .iter()
                .collect::<BTreeSet<_>>()
                .iter()
                .filter(|op| !covered.contains(op))
                .count();
            let repeats = picked_sequences.get(s.ops.as_slice()).copied().unwrap_or(0);
            let key = (new_ops, std::cmp::Reverse(repeats), weights[i]);
            let better = match &best {
                None => true,
                Some((_, b)) => (key.0, key.1)
                    .cmp(&(b.0, b.1))
                    .then(key.2.total_cmp(&b.2))
                    .is_gt(),
            };
            if better {
                best = Some((i, key));
            }
        }
        let Some((i, _)) = best else { break };
        taken[i] = true;
        covered.extend(survivors[i].ops.iter().copied());
        *picked_sequences
            .entry(survivors[i].ops.as_slice())
            .or_default() += 1;
        picks.push(i);
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(answer: Value) -> ProgramOutcome {
        ProgramOutcome {
            status: ExecStatus::Ok,
            submissions: vec![answer],
            exception: None,
        }
    }

    #[test]
    fn degenerate_answers_are_dropped_with_their_reason() {
        let mean = Op::Mean;
        assert_eq!(
            check_outcome(&[mean], &ok(json!({"column": "a", "mean": 1.5}))),
            Ok(json!({"column": "a", "mean": 1.5}))
        );
        assert_eq!(
            check_outcome(&[mean], &ok(json!({"column": "a", "mean": null}))),
            Err("null_in_answer".into())
        );
        assert_eq!(
            check_outcome(&[mean], &ok(json!({}))),
            Err("empty_answer".into())
        );
        let twice = ProgramOutcome {
            submissions: vec![json!(1), json!(2)],
            ..ok(json!(1))
        };
        assert_eq!(check_outcome(&[mean], &twice), Err("submit_count:2".into()));
        let tied = ProgramOutcome {
            status: ExecStatus::Error,
            submissions: vec![],
            exception: Some((
                "RuntimeError".into(),
                "TiedWinner: argmax_group_count is shared by a, b".into(),
            )),
        };
        assert_eq!(
            check_outcome(&[Op::ArgmaxGroupCount], &tied),
            Err("tied_winner".into())
        );
        let ttest = json!({"test": "ttest", "stat": 1.2, "p_value": 0.2});
        assert_eq!(
            check_outcome(&[Op::TtestInd], &ok(ttest)),
            Err("not_significant".into())
        );
        let flat = ok(json!({"metric": "min", "value": 0.0}));
        assert_eq!(
            check_outcome(
                &[
                    Op::SelectNumericCols,
                    Op::BindNumericCol,
                    Op::Zscore,
                    Op::MinSeries
                ],
                &flat
            ),
            Err("constant_answer".into())
        );
        assert!(
            check_outcome(
                &[
                    Op::SelectNumericCols,
                    Op::BindNumericCol,
                    Op::Abs,
                    Op::MinSeries
                ],
                &flat
            )
            .is_ok()
        );
        let timeout = ProgramOutcome {
            status: ExecStatus::Timeout,
            submissions: vec![],
            exception: None,
        };
        assert_eq!(check_outcome(&[mean], &timeout), Err("timeout".into()));
    }

    fn survivor(id: &str, ops: &[Op], answer: Value) -> Survivor {
        Survivor {
            id: id.into(),
            ops: ops.to_vec(),
            answer,
        }
    }

    #[test]
    fn near_duplicates_keep_the_shortest_program() {
        use Op::*;
        let a = survivor(
            "b_long",
            &[SelectNumericCols, BindNumericCol, FilterByThreshold, Mean],
            json!({"column": "age", "mean": 39.2}),
        );
        let b = survivor(
            "a_short",
            &[SelectNumericCols, BindNumericCol, Mean],
            json!({"column": "age", "mean": 39.2}),
        );
        let c = survivor(
            "c_other",
            &[SelectNumericCols, BindNumericCol, Mean],
            json!({"column": "bmi", "mean": 30.1}),
        );
        let d = survivor(
            "d_pick",
            &[SelectNumericCols, PickNumericByVariance, Mean],
            json!({"column": "age", "mean": 39.2}),
        );
        let (kept, dropped) = drop_near_duplicates(vec![a, b, c, d]);
        assert_eq!(
            kept.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["a_short", "c_other", "d_pick"]
        );
        assert_eq!(dropped, ["b_long"]);
    }

    #[test]
    fn the_cap_prefers_new_operators_then_new_chains() {
        use Op::*;
        let survivors = vec![
            survivor(
                "m1",
                &[SelectNumericCols, BindNumericCol, Mean],
                json!({"mean": 1.0}),
            ),
            survivor(
                "m2",
                &[SelectNumericCols, BindNumericCol, Mean],
                json!({"mean": 2.0}),
            ),
            survivor(
                "v1",
                &[SelectNumericCols, BindNumericCol, Variance],
                json!({"variance": 9.0}),
            ),
            survivor(
                "c1",
                &[SelectNumericCols, BindNumCol1, BindNumCol2, Correlation],
                json!({"correlation": 0.5}),
            ),
        ];
        let picks = cap_by_coverage(&survivors, 3);
        let ids: Vec<&str> = picks.iter().map(|&i| survivors[i].id.as_str()).collect();
        // c1 adds 4 operators; then v1 and m1/m2 add one each (variance scores higher);
        // m1 and m2 repeat one sequence, so only one of them is needed for coverage.
        assert_eq!(ids, ["c1", "v1", "m2"]);
        assert_eq!(cap_by_coverage(&survivors, 10).len(), 4);
    }

    #[test]
    fn score_uses_p_values_then_the_first_statistic() {
        assert!((score(&json!({"p_value": 0.01})) - 99.0).abs() < 1e-9);
        assert!(
            (score(&json!({"mean": 0.0, "std": (std::f64::consts::E - 1.0)})) - 10.0).abs() < 1e-9
        );
        assert_eq!(score(&json!({"variance": 1e300})), 100.0);
        assert_eq!(score(&json!({"group": "a", "count": 3})), 0.0);
    }
}
