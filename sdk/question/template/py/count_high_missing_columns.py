missing_pct = df.isna().mean() * 100
hook(missing_pct, "missing_pct = df.isna().mean() * 100", name='missing_pct', description='percentage of missing values per column')
high_missing = sorted(str(c) for c in missing_pct[missing_pct > {missing_threshold}].index)
hook(high_missing, "high_missing = sorted(str(c) for c in missing_pct[missing_pct > {missing_threshold}].index)", name='high_missing', depends_on=['missing_pct'])
answer = {'count': len(high_missing), 'columns': high_missing}
hook(answer, "answer = {'count': len(high_missing), 'columns': high_missing}", name='answer', depends_on=['high_missing'])
submit(answer)
