stds = df[num_cols].std()
candidates = [c for c in num_cols if stds[c] > 0]
abs_skews = df[candidates].skew().abs()
hook(abs_skews, "abs_skews = df[candidates].skew().abs()", name='abs_skews', description='absolute skewness of each non-constant numeric column')
column = _labels_at_min(abs_skews)[0]
hook(column, "column = _labels_at_min(abs_skews)[0]", name='column', depends_on=['abs_skews'])
values = df[column].dropna()
sample_mean = values.mean()
sample_std = values.std()
hook([sample_mean, sample_std], "sample_std = values.std()", name='sample_moments', depends_on=['column'])
standardized = (values - sample_mean) / sample_std
hook(standardized, "standardized = (values - sample_mean) / sample_std", name='standardized', depends_on=['sample_moments'])
ks_stat, p_value = stats.kstest(standardized, 'norm')
hook(p_value, "ks_stat, p_value = stats.kstest(standardized, 'norm')", name='p_value', depends_on=['standardized'])
submit({'column': column, 'test_statistic': round(float(ks_stat), 2), 'significance_score': round(float(p_value), 4),
        'is_normal': bool(p_value >= 0.05), 'sample_mean': round(float(sample_mean), 2),
        'sample_std': round(float(sample_std), 2)})
