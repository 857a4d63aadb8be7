variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])
mean_value = df[target].mean()
hook(mean_value, "mean_value = df[target].mean()", name='mean_value', depends_on=['target'])
submit(round(float(mean_value), 3))
