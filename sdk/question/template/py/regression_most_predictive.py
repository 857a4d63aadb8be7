variances = df[num_cols].var()
hook(variances, "variances = df[num_cols].var()", name='variances', description='sample variance of each numeric column')
target = _labels_at_max(variances)[0]
hook(target, "target = _labels_at_max(variances)[0]", name='target', depends_on=['variances'])
predictors = [c for c in num_cols if c != target]
correlations = df[predictors].corrwith(df[target])
hook(correlations, "correlations = df[predictors].corrwith(df[target])", name='correlations', depends_on=['target'])
best_predictor = _labels_at_max(correlations.abs())[0]
hook(best_predictor, "best_predictor = _labels_at_max(correlations.abs())[0]", name='best_predictor', depends_on=['correlations'])
data = df[[target, best_predictor]].dropna()
hook(data, "data = df[[target, best_predictor]].dropna()", name='data', depends_on=['best_predictor'])
model = sm.OLS(data[target], sm.add_constant(data[best_predictor])).fit()
hook(model.params, "model = sm.OLS(data[target], sm.add_constant(data[best_predictor])).fit()", name='model', depends_on=['data'])
submit({'target': target, 'best_predictor': best_predictor,
        'association_score': round(float(correlations[best_predictor]), 2),
        'fit_score': round(float(model.rsquared), 2), 'coefficient': round(float(model.params[best_predictor]), 2),
        'significance_score': round(float(model.pvalues[best_predictor]), 4)})
