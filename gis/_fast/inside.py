"""Boxes certainly inside a polygon, by a grid of cells in numpy (no geometry built).

The plain alternative is ``shapely.contains_properly(polygon, feature)`` for every feature; a feature
whose box is found inside passes it (tests/test_fast.py). The others are left to it.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

#: The grid has about this many cells at most (a few milliseconds of point-in-polygon tests).
MAX_CELLS = 40_000
#: Slack in cells when a coordinate is put in its cell: it is rounded by far less (1e-10 m in 500 km).
_EPS = 1e-9
#: A boundary longer than this many cells is not cut into cells (boxes a millimetre across against
#: a district): no box is found inside, every one is left to the exact test.
MAX_BOUNDARY_CELLS = 1_000_000


def boxes_inside(polygon: shapely.Geometry, bounds: np.ndarray) -> np.ndarray:
    """Return which boxes (x0, y0, x1, y1 per row) lie in the interior of ``polygon``, certainly.

    The boxes' extent is cut into square cells about as large as the median box (at most about
    :data:`MAX_CELLS`). Every cell the bounds of a segment of the polygon's boundary touch (the
    boundary cut into segments no longer than a cell first) may hold some of the boundary; every
    other cell holds none, so it lies wholly inside or wholly outside, as its centre does. A box
    is inside when every cell it touches is a whole cell inside: they hold no boundary and the
    box is connected. Boxes within about a cell of the boundary are not found inside, whether
    they are or not; boxes with a NaN coordinate never are.
    """
    out = np.zeros(len(bounds), dtype=bool)
    ok = np.isfinite(bounds).all(axis=1)
    if not ok.any() or polygon is None or shapely.is_empty(polygon):
        return out
    b = bounds[ok]
    gx, gy = float(b[:, 0].min()), float(b[:, 1].min())
    width, height = float(b[:, 2].max()) - gx, float(b[:, 3].max()) - gy
    size = float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))
    cell = max(size, math.sqrt(width * height / MAX_CELLS), max(width, height) / 1000) or 1.0
    if shapely.length(polygon) > MAX_BOUNDARY_CELLS * cell:
        return out
    nx, ny = int(width / cell) + 2, int(height / cell) + 2
    edge = _boundary_cells(polygon, gx, gy, cell, nx, ny)
    centre_x, centre_y = np.meshgrid(
        gx + (np.arange(nx) + 0.5) * cell, gy + (np.arange(ny) + 0.5) * cell, indexing="ij"
    )
    own = shapely.from_wkb(shapely.to_wkb(polygon))  # prepared here, not the caller's geometry
    shapely.prepare(own)
    whole_inside = np.zeros((nx, ny), dtype=bool)
    whole_inside[~edge] = shapely.contains_xy(own, centre_x[~edge], centre_y[~edge])
    # the cells of each box, and how many of them are not whole cells inside (a summed-area table)
    first = np.floor((b[:, :2] - (gx, gy)) / cell - _EPS)
    last = np.floor((b[:, 2:] - (gx, gy)) / cell + _EPS)
    i0, j0 = (np.clip(first, 0, (nx - 1, ny - 1)).astype(np.int64)).T
    i1, j1 = (np.clip(last, 0, (nx - 1, ny - 1)).astype(np.int64)).T
    table = np.zeros((nx + 1, ny + 1), dtype=np.int64)
    table[1:, 1:] = (~whole_inside).cumsum(axis=0).cumsum(axis=1)
    outside = table[i1 + 1, j1 + 1] - table[i0, j1 + 1] - table[i1 + 1, j0] + table[i0, j0]
    out[ok] = outside == 0
    return out


def _boundary_cells(polygon: shapely.Geometry, gx: float, gy: float, cell: float, nx: int, ny: int) -> np.ndarray:
    """Return the cells of the grid (origin gx, gy) that the bounds of a segment of the polygon's boundary touch."""
    rings = shapely.segmentize(shapely.get_rings(shapely.get_parts(polygon)), cell)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]  # consecutive points of one ring: a segment
    a, c = xy[:-1][same], xy[1:][same]
    lo = np.floor((np.minimum(a, c) - (gx, gy)) / cell - _EPS)
    hi = np.floor((np.maximum(a, c) - (gx, gy)) / cell + _EPS)
    on_grid = (hi >= 0).all(axis=1) & (lo[:, 0] < nx) & (lo[:, 1] < ny)
    lo = np.clip(lo[on_grid], 0, (nx - 1, ny - 1)).astype(np.int64)
    hi = np.clip(hi[on_grid], 0, (nx - 1, ny - 1)).astype(np.int64)
    edge = np.zeros((nx, ny), dtype=bool)
    if not len(lo):
        return edge
    span_x, span_y = (hi - lo).max(axis=0)  # 1 or 2 cells: the segments are no longer than a cell
    for di in range(int(span_x) + 1):
        for dj in range(int(span_y) + 1):
            hit = (lo[:, 0] + di <= hi[:, 0]) & (lo[:, 1] + dj <= hi[:, 1])
            edge[lo[hit, 0] + di, lo[hit, 1] + dj] = True
    return edge
