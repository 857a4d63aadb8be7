//! Compilation of a bound program to pandas code (SPEC 6.9): a prelude with the pools as
//! literals and the helpers the program uses, one line per operator (each followed by a `hook`
//! of the value it wrote), and exactly one `submit`.
//!
//! The code runs in the sandbox runtime (SPEC 4.4): `df`, `pd`, `np`, `stats`, `submit` and
//! `hook` are preloaded, and classes cannot be defined, so a tied winner raises
//! `RuntimeError('TiedWinner: ...')` and a failed precondition raises
//! `RuntimeError('Precondition failed for <op>')`.

use std::fmt::Write as _;

use super::ops::{Op, Var};
use super::pools::Pools;
use super::program::Program;

/// The message prefix of the exception a tied argmax/argmin raises.
pub const TIED_WINNER: &str = "TiedWinner";

/// A Python string literal: single-quoted, with `\`, `'` and control characters escaped;
/// other characters raw (Python 3 source is UTF-8).
pub fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn py_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| py_str(s)).collect();
    format!("[{}]", inner.join(", "))
}

const HELPER_PRE: &str = "def _pre(ok, op):
    if not ok:
        raise RuntimeError('Precondition failed for ' + op)
";

const HELPER_NONEMPTY: &str = "def _nonempty(cols, op):
    _pre(len(cols) > 0, op)
    return cols
";

const HELPER_BIND: &str = "def _bind(col, cols, op, within=None):
    _pre(col in cols and (within is None or col in within), op)
    return col
";

const HELPER_PICK: &str = "def _pick(scores, largest, op):
    scores = scores.dropna()
    _pre(len(scores) > 0, op)
    return str(scores.idxmax() if largest else scores.idxmin())
";

const HELPER_R3: &str = "def _r3(x):
    return round(float(x), 3)
";

const HELPER_EXTREME: &str = "def _extreme(values, largest, key, op):
    values = values.dropna()
    _pre(len(values) > 0, op)
    best = values.max() if largest else values.min()
    winners = [str(k) for k, v in values.items() if v == best]
    if len(winners) != 1:
        raise RuntimeError('TiedWinner: ' + op + ' is shared by ' + ', '.join(winners))
    return {'group': winners[0], key: int(best) if key == 'count' else _r3(best)}
";

const HELPER_SHAPIRO: &str = "def _shapiro_p(values, seed):
    values = values.dropna()
    if len(values) > 5000:
        values = values.sample(n=5000, random_state=seed)
    return float(stats.shapiro(values).pvalue)
";

const HELPER_TWO_GROUP: &str = "def _two_group_test(groups, test):
    _pre(len(groups) == 2, 'ttest_ind')
    first, second = groups.values()
    if test == 'ttest':
        result = stats.ttest_ind(first, second)
    else:
        result = stats.mannwhitneyu(first, second, alternative='two-sided')
    return {'test': test, 'stat': _r3(result.statistic), 'p_value': round(float(result.pvalue), 4)}
";

/// The Python line of one operator (an assignment), with the column it binds if any.
///
/// `decided` says whether the chain has a `choose_test` (then `ttest_ind` runs the chosen test,
/// else Student's t-test).
pub fn op_line(op: Op, column: Option<&str>, seed: u64, decided: bool) -> String {
    let col = || py_str(column.unwrap_or(""));
    let stat = |key: &str, method: &str| {
        format!("answer = {{'column': selected_col, '{key}': _r3(df[selected_col].{method})}}")
    };
    let series = |metric: &str, method: &str| {
        format!("answer = {{'metric': '{metric}', 'value': _r3(num_series.{method})}}")
    };
    let grouped =
        |var: &str, method: &str| format!("{var} = df.groupby(cat_col)[selected_col].{method}");
    let extreme = |op: Op| {
        let (key, largest) = op.extreme().unwrap_or(("mean", true));
        let var = op.spec().reads.first().map_or("group_means", |v| v.name());
        let largest = if largest { "True" } else { "False" };
        format!(
            "answer = _extreme({var}, {largest}, '{key}', '{}')",
            op.name()
        )
    };
    match op {
        Op::SelectNumericCols => {
            "numeric_cols = _nonempty(list(_NUM_POOL), 'select_numeric_cols')".to_owned()
        }
        Op::SelectCategoricalCols => {
            "categorical_cols = _nonempty(list(_CAT_POOL), 'select_categorical_cols')".to_owned()
        }
        Op::BindNumericCol => {
            format!("selected_col = _bind({}, numeric_cols, 'bind_numeric_col')", col())
        }
        Op::BindBinaryCatCol => format!(
            "cat_col = _bind({}, categorical_cols, 'bind_binary_cat_col', _BINARY_POOL)",
            col()
        ),
        Op::BindNumCol1 => format!("num_col_1 = _bind({}, numeric_cols, 'bind_num_col_1')", col()),
        Op::BindNumCol2 => format!("num_col_2 = _bind({}, numeric_cols, 'bind_num_col_2')", col()),
        Op::PickNumericByVariance => {
            "selected_col = _pick(df[numeric_cols].var(), True, 'pick_numeric_by_variance')"
                .to_owned()
        }
        Op::PickNumericBySkew => {
            "selected_col = _pick(df[numeric_cols].skew(), True, 'pick_numeric_by_skew')"
                .to_owned()
        }
        Op::PickCategoricalByCardinality => {
            "cat_col = _pick(df[categorical_cols].nunique(), False, 'pick_categorical_by_cardinality')"
                .to_owned()
        }
        Op::Zscore => "num_series = (df[selected_col] - df[selected_col].mean()) / (df[selected_col].std(ddof=0) or 1)".to_owned(),
        Op::Log1p => "num_series = np.log1p(df[selected_col].clip(lower=0))".to_owned(),
        Op::Abs => "num_series = df[selected_col].abs()".to_owned(),
        Op::FilterGreaterThan => "filtered_df = df[df[selected_col] > 0]".to_owned(),
        Op::FilterByThreshold => "df = df[df[selected_col] > 0].reset_index(drop=True)".to_owned(),
        Op::SortByColumn => {
            "df = df.sort_values(selected_col, ascending=True, kind='stable')".to_owned()
        }
        Op::TopN => "df = df.head(10)".to_owned(),
        Op::CumulativeSum => {
            "df[selected_col + '_cumsum'] = df[selected_col].cumsum()".to_owned()
        }
        Op::RollingMean => {
            "df[selected_col + '_rolling_3'] = df[selected_col].rolling(3, min_periods=1).mean()"
                .to_owned()
        }
        Op::Diff => "df[selected_col + '_diff'] = df[selected_col].diff().fillna(0)".to_owned(),
        Op::PercentileRank => {
            "df[selected_col + '_percentile'] = df[selected_col].rank(pct=True)".to_owned()
        }
        Op::BinIntoQuartiles => "df[selected_col + '_quartile'] = pd.qcut(df[selected_col], 4, labels=['Q1', 'Q2', 'Q3', 'Q4'])".to_owned(),
        Op::ShapiroP => format!("normality_p = _shapiro_p(df[selected_col], {seed})"),
        Op::LeveneP => {
            "equal_var_p = float(stats.levene(*groups.values(), center='median').pvalue)"
                .to_owned()
        }
        Op::ChooseTest => {
            "chosen_test = 'ttest' if normality_p > 0.05 and equal_var_p > 0.05 else 'mwu'"
                .to_owned()
        }
        Op::GroupbyValues => "groups = {str(k): v.dropna().to_numpy() for k, v in sorted(df.groupby(cat_col)[selected_col], key=lambda kv: str(kv[0]))}".to_owned(),
        Op::GroupbyMean => grouped("group_means", "mean()"),
        Op::GroupbyMedian => grouped("group_medians", "median()"),
        Op::GroupbyStd => grouped("group_stds", "std()"),
        Op::GroupbyVar => grouped("group_vars", "var()"),
        Op::GroupbyCount => "group_counts = df.groupby(cat_col).size()".to_owned(),
        Op::ArgmaxGroup
        | Op::ArgminGroup
        | Op::ArgmaxGroupMedian
        | Op::ArgminGroupMedian
        | Op::ArgmaxGroupStd
        | Op::ArgminGroupStd
        | Op::ArgmaxGroupVar
        | Op::ArgminGroupVar
        | Op::ArgmaxGroupCount
        | Op::ArgminGroupCount => extreme(op),
        Op::Mean => stat("mean", "mean()"),
        Op::Median => stat("median", "median()"),
        Op::Std => stat("std", "std()"),
        Op::Variance => stat("variance", "var()"),
        Op::Sum => stat("sum", "sum(min_count=1)"),
        Op::Min => "answer = {'column': num_col_1, 'min': _r3(df[num_col_1].min())}".to_owned(),
        Op::Max => "answer = {'column': num_col_1, 'max': _r3(df[num_col_1].max())}".to_owned(),
        Op::MeanSeries => series("mean", "mean()"),
        Op::MedianSeries => series("median", "median()"),
        Op::StdSeries => series("std", "std()"),
        Op::MaxSeries => series("max", "max()"),
        Op::MinSeries => series("min", "min()"),
        Op::Correlation => "answer = {'col1': num_col_1, 'col2': num_col_2, 'correlation': _r3(df[num_col_1].corr(df[num_col_2]))}".to_owned(),
        Op::Ratio => "answer = {'col1': num_col_1, 'col2': num_col_2, 'mean_ratio': _r3((df[num_col_1] / df[num_col_2].where(df[num_col_2] != 0)).mean())}".to_owned(),
        Op::TtestInd => {
            if decided {
                "answer = _two_group_test(groups, chosen_test)".to_owned()
            } else {
                "answer = _two_group_test(groups, 'ttest')".to_owned()
            }
        }
    }
}

/// The name hooked after an operator's line: the variable it writes (`n_rows` after a
/// threshold filter, `df` after other row operations).
fn hooked(op: Op) -> (&'static str, &'static str) {
    match op {
        Op::FilterByThreshold => ("n_rows", "len(df)"),
        Op::SortByColumn | Op::TopN => ("df", "df"),
        _ => {
            let var = op
                .spec()
                .writes
                .first()
                .or(op.spec().produces.first())
                .copied()
                .unwrap_or(Var::Df);
            match var {
                Var::DerivedCol | Var::Df => ("df", "df"),
                v => (v.name(), v.name()),
            }
        }
    }
}

/// Compiles a bound program to the reference Python code (SPEC 6.9).
///
/// Shape: a header comment naming the program and its operators; the literals `_ID_LIKE_COLS`,
/// `_NUM_POOL`, `_CAT_POOL` and `_BINARY_POOL` from the profile; the helper functions the
/// program uses; per operator a comment, its line and a `hook` of what it wrote (with the exact
/// line as `code_line` and the variables it read as `depends_on`); then `submit(answer)`, the
/// only submission. Deterministic for a given program, pools and seed.
pub fn compile(program: &Program, pools: &Pools, seed: u64) -> String {
    let ops = program.ops();
    let has = |op: Op| ops.contains(&op);
    let any = |f: fn(Op) -> bool| ops.iter().any(|&op| f(op));
    let decided = has(Op::ChooseTest);
    let mut code = String::new();
    let _ = writeln!(code, "# csvagent procedural program `{}`", program.name);
    let names: Vec<&str> = ops.iter().map(|o| o.name()).collect();
    let _ = writeln!(code, "# operators: {}", names.join(" -> "));
    let _ = writeln!(code, "_ID_LIKE_COLS = {}", py_list(&pools.id_like));
    let _ = writeln!(code, "_NUM_POOL = {}", py_list(&pools.num));
    let _ = writeln!(code, "_CAT_POOL = {}", py_list(&pools.cat));
    let _ = writeln!(code, "_BINARY_POOL = {}", py_list(&pools.binary));
    let mut helpers = vec![HELPER_PRE, HELPER_R3];
    if has(Op::SelectNumericCols) || has(Op::SelectCategoricalCols) {
        helpers.push(HELPER_NONEMPTY);
    }
    if any(|op| op.spec().binding.is_some()) {
        helpers.push(HELPER_BIND);
    }
    if any(|op| {
        matches!(
            op,
            Op::PickNumericByVariance | Op::PickNumericBySkew | Op::PickCategoricalByCardinality
        )
    }) {
        helpers.push(HELPER_PICK);
    }
    if any(|op| op.extreme().is_some()) {
        helpers.push(HELPER_EXTREME);
    }
    if has(Op::ShapiroP) {
        helpers.push(HELPER_SHAPIRO);
    }
    if has(Op::TtestInd) {
        helpers.push(HELPER_TWO_GROUP);
    }
    for helper in helpers {
        code.push_str("\n\n");
        code.push_str(helper);
    }
    code.push_str("\n\n");
    for (i, step) in program.steps.iter().enumerate() {
        let line = op_line(step.op, step.column.as_deref(), seed, decided);
        let (name, value) = hooked(step.op);
        let spec = step.op.spec();
        let mut depends: Vec<String> = spec
            .reads
            .iter()
            .chain(spec.optional_reads.iter().filter(|_| decided))
            .map(|v| py_str(v.name()))
            .collect();
        depends.dedup();
        let _ = writeln!(code, "# step {}: {}", i + 1, step.op.name());
        let _ = writeln!(code, "{line}");
        let _ = writeln!(
            code,
            "hook({value}, {}, name={}, depends_on=[{}])",
            py_str(&line),
            py_str(name),
            depends.join(", ")
        );
    }
    code.push_str("submit(answer)\n");
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::question::procedural::program::ProgramFamily;
    use crate::question::procedural::program::{Step, cascading_chains, evidence_chains};
    use std::collections::BTreeMap;

    fn pools() -> Pools {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        Pools {
            num: s(&["age", "it's"]),
            cat: s(&["sex"]),
            binary: s(&["sex"]),
            id_like: s(&["id"]),
            rows: 100,
            unique_counts: BTreeMap::new(),
        }
    }

    #[test]
    fn python_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(py_str("it's"), r"'it\'s'");
        assert_eq!(py_str("a\\b\nc"), r"'a\\b\nc'");
        assert_eq!(py_str("café\u{1}"), r"'café\x01'");
    }

    #[test]
    fn every_program_submits_exactly_once_and_hooks_every_step() {
        let p = pools();
        for program in cascading_chains(&p).iter().chain(&evidence_chains(&p)) {
            let code = compile(program, &p, 42);
            assert_eq!(code.matches("submit(").count(), 1, "{code}");
            assert_eq!(code.matches("\nhook(").count(), program.steps.len());
            assert!(code.ends_with("submit(answer)\n"));
        }
    }

    #[test]
    fn bound_columns_and_parameters_appear_in_the_code() {
        let p = pools();
        let program = Program {
            name: "program_0_selected_col_it's".into(),
            family: ProgramFamily::Grammar(0),
            steps: vec![
                Step {
                    op: Op::SelectNumericCols,
                    column: None,
                },
                Step {
                    op: Op::BindNumericCol,
                    column: Some("it's".into()),
                },
                Step {
                    op: Op::FilterByThreshold,
                    column: None,
                },
                Step {
                    op: Op::Mean,
                    column: None,
                },
            ],
        };
        let code = compile(&program, &p, 42);
        assert!(code.contains(r"selected_col = _bind('it\'s', numeric_cols, 'bind_numeric_col')"));
        assert!(code.contains("df = df[df[selected_col] > 0].reset_index(drop=True)"));
        assert!(code.contains("_NUM_POOL = ['age', 'it\\'s']"));
        assert!(
            !code.contains("def _extreme"),
            "unused helpers are left out"
        );
        let evidence = &evidence_chains(&p)[0];
        let code = compile(evidence, &p, 7);
        assert!(code.contains("normality_p = _shapiro_p(df[selected_col], 7)"));
        assert!(code.contains("answer = _two_group_test(groups, chosen_test)"));
    }
}
