//! Throughput of the tolerant matcher (SPEC 2.3): prints matches per second for a realistic
//! nested answer and for 1,000-element tie-run lists. Run with `cargo bench --bench matcher`.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use csvagent_sdk::verify::{MatchingConfig, matches};
use serde_json::{Value, json};

/// Runs `f` repeatedly for about `budget` and returns calls per second.
fn rate(budget: Duration, mut f: impl FnMut() -> bool) -> (f64, bool) {
    let start = Instant::now();
    let mut calls = 0u64;
    let mut last = false;
    while start.elapsed() < budget {
        last = black_box(f());
        calls += 1;
    }
    (calls as f64 / start.elapsed().as_secs_f64(), last)
}

fn tie_list(n: usize, noise: f64, reversed: bool) -> Value {
    let mut items: Vec<Value> = (0..n)
        .map(|i| json!({"category": format!("cat_{i:04}"), "mean": 5.0 + noise, "n": 10}))
        .collect();
    if reversed {
        items.reverse();
    }
    Value::Array(items)
}

fn main() {
    let cfg = MatchingConfig::default();
    let budget = Duration::from_secs(2);

    let expected = json!({
        "target_column": "charges",
        "grouping_column": "region",
        "n_groups": 4,
        "test_statistic": 5.5597,
        "significance_score": 0.0009,
        "variances_equal": false,
        "test_used": "Levene (median)",
        "group_variances": {"1": 122546481.71, "2": 121014735.66, "3": 196458036.68, "4": 137327398.46},
        "ranking": [
            {"category": "southeast", "mean": 14735.41, "n": 364},
            {"category": "northeast", "mean": 13406.38, "n": 324},
            {"category": "northwest", "mean": 12417.57, "n": 325}
        ]
    });
    let actual = json!({
        "target_column": "Charges",
        "n_groups": 4.0,
        "test_statistic": 5.5598,
        "significance_score": 0.001,
        "variances_equal": "false",
        "test_used": "levene",
        "group_variances": {"2": 121014735.7, "1": 122546481.7, "4": 137327398.5, "3": 196458036.7},
        "ranking": [
            {"category": "Southeast", "mean": 14735.4, "n": 364},
            {"category": "Northeast", "mean": 13406.4, "n": 324},
            {"category": "Northwest", "mean": 12417.6, "n": 325}
        ]
    });
    let (r, ok) = rate(budget, || matches(&expected, &actual, &cfg));
    println!("nested answer (tolerance path):            {r:>12.0} matches/s  (matched: {ok})");

    let (r, ok) = rate(budget, || matches(&expected, &expected, &cfg));
    println!("nested answer (identical, hash path):      {r:>12.0} matches/s  (matched: {ok})");

    let e = tie_list(1000, 0.0, false);
    let a = tie_list(1000, 0.0, true);
    let (r, ok) = rate(budget, || matches(&e, &a, &cfg));
    println!("1,000-element tie run, reversed:           {r:>12.2} matches/s  (matched: {ok})");

    let a = tie_list(1000, 1e-7, true);
    let (r, ok) = rate(budget, || matches(&e, &a, &cfg));
    println!("1,000-element tie run, reversed + noise:   {r:>12.2} matches/s  (matched: {ok})");

    let a = tie_list(1000, 0.0, false);
    let (r, ok) = rate(budget, || matches(&e, &a, &cfg));
    println!("1,000-element tie run, same order:         {r:>12.2} matches/s  (matched: {ok})");
}
