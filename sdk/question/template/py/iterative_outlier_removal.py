means = df[num_cols].mean()
stds = df[num_cols].std()
cvs = (stds / means.abs() * 100)[(means != 0) & (stds > 0)]
hook(cvs, "cvs = (stds / means.abs() * 100)[(means != 0) & (stds > 0)]", name='cvs', description='coefficient of variation (%) of each numeric column')
target = sorted(_labels_at_max(cvs))[0]
hook(target, "target = sorted(_labels_at_max(cvs))[0]", name='target', depends_on=['cvs'])
values = df[target].dropna()
initial_mean = values.mean()
hook(initial_mean, "initial_mean = values.mean()", name='initial_mean', depends_on=['target'])
iterations_used = 0
for i in range({max_iter}):
    iterations_used = i + 1
    mean, std = values.mean(), values.std()
    if std == 0:
        break
    outside = (values - mean).abs() > {z_threshold} * std
    if not outside.any():
        break
    values = values[~outside]
    if abs(values.mean() - mean) < {eps}:
        break
hook(iterations_used, "iterations_used = i + 1", name='iterations_used', depends_on=['initial_mean'])
total_removed = int(df[target].notna().sum() - len(values))
hook(total_removed, "total_removed = int(df[target].notna().sum() - len(values))", name='total_removed', depends_on=['iterations_used'])
submit({'column': target, 'iterations_used': iterations_used, 'total_removed': total_removed,
        'initial_mean': round(float(initial_mean), 2), 'final_mean': round(float(values.mean()), 2)})
