positive_cols = [c for c in num_cols if df[c].notna().any() and bool((df[c].dropna() > 0).all())]
hook(positive_cols, "positive_cols = [c for c in num_cols if df[c].notna().any() and bool((df[c].dropna() > 0).all())]", name='positive_cols', description='numeric columns whose values are all positive')
abs_skews = df[positive_cols].skew().abs().dropna()
ranked = sorted(abs_skews.index, key=lambda c: (-abs_skews[c], c))
hook(ranked, "ranked = sorted(abs_skews.index, key=lambda c: (-abs_skews[c], c))", name='ranked', depends_on=['positive_cols'])
if len(ranked) < 2:
    submit({'error': 'fewer than two numeric columns have only positive values'})
else:
    col_a, col_b = ranked[0], ranked[1]
    complete = df[[col_a, col_b]].dropna()
    original_r = complete[col_a].corr(complete[col_b])
    hook(original_r, "original_r = complete[col_a].corr(complete[col_b])", name='original_r', depends_on=['ranked'])
    logged = np.log1p(complete - complete.min() + 1)
    hook(logged, "logged = np.log1p(complete - complete.min() + 1)", name='logged', depends_on=['ranked'])
    log_r = logged[col_a].corr(logged[col_b])
    hook(log_r, "log_r = logged[col_a].corr(logged[col_b])", name='log_r', depends_on=['logged'])
    improvement = abs(log_r) - abs(original_r)
    hook(improvement, "improvement = abs(log_r) - abs(original_r)", name='improvement', depends_on=['original_r', 'log_r'])
    submit({'columns': sorted([col_a, col_b]), 'original_association': round(float(original_r), 2),
            'log_association': round(float(log_r), 2), 'improvement': round(float(improvement), 2),
            'transformation_helpful': bool(improvement > 0)})
