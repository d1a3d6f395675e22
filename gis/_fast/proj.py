"""Reprojection through PROJ's own pipeline, without the axis swaps of an ``always_xy`` transformer.

The plain alternative is ``Transformer.from_crs(src, dst, always_xy=True)``; :func:`transformer` returns
that one unless the direct pipeline gives its results bit for bit (tests/test_fast.py).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup


def transformer(src: Any, dst: Any, x: np.ndarray, y: np.ndarray) -> Transformer:
    """Return a transformer from ``src`` to ``dst`` (x = easting/longitude) for coordinates like ``x``, ``y``.

    pyproj's ``always_xy`` transformer wraps PROJ's operation in two axis swaps; the operation's
    own pipeline, run in x/y order, skips them (about a quarter of the time of 4326 -> 4547). It
    is used when PROJ knows one operation only between the two CRS (so none is picked by
    location) and it gives exactly (bit for bit) the wrapped transformer's results on the first
    1000 of the coordinates; otherwise the wrapped transformer is returned. Transformers are not
    thread-safe: call this in each thread.
    """
    src_crs, dst_crs = CRS.from_user_input(src), CRS.from_user_input(dst)
    pipeline = _direct_pipeline(src_crs.to_wkt(), dst_crs.to_wkt())
    if pipeline is None:
        return Transformer.from_crs(src_crs, dst_crs, always_xy=True)
    direct = Transformer.from_pipeline(pipeline)
    if _verified(pipeline, src_crs.to_wkt(), dst_crs.to_wkt(), direct, x, y):
        return direct
    return Transformer.from_crs(src_crs, dst_crs, always_xy=True)


@functools.lru_cache(maxsize=32)
def _direct_pipeline(src_wkt: str, dst_wkt: str) -> str | None:
    """Return the PROJ pipeline of the only operation from one CRS to the other (x/y order), or None."""
    group = TransformerGroup(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)
    if len(group.transformers) != 1 or not group.best_available:
        return None
    try:
        return Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True).to_proj4()
    except Exception:  # no PROJ string for this operation
        return None


_VERIFIED: set[tuple[str, str, str]] = set()


def _verified(pipeline: str, src_wkt: str, dst_wkt: str, direct: Transformer, x: np.ndarray, y: np.ndarray) -> bool:
    """Return whether ``direct`` reproduces the always_xy transformer bit for bit (once per CRS pair and pipeline)."""
    key = (pipeline, src_wkt, dst_wkt)
    if key in _VERIFIED:
        return True
    wrapped = Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)
    x, y = np.asarray(x[:1000], dtype=float), np.asarray(y[:1000], dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():  # nothing to compare with: the wrapped transformer this time
        return False
    with np.errstate(invalid="ignore"):
        same = all(
            np.array_equal(a, b)
            for a, b in zip(
                direct.transform(x[finite], y[finite]), wrapped.transform(x[finite], y[finite]), strict=True
            )
        )
    if same:
        _VERIFIED.add(key)
    return same
