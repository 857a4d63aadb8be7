variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
targets = _labels_at_max(variances)
hook(targets, "targets = _labels_at_max(variances)", name='targets', depends_on=['variances'])
candidates = [c for c in cat_cols if 3 <= df[c].nunique() <= 10]
hook(candidates, "candidates = [c for c in cat_cols if 3 <= df[c].nunique() <= 10]", name='candidates', description='categorical columns with 3-10 distinct values, in file order')


def _anova(target, grouping):
    groups = {}
    for label in sorted(df[grouping].dropna().unique().tolist()):
        values = df.loc[df[grouping] == label, target].dropna()
        if len(values) >= 10:
            groups[label] = values
    if len(groups) < 3:
        return {'error': 'fewer than three groups have at least 10 values'}
    f_stat, p_value = stats.f_oneway(*groups.values())
    pooled = pd.concat(list(groups.values()))
    grand_mean = pooled.mean()
    ss_between = sum(len(v) * (v.mean() - grand_mean) ** 2 for v in groups.values())
    ss_total = ((pooled - grand_mean) ** 2).sum()
    means = pd.Series([v.mean() for v in groups.values()], index=list(groups.keys()))
    best, worst = _labels_at_max(means)[0], _labels_at_min(means)[0]
    return {'target_column': target, 'grouping_column': grouping, 'n_groups': len(groups),
            'test_statistic': round(float(f_stat), 2), 'significance_score': round(float(p_value), 4),
            'significant': bool(p_value < 0.05), 'best_group': best, 'best_mean': round(float(means[best]), 2),
            'worst_group': worst, 'worst_mean': round(float(means[worst]), 2),
            'effect_size': round(float(ss_between / ss_total), 2)}


if not candidates:
    submit({'error': 'no categorical column has 3-10 distinct values'})
else:
    answer = _anova(targets[0], candidates[0])
    hook(answer, "answer = _anova(targets[0], candidates[0])", name='answer', depends_on=['targets', 'candidates'])
    ties = [_anova(t, candidates[0]) for t in targets[1:]]
    submit(answer, alternatives=[a for a in ties if 'error' not in a])
