"""Use every core for the vectorized geometry work that releases the GIL (PROJ, GEOS).

shapely's vectorized functions and pyproj's array transforms release the GIL, so a layer split
into one chunk per core runs on all cores in threads, with no copying between processes. The
results are exactly those of one call on the whole array (every geometry and coordinate is
computed on its own).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely
from pyproj import CRS

from gis._fast.proj import transformer
from gis.errors import InputError

#: The fewest geometries a thread is given: a pool of threads takes about 0.3 ms to start and end,
#: GEOS's validity test about 10 us per parcel, so layers of 10,000 features and more use every core.
MIN_CHUNK = 5_000


def workers() -> int:
    """Return how many threads to use: the cores this process may run on (``GIS_THREADS`` overrides).

    Raises
    ------
    InputError
        ``GIS_THREADS`` is set to something other than a whole number of 1 or more.
    """
    env = os.environ.get("GIS_THREADS", "").strip()
    if env:
        if not (env.isascii() and env.isdigit() and int(env) >= 1):
            raise InputError(
                f"the environment variable GIS_THREADS is {env!r}; set it to a whole number of threads, "
                "1 or more (e.g. GIS_THREADS=2), or unset it to use every core."
            )
        return int(env)
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
        def xy(coords: np.ndarray) -> np.ndarray:
            x, y = transformer(src_crs, dst_crs, coords[:, 0], coords[:, 1]).transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(chunk, xy)  # type: ignore[no-any-return]

    return map_chunks(reproject, np.asarray(geoms, dtype=object))


def map_batches(func: Callable[[np.ndarray], np.ndarray], values: np.ndarray, *, batch: int = 100_000) -> np.ndarray:
    """Return ``func(values)`` computed on batches of at most ``batch`` elements in a thread per core.

    Like :func:`map_chunks`, for work whose intermediate arrays are large (coordinates): a few
    batches at a time keep them small (:func:`iter_parts`). Every core gets a batch once there
    are ``2 * MIN_CHUNK`` values (100,000 values are two batches on two cores, not one). ``func``
    must work element by element.
    """
    threads = workers()
    if threads > 1 and len(values) >= 2 * MIN_CHUNK:
        batch = min(batch, -(-len(values) // min(threads, len(values) // MIN_CHUNK)))
    return np.concatenate(list(iter_parts(func, values, batch=batch)))


def iter_parts(
    func: Callable[[np.ndarray], Any],
    values: np.ndarray,
    *,
    batch: int = 100_000,
    parts: list[np.ndarray] | None = None,
) -> Iterator[Any]:
    """Yield ``func(part)`` for batches of at most ``batch`` values, in order, computed ahead in a thread per core.

    While the caller consumes one result (e.g. GDAL writes it), the next ones are being computed
    (at most two per core ahead, to bound memory). ``parts`` (positions into ``values``) gives
    the batches instead.
    """
    chunks = np.array_split(values, max(1, -(-len(values) // batch))) if parts is None else [values[p] for p in parts]
    if len(chunks) == 1 or workers() == 1:
        yield from (func(p) for p in chunks)
        return
    ahead = 2 * workers()
    with ThreadPoolExecutor(workers()) as pool:
        pending = deque(pool.submit(func, p) for p in chunks[:ahead])
        for p in chunks[ahead:]:
            done = pending.popleft()
            pending.append(pool.submit(func, p))
            yield done.result()
        while pending:
            yield pending.popleft().result()
