num_cols = [c for c in df.columns
            if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
            and c not in _ID_LIKE_COLS]
cat_cols = [c for c in df.columns
            if (pd.api.types.is_object_dtype(df[c]) or isinstance(df[c].dtype, pd.CategoricalDtype)
                or pd.api.types.is_bool_dtype(df[c]))
            and c not in _ID_LIKE_COLS]


def _labels_at_max(values):
    """Every label whose value equals the largest value (NaN ignored), in the given order."""
    s = pd.Series(values, dtype='float64').dropna()
    return [k for k, v in s.items() if v == s.max()]


def _labels_at_min(values):
    """Every label whose value equals the smallest value (NaN ignored), in the given order."""
    s = pd.Series(values, dtype='float64').dropna()
    return [k for k, v in s.items() if v == s.min()]


def _labels_top_n(values, n):
    """Every label whose value is at least the n-th largest value (NaN ignored), largest first;
    equal values keep the given order."""
    s = pd.Series(values, dtype='float64').dropna().sort_values(ascending=False, kind='stable')
    if s.empty:
        return []
    cutoff = s.iloc[min(n, len(s)) - 1]
    return [k for k, v in s.items() if v >= cutoff]
