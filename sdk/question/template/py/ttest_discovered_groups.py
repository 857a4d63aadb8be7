variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])


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
if len(labels) != 2:
    submit({'error': 'no column splits the rows into two groups'})
else:
    group1 = df.loc[groups == labels[0], target].dropna()
    group2 = df.loc[groups == labels[1], target].dropna()
    hook([len(group1), len(group2)], "group2 = df.loc[groups == labels[1], target].dropna()", name='group_sizes', depends_on=['grouping'])
    mean1, mean2 = group1.mean(), group2.mean()
    hook([mean1, mean2], "mean1, mean2 = group1.mean(), group2.mean()", name='group_means', depends_on=['group_sizes'])
    t_stat, p_value = stats.ttest_ind(group1, group2, equal_var=True)
    hook(p_value, "t_stat, p_value = stats.ttest_ind(group1, group2, equal_var=True)", name='p_value', depends_on=['group_sizes'])
    submit({'target_column': target, 'grouping_column': grouping, 'group1': labels[0], 'group2': labels[1],
            'mean1': round(float(mean1), 2), 'mean2': round(float(mean2), 2),
            'test_statistic': round(float(t_stat), 2), 'significance_score': round(float(p_value), 4),
            'significant': bool(p_value < 0.05)})
