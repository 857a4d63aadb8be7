//! Mechanical wording (SPEC 6.11): `question_mechanical` built deterministically from one phrase
//! per operator. It names every bound column and parameter, states the pool rules whenever a
//! pick operator chooses among pooled columns, says how missing values, ties and rounding are
//! handled, and ends with the terminal operator's JSON example, so a person can answer it from
//! the text alone and the text, the schema and the submitted value describe the same thing.

use super::ops::Op;
use super::pools::Pools;
use super::program::Program;

/// Pools longer than this are described by their rules only, not listed.
const LIST_LIMIT: usize = 15;

const ID_RULE: &str = "names that are not identifier-like (`id`, `_id`, `index`, `row_id`, \
`rowid`, `person_id`, `personid` or `Unnamed: <n>`, in any case)";

fn quoted(column: &str) -> String {
    format!("`{column}`")
}

fn list(columns: &[String]) -> String {
    let q: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
    q.join(", ")
}

/// "From the <kind> columns with <rules> (<list>)": the pool a pick chooses from.
fn pool_phrase(kind: &str, rules: &str, columns: &[String]) -> String {
    if columns.len() <= LIST_LIMIT {
        format!(
            "From the {kind} columns with {ID_RULE}{rules} ({})",
            list(columns)
        )
    } else {
        format!(
            "From the {kind} columns with {ID_RULE}{rules} ({} columns)",
            columns.len()
        )
    }
}

const NUM_KIND: &str = "numeric (integer or float; not boolean)";
const NUM_RULES: &str = " and less than 50% missing values in the full table";
const CAT_KIND: &str = "categorical (text or boolean)";
const CAT_RULES: &str =
    ", less than 50% missing values in the full table and at least 2 distinct values";

/// The output schema of a program: the terminal operator's JSON example (SPEC 6.2).
pub fn output_schema(program: &Program) -> String {
    program
        .terminal()
        .spec()
        .answer_schema
        .unwrap_or("{}")
        .to_owned()
}

struct Refs {
    seed: u64,
    num: String,
    num_1: String,
    num_2: String,
    cat: String,
    rows_changed: bool,
    sorted: bool,
}

fn statistic(op: Op) -> &'static str {
    match op {
        Op::Mean | Op::MeanSeries | Op::GroupbyMean => "mean",
        Op::Median | Op::MedianSeries | Op::GroupbyMedian => "median",
        Op::Std | Op::StdSeries | Op::GroupbyStd => "sample standard deviation (ddof=1)",
        Op::Variance | Op::GroupbyVar => "sample variance (ddof=1)",
        Op::Sum => "sum",
        Op::Min | Op::MinSeries => "minimum",
        Op::Max | Op::MaxSeries => "maximum",
        _ => "value",
    }
}

fn phrase(
    op: Op,
    column: Option<&str>,
    refs: &mut Refs,
    program: &Program,
    pools: &Pools,
) -> Option<String> {
    let ops = program.ops();
    let on_rows = if refs.rows_changed {
        " over the remaining rows"
    } else {
        ""
    };
    let text = match op {
        Op::SelectNumericCols | Op::SelectCategoricalCols => return None,
        Op::BindNumericCol => {
            refs.num = quoted(column.unwrap_or_default());
            return None;
        }
        Op::BindBinaryCatCol => {
            refs.cat = quoted(column.unwrap_or_default());
            return None;
        }
        Op::BindNumCol1 => {
            refs.num_1 = quoted(column.unwrap_or_default());
            return None;
        }
        Op::BindNumCol2 => {
            refs.num_2 = quoted(column.unwrap_or_default());
            return None;
        }
        Op::PickNumericByVariance => {
            refs.num = "the selected column".to_owned();
            format!(
                "{}, select the one with the largest sample variance{on_rows} (on a tie, the first in name order).",
                pool_phrase(NUM_KIND, NUM_RULES, &pools.num)
            )
        }
        Op::PickNumericBySkew => {
            refs.num = "the selected column".to_owned();
            format!(
                "{}, select the one with the largest skewness (bias-corrected sample skewness, as pandas `skew`){on_rows} (on a tie, the first in name order).",
                pool_phrase(NUM_KIND, NUM_RULES, &pools.num)
            )
        }
        Op::PickCategoricalByCardinality => {
            refs.cat = "the selected categorical column".to_owned();
            format!(
                "{}, select the one with the fewest distinct non-missing values{on_rows} (on a tie, the first in name order).",
                pool_phrase(CAT_KIND, CAT_RULES, &pools.cat)
            )
        }
        Op::Zscore => format!(
            "Standardise {} as (value - mean) / population standard deviation (ddof=0; divide by 1 instead if that is 0).",
            refs.num
        ),
        Op::Log1p => format!("Transform {} as ln(1 + max(value, 0)).", refs.num),
        Op::Abs => format!("Take the absolute values of {}.", refs.num),
        Op::FilterGreaterThan => {
            format!("Select the rows where {} > 0 into a separate table.", refs.num)
        }
        Op::FilterByThreshold => {
            refs.rows_changed = true;
            format!(
                "Keep only the rows where {} > 0 (rows where it is missing are dropped).",
                refs.num
            )
        }
        Op::SortByColumn => {
            refs.rows_changed = true;
            refs.sorted = true;
            format!(
                "Sort the rows by {} in ascending order (stable, missing values last).",
                refs.num
            )
        }
        Op::TopN => {
            let order = if refs.sorted { "in that order" } else { "in file order" };
            refs.rows_changed = true;
            format!("Keep only the first 10 rows {order}.")
        }
        Op::CumulativeSum => format!("Add a column with the running sum of {}.", refs.num),
        Op::RollingMean => format!(
            "Add a column with the rolling mean of {} over windows of 3 rows (at least 1 value).",
            refs.num
        ),
        Op::Diff => format!(
            "Add a column with the difference of {} from the previous row (0 for the first).",
            refs.num
        ),
        Op::PercentileRank => format!("Add a column with the percentile rank of {}.", refs.num),
        Op::BinIntoQuartiles => {
            format!("Add a column binning {} into quartiles Q1-Q4.", refs.num)
        }
        Op::ShapiroP => format!(
            "Test {} for normality with the Shapiro-Wilk test on its non-missing values (if there are more than 5000, on the random sample of 5000 that pandas draws with `sample(n=5000, random_state={})`).",
            refs.num, refs.seed
        ),
        Op::LeveneP => "Test the groups for equal variances with Levene's test (median-centred).".to_owned(),
        Op::ChooseTest => "If both p-values are above 0.05, use Student's t-test (equal variances); otherwise use the two-sided Mann-Whitney U test.".to_owned(),
        Op::GroupbyValues => format!(
            "Split the non-missing values of {} into groups by the labels of {} (groups ordered by label as text).",
            refs.num, refs.cat
        ),
        Op::GroupbyMean | Op::GroupbyMedian | Op::GroupbyStd | Op::GroupbyVar => format!(
            "Group the rows by {} and compute the {} of {} in each group, ignoring missing values.",
            refs.cat,
            statistic(op),
            refs.num
        ),
        Op::GroupbyCount => format!(
            "Count the rows in each group of {} (rows where it is missing are not counted).",
            refs.cat
        ),
        Op::ArgmaxGroup
        | Op::ArgminGroup
        | Op::ArgmaxGroupMedian
        | Op::ArgminGroupMedian
        | Op::ArgmaxGroupStd
        | Op::ArgminGroupStd
        | Op::ArgmaxGroupVar
        | Op::ArgminGroupVar
        | Op::ArgmaxGroupCount
        | Op::ArgminGroupCount => {
            let (key, largest) = op.extreme().unwrap_or(("mean", true));
            let which = if largest { "highest" } else { "lowest" };
            let what = if key == "count" { "count".to_owned() } else { statistic_of_key(key) };
            format!(
                "Report the group with the {which} {what}: its label as text under `group` and the value under `{key}`."
            )
        }
        Op::Mean | Op::Median | Op::Std | Op::Variance | Op::Sum => format!(
            "Compute the {} of {}, ignoring missing values; report the column name under `column` and the value under `{}`.",
            statistic(op),
            refs.num,
            answer_key(op)
        ),
        Op::Min | Op::Max => format!(
            "Find the {} of {}; report the column name under `column` and the value under `{}`.",
            statistic(op),
            refs.num_1,
            answer_key(op)
        ),
        Op::MeanSeries | Op::MedianSeries | Op::StdSeries | Op::MaxSeries | Op::MinSeries => {
            format!(
                "Report the {} of the resulting values, ignoring missing values, with `metric` set to \"{}\" and the number under `value`.",
                statistic(op),
                answer_key(op)
            )
        }
        Op::Correlation => format!(
            "Compute the Pearson correlation between {} and {} over the rows where both are present; report them as `col1` and `col2` in that order, and the coefficient under `correlation`.",
            refs.num_1, refs.num_2
        ),
        Op::Ratio => format!(
            "Compute the mean of {} / {} over the rows where {} is non-zero and both are present; report them as `col1` and `col2` in that order, and the mean under `mean_ratio`.",
            refs.num_1, refs.num_2, refs.num_2
        ),
        Op::TtestInd => {
            if ops.contains(&Op::ChooseTest) {
                "There must be exactly two groups. Run the chosen test with the first group as the first sample; report `test` (\"ttest\" for Student's t-test or \"mwu\" for Mann-Whitney U), `stat` (the t statistic, or the U statistic of the first group) and the two-sided `p_value`.".to_owned()
            } else {
                "There must be exactly two groups. Run Student's t-test (equal variances) with the first group as the first sample; report `test` as \"ttest\", the t statistic under `stat` and the two-sided `p_value`.".to_owned()
            }
        }
    };
    Some(text)
}

fn statistic_of_key(key: &str) -> String {
    match key {
        "std" => "sample standard deviation (ddof=1)".to_owned(),
        "variance" => "sample variance (ddof=1)".to_owned(),
        other => other.to_owned(),
    }
}

fn answer_key(op: Op) -> &'static str {
    match op {
        Op::Mean | Op::MeanSeries => "mean",
        Op::Median | Op::MedianSeries => "median",
        Op::Std | Op::StdSeries => "std",
        Op::Variance => "variance",
        Op::Sum => "sum",
        Op::Min | Op::MinSeries => "min",
        Op::Max | Op::MaxSeries => "max",
        _ => "value",
    }
}

/// The mechanical wording of a program (SPEC 6.11): one sentence per operator that changes the
/// answer, the rounding rule, then `Return as JSON, e.g.: <output schema>`.
pub fn mechanical_wording(program: &Program, pools: &Pools, seed: u64) -> String {
    let mut refs = Refs {
        seed,
        num: "the column".to_owned(),
        num_1: "the first column".to_owned(),
        num_2: "the second column".to_owned(),
        cat: "the categorical column".to_owned(),
        rows_changed: false,
        sorted: false,
    };
    let mut sentences: Vec<String> = program
        .steps
        .iter()
        .filter_map(|step| phrase(step.op, step.column.as_deref(), &mut refs, program, pools))
        .collect();
    let rounding = match program.terminal() {
        Op::TtestInd => "Round `stat` to 3 decimals and `p_value` to 4 decimals.",
        Op::ArgmaxGroupCount | Op::ArgminGroupCount => "The count is an integer.",
        _ => "Round the number to 3 decimals.",
    };
    sentences.push(rounding.to_owned());
    sentences.push(format!("Return as JSON, e.g.: {}", output_schema(program)));
    sentences.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::question::procedural::program::{
        ProgramFamily, Step, bind_chain, cascading_chains, evidence_chains,
    };
    use std::collections::BTreeMap;

    fn pools() -> Pools {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        Pools {
            num: s(&["age", "bmi", "charges"]),
            cat: s(&["region", "sex"]),
            binary: s(&["sex"]),
            id_like: vec![],
            rows: 100,
            unique_counts: BTreeMap::new(),
        }
    }

    #[test]
    fn wording_names_every_bound_column_and_ends_with_the_schema() {
        let p = pools();
        let chain = [
            Op::SelectNumericCols,
            Op::BindNumCol1,
            Op::BindNumCol2,
            Op::Correlation,
        ];
        for program in bind_chain(3, &chain, &p) {
            let text = mechanical_wording(&program, &p, 42);
            for column in program.bound_columns() {
                assert!(text.contains(&format!("`{column}`")), "{text}");
            }
            assert!(text.ends_with(
                r#"Return as JSON, e.g.: {"col1": "<name>", "col2": "<name>", "correlation": 0.0}"#
            ));
        }
    }

    #[test]
    fn picks_state_the_pool_rules_and_list_the_pool() {
        let p = pools();
        let program = Program {
            name: "program_1".into(),
            family: ProgramFamily::Grammar(1),
            steps: vec![
                Step {
                    op: Op::SelectNumericCols,
                    column: None,
                },
                Step {
                    op: Op::PickNumericByVariance,
                    column: None,
                },
                Step {
                    op: Op::Mean,
                    column: None,
                },
            ],
        };
        let text = mechanical_wording(&program, &p, 42);
        assert_eq!(
            text,
            "From the numeric (integer or float; not boolean) columns with names that are not identifier-like (`id`, `_id`, `index`, `row_id`, `rowid`, `person_id`, `personid` or `Unnamed: <n>`, in any case) and less than 50% missing values in the full table (`age`, `bmi`, `charges`), select the one with the largest sample variance (on a tie, the first in name order). Compute the mean of the selected column, ignoring missing values; report the column name under `column` and the value under `mean`. Round the number to 3 decimals. Return as JSON, e.g.: {\"column\": \"<name>\", \"mean\": 0.0}"
        );
    }

    #[test]
    fn long_chains_state_thresholds_and_the_test_choice() {
        let p = pools();
        let text = mechanical_wording(&cascading_chains(&p)[0], &p, 42);
        assert!(
            text.contains("Keep only the rows where `age` > 0"),
            "{text}"
        );
        assert!(
            text.contains("Keep only the rows where `bmi` > 0"),
            "{text}"
        );
        assert!(
            text.contains("Count the rows in each group of `sex`"),
            "{text}"
        );
        assert!(text.ends_with(r#"{"group": "<name>", "count": 0}"#));
        let text = mechanical_wording(&evidence_chains(&p)[0], &p, 7);
        assert!(text.contains("random_state=7"), "{text}");
        assert!(
            text.contains("If both p-values are above 0.05, use Student's t-test"),
            "{text}"
        );
        assert!(text.ends_with(r#"{"test": "<name>", "stat": 0.0, "p_value": 0.0}"#));
    }
}
