"""Use every core for the vectorized geometry work that releases the GIL (PROJ, GEOS).

shapely's vectorized functions and pyproj's array transforms release the GIL, so a layer split
into one chunk per core runs on all cores in threads, with no copying between processes. The
results are exactly those of one call on the whole array (every geometry and coordinate is
computed on its own).
"""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

from gis.errors import InputError

#: Below this many geometries one thread is as fast (thread start-up costs more than it saves).
MIN_CHUNK = 20_000


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
    batches at a time keep them small (:func:`iter_parts`). ``func`` must work element by element.
    """
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


def polygon_wkb(xy: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the little-endian WKB of single-ring polygons as one byte buffer and its offsets.

    ``xy`` holds every polygon's ring, closed, one after another (n, 2); ``counts`` the number
    of points of each. The bytes are those of ``shapely.to_wkb`` of the same polygons (tested):
    byte order 1, type 3, one ring, the point count, then x, y as float64.
    """
    n = len(counts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(13 + 16 * counts.astype(np.int64), out=offsets[1:])
    out = np.empty(offsets[-1], dtype=np.uint8)
    head = np.empty((n, 13), dtype=np.uint8)
    head[:, 0] = 1
    head[:, 1:5] = np.array([3], dtype="<u4").view(np.uint8)
    head[:, 5:9] = np.array([1], dtype="<u4").view(np.uint8)
    head[:, 9:13] = counts.astype("<u4").view(np.uint8).reshape(n, 4)
    where = (offsets[:-1, None] + np.arange(13)).ravel()
    body = np.ones(len(out), dtype=bool)
    body[where] = False
    out[where] = head.ravel()
    out[body] = np.ascontiguousarray(xy, dtype="<f8").view(np.uint8).ravel()
    return out, offsets


#: Features per WKB batch: several per layer, so that GDAL writes one while the next are computed.
WKB_BATCH = 10_000


def reprojected_wkb(
    geoms: np.ndarray, src: Any, dst: Any, *, batch: int | None = None, parts: list[np.ndarray] | None = None
) -> Iterator[Any]:
    """Yield the geometries reprojected from ``src`` to ``dst`` as WKB, an Arrow ``large_binary`` array per batch.

    A batch of polygons without holes is reprojected as one coordinate array and its WKB
    written by :func:`polygon_wkb`, with no reprojected geometry built; any other batch goes
    through :func:`transform_geometries` and ``shapely.to_wkb``. Either way the bytes are
    those of ``shapely.to_wkb(transform_geometries(geoms, src, dst))``. Batches are computed
    ahead in threads (:func:`iter_parts`) while the caller consumes them; ``parts`` (positions)
    sets the batches.
    """
    import pyarrow as pa

    src_crs, dst_crs = CRS.from_user_input(src), CRS.from_user_input(dst)

    def wkb(part: np.ndarray) -> Any:
        simple = (
            (shapely.get_type_id(part) == 3)
            & (shapely.get_num_interior_rings(part) == 0)
            & ~shapely.is_empty(part)
            & ~shapely.has_z(part)
        )
        if not simple.all() or not len(part) or src_crs.equals(dst_crs):
            return pa.array(shapely.to_wkb(transform_geometries(part, src_crs, dst_crs)), type=pa.large_binary())
        xy = shapely.get_coordinates(part)
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        del xy
        x, y = transformer(src_crs, dst_crs, x, y).transform(x, y)
        data, offsets = polygon_wkb(np.column_stack([x, y]), shapely.get_num_coordinates(part))
        return pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(part), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )

    return iter_parts(wkb, np.asarray(geoms, dtype=object), batch=WKB_BATCH if batch is None else batch, parts=parts)
