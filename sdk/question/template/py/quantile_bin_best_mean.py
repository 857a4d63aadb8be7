abs_skews = df[num_cols].skew().abs()
hook(abs_skews, "abs_skews = df[num_cols].skew().abs()", name='abs_skews', description='absolute skewness of each numeric column')
binning_column = _labels_at_max(abs_skews)[0]
hook(binning_column, "binning_column = _labels_at_max(abs_skews)[0]", name='binning_column', depends_on=['abs_skews'])
others = [c for c in num_cols if c != binning_column]
variances = df[others].var()
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['binning_column'])
bins = pd.qcut(df[binning_column], q={n_bins}, duplicates='drop')
hook(bins, "bins = pd.qcut(df[binning_column], q={n_bins}, duplicates='drop')", name='bins', depends_on=['binning_column'])
if bins.cat.categories.size < 2:
    submit({'error': 'quantile binning gives fewer than 2 bins'})
else:
    bin_means = df.groupby(bins, observed=True)[target].mean()
    bin_means.index = [str(interval) for interval in bin_means.index]
    hook(bin_means, "bin_means = df.groupby(bins, observed=True)[target].mean()", name='bin_means', depends_on=['bins', 'target'])
    best = _labels_at_max(bin_means)
    hook(best, "best = _labels_at_max(bin_means)", name='best', depends_on=['bin_means'])
    rounded = {label: round(float(mean), 2) for label, mean in bin_means.items()}
    answers = [{'binning_column': binning_column, 'target_column': target, 'best_bin': label,
                'best_bin_mean': rounded[label], 'bin_means': rounded} for label in best]
    submit(answers[0], alternatives=answers[1:])
