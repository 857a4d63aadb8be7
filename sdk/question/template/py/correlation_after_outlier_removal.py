corr_matrix = df[num_cols].corr().abs()
hook(corr_matrix, "corr_matrix = df[num_cols].corr().abs()", name='corr_matrix', description='absolute Pearson correlations (pairwise-complete rows)')
corr_matrix = corr_matrix.mask(np.eye(len(corr_matrix), dtype=bool), 0.0)
i, j = np.unravel_index(np.argmax(np.nan_to_num(corr_matrix.to_numpy(), nan=-1.0)), corr_matrix.shape)
col_a, col_b = corr_matrix.index[i], corr_matrix.columns[j]
hook([col_a, col_b], "col_a, col_b = corr_matrix.index[i], corr_matrix.columns[j]", name='pair', depends_on=['corr_matrix'])
complete = df[[col_a, col_b]].dropna()
original_r = complete[col_a].corr(complete[col_b])
hook(original_r, "original_r = complete[col_a].corr(complete[col_b])", name='original_r', depends_on=['pair'])
within = ((complete - complete.mean()).abs() <= 3 * complete.std()).all(axis=1)
hook(within, "within = ((complete - complete.mean()).abs() <= 3 * complete.std()).all(axis=1)", name='within', depends_on=['pair'])
clean = complete[within]
clean_r = clean[col_a].corr(clean[col_b])
hook(clean_r, "clean_r = clean[col_a].corr(clean[col_b])", name='clean_r', depends_on=['within'])
submit({'columns': sorted([col_a, col_b]), 'original_association': round(float(original_r), 2),
        'outliers_removed': int(len(complete) - len(clean)), 'clean_association': round(float(clean_r), 2)})
