variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])
candidates = [c for c in cat_cols if 2 <= df[c].nunique() <= 20]
category_column = (candidates + cat_cols + [None])[0]
hook(category_column, "category_column = (candidates + cat_cols + [None])[0]", name='category_column')
if category_column is None:
    submit({'error': 'there is no categorical column'})
else:
    group_means = df.groupby(category_column)[target].mean()
    hook(group_means, "group_means = df.groupby(category_column)[target].mean()", name='group_means', depends_on=['target', 'category_column'])
    best = [label.item() if hasattr(label, 'item') else label for label in _labels_at_max(group_means)]
    hook(best, "best = [label.item() if hasattr(label, 'item') else label for label in _labels_at_max(group_means)]", name='best', depends_on=['group_means'])
    answers = [{'category_column': category_column, 'best_category': label, 'target_column': target,
                'mean_value': round(float(group_means[label]), 2)} for label in best]
    submit(answers[0], alternatives=answers[1:])
