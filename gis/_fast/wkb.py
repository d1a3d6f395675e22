"""WKB of reprojected polygons written from their coordinates, with no reprojected geometry built.

The plain alternative is ``shapely.to_wkb(transform_geometries(geoms, src, dst))``; the bytes are the
same (tests/test_fast.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS

from gis._fast.proj import transformer
from gis.parallel import iter_parts, transform_geometries


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
