"""Counts and sums per combination of categorical keys, by integer arithmetic on their codes (no hashing).

The plain alternative is ``DataFrame.groupby(keys, observed=True)`` with ``size``, ``sum(min_count=1)``
and the distinct values of a column joined: tests/test_fast.py holds the tables equal.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: Above this many (group, value) cells the distinct values are found by sorting, not by counting.
MAX_CELLS = 10_000_000


def as_categorical(values: pd.Series) -> pd.Categorical:
    """Return a column as a Categorical: its own when it is one, else its values' categories."""
    return values.array if isinstance(values.dtype, pd.CategoricalDtype) else pd.Categorical(values)  # type: ignore[return-value]


def category_sums(keys: dict[str, pd.Categorical], sums: dict[str, np.ndarray], listed: pd.Categorical) -> pd.DataFrame:
    """Return a row per combination of ``keys`` that occurs (rows with a missing key left out).

    Columns: the keys (their text), ``n`` (rows), each array of ``sums`` summed (NaN where all of a
    group's values are missing), and ``listed``: the distinct values of ``listed`` in the group,
    sorted, comma-separated. Rows in the order of the keys' codes.
    """
    cats = list(keys.values())
    sizes = [len(c.categories) for c in cats]
    key = np.zeros(len(listed), dtype=np.intp)
    for cat, size in zip(cats, sizes, strict=True):
        key *= size
        key += cat.codes
    kept = np.logical_and.reduce([np.asarray(c.codes) >= 0 for c in cats]) if len(cats) else np.ones(len(key), bool)
    everyone = bool(kept.all())
    if not everyone:
        key = key[kept]
    cells = math.prod(sizes)
    n = np.bincount(key, minlength=cells)
    seen = np.flatnonzero(n)
    out: dict[str, object] = {}
    rest = seen
    for name, cat, size in reversed(list(zip(keys, cats, sizes, strict=True))):
        out[name] = np.asarray(cat.categories, dtype=object)[rest % size]
        rest = rest // size
    out = {name: out[name] for name in keys} | {"n": n[seen]}
    for name, values in sums.items():
        v = np.asarray(values, dtype=float) if everyone else np.asarray(values, dtype=float)[kept]
        present = ~np.isnan(v)
        if present.all():
            total, count = np.bincount(key, weights=v, minlength=cells), n
        else:
            total = np.bincount(key, weights=np.where(present, v, 0.0), minlength=cells)
            count = np.bincount(key[present], minlength=cells)
        out[name] = np.where(count[seen] > 0, total[seen], np.nan)
    same = [k for k, cat in keys.items() if cat is listed]
    if same:  # a key: each group's one value
        out["listed"] = [str(v) for v in np.asarray(out[same[0]], dtype=object)]
        return pd.DataFrame(out)
    codes = np.asarray(listed.codes, dtype=np.intp)
    out["listed"] = _listed(key, codes if everyone else codes[kept], listed.categories, cells, seen)
    return pd.DataFrame(out)


def _listed(key: np.ndarray, codes: np.ndarray, categories: pd.Index, cells: int, seen: np.ndarray) -> list[str]:
    """Return, per group of ``seen``, its distinct values of the listed column, sorted, comma-separated."""
    m = max(len(categories), 1)
    pair = key * m + codes if codes.min(initial=0) >= 0 else key[codes >= 0] * m + codes[codes >= 0]
    pairs = np.unique(pair) if cells * m > MAX_CELLS else np.flatnonzero(np.bincount(pair, minlength=cells * m))
    texts: dict[int, list[str]] = {}
    for group, value in zip((pairs // m).tolist(), np.asarray(categories, dtype=object)[pairs % m], strict=True):
        texts.setdefault(group, []).append(str(value))
    return [",".join(sorted(texts.get(g, []))) for g in seen.tolist()]


def regroup(cells: pd.DataFrame, key: str, to: str, group: dict[str, str]) -> pd.DataFrame:
    """Return :func:`category_sums`' rows summed again per their first key and the group of their ``key``.

    ``group`` maps each value of ``key`` to its group (column ``to``, in place of ``key``). ``n``
    and the sums are summed (NaN where all of a group's values are missing), ``listed`` holds the
    distinct values of the rows' ``listed``, sorted, comma-separated. Rows in the order groups first occur.
    """
    outer = str(cells.columns[0])
    index: dict[tuple[Any, Any], int] = {}
    pairs = zip(cells[outer].tolist(), cells[key].tolist(), strict=True)
    slot = np.asarray([index.setdefault((o, group[k]), len(index)) for o, k in pairs], dtype=np.intp)
    m = len(index)
    out: dict[str, Any] = {
        outer: np.asarray([o for o, _ in index], dtype=object),
        to: np.asarray([g for _, g in index], dtype=object),
        "n": np.bincount(slot, weights=cells["n"].to_numpy(dtype=float), minlength=m).astype(np.int64),
    }
    for name in [c for c in cells.columns if c not in (outer, key, "n", "listed")]:
        v = cells[name].to_numpy(dtype=float)
        present = ~np.isnan(v)
        total = np.bincount(slot, weights=np.where(present, v, 0.0), minlength=m)
        out[name] = np.where(np.bincount(slot[present], minlength=m) > 0, total, np.nan)
    listed: list[set[str]] = [set() for _ in range(m)]
    for i, text in zip(slot.tolist(), cells["listed"].tolist(), strict=True):
        listed[i].update(t for t in str(text).split(",") if t)
    out["listed"] = [",".join(sorted(v)) for v in listed]
    return pd.DataFrame(out)
