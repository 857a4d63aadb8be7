//! Triangulation of llm_gen answers (SPEC 2.5, 1.9, decision c).
//!
//! N un-hinted consistency traces answer the question. Their non-null answers are clustered in
//! trace order with the tolerant matcher; the largest cluster is the majority only if it holds
//! more than `majority_fraction` of the N **runs** (failed runs count), and the hinted gold
//! answer must match its representative.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MatchedBy, MatchingConfig, VerifyError, answer_hash, match_outcome, matches};
use crate::schema::{
    Cluster, Difficulty, FailureRecordErrorKind, Triangulation, Verification, VerificationMethod,
};

/// Consistency runs per difficulty (`triangulation_by_difficulty`).
///
/// By default EASY 2, MEDIUM 2, HARD 4, VERY_HARD 6. Written in config as
/// `{EASY = 2, MEDIUM = 2, HARD = 4, VERY_HARD = 6}` (lower-case keys are accepted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunsByDifficulty {
    /// Runs for `EASY` questions.
    #[serde(rename = "EASY", alias = "easy")]
    pub easy: u32,
    /// Runs for `MEDIUM` questions.
    #[serde(rename = "MEDIUM", alias = "medium")]
    pub medium: u32,
    /// Runs for `HARD` questions.
    #[serde(rename = "HARD", alias = "hard")]
    pub hard: u32,
    /// Runs for `VERY_HARD` questions.
    #[serde(rename = "VERY_HARD", alias = "very_hard")]
    pub very_hard: u32,
}

impl Default for RunsByDifficulty {
    fn default() -> Self {
        Self {
            easy: 2,
            medium: 2,
            hard: 4,
            very_hard: 6,
        }
    }
}

impl RunsByDifficulty {
    /// The runs configured for `difficulty`.
    pub fn get(&self, difficulty: Difficulty) -> u32 {
        match difficulty {
            Difficulty::Easy => self.easy,
            Difficulty::Medium => self.medium,
            Difficulty::Hard => self.hard,
            Difficulty::VeryHard => self.very_hard,
        }
    }
}

/// How many consistency traces an llm_gen question gets, and what counts as a majority.
///
/// These are top-level config keys (SPEC 8.1); `n_consistency_override` is the CLI's
/// `--n-consistency K`. By default: `n_consistency` 7, `dynamic_triangulation` true,
/// `triangulation_by_difficulty` {EASY 2, MEDIUM 2, HARD 4, VERY_HARD 6}, `majority_fraction`
/// 0.5, no override. Call [`TriangulationConfig::validate`] once after loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TriangulationConfig {
    /// Runs for a question without a difficulty, or for every question when
    /// `dynamic_triangulation` is off. By default 7.
    pub n_consistency: u32,
    /// Whether the difficulty picks N from `triangulation_by_difficulty`. By default true.
    pub dynamic_triangulation: bool,
    /// Runs per difficulty.
    pub triangulation_by_difficulty: RunsByDifficulty,
    /// The majority threshold: a cluster needs more than this fraction of the runs. By default
    /// 0.5; valid in `[0, 1)`.
    pub majority_fraction: f64,
    /// Runs for every question regardless of difficulty (`--n-consistency K`). By default none.
    pub n_consistency_override: Option<u32>,
}

impl Default for TriangulationConfig {
    fn default() -> Self {
        Self {
            n_consistency: 7,
            dynamic_triangulation: true,
            triangulation_by_difficulty: RunsByDifficulty::default(),
            majority_fraction: 0.5,
            n_consistency_override: None,
        }
    }
}

impl TriangulationConfig {
    /// N, the number of consistency traces for a question of this difficulty; at least 1.
    ///
    /// The override wins for every difficulty; otherwise, with `dynamic_triangulation`, a known
    /// difficulty uses `triangulation_by_difficulty`; a null difficulty (or dynamic mode off)
    /// uses `n_consistency`.
    pub fn consistency_runs(&self, difficulty: Option<Difficulty>) -> u32 {
        let n = match (self.n_consistency_override, difficulty) {
            (Some(k), _) => k,
            (None, Some(d)) if self.dynamic_triangulation => {
                self.triangulation_by_difficulty.get(d)
            }
            (None, _) => self.n_consistency,
        };
        n.max(1)
    }

    /// `floor(n_runs * majority_fraction) + 1`, see [`required_majority`].
    pub fn required_majority(&self, n_runs: u32) -> u32 {
        required_majority(n_runs, self.majority_fraction)
    }

    /// Checks the settings once after loading.
    ///
    /// # Errors
    /// [`VerifyError::InvalidSetting`] when `majority_fraction` is not in `[0, 1)`.
    pub fn validate(&self) -> Result<(), VerifyError> {
        if !(0.0..1.0).contains(&self.majority_fraction) {
            return Err(VerifyError::InvalidSetting {
                key: "majority_fraction".to_owned(),
                value: self.majority_fraction.to_string(),
                expected: "a number in [0, 1), e.g. 0.5 for a strict majority",
            });
        }
        Ok(())
    }
}

/// The votes needed for a majority: `floor(n_runs * majority_fraction) + 1` (more than that
/// fraction of the runs; 3 of 5, 4 of 7, 2 of 2 at the default 0.5).
pub fn required_majority(n_runs: u32, majority_fraction: f64) -> u32 {
    let floor = (f64::from(n_runs) * majority_fraction).floor();
    // `floor` is within [0, n_runs] for a validated fraction; `as` saturates otherwise.
    let floor = floor as u32;
    floor.saturating_add(1)
}

/// One cluster of mutually matching consistency answers.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerCluster {
    /// The first member's answer.
    pub representative: Value,
    /// `H(representative)`.
    pub representative_hash: String,
    /// Indices into the consistency traces, ascending.
    pub members: Vec<usize>,
}

impl AnswerCluster {
    /// Number of members.
    pub fn size(&self) -> usize {
        self.members.len()
    }
}

/// Clusters answers in trace order (SPEC 2.5 step 3).
///
/// `answers[i]` is consistency trace `i`'s accepted answer, `None` for a failed run; nulls are
/// skipped. Each answer joins the first cluster (in creation order) whose representative matches
/// it (`matches(rep, answer)`), else starts a new one. The result is stably sorted by size,
/// largest first, so equal sizes keep first-appearance order.
pub fn cluster_answers(answers: &[Option<&Value>], cfg: &MatchingConfig) -> Vec<AnswerCluster> {
    let mut clusters: Vec<AnswerCluster> = Vec::new();
    for (index, answer) in answers.iter().enumerate() {
        let Some(answer) = answer.filter(|a| !a.is_null()) else {
            continue;
        };
        match clusters
            .iter_mut()
            .find(|c| matches(&c.representative, answer, cfg))
        {
            Some(cluster) => cluster.members.push(index),
            None => clusters.push(AnswerCluster {
                representative: answer.clone(),
                representative_hash: answer_hash(answer),
                members: vec![index],
            }),
        }
    }
    clusters.sort_by_key(|c| std::cmp::Reverse(c.size()));
    clusters
}

/// Why an llm_gen episode is not verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TriangulationFailure {
    /// The largest cluster is below the required majority (or there are no answers).
    #[error(
        "no_majority: the largest cluster has {majority_count} of {n_runs} runs, {required_majority} required"
    )]
    NoMajority {
        /// Size of the largest cluster (0 without answers).
        majority_count: usize,
        /// N, failed runs included.
        n_runs: usize,
        /// `floor(N * majority_fraction) + 1`.
        required_majority: u32,
    },
    /// A majority exists but the gold answer is missing or does not match it.
    #[error("gold_mismatch: gold answer {} does not match majority answer {majority_hash}", gold_hash.as_deref().unwrap_or("(none)"))]
    GoldMismatch {
        /// `H(gold answer)`, `None` when the gold trace accepted no answer.
        gold_hash: Option<String>,
        /// `H` of the majority representative.
        majority_hash: String,
    },
}

impl TriangulationFailure {
    /// The failure record's `error_kind` (`no_majority` or `gold_mismatch`); its stage is
    /// `triangulation`.
    pub fn error_kind(&self) -> FailureRecordErrorKind {
        match self {
            Self::NoMajority { .. } => FailureRecordErrorKind::NoMajority,
            Self::GoldMismatch { .. } => FailureRecordErrorKind::GoldMismatch,
        }
    }
}

/// The outcome of [`triangulate`] for one llm_gen question.
#[derive(Debug, Clone, PartialEq)]
pub struct TriangulationResult {
    /// N: consistency runs, failed ones included.
    pub n_runs: usize,
    /// Runs with an accepted, non-null answer.
    pub n_succeeded: usize,
    /// `floor(N * majority_fraction) + 1`.
    pub required_majority: u32,
    /// Tolerant clusters, largest first (ties in first-appearance order).
    pub clusters: Vec<AnswerCluster>,
    /// The largest cluster reaches `required_majority`.
    pub has_majority: bool,
    /// How the gold answer matched the majority representative; `None` when there is no
    /// majority or it does not match.
    pub gold_matched_by: Option<MatchedBy>,
    /// `H(gold answer)`, if the gold trace accepted one.
    pub gold_hash: Option<String>,
}

impl TriangulationResult {
    /// The largest cluster, if any answer was given.
    pub fn majority(&self) -> Option<&AnswerCluster> {
        self.clusters.first()
    }

    /// Size of the largest cluster (0 without answers).
    pub fn majority_count(&self) -> usize {
        self.majority().map_or(0, AnswerCluster::size)
    }

    /// `has_majority` and the gold answer matches the representative.
    pub fn gold_matches_majority(&self) -> bool {
        self.gold_matched_by.is_some()
    }

    /// SPEC 2.5 step 5: verified iff the majority exists and the gold answer matches it.
    pub fn verified(&self) -> bool {
        self.gold_matches_majority()
    }

    /// Why the episode is not verified: `no_majority` first, else `gold_mismatch`.
    pub fn failure(&self) -> Option<TriangulationFailure> {
        if !self.has_majority {
            return Some(TriangulationFailure::NoMajority {
                majority_count: self.majority_count(),
                n_runs: self.n_runs,
                required_majority: self.required_majority,
            });
        }
        match (self.gold_matched_by, self.majority()) {
            (None, Some(top)) => Some(TriangulationFailure::GoldMismatch {
                gold_hash: self.gold_hash.clone(),
                majority_hash: top.representative_hash.clone(),
            }),
            _ => None,
        }
    }

    /// The episode's `triangulation` object (SPEC 1.9, llm_gen column).
    pub fn record(&self) -> Triangulation {
        Triangulation {
            n_consistency_runs: self.n_runs as u64,
            n_consistency_succeeded: self.n_succeeded as u64,
            required_majority: Some(u64::from(self.required_majority)),
            majority_answer_hash: self.majority().map(|c| c.representative_hash.clone()),
            majority_count: self.majority_count() as u64,
            has_majority: Some(self.has_majority),
            gold_matches_majority: self.gold_matches_majority(),
            clusters: Some(
                self.clusters
                    .iter()
                    .map(|c| Cluster {
                        representative_hash: c.representative_hash.clone(),
                        size: c.size() as u64,
                        members: c.members.iter().map(|&m| m as u64).collect(),
                    })
                    .collect(),
            ),
        }
    }

    /// The episode's `verification` object: method `triangulation`, `matched_by` of the gold
    /// answer against the majority when verified, and the failure text as `error` otherwise.
    pub fn verification(&self) -> Verification {
        Verification {
            method: VerificationMethod::Triangulation,
            matched_by: self.gold_matched_by.map(Into::into),
            error: self.failure().map(|f| f.to_string()),
        }
    }
}

/// Decides an llm_gen question (SPEC 2.5 steps 3-5).
///
/// `gold` is the gold trace's accepted answer (`None` if it accepted none); `consistency[i]` is
/// consistency trace `i`'s accepted answer (`None` for a failed run). N is
/// `consistency.len()`; failed runs count toward it.
///
/// # Examples
/// ```
/// use csvagent_sdk::verify::{MatchingConfig, triangulate};
/// use serde_json::json;
/// let (a, b) = (json!(0.127), json!(0.5));
/// let runs = [Some(&a), Some(&a), Some(&a), Some(&b), None];
/// let result = triangulate(Some(&json!(0.1271)), &runs, 0.5, &MatchingConfig::default());
/// assert!(result.verified()); // 3 of 5 runs agree and the gold answer matches them
/// ```
pub fn triangulate(
    gold: Option<&Value>,
    consistency: &[Option<&Value>],
    majority_fraction: f64,
    cfg: &MatchingConfig,
) -> TriangulationResult {
    let n_runs = consistency.len();
    let n_succeeded = consistency
        .iter()
        .filter(|a| a.is_some_and(|v| !v.is_null()))
        .count();
    let clusters = cluster_answers(consistency, cfg);
    let required = required_majority(u32::try_from(n_runs).unwrap_or(u32::MAX), majority_fraction);
    let majority_count = clusters.first().map_or(0, AnswerCluster::size);
    let has_majority =
        !clusters.is_empty() && u32::try_from(majority_count).unwrap_or(u32::MAX) >= required;
    let gold = gold.filter(|g| !g.is_null());
    let gold_matched_by = match (has_majority, clusters.first(), gold) {
        (true, Some(top), Some(g)) => match_outcome(&top.representative, g, cfg),
        _ => None,
    };
    TriangulationResult {
        n_runs,
        n_succeeded,
        required_majority: required,
        clusters,
        has_majority,
        gold_matched_by,
        gold_hash: gold.map(answer_hash),
    }
}

/// The `triangulation` object of a template/procedural episode (SPEC 1.9): zero runs, required
/// majority 0, `majority_answer_hash` = the gold `final_answer_hash`, no clusters, and
/// `gold_matches_majority` = `verified`.
pub fn zeroed_triangulation(gold_final_answer_hash: Option<&str>, verified: bool) -> Triangulation {
    Triangulation {
        n_consistency_runs: 0,
        n_consistency_succeeded: 0,
        required_majority: Some(0),
        majority_answer_hash: gold_final_answer_hash.map(str::to_owned),
        majority_count: 0,
        has_majority: Some(false),
        gold_matches_majority: verified,
        clusters: Some(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(gold: Option<Value>, answers: &[Option<Value>]) -> TriangulationResult {
        let refs: Vec<Option<&Value>> = answers.iter().map(Option::as_ref).collect();
        triangulate(gold.as_ref(), &refs, 0.5, &MatchingConfig::default())
    }

    #[test]
    fn three_of_five_majority_passes() {
        let r = run(
            Some(json!(42)),
            &[
                Some(json!(42)),
                Some(json!(7)),
                Some(json!(42.0)),
                Some(json!(8)),
                Some(json!(42)),
            ],
        );
        assert_eq!(r.required_majority, 3);
        assert_eq!(r.majority_count(), 3);
        assert!(r.has_majority);
        assert!(r.verified());
        assert_eq!(r.failure(), None);
        assert_eq!(r.gold_matched_by, Some(MatchedBy::Hash));
        let rec = r.record();
        assert_eq!(
            rec.majority_answer_hash.as_deref(),
            Some("73475cb40a568e8d")
        );
        assert_eq!(rec.n_consistency_runs, 5);
        assert_eq!(rec.n_consistency_succeeded, 5);
        assert_eq!(rec.required_majority, Some(3));
        assert!(rec.gold_matches_majority);
        let clusters = rec.clusters.unwrap();
        assert_eq!(clusters[0].members, [0, 2, 4]);
        assert_eq!(clusters[0].size, 3);
        assert_eq!(clusters.len(), 3);
    }

    #[test]
    fn two_of_five_plurality_does_not_pass() {
        let r = run(
            Some(json!(1)),
            &[
                Some(json!(1)),
                Some(json!(1)),
                Some(json!(2)),
                Some(json!(3)),
                Some(json!(4)),
            ],
        );
        assert_eq!(r.majority_count(), 2);
        assert!(!r.has_majority);
        assert!(!r.verified());
        let f = r.failure().unwrap();
        assert_eq!(f.error_kind(), FailureRecordErrorKind::NoMajority);
        assert_eq!(
            f.to_string(),
            "no_majority: the largest cluster has 2 of 5 runs, 3 required"
        );
        let rec = r.record();
        assert_eq!(rec.has_majority, Some(false));
        assert!(!rec.gold_matches_majority);
    }

    #[test]
    fn failed_runs_count_toward_n() {
        // 3 agreeing answers would be unanimous among the successes, but N = 7 needs 4.
        let r = run(
            Some(json!("x")),
            &[
                Some(json!("x")),
                None,
                Some(json!("X")),
                None,
                None,
                Some(json!("x")),
                None,
            ],
        );
        assert_eq!(r.n_runs, 7);
        assert_eq!(r.n_succeeded, 3);
        assert_eq!(r.required_majority, 4);
        assert_eq!(r.majority_count(), 3);
        assert!(!r.verified());
        assert_eq!(r.record().n_consistency_succeeded, 3);
        assert_eq!(r.record().clusters.unwrap()[0].members, [0, 2, 5]);
    }

    #[test]
    fn gold_not_matching_majority_is_gold_mismatch() {
        let r = run(
            Some(json!(99)),
            &[Some(json!(5)), Some(json!(5)), Some(json!(6))],
        );
        assert!(r.has_majority);
        assert!(!r.verified());
        let f = r.failure().unwrap();
        assert_eq!(f.error_kind(), FailureRecordErrorKind::GoldMismatch);
        assert_eq!(
            f,
            TriangulationFailure::GoldMismatch {
                gold_hash: Some(answer_hash(&json!(99))),
                majority_hash: answer_hash(&json!(5)),
            }
        );
        let v = r.verification();
        assert_eq!(v.method, VerificationMethod::Triangulation);
        assert_eq!(v.matched_by, None);
        assert!(v.error.unwrap().starts_with("gold_mismatch: "));
    }

    #[test]
    fn missing_gold_answer_is_gold_mismatch_when_majority_exists() {
        let r = run(None, &[Some(json!(5)), Some(json!(5))]);
        assert!(r.has_majority);
        assert!(!r.verified());
        assert!(matches!(
            r.failure(),
            Some(TriangulationFailure::GoldMismatch {
                gold_hash: None,
                ..
            })
        ));
    }

    #[test]
    fn close_answers_cluster_together() {
        let r = run(
            Some(json!(0.12705)),
            &[Some(json!(0.127)), Some(json!(0.1271)), Some(json!(0.3))],
        );
        assert_eq!(r.clusters[0].members, [0, 1]);
        assert_eq!(r.clusters[0].representative, json!(0.127));
        assert_eq!(r.record().majority_count, 2);
        assert!(r.verified());
        assert_eq!(r.gold_matched_by, Some(MatchedBy::Tolerance));
        assert_eq!(
            r.verification().matched_by,
            Some(crate::schema::VerificationMatchedBy::Tolerance)
        );
    }

    #[test]
    fn equal_cluster_sizes_keep_first_appearance_order() {
        let answers = [
            Some(json!("b")),
            Some(json!("a")),
            Some(json!("c")),
            Some(json!("a")),
            Some(json!("b")),
            Some(json!("c")),
            Some(json!("c")),
        ];
        let refs: Vec<Option<&Value>> = answers.iter().map(Option::as_ref).collect();
        let clusters = cluster_answers(&refs, &MatchingConfig::default());
        let reps: Vec<&Value> = clusters.iter().map(|c| &c.representative).collect();
        assert_eq!(reps, [&json!("c"), &json!("b"), &json!("a")]);
        assert_eq!(clusters[1].members, [0, 4]);
        assert_eq!(clusters[2].members, [1, 3]);
    }

    #[test]
    fn answer_joins_first_matching_cluster_by_representative() {
        // 1.0019 matches the member 1.0009 but not the representative 1.0: it starts a new
        // cluster, because answers are compared with representatives only.
        let clusters = cluster_answers(
            &[
                Some(&json!(1.0)),
                Some(&json!(1.0009)),
                Some(&json!(1.0019)),
            ],
            &MatchingConfig::default(),
        );
        assert_eq!(clusters[0].members, [0, 1]);
        assert_eq!(clusters[1].members, [2]);
    }

    #[test]
    fn no_answers_give_no_majority_and_null_hash() {
        let r = run(Some(json!(1)), &[None, None, Some(Value::Null)]);
        assert_eq!(r.n_succeeded, 0);
        assert!(r.clusters.is_empty());
        let rec = r.record();
        assert_eq!(rec.majority_answer_hash, None);
        assert_eq!(rec.majority_count, 0);
        assert_eq!(rec.clusters, Some(vec![]));
        assert!(matches!(
            r.failure(),
            Some(TriangulationFailure::NoMajority {
                majority_count: 0,
                ..
            })
        ));
    }

    #[test]
    fn single_run_majority_is_one() {
        let r = run(Some(json!(3)), &[Some(json!(3))]);
        assert_eq!(r.required_majority, 1);
        assert!(r.verified());
    }

    #[test]
    fn required_majority_is_more_than_half_of_runs() {
        assert_eq!(required_majority(1, 0.5), 1);
        assert_eq!(required_majority(2, 0.5), 2);
        assert_eq!(required_majority(4, 0.5), 3);
        assert_eq!(required_majority(5, 0.5), 3);
        assert_eq!(required_majority(6, 0.5), 4);
        assert_eq!(required_majority(7, 0.5), 4);
        assert_eq!(required_majority(7, 2.0 / 3.0), 5);
        assert_eq!(required_majority(0, 0.5), 1);
    }

    #[test]
    fn zeroed_record_for_ground_truth_sources() {
        let t = zeroed_triangulation(Some("73475cb40a568e8d"), true);
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({
                "n_consistency_runs": 0, "n_consistency_succeeded": 0, "required_majority": 0,
                "majority_answer_hash": "73475cb40a568e8d", "majority_count": 0,
                "has_majority": false, "gold_matches_majority": true, "clusters": []
            })
        );
        let t = zeroed_triangulation(None, false);
        assert_eq!(t.majority_answer_hash, None);
        assert!(!t.gold_matches_majority);
    }

    #[test]
    fn runs_follow_difficulty_when_dynamic() {
        let cfg = TriangulationConfig::default();
        assert_eq!(cfg.consistency_runs(Some(Difficulty::Easy)), 2);
        assert_eq!(cfg.consistency_runs(Some(Difficulty::Medium)), 2);
        assert_eq!(cfg.consistency_runs(Some(Difficulty::Hard)), 4);
        assert_eq!(cfg.consistency_runs(Some(Difficulty::VeryHard)), 6);
        assert_eq!(cfg.consistency_runs(None), 7);
    }

    #[test]
    fn static_mode_uses_n_consistency_for_every_difficulty() {
        let cfg = TriangulationConfig {
            dynamic_triangulation: false,
            ..TriangulationConfig::default()
        };
        assert_eq!(cfg.consistency_runs(Some(Difficulty::Easy)), 7);
        assert_eq!(cfg.consistency_runs(Some(Difficulty::VeryHard)), 7);
    }

    #[test]
    fn override_applies_to_every_difficulty_and_is_at_least_one() {
        let cfg = TriangulationConfig {
            n_consistency_override: Some(3),
            ..TriangulationConfig::default()
        };
        for d in [
            Some(Difficulty::Easy),
            Some(Difficulty::Medium),
            Some(Difficulty::Hard),
            Some(Difficulty::VeryHard),
            None,
        ] {
            assert_eq!(cfg.consistency_runs(d), 3);
        }
        let zero = TriangulationConfig {
            n_consistency_override: Some(0),
            n_consistency: 0,
            ..TriangulationConfig::default()
        };
        assert_eq!(zero.consistency_runs(Some(Difficulty::Hard)), 1);
        assert_eq!(zero.consistency_runs(None), 1);
        let zero_table = TriangulationConfig {
            triangulation_by_difficulty: RunsByDifficulty {
                easy: 0,
                ..RunsByDifficulty::default()
            },
            ..TriangulationConfig::default()
        };
        assert_eq!(zero_table.consistency_runs(Some(Difficulty::Easy)), 1);
    }

    #[test]
    fn config_reads_difficulty_table_and_rejects_unknown_difficulty() {
        let cfg: TriangulationConfig = serde_json::from_value(json!({
            "triangulation_by_difficulty": {"EASY": 3, "hard": 5},
            "majority_fraction": 0.6
        }))
        .unwrap();
        assert_eq!(cfg.triangulation_by_difficulty.easy, 3);
        assert_eq!(cfg.triangulation_by_difficulty.medium, 2);
        assert_eq!(cfg.triangulation_by_difficulty.hard, 5);
        assert_eq!(cfg.required_majority(5), 4);
        let err = serde_json::from_value::<TriangulationConfig>(json!({
            "triangulation_by_difficulty": {"EXTREME": 9}
        }))
        .unwrap_err();
        assert!(err.to_string().contains("EXTREME"), "{err}");
    }

    #[test]
    fn majority_fraction_outside_unit_interval_is_rejected() {
        for bad in [1.0, -0.1, f64::NAN] {
            let cfg = TriangulationConfig {
                majority_fraction: bad,
                ..TriangulationConfig::default()
            };
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains("majority_fraction"), "{err}");
        }
        assert!(TriangulationConfig::default().validate().is_ok());
    }
}
