variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])
candidates = [c for c in cat_cols if 3 <= df[c].nunique() <= 15]
hook(candidates, "candidates = [c for c in cat_cols if 3 <= df[c].nunique() <= 15]", name='candidates', description='categorical columns with 3-15 distinct values, in file order')
if not candidates:
    submit({'error': 'no categorical column has 3-15 distinct values'})
else:
    category_column = candidates[0]
    group_means = df.groupby(category_column)[target].mean()
    hook(group_means, "group_means = df.groupby(category_column)[target].mean()", name='group_means', depends_on=['target', 'candidates'])
    best = [label.item() if hasattr(label, 'item') else label for label in _labels_at_max(group_means)]
    hook(best, "best = [label.item() if hasattr(label, 'item') else label for label in _labels_at_max(group_means)]", name='best', depends_on=['group_means'])

    def _segment_outliers(label):
        segment = df.loc[df[category_column] == label, target].dropna()
        q1, q3 = segment.quantile(0.25), segment.quantile(0.75)
        iqr = q3 - q1
        n_outliers = int(((segment < q1 - 1.5 * iqr) | (segment > q3 + 1.5 * iqr)).sum())
        return {'category_column': category_column, 'target_column': target, 'best_category': label,
                'segment_size': int(len(segment)), 'segment_mean': round(float(segment.mean()), 2),
                'segment_outliers': n_outliers, 'outlier_rate': round(n_outliers / len(segment) * 100, 2)}

    answer = _segment_outliers(best[0])
    hook(answer, "answer = _segment_outliers(best[0])", name='answer', depends_on=['best'])
    submit(answer, alternatives=[_segment_outliers(label) for label in best[1:]])
