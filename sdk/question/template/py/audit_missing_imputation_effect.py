missing_pct = df[num_cols].isna().mean() * 100
hook(missing_pct, "missing_pct = df[num_cols].isna().mean() * 100", name='missing_pct', description='percentage of missing values per numeric column')
if not (missing_pct > 0).any():
    submit({'error': 'no numeric column has missing values'})
else:
    column = sorted(_labels_at_max(missing_pct))[0]
    hook(column, "column = sorted(_labels_at_max(missing_pct))[0]", name='column', depends_on=['missing_pct'])
    original = df[column]
    imputed = original.fillna(original.median())
    hook(imputed, "imputed = original.fillna(original.median())", name='imputed', depends_on=['column'])
    original_mean, imputed_mean = original.mean(), imputed.mean()
    hook([original_mean, imputed_mean], "original_mean, imputed_mean = original.mean(), imputed.mean()", name='means', depends_on=['imputed'])
    submit({'column': column, 'missing_pct': round(float(missing_pct[column]), 2),
            'imputed_count': int(original.isna().sum()), 'original_mean': round(float(original_mean), 2),
            'imputed_mean': round(float(imputed_mean), 2), 'mean_shift': round(float(imputed_mean - original_mean), 2)})
