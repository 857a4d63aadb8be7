ranges = df[num_cols].max() - df[num_cols].min()
hook(ranges, "ranges = df[num_cols].max() - df[num_cols].min()", name='ranges', description='max - min of each numeric column')
column = sorted(_labels_at_max(ranges))[0]
hook(column, "column = sorted(_labels_at_max(ranges))[0]", name='column', depends_on=['ranges'])
percentiles = df[column].dropna().quantile([0.1, 0.25, 0.5, 0.75, 0.9])
hook(percentiles, "percentiles = df[column].dropna().quantile([0.1, 0.25, 0.5, 0.75, 0.9])", name='percentiles', depends_on=['column'])
submit({'column': column, 'p10': round(float(percentiles.iloc[0]), 2), 'p25': round(float(percentiles.iloc[1]), 2),
        'p50': round(float(percentiles.iloc[2]), 2), 'p75': round(float(percentiles.iloc[3]), 2),
        'p90': round(float(percentiles.iloc[4]), 2)})
