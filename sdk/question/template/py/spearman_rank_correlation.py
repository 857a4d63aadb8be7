rho_matrix = df[num_cols].corr(method='spearman').abs()
hook(rho_matrix, "rho_matrix = df[num_cols].corr(method='spearman').abs()", name='rho_matrix', description='absolute Spearman correlations (pairwise-complete rows)')
rho_matrix = rho_matrix.mask(np.eye(len(rho_matrix), dtype=bool))
i, j = np.unravel_index(np.argmax(np.nan_to_num(rho_matrix.to_numpy(), nan=-1.0)), rho_matrix.shape)
col_a, col_b = rho_matrix.index[i], rho_matrix.columns[j]
hook([col_a, col_b], "col_a, col_b = rho_matrix.index[i], rho_matrix.columns[j]", name='pair', depends_on=['rho_matrix'])
complete = df[[col_a, col_b]].dropna()
rho, p_value = stats.spearmanr(complete[col_a], complete[col_b])
hook([rho, p_value], "rho, p_value = stats.spearmanr(complete[col_a], complete[col_b])", name='spearman', depends_on=['pair'])
strength = abs(rho)
interpretation = 'strong' if strength >= 0.7 else 'moderate' if strength >= 0.4 else 'weak' if strength >= 0.2 else 'negligible'
hook(interpretation, "interpretation = 'strong' if strength >= 0.7 else 'moderate' if strength >= 0.4 else 'weak' if strength >= 0.2 else 'negligible'", name='interpretation', depends_on=['spearman'])
submit({'columns': sorted([col_a, col_b]), 'association_score': round(float(rho), 2),
        'significance_score': round(float(p_value), 4), 'interpretation': interpretation})
