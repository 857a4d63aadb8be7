//! An independent recomputation of procedural ground truths: the CSV is read with the `csv`
//! crate using the dataset's dialect, and every operator is re-implemented here in plain Rust
//! (no pandas, no Python), so a wrong pandas line in a reference program shows up as a mismatch.
//!
//! Covered: pool selection, bindings, picks by variance/skew/cardinality, zscore/log1p/abs,
//! threshold filters, stable sorts, `top_n`, every groupby statistic with argmax/argmin (ties
//! raise), mean/median/std/variance/sum/min/max, series statistics, Pearson correlation, mean
//! ratio, and the Student t / Mann-Whitney U statistic of `ttest_ind` (its p-value and the
//! Shapiro/Levene p-values need distribution functions and are not recomputed).

use std::collections::BTreeMap;

use csvagent_sdk::dataset::{Dataset, Profile, decode};
use csvagent_sdk::question::procedural::ops::Op;
use csvagent_sdk::question::procedural::pools::Pools;
use csvagent_sdk::question::procedural::program::Step;
use serde_json::{Value, json};

/// pandas' default NA strings plus the sandbox loader's extra tokens (SPEC 5.1).
const NA: [&str; 24] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "?", "NA", "N/A", "na",
    "n/a",
];

/// One column as loaded: numbers, or text labels as pandas would stringify them.
#[derive(Debug, Clone)]
pub enum Column {
    Num(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

/// The data, column by column.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: BTreeMap<String, Column>,
    pub rows: usize,
}

fn parse_number(raw: &str, decimal: char) -> Option<f64> {
    let mut s = raw.trim().to_owned();
    for prefix in ['$', '€', '£'] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_owned();
        }
    }
    if let Some(rest) = s.strip_suffix('%') {
        s = rest.to_owned();
    }
    if decimal == ',' {
        s = s.replace('.', "").replace(',', ".");
    } else {
        s = s.replace(',', "");
    }
    s.parse::<f64>().ok()
}

/// Reads the dataset's CSV with its dialect; numeric columns (per the profile) become numbers,
/// bool columns the labels `True`/`False`, other columns their raw text. NA strings are missing.
pub fn load(dataset: &Dataset, profile: &Profile) -> Table {
    let bytes = std::fs::read(&dataset.csv_path).expect("read the CSV");
    let text = decode(&bytes, &dataset.dialect.encoding).expect("decode the CSV");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(dataset.dialect.delimiter as u8)
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    let mut raw: Vec<Vec<Option<String>>> = vec![Vec::new(); headers.len()];
    let mut rows = 0;
    for record in reader.records() {
        let record = record.expect("a CSV record");
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        rows += 1;
        for (i, column) in raw.iter_mut().enumerate() {
            let field = record.get(i).unwrap_or("");
            column.push(if NA.contains(&field) {
                None
            } else {
                Some(field.to_owned())
            });
        }
    }
    let mut columns = BTreeMap::new();
    for (name, values) in headers.into_iter().zip(raw) {
        let Some(profile_column) = profile.columns.get(&name) else {
            continue;
        };
        let column = if profile_column.is_numeric() {
            Column::Num(
                values
                    .iter()
                    .map(|v| {
                        v.as_deref()
                            .and_then(|s| parse_number(s, dataset.dialect.decimal))
                    })
                    .collect(),
            )
        } else if profile_column.dtype == "bool" {
            Column::Text(
                values
                    .into_iter()
                    .map(|v| {
                        v.map(|s| match s.trim().to_lowercase().as_str() {
                            "true" => "True".to_owned(),
                            "false" => "False".to_owned(),
                            _ => s,
                        })
                    })
                    .collect(),
            )
        } else {
            Column::Text(values)
        };
        columns.insert(name, column);
    }
    Table { columns, rows }
}

fn num<'a>(table: &'a Table, name: &str) -> Result<&'a [Option<f64>], String> {
    match table.columns.get(name) {
        Some(Column::Num(v)) => Ok(v),
        _ => Err(format!("`{name}` is not a numeric column")),
    }
}

fn text<'a>(table: &'a Table, name: &str) -> Result<&'a [Option<String>], String> {
    match table.columns.get(name) {
        Some(Column::Text(v)) => Ok(v),
        _ => Err(format!("`{name}` is not a text column")),
    }
}

fn present(values: &[Option<f64>], rows: &[usize]) -> Vec<f64> {
    rows.iter().filter_map(|&r| values[r]).collect()
}

fn mean(x: &[f64]) -> Option<f64> {
    (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64)
}

fn variance(x: &[f64], ddof: usize) -> Option<f64> {
    if x.len() <= ddof {
        return None;
    }
    let m = mean(x)?;
    Some(x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - ddof) as f64)
}

fn median(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// pandas' bias-corrected sample skewness.
fn skew(x: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 3 {
        return None;
    }
    let m = mean(x)?;
    let m2: f64 = x.iter().map(|v| (v - m).powi(2)).sum();
    let m3: f64 = x.iter().map(|v| (v - m).powi(3)).sum();
    if m2.abs() < 1e-14 * (m * m * n).max(1e-300) {
        return Some(0.0);
    }
    Some((n * (n - 1.0).sqrt() / (n - 2.0)) * (m3 / m2.powf(1.5)))
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn finite(x: Option<f64>, what: &str) -> Result<f64, String> {
    x.filter(|v| v.is_finite())
        .ok_or_else(|| format!("{what} is undefined"))
}

/// Picks the name with the extreme score (first in `names` order on exact ties), ignoring
/// undefined scores.
fn pick(names: &[String], scores: &[Option<f64>], largest: bool) -> Result<String, String> {
    let mut best: Option<(usize, f64)> = None;
    for (i, s) in scores.iter().enumerate() {
        let Some(s) = s.filter(|v| v.is_finite()) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((_, b)) => {
                if largest {
                    s > b
                } else {
                    s < b
                }
            }
        };
        if better {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| names[i].clone())
        .ok_or_else(|| "no column to pick".to_owned())
}

fn groups(
    table: &Table,
    rows: &[usize],
    cat: &str,
) -> Result<BTreeMap<String, Vec<usize>>, String> {
    let labels = text(table, cat)?;
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &r in rows {
        if let Some(label) = &labels[r] {
            out.entry(label.clone()).or_default().push(r);
        }
    }
    Ok(out)
}

fn student_t(a: &[f64], b: &[f64]) -> Option<f64> {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let pooled = ((n1 - 1.0) * variance(a, 1)? + (n2 - 1.0) * variance(b, 1)?) / (n1 + n2 - 2.0);
    Some((mean(a)? - mean(b)?) / (pooled * (1.0 / n1 + 1.0 / n2)).sqrt())
}

/// The Mann-Whitney U statistic of the first sample (average ranks for ties).
fn mann_whitney_u(a: &[f64], b: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += all[i..=j].iter().filter(|x| x.1).count() as f64 * rank;
        i = j + 1;
    }
    let n1 = a.len() as f64;
    rank_sum - n1 * (n1 + 1.0) / 2.0
}

/// Recomputes the answer of a program from the table. `chosen_test` is the test the ground
/// truth reports for an evidence chain (its choice needs Shapiro and Levene p-values, which are
/// not recomputed here). Errors are the reasons the program has no answer (a tie, an empty
/// selection).
pub fn evaluate(
    table: &Table,
    steps: &[Step],
    pools: &Pools,
    chosen_test: Option<&str>,
) -> Result<Value, String> {
    let mut rows: Vec<usize> = (0..table.rows).collect();
    let mut numeric_cols: Vec<String> = Vec::new();
    let mut categorical_cols: Vec<String> = Vec::new();
    let mut selected = String::new();
    let mut cat = String::new();
    let (mut n1, mut n2) = (String::new(), String::new());
    let mut series: Vec<Option<f64>> = Vec::new();
    let mut group_stats: BTreeMap<String, Option<f64>> = BTreeMap::new();
    let mut split: Vec<Vec<f64>> = Vec::new();
    for step in steps {
        let column = step.column.clone().unwrap_or_default();
        match step.op {
            Op::SelectNumericCols => numeric_cols = pools.num.clone(),
            Op::SelectCategoricalCols => categorical_cols = pools.cat.clone(),
            Op::BindNumericCol => selected = column,
            Op::BindBinaryCatCol => cat = column,
            Op::BindNumCol1 => n1 = column,
            Op::BindNumCol2 => n2 = column,
            Op::PickNumericByVariance | Op::PickNumericBySkew => {
                let scores = numeric_cols
                    .iter()
                    .map(|c| {
                        let x = present(num(table, c)?, &rows);
                        Ok(if step.op == Op::PickNumericByVariance {
                            variance(&x, 1)
                        } else {
                            skew(&x)
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                selected = pick(&numeric_cols, &scores, true)?;
            }
            Op::PickCategoricalByCardinality => {
                let scores = categorical_cols
                    .iter()
                    .map(|c| {
                        let labels = text(table, c)?;
                        let distinct: std::collections::BTreeSet<&String> =
                            rows.iter().filter_map(|&r| labels[r].as_ref()).collect();
                        Ok(Some(distinct.len() as f64))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                cat = pick(&categorical_cols, &scores, false)?;
            }
            Op::Zscore | Op::Log1p | Op::Abs => {
                let values = num(table, &selected)?;
                let x = present(values, &rows);
                let m = mean(&x).unwrap_or(f64::NAN);
                let sd = variance(&x, 0).map_or(f64::NAN, f64::sqrt);
                let sd = if sd == 0.0 { 1.0 } else { sd };
                series = rows
                    .iter()
                    .map(|&r| {
                        values[r].map(|v| match step.op {
                            Op::Zscore => (v - m) / sd,
                            Op::Log1p => v.max(0.0).ln_1p(),
                            _ => v.abs(),
                        })
                    })
                    .collect();
            }
            Op::FilterByThreshold => {
                let values = num(table, &selected)?;
                rows.retain(|&r| values[r].is_some_and(|v| v > 0.0));
            }
            Op::SortByColumn => {
                let values = num(table, &selected)?;
                rows.sort_by(|&a, &b| match (values[a], values[b]) {
                    (Some(x), Some(y)) => x.total_cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                });
            }
            Op::TopN => rows.truncate(10),
            Op::GroupbyValues => {
                let values = num(table, &selected)?;
                split = groups(table, &rows, &cat)?
                    .into_values()
                    .map(|members| present(values, &members))
                    .collect();
            }
            Op::GroupbyMean | Op::GroupbyMedian | Op::GroupbyStd | Op::GroupbyVar => {
                let values = num(table, &selected)?;
                group_stats = groups(table, &rows, &cat)?
                    .into_iter()
                    .map(|(label, members)| {
                        let x = present(values, &members);
                        let stat = match step.op {
                            Op::GroupbyMean => mean(&x),
                            Op::GroupbyMedian => median(&x),
                            Op::GroupbyStd => variance(&x, 1).map(f64::sqrt),
                            _ => variance(&x, 1),
                        };
                        (label, stat)
                    })
                    .collect();
            }
            Op::GroupbyCount => {
                group_stats = groups(table, &rows, &cat)?
                    .into_iter()
                    .map(|(label, members)| (label, Some(members.len() as f64)))
                    .collect();
            }
            op if op.extreme().is_some() => {
                let (key, largest) = op.extreme().unwrap_or(("mean", true));
                let defined: Vec<(&String, f64)> = group_stats
                    .iter()
                    .filter_map(|(l, v)| v.filter(|x| x.is_finite()).map(|x| (l, x)))
                    .collect();
                let best = defined
                    .iter()
                    .map(|(_, v)| *v)
                    .reduce(|a, b| {
                        if (largest && b > a) || (!largest && b < a) {
                            b
                        } else {
                            a
                        }
                    })
                    .ok_or("no group")?;
                let winners: Vec<&&String> = defined
                    .iter()
                    .filter(|(_, v)| *v == best)
                    .map(|(l, _)| l)
                    .collect();
                if winners.len() != 1 {
                    return Err(format!("tie between {winners:?}"));
                }
                let value = if key == "count" {
                    json!(best as i64)
                } else {
                    json!(r3(best))
                };
                return Ok(json!({"group": winners[0], key: value}));
            }
            Op::Mean | Op::Median | Op::Std | Op::Variance | Op::Sum => {
                let x = present(num(table, &selected)?, &rows);
                let (key, v) = match step.op {
                    Op::Mean => ("mean", mean(&x)),
                    Op::Median => ("median", median(&x)),
                    Op::Std => ("std", variance(&x, 1).map(f64::sqrt)),
                    Op::Variance => ("variance", variance(&x, 1)),
                    _ => ("sum", (!x.is_empty()).then(|| x.iter().sum())),
                };
                return Ok(json!({"column": selected, key: r3(finite(v, key)?)}));
            }
            Op::Min | Op::Max => {
                let x = present(num(table, &n1)?, &rows);
                let v = if step.op == Op::Min {
                    x.iter().copied().reduce(f64::min)
                } else {
                    x.iter().copied().reduce(f64::max)
                };
                let key = if step.op == Op::Min { "min" } else { "max" };
                return Ok(json!({"column": n1, key: r3(finite(v, key)?)}));
            }
            Op::MeanSeries | Op::MedianSeries | Op::StdSeries | Op::MaxSeries | Op::MinSeries => {
                let x: Vec<f64> = series.iter().flatten().copied().collect();
                let (metric, v) = match step.op {
                    Op::MeanSeries => ("mean", mean(&x)),
                    Op::MedianSeries => ("median", median(&x)),
                    Op::StdSeries => ("std", variance(&x, 1).map(f64::sqrt)),
                    Op::MaxSeries => ("max", x.iter().copied().reduce(f64::max)),
                    _ => ("min", x.iter().copied().reduce(f64::min)),
                };
                return Ok(json!({"metric": metric, "value": r3(finite(v, metric)?)}));
            }
            Op::Correlation | Op::Ratio => {
                let (a, b) = (num(table, &n1)?, num(table, &n2)?);
                let pairs: Vec<(f64, f64)> =
                    rows.iter().filter_map(|&r| Some((a[r]?, b[r]?))).collect();
                if step.op == Op::Ratio {
                    let ratios: Vec<f64> = pairs
                        .iter()
                        .filter(|p| p.1 != 0.0)
                        .map(|p| p.0 / p.1)
                        .collect();
                    return Ok(
                        json!({"col1": n1, "col2": n2, "mean_ratio": r3(finite(mean(&ratios), "ratio")?)}),
                    );
                }
                let xs: Vec<f64> = pairs.iter().map(|p| p.0).collect();
                let ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
                let (mx, my) = (mean(&xs).unwrap_or(f64::NAN), mean(&ys).unwrap_or(f64::NAN));
                let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
                let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
                let syy: f64 = ys.iter().map(|y| (y - my) * (y - my)).sum();
                let r = sxy / (sxx * syy).sqrt();
                return Ok(
                    json!({"col1": n1, "col2": n2, "correlation": r3(finite(Some(r), "correlation")?)}),
                );
            }
            Op::TtestInd => {
                let [a, b] = split.as_slice() else {
                    return Err(format!("{} groups, not 2", split.len()));
                };
                let test = chosen_test.unwrap_or("ttest");
                let stat = if test == "ttest" {
                    student_t(a, b)
                } else {
                    Some(mann_whitney_u(a, b))
                };
                return Ok(json!({"test": test, "stat": r3(finite(stat, "stat")?)}));
            }
            Op::ShapiroP | Op::LeveneP | Op::ChooseTest => {}
            other => return Err(format!("`{other}` is not recomputed")),
        }
    }
    Err("no terminal operator".to_owned())
}

/// Whether a recomputed answer agrees with a ground truth: the same keys (a `p_value` in the
/// ground truth is not recomputed), equal strings and integers, and numbers equal to within the
/// 3-decimal rounding the programs apply (plus a 1e-9 relative margin for float summation
/// order).
pub fn agrees(recomputed: &Value, truth: &Value) -> bool {
    match (recomputed, truth) {
        (Value::Object(a), Value::Object(b)) => {
            let keys_b: Vec<&String> = b.keys().filter(|k| k.as_str() != "p_value").collect();
            a.len() == keys_b.len()
                && keys_b
                    .iter()
                    .all(|k| a.get(*k).is_some_and(|v| agrees(v, &b[*k])))
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1.5e-3 + 1e-9 * y.abs()
        }
        (a, b) => a == b,
    }
}
