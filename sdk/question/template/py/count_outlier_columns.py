outlier_counts = {}
for col in num_cols:
    values = df[col].dropna()
    std = values.std()
    if std > 0:
        outlier_counts[col] = int(((values - values.mean()).abs() > {z_threshold} * std).sum())
hook(outlier_counts, "outlier_counts[col] = int(((values - values.mean()).abs() > {z_threshold} * std).sum())", name='outlier_counts', description='outliers per numeric column')
columns_with_outliers = sum(1 for n in outlier_counts.values() if n > 0)
hook(columns_with_outliers, "columns_with_outliers = sum(1 for n in outlier_counts.values() if n > 0)", name='columns_with_outliers', depends_on=['outlier_counts'])
total_outliers = sum(outlier_counts.values())
hook(total_outliers, "total_outliers = sum(outlier_counts.values())", name='total_outliers', depends_on=['outlier_counts'])
submit({'columns_with_outliers': columns_with_outliers, 'total_outliers': total_outliers})
