"""csvagent sandbox loader, profiler and data overview (SPEC 5.1, 4.4).

Shipped inside the csvagent binary and installed at /opt/csvagent/profile.py.

- `load(path, encoding, delimiter, na_values, coerce)`: the one CSV loader shared by agents,
  reference programs and the profiler.
- `profile(df, info)`: the JSON shape parsed by `csvagent_sdk::dataset::Profile`.
- `overview(df)`: the text overview shown to the teacher.
"""

import math
import re
import warnings

import numpy as np
import pandas as pd

import runtime

NA_TOKENS = ["?", "NA", "N/A", "na", "n/a"]

_NUMBER = re.compile(
    r"^\s*(?P<s1>[-+]?)\s*(?P<cur>[$€£]?)\s*(?P<s2>[-+]?)\s*"
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)\s*(?P<pct>%?)\s*$"
)
_INDEX_NAME = re.compile(
    r"unnamed: \d+|index|id|_id|row_?id|row_?num(ber)?|serial_?no|sr_?no|person_?id"
)
_DATE_SHAPE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?\s*$"
)
_BOOL_PAIRS = [{"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"}]


class LoadError(Exception):
    """A dataset that cannot be loaded, with a reason for the user."""


class LoadInfo:
    """What the loader did: the columns it converted and whether they held symbols."""

    def __init__(self):
        self.currency_columns = set()
        self.coerced_columns = []
        self.renamed_columns = []
        self.text_columns = []


def _coerce_column(series):
    """Returns (floats, had_symbols) if every non-null value is a number string, else None."""
    values = series.dropna()
    if values.empty:
        return None
    out = np.empty(len(series), dtype="float64")
    out[:] = np.nan
    had_symbols = False
    positions = np.flatnonzero(series.notna().to_numpy())
    for pos, raw in zip(positions, values):
        if not isinstance(raw, str):
            return None
        m = _NUMBER.match(raw)
        if m is None:
            return None
        if m.group("s1") and m.group("s2"):
            return None
        num = m.group("num")
        if m.group("cur") or m.group("pct") or "," in num:
            had_symbols = True
        x = float(num.replace(",", ""))
        if "-" in (m.group("s1") + m.group("s2")):
            x = -x
        out[pos] = x
    return pd.Series(out, index=series.index, name=series.name), had_symbols


_LEADING_ZERO = re.compile(r"^\s*[-+]?0\d+\s*$")
_BIG_INT = re.compile(r"^\s*[-+]?\d{19,}\s*$")


def _keep_as_text(raw):
    """Whether a column's raw strings must stay text: an identifier written with leading zeros
    (`00123`), or an integer too wide for 64 bits (a float would change its digits)."""
    values = raw.dropna()
    return bool(values.map(lambda v: bool(_LEADING_ZERO.match(v) or _BIG_INT.match(v))).any())


def load(path, encoding, delimiter, na_values=None, coerce=True, decimal="."):
    """Reads the CSV with explicit encoding, separator and decimal mark (SPEC 5.1) ->
    (df, LoadInfo).

    Columns whose values carry leading zeros (`00123`) or integers wider than 64 bits keep their
    exact text. Raises LoadError with a reason the user can act on.
    """
    info = LoadInfo()
    na = list(NA_TOKENS if na_values is None else na_values)
    decimal = decimal or "."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            options = dict(
                encoding=encoding,
                sep=delimiter,
                na_values=na,
                keep_default_na=True,
                index_col=False,
                low_memory=False,
                encoding_errors="strict",
                decimal=decimal,
            )
            df = pd.read_csv(path, **options)
            raw = pd.read_csv(path, dtype=str, **options)
            for i in range(min(len(df.columns), len(raw.columns))):
                if df.iloc[:, i].dtype != object and _keep_as_text(raw.iloc[:, i]):
                    df[df.columns[i]] = raw.iloc[:, i].str.strip()
                    info.text_columns.append(str(df.columns[i]))
                elif df.iloc[:, i].dtype == object and _keep_as_text(raw.iloc[:, i]):
                    info.text_columns.append(str(df.columns[i]))
    except FileNotFoundError:
        raise LoadError("file not found: " + str(path)) from None
    except pd.errors.EmptyDataError:
        raise LoadError("the file is empty (no header row)") from None
    except pd.errors.ParserError as e:
        raise LoadError("ragged or malformed rows: " + str(e).strip()) from None
    except UnicodeDecodeError as e:
        raise LoadError(
            "the file is not valid " + encoding + " (" + str(e) + ")"
        ) from None
    except LookupError:
        raise LoadError("unknown encoding " + repr(encoding)) from None
    except (ValueError, OSError) as e:
        raise LoadError(type(e).__name__ + ": " + str(e)) from None

    names = []
    for i, c in enumerate(df.columns):
        name = str(c)
        if name.strip() == "":
            new = "Unnamed: " + str(i)
            info.renamed_columns.append((name, new))
            name = new
        names.append(name)
    if len(set(names)) != len(names):
        seen = {}
        unique = []
        for n in names:
            k = seen.get(n, 0)
            seen[n] = k + 1
            unique.append(n if k == 0 else n + "." + str(k))
        names = unique
    df.columns = names

    if coerce:
        for c in df.columns:
            if df[c].dtype == object and c not in info.text_columns:
                res = _coerce_column(df[c])
                if res is not None:
                    df[c] = res[0]
                    info.coerced_columns.append(c)
                    if res[1]:
                        info.currency_columns.add(c)
    return df, info


# ---------------------------------------------------------------------------------------------
# Profile (SPEC 5.1)
# ---------------------------------------------------------------------------------------------


def _num(x):
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _parse_dates(values):
    """Parsed timestamps if every value strictly parses as a date, else None."""
    if values.empty or not all(isinstance(v, str) and _DATE_SHAPE.match(v) for v in values):
        return None
    for dayfirst in (False, True):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(values, errors="raise", dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError):
            continue
        if parsed.notna().all():
            return parsed
    return None


def _iso_date(ts):
    if ts.hour == 0 and ts.minute == 0 and ts.second == 0 and ts.microsecond == 0:
        return ts.strftime("%Y-%m-%d")
    return runtime.normalize(ts)


def _is_index_like(name, col):
    if _INDEX_NAME.fullmatch(name.strip().lower()):
        return True
    if col.dtype.kind not in "iu":
        return False
    values = col.dropna()
    n = len(values)
    if n <= 10:
        return False
    ordered = np.sort(values.to_numpy())
    return bool(
        np.array_equal(ordered, np.arange(0, n)) or np.array_equal(ordered, np.arange(1, n + 1))
    )


def _is_boolean(col):
    if col.dtype == bool:
        return True
    if col.dtype != object:
        return False
    distinct = {str(v).strip().lower() for v in col.dropna().unique()}
    return len(distinct) == 2 and distinct in _BOOL_PAIRS


def _column(name, col, rows, info):
    missing = int(col.isna().sum())
    nonnull = col.dropna()
    out = {
        "dtype": str(col.dtype),
        "missing_count": missing,
        "missing_pct": round(100.0 * missing / rows, 2) if rows else 0.0,
        "unique_count": int(nonnull.nunique()),
        "is_index_like": _is_index_like(name, col),
        "is_boolean": _is_boolean(col),
        "is_currency": name in info.currency_columns,
    }
    if nonnull.empty:
        out["type"] = "empty"
        return out
    kind = col.dtype.kind
    if kind in "iuf":
        out["type"] = "numeric"
        x = nonnull.astype("float64")
        out.update(
            mean=_num(x.mean()),
            std=_num(x.std(ddof=1)),
            min=_num(x.min()),
            max=_num(x.max()),
            q25=_num(x.quantile(0.25)),
            median=_num(x.median()),
            q75=_num(x.quantile(0.75)),
            skew=_num(x.skew()),
        )
        return out
    if kind == "O":
        parsed = _parse_dates(nonnull)
        if parsed is not None:
            lo, hi = parsed.min(), parsed.max()
            out["type"] = "datetime"
            out.update(
                min=_iso_date(lo),
                max=_iso_date(hi),
                range_days=(hi - lo).total_seconds() / 86400.0,
            )
            return out
    out["type"] = "categorical"
    counts = nonnull.astype(str).value_counts().head(5)
    out["top_values"] = {str(k): int(v) for k, v in counts.items()}
    return out


def profile(df, info):
    """The profile JSON of SPEC 5.1 (see csvagent_sdk::dataset::Profile)."""
    rows, ncols = df.shape
    columns = {}
    for name in df.columns:
        columns[str(name)] = _column(str(name), df[name], rows, info)

    numeric = [c for c in df.columns if df[c].dtype.kind in "iuf" and df[c].notna().any()]
    pairs = []
    if len(numeric) >= 2:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            corr = df[numeric].astype("float64").corr(method="pearson")
        for i, a in enumerate(numeric):
            for b in numeric[i + 1:]:
                r = _num(corr.at[a, b])
                if r is not None:
                    pairs.append((a, b, r))
    pairs.sort(key=lambda p: -abs(p[2]))
    correlations = [{"col1": str(a), "col2": str(b), "r": r} for a, b, r in pairs[:5]]

    alerts = []
    if rows:
        dups = int(df.duplicated().sum())
        if dups:
            alerts.append(str(dups) + " duplicate row" + ("s" if dups != 1 else ""))
    empty = [str(c) for c, p in columns.items() if p["type"] == "empty"]
    if empty:
        alerts.append(
            str(len(empty)) + " empty column" + ("s" if len(empty) != 1 else "") + ": "
            + ", ".join(empty)
        )
    unique = [
        str(c)
        for c, p in columns.items()
        if rows > 1 and p["unique_count"] == rows and df[c].dtype.kind != "f"
    ]
    if unique:
        alerts.append("all-unique column" + ("s" if len(unique) != 1 else "") + ": "
                      + ", ".join(unique))

    head = []
    for _, row in df.head(3).iterrows():
        head.append({str(k): runtime.normalize(v) for k, v in row.items()})

    return {
        "shape": {"rows": int(rows), "columns": int(ncols)},
        "columns": columns,
        "correlations": correlations,
        "quality_alerts": alerts,
        "sample_head": head,
    }


# ---------------------------------------------------------------------------------------------
# Overview (SPEC 4.4)
# ---------------------------------------------------------------------------------------------


def overview(df):
    """The blank-line-separated text overview of SPEC 4.4."""
    rows, ncols = df.shape
    parts = []
    parts.append("=== SHAPE ===\n" + str(rows) + " rows x " + str(ncols) + " columns")
    parts.append(
        "=== COLUMNS ===\n" + "\n".join(str(c) + ": " + str(t) for c, t in df.dtypes.items())
    )
    with pd.option_context("display.max_columns", None, "display.width", 250):
        parts.append("=== HEAD (first 5 rows) ===\n" + df.head(5).to_string())
        numeric = df.select_dtypes(include="number")
        if numeric.shape[1]:
            parts.append("=== NUMERIC SUMMARY ===\n" + numeric.describe().to_string())
        else:
            parts.append("=== NUMERIC SUMMARY ===\nNo numeric columns")
    missing = df.isna().sum()
    missing = missing[missing > 0]
    if len(missing):
        parts.append(
            "=== MISSING VALUES ===\n"
            + "\n".join(str(c) + ": " + str(int(n)) for c, n in missing.items())
        )
    else:
        parts.append("=== MISSING VALUES ===\nNo missing values")
    cat_cols = [c for c in df.columns if df[c].dtype.kind in "Ob" or str(df[c].dtype) == "category"]
    if cat_cols:
        blocks = []
        for c in cat_cols:
            counts = df[c].value_counts(dropna=True).head(10)
            lines = ["  " + str(k) + ": " + str(int(v)) for k, v in counts.items()]
            blocks.append(str(c) + ":\n" + "\n".join(lines))
        parts.append("=== CATEGORICAL VALUE COUNTS ===\n" + "\n".join(blocks))
    else:
        parts.append("=== CATEGORICAL VALUE COUNTS ===\nNo categorical columns")
    return "\n\n".join(parts) + "\n"
