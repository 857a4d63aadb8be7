//! The tolerant answer matcher `matches(expected, actual)` (SPEC 2.3, decision b).
//!
//! Answers are normalised JSON values (SPEC 2.1). The matcher decides whether a teacher's answer
//! is the same answer as a reference value despite harmless differences: float noise and
//! rounding, `42` vs `42.0`, letter case and Unicode dashes, key order, stringified numeric keys,
//! swapped group order, tied list entries in another order, and a dict wrapping a single number.
//!
//! The rules, applied recursively (`key` is the nearest enclosing object key):
//!
//! 1. Top level: a null on either side never matches; equal answer hashes `H` match by hash.
//! 2. Coercions: a string holding a JSON object is that object; `"true"`/`"false"` (trimmed, any
//!    case) are booleans; two ISO 8601 date/datetime strings compare as instants (a bare date is
//!    midnight, a naive time is UTC).
//! 3. Numbers (a bool is never a number): two integral values must be exactly equal; p-value keys
//!    use `|a-b| <= max(p_value_rel_tol * max(|a|,|b|), p_value_abs_tol)`; other numbers use
//!    `|a-b| <= max(float_rel_tol * max(|a|,|b|), float_abs_tol)`; keys containing an
//!    `abs_value_keys` substring compare magnitudes; `-0.0 = 0.0`. A non-p-value number written
//!    with fewer decimals (at least one) also matches when it is the other rounded to that many
//!    decimals (`0.127` ~ `0.13`), see [`MatchingConfig::accept_rounded`].
//! 4. Strings: under `method_keys` compare method names loosely (`Mann-Whitney U test` =
//!    `mann_whitney_u`); otherwise NFKC, Unicode dashes to `-`, trim, Unicode casefold.
//! 5. Objects: drop `ignorable_keys`, canonicalise keys (trim; numeric keys in canonical number
//!    text), require equal key sets and matching values; on failure swap every fully present
//!    swap pair in `actual` and retry once.
//! 6. Arrays: equal lengths; all-string arrays compare as multisets; otherwise in order, except
//!    that inside a tie run (adjacent expected elements with indistinguishable numeric content)
//!    the actual elements may be permuted (checked by bipartite matching).
//! 7. An object with exactly one numeric top-level value matches a number matching that value,
//!    in either direction.
//! 8. Anything else must be exactly equal.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use unicode_normalization::UnicodeNormalization;

use super::{VerifyError, answer_hash, canonical_json};
use crate::schema::VerificationMatchedBy;

/// Tolerances and key lists of the tolerant matcher: the `[matching]` config section.
///
/// By default every field has the SPEC 2.3 value (see [`MatchingConfig::default`]). Fields left
/// out of a config file keep their default; unknown fields are rejected. Call
/// [`MatchingConfig::validate`] once after loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchingConfig {
    /// Relative tolerance for non-p-value numbers. By default `1e-3`.
    pub float_rel_tol: f64,
    /// Absolute tolerance floor for non-p-value numbers. By default `1e-6`.
    pub float_abs_tol: f64,
    /// Absolute tolerance for p-value keys. By default `2e-3`.
    pub p_value_abs_tol: f64,
    /// Relative tolerance for p-value keys. By default `0`.
    pub p_value_rel_tol: f64,
    /// Key substrings (case-insensitive) whose numbers compare by magnitude. By default
    /// `correlation`, `association`.
    pub abs_value_keys: Vec<String>,
    /// Keys dropped from objects before comparing (also ignored by the submission format check).
    /// By default `z_threshold`, `max_iterations`, `iterations_used`, `const`,
    /// `grouping_column`, `group1`, `group2`.
    pub ignorable_keys: Vec<String>,
    /// Keys (case-insensitive) whose string values are method names, compared loosely. By default
    /// `test`, `test_used`, `method_choice`, `effect_size_type`, `effect_size_kind`.
    pub method_keys: Vec<String>,
    /// Key pairs whose values may be swapped in `actual` when the first comparison fails
    /// (two groups reported in the other order), written `[["mean1", "mean2"], ...]`. By default
    /// `mean1/mean2`, `median1/median2`, `n1/n2`, `group1_n/group2_n`, `std1/std2`, `var1/var2`,
    /// `count1/count2`.
    pub swap_pairs: Vec<(String, String)>,
    /// Whether a number written with fewer decimals (at least one) matches a value that rounds
    /// to it, e.g. `0.13` for `0.127` (the SPEC 2.3 "tested facts"). Never applies to p-value
    /// keys, which have their own tolerance, nor to integers. By default `true`.
    pub accept_rounded: bool,
}

impl Default for MatchingConfig {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            float_rel_tol: 1e-3,
            float_abs_tol: 1e-6,
            p_value_abs_tol: 2e-3,
            p_value_rel_tol: 0.0,
            abs_value_keys: strings(&["correlation", "association"]),
            ignorable_keys: strings(&[
                "z_threshold",
                "max_iterations",
                "iterations_used",
                "const",
                "grouping_column",
                "group1",
                "group2",
            ]),
            method_keys: strings(&[
                "test",
                "test_used",
                "method_choice",
                "effect_size_type",
                "effect_size_kind",
            ]),
            swap_pairs: [
                ("mean1", "mean2"),
                ("median1", "median2"),
                ("n1", "n2"),
                ("group1_n", "group2_n"),
                ("std1", "std2"),
                ("var1", "var2"),
                ("count1", "count2"),
            ]
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect(),
            accept_rounded: true,
        }
    }
}

impl MatchingConfig {
    /// Checks the settings once after loading.
    ///
    /// # Errors
    /// [`VerifyError::InvalidSetting`] when a tolerance is negative or not finite, or a swap pair
    /// is empty or pairs a key with itself.
    pub fn validate(&self) -> Result<(), VerifyError> {
        for (key, value) in [
            ("matching.float_rel_tol", self.float_rel_tol),
            ("matching.float_abs_tol", self.float_abs_tol),
            ("matching.p_value_abs_tol", self.p_value_abs_tol),
            ("matching.p_value_rel_tol", self.p_value_rel_tol),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(VerifyError::InvalidSetting {
                    key: key.to_owned(),
                    value: value.to_string(),
                    expected: "a finite number >= 0",
                });
            }
        }
        for (a, b) in &self.swap_pairs {
            if a.trim().is_empty() || b.trim().is_empty() || a == b {
                return Err(VerifyError::InvalidSetting {
                    key: "matching.swap_pairs".to_owned(),
                    value: format!("[{a:?}, {b:?}]"),
                    expected: "two different, non-empty keys",
                });
            }
        }
        Ok(())
    }
}

/// How an answer matched: by identical answer hash `H`, or by the tolerant rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// `H(actual)` equals the expected hash.
    Hash,
    /// The tolerant rules of SPEC 2.3 matched.
    Tolerance,
}

impl From<MatchedBy> for VerificationMatchedBy {
    fn from(value: MatchedBy) -> Self {
        match value {
            MatchedBy::Hash => VerificationMatchedBy::Hash,
            MatchedBy::Tolerance => VerificationMatchedBy::Tolerance,
        }
    }
}

/// Whether `actual` is the same answer as `expected` under the tolerant rules (SPEC 2.3).
///
/// A top-level null on either side never matches. Both values are normalised JSON answers.
///
/// # Examples
/// ```
/// use csvagent_sdk::verify::{MatchingConfig, matches};
/// use serde_json::json;
/// let cfg = MatchingConfig::default();
/// assert!(matches(&json!({"p_value": 0.0400}), &json!({"p_value": 0.0415}), &cfg));
/// assert!(!matches(&json!(1000), &json!(1001), &cfg));
/// ```
pub fn matches(expected: &Value, actual: &Value, cfg: &MatchingConfig) -> bool {
    match_outcome(expected, actual, cfg).is_some()
}

/// Like [`matches()`], but says how: `Some(MatchedBy::Hash)` when `H(actual) == H(expected)`,
/// `Some(MatchedBy::Tolerance)` when only the tolerant rules match, `None` otherwise.
pub fn match_outcome(expected: &Value, actual: &Value, cfg: &MatchingConfig) -> Option<MatchedBy> {
    if expected.is_null() || actual.is_null() {
        return None;
    }
    if answer_hash(expected) == answer_hash(actual) {
        return Some(MatchedBy::Hash);
    }
    Matcher::new(cfg)
        .eq(expected, actual, None)
        .then_some(MatchedBy::Tolerance)
}

/// The recursive matcher over one configuration.
struct Matcher<'c> {
    cfg: &'c MatchingConfig,
}

impl<'c> Matcher<'c> {
    fn new(cfg: &'c MatchingConfig) -> Self {
        Self { cfg }
    }

    /// Rules 2-8 for `expected` vs `actual` under the enclosing `key`.
    fn eq(&self, expected: &Value, actual: &Value, key: Option<&str>) -> bool {
        if expected == actual {
            return true;
        }
        let e = coerce(expected);
        let a = coerce(actual);
        match (e.as_ref(), a.as_ref()) {
            (Value::Number(x), Value::Number(y)) => self.num_eq(x, y, key),
            (Value::String(x), Value::String(y)) => self.str_eq(x, y, key),
            (Value::Object(x), Value::Object(y)) => self.obj_eq(x, y),
            (Value::Array(x), Value::Array(y)) => self.arr_eq(x, y, key),
            (Value::Object(o), Value::Number(n)) | (Value::Number(n), Value::Object(o)) => self
                .single_numeric_leaf(o)
                .is_some_and(|(leaf_key, leaf)| self.num_eq(leaf, n, Some(leaf_key))),
            (x, y) => x == y,
        }
    }

    /// Rule 3.
    fn num_eq(&self, x: &Number, y: &Number, key: Option<&str>) -> bool {
        let magnitudes = key.is_some_and(|k| self.is_abs_key(k));
        if let (Some(i), Some(j)) = (as_i128(x), as_i128(y)) {
            return if magnitudes {
                i.abs() == j.abs()
            } else {
                i == j
            };
        }
        let (Some(mut a), Some(mut b)) = (x.as_f64(), y.as_f64()) else {
            return false;
        };
        if magnitudes {
            a = a.abs();
            b = b.abs();
        }
        if a.fract() == 0.0 && b.fract() == 0.0 {
            return a == b;
        }
        let diff = (a - b).abs();
        let scale = a.abs().max(b.abs());
        if key.is_some_and(is_p_value_key) {
            return diff <= (self.cfg.p_value_rel_tol * scale).max(self.cfg.p_value_abs_tol);
        }
        if diff <= (self.cfg.float_rel_tol * scale).max(self.cfg.float_abs_tol) {
            return true;
        }
        self.cfg.accept_rounded && is_rounding_of(a, b)
    }

    /// Rules 2 (dates) and 4.
    fn str_eq(&self, x: &str, y: &str, key: Option<&str>) -> bool {
        if key.is_some_and(|k| self.is_method_key(k)) {
            return method_name(x) == method_name(y);
        }
        if let (Some(a), Some(b)) = (parse_instant(x), parse_instant(y)) {
            return a == b;
        }
        text_eq(x, y)
    }

    /// Rule 5.
    fn obj_eq(&self, expected: &Map<String, Value>, actual: &Map<String, Value>) -> bool {
        let (Some(e), Some(mut a)) = (
            self.canonical_object(expected),
            self.canonical_object(actual),
        ) else {
            return false;
        };
        if self.entries_eq(&e, &a) {
            return true;
        }
        let mut swapped = false;
        for (k1, k2) in &self.cfg.swap_pairs {
            let (k1, k2) = (canonical_key(k1), canonical_key(k2));
            if k1 == k2 || !a.contains_key(&k1) || !a.contains_key(&k2) {
                continue;
            }
            if let (Some(v1), Some(v2)) = (a.remove(&k1), a.remove(&k2)) {
                a.insert(k1, v2);
                a.insert(k2, v1);
                swapped = true;
            }
        }
        swapped && self.entries_eq(&e, &a)
    }

    fn entries_eq(&self, e: &BTreeMap<String, &Value>, a: &BTreeMap<String, &Value>) -> bool {
        e.len() == a.len()
            && e.iter()
                .zip(a.iter())
                .all(|((ke, ve), (ka, va))| ke == ka && self.eq(ve, va, Some(ke)))
    }

    /// The object without ignorable keys, keyed by canonical key; `None` when two keys collide
    /// after canonicalisation (`"1"` and `"1.0"` in one object), which cannot be compared.
    fn canonical_object<'v>(
        &self,
        map: &'v Map<String, Value>,
    ) -> Option<BTreeMap<String, &'v Value>> {
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let key = canonical_key(k);
            if self.is_ignorable(&key) {
                continue;
            }
            if out.insert(key, v).is_some() {
                return None;
            }
        }
        Some(out)
    }

    /// Rule 6.
    fn arr_eq(&self, expected: &[Value], actual: &[Value], key: Option<&str>) -> bool {
        if expected.len() != actual.len() {
            return false;
        }
        if expected.iter().chain(actual).all(Value::is_string) {
            let mut e: Vec<String> = expected.iter().map(|v| self.string_key(v, key)).collect();
            let mut a: Vec<String> = actual.iter().map(|v| self.string_key(v, key)).collect();
            e.sort_unstable();
            a.sort_unstable();
            return e == a;
        }
        let mismatched: Vec<usize> = (0..expected.len())
            .filter(|&i| !self.eq(&expected[i], &actual[i], key))
            .collect();
        if mismatched.is_empty() {
            return true;
        }
        let runs = self.tie_runs(expected, key);
        let mut checked_runs: Vec<usize> = Vec::new();
        for i in mismatched {
            let Some(r) = runs.iter().position(|run| run.contains(&i)) else {
                return false;
            };
            if checked_runs.contains(&r) {
                continue;
            }
            checked_runs.push(r);
            let run = runs[r].clone();
            if !self.permutation_matches(&expected[run.clone()], &actual[run], key) {
                return false;
            }
        }
        true
    }

    /// Maximal runs (length >= 2) of adjacent expected elements whose numeric content is
    /// indistinguishable under rule 3.
    fn tie_runs(&self, expected: &[Value], key: Option<&str>) -> Vec<std::ops::Range<usize>> {
        let contents: Vec<Vec<NumericLeaf<'_>>> = expected
            .iter()
            .map(|v| {
                let mut leaves = Vec::new();
                self.numeric_content(v, key, String::new(), &mut leaves);
                leaves
            })
            .collect();
        let mut runs = Vec::new();
        let mut start = 0;
        for i in 1..=expected.len() {
            let tied = i < expected.len() && self.indistinguishable(&contents[i - 1], &contents[i]);
            if !tied {
                if i - start >= 2 {
                    runs.push(start..i);
                }
                start = i;
            }
        }
        runs
    }

    fn indistinguishable(&self, a: &[NumericLeaf<'_>], b: &[NumericLeaf<'_>]) -> bool {
        !a.is_empty()
            && a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.path == y.path && self.num_eq(x.number, y.number, x.key.as_deref()))
    }

    /// Every number inside `value` with its path and nearest key, in canonical key order.
    fn numeric_content<'v>(
        &self,
        value: &'v Value,
        key: Option<&str>,
        path: String,
        out: &mut Vec<NumericLeaf<'v>>,
    ) {
        match value {
            Value::Number(n) => out.push(NumericLeaf {
                path,
                key: key.map(str::to_owned),
                number: n,
            }),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.numeric_content(item, key, format!("{path}[{i}]"), out);
                }
            }
            Value::Object(map) => {
                if let Some(obj) = self.canonical_object(map) {
                    for (k, v) in obj {
                        let child = format!("{path}.{k}");
                        self.numeric_content(v, Some(&k), child, out);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether `actual` is a permutation of elements matching `expected` one to one: a perfect
    /// bipartite matching, by Kuhn's augmenting paths over lazily evaluated, memoised edges.
    ///
    /// Candidates are tried in a helpful order, which never changes the result: first the
    /// actual elements with the same [`signature`](Self::signature) (equal apart from numbers),
    /// then all of them. A greedy pass pairs same-signature elements before any search, so a
    /// permuted list costs about one comparison per element.
    fn permutation_matches(&self, expected: &[Value], actual: &[Value], key: Option<&str>) -> bool {
        let n = expected.len();
        let actual_signatures: Vec<String> =
            actual.iter().map(|v| self.signature(v, key)).collect();
        let mut by_signature: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (j, sig) in actual_signatures.iter().enumerate() {
            by_signature.entry(sig.as_str()).or_default().push(j);
        }
        let preferred: Vec<&[usize]> = expected
            .iter()
            .map(|v| {
                by_signature
                    .get(self.signature(v, key).as_str())
                    .map_or(&[][..], Vec::as_slice)
            })
            .collect();
        let candidate = |left: usize, k: usize| -> usize {
            let pref = preferred[left];
            if k < pref.len() {
                pref[k]
            } else {
                k - pref.len()
            }
        };

        let mut right_of: Vec<Option<usize>> = vec![None; n];
        let mut left_of: Vec<Option<usize>> = vec![None; n];
        let mut memo: HashMap<(usize, usize), bool> = HashMap::new();
        let mut edge = |i: usize, j: usize| {
            *memo
                .entry((i, j))
                .or_insert_with(|| self.eq(&expected[i], &actual[j], key))
        };

        // Greedy pass over same-signature candidates.
        for left in 0..n {
            if let Some(&j) = preferred[left]
                .iter()
                .find(|&&j| left_of[j].is_none() && edge(left, j))
            {
                right_of[left] = Some(j);
                left_of[j] = Some(left);
            }
        }

        for start in 0..n {
            if right_of[start].is_some() {
                continue;
            }
            // Iterative depth-first search for an augmenting path from `start`: each frame is
            // (left element, next candidate position, right element chosen for it).
            let mut visited = vec![false; n];
            let mut stack: Vec<(usize, usize, usize)> = vec![(start, 0, usize::MAX)];
            let mut augmented = false;
            while let Some(frame) = stack.last_mut() {
                let (left, from) = (frame.0, frame.1);
                let total = preferred[left].len() + n;
                let Some(k) = (from..total).find(|&k| {
                    let j = candidate(left, k);
                    !visited[j] && edge(left, j)
                }) else {
                    stack.pop();
                    continue;
                };
                let j = candidate(left, k);
                frame.1 = k + 1;
                frame.2 = j;
                visited[j] = true;
                match left_of[j] {
                    Some(owner) => stack.push((owner, 0, usize::MAX)),
                    None => {
                        for &(l, _, r) in &stack {
                            right_of[l] = Some(r);
                            left_of[r] = Some(l);
                        }
                        augmented = true;
                        break;
                    }
                }
            }
            if !augmented {
                return false;
            }
        }
        true
    }

    /// A text equal for two values that differ only in their numbers (and in what the string
    /// rules ignore): numbers become `#`, strings their normal form, objects their canonical
    /// keys. Used only to order candidates, never to decide a match.
    fn signature(&self, value: &Value, key: Option<&str>) -> String {
        let mut out = String::new();
        self.write_signature(value, key, &mut out);
        out
    }

    fn write_signature(&self, value: &Value, key: Option<&str>, out: &mut String) {
        match coerce(value).as_ref() {
            Value::Null => out.push('n'),
            Value::Bool(b) => out.push(if *b { 'T' } else { 'F' }),
            Value::Number(_) => out.push('#'),
            Value::String(s) => {
                let text = if key.is_some_and(|k| self.is_method_key(k)) {
                    method_name(s)
                } else if let Some(t) = parse_instant(s) {
                    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                } else {
                    text_key(s)
                };
                out.push_str(&format!("s{}:{text}", text.len()));
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    self.write_signature(item, key, out);
                    out.push(',');
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                if let Some(obj) = self.canonical_object(map) {
                    for (k, v) in obj {
                        out.push_str(&format!("{}:{k}=", k.len()));
                        self.write_signature(v, Some(&k), out);
                        out.push(',');
                    }
                }
                out.push('}');
            }
        }
    }

    /// The one numeric value among the object's direct values (ignorable keys dropped).
    fn single_numeric_leaf<'v>(
        &self,
        map: &'v Map<String, Value>,
    ) -> Option<(&'v str, &'v Number)> {
        let mut found = None;
        for (k, v) in map {
            if self.is_ignorable(&canonical_key(k)) {
                continue;
            }
            if let Value::Number(n) = v {
                if found.is_some() {
                    return None;
                }
                found = Some((k.as_str(), n));
            }
        }
        found
    }

    /// A sort key for one element of an all-string array: equal keys iff the strings match.
    fn string_key(&self, value: &Value, key: Option<&str>) -> String {
        let Value::String(s) = value else {
            return canonical_json(value);
        };
        match coerce(value).as_ref() {
            Value::Object(obj) => {
                return format!("o:{}", canonical_json(&Value::Object(obj.clone())));
            }
            Value::Bool(b) => return format!("b:{b}"),
            _ => {}
        }
        if key.is_some_and(|k| self.is_method_key(k)) {
            return format!("m:{}", method_name(s));
        }
        if let Some(t) = parse_instant(s) {
            return format!(
                "d:{}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
            );
        }
        format!("s:{}", text_key(s))
    }

    fn is_ignorable(&self, key: &str) -> bool {
        self.cfg.ignorable_keys.iter().any(|k| k.trim() == key)
    }

    fn is_method_key(&self, key: &str) -> bool {
        let key = key.trim();
        self.cfg
            .method_keys
            .iter()
            .any(|k| k.trim().eq_ignore_ascii_case(key))
    }

    fn is_abs_key(&self, key: &str) -> bool {
        self.cfg
            .abs_value_keys
            .iter()
            .any(|needle| contains_ignore_case(key, needle))
    }
}

/// One number inside a list element, for tie-run detection.
struct NumericLeaf<'v> {
    path: String,
    key: Option<String>,
    number: &'v Number,
}

/// Rule 2 coercions of a single value.
fn coerce(value: &Value) -> Cow<'_, Value> {
    let Value::String(s) = value else {
        return Cow::Borrowed(value);
    };
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        return Cow::Owned(Value::Bool(true));
    }
    if t.eq_ignore_ascii_case("false") {
        return Cow::Owned(Value::Bool(false));
    }
    if t.starts_with('{')
        && let Ok(obj @ Value::Object(_)) = serde_json::from_str::<Value>(t)
    {
        return Cow::Owned(obj);
    }
    Cow::Borrowed(value)
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// Lower-cased `p_value`, `pvalue`, `p_val`, `significance_score`, or ending in `_p_value`.
fn is_p_value_key(key: &str) -> bool {
    let k = key.trim();
    ["p_value", "pvalue", "p_val", "significance_score"]
        .iter()
        .any(|name| k.eq_ignore_ascii_case(name))
        || k.len() >= "_p_value".len()
            && k.get(k.len() - "_p_value".len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case("_p_value"))
}

/// Case-insensitive substring test; allocation-free for ASCII text. An empty needle never
/// matches.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    if haystack.is_ascii() && needle.is_ascii() {
        return haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
    }
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Whether the less precise of `a` and `b` is the other rounded to its number of decimals.
///
/// Works on the shortest round-trip decimal text of both values, in exact integer arithmetic.
/// The less precise value needs at least one decimal, strictly fewer decimals than the other,
/// and at least two significant digits (so `0.1` is not accepted for `0.127`, but `0.13` is).
/// An exact half accepts both half-up and half-to-even rounding (`0.125` -> `0.13` or `0.12`).
fn is_rounding_of(a: f64, b: f64) -> bool {
    let (ta, tb) = (format!("{a}"), format!("{b}"));
    let (coarse, fine) = if decimals(&ta) <= decimals(&tb) {
        (ta, tb)
    } else {
        (tb, ta)
    };
    let (d, big_d) = (decimals(&coarse), decimals(&fine));
    if d == 0 || d == big_d || big_d > 30 || significant_digits(&coarse) < 2 {
        return false;
    }
    let (Some(coarse_units), Some(fine_units)) = (scaled(&coarse, d), scaled(&fine, big_d)) else {
        return false;
    };
    let Some(step) = u32::try_from(big_d - d)
        .ok()
        .and_then(|e| 10i128.checked_pow(e))
    else {
        return false;
    };
    let magnitude = fine_units.unsigned_abs();
    let step = step.unsigned_abs();
    let (q, r) = (magnitude / step, magnitude % step);
    let twice_r = r * 2;
    let candidates: &[u128] = if twice_r < step {
        &[q]
    } else if twice_r > step || q % 2 == 1 {
        &[q + 1]
    } else {
        &[q, q + 1]
    };
    let sign_matches = |c: u128| c == 0 || (coarse_units < 0) == (fine_units < 0);
    candidates
        .iter()
        .any(|&c| c == coarse_units.unsigned_abs() && sign_matches(c))
}

/// Decimal places in a shortest round-trip decimal text (`0.13` -> 2, `42` -> 0).
fn decimals(text: &str) -> usize {
    text.split_once('.').map_or(0, |(_, frac)| frac.len())
}

/// Significant digits of a decimal text (`0.13` -> 2, `120.5` -> 4, `0.1` -> 1).
fn significant_digits(text: &str) -> usize {
    text.chars()
        .filter(char::is_ascii_digit)
        .skip_while(|&c| c == '0')
        .count()
}

/// The decimal text as an integer count of `10^-places` units (`-0.13`, 2 -> -13).
fn scaled(text: &str, places: usize) -> Option<i128> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let mut digits = String::with_capacity(int.len() + places);
    digits.push_str(int);
    digits.push_str(frac);
    digits.extend(std::iter::repeat_n('0', places.checked_sub(frac.len())?));
    let value: i128 = digits.parse().ok()?;
    Some(if negative { -value } else { value })
}

/// Method-name normal form: lower-case, drop parentheticals, keep `[a-z0-9]`, drop a trailing
/// `test` (`Mann-Whitney U test` and `mann_whitney_u` both give `mannwhitneyu`).
fn method_name(s: &str) -> String {
    let mut depth = 0usize;
    let mut kept = String::with_capacity(s.len());
    for c in s.to_lowercase().chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 && (c.is_ascii_lowercase() || c.is_ascii_digit()) => kept.push(c),
            _ => {}
        }
    }
    match kept.strip_suffix("test") {
        Some(stem) => stem.to_owned(),
        None => kept,
    }
}

/// Rule 4 text equality (NFKC, dashes, trim, casefold), with an allocation-free ASCII path.
fn text_eq(x: &str, y: &str) -> bool {
    if x.is_ascii() && y.is_ascii() {
        return x.trim().eq_ignore_ascii_case(y.trim());
    }
    text_key(x) == text_key(y)
}

/// Rule 4 normal form: NFKC, U+2010-2015 and U+2212 to `-`, trim, Unicode casefold (then NFKC
/// again so the folded text is normalised too).
fn text_key(s: &str) -> String {
    let mapped: String = s
        .nfkc()
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            c => c,
        })
        .collect();
    caseless::default_case_fold_str(mapped.trim())
        .nfkc()
        .collect()
}

/// Canonical object key: trimmed; a numeric key in canonical number text (`"1.0"` -> `"1"`).
fn canonical_key(key: &str) -> String {
    let t = key.trim();
    if looks_numeric(t)
        && let Ok(x) = t.parse::<f64>()
        && let Some(n) = Number::from_f64(x).filter(|_| x.is_finite())
    {
        return canonical_json(&Value::Number(n));
    }
    t.to_owned()
}

/// `[+-]digits[.digits][e[+-]digits]` (also `.5` and `5.`), nothing else (no `inf`, `nan`).
fn looks_numeric(t: &str) -> bool {
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(pos) => (&body[..pos], Some(&body[pos + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// An ISO 8601 date or datetime string as an instant: a bare date is midnight, a naive time is
/// UTC. Accepts `T`, `t` or a space between date and time, optional seconds and fraction, and
/// `Z` or a numeric offset. Anything else is `None`.
fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() < 10
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return None;
    }
    if b.len() == 10 {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc());
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let mut text = String::with_capacity(s.len());
    text.push_str(&s[..10]);
    text.push('T');
    text.push_str(&s[11..]);
    if text.ends_with('z') {
        text.pop();
        text.push('Z');
    }
    if let Some(naive) = text.strip_suffix('Z') {
        return parse_naive(naive).map(|t| t.and_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"] {
        if let Ok(t) = DateTime::parse_from_str(&text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    parse_naive(&text).map(|t| t.and_utc())
}

fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(expected: Value, actual: Value) -> bool {
        matches(&expected, &actual, &MatchingConfig::default())
    }

    // --- SPEC 2.3 "Tested facts", row by row ---

    #[test]
    fn integer_matches_equal_float() {
        assert!(m(json!(42), json!(42.0)));
        assert!(m(json!(42.0), json!(42)));
    }

    #[test]
    fn value_rounded_to_two_decimals_matches() {
        assert!(m(json!(0.127), json!(0.13)));
        assert!(m(json!(0.13), json!(0.127)));
    }

    #[test]
    fn float_noise_within_relative_tolerance_matches() {
        assert!(m(json!(13270.42), json!(13270.421964)));
    }

    #[test]
    fn float_off_by_more_than_tolerance_does_not_match() {
        assert!(!m(json!(42.0), json!(42.05)));
        assert!(!m(json!(42.05), json!(42.0)));
    }

    #[test]
    fn distinct_integers_never_match() {
        assert!(!m(json!(1000), json!(1001)));
        assert!(!m(json!(1000.0), json!(1001.0)));
    }

    #[test]
    fn p_values_within_absolute_tolerance_match() {
        assert!(m(json!({"p_value": 0.0400}), json!({"p_value": 0.0415})));
    }

    #[test]
    fn p_values_beyond_absolute_tolerance_do_not_match() {
        assert!(!m(json!({"p_value": 0.040}), json!({"p_value": 0.045})));
    }

    #[test]
    fn boolean_string_matches_boolean() {
        assert!(m(json!("TRUE"), json!(true)));
        assert!(m(json!(" false "), json!(false)));
        assert!(m(json!(false), json!("False")));
    }

    #[test]
    fn nested_nulls_match() {
        assert!(m(json!([null]), json!([null])));
        assert!(m(json!({"a": null, "b": 1}), json!({"a": null, "b": 1.0})));
    }

    #[test]
    fn bool_never_matches_a_number() {
        assert!(!m(json!(true), json!(1)));
        assert!(!m(json!(1), json!(true)));
        assert!(!m(json!(false), json!(0)));
        assert!(!m(json!({"ok": true}), json!({"ok": 1})));
        assert!(!m(json!([true]), json!([1])));
    }

    #[test]
    fn top_level_null_never_matches() {
        assert!(!m(json!(null), json!(null)));
        assert!(!m(json!(null), json!(0)));
        assert!(!m(json!(0), json!(null)));
        assert!(!m(json!(""), json!(null)));
        assert_eq!(
            match_outcome(&json!(null), &json!(null), &MatchingConfig::default()),
            None
        );
    }

    #[test]
    fn stringified_numeric_keys_match_in_canonical_form() {
        assert!(m(json!({"1": 5}), json!({"1.0": 5})));
        assert!(m(json!({" 2.50 ": "a"}), json!({"2.5": "a"})));
    }

    #[test]
    fn bare_date_matches_midnight_datetime() {
        assert!(m(json!("2020-01-05"), json!("2020-01-05T00:00:00")));
    }

    #[test]
    fn string_arrays_compare_as_multisets() {
        assert!(m(json!(["b", "a"]), json!(["a", "b"])));
    }

    #[test]
    fn number_arrays_keep_their_order() {
        assert!(!m(json!([3, 1]), json!([1, 3])));
    }

    #[test]
    fn tied_list_entries_may_be_permuted() {
        let expected = json!([
            {"category": "x", "mean": 5},
            {"category": "y", "mean": 5},
            {"category": "z", "mean": 2}
        ]);
        let actual = json!([
            {"category": "y", "mean": 5},
            {"category": "x", "mean": 5},
            {"category": "z", "mean": 2}
        ]);
        assert!(m(expected, actual));
    }

    #[test]
    fn entry_moved_out_of_its_tie_run_does_not_match() {
        let expected = json!([
            {"category": "x", "mean": 5},
            {"category": "y", "mean": 5},
            {"category": "z", "mean": 2}
        ]);
        let actual = json!([
            {"category": "z", "mean": 2},
            {"category": "x", "mean": 5},
            {"category": "y", "mean": 5}
        ]);
        assert!(!m(expected, actual));
    }

    #[test]
    fn swapped_group_statistics_match() {
        assert!(m(
            json!({"mean1": 1, "mean2": 2}),
            json!({"mean1": 2, "mean2": 1})
        ));
    }

    #[test]
    fn correlation_sign_is_ignored() {
        assert!(m(json!({"correlation": -0.8}), json!({"correlation": 0.8})));
    }

    // --- Further edge cases ---

    #[test]
    fn equal_answers_match_by_hash_others_by_tolerance() {
        let cfg = MatchingConfig::default();
        assert_eq!(
            match_outcome(&json!(42), &json!(42.0), &cfg),
            Some(MatchedBy::Hash)
        );
        assert_eq!(
            match_outcome(&json!({"b": 1, "a": 2}), &json!({"a": 2, "b": 1}), &cfg),
            Some(MatchedBy::Hash)
        );
        assert_eq!(
            match_outcome(&json!(0.127), &json!(0.1271), &cfg),
            Some(MatchedBy::Tolerance)
        );
        assert_eq!(match_outcome(&json!(1), &json!(2), &cfg), None);
    }

    #[test]
    fn falsy_answers_match_themselves() {
        for v in [json!(0), json!(false), json!(""), json!([]), json!({})] {
            assert!(m(v.clone(), v));
        }
    }

    #[test]
    fn negative_zero_equals_zero() {
        assert!(m(json!(-0.0), json!(0.0)));
        assert!(m(json!({"shift": -0.0}), json!({"shift": 0})));
    }

    #[test]
    fn relative_tolerance_is_one_in_a_thousand() {
        assert!(m(json!(1000.5), json!(1001.4)));
        assert!(!m(json!(1000.5), json!(1001.6)));
    }

    #[test]
    fn absolute_floor_applies_near_zero() {
        assert!(m(json!(0.0000001), json!(0.0000009)));
        assert!(!m(json!(0.0000001), json!(0.0000021)));
    }

    #[test]
    fn old_absolute_tolerance_of_a_tenth_is_gone() {
        assert!(!m(json!(0.1), json!(0.2)));
        assert!(!m(json!(0.5), json!(0.55)));
    }

    #[test]
    fn rounding_needs_two_significant_digits() {
        assert!(m(json!(0.127), json!(0.13)));
        assert!(!m(json!(0.127), json!(0.1)));
        assert!(m(json!(39.2074), json!(39.21)));
        assert!(m(json!(-0.127), json!(-0.13)));
        assert!(!m(json!(-0.127), json!(0.13)));
    }

    #[test]
    fn rounding_at_exact_half_accepts_half_up_and_half_even() {
        assert!(m(json!(0.125), json!(0.12)));
        assert!(m(json!(0.135), json!(0.14)));
        assert!(!m(json!(0.135), json!(0.13)));
        assert!(!m(json!(0.55), json!(0.5)));
        // 0.6 has one significant digit: not a rounding relation, and 9% off.
        assert!(!m(json!(0.55), json!(0.6)));
    }

    #[test]
    fn rounding_needs_fewer_decimals_on_one_side() {
        // Same number of decimals: no rounding relation, plain tolerance only.
        assert!(!m(json!(0.13), json!(0.14)));
        // 0.125 rounds half-up to 0.13; 0.124 does not.
        assert!(m(json!(0.125), json!(0.13)));
        assert!(!m(json!(0.124), json!(0.13)));
        // An integer-valued side never acts as a rounding (42 is not 42.4 rounded).
        assert!(!m(json!(42), json!(42.4)));
    }

    #[test]
    fn rounding_can_be_switched_off() {
        let cfg = MatchingConfig {
            accept_rounded: false,
            ..MatchingConfig::default()
        };
        assert!(!matches(&json!(0.127), &json!(0.13), &cfg));
    }

    #[test]
    fn big_integers_compare_exactly() {
        assert!(!m(json!(9007199254740993_i64), json!(9007199254740992_i64)));
        assert!(m(json!(u64::MAX), json!(u64::MAX)));
    }

    #[test]
    fn p_value_key_variants_use_p_value_tolerance() {
        for key in [
            "p_value",
            "P_Value",
            "pvalue",
            "p_val",
            "significance_score",
            "levene_p_value",
        ] {
            assert!(m(json!({key: 0.0400}), json!({key: 0.0415})), "{key}");
            assert!(!m(json!({key: 0.040}), json!({key: 0.045})), "{key}");
        }
    }

    #[test]
    fn non_p_value_key_does_not_get_p_value_tolerance() {
        assert!(!m(
            json!({"statistic": 0.0400}),
            json!({"statistic": 0.0415})
        ));
        assert!(!m(json!({"p_values": 0.0400}), json!({"p_values": 0.0415})));
    }

    #[test]
    fn p_value_tolerance_is_configurable() {
        let cfg = MatchingConfig {
            p_value_abs_tol: 0.01,
            ..MatchingConfig::default()
        };
        assert!(matches(
            &json!({"p_value": 0.040}),
            &json!({"p_value": 0.045}),
            &cfg
        ));
    }

    #[test]
    fn abs_value_keys_match_by_substring() {
        assert!(m(
            json!({"association_score": -0.51}),
            json!({"association_score": 0.51})
        ));
        assert!(m(
            json!({"clean_Correlation": [-0.2, 0.3]}),
            json!({"clean_Correlation": [0.2, -0.3]})
        ));
        assert!(!m(json!({"slope": -0.8}), json!({"slope": 0.8})));
    }

    #[test]
    fn method_names_compare_loosely() {
        assert!(m(
            json!({"test": "Mann-Whitney U test"}),
            json!({"test": "mann_whitney_u"})
        ));
        assert!(m(
            json!({"method_choice": "t-test (Student)"}),
            json!({"method_choice": "T test"})
        ));
        assert!(!m(
            json!({"test_used": "Mann-Whitney U"}),
            json!({"test_used": "Kruskal-Wallis"})
        ));
        // Outside method keys the loose rule does not apply.
        assert!(!m(
            json!({"label": "Mann-Whitney U test"}),
            json!({"label": "mann_whitney_u"})
        ));
    }

    #[test]
    fn strings_ignore_case_width_dashes_and_outer_space() {
        assert!(m(json!("  North-East "), json!("north-east")));
        assert!(m(json!("non\u{2011}smoker"), json!("Non-Smoker")));
        assert!(m(json!("\u{2212}5 units"), json!("-5 units")));
        assert!(m(json!("Straße"), json!("STRASSE")));
        assert!(m(json!("\u{FF21}BC"), json!("abc")));
        assert!(m(json!("Cafe\u{301}"), json!("CAFÉ")));
        assert!(!m(json!("north east"), json!("northeast")));
    }

    #[test]
    fn json_object_string_is_parsed() {
        assert!(m(json!("{\"mean\": 4.6}"), json!({"mean": 4.6})));
        assert!(m(json!({"mean": 4.6}), json!(" {\"mean\": 4.6004} ")));
        assert!(!m(json!("[1, 2]"), json!([1, 2])));
    }

    #[test]
    fn datetimes_compare_as_instants() {
        assert!(m(
            json!("2020-01-05T10:00:00+02:00"),
            json!("2020-01-05T08:00:00Z")
        ));
        assert!(m(
            json!("2020-01-05T08:00:00"),
            json!("2020-01-05 08:00:00.000")
        ));
        assert!(m(json!("2020-01-05T08:00"), json!("2020-01-05T08:00:00z")));
        assert!(m(
            json!("2020-01-05T08:00:00.5"),
            json!("2020-01-05T08:00:00.500000")
        ));
        assert!(!m(json!("2020-01-05"), json!("2020-01-05T00:00:01")));
        assert!(!m(json!("2020-01-05"), json!("2020-01-06")));
        assert!(!m(json!("2020-01-05T00:00:00+01:00"), json!("2020-01-05")));
    }

    #[test]
    fn date_like_labels_that_are_not_dates_compare_as_text() {
        assert!(m(json!("2020-01"), json!("2020-01")));
        assert!(!m(json!("2020-13-45"), json!("2020-13-46")));
        assert!(m(json!("2020-13-45 A"), json!("2020-13-45 a")));
    }

    #[test]
    fn ignorable_keys_are_dropped_on_both_sides() {
        assert!(m(
            json!({"columns_with_outliers": 2, "total_outliers": 9, "z_threshold": 3.0}),
            json!({"columns_with_outliers": 2, "total_outliers": 9})
        ));
        assert!(m(
            json!({"median1": 1.5, "group1": "a"}),
            json!({"median1": 1.5, "group1": "b"})
        ));
    }

    #[test]
    fn objects_need_equal_key_sets() {
        assert!(!m(json!({"a": 1}), json!({"a": 1, "b": 2})));
        assert!(!m(json!({"a": 1, "b": 2}), json!({"a": 1})));
        assert!(m(json!({" a ": 1}), json!({"a": 1})));
        assert!(!m(json!({"A": 1}), json!({"a": 1})));
    }

    #[test]
    fn colliding_canonical_keys_compare_only_when_identical() {
        let v = json!({"1": "a", "1.0": "b"});
        assert!(m(v.clone(), v));
        assert!(!m(
            json!({"1": "a", "1.0": "b"}),
            json!({"1": "b", "1.0": "a"})
        ));
    }

    #[test]
    fn all_present_swap_pairs_swap_together() {
        assert!(m(
            json!({"mean1": 1.0, "mean2": 2.0, "n1": 10, "n2": 20, "statistic": 3.1}),
            json!({"mean1": 2.0, "mean2": 1.0, "n1": 20, "n2": 10, "statistic": 3.1})
        ));
        // Only one pair swapped while the other is not: no match.
        assert!(!m(
            json!({"mean1": 1.0, "mean2": 2.0, "n1": 10, "n2": 20}),
            json!({"mean1": 2.0, "mean2": 1.0, "n1": 10, "n2": 20})
        ));
    }

    #[test]
    fn swap_is_not_applied_to_nonmatching_other_keys() {
        assert!(!m(
            json!({"mean1": 1, "mean2": 2, "statistic": 3.1}),
            json!({"mean1": 2, "mean2": 1, "statistic": 9.9})
        ));
    }

    #[test]
    fn arrays_need_equal_lengths() {
        assert!(!m(json!([1, 2]), json!([1, 2, 3])));
        assert!(!m(json!(["a"]), json!(["a", "a"])));
    }

    #[test]
    fn string_multisets_respect_multiplicity_and_normalisation() {
        assert!(!m(json!(["a", "a", "b"]), json!(["a", "b", "b"])));
        assert!(m(json!(["BMI", "age"]), json!(["Age", "bmi"])));
        assert!(m(
            json!(["2020-01-05", "x"]),
            json!(["X", "2020-01-05T00:00:00"])
        ));
    }

    #[test]
    fn mixed_arrays_compare_in_order() {
        assert!(m(json!(["a", 1.0]), json!(["A", 1])));
        assert!(!m(json!(["a", 1]), json!([1, "a"])));
    }

    #[test]
    fn tie_runs_of_plain_numbers_are_trivially_permutable() {
        assert!(m(json!([5, 5.0, 2]), json!([5.0, 5, 2])));
        assert!(!m(json!([5, 5, 2]), json!([5, 2, 5])));
    }

    #[test]
    fn tie_runs_use_numeric_tolerance() {
        let expected = json!([
            {"category": "a", "mean": 10.0001},
            {"category": "b", "mean": 10.0002},
            {"category": "c", "mean": 3.0}
        ]);
        let actual = json!([
            {"category": "b", "mean": 10.0002},
            {"category": "a", "mean": 10.0001},
            {"category": "c", "mean": 3.0}
        ]);
        assert!(m(expected, actual));
    }

    #[test]
    fn elements_without_numbers_form_no_tie_run() {
        assert!(!m(
            json!([{"name": "a"}, {"name": "b"}, 1]),
            json!([{"name": "b"}, {"name": "a"}, 1])
        ));
    }

    #[test]
    fn tie_run_permutation_must_be_one_to_one() {
        // Both actual entries match expected "x"; nothing matches "y".
        let expected = json!([{"c": "x", "v": 1.5}, {"c": "y", "v": 1.5}]);
        let actual = json!([{"c": "x", "v": 1.5}, {"c": "x", "v": 1.5}]);
        assert!(!m(expected, actual));
    }

    #[test]
    fn tie_run_needs_augmenting_path() {
        // e0 matches a0 and a1, e1 only a0: pairing e0 with a0 first must be rerouted.
        assert!(m(json!([1.5, 1.5014, 9]), json!([1.5007, 1.499, 9])));
        assert!(!m(json!([1.5, 1.5014, 9]), json!([1.499, 1.4991, 9])));
        let expected = json!([1.5, 1.5004, 1.5008, 9]);
        let actual = json!([1.5008, 1.5, 1.5004, 9]);
        assert!(m(expected, actual));
    }

    #[test]
    fn long_reversed_tie_run_with_float_noise_matches() {
        let list = |noise: f64, reversed: bool| {
            let mut items: Vec<Value> = (0..300)
                .map(|i| json!({"category": format!("c{i}"), "mean": 5.0 + noise}))
                .collect();
            if reversed {
                items.reverse();
            }
            Value::Array(items)
        };
        assert!(m(list(0.0, false), list(1e-7, true)));
        // One label changed: no perfect matching.
        let mut broken = list(1e-7, true);
        broken[17]["category"] = json!("other");
        assert!(!m(list(0.0, false), broken));
    }

    #[test]
    fn separate_tie_runs_do_not_mix() {
        let expected = json!([
            {"c": "a", "v": 5}, {"c": "b", "v": 5}, {"c": "m", "v": 3},
            {"c": "x", "v": 1}, {"c": "y", "v": 1}
        ]);
        let ok = json!([
            {"c": "b", "v": 5}, {"c": "a", "v": 5}, {"c": "m", "v": 3},
            {"c": "y", "v": 1}, {"c": "x", "v": 1}
        ]);
        let crossed = json!([
            {"c": "x", "v": 1}, {"c": "a", "v": 5}, {"c": "m", "v": 3},
            {"c": "b", "v": 5}, {"c": "y", "v": 1}
        ]);
        assert!(m(expected.clone(), ok));
        assert!(!m(expected, crossed));
    }

    #[test]
    fn object_with_one_number_matches_that_number_both_ways() {
        assert!(m(json!({"column": "charges", "mean": 4.6}), json!(4.6)));
        assert!(m(json!(4.6), json!({"column": "charges", "mean": 4.6})));
        assert!(m(json!(4.6), json!({"mean": 4.6004})));
        assert!(!m(json!({"mean": 4.6, "std": 1.0}), json!(4.6)));
        assert!(!m(json!({"mean": 4.6}), json!(5.6)));
        // The leaf keeps its key's rules: p-value tolerance here.
        assert!(m(json!({"p_value": 0.0400}), json!(0.0415)));
        // Ignorable keys do not count as a second number.
        assert!(m(
            json!({"total_outliers": 9, "z_threshold": 3.0}),
            json!(9)
        ));
        // A bool leaf is not numeric.
        assert!(!m(json!({"significant": true}), json!(1)));
    }

    #[test]
    fn different_kinds_do_not_match() {
        assert!(!m(json!("42"), json!(42)));
        assert!(!m(json!([42]), json!(42)));
        assert!(!m(json!({"a": [1]}), json!({"a": 1})));
        assert!(!m(json!("yes"), json!(true)));
    }

    #[test]
    fn nested_structures_match_recursively() {
        let expected = json!({
            "target_column": "charges",
            "group_variances": {"1": 2.5, "2": 3.25},
            "test_used": "Levene test",
            "significance_score": 0.012,
            "variances_equal": false
        });
        let actual = json!({
            "target_column": "Charges",
            "group_variances": {"2.0": 3.2501, "1.0": 2.5},
            "test_used": "levene",
            "significance_score": 0.0135,
            "variances_equal": "false"
        });
        assert!(m(expected, actual));
    }

    #[test]
    fn default_config_has_the_spec_values() {
        let cfg = MatchingConfig::default();
        assert_eq!(cfg.float_rel_tol, 1e-3);
        assert_eq!(cfg.float_abs_tol, 1e-6);
        assert_eq!(cfg.p_value_abs_tol, 2e-3);
        assert_eq!(cfg.p_value_rel_tol, 0.0);
        assert_eq!(cfg.abs_value_keys, ["correlation", "association"]);
        assert_eq!(cfg.ignorable_keys.len(), 7);
        assert_eq!(cfg.method_keys.len(), 5);
        assert_eq!(cfg.swap_pairs.len(), 7);
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn partial_config_keeps_other_defaults() {
        let cfg: MatchingConfig = serde_json::from_value(json!({
            "float_rel_tol": 0.01,
            "swap_pairs": [["a1", "a2"]]
        }))
        .unwrap();
        assert_eq!(cfg.float_rel_tol, 0.01);
        assert_eq!(cfg.p_value_abs_tol, 2e-3);
        assert_eq!(cfg.swap_pairs, [("a1".to_owned(), "a2".to_owned())]);
        assert!(matches(
            &json!({"a1": 1, "a2": 2}),
            &json!({"a1": 2, "a2": 1}),
            &cfg
        ));
    }

    #[test]
    fn unknown_config_key_is_rejected_by_name() {
        let err = serde_json::from_value::<MatchingConfig>(json!({"float_tol": 0.1})).unwrap_err();
        assert!(err.to_string().contains("float_tol"), "{err}");
    }

    #[test]
    fn invalid_tolerance_is_rejected_with_key_and_value() {
        let cfg = MatchingConfig {
            float_rel_tol: -0.5,
            ..MatchingConfig::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(
            err.contains("matching.float_rel_tol") && err.contains("-0.5"),
            "{err}"
        );
        let cfg = MatchingConfig {
            swap_pairs: vec![("n1".into(), "n1".into())],
            ..MatchingConfig::default()
        };
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("swap_pairs")
        );
    }

    #[test]
    fn numeric_key_detection_is_strict() {
        for k in ["1", "-2.5", "1e3", ".5", "5.", "+7"] {
            assert!(looks_numeric(k), "{k}");
        }
        for k in [
            "inf",
            "nan",
            "1e",
            "e5",
            "",
            ".",
            "1.2.3",
            "(30.0, 45.0]",
            "0x10",
        ] {
            assert!(!looks_numeric(k), "{k}");
        }
        assert_eq!(canonical_key("1e3"), "1000");
        assert_eq!(canonical_key("(30.0, 45.0]"), "(30.0, 45.0]");
    }

    #[test]
    fn method_name_normal_form() {
        assert_eq!(method_name("Mann-Whitney U test"), "mannwhitneyu");
        assert_eq!(method_name("mann_whitney_u"), "mannwhitneyu");
        assert_eq!(method_name("Welch t-test (unequal variances)"), "welcht");
        assert_eq!(method_name("ANOVA"), "anova");
    }
}
