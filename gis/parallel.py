"""Use every core for the vectorized geometry work that releases the GIL (PROJ, GEOS).

shapely's vectorized functions and pyproj's array transforms release the GIL, so a layer split
into one chunk per core runs on all cores in threads, with no copying between processes. The
results are exactly those of one call on the whole array (every geometry and coordinate is
computed on its own).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer

#: Below this many geometries one thread is as fast (thread start-up costs more than it saves).
MIN_CHUNK = 20_000


def workers() -> int:
    """Return how many threads to use: the cores this process may run on (``GIS_THREADS`` overrides)."""
    env = os.environ.get("GIS_THREADS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def map_chunks(func: Callable[[np.ndarray], Any], values: np.ndarray) -> np.ndarray:
    """Return ``func(values)``, computed on one chunk per core in threads and concatenated.

    ``func`` must work element by element (a shapely ufunc, a transform), so that chunking does
    not change the result.
    """
    n = workers()
    if n == 1 or len(values) < 2 * MIN_CHUNK:
        return np.asarray(func(values))
    chunks = np.array_split(values, min(n, len(values) // MIN_CHUNK))
    with ThreadPoolExecutor(len(chunks)) as pool:
        return np.concatenate(list(pool.map(func, chunks)))


def transform_geometries(geoms: np.ndarray, src: Any, dst: Any) -> np.ndarray:
    """Return the geometries reprojected from ``src`` to ``dst`` (x = easting/longitude), on every core.

    The same as ``GeoSeries.to_crs`` (each thread has its own transformer: they are not
    thread-safe).
    """
    src_crs, dst_crs = CRS.from_user_input(src), CRS.from_user_input(dst)
    if src_crs.equals(dst_crs):
        return np.asarray(geoms, dtype=object)

    def reproject(chunk: np.ndarray) -> np.ndarray:
        transformer = Transformer.from_crs(src_crs, dst_crs, always_xy=True)

        def xy(coords: np.ndarray) -> np.ndarray:
            x, y = transformer.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(chunk, xy)  # type: ignore[no-any-return]

    return map_chunks(reproject, np.asarray(geoms, dtype=object))


def transform_xy(x: np.ndarray, y: np.ndarray, src: Any, dst: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return coordinate arrays reprojected from ``src`` to ``dst`` (x = easting/longitude), on every core."""
    src_crs, dst_crs = CRS.from_user_input(src), CRS.from_user_input(dst)

    def reproject(xy: np.ndarray) -> np.ndarray:
        transformer = Transformer.from_crs(src_crs, dst_crs, always_xy=True)  # one per thread: not thread-safe
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    out = map_chunks(reproject, np.column_stack([x, y]))
    return out[:, 0], out[:, 1]


def map_batches(func: Callable[[np.ndarray], np.ndarray], values: np.ndarray, *, batch: int = 100_000) -> np.ndarray:
    """Return ``func(values)`` computed on batches of at most ``batch`` elements in a thread per core.

    Like :func:`map_chunks`, for work whose intermediate arrays are large (coordinates): one batch
    per thread at a time keeps them small. ``func`` must work element by element.
    """
    if len(values) <= batch:
        return np.asarray(func(values))
    parts = np.array_split(values, -(-len(values) // batch))
    with ThreadPoolExecutor(workers()) as pool:
        return np.concatenate(list(pool.map(func, parts)))
