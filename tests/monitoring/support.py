"""Tables for the drift tests: seeded and small."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def make_table(rows: int, *, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Four numeric columns (the first two shifted by ``shift`` std) and three categorical
    ones: ``flag`` (two values), ``colour`` (five), ``size`` (three, with its shares moved
    when ``shift`` is not 0)."""
    rng = np.random.default_rng(seed)
    size_p = [0.5, 0.3, 0.2] if shift == 0 else [0.3, 0.3, 0.4]
    return pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * shift, 10, rows),
            "income": rng.lognormal(10 + shift, 0.5, rows),
            "score": rng.uniform(0, 1, rows),
            "visits": rng.poisson(20, rows).astype(np.int64),
            "flag": rng.choice(["yes", "no"], rows, p=[0.3, 0.7]),
            "colour": rng.choice(["red", "green", "blue", "black", "white"], rows),
            "size": rng.choice(["S", "M", "L"], rows, p=size_p),
        }
    )


def assert_same(got: object, expected: object, path: str = "result") -> None:
    """Equal, floats within 1e-9 relative (a window folded in batches sums its moments in
    another order)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), path
        for key in expected:
            assert_same(got[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), path
        for index, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert_same(a, b, f"{path}[{index}]")
    elif isinstance(expected, float) and not isinstance(got, bool):
        assert isinstance(got, (int, float)), path
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12), (
            f"{path}: {got} != {expected}"
        )
    else:
        assert got == expected, f"{path}: {got!r} != {expected!r}"
