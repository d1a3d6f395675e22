"""Candidate pairs of overlapping boxes by a grid of cells, in numpy (no geometry built).

The plain alternative is an STRtree of the boxes (:func:`gis.spatial.tree_pairs`); both give
the same pairs (tests/test_fast.py).
"""

from __future__ import annotations

import numpy as np


def grid_pairs(bounds: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """:func:`overlap_candidates` by a grid of cells, or None when the boxes are too uneven for one."""
    rows = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    if len(rows) < 2:
        return np.zeros((2, 0), dtype=np.int64)
    b, code = bounds[rows], codes[rows]
    size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    cell = 2.0 * float(np.median(size))
    if not cell > 0:
        cell = float(size.max()) or 1.0
    gx0, gy0 = np.floor((b[:, 0] - b[:, 0].min()) / cell), np.floor((b[:, 1] - b[:, 1].min()) / cell)
    gx1, gy1 = np.floor((b[:, 2] - b[:, 0].min()) / cell), np.floor((b[:, 3] - b[:, 1].min()) / cell)
    nx, ny = (gx1 - gx0 + 1).astype(np.int64), (gy1 - gy0 + 1).astype(np.int64)
    cells = nx * ny
    if cells.sum() > 8 * len(rows):
        return None
    owner = np.repeat(np.arange(len(rows)), cells)  # one entry per box and cell it covers
    k = np.arange(len(owner)) - np.repeat(np.cumsum(cells) - cells, cells)
    cx, cy = gx0[owner].astype(np.int64) + k % nx[owner], gy0[owner].astype(np.int64) + k // nx[owner]
    group = code[owner] - code.min()
    wide, high = int(cx.max()) + 1, int(cy.max()) + 1
    if (int(group.max()) + 1) * wide * high < 2**62:  # group, cell as one integer: one sort
        key = (group * wide + cx) * high + cy
        order = np.argsort(key, kind="stable")
        owner, key = owner[order], key[order]
        start = np.r_[True, key[1:] != key[:-1]]  # runs of boxes in one cell of one group
    else:
        order = np.lexsort((cy, cx, group))
        owner, keys = owner[order], np.column_stack([group, cx, cy])[order]
        start = np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]
    run = np.cumsum(start) - 1
    first_of_run = np.flatnonzero(start)
    length = np.diff(np.r_[first_of_run, len(owner)])
    later = length[run] - (np.arange(len(owner)) - first_of_run[run]) - 1  # members after each in its run
    if later.sum() > 50 * len(rows):
        return None
    a = np.repeat(np.arange(len(owner)), later)
    step = np.arange(len(a)) - np.repeat(np.cumsum(later) - later, later) + 1
    i, j = owner[a], owner[a + step]
    meet = (b[i, 0] <= b[j, 2]) & (b[j, 0] <= b[i, 2]) & (b[i, 1] <= b[j, 3]) & (b[j, 1] <= b[i, 3])
    lo, hi = np.minimum(i[meet], j[meet]), np.maximum(i[meet], j[meet])
    pair = np.unique(lo * len(rows) + hi)  # a pair sharing several cells once
    return np.vstack([rows[pair // len(rows)], rows[pair % len(rows)]])
