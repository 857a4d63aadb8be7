abs_skews = df[num_cols].skew().abs()
hook(abs_skews, "abs_skews = df[num_cols].skew().abs()", name='abs_skews', description='absolute skewness of each numeric column')
target = sorted(_labels_at_max(abs_skews))[0]
hook(target, "target = sorted(_labels_at_max(abs_skews))[0]", name='target', depends_on=['abs_skews'])
