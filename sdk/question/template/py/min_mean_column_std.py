means = df[num_cols].mean()
hook(means, "means = df[num_cols].mean()", name='means', description='mean of each numeric column')
column = _labels_at_min(means)[0]
hook(column, "column = _labels_at_min(means)[0]", name='column', depends_on=['means'])
std_value = df[column].std()
hook(std_value, "std_value = df[column].std()", name='std_value', depends_on=['column'])
submit(round(float(std_value), 3))
