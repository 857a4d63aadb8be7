col_stats = df[num_cols].agg(['mean', 'std']).T
hook(col_stats, "col_stats = df[num_cols].agg(['mean', 'std']).T", name='col_stats', description='mean and sample standard deviation of each numeric column')
valid = col_stats[(col_stats['mean'] != 0) & (col_stats['std'] > 0)]
cv = valid['std'] / valid['mean'].abs() * 100
hook(cv, "cv = valid['std'] / valid['mean'].abs() * 100", name='cv', depends_on=['col_stats'])
if cv.empty:
    submit({'error': 'no numeric column has a non-zero mean and a positive standard deviation'})
else:
    best = sorted(_labels_at_max(cv))[0]
    hook(best, "best = sorted(_labels_at_max(cv))[0]", name='best', depends_on=['cv'])
    answer = {'column': best, 'cv': round(float(cv[best]), 2), 'mean': round(float(valid.loc[best, 'mean']), 2), 'std': round(float(valid.loc[best, 'std']), 2)}
    hook(answer, "answer = {'column': best, 'cv': round(float(cv[best]), 2), 'mean': round(float(valid.loc[best, 'mean']), 2), 'std': round(float(valid.loc[best, 'std']), 2)}", name='answer', depends_on=['best', 'cv', 'col_stats'])
    submit(answer)
