"""Compact encodings of the web map's data: a strings table, varint-packed integers, geometries.

:mod:`gis.render.mapdata` builds the document with them; ``js/decode.js`` decodes them in the
browser, and the ``decode_*`` functions here in Python (for tests and for reading a page's data).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gis.validate import text_or_none

SCALE = 1_000_000  # micro-degrees: 6 decimals, about 0.1 m


class Strings:
    """A table of distinct strings; ``code`` returns a string's index (None stays None)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def codes(self, values: Any) -> list[int | None]:
        """Return the indexes of many values at once (one look-up per distinct value)."""
        array = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.array(list(values), dtype=object)
        codes, uniques = pd.factorize(array, use_na_sentinel=True)
        table = [self.code(u) for u in uniques]
        return [table[c] if c >= 0 else None for c in codes.tolist()]

    def code(self, value: Any) -> int | None:
        """Return the index of one value's text, adding it to the table when it is new."""
        text = text_or_none(value)
        if text is None:
            return None
        if text not in self._index:
            self._index[text] = len(self.items)
            self.items.append(text)
        return self._index[text]


def rounded(value: Any, digits: int = 4) -> float | None:
    """Return a number rounded to ``digits`` decimals; None and NaN are None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def encode_geometries(geoms: np.ndarray) -> dict[str, Any]:
    """Encode (Multi)Polygons as delta-coded micro-degree integers with ragged offsets."""
    if len(geoms) == 0:
        return {"coords": "", "rings": [0], "polys": [0], "geoms": [0]}
    parts, index = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    multi = shapely.multipolygons(parts, indices=index)
    _, coords, (ring_off, poly_off, geom_off) = shapely.to_ragged_array(multi)
    q = np.round(coords * SCALE).astype(np.int64)
    keep = np.ones(len(q), dtype=bool)
    keep[ring_off[1:] - 1] = False  # the closing vertex repeats the first
    q = q[keep]
    rings = ring_off - np.arange(len(ring_off))
    deltas = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = rings[:-1]
    deltas[starts] = q[starts]
    return {
        "coords": pack_varints(deltas.ravel()),
        "rings": rings.tolist(),
        "polys": np.asarray(poly_off).tolist(),
        "geoms": np.asarray(geom_off).tolist(),
    }


def pack_varints(values: np.ndarray) -> str:
    """Pack integers as zigzag LEB128 varints, base64-encoded: about 2.7 characters per small delta.

    Examples
    --------
    >>> pack_varints(np.array([0, -1, 1, 300]))
    'AAEC2AQ='
    >>> unpack_varints('AAEC2AQ=').tolist()
    [0, -1, 1, 300]
    """
    v = np.asarray(values, dtype=np.int64)
    z = ((v << 1) ^ (v >> 63)).astype(np.uint64)  # zigzag: small magnitudes -> small numbers
    nbytes = np.ones(len(z), dtype=np.int64)
    for k in range(1, 10):
        nbytes += z >= (np.uint64(1) << np.uint64(7 * k))
    out = np.zeros(int(nbytes.sum()), dtype=np.uint8)
    pos = np.concatenate([[0], np.cumsum(nbytes)[:-1]])
    for k in range(int(nbytes.max()) if len(z) else 0):
        sel = nbytes > k
        byte = (z[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[sel] > k + 1).astype(np.uint64) << np.uint64(7)
        out[pos[sel] + k] = (byte | more).astype(np.uint8)
    return base64.b64encode(out.tobytes()).decode("ascii")


def unpack_varints(text: str) -> np.ndarray:
    """Inverse of :func:`pack_varints`."""
    data = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    values, shift, acc = [], 0, 0
    for b in data.tolist():
        acc |= (b & 0x7F) << shift
        if b & 0x80:
            shift += 7
        else:
            values.append((acc >> 1) ^ -(acc & 1))
            acc, shift = 0, 0
    return np.asarray(values, dtype=np.int64)


def decode_geometries(geom: dict[str, Any]) -> list[dict[str, Any]]:
    """Return GeoJSON MultiPolygon geometries from :func:`encode_geometries` output."""
    c = unpack_varints(geom["coords"]).reshape(-1, 2)
    rings, polys, geoms = geom["rings"], geom["polys"], geom["geoms"]
    out = []
    for f in range(len(geoms) - 1):
        parts = []
        for p in range(geoms[f], geoms[f + 1]):
            part = []
            for r in range(polys[p], polys[p + 1]):
                ring = np.cumsum(c[rings[r] : rings[r + 1]], axis=0) / SCALE
                coords = ring.tolist()
                part.append([*coords, coords[0]])
            parts.append(part)
        out.append({"type": "MultiPolygon", "coordinates": parts})
    return out
