"""The data a web map embeds: layers, check results and district totals, encoded compactly.

The page embeds one JSON document. To keep it lean (and build it fast, vectorized), each
layer is stored by columns rather than as GeoJSON:

- ``cols``: one list per property; repetitive text (district, street, category, citation,
  status ...) is stored as an index into the document's ``strings`` table;
- ``geom``: every polygon of the layer as MultiPolygon parts, in the layout of
  :func:`shapely.to_ragged_array`: ``coords`` holds x, y integers in micro-degrees (6 decimals),
  each ring's first vertex absolute and the rest as differences to the previous vertex (ring
  closing vertices dropped), packed as zigzag varints in one base64 string; ``rings``,
  ``polys`` and ``geoms`` are the offsets of rings (in vertices), polygons (in rings) and
  features (in polygons).

:func:`decode_layer` turns a layer back into GeoJSON features; ``js/decode.js`` does the same
in the browser.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gis import __version__, settings, style
from gis.crs import geometry_gcj02_from_wgs84
from gis.evaluate import feature_status
from gis.pipeline import CheckRun

SCALE = 1_000_000  # micro-degrees: 6 decimals, about 0.1 m
#: Feature columns stored as indexes into the strings table.
_CODED = ("d", "s", "c", "lc", "lb", "acc", "src", "ref", "st", "p")


class _Strings:
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
        text = _text(value)
        if text is None:
            return None
        if text not in self._index:
            self._index[text] = len(self.items)
            self.items.append(text)
        return self._index[text]


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _num(value: Any, digits: int = 4) -> float | None:
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


def decode_layer(layer: dict[str, Any], strings: list[str]) -> list[dict[str, Any]]:
    """Return a layer's features as GeoJSON features with plain (decoded) properties."""
    cols = layer["cols"]
    geoms = decode_geometries(layer["geom"])
    feats = []
    for i, geometry in enumerate(geoms):
        props = {k: (strings[v[i]] if k in _CODED and v[i] is not None else v[i]) for k, v in cols.items()}
        feats.append({"type": "Feature", "properties": props, "geometry": geometry})
    return feats


def _short_source(source_file: Any) -> str | None:
    text = _text(source_file)
    return settings.SOURCES.get(text, text) if text else None


def _targets_by_feature(results: pd.DataFrame) -> dict[str, list[list[Any]]]:
    """Feature fid -> rows [id, metric, part, planned, measured, unit, delta %, status, source, ref]."""
    out: dict[str, list[list[Any]]] = {}
    for r in results[results["scope"] != "aggregate"].itertuples(index=False):
        fid = _text(r.feature_fid)
        if fid is None:
            continue
        out.setdefault(fid, []).append(
            [
                r.target_id,
                r.metric,
                _text(r.part),
                _num(r.planned),
                _num(r.measured),
                r.unit,
                _num(r.delta_pct, 1),
                r.status,
                _short_source(r.source_file),
                _text(r.source_ref),
            ]
        )
    return out


def map_data(run: CheckRun, *, district: str | None = None, frame: str = "WGS-84") -> dict[str, Any]:
    """Return everything a page draws, as one JSON-able document.

    Parameters
    ----------
    run
        A finished check (:func:`gis.pipeline.run_check`).
    district
        Only this district's features and targets (a code); None for all three.
    frame
        ``"WGS-84"``, or ``"GCJ-02"`` to move every coordinate for Amap tiles.
    """
    features, results, districts = run.features, run.results, run.districts
    if district is not None:
        features = features[features["district"] == district]
        results = results[results["district"] == district]
        districts = districts[districts["district"] == district]

    def in_frame(geoms: Any) -> np.ndarray:
        arr = np.asarray(geoms, dtype=object)
        return geometry_gcj02_from_wgs84(arr) if frame == "GCJ-02" else arr

    strings = _Strings()
    targets = _targets_by_feature(results)
    status = feature_status(results)
    layers = []
    # the styled pairs first, in drawing order; then any other part that occurs, in its layer's extent style
    present = list(dict.fromkeys(zip(features["layer"], features["part"], strict=True)))
    pairs = [p for p in style.STYLES if p in present] + sorted(p for p in present if p not in style.STYLES)
    for layer, part in pairs:
        st = style.style_for(layer, part)
        if (layer, part) not in style.STYLES:
            st = dataclasses.replace(st, title_zh=f"{st.title_zh}（{part}）", title_en=f"{st.title_en} ({part})")
        sel = features[(features["layer"] == layer) & (features["part"] == part)]
        # larger features first, so a small one drawn inside a large one stays on top
        sel = sel.iloc[np.argsort(-sel["area_ha"].to_numpy(dtype=float), kind="stable")]
        fids = [str(f) for f in sel["fid"].tolist()]
        cols: dict[str, list[Any]] = {
            "i": fids,
            "n": [_text(v) for v in sel["name_zh"].tolist()],
            "e": [_text(v) for v in sel["name_en"].tolist()],
            "pa": [_text(v) for v in sel["parent"].tolist()],
            "a": np.round(sel["area_ha"].to_numpy(dtype=float), 4).tolist(),
            "d": strings.codes(sel["district"]),
            "s": strings.codes(sel["street"]),
            "p": strings.codes(sel["part"]),
            "c": strings.codes(sel["category"]),
            "lc": strings.codes(sel["location_confidence"]),
            "lb": strings.codes(sel["location_basis"]),
            "acc": strings.codes(sel["accuracy"]),
            "src": strings.codes(_short_source(v) for v in sel["source_file"].tolist()),
            "ref": strings.codes(sel["source_ref"]),
            "st": strings.codes(status.at[f, "status"] if f in status.index else None for f in fids),
            "cf": [status.at[f, "checks_failed"] if f in status.index else None for f in fids],
        }
        layers.append(
            {
                "key": f"{layer}.{part}",
                "layer": layer,
                "part": part,
                "style": st.to_dict(),
                "n": len(sel),
                "cols": cols,
                "geom": encode_geometries(in_frame(sel.geometry.array)),
            }
        )
    aggregates = [
        {
            "id": r.target_id,
            "d": r.district,
            "n": _text(r.name_zh),
            "e": _text(r.name_en),
            "metric": r.metric,
            "cmp": r.comparator,
            "planned": _num(r.planned),
            "measured": _num(r.measured),
            "unit": r.unit,
            "delta": _num(r.delta_pct, 1),
            "status": r.status,
            "src": _short_source(r.source_file),
            "ref": _text(r.source_ref),
            "h": _text(r.horizon),
            "note": _text(r.note),
        }
        for r in results[results["scope"] == "aggregate"].itertuples(index=False)
    ]
    shown = set(features["fid"])
    qa = _qa_findings(run, shown if district is not None else None, in_frame)
    all_geoms = np.concatenate([in_frame(districts.geometry.array), in_frame(features.geometry.array)])
    # open on the features (Longgang's outline also holds Dapeng, which the plans do not cover);
    # a map with no features opens on its districts, an empty one on the three districts
    framed = in_frame(features.geometry.array) if len(features) else all_geoms
    minx, miny, maxx, maxy = shapely.total_bounds(framed) if len(framed) else settings.LONLAT_BOUNDS
    return {
        "meta": {
            "title": title(district),
            "frame": frame,
            "toolkit": f"gis {__version__}",
            "built": dt.date.today().isoformat(),
            "district": district,
            "bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]],
        },
        "strings": strings.items,
        "layers": layers,
        "targets": {fid: rows for fid, rows in targets.items() if fid in shown},
        "districts": {
            "cols": {
                "d": [str(v) for v in districts["district"]],
                "n": [_text(v) for v in districts["name_zh"]],
                "e": [_text(v) for v in districts["name_en"]],
            },
            "geom": encode_geometries(in_frame(districts.geometry.array)),
        },
        "aggregates": aggregates,
        "qa": qa,
        "statusColors": style.STATUS_COLORS,
        "statusZh": style.STATUS_ZH,
        "districtStyle": style.DISTRICT_STYLE.to_dict(),
        "districtNames": {code: list(names) for code, names in settings.DISTRICTS.items()},
    }


def _qa_findings(run: CheckRun, shown: set[str] | None, in_frame: Any) -> list[dict[str, Any]]:
    """Return the QA findings that have a place (of the shown features only, for a district map)."""
    if run.qa is None:
        return []
    frame = run.qa.frame()
    keep = frame.geometry.notna() & (frame["fid"].isin(list(shown)) if shown is not None else True)
    frame = frame[keep]
    points = in_frame(frame.geometry.array)
    return [
        {
            "s": r.severity,
            "c": r.check,
            "l": _text(r.layer),
            "f": _text(r.fid),
            "o": _text(r.other_fid),
            "a": _num(r.area_m2, 1),
            "m": r.message,
            "xy": [round(float(pt.y), 6), round(float(pt.x), 6)],
        }
        for r, pt in zip(frame.itertuples(index=False), points, strict=True)
    ]


def title(district: str | None) -> str:
    """Return the map title for all districts (None) or one district code."""
    if district is None:
        return "龙岗·龙华·坪山 规划图层核查 Planning layers of Longgang, Longhua and Pingshan"
    zh, en = settings.DISTRICTS[district]
    return f"{zh} 规划图层核查 Planning layers of {en}"


def count_features(data: dict[str, Any]) -> int:
    """Return the number of thematic features a map's data holds."""
    return sum(int(layer["n"]) for layer in data["layers"])
