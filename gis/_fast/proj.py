"""Reprojection through PROJ's own pipeline, without the axis swaps of an ``always_xy`` transformer.

The plain alternative is ``Transformer.from_crs(src, dst, always_xy=True)``; :func:`transformer` returns
that one unless the direct pipeline gives its results bit for bit (tests/test_fast.py).
"""

from __future__ import annotations

import functools
import threading
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
    src_wkt, dst_wkt = src_crs.to_wkt(), dst_crs.to_wkt()
    pipeline = _direct_pipeline(src_wkt, dst_wkt)
    if pipeline is None:
        return Transformer.from_crs(src_crs, dst_crs, always_xy=True)
    direct = Transformer.from_pipeline(pipeline)
    if _verified(pipeline, src_wkt, dst_wkt, direct, x, y):
        return direct
    return Transformer.from_crs(src_crs, dst_crs, always_xy=True)


#: Guards the transformers :func:`_only_operation` shares between threads, and its search.
_LOCK = threading.RLock()
_OPERATIONS: dict[tuple[str, str], Transformer | None] = {}


def _only_operation(src_wkt: str, dst_wkt: str) -> Transformer | None:
    """Return the always_xy transformer of the only operation PROJ knows from one CRS to the other, or None.

    It is the transformer ``Transformer.from_crs(src, dst, always_xy=True)`` builds (PROJ has no
    other to choose). Searching PROJ's database for it takes about 0.1 s between WGS 84 and
    CGCS2000, so it is searched once per CRS pair and process (threads asking at once wait for
    the first), and shared: use it under :data:`_LOCK`.
    """
    with _LOCK:
        key = (src_wkt, dst_wkt)
        if key not in _OPERATIONS:
            group = TransformerGroup(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)
            only = len(group.transformers) == 1 and group.best_available
            _OPERATIONS[key] = group.transformers[0] if only else None
        return _OPERATIONS[key]


@functools.lru_cache(maxsize=32)
def _direct_pipeline(src_wkt: str, dst_wkt: str) -> str | None:
    """Return the PROJ pipeline of the only operation from one CRS to the other (x/y order), or None."""
    operation = _only_operation(src_wkt, dst_wkt)
    if operation is None:
        return None
    try:
        with _LOCK:
            return operation.to_proj4()
    except Exception:  # no PROJ string for this operation
        return None


_VERIFIED: set[tuple[str, str, str]] = set()


def _verified(pipeline: str, src_wkt: str, dst_wkt: str, direct: Transformer, x: np.ndarray, y: np.ndarray) -> bool:
    """Return whether ``direct`` reproduces the always_xy transformer bit for bit (once per CRS pair and pipeline)."""
    key = (pipeline, src_wkt, dst_wkt)
    if key in _VERIFIED:
        return True
    wrapped = _only_operation(src_wkt, dst_wkt)
    if wrapped is None:
        return False
    x, y = np.asarray(x[:1000], dtype=float), np.asarray(y[:1000], dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():  # nothing to compare with: the wrapped transformer this time
        return False
    with np.errstate(invalid="ignore"), _LOCK:
        want = wrapped.transform(x[finite], y[finite])
    with np.errstate(invalid="ignore"):
        same = all(np.array_equal(a, b) for a, b in zip(direct.transform(x[finite], y[finite]), want, strict=True))
    if same:
        _VERIFIED.add(key)
    return same
