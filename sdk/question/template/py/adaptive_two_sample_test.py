abs_skews = df[[c for c in num_cols if df[c].std() > 0]].skew().abs()
hook(abs_skews, "abs_skews = df[[c for c in num_cols if df[c].std() > 0]].skew().abs()", name='abs_skews', description='absolute skewness of each non-constant numeric column')
target = _labels_at_min(abs_skews)[0]
hook(target, "target = _labels_at_min(abs_skews)[0]", name='target', depends_on=['abs_skews'])
binary_cats = [c for c in cat_cols if df[c].nunique() == 2]
hook(binary_cats, "binary_cats = [c for c in cat_cols if df[c].nunique() == 2]", name='binary_cats', description='categorical columns with exactly 2 distinct values, in file order')


def _shapiro_p(values):
    tested = values.sample(n=5000, random_state={seed}) if len(values) > 5000 else values
    return stats.shapiro(tested).pvalue


if not binary_cats:
    submit({'error': 'no categorical column has exactly 2 distinct values'})
else:
    grouping = binary_cats[0]
    labels = sorted(df[grouping].dropna().unique().tolist())
    group1 = df.loc[df[grouping] == labels[0], target].dropna()
    group2 = df.loc[df[grouping] == labels[1], target].dropna()
    hook([len(group1), len(group2)], "group2 = df.loc[df[grouping] == labels[1], target].dropna()", name='group_sizes', depends_on=['target', 'binary_cats'])
    assumption_ps = [_shapiro_p(group1), _shapiro_p(group2), stats.levene(group1, group2, center='median').pvalue]
    hook(assumption_ps, "assumption_ps = [_shapiro_p(group1), _shapiro_p(group2), stats.levene(group1, group2, center='median').pvalue]", name='assumption_ps', depends_on=['group_sizes'])
    assumptions_passed = all(p >= 0.05 for p in assumption_ps)
    hook(assumptions_passed, "assumptions_passed = all(p >= 0.05 for p in assumption_ps)", name='assumptions_passed', depends_on=['assumption_ps'])
    if assumptions_passed:
        statistic, p_value = stats.ttest_ind(group1, group2, equal_var=True)
        pooled_std = np.sqrt(((len(group1) - 1) * group1.var() + (len(group2) - 1) * group2.var()) / (len(group1) + len(group2) - 2))
        effect_size = (group1.mean() - group2.mean()) / pooled_std
        method_choice, effect_size_kind = 'parametric', 'standardized_diff'
    else:
        statistic, p_value = stats.mannwhitneyu(group1, group2, alternative='two-sided')
        effect_size = 1 - 2 * statistic / (len(group1) * len(group2))
        method_choice, effect_size_kind = 'rank_based', 'rank_based'
    significant = bool(p_value < 0.05)
    hook(significant, "significant = bool(p_value < 0.05)", name='significant', depends_on=['assumptions_passed'])
    submit({'target_column': target, 'grouping_column': grouping, 'group1': labels[0], 'group2': labels[1],
            'method_choice': method_choice, 'significance_score': round(float(p_value), 4),
            'effect_size_kind': effect_size_kind, 'effect_size': round(float(effect_size), 2),
            'significant': significant, 'assumptions_passed': assumptions_passed})
