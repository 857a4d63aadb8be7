def _binary_group(values):
    """'high' above the median, 'low' at or below it; missing values stay missing."""
    median = values.median()
    return values.map(lambda v: v if pd.isna(v) else ('high' if v > median else 'low'))


binary_cats = sorted(c for c in cat_cols if df[c].nunique() == 2)
binary_nums = [c for c in num_cols if c != target and df[c].nunique() == 2]
other_nums = [c for c in num_cols if c != target]
grouping = (binary_cats + binary_nums + other_nums + [None])[0]
hook(grouping, "grouping = (binary_cats + binary_nums + other_nums + [None])[0]", name='grouping', depends_on=['target'])
split_at_median = grouping is not None and not binary_cats and not binary_nums
groups = None if grouping is None else _binary_group(df[grouping]) if split_at_median else df[grouping]
labels = [] if groups is None else sorted(groups.dropna().unique().tolist())
