candidates = [c for c in cat_cols if 2 <= df[c].nunique() <= 10]
hook(candidates, "candidates = [c for c in cat_cols if 2 <= df[c].nunique() <= 10]", name='candidates', description='categorical columns with 2-10 distinct values, in file order')
if len(candidates) < 2:
    submit({'error': 'fewer than two categorical columns have 2-10 distinct values'})
else:
    column1, column2 = candidates[0], candidates[1]
    table = pd.crosstab(df[column1], df[column2])
    hook(table, "table = pd.crosstab(df[column1], df[column2])", name='table', depends_on=['candidates'])
    chi2, p_value, dof, expected = stats.chi2_contingency(table)
    hook(p_value, "chi2, p_value, dof, expected = stats.chi2_contingency(table)", name='p_value', depends_on=['table'])
    submit({'column1': column1, 'column2': column2, 'test_statistic': round(float(chi2), 2),
            'significance_score': round(float(p_value), 4), 'df': int(dof),
            'expected_min': round(float(expected.min()), 2), 'independent': bool(p_value >= 0.05)})
