//! The typed operator catalogue (SPEC 6.1-6.2): 55 operators, each with its input and output
//! types, attribute, binding, parameters, the variables it reads and writes (used by reduction)
//! and produces and consumes (used by dead-code validation), its precondition and, for terminal
//! operators, the answer schema.
//!
//! The Python line of each operator lives in `compile.rs` and its wording in `wording.rs`; both
//! match on [`Op`] exhaustively, so an operator cannot be added without both.

use std::fmt;

/// A value type of the chain state (SPEC 6.1). A chain state is a multiset of these, starting at
/// `{Table: 1}`; applying an operator adds its outputs and never consumes its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    /// The data frame `df`.
    Table,
    /// A list of numeric column names.
    NumCols,
    /// A list of categorical column names.
    CatCols,
    /// One numeric column.
    NumCol,
    /// One categorical column.
    CatCol,
    /// Numeric values split by the labels of a categorical column.
    Groups,
    /// A transformed numeric series.
    NumSeries,
    /// A number.
    Scalar,
    /// A boolean.
    Bool,
    /// A mapping (per-group statistics, a chosen test, an answer object).
    Dict,
}

impl ValueType {
    /// Every type, in declaration order.
    pub const ALL: [ValueType; 10] = [
        ValueType::Table,
        ValueType::NumCols,
        ValueType::CatCols,
        ValueType::NumCol,
        ValueType::CatCol,
        ValueType::Groups,
        ValueType::NumSeries,
        ValueType::Scalar,
        ValueType::Bool,
        ValueType::Dict,
    ];
}

/// The multiset of value types a chain has made available (SPEC 6.1). Counts saturate at 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeCounts([u8; 10]);

impl TypeCounts {
    /// The start state: one `Table`.
    pub fn start() -> Self {
        let mut counts = [0; 10];
        counts[ValueType::Table as usize] = 1;
        TypeCounts(counts)
    }

    /// How many values of `ty` are available.
    pub fn count(&self, ty: ValueType) -> u8 {
        self.0[ty as usize]
    }

    /// Whether the state holds every input of `op`, counted with multiplicity (`correlation`
    /// needs two `NumCol`).
    pub fn admits(&self, op: Op) -> bool {
        ValueType::ALL.iter().all(|&ty| {
            let need = op.spec().inputs.iter().filter(|&&t| t == ty).count();
            usize::from(self.count(ty)) >= need
        })
    }

    /// The state after applying `op`: its outputs are added.
    pub fn apply(&self, op: Op) -> Self {
        let mut next = self.0;
        for &ty in op.spec().outputs {
            next[ty as usize] = next[ty as usize].saturating_add(1);
        }
        TypeCounts(next)
    }
}

/// An operator attribute; its stage orders canonical chains (SPEC 6.5): selector 0, transform 1,
/// evidence 2, decision 3, analysis 4, test 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpAttr {
    /// Chooses columns.
    Selector,
    /// Changes rows or derives values.
    Transform,
    /// Computes evidence for a decision (normality, equal variances).
    Evidence,
    /// Decides which test to run.
    Decision,
    /// Computes a statistic.
    Analysis,
    /// Runs a hypothesis test.
    Test,
}

impl OpAttr {
    /// The canonicalisation stage, 0 to 5.
    pub fn stage(self) -> u8 {
        self as u8
    }
}

/// A program variable: what operators read and write (SPEC 6.5-6.6). `Df` exists from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Var {
    /// `df`, the data frame (pristine at the start of every program).
    Df,
    /// `numeric_cols`, the num pool.
    NumericCols,
    /// `categorical_cols`, the cat pool.
    CategoricalCols,
    /// `selected_col`.
    SelectedCol,
    /// `cat_col`.
    CatCol,
    /// `num_col_1`.
    NumCol1,
    /// `num_col_2`.
    NumCol2,
    /// `num_series`.
    NumSeries,
    /// `filtered_df` (never consumed, so reduction always removes its writer).
    FilteredDf,
    /// `normality_p`.
    NormalityP,
    /// `equal_var_p`.
    EqualVarP,
    /// `chosen_test`.
    ChosenTest,
    /// `groups`.
    Groups,
    /// `group_means`.
    GroupMeans,
    /// `group_medians`.
    GroupMedians,
    /// `group_stds`.
    GroupStds,
    /// `group_vars`.
    GroupVars,
    /// `group_counts`.
    GroupCounts,
    /// `answer`, the submitted value.
    Answer,
    /// A derived column `<col>_<suffix>` added to `df` (cumulative sum, rolling mean, ...).
    DerivedCol,
}

impl Var {
    /// The Python name of the variable (`<x>_col` for a derived column).
    pub fn name(self) -> &'static str {
        match self {
            Var::Df => "df",
            Var::NumericCols => "numeric_cols",
            Var::CategoricalCols => "categorical_cols",
            Var::SelectedCol => "selected_col",
            Var::CatCol => "cat_col",
            Var::NumCol1 => "num_col_1",
            Var::NumCol2 => "num_col_2",
            Var::NumSeries => "num_series",
            Var::FilteredDf => "filtered_df",
            Var::NormalityP => "normality_p",
            Var::EqualVarP => "equal_var_p",
            Var::ChosenTest => "chosen_test",
            Var::Groups => "groups",
            Var::GroupMeans => "group_means",
            Var::GroupMedians => "group_medians",
            Var::GroupStds => "group_stds",
            Var::GroupVars => "group_vars",
            Var::GroupCounts => "group_counts",
            Var::Answer => "answer",
            Var::DerivedCol => "<x>_col",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of [`Var`]s (a bit set; iteration is in declaration order, never hash order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VarSet(u32);

impl VarSet {
    /// The empty set.
    pub const EMPTY: VarSet = VarSet(0);

    /// The set of `vars`.
    pub fn of(vars: &[Var]) -> Self {
        VarSet(vars.iter().fold(0, |acc, v| acc | v.bit()))
    }

    /// Whether `var` is in the set.
    pub fn contains(self, var: Var) -> bool {
        self.0 & var.bit() != 0
    }

    /// Whether the sets share a variable.
    pub fn meets(self, other: VarSet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every variable of `self` is in `other`.
    pub fn is_subset(self, other: VarSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The union.
    pub fn union(self, other: VarSet) -> VarSet {
        VarSet(self.0 | other.0)
    }

    /// The difference `self - other`.
    pub fn minus(self, other: VarSet) -> VarSet {
        VarSet(self.0 & !other.0)
    }
}

/// What must hold on the dataset for an operator to apply (SPEC 6.2, "precondition").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Always applies.
    None,
    /// The num pool is non-empty.
    NumPool,
    /// The num pool has at least two columns (`bind_num_col_2`).
    NumPoolTwo,
    /// The cat pool is non-empty.
    CatPool,
    /// The binary pool is non-empty.
    BinaryPool,
}

/// The static declaration of one operator.
#[derive(Debug)]
pub struct OpSpec {
    /// The operator.
    pub op: Op,
    /// Its name, e.g. `bind_num_col_1`.
    pub name: &'static str,
    /// Its attribute (and so its canonicalisation stage).
    pub attr: OpAttr,
    /// Input types, with multiplicity.
    pub inputs: &'static [ValueType],
    /// Output types added to the state.
    pub outputs: &'static [ValueType],
    /// The binding key the operator binds to a column of a pool, if any.
    pub binding: Option<Var>,
    /// Fixed parameters as `(name, Python literal)`; `seed` takes the generation seed.
    pub params: &'static [(&'static str, &'static str)],
    /// Variables read (must be written earlier; used by reduction).
    pub reads: &'static [Var],
    /// Variables read when present (`ttest_ind` reads `chosen_test` if a chain decided one).
    pub optional_reads: &'static [Var],
    /// Variables written (used by reduction).
    pub writes: &'static [Var],
    /// Names produced, for dead-code validation (equal to `writes` unless noted).
    pub produces: &'static [Var],
    /// Names consumed, for dead-code validation (equal to `reads` + `optional_reads` unless
    /// noted).
    pub consumes: &'static [Var],
    /// The dataset precondition.
    pub precondition: Precondition,
    /// The answer schema of a terminal operator: a compact JSON example of its answer.
    pub answer_schema: Option<&'static str>,
}

impl OpSpec {
    /// Whether the operator submits an answer.
    pub fn is_terminal(&self) -> bool {
        self.writes.contains(&Var::Answer)
    }

    /// Reads plus optional reads, as a set.
    pub fn all_reads(&self) -> VarSet {
        VarSet::of(self.reads).union(VarSet::of(self.optional_reads))
    }

    /// The canonical sort key `(stage, name, sorted params)` (SPEC 6.5).
    pub fn canonical_key(&self) -> (u8, &'static str, String) {
        let mut params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        params.sort();
        (self.attr.stage(), self.name, params.join(","))
    }
}

macro_rules! ops {
    ($($variant:ident),* $(,)?) => {
        /// One of the 55 operators of SPEC 6.2, in catalogue order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Op { $(#[doc = concat!("`", stringify!($variant), "` (see [`Op::spec`]).")] $variant),* }

        impl Op {
            /// Every operator, in catalogue order (the order enumeration tries them in).
            pub const ALL: [Op; 55] = [$(Op::$variant),*];
        }
    };
}

ops!(
    SelectNumericCols,
    SelectCategoricalCols,
    BindNumericCol,
    BindBinaryCatCol,
    BindNumCol1,
    BindNumCol2,
    PickNumericByVariance,
    PickNumericBySkew,
    PickCategoricalByCardinality,
    Zscore,
    Log1p,
    Abs,
    FilterGreaterThan,
    FilterByThreshold,
    SortByColumn,
    TopN,
    CumulativeSum,
    RollingMean,
    Diff,
    PercentileRank,
    BinIntoQuartiles,
    ShapiroP,
    LeveneP,
    ChooseTest,
    GroupbyValues,
    GroupbyMean,
    GroupbyMedian,
    GroupbyStd,
    GroupbyVar,
    GroupbyCount,
    ArgmaxGroup,
    ArgminGroup,
    ArgmaxGroupMedian,
    ArgminGroupMedian,
    ArgmaxGroupStd,
    ArgminGroupStd,
    ArgmaxGroupVar,
    ArgminGroupVar,
    ArgmaxGroupCount,
    ArgminGroupCount,
    Mean,
    Median,
    Std,
    Variance,
    Sum,
    Min,
    Max,
    MeanSeries,
    MedianSeries,
    StdSeries,
    MaxSeries,
    MinSeries,
    Correlation,
    Ratio,
    TtestInd,
);

impl Op {
    /// The operator's declaration.
    pub fn spec(self) -> &'static OpSpec {
        &CATALOGUE[self as usize]
    }

    /// The operator's name, e.g. `pick_numeric_by_variance`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The operator with this name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// For the ten argmax/argmin operators: the statistic key of the answer (`mean`, `median`,
    /// `std`, `variance`, `count`) and whether the largest value wins.
    pub fn extreme(self) -> Option<(&'static str, bool)> {
        Some(match self {
            Op::ArgmaxGroup => ("mean", true),
            Op::ArgminGroup => ("mean", false),
            Op::ArgmaxGroupMedian => ("median", true),
            Op::ArgminGroupMedian => ("median", false),
            Op::ArgmaxGroupStd => ("std", true),
            Op::ArgminGroupStd => ("std", false),
            Op::ArgmaxGroupVar => ("variance", true),
            Op::ArgminGroupVar => ("variance", false),
            Op::ArgmaxGroupCount => ("count", true),
            Op::ArgminGroupCount => ("count", false),
            _ => return None,
        })
    }
}

impl serde::Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

use Precondition as P;
use ValueType as T;
use Var as V;

const fn spec(
    op: Op,
    name: &'static str,
    attr: OpAttr,
    inputs: &'static [ValueType],
    outputs: &'static [ValueType],
    reads: &'static [Var],
    writes: &'static [Var],
) -> OpSpec {
    OpSpec {
        op,
        name,
        attr,
        inputs,
        outputs,
        binding: None,
        params: &[],
        reads,
        optional_reads: &[],
        writes,
        produces: writes,
        consumes: reads,
        precondition: P::None,
        answer_schema: None,
    }
}

const fn with_pre(mut s: OpSpec, p: Precondition) -> OpSpec {
    s.precondition = p;
    s
}

const fn with_binding(mut s: OpSpec, key: Var, p: Precondition) -> OpSpec {
    s.binding = Some(key);
    s.precondition = p;
    s
}

const fn with_params(mut s: OpSpec, params: &'static [(&'static str, &'static str)]) -> OpSpec {
    s.params = params;
    s
}

const fn terminal(mut s: OpSpec, schema: &'static str) -> OpSpec {
    s.answer_schema = Some(schema);
    s
}

const fn derived(
    op: Op,
    name: &'static str,
    params: &'static [(&'static str, &'static str)],
) -> OpSpec {
    let mut s = spec(
        op,
        name,
        OpAttr::Transform,
        &[T::Table, T::NumCol],
        &[T::Table],
        &[],
        &[],
    );
    s.params = params;
    s.produces = &[V::DerivedCol, V::Df];
    s.consumes = &[V::Df, V::SelectedCol];
    s
}

const SELECTED: &[Var] = &[V::Df, V::SelectedCol];
const GROUPED: &[Var] = &[V::Df, V::CatCol, V::SelectedCol];
const PAIR: &[Var] = &[V::Df, V::NumCol1, V::NumCol2];
const ANSWER: &[Var] = &[V::Answer];

const fn group_stat(op: Op, name: &'static str, writes: &'static [Var]) -> OpSpec {
    spec(
        op,
        name,
        OpAttr::Analysis,
        &[T::Table, T::CatCol, T::NumCol],
        &[T::Dict],
        GROUPED,
        writes,
    )
}

const fn extreme(
    op: Op,
    name: &'static str,
    reads: &'static [Var],
    schema: &'static str,
) -> OpSpec {
    terminal(
        spec(
            op,
            name,
            OpAttr::Analysis,
            &[T::Dict],
            &[T::Dict],
            reads,
            ANSWER,
        ),
        schema,
    )
}

const fn column_stat(
    op: Op,
    name: &'static str,
    out: &'static [ValueType],
    schema: &'static str,
) -> OpSpec {
    terminal(
        spec(
            op,
            name,
            OpAttr::Analysis,
            &[T::NumCol],
            out,
            SELECTED,
            ANSWER,
        ),
        schema,
    )
}

const fn num_col_1_stat(op: Op, name: &'static str, schema: &'static str) -> OpSpec {
    terminal(
        spec(
            op,
            name,
            OpAttr::Analysis,
            &[T::NumCol],
            &[T::Dict],
            &[V::Df, V::NumCol1],
            ANSWER,
        ),
        schema,
    )
}

const fn series_stat(op: Op, name: &'static str, schema: &'static str) -> OpSpec {
    terminal(
        spec(
            op,
            name,
            OpAttr::Analysis,
            &[T::NumSeries],
            &[T::Scalar],
            &[V::NumSeries],
            ANSWER,
        ),
        schema,
    )
}

const fn transform(op: Op, name: &'static str) -> OpSpec {
    spec(
        op,
        name,
        OpAttr::Transform,
        &[T::NumCol],
        &[T::NumSeries],
        SELECTED,
        &[V::NumSeries],
    )
}

const fn row_op(
    op: Op,
    name: &'static str,
    writes: &'static [Var],
    params: &'static [(&'static str, &'static str)],
) -> OpSpec {
    with_params(
        spec(
            op,
            name,
            OpAttr::Transform,
            &[T::Table, T::NumCol],
            &[T::Table],
            SELECTED,
            writes,
        ),
        params,
    )
}

/// The catalogue, indexed by `Op as usize`.
static CATALOGUE: [OpSpec; 55] = [
    with_pre(
        spec(
            Op::SelectNumericCols,
            "select_numeric_cols",
            OpAttr::Selector,
            &[T::Table],
            &[T::NumCols],
            &[],
            &[V::NumericCols],
        ),
        P::NumPool,
    ),
    with_pre(
        spec(
            Op::SelectCategoricalCols,
            "select_categorical_cols",
            OpAttr::Selector,
            &[T::Table],
            &[T::CatCols],
            &[],
            &[V::CategoricalCols],
        ),
        P::CatPool,
    ),
    with_binding(
        spec(
            Op::BindNumericCol,
            "bind_numeric_col",
            OpAttr::Selector,
            &[T::NumCols],
            &[T::NumCol],
            &[V::NumericCols],
            &[V::SelectedCol],
        ),
        V::SelectedCol,
        P::NumPool,
    ),
    with_binding(
        spec(
            Op::BindBinaryCatCol,
            "bind_binary_cat_col",
            OpAttr::Selector,
            &[T::CatCols],
            &[T::CatCol],
            &[V::CategoricalCols],
            &[V::CatCol],
        ),
        V::CatCol,
        P::BinaryPool,
    ),
    with_binding(
        spec(
            Op::BindNumCol1,
            "bind_num_col_1",
            OpAttr::Selector,
            &[T::NumCols],
            &[T::NumCol],
            &[V::NumericCols],
            &[V::NumCol1],
        ),
        V::NumCol1,
        P::NumPool,
    ),
    with_binding(
        spec(
            Op::BindNumCol2,
            "bind_num_col_2",
            OpAttr::Selector,
            &[T::NumCols],
            &[T::NumCol],
            &[V::NumericCols],
            &[V::NumCol2],
        ),
        V::NumCol2,
        P::NumPoolTwo,
    ),
    with_pre(
        spec(
            Op::PickNumericByVariance,
            "pick_numeric_by_variance",
            OpAttr::Selector,
            &[T::NumCols],
            &[T::NumCol],
            &[V::Df, V::NumericCols],
            &[V::SelectedCol],
        ),
        P::NumPool,
    ),
    with_pre(
        spec(
            Op::PickNumericBySkew,
            "pick_numeric_by_skew",
            OpAttr::Selector,
            &[T::NumCols],
            &[T::NumCol],
            &[V::Df, V::NumericCols],
            &[V::SelectedCol],
        ),
        P::NumPool,
    ),
    with_pre(
        spec(
            Op::PickCategoricalByCardinality,
            "pick_categorical_by_cardinality",
            OpAttr::Selector,
            &[T::CatCols],
            &[T::CatCol],
            &[V::Df, V::CategoricalCols],
            &[V::CatCol],
        ),
        P::CatPool,
    ),
    transform(Op::Zscore, "zscore"),
    transform(Op::Log1p, "log1p"),
    transform(Op::Abs, "abs"),
    row_op(
        Op::FilterGreaterThan,
        "filter_greater_than",
        &[V::FilteredDf],
        &[("threshold", "0")],
    ),
    row_op(
        Op::FilterByThreshold,
        "filter_by_threshold",
        &[V::Df],
        &[("threshold", "0")],
    ),
    row_op(
        Op::SortByColumn,
        "sort_by_column",
        &[V::Df],
        &[("ascending", "True")],
    ),
    with_params(
        spec(
            Op::TopN,
            "top_n",
            OpAttr::Transform,
            &[T::Table],
            &[T::Table],
            &[V::Df],
            &[V::Df],
        ),
        &[("n", "10")],
    ),
    derived(Op::CumulativeSum, "cumulative_sum", &[]),
    derived(Op::RollingMean, "rolling_mean", &[("window", "3")]),
    derived(Op::Diff, "diff", &[]),
    derived(Op::PercentileRank, "percentile_rank", &[]),
    derived(Op::BinIntoQuartiles, "bin_into_quartiles", &[]),
    with_params(
        spec(
            Op::ShapiroP,
            "shapiro_p",
            OpAttr::Evidence,
            &[T::NumCol],
            &[T::Scalar],
            SELECTED,
            &[V::NormalityP],
        ),
        &[("seed", "<seed>")],
    ),
    spec(
        Op::LeveneP,
        "levene_p",
        OpAttr::Evidence,
        &[T::Groups],
        &[T::Scalar],
        &[V::Groups],
        &[V::EqualVarP],
    ),
    spec(
        Op::ChooseTest,
        "choose_test",
        OpAttr::Decision,
        &[T::Scalar, T::Scalar],
        &[T::Dict],
        &[V::NormalityP, V::EqualVarP],
        &[V::ChosenTest],
    ),
    spec(
        Op::GroupbyValues,
        "groupby_values",
        OpAttr::Analysis,
        &[T::Table, T::CatCol, T::NumCol],
        &[T::Groups],
        GROUPED,
        &[V::Groups],
    ),
    group_stat(Op::GroupbyMean, "groupby_mean", &[V::GroupMeans]),
    group_stat(Op::GroupbyMedian, "groupby_median", &[V::GroupMedians]),
    group_stat(Op::GroupbyStd, "groupby_std", &[V::GroupStds]),
    group_stat(Op::GroupbyVar, "groupby_var", &[V::GroupVars]),
    spec(
        Op::GroupbyCount,
        "groupby_count",
        OpAttr::Analysis,
        &[T::Table, T::CatCol],
        &[T::Dict],
        &[V::Df, V::CatCol],
        &[V::GroupCounts],
    ),
    extreme(
        Op::ArgmaxGroup,
        "argmax_group",
        &[V::GroupMeans],
        r#"{"group": "<name>", "mean": 0.0}"#,
    ),
    extreme(
        Op::ArgminGroup,
        "argmin_group",
        &[V::GroupMeans],
        r#"{"group": "<name>", "mean": 0.0}"#,
    ),
    extreme(
        Op::ArgmaxGroupMedian,
        "argmax_group_median",
        &[V::GroupMedians],
        r#"{"group": "<name>", "median": 0.0}"#,
    ),
    extreme(
        Op::ArgminGroupMedian,
        "argmin_group_median",
        &[V::GroupMedians],
        r#"{"group": "<name>", "median": 0.0}"#,
    ),
    extreme(
        Op::ArgmaxGroupStd,
        "argmax_group_std",
        &[V::GroupStds],
        r#"{"group": "<name>", "std": 0.0}"#,
    ),
    extreme(
        Op::ArgminGroupStd,
        "argmin_group_std",
        &[V::GroupStds],
        r#"{"group": "<name>", "std": 0.0}"#,
    ),
    extreme(
        Op::ArgmaxGroupVar,
        "argmax_group_var",
        &[V::GroupVars],
        r#"{"group": "<name>", "variance": 0.0}"#,
    ),
    extreme(
        Op::ArgminGroupVar,
        "argmin_group_var",
        &[V::GroupVars],
        r#"{"group": "<name>", "variance": 0.0}"#,
    ),
    extreme(
        Op::ArgmaxGroupCount,
        "argmax_group_count",
        &[V::GroupCounts],
        r#"{"group": "<name>", "count": 0}"#,
    ),
    extreme(
        Op::ArgminGroupCount,
        "argmin_group_count",
        &[V::GroupCounts],
        r#"{"group": "<name>", "count": 0}"#,
    ),
    column_stat(
        Op::Mean,
        "mean",
        &[T::Scalar],
        r#"{"column": "<name>", "mean": 0.0}"#,
    ),
    column_stat(
        Op::Median,
        "median",
        &[T::Scalar],
        r#"{"column": "<name>", "median": 0.0}"#,
    ),
    column_stat(
        Op::Std,
        "std",
        &[T::Scalar],
        r#"{"column": "<name>", "std": 0.0}"#,
    ),
    column_stat(
        Op::Variance,
        "variance",
        &[T::Scalar],
        r#"{"column": "<name>", "variance": 0.0}"#,
    ),
    column_stat(
        Op::Sum,
        "sum",
        &[T::Dict],
        r#"{"column": "<name>", "sum": 0.0}"#,
    ),
    num_col_1_stat(Op::Min, "min", r#"{"column": "<name>", "min": 0.0}"#),
    num_col_1_stat(Op::Max, "max", r#"{"column": "<name>", "max": 0.0}"#),
    series_stat(
        Op::MeanSeries,
        "mean_series",
        r#"{"metric": "mean", "value": 0.0}"#,
    ),
    series_stat(
        Op::MedianSeries,
        "median_series",
        r#"{"metric": "median", "value": 0.0}"#,
    ),
    series_stat(
        Op::StdSeries,
        "std_series",
        r#"{"metric": "std", "value": 0.0}"#,
    ),
    series_stat(
        Op::MaxSeries,
        "max_series",
        r#"{"metric": "max", "value": 0.0}"#,
    ),
    series_stat(
        Op::MinSeries,
        "min_series",
        r#"{"metric": "min", "value": 0.0}"#,
    ),
    terminal(
        spec(
            Op::Correlation,
            "correlation",
            OpAttr::Analysis,
            &[T::NumCol, T::NumCol],
            &[T::Dict],
            PAIR,
            ANSWER,
        ),
        r#"{"col1": "<name>", "col2": "<name>", "correlation": 0.0}"#,
    ),
    terminal(
        spec(
            Op::Ratio,
            "ratio",
            OpAttr::Analysis,
            &[T::NumCol, T::NumCol],
            &[T::Dict],
            PAIR,
            ANSWER,
        ),
        r#"{"col1": "<name>", "col2": "<name>", "mean_ratio": 0.0}"#,
    ),
    {
        let mut s = terminal(
            spec(
                Op::TtestInd,
                "ttest_ind",
                OpAttr::Test,
                &[T::Groups],
                &[T::Dict],
                &[V::Groups],
                ANSWER,
            ),
            r#"{"test": "<name>", "stat": 0.0, "p_value": 0.0}"#,
        );
        s.optional_reads = &[V::ChosenTest];
        s.consumes = &[V::Groups, V::ChosenTest];
        s
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_55_operators_in_spec_order() {
        assert_eq!(Op::ALL.len(), 55);
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(CATALOGUE[i].op, *op, "catalogue row {i} is out of order");
            assert_eq!(Op::from_name(op.name()), Some(*op));
        }
        let names: Vec<&str> = Op::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names[0], "select_numeric_cols");
        assert_eq!(names[21], "shapiro_p");
        assert_eq!(names[40], "mean");
        assert_eq!(names[54], "ttest_ind");
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 55, "operator names are unique");
    }

    #[test]
    fn terminal_operators_are_exactly_those_with_an_answer_schema() {
        let terminal: Vec<&str> = Op::ALL
            .iter()
            .filter(|o| o.spec().is_terminal())
            .map(|o| o.name())
            .collect();
        assert_eq!(terminal.len(), 25);
        for op in Op::ALL {
            let spec = op.spec();
            assert_eq!(spec.is_terminal(), spec.answer_schema.is_some(), "{op}");
            if let Some(schema) = spec.answer_schema {
                let parsed: serde_json::Value =
                    serde_json::from_str(schema).expect("schema is JSON");
                assert!(parsed.is_object(), "{op}: schema is an object");
            }
        }
    }

    #[test]
    fn correlation_needs_two_numeric_columns() {
        let one = TypeCounts::start()
            .apply(Op::SelectNumericCols)
            .apply(Op::BindNumCol1);
        assert!(!one.admits(Op::Correlation));
        assert!(one.admits(Op::Mean));
        let two = one.apply(Op::BindNumCol2);
        assert!(two.admits(Op::Correlation));
        assert_eq!(
            two.count(ValueType::NumCols),
            1,
            "inputs are never consumed"
        );
    }

    #[test]
    fn canonical_stages_follow_the_attribute_order() {
        assert_eq!(Op::SelectNumericCols.spec().attr.stage(), 0);
        assert_eq!(Op::TopN.spec().attr.stage(), 1);
        assert_eq!(Op::ShapiroP.spec().attr.stage(), 2);
        assert_eq!(Op::ChooseTest.spec().attr.stage(), 3);
        assert_eq!(Op::Mean.spec().attr.stage(), 4);
        assert_eq!(Op::TtestInd.spec().attr.stage(), 5);
        assert_eq!(
            Op::FilterByThreshold.spec().canonical_key(),
            (1, "filter_by_threshold", "threshold=0".to_owned())
        );
    }
}
