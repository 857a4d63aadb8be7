variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances.drop(_labels_at_max(variances)[0]))[0]
hook(target, "target = _labels_at_max(variances.drop(_labels_at_max(variances)[0]))[0]", name='target', depends_on=['variances'])
