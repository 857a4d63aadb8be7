stds = df[num_cols].std()
hook(stds, "stds = df[num_cols].std()", name='stds', description='sample standard deviation of each numeric column')
target = _labels_at_max(stds)[0]
hook(target, "target = _labels_at_max(stds)[0]", name='target', depends_on=['stds'])
