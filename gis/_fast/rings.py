"""Areas and bounds of polygons without holes from their reprojected coordinates (numpy, no polygon built).

The plain alternative is ``shapely.area``/``shapely.bounds`` of the reprojected polygons; the areas are
the same bit for bit (tests/test_fast.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from gis._fast.proj import transformer
from gis.crs import AREA_CRS
from gis.parallel import map_batches


def sequential_sums(term: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return ``sum(term[start + i] for i in 1 .. count - 2)`` per ring, added in that order (as GEOS does).

    Rings are taken longest first; step i adds the i-th term of the rings that have one, so each
    ring's sum is built one term after the other (no pairwise summation: the result is GEOS's).
    """
    order = np.argsort(-counts, kind="stable")
    first, length = starts[order], counts[order]
    sums = np.zeros(len(order))
    descending = -length
    for i in range(1, int(length[0]) - 1 if len(length) else 0):
        k = int(np.searchsorted(descending, -(i + 2), side="right"))  # rings with at least i + 2 points
        sums[:k] += term[first[:k] + i]
    out = np.empty(len(order))
    out[order] = sums
    return out


def ring_measures(geoms: np.ndarray, crs: Any) -> np.ndarray:
    """Return area (m2) and bounds in EPSG:4547 of polygons without holes, shape (n, 5), building no geometry.

    Each batch of polygons has its coordinates reprojected as one array (PROJ, in threads) and
    measured with numpy: the area by the shoelace formula as GEOS computes a ring's area
    (``Area::ofRingSigned``: ``sum((x[i] - x[0]) * (y[i-1] - y[i+1])) / 2``, summed from i = 1
    on, one term after the other), so it equals ``shapely.area`` of the reprojected polygon bit
    for bit (tests/test_measure.py). The sum runs over the point index: step i adds the i-th term
    of every ring that long at once. Building the reprojected polygons costs more than
    reprojecting their coordinates: it is left to the few checks that need a geometry
    (:meth:`Measured.geometries`).
    """

    def batch(chunk: np.ndarray) -> np.ndarray:
        xy = shapely.get_coordinates(chunk)
        counts = shapely.get_num_coordinates(chunk).astype(np.int64)
        lon, lat = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        del xy
        x, y = transformer(crs, AREA_CRS, lon, lat).transform(lon, lat)
        del lon, lat
        starts = np.zeros(len(chunk), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        term = np.zeros(len(x))
        term[1:-1] = (x[1:-1] - np.repeat(x[starts], counts)[1:-1]) * (y[:-2] - y[2:])
        out = np.empty((len(chunk), 5))
        out[:, 0] = np.abs(sequential_sums(term, starts, counts)) / 2.0
        out[:, 1] = np.minimum.reduceat(x, starts)
        out[:, 2] = np.minimum.reduceat(y, starts)
        out[:, 3] = np.maximum.reduceat(x, starts)
        out[:, 4] = np.maximum.reduceat(y, starts)
        return out

    return map_batches(batch, geoms)
