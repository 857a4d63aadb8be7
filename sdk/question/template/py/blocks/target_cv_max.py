means = df[num_cols].mean()
stds = df[num_cols].std()
cvs = (stds / means.abs() * 100)[(means != 0) & (stds > 0)]
hook(cvs, "cvs = (stds / means.abs() * 100)[(means != 0) & (stds > 0)]", name='cvs', description='coefficient of variation (%) of each numeric column')
target = sorted(_labels_at_max(cvs))[0]
hook(target, "target = sorted(_labels_at_max(cvs))[0]", name='target', depends_on=['cvs'])
