variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
targets = _labels_at_max(variances)
hook(targets, "targets = _labels_at_max(variances)", name='targets', depends_on=['variances'])


def _normality_summary(column):
    values = df[column].dropna()
    tested = values.sample(n=5000, random_state={seed}) if len(values) > 5000 else values
    p_value = stats.shapiro(tested).pvalue
    if p_value > 0.05:
        return {'distribution': 'normal', 'mean': round(float(values.mean()), 2), 'std': round(float(values.std()), 2)}
    iqr = values.quantile(0.75) - values.quantile(0.25)
    return {'distribution': 'non-normal', 'median': round(float(values.median()), 2), 'iqr': round(float(iqr), 2)}


answer = _normality_summary(targets[0])
hook(answer, "answer = _normality_summary(targets[0])", name='answer', depends_on=['targets'])
submit(answer, alternatives=[_normality_summary(c) for c in targets[1:]])
