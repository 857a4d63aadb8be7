"""Unit tests of the sandbox normalisation (SPEC 2.1) on the host Python.

Run: python3 -m unittest discover -s sdk/sandbox/python -p 'test_*.py'
(needs pandas and numpy; the Rust tests in tests/sandbox.rs check the same facts in the image).
"""

import datetime as dt
import unittest
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

import runtime


class JsNumber(unittest.TestCase):
    def test_spec_vectors_print_in_ecmascript_form(self):
        for value, text in [
            (42.0, "42"), (-0.0, "0"), (42.5, "42.5"), (13270.42, "13270.42"),
            (0.1 + 0.2, "0.30000000000000004"), (1e-7, "1e-7"), (1e-6, "0.000001"),
            (1e21, "1e+21"), (1.2345678901234568e20, "123456789012345680000"),
            (-1.5e-10, "-1.5e-10"), (0.004, "0.004"),
        ]:
            self.assertEqual(runtime.js_number(value), text, value)


class Normalize(unittest.TestCase):
    def test_numpy_and_python_numbers_normalise_alike(self):
        self.assertEqual(runtime.normalize(np.int64(42)), 42)
        self.assertEqual(runtime.normalize(np.float64(42.0)), 42.0)
        self.assertIs(runtime.normalize(np.bool_(True)), True)
        self.assertEqual(runtime.normalize(Decimal("2.50")), 2.5)
        self.assertEqual(runtime.normalize(Fraction(4, 2)), 2)

    def test_missing_values_become_null_at_any_depth(self):
        self.assertEqual(runtime.normalize([np.nan, 1]), [None, 1])
        self.assertEqual(runtime.normalize({"a": [pd.NA, pd.NaT, float("inf")]}), {"a": [None, None, None]})

    def test_times(self):
        self.assertEqual(runtime.normalize(pd.Timestamp("2020-01-05")), "2020-01-05T00:00:00")
        self.assertEqual(runtime.normalize(dt.date(2020, 1, 5)), "2020-01-05")
        self.assertEqual(runtime.normalize(pd.Timedelta(minutes=2)), 120.0)

    def test_dict_keys_are_stringified(self):
        self.assertEqual(runtime.normalize({1: "a", 2.5: "b", None: "c"}), {"1": "a", "2.5": "b", "null": "c"})
        self.assertEqual(runtime.normalize({True: "x"}), {"true": "x"})
        self.assertEqual(runtime.normalize({(1, "a"): 2}), {'[1,"a"]': 2})

    def test_frames_and_series(self):
        self.assertEqual(runtime.normalize(pd.Series([1.5])), 1.5)
        self.assertEqual(runtime.normalize(pd.Series([1, 2])), [1, 2])
        self.assertEqual(runtime.normalize(pd.Series([1, 2], index=["a", "b"])), {"a": 1, "b": 2})
        self.assertEqual(runtime.normalize(pd.DataFrame()), {})
        self.assertEqual(runtime.normalize(pd.DataFrame({"a": [7]})), 7)
        self.assertEqual(runtime.normalize(pd.DataFrame({"k": ["x", "y"], "v": [1, 2]})), {"x": 1, "y": 2})
        self.assertEqual(
            runtime.normalize(pd.DataFrame({"a": [1], "b": [2], "c": [3]}).iloc[[0, 0]].reset_index(drop=True)),
            [{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3}],
        )

    def test_sets_are_sorted(self):
        self.assertEqual(runtime.normalize({3, 1, 2}), [1, 2, 3])


class Submit(unittest.TestCase):
    def setUp(self):
        runtime.begin_cell("agent")

    def test_null_and_nan_are_refused(self):
        for value in (None, float("nan")):
            with self.assertRaisesRegex(ValueError, r"needs a concrete value \(got null/NaN\)"):
                runtime.submit(value)

    def test_once_per_cell(self):
        runtime.submit(1)
        with self.assertRaisesRegex(RuntimeError, "only once per cell"):
            runtime.submit(2)


if __name__ == "__main__":
    unittest.main()
