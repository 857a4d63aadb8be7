variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])
values = df[target].dropna()
hook(values, "values = df[target].dropna()", name='values', depends_on=['target'])
summary = {'column': target, 'count': int(values.count()), 'mean': round(float(values.mean()), 2),
           'std': round(float(values.std()), 2), 'min': round(float(values.min()), 2),
           'max': round(float(values.max()), 2), 'median': round(float(values.median()), 2),
           'skewness': round(float(values.skew()), 2), 'kurtosis': round(float(values.kurt()), 2)}
submit(summary)
