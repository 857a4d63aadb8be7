variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
targets = _labels_at_max(variances)
hook(targets, "targets = _labels_at_max(variances)", name='targets', depends_on=['variances'])


def _top_predictors(target):
    abs_corr = df[[c for c in num_cols if c != target]].corrwith(df[target]).abs().dropna()
    return sorted(abs_corr.index, key=lambda c: (-abs_corr[c], c))[:3]


def _regression(target, predictors):
    data = df[[target] + predictors].dropna()
    model = sm.OLS(data[target], sm.add_constant(data[predictors])).fit()
    return {'target': target, 'predictors': sorted(predictors), 'fit_score': round(float(model.rsquared), 2),
            'fit_score_adj': round(float(model.rsquared_adj), 2),
            'n_influential': int((model.pvalues.drop('const') < 0.05).sum())}


predictors = _top_predictors(targets[0])
hook(predictors, "predictors = _top_predictors(targets[0])", name='predictors', depends_on=['targets'])
answer = _regression(targets[0], predictors)
hook(answer, "answer = _regression(targets[0], predictors)", name='answer', depends_on=['predictors'])
submit(answer, alternatives=[_regression(t, _top_predictors(t)) for t in targets[1:]])
