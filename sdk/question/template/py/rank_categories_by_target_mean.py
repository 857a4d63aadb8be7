variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])
candidates = [c for c in cat_cols if 3 <= df[c].nunique() <= 20]
hook(candidates, "candidates = [c for c in cat_cols if 3 <= df[c].nunique() <= 20]", name='candidates', description='categorical columns with 3-20 distinct values, in file order')
if not candidates:
    submit({'error': 'no categorical column has 3-20 distinct values'})
else:
    category_column = candidates[0]
    group_stats = df.groupby(category_column)[target].agg(['mean', 'count'])
    hook(group_stats, "group_stats = df.groupby(category_column)[target].agg(['mean', 'count'])", name='group_stats', depends_on=['target', 'candidates'])
    eligible = group_stats[group_stats['count'] >= {min_n}]
    hook(eligible, "eligible = group_stats[group_stats['count'] >= {min_n}]", name='eligible', depends_on=['group_stats'])
    ranked = _labels_top_n(eligible['mean'], {top_k})
    hook(ranked, "ranked = _labels_top_n(eligible['mean'], {top_k})", name='ranked', depends_on=['eligible'])
    if not ranked:
        submit({'error': 'no category has enough rows'})
    else:
        def _ranking(labels):
            return {'category_column': category_column, 'target_column': target,
                    'ranking': [{'category': label.item() if hasattr(label, 'item') else label,
                                 'mean': round(float(eligible.loc[label, 'mean']), 2),
                                 'n': int(eligible.loc[label, 'count'])} for label in labels]}

        primary = ranked[:{top_k}]
        boundary = [label for label in ranked if eligible.loc[label, 'mean'] == eligible.loc[primary[-1], 'mean']]
        swaps = [primary[:-1] + [label] for label in boundary if label not in primary]
        submit(_ranking(primary), alternatives=[_ranking(labels) for labels in swaps])
