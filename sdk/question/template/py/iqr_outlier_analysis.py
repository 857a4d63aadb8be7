variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])
values = df[target].dropna()
q1 = values.quantile(0.25)
q3 = values.quantile(0.75)
iqr = q3 - q1
hook(iqr, "iqr = q3 - q1", name='iqr', depends_on=['target'])
lower_fence = q1 - 1.5 * iqr
upper_fence = q3 + 1.5 * iqr
hook([lower_fence, upper_fence], "upper_fence = q3 + 1.5 * iqr", name='fences', depends_on=['iqr'])
n_outliers = int(((values < lower_fence) | (values > upper_fence)).sum())
hook(n_outliers, "n_outliers = int(((values < lower_fence) | (values > upper_fence)).sum())", name='n_outliers', depends_on=['fences'])
submit({'column': target, 'q1': round(float(q1), 2), 'q3': round(float(q3), 2), 'iqr': round(float(iqr), 2),
        'lower_fence': round(float(lower_fence), 2), 'upper_fence': round(float(upper_fence), 2),
        'n_outliers': n_outliers})
