"""csvagent sandbox runtime: what agent and reference code sees inside a worker.

Shipped inside the csvagent binary and installed at /opt/csvagent/runtime.py.

- `normalize(value)`: the sandbox-side normalisation of SPEC 2.1 (JSON-ready values; no hashing,
  hashes are computed only on the host).
- `submit(answer, alternatives=None, **metadata)` and `hook(value, code_line, ...)` (SPEC 3.6, 4.4):
  they record structured data for the host and print a short line for the model.
- `make_namespace(df)`: the names injected into a worker (SPEC 4.4) with the builtin allow-list
  and the import allow-list of SPEC 4.5.
"""

import builtins
import datetime as _dt
import json
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

MAX_ANSWER_BYTES = 1024 * 1024
MAX_HOOK_VALUE_BYTES = 100_000
MAX_HASH_VALUE_BYTES = 1024 * 1024

ALLOWED_MODULES = frozenset(
    "pandas numpy scipy sklearn statsmodels json math re collections functools itertools "
    "datetime time hashlib decimal fractions statistics random string operator copy".split()
)

_ALLOWED_BUILTINS = (
    # constants and basic types
    "True False None Ellipsis NotImplemented bool int float complex str bytes bytearray list "
    "tuple dict set frozenset object type range slice property staticmethod classmethod super "
    # iteration and numeric functions
    "enumerate zip map filter reversed sorted iter next len min max sum abs round pow divmod all "
    "any chr ord hex oct bin hash id repr ascii format print "
    # isinstance/getattr family
    "isinstance issubclass getattr setattr hasattr delattr callable dir "
    # common exceptions and warnings
    "BaseException Exception ArithmeticError AssertionError AttributeError EOFError "
    "FloatingPointError IndexError KeyError LookupError NameError NotImplementedError OSError "
    "OverflowError RecursionError RuntimeError StopIteration StopAsyncIteration TypeError "
    "ValueError ZeroDivisionError ImportError ModuleNotFoundError UnicodeError "
    "UnicodeDecodeError UnicodeEncodeError MemoryError TimeoutError PermissionError "
    "FileNotFoundError KeyboardInterrupt SystemExit Warning UserWarning DeprecationWarning "
    "FutureWarning RuntimeWarning"
).split()


class _State:
    """Per-cell state of the worker: mode, submissions and hooks recorded in this cell."""

    mode = "agent"
    submissions = []
    hooks = []


STATE = _State()


def begin_cell(mode):
    """Starts a cell: clears this cell's submissions and hooks and sets the mode."""
    STATE.mode = mode
    STATE.submissions = []
    STATE.hooks = []


# ---------------------------------------------------------------------------------------------
# Normalisation (SPEC 2.1)
# ---------------------------------------------------------------------------------------------


def js_number(x):
    """The ECMAScript Number::toString form of a float (RFC 8785), used for float dict keys."""
    f = float(x)
    if not math.isfinite(f):
        return "null"
    if f == 0:
        return "0"
    sign, digits, exp = Decimal(repr(abs(f))).as_tuple()
    ds = "".join(str(d) for d in digits).rstrip("0") or "0"
    exp += len(digits) - len(ds)
    k = len(ds)
    n = exp + k
    neg = "-" if f < 0 else ""
    if k <= n <= 21:
        body = ds + "0" * (n - k)
    elif 0 < n <= 21:
        body = ds[:n] + "." + ds[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + ds
    else:
        e = n - 1
        mant = ds[0] + ("." + ds[1:] if k > 1 else "")
        body = mant + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return neg + body


def _is_missing_scalar(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return not math.isfinite(float(v))
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(v))
    return False


def _iso(ts):
    if isinstance(ts, pd.Timestamp):
        ts = ts.to_pydatetime(warn=False)
    return ts.isoformat()


def _dict_key(k):
    if isinstance(k, str):
        return k
    if k is None or _is_missing_scalar(k):
        return "null"
    if isinstance(k, (bool, np.bool_)):
        return "true" if k else "false"
    if isinstance(k, (int, np.integer)):
        return str(int(k))
    if isinstance(k, (float, np.floating)):
        return js_number(k)
    if isinstance(k, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        v = normalize(k)
        return v if isinstance(v, str) else str(v)
    if isinstance(k, tuple):
        return canonical_text(normalize(k))
    return str(k)


def canonical_text(value):
    """Compact, key-sorted JSON text of an already-normalised value (tuple dict keys)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _normalize_index_map(index, values):
    return {_dict_key(k): normalize(v) for k, v in zip(index, values)}


def normalize(value):
    """Returns the JSON-ready value of SPEC 2.1 (None for null/NaN/inf/NA/NaT at any depth)."""
    v = value
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, str):
        return str(v)
    if isinstance(v, Decimal):
        if not v.is_finite():
            return None
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else float(v)
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else _iso(pd.Timestamp(v))
    if isinstance(v, (pd.Timestamp, _dt.datetime)):
        return _iso(v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, np.timedelta64):
        return None if np.isnat(v) else pd.Timedelta(v).total_seconds()
    if isinstance(v, (pd.Timedelta, _dt.timedelta)):
        return v.total_seconds()
    if isinstance(v, pd.DataFrame):
        return _normalize_frame(v)
    if isinstance(v, pd.Series):
        return _normalize_series(v)
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return normalize(v.item())
        return [normalize(x) for x in v]
    if isinstance(v, (list, tuple, pd.Index, pd.Categorical)):
        return [normalize(x) for x in v]
    if isinstance(v, (set, frozenset)):
        items = [normalize(x) for x in v]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=canonical_text)
    if isinstance(v, dict):
        return {_dict_key(k): normalize(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return normalize(v.item())
    if isinstance(v, complex):
        return str(v)
    return str(v)


def _normalize_series(s):
    if s.size == 1:
        return normalize(s.iloc[0])
    if not isinstance(s.index, pd.RangeIndex):
        return _normalize_index_map(s.index, s.tolist() if s.dtype.kind in "biuf" else s)
    return [normalize(x) for x in (s.tolist() if s.dtype.kind in "biuf" else s)]


def _normalize_frame(df):
    rows, cols = df.shape
    if rows == 0 or cols == 0:
        return {}
    if rows == 1 and cols == 1:
        return normalize(df.iat[0, 0])
    if cols == 1:
        col = df.iloc[:, 0]
        if not isinstance(df.index, pd.RangeIndex):
            return _normalize_index_map(df.index, col)
        return [normalize(x) for x in col]
    if cols == 2:
        return _normalize_index_map(df.iloc[:, 0], df.iloc[:, 1])
    names = [_dict_key(c) for c in df.columns]
    return [
        {name: normalize(x) for name, x in zip(names, row)}
        for row in df.itertuples(index=False, name=None)
    ]


def to_json(value):
    """Compact JSON text of an already-normalised value (non-ASCII raw, no NaN)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _short(text, limit=120):
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# submit / hook (SPEC 3.6, 4.4)
# ---------------------------------------------------------------------------------------------


def submit(answer, alternatives=None, **metadata):
    """Records this cell's answer (normalised per SPEC 2.1) and prints `✓ Submitted: <json>`.

    `alternatives` (tie answers) count only in reference mode. Raises RuntimeError on a second
    call in the same cell, ValueError for a null/NaN answer or one whose JSON exceeds 1 MiB.
    """
    if STATE.submissions:
        raise RuntimeError("submit() may be called only once per cell")
    norm = normalize(answer)
    if norm is None:
        raise ValueError("submit() needs a concrete value (got null/NaN)")
    text = to_json(norm)
    if len(text.encode("utf-8")) > MAX_ANSWER_BYTES:
        raise ValueError("answer too large")
    alts = []
    if STATE.mode == "reference" and alternatives is not None:
        if isinstance(alternatives, (str, bytes)) or not hasattr(alternatives, "__iter__"):
            raise TypeError("submit(alternatives=...) must be a list of values")
        alts = [a for a in (normalize(x) for x in alternatives) if a is not None]
    meta = {str(k): normalize(v) for k, v in metadata.items()}
    STATE.submissions.append({"answer": norm, "alternatives": alts, "metadata": meta})
    print("✓ Submitted: " + _short(text, 2000))


def _frame_summary(df):
    numeric = [c for c in df.columns if df[c].dtype.kind in "iuf"][:5]
    summary = {}
    for c in numeric:
        col = df[c]
        summary[_dict_key(c)] = {
            "mean": normalize(col.mean()),
            "min": normalize(col.min()),
            "max": normalize(col.max()),
        }
    return {
        "type": "DataFrame",
        "shape": [int(df.shape[0]), int(df.shape[1])],
        "columns": [_dict_key(c) for c in df.columns],
        "dtypes": {_dict_key(c): str(t) for c, t in df.dtypes.items()},
        "head": [[normalize(x) for x in row] for row in df.head(3).itertuples(index=False)],
        "numeric_summary": summary,
    }


def _series_summary(s):
    out = {
        "type": "Series",
        "name": normalize(s.name) if not isinstance(s.name, tuple) else _dict_key(s.name),
        "shape": [int(s.shape[0])],
        "dtype": str(s.dtype),
        "head": [normalize(x) for x in s.head(5)],
    }
    if s.dtype.kind in "biuf":
        num = s.astype("float64") if s.dtype.kind == "b" else s
        out["stats"] = {
            "mean": normalize(num.mean()),
            "min": normalize(num.min()),
            "max": normalize(num.max()),
        }
    return out


def _is_scalar(v):
    return v is None or isinstance(
        v,
        (bool, int, float, str, Decimal, Fraction, np.generic, pd.Timestamp, pd.Timedelta,
         _dt.date, _dt.datetime, _dt.timedelta),
    ) or v is pd.NA or v is pd.NaT


def hook(value, code_line, name=None, description=None, depends_on=None):
    """Records a checkpoint of `value` produced by `code_line`, prints it, returns `value`.

    The recorded `value` is a summary for DataFrame/Series, the value itself for scalars, and
    the normalised value (or `{type, size_bytes}` past 100,000 bytes) otherwise. `hash_value`,
    the full normalised value, is sent when its JSON is at most 1 MiB.
    """
    full = normalize(value)
    full_text = to_json(full)
    full_bytes = len(full_text.encode("utf-8"))
    if isinstance(value, pd.DataFrame):
        shown = _frame_summary(value)
    elif isinstance(value, pd.Series):
        shown = _series_summary(value)
    elif _is_scalar(value):
        shown = full
    elif full_bytes <= MAX_HOOK_VALUE_BYTES:
        shown = full
    else:
        shown = {"type": type(value).__name__, "size_bytes": full_bytes}
    if depends_on is None:
        deps = []
    elif isinstance(depends_on, str):
        deps = [depends_on]
    else:
        deps = [str(d) for d in depends_on]
    STATE.hooks.append(
        {
            "variable_name": None if name is None else str(name),
            "code_line": None if code_line is None else str(code_line),
            "value": shown,
            "hash_value": full if full_bytes <= MAX_HASH_VALUE_BYTES else None,
            "depends_on": deps,
            "description": None if description is None else str(description),
        }
    )
    label = name if name is not None else (code_line or "value")
    print("📍 Hook " + str(label) + ": " + _short(to_json(shown)))
    return value


# ---------------------------------------------------------------------------------------------
# Restrictions (SPEC 4.5)
# ---------------------------------------------------------------------------------------------


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    top = name.partition(".")[0]
    if level != 0 or top not in ALLOWED_MODULES:
        raise ImportError(
            "Import of '" + name + "' is not allowed. Allowed modules: "
            + ", ".join(sorted(ALLOWED_MODULES))
        )
    return builtins.__import__(name, globals, locals, fromlist, level)


def safe_builtins():
    """The builtin allow-list of SPEC 4.5 plus the guarded `__import__`."""
    table = {n: getattr(builtins, n) for n in _ALLOWED_BUILTINS if hasattr(builtins, n)}
    table["__import__"] = _guarded_import
    return table


def make_namespace(df):
    """The globals of a fresh worker: df, pd, np, scipy, stats, sklearn, statsmodels, sm, json,
    submit, hook, over the restricted builtins."""
    import scipy
    import scipy.stats
    import sklearn
    import statsmodels
    import statsmodels.api as sm

    return {
        "__builtins__": safe_builtins(),
        "__name__": "__main__",
        "df": df,
        "pd": pd,
        "np": np,
        "scipy": scipy,
        "stats": scipy.stats,
        "sklearn": sklearn,
        "statsmodels": statsmodels,
        "sm": sm,
        "json": json,
        "submit": submit,
        "hook": hook,
    }
