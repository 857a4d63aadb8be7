distinct_ratio = df.nunique(dropna=False) / len(df)
hook(distinct_ratio, "distinct_ratio = df.nunique(dropna=False) / len(df)", name='distinct_ratio', description='distinct values (missing counted once) per row, per column')
id_like = sorted(str(c) for c in distinct_ratio[distinct_ratio >= {unique_ratio_threshold}].index)
hook(id_like, "id_like = sorted(str(c) for c in distinct_ratio[distinct_ratio >= {unique_ratio_threshold}].index)", name='id_like', depends_on=['distinct_ratio'])
answer = {'count': len(id_like), 'columns': id_like}
hook(answer, "answer = {'count': len(id_like), 'columns': id_like}", name='answer', depends_on=['id_like'])
submit(answer)
