variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])
candidates = [c for c in cat_cols if 2 <= df[c].nunique() <= 6]
hook(candidates, "candidates = [c for c in cat_cols if 2 <= df[c].nunique() <= 6]", name='candidates', description='categorical columns with 2-6 distinct values, in file order')
if not candidates:
    submit({'error': 'no categorical column has 2-6 distinct values'})
else:
    grouping = candidates[0]
    labels = sorted(df[grouping].dropna().unique().tolist())
    samples = [df.loc[df[grouping] == label, target].dropna() for label in labels]
    hook([len(s) for s in samples], "samples = [df.loc[df[grouping] == label, target].dropna() for label in labels]", name='samples', depends_on=['target', 'candidates'])
    statistic, p_value = stats.levene(*samples, center='median')
    hook(p_value, "statistic, p_value = stats.levene(*samples, center='median')", name='p_value', depends_on=['samples'])
    group_variances = {label: round(float(s.var()), 2) for label, s in zip(labels, samples)}
    hook(group_variances, "group_variances = {label: round(float(s.var()), 2) for label, s in zip(labels, samples)}", name='group_variances', depends_on=['samples'])
    submit({'target_column': target, 'grouping_column': grouping, 'n_groups': len(labels),
            'test_statistic': round(float(statistic), 2), 'significance_score': round(float(p_value), 4),
            'variances_equal': bool(p_value >= 0.05), 'group_variances': group_variances})
