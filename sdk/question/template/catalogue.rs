//! The catalogue of 32 templates (SPEC 5.5): metadata here, reference programs in `py/`.
//!
//! Each program is a Python body with `{param}` slots; [`super::render`] fills the slots and
//! prepends the prelude. Alternatives (other reasonable readings of the same question) are edits
//! of the primary body, so every alternative is a complete program of its own.

use super::applicability::Requirement::{
    self, CategoricalWithValues, MinCategorical, MinNumeric, MinProfileCategorical, MinRows,
    NumericWithMissing,
};
use super::render::{Param, ParamSet};
use crate::schema::Difficulty;

/// Whether a template's answer is one number or a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputType {
    /// A single number (`scalar:float`).
    Scalar,
    /// A JSON object.
    Dict,
}

impl OutputType {
    /// The persisted name: `scalar` or `dict`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputType::Scalar => "scalar",
            OutputType::Dict => "dict",
        }
    }
}

/// Which columns a template's wording ranges over; typed templates get a sentence defining
/// numeric and categorical columns (and naming the excluded identifier-like columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every column or every row of the table.
    AllColumns,
    /// The typed `num_cols` / `cat_cols` of the prelude.
    Typed,
}

/// Another reasonable reading of a template's question: the primary body with every occurrence
/// of each `from` replaced by its `to` (so a statement and the hook naming it change together).
#[derive(Debug, Clone, Copy)]
pub struct Alternative {
    /// What the reading is, for logs and the report (`max-CV column`).
    pub reading: &'static str,
    /// `(from, to)` replacements applied in order.
    pub edits: &'static [(&'static str, &'static str)],
}

/// A question template (SPEC 5.3).
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// Unique snake_case name (`max_variance_mean`).
    pub name: &'static str,
    /// The wording, with `{param}` slots; filled, it is the question text. No final period.
    pub description: &'static str,
    /// The reference program body, with `{param}` slots (the prelude is prepended).
    pub code: &'static str,
    /// Scalar or object answer.
    pub output_type: OutputType,
    /// `scalar:float`, or a compact JSON example of the answer's keys in order; several forms
    /// are joined with ` or `.
    pub output_schema: &'static str,
    /// Expected steps (also the hook count the teacher must reach).
    pub n_steps: u32,
    /// Difficulty.
    pub difficulty: Difficulty,
    /// Category (`descriptive`, `correlation`, ...).
    pub category: &'static str,
    /// Parameter sets; the template yields one question per set. `[[]]` when it has none.
    pub param_sets: &'static [ParamSet],
    /// Alternative readings.
    pub alternatives: &'static [Alternative],
    /// Conditions on the profile; all must hold.
    pub requires: &'static [Requirement],
    /// Which columns the wording ranges over.
    pub scope: Scope,
}

const NO_PARAMS: &[ParamSet] = &[&[]];

const TARGET_VAR_MAX: &str = include_str!("py/blocks/target_var_max.py");
const TARGET_CV_MAX: &str = include_str!("py/blocks/target_cv_max.py");
const TARGET_STD_MAX: &str = include_str!("py/blocks/target_std_max.py");
const TARGET_VAR_RUNNER_UP: &str = include_str!("py/blocks/target_var_runner_up.py");

const ALT_CV_TARGET: Alternative = Alternative {
    reading: "the column with the largest coefficient of variation",
    edits: &[(TARGET_VAR_MAX, TARGET_CV_MAX)],
};

const CORR_ALTS: &[Alternative] = &[
    Alternative {
        reading: "the largest-variance column left out first",
        edits: &[(
            "corr_matrix = df[num_cols].corr().abs()",
            "corr_matrix = df[num_cols].drop(columns=[_labels_at_max(df[num_cols].var())[0]]).corr().abs()",
        )],
    },
    Alternative {
        reading: "signed correlations, reported as absolute",
        edits: &[(
            "corr_matrix = df[num_cols].corr().abs()",
            "corr_matrix = df[num_cols].corr()",
        )],
    },
];

/// Every template, in catalogue order (SPEC 5.5): 7 EASY, 9 MEDIUM, 11 HARD, 5 VERY_HARD.
pub static CATALOGUE: &[Template] = &[
    // 1
    Template {
        name: "count_high_missing_columns",
        description: "Count the columns of the table (all columns) in which more than {missing_threshold}% of the values are missing, and list their names in alphabetical order",
        code: include_str!("py/count_high_missing_columns.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"count": 0, "columns": ["<name>"]}"#,
        n_steps: 3,
        difficulty: Difficulty::Easy,
        category: "data_quality",
        param_sets: &[
            &[("missing_threshold", Param::Float(5.0))],
            &[("missing_threshold", Param::Float(10.0))],
        ],
        alternatives: &[],
        requires: &[],
        scope: Scope::AllColumns,
    },
    // 2
    Template {
        name: "duplicate_rows_summary",
        description: "Count the rows that exactly repeat an earlier row in every column (the first occurrence is not counted) and give that count as a percentage of all rows, rounded to 2 decimals",
        code: include_str!("py/duplicate_rows_summary.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"duplicate_rows": 0, "duplicate_pct": 0.0}"#,
        n_steps: 3,
        difficulty: Difficulty::Easy,
        category: "data_quality",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinRows(2)],
        scope: Scope::AllColumns,
    },
    // 3
    Template {
        name: "identifier_like_columns",
        description: "Find the columns of the table (all columns) whose number of distinct values, counting missing as one value, divided by the number of rows is at least {unique_ratio_threshold}; give how many there are and their names in alphabetical order",
        code: include_str!("py/identifier_like_columns.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"count": 0, "columns": ["<name>"]}"#,
        n_steps: 3,
        difficulty: Difficulty::Easy,
        category: "data_quality",
        param_sets: &[&[("unique_ratio_threshold", Param::Float(0.98))]],
        alternatives: &[],
        requires: &[MinRows(50)],
        scope: Scope::AllColumns,
    },
    // 4
    Template {
        name: "coefficient_of_variation",
        description: "Among the numeric columns with a non-zero mean and a positive standard deviation, find the one with the largest coefficient of variation (sample standard deviation / |mean| x 100; the alphabetically first column wins a tie) and report its name, coefficient of variation, mean and sample standard deviation, each rounded to 2 decimals",
        code: include_str!("py/coefficient_of_variation.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column": "<name>", "cv": 0.0, "mean": 0.0, "std": 0.0}"#,
        n_steps: 4,
        difficulty: Difficulty::Easy,
        category: "descriptive",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(2)],
        scope: Scope::Typed,
    },
    // 5
    Template {
        name: "iqr_outlier_analysis",
        description: "Take the numeric column with the largest sample variance (the first in file order wins a tie). On its non-missing values compute the first and third quartiles Q1 and Q3 (linear interpolation), IQR = Q3 - Q1, the fences Q1 - 1.5 x IQR and Q3 + 1.5 x IQR, and the number of values strictly outside the fences; report the column, Q1, Q3, IQR and both fences rounded to 2 decimals, and the outlier count",
        code: include_str!("py/iqr_outlier_analysis.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column": "<name>", "q1": 0.0, "q3": 0.0, "iqr": 0.0, "lower_fence": 0.0, "upper_fence": 0.0, "n_outliers": 0}"#,
        n_steps: 5,
        difficulty: Difficulty::Easy,
        category: "outliers",
        param_sets: NO_PARAMS,
        alternatives: &[ALT_CV_TARGET],
        requires: &[MinNumeric(1)],
        scope: Scope::Typed,
    },
    // 6
    Template {
        name: "percentile_ranking",
        description: "Take the numeric column with the largest range (maximum - minimum; the alphabetically first column wins a tie) and report its 10th, 25th, 50th, 75th and 90th percentiles (linear interpolation, missing values ignored), rounded to 2 decimals",
        code: include_str!("py/percentile_ranking.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column": "<name>", "p10": 0.0, "p25": 0.0, "p50": 0.0, "p75": 0.0, "p90": 0.0}"#,
        n_steps: 3,
        difficulty: Difficulty::Easy,
        category: "descriptive",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(1)],
        scope: Scope::Typed,
    },
    // 7
    Template {
        name: "descriptive_summary",
        description: "Take the numeric column with the largest sample variance (the first in file order wins a tie) and summarise its non-missing values: count, mean, sample standard deviation, minimum, maximum, median, skewness and excess kurtosis (both bias-corrected, as pandas computes them); round everything but the count to 2 decimals",
        code: include_str!("py/descriptive_summary.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column": "<name>", "count": 0, "mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0, "median": 0.0, "skewness": 0.0, "kurtosis": 0.0}"#,
        n_steps: 3,
        difficulty: Difficulty::Easy,
        category: "descriptive",
        param_sets: NO_PARAMS,
        alternatives: &[ALT_CV_TARGET],
        requires: &[MinNumeric(1)],
        scope: Scope::Typed,
    },
    // 8
    Template {
        name: "max_variance_mean",
        description: "Find the numeric column with the largest sample variance (the first in file order wins a tie) and report its mean, rounded to 3 decimals",
        code: include_str!("py/max_variance_mean.py"),
        output_type: OutputType::Scalar,
        output_schema: "scalar:float",
        n_steps: 3,
        difficulty: Difficulty::Medium,
        category: "descriptive",
        param_sets: NO_PARAMS,
        alternatives: &[
            ALT_CV_TARGET,
            Alternative {
                reading: "the column with the largest standard deviation",
                edits: &[(TARGET_VAR_MAX, TARGET_STD_MAX)],
            },
            Alternative {
                reading: "the runner-up after leaving out the largest-variance column",
                edits: &[(TARGET_VAR_MAX, TARGET_VAR_RUNNER_UP)],
            },
        ],
        requires: &[MinNumeric(2)],
        scope: Scope::Typed,
    },
    // 9
    Template {
        name: "min_mean_column_std",
        description: "Find the numeric column with the smallest mean (the first in file order wins a tie) and report its sample standard deviation, rounded to 3 decimals",
        code: include_str!("py/min_mean_column_std.py"),
        output_type: OutputType::Scalar,
        output_schema: "scalar:float",
        n_steps: 3,
        difficulty: Difficulty::Medium,
        category: "descriptive",
        param_sets: NO_PARAMS,
        alternatives: &[
            Alternative {
                reading: "the largest-variance column left out first",
                edits: &[(
                    "means = df[num_cols].mean()",
                    "means = df[num_cols].drop(columns=[_labels_at_max(df[num_cols].var())[0]]).mean()",
                )],
            },
            Alternative {
                reading: "the first numeric column left out first",
                edits: &[(
                    "means = df[num_cols].mean()",
                    "means = df[num_cols[1:]].mean()",
                )],
            },
        ],
        requires: &[MinNumeric(2)],
        scope: Scope::Typed,
    },
    // 10
    Template {
        name: "strongest_correlation",
        description: "Among all pairs of different numeric columns, find the pair with the strongest Pearson correlation in absolute value (each pair computed on the rows where both are present; on a tie, the first pair in row-major order of the correlation matrix with columns in file order); report the two column names in alphabetical order and the absolute correlation rounded to 2 decimals",
        code: include_str!("py/strongest_correlation.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"columns": ["<name>"], "association_score": 0.0}"#,
        n_steps: 4,
        difficulty: Difficulty::Medium,
        category: "correlation",
        param_sets: NO_PARAMS,
        alternatives: CORR_ALTS,
        requires: &[MinNumeric(3)],
        scope: Scope::Typed,
    },
    // 11
    Template {
        name: "weakest_correlation",
        description: "Among all pairs of different numeric columns, find the pair whose Pearson correlation is closest to zero in absolute value (each pair computed on the rows where both are present; on a tie, the first pair in row-major order of the correlation matrix with columns in file order); report the two column names in alphabetical order and the absolute correlation rounded to 2 decimals",
        code: include_str!("py/weakest_correlation.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"columns": ["<name>"], "association_score": 0.0}"#,
        n_steps: 4,
        difficulty: Difficulty::Medium,
        category: "correlation",
        param_sets: NO_PARAMS,
        alternatives: CORR_ALTS,
        requires: &[MinNumeric(3)],
        scope: Scope::Typed,
    },
    // 12
    Template {
        name: "count_outlier_columns",
        description: "For each numeric column with a positive sample standard deviation, count its non-missing values that lie more than {z_threshold} sample standard deviations from the column mean (|x - mean| > {z_threshold} x std); report how many columns have at least one such value and the total number of such values over all columns",
        code: include_str!("py/count_outlier_columns.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"columns_with_outliers": 0, "total_outliers": 0}"#,
        n_steps: 4,
        difficulty: Difficulty::Medium,
        category: "outliers",
        param_sets: &[
            &[("z_threshold", Param::Float(3.0))],
            &[("z_threshold", Param::Float(2.5))],
        ],
        alternatives: &[
            Alternative {
                reading: "the 1.5 x IQR fence rule",
                edits: &[(
                    "outlier_counts[col] = int(((values - values.mean()).abs() > {z_threshold} * std).sum())",
                    "outlier_counts[col] = int(((values < values.quantile(0.25) - 1.5 * (values.quantile(0.75) - values.quantile(0.25))) | (values > values.quantile(0.75) + 1.5 * (values.quantile(0.75) - values.quantile(0.25)))).sum())",
                )],
            },
            Alternative {
                reading: "at least z standard deviations (>=)",
                edits: &[(
                    ".abs() > {z_threshold} * std",
                    ".abs() >= {z_threshold} * std",
                )],
            },
            Alternative {
                reading: "the population standard deviation",
                edits: &[("std = values.std()", "std = values.std(ddof=0)")],
            },
        ],
        requires: &[MinNumeric(1)],
        scope: Scope::Typed,
    },
    // 13
    Template {
        name: "chi_squared_independence",
        description: "Take the first two categorical columns in file order that have between 2 and 10 distinct non-missing values, cross-tabulate them (rows missing either value left out) and run a chi-squared test of independence, with Yates' continuity correction only for a 2 x 2 table; report both column names, the chi-squared statistic (2 decimals), the p-value (4 decimals), the degrees of freedom, the smallest expected cell count (2 decimals), and whether they are independent at the 5% level (p >= 0.05)",
        code: include_str!("py/chi_squared_independence.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column1": "<name>", "column2": "<name>", "test_statistic": 0.0, "significance_score": 0.0, "df": 0, "expected_min": 0.0, "independent": true}"#,
        n_steps: 6,
        difficulty: Difficulty::Medium,
        category: "hypothesis_test",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinProfileCategorical(2)],
        scope: Scope::Typed,
    },
    // 14
    Template {
        name: "mann_whitney_u_test",
        description: "Take the numeric column with the largest absolute skewness (bias-corrected; the alphabetically first column wins a tie) as the target. Split the rows into two groups by the alphabetically first categorical column with exactly 2 distinct non-missing values; if there is none, by the first numeric column in file order (other than the target) with exactly 2 distinct values; failing that, by the first other numeric column in file order, labelled 'high' above its median and 'low' otherwise. With the groups in sorted label order and missing target values dropped, run a two-sided Mann-Whitney U test of the target between them; report the target and grouping columns, the two group labels, each group's median (2 decimals), the U statistic of the first group (2 decimals) and the p-value (4 decimals)",
        code: include_str!("py/mann_whitney_u_test.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"target_column": "<name>", "grouping_column": "<name>", "group1": "<name>", "group2": "<name>", "median1": 0.0, "median2": 0.0, "test_statistic": 0.0, "significance_score": 0.0}"#,
        n_steps: 6,
        difficulty: Difficulty::Medium,
        category: "hypothesis_test",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(1)],
        scope: Scope::Typed,
    },
    // 15
    Template {
        name: "spearman_rank_correlation",
        description: "Among all pairs of different numeric columns, find the pair with the largest absolute Spearman rank correlation (each pair computed on the rows where both are present; on a tie, the first pair in row-major order with columns in file order). On the rows where both are present, report the two column names in alphabetical order, the signed Spearman correlation (2 decimals), its p-value (4 decimals) and the strength of |rho|: 'strong' if >= 0.7, 'moderate' if >= 0.4, 'weak' if >= 0.2, otherwise 'negligible'",
        code: include_str!("py/spearman_rank_correlation.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"columns": ["<name>"], "association_score": 0.0, "significance_score": 0.0, "interpretation": "<name>"}"#,
        n_steps: 6,
        difficulty: Difficulty::Medium,
        category: "correlation",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(3)],
        scope: Scope::Typed,
    },
    // 16
    Template {
        name: "ks_normality_test",
        description: "Among the numeric columns with a positive sample standard deviation, take the one with the smallest absolute skewness (bias-corrected; the first in file order wins a tie). Standardise its non-missing values with their sample mean and sample standard deviation and run a one-sample Kolmogorov-Smirnov test against the standard normal distribution; report the column, the KS statistic (2 decimals), the p-value (4 decimals), whether it looks normal (p >= 0.05), and the sample mean and standard deviation (2 decimals)",
        code: include_str!("py/ks_normality_test.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column": "<name>", "test_statistic": 0.0, "significance_score": 0.0, "is_normal": true, "sample_mean": 0.0, "sample_std": 0.0}"#,
        n_steps: 7,
        difficulty: Difficulty::Medium,
        category: "distribution",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(1)],
        scope: Scope::Typed,
    },
    // 17
    Template {
        name: "conditional_normality",
        description: "Take the numeric column with the largest sample variance (if several tie, any of them is accepted) and run a Shapiro-Wilk test on its non-missing values (if there are more than 5000, on the sample pandas draws with sample(n=5000, random_state={seed})). If p > 0.05, report the distribution as 'normal' with the mean and sample standard deviation of all its non-missing values; otherwise report it as 'non-normal' with their median and IQR (Q3 - Q1, linear interpolation); numbers rounded to 2 decimals",
        code: include_str!("py/conditional_normality.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"distribution": "normal", "mean": 0.0, "std": 0.0} or {"distribution": "non-normal", "median": 0.0, "iqr": 0.0}"#,
        n_steps: 5,
        difficulty: Difficulty::Hard,
        category: "distribution",
        param_sets: &[&[("seed", Param::Int(42))]],
        alternatives: &[],
        requires: &[MinNumeric(1)],
        scope: Scope::Typed,
    },
    // 18
    Template {
        name: "category_highest_target_mean",
        description: "Take the numeric column with the largest sample variance (the first in file order wins a tie) as the target, and as the grouping the first categorical column in file order with 2 to 20 distinct non-missing values (if there is none, the first categorical column). Report the grouping column, the group with the highest mean target (missing values ignored; if several tie, any of them is accepted), the target column and that mean rounded to 2 decimals",
        code: include_str!("py/category_highest_target_mean.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"category_column": "<name>", "best_category": "<name>", "target_column": "<name>", "mean_value": 0.0}"#,
        n_steps: 5,
        difficulty: Difficulty::Hard,
        category: "segmentation",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(1), MinCategorical(1)],
        scope: Scope::Typed,
    },
    // 19
    Template {
        name: "correlation_after_outlier_removal",
        description: "Find the pair of different numeric columns with the strongest absolute Pearson correlation (each pair computed on the rows where both are present; on a tie, the first pair in row-major order with columns in file order). On the rows where both are present, compute their Pearson correlation; then drop every row where either column lies more than 3 sample standard deviations from its mean (mean and standard deviation taken over those rows) and compute it again. Report the two columns in alphabetical order, both signed correlations rounded to 2 decimals and the number of rows dropped",
        code: include_str!("py/correlation_after_outlier_removal.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"columns": ["<name>"], "original_association": 0.0, "outliers_removed": 0, "clean_association": 0.0}"#,
        n_steps: 5,
        difficulty: Difficulty::Hard,
        category: "correlation",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(3)],
        scope: Scope::Typed,
    },
    // 20
    Template {
        name: "levene_variance_test",
        description: "Take the numeric column with the largest sample variance (the first in file order wins a tie) as the target and the first categorical column in file order with 2 to 6 distinct non-missing values as the grouping. With the groups in sorted label order and missing target values dropped, run Levene's test (median-centred) of the target across the groups; report both columns, the number of groups, the statistic (2 decimals), the p-value (4 decimals), whether the variances are equal (p >= 0.05), and each group's sample variance keyed by its label, rounded to 2 decimals",
        code: include_str!("py/levene_variance_test.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"target_column": "<name>", "grouping_column": "<name>", "n_groups": 0, "test_statistic": 0.0, "significance_score": 0.0, "variances_equal": true, "group_variances": {"<name>": 0.0}}"#,
        n_steps: 7,
        difficulty: Difficulty::Hard,
        category: "hypothesis_test",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(1), MinCategorical(1)],
        scope: Scope::Typed,
    },
    // 21
    Template {
        name: "correlation_change_analysis",
        description: "Among the numeric columns whose non-missing values are all positive, take the two with the largest absolute skewness (bias-corrected; ties broken alphabetically). On the rows where both are present, compute their Pearson correlation, and the Pearson correlation after transforming each column x to log(1 + x - min(x) + 1) with the minimum over those rows. Report the two columns in alphabetical order, both signed correlations and the improvement |transformed r| - |original r| rounded to 2 decimals, and whether the transformation helped (improvement > 0)",
        code: include_str!("py/correlation_change_analysis.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"columns": ["<name>"], "original_association": 0.0, "log_association": 0.0, "improvement": 0.0, "transformation_helpful": true}"#,
        n_steps: 6,
        difficulty: Difficulty::Hard,
        category: "correlation",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(2)],
        scope: Scope::Typed,
    },
    // 22
    Template {
        name: "regression_most_predictive",
        description: "Take the numeric column with the largest sample variance (the first in file order wins a tie) as the target and, as the predictor, the other numeric column whose Pearson correlation with it (rows where both are present) is largest in absolute value (the first in file order wins a tie). Fit an ordinary least squares regression of the target on the predictor with an intercept, on the rows where both are present; report the target, the predictor, their signed correlation (2 decimals), R squared (2 decimals), the slope (2 decimals) and the slope's p-value (4 decimals)",
        code: include_str!("py/regression_most_predictive.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"target": "<name>", "best_predictor": "<name>", "association_score": 0.0, "fit_score": 0.0, "coefficient": 0.0, "significance_score": 0.0}"#,
        n_steps: 8,
        difficulty: Difficulty::Hard,
        category: "regression",
        param_sets: NO_PARAMS,
        alternatives: &[ALT_CV_TARGET],
        requires: &[MinNumeric(3)],
        scope: Scope::Typed,
    },
    // 23
    Template {
        name: "ttest_discovered_groups",
        description: "Take the numeric column with the largest sample variance (the first in file order wins a tie) as the target. Split the rows into two groups by the alphabetically first categorical column with exactly 2 distinct non-missing values; if there is none, by the first numeric column in file order (other than the target) with exactly 2 distinct values; failing that, by the first other numeric column in file order, labelled 'high' above its median and 'low' otherwise. With the groups in sorted label order and missing target values dropped, run Student's two-sample t-test with equal variances; report the target and grouping columns, both group labels, both group means (2 decimals), the t statistic of the first group against the second (2 decimals), the p-value (4 decimals) and whether p < 0.05",
        code: include_str!("py/ttest_discovered_groups.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"target_column": "<name>", "grouping_column": "<name>", "group1": "<name>", "group2": "<name>", "mean1": 0.0, "mean2": 0.0, "test_statistic": 0.0, "significance_score": 0.0, "significant": true}"#,
        n_steps: 8,
        difficulty: Difficulty::Hard,
        category: "hypothesis_test",
        param_sets: NO_PARAMS,
        alternatives: &[
            ALT_CV_TARGET,
            Alternative {
                reading: "the binary categorical grouping column chosen in file order",
                edits: &[(
                    "binary_cats = sorted(c for c in cat_cols if df[c].nunique() == 2)",
                    "binary_cats = [c for c in cat_cols if df[c].nunique() == 2]",
                )],
            },
        ],
        requires: &[MinNumeric(2)],
        scope: Scope::Typed,
    },
    // 24
    Template {
        name: "audit_missing_imputation_effect",
        description: "Take the numeric column with the highest percentage of missing values (the alphabetically first column wins a tie) and fill its missing values with its median; report the column, its missing percentage, the number of values filled, its mean before and after filling and the change (after - before), percentages and means rounded to 2 decimals",
        code: include_str!("py/audit_missing_imputation_effect.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column": "<name>", "missing_pct": 0.0, "imputed_count": 0, "original_mean": 0.0, "imputed_mean": 0.0, "mean_shift": 0.0}"#,
        n_steps: 6,
        difficulty: Difficulty::Hard,
        category: "data_quality",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[NumericWithMissing],
        scope: Scope::Typed,
    },
    // 25
    Template {
        name: "rank_categories_by_target_mean",
        description: "Take the numeric column with the largest sample variance (the first in file order wins a tie) as the target and the first categorical column in file order with 3 to 20 distinct non-missing values as the grouping. Keep the groups with at least {min_n} non-missing target values and rank them by mean target, highest first; report both columns and the top {top_k} groups, each with its label, mean target (2 decimals) and number of non-missing target values (groups tied at the cut-off may be exchanged)",
        code: include_str!("py/rank_categories_by_target_mean.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"category_column": "<name>", "target_column": "<name>", "ranking": [{"category": "<name>", "mean": 0.0, "n": 0}]}"#,
        n_steps: 6,
        difficulty: Difficulty::Hard,
        category: "segmentation",
        param_sets: &[&[("min_n", Param::Int(10)), ("top_k", Param::Int(3))]],
        alternatives: &[],
        requires: &[MinNumeric(1), MinCategorical(1)],
        scope: Scope::Typed,
    },
    // 26
    Template {
        name: "quantile_bin_best_mean",
        description: "Take the numeric column with the largest absolute skewness (bias-corrected; the first in file order wins a tie) as the binning column and, among the other numeric columns, the one with the largest sample variance (the first in file order wins a tie) as the target. Cut the binning column into {n_bins} quantile bins as pandas qcut(q={n_bins}, duplicates='drop') does, each labelled by its interval text such as '(30.0, 45.0]', and average the target in each bin; report both columns, the bin with the highest mean (any tied bin is accepted), that mean, and every bin's mean keyed by its label, rounded to 2 decimals",
        code: include_str!("py/quantile_bin_best_mean.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"binning_column": "<name>", "target_column": "<name>", "best_bin": "<name>", "best_bin_mean": 0.0, "bin_means": {"<name>": 0.0}}"#,
        n_steps: 7,
        difficulty: Difficulty::Hard,
        category: "segmentation",
        param_sets: &[&[("n_bins", Param::Int(4))]],
        alternatives: &[],
        requires: &[MinNumeric(2)],
        scope: Scope::Typed,
    },
    // 27
    Template {
        name: "segment_then_analyze_outliers",
        description: "Take the numeric column with the largest sample variance (the first in file order wins a tie) as the target and the first categorical column in file order with 3 to 15 distinct non-missing values as the grouping. In the group with the highest mean target (any tied group is accepted), count the non-missing target values strictly outside Q1 - 1.5 x IQR and Q3 + 1.5 x IQR (quartiles of that group, linear interpolation); report both columns, the group, its number of non-missing target values, its mean (2 decimals), the outlier count and the outliers as a percentage of the group (2 decimals)",
        code: include_str!("py/segment_then_analyze_outliers.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"category_column": "<name>", "target_column": "<name>", "best_category": "<name>", "segment_size": 0, "segment_mean": 0.0, "segment_outliers": 0, "outlier_rate": 0.0}"#,
        n_steps: 7,
        difficulty: Difficulty::Hard,
        category: "outliers",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(1), MinCategorical(1)],
        scope: Scope::Typed,
    },
    // 28
    Template {
        name: "bootstrap_ci_discovered",
        description: "Take the numeric column with the largest absolute skewness (bias-corrected; the first in file order wins a tie). With numpy's rng = np.random.default_rng({seed}), draw {n_iterations} bootstrap resamples of its non-missing values (in row order) one after another, each as rng.choice(values, size=len(values), replace=True), and take the mean of each. Report the column, its skewness, its mean, the 2.5th and 97.5th percentiles of the resample means (linear interpolation) and their population standard deviation as the standard error, all rounded to 2 decimals, and the number of resamples",
        code: include_str!("py/bootstrap_ci_discovered.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column": "<name>", "skewness": 0.0, "mean": 0.0, "ci_lower": 0.0, "ci_upper": 0.0, "std_error": 0.0, "n_iterations": 0}"#,
        n_steps: 9,
        difficulty: Difficulty::VeryHard,
        category: "distribution",
        param_sets: &[&[("seed", Param::Int(42)), ("n_iterations", Param::Int(1000))]],
        alternatives: &[],
        requires: &[MinNumeric(2)],
        scope: Scope::Typed,
    },
    // 29
    Template {
        name: "anova_discovered_groups",
        description: "Take the numeric column with the largest sample variance (if several tie, any of them is accepted) as the target and the first categorical column in file order with 3 to 10 distinct non-missing values as the grouping, keeping only the groups with at least 10 non-missing target values (at least 3 such groups are needed). Run a one-way ANOVA of the target across those groups; report both columns, the number of groups, the F statistic (2 decimals), the p-value (4 decimals), whether p < 0.05, the groups with the highest and the lowest mean (the first in sorted label order wins a tie) with their means, and eta squared (between-group over total sum of squares), rounded to 2 decimals",
        code: include_str!("py/anova_discovered_groups.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"target_column": "<name>", "grouping_column": "<name>", "n_groups": 0, "test_statistic": 0.0, "significance_score": 0.0, "significant": true, "best_group": "<name>", "best_mean": 0.0, "worst_group": "<name>", "worst_mean": 0.0, "effect_size": 0.0}"#,
        n_steps: 9,
        difficulty: Difficulty::VeryHard,
        category: "hypothesis_test",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(1), CategoricalWithValues { lo: 3, hi: 10 }],
        scope: Scope::Typed,
    },
    // 30
    Template {
        name: "multiple_regression_top_predictors",
        description: "Take the numeric column with the largest sample variance (if several tie, any of them is accepted) as the target and the three other numeric columns with the largest absolute Pearson correlation with it (rows where both are present; ties broken alphabetically) as predictors. Fit an ordinary least squares regression of the target on the three predictors with an intercept, on the rows where all four are present; report the target, the predictors in alphabetical order, R squared and adjusted R squared (2 decimals), and how many predictors (the intercept not counted) have a p-value below 0.05",
        code: include_str!("py/multiple_regression_top_predictors.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"target": "<name>", "predictors": ["<name>"], "fit_score": 0.0, "fit_score_adj": 0.0, "n_influential": 0}"#,
        n_steps: 9,
        difficulty: Difficulty::VeryHard,
        category: "regression",
        param_sets: NO_PARAMS,
        alternatives: &[],
        requires: &[MinNumeric(4)],
        scope: Scope::Typed,
    },
    // 31
    Template {
        name: "adaptive_two_sample_test",
        description: "Among the numeric columns with a positive standard deviation, take the one with the smallest absolute skewness (bias-corrected; the first in file order wins a tie) as the target and the first categorical column in file order with exactly 2 distinct non-missing values as the grouping, with the groups in sorted label order and missing target values dropped. Check the assumptions with a Shapiro-Wilk test in each group (on the sample pandas draws with sample(n=5000, random_state={seed}) when a group has more than 5000 values) and a median-centred Levene test. If all three p-values are >= 0.05, run Student's t-test with equal variances and use Cohen's d with the pooled sample standard deviation (method 'parametric', effect size kind 'standardized_diff'); otherwise run a two-sided Mann-Whitney U test and use the rank-biserial correlation 1 - 2U/(n1 x n2) with U of the first group (method 'rank_based', effect size kind 'rank_based'). Report both columns, both labels, the method, the p-value (4 decimals), the effect size kind, the effect size (2 decimals), whether p < 0.05 and whether the assumptions passed",
        code: include_str!("py/adaptive_two_sample_test.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"target_column": "<name>", "grouping_column": "<name>", "group1": "<name>", "group2": "<name>", "method_choice": "<name>", "significance_score": 0.0, "effect_size_kind": "<name>", "effect_size": 0.0, "significant": true, "assumptions_passed": true}"#,
        n_steps: 9,
        difficulty: Difficulty::VeryHard,
        category: "hypothesis_test",
        param_sets: &[&[("seed", Param::Int(42))]],
        alternatives: &[],
        requires: &[MinNumeric(1), MinCategorical(1)],
        scope: Scope::Typed,
    },
    // 32
    Template {
        name: "iterative_outlier_removal",
        description: "Take the numeric column with the largest coefficient of variation (sample standard deviation / |mean| x 100, over the columns with a non-zero mean and a positive standard deviation; the alphabetically first column wins a tie). Starting from its non-missing values, repeat at most {max_iter} times: compute the mean and sample standard deviation; stop if the standard deviation is 0; remove the values with |x - mean| > {z_threshold} x std, stopping if none were removed; stop if the mean moved by less than {eps}. Report the column, the number of iterations run (counting the one that stopped), the total number of values removed, and the initial and final means rounded to 2 decimals",
        code: include_str!("py/iterative_outlier_removal.py"),
        output_type: OutputType::Dict,
        output_schema: r#"{"column": "<name>", "iterations_used": 0, "total_removed": 0, "initial_mean": 0.0, "final_mean": 0.0}"#,
        n_steps: 9,
        difficulty: Difficulty::VeryHard,
        category: "outliers",
        param_sets: &[&[
            ("z_threshold", Param::Float(3.0)),
            ("max_iter", Param::Int(10)),
            ("eps", Param::Float(0.001)),
        ]],
        alternatives: &[],
        requires: &[MinNumeric(1)],
        scope: Scope::Typed,
    },
];

/// The template named `name`.
pub fn template(name: &str) -> Option<&'static Template> {
    CATALOGUE.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::render::{fill_slots, slot_names};
    use super::*;

    #[test]
    fn catalogue_has_32_uniquely_named_templates_in_the_spec_mix() {
        assert_eq!(CATALOGUE.len(), 32);
        let names: BTreeSet<&str> = CATALOGUE.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), 32, "template names must be unique");
        let count = |d: Difficulty| CATALOGUE.iter().filter(|t| t.difficulty == d).count();
        assert_eq!(
            [
                count(Difficulty::Easy),
                count(Difficulty::Medium),
                count(Difficulty::Hard),
                count(Difficulty::VeryHard)
            ],
            [7, 9, 11, 5]
        );
        assert_eq!(template("max_variance_mean").map(|t| t.n_steps), Some(3));
    }

    #[test]
    fn every_slot_is_a_parameter_and_every_parameter_is_in_the_code_and_the_wording() {
        for t in CATALOGUE {
            assert!(
                !t.param_sets.is_empty(),
                "{}: needs at least the default set",
                t.name
            );
            for set in t.param_sets {
                let declared: BTreeSet<&str> = set.iter().map(|(k, _)| *k).collect();
                for text in [t.code, t.description] {
                    for slot in slot_names(text) {
                        assert!(
                            declared.contains(slot),
                            "{}: undeclared slot {{{slot}}}",
                            t.name
                        );
                    }
                }
                for name in &declared {
                    let slot = format!("{{{name}}}");
                    assert!(t.code.contains(&slot), "{}: code lacks {slot}", t.name);
                    assert!(
                        t.description.contains(&slot),
                        "{}: wording lacks {slot}",
                        t.name
                    );
                }
                for (_, value) in set.iter() {
                    let literal = value.python_literal();
                    assert!(
                        fill_slots(t.description, set).contains(&literal),
                        "{}: wording must name {literal}",
                        t.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_alternative_edit_changes_the_primary_program() {
        for t in CATALOGUE {
            for alt in t.alternatives {
                let mut body = t.code.to_owned();
                for (from, to) in alt.edits {
                    assert!(
                        body.contains(from),
                        "{}: `{}` edit does not match",
                        t.name,
                        alt.reading
                    );
                    body = body.replace(from, to);
                }
                assert_ne!(
                    body, t.code,
                    "{}: `{}` is the primary program",
                    t.name, alt.reading
                );
            }
        }
    }

    /// The code line a `hook(value, "<line>", ...)` call names.
    fn hook_lines(code: &str) -> Vec<String> {
        let re = regex::Regex::new(r#"hook\([^"]*, "((?:[^"\\]|\\.)*)""#).expect("valid regex");
        re.captures_iter(code).map(|c| c[1].to_owned()).collect()
    }

    #[test]
    fn every_hook_names_a_line_of_its_own_program() {
        for t in CATALOGUE {
            let mut programs = vec![("primary".to_owned(), t.code.to_owned())];
            for alt in t.alternatives {
                let body = alt
                    .edits
                    .iter()
                    .fold(t.code.to_owned(), |b, (from, to)| b.replace(from, to));
                programs.push((alt.reading.to_owned(), body));
            }
            for (reading, body) in programs {
                let code = fill_slots(&body, t.param_sets[0]);
                let lines: BTreeSet<&str> = code.lines().map(str::trim).collect();
                let hooks = hook_lines(&code);
                assert!(hooks.len() >= 2, "{} ({reading}): too few hooks", t.name);
                for line in hooks {
                    assert!(
                        lines.contains(line.as_str()),
                        "{} ({reading}): hook names `{line}`, which is not a line of the program",
                        t.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_program_submits_and_hooks_with_dependencies() {
        for t in CATALOGUE {
            assert!(t.code.contains("submit("), "{}: never submits", t.name);
            assert!(
                t.code.contains("depends_on=["),
                "{}: hooks lack depends_on",
                t.name
            );
            assert!(
                !t.code.contains("import "),
                "{}: the prelude provides the modules",
                t.name
            );
        }
    }

    #[test]
    fn output_schemas_are_json_examples_matching_the_output_type() {
        for t in CATALOGUE {
            match t.output_type {
                OutputType::Scalar => assert_eq!(t.output_schema, "scalar:float", "{}", t.name),
                OutputType::Dict => {
                    for form in t.output_schema.split(" or ") {
                        let v: serde_json::Value = serde_json::from_str(form)
                            .unwrap_or_else(|e| panic!("{}: schema is not JSON: {e}", t.name));
                        assert!(v.is_object(), "{}: schema must be an object", t.name);
                    }
                }
            }
        }
    }

    #[test]
    fn wording_has_no_final_period_so_the_format_sentence_follows_cleanly() {
        for t in CATALOGUE {
            assert!(!t.description.ends_with('.'), "{}", t.name);
            assert!(
                t.description.len() > 60,
                "{}: wording too short to be answerable",
                t.name
            );
        }
    }
}
