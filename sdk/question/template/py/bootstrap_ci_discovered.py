abs_skews = df[num_cols].skew().abs()
hook(abs_skews, "abs_skews = df[num_cols].skew().abs()", name='abs_skews', description='absolute skewness of each numeric column')
column = _labels_at_max(abs_skews)[0]
hook(column, "column = _labels_at_max(abs_skews)[0]", name='column', depends_on=['abs_skews'])
values = df[column].dropna().to_numpy()
hook(values, "values = df[column].dropna().to_numpy()", name='values', depends_on=['column'])
rng = np.random.default_rng({seed})
boot_means = np.array([rng.choice(values, size=len(values), replace=True).mean() for _ in range({n_iterations})])
hook(boot_means, "boot_means = np.array([rng.choice(values, size=len(values), replace=True).mean() for _ in range({n_iterations})])", name='boot_means', depends_on=['values'])
ci_lower, ci_upper = np.percentile(boot_means, [2.5, 97.5])
hook([ci_lower, ci_upper], "ci_lower, ci_upper = np.percentile(boot_means, [2.5, 97.5])", name='ci', depends_on=['boot_means'])
std_error = boot_means.std()
hook(std_error, "std_error = boot_means.std()", name='std_error', depends_on=['boot_means'])
submit({'column': column, 'skewness': round(float(df[column].skew()), 2), 'mean': round(float(values.mean()), 2),
        'ci_lower': round(float(ci_lower), 2), 'ci_upper': round(float(ci_upper), 2),
        'std_error': round(float(std_error), 2), 'n_iterations': {n_iterations}})
