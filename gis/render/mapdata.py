"""The data a web map embeds: one JSON document, described here key by key (schema version 2).

The page holds it in ``<script type="application/json" id="gis-data">``; ``js/decode.js`` reads
it in the browser and :func:`decode_layer` / :func:`decode_table` in Python. The same rules, for
a validator, are in ``mapdata.schema.json`` (JSON Schema 2020-12) beside this module. A change
to the document changes this text, the schema file and :data:`SCHEMA_VERSION` together.

Tables. To keep pages lean (and built fast, vectorized), rows are stored by columns, not as
GeoJSON. A *table* is an object with ``count`` (integer, the number of rows), ``columns`` (name
-> a list of ``count`` plain values) and ``coded_columns`` (name -> a list of ``count``
indexes into the document's ``strings``, or null: repetitive text stored once). Row i of a
coded column is ``strings[index]``.

Geometry. A table with shapes also has ``geometry``: each row's shape as MultiPolygon parts, in
the layout of :func:`shapely.to_ragged_array` (see :mod:`gis.render.encoding`): ``coords``
(string) holds x, y as integers in micro-degrees (1e-6 degree, about 0.1 m), each ring's first
vertex absolute and the rest as differences to the previous vertex (ring-closing vertices
dropped), packed as zigzag LEB128 varints in one base64 string; ``rings``, ``polys`` and
``geoms`` (lists of integers) are the offsets of rings (in vertices), polygons (in rings) and
rows (in polygons). Every coordinate is in the frame ``meta.frame`` names.

The document's keys:

- ``version`` (integer): the schema version, 2.
- ``meta`` (object): ``title`` (string); ``frame`` (``"WGS-84"`` or ``"GCJ-02"``, the frame of
  every coordinate); ``toolkit`` (string: ``gis`` and its version); ``built`` (string: ISO
  date); ``district`` (string: the district code of a district map, null for all districts);
  ``bounds`` (``[[south, west], [north, east]]``, degrees: the view the map opens on).
- ``strings`` (list of strings): the texts the coded columns index.
- ``layers`` (list of tables with geometry): one per layer and part, in drawing order, its
  features largest first. ``key`` (string ``"layer.part"``), ``layer`` (string), ``part``
  (string: every row's part), ``style`` (a style, below); ``columns``: ``fid`` (string),
  ``name_zh``, ``name_en``, ``parent`` (string or null: the parent feature's fid),
  ``area_ha`` (number: hectares measured in EPSG:4547, 4 decimals), ``checks_failed`` (string
  or null: the derived consistency checks the feature fails, joined by ``;``),
  ``position_error_m`` (number or null: how far at most the outline may be from the place it
  names, metres); ``coded_columns``: ``district`` (district code), ``street``, ``category``,
  ``location_confidence``, ``location_basis``, ``position_ref`` (what the feature was placed
  on), ``accuracy``, ``source`` (the plan document's
  short title), ``source_ref`` (the place in it), ``status`` (the worst status of the feature's
  own plan figures; null when the plans give it none).
- ``targets`` (table): one row per plan figure or derived check of a feature on the map.
  ``columns``: ``target_id`` (string), ``planned`` and ``measured`` (numbers in the row's
  ``unit``, 4 decimals, or null), ``delta_pct`` (number: measured against planned, in percent,
  1 decimal, or null); ``coded_columns``: ``fid`` (the feature's), ``metric``, ``part``,
  ``unit`` (as the target gives it: ``ha``, ``km2``, ``m2``, ``万m2``, ``ratio``; ``%`` for
  derived shares), ``status``, ``source``, ``source_ref``.
- ``districts`` (table with geometry): ``columns``: ``district`` (code), ``name_zh``,
  ``name_en``; no coded columns. ``other_districts`` (table with geometry, ``columns``:
  ``district``): on a district map the other districts' outlines, not drawn (the sketch review
  finds a sketch's district among all); no rows on the all-district map.
- ``aggregates`` (list of objects): the district totals: ``target_id``, ``district``,
  ``name_zh``, ``name_en``, ``metric``, ``comparator``, ``planned`` and ``measured`` (numbers in
  ``unit``, 4 decimals, or null), ``unit``, ``delta_pct`` (percent, 1 decimal, or null),
  ``status``, ``source``, ``source_ref``, ``horizon``, ``note`` (strings or null); for the sketch
  review: ``layer``, ``part`` (string or null), ``tolerance_pct`` (number), and for an area
  total (else null) ``half_step`` (ha: :func:`gis.evaluate.half_step_ha`), ``planned_ha`` and
  ``measured_ha`` (4 decimals; measured null when not measured), ``rule`` (object for a
  land-use or control-line total, else null: ``classes`` (the land classes counted; a code's
  own class for a code part), ``codes`` (a code part's codes, or null), ``relation``
  (``inside``, ``outside`` or null), ``control`` (the control kinds of the relation or the total)).
- ``qa_findings`` (list of objects): the QA findings that have a place: ``severity``
  (``"error"`` or ``"warning"``), ``check``, ``layer``, ``fid``, ``other_fid`` (strings or
  null), ``area_m2`` (number: square metres, 1 decimal, or null), ``message`` (string),
  ``latlng`` (``[lat, lng]``, degrees, 6 decimals).
- ``landuse`` (table with geometry; present only when the check has a land-use layer: a map
  without one carries no such key): the office's land-use parcels, drawn on a canvas coloured
  by class. ``system`` (string: the code system, ``yongdi``, ``sandiao`` or ``shenzhen``);
  ``fill_opacity`` (0 to 1) and ``line_color`` (``#rrggbb``): how parcels are drawn;
  ``classes`` (list of objects, the land classes present in the layer's order: ``key``,
  ``title_zh``, ``title_en``, ``color`` (``#rrggbb``, :data:`gis.style.LAND_CLASS_COLORS`),
  ``count``, ``area_ha``); ``columns``: ``parcel_id`` (string), ``area_m2`` (integer: square
  metres measured in EPSG:4547); ``coded_columns``: ``code``, ``code_name`` (the name the file
  gave the code, else the code list's), ``land_class`` (a class key), ``district``. Geometries
  are simplified to the document's precision (vertices within half a micro-degree of the line
  through their neighbours dropped).
- ``control_lines`` (table with geometry; only when the check has a control-line layer): the
  control lines meeting the map's districts (EPSG:4547 areas of :mod:`gis.landuse`), drawn as
  outlines; ``kinds`` (list of objects, the kinds present: ``key``, ``count``, ``style``);
  ``columns``: ``line_id`` (string or null); ``coded_columns``: ``kind``. Simplified as parcels.
- ``review`` (object): the sketch review's constants (:mod:`gis.settings`): ``area_proj4``
  (EPSG:4547 as a proj string), ``min_m2``, ``conflict_kinds`` and ``boundary_kinds`` (lists),
  ``control_groups`` (group -> kinds), ``control_kinds``, ``land_classes`` and ``layer_titles``
  (key -> ``[Chinese, English]``), ``proposal_land_class`` (layer -> land class),
  ``proposal_part`` (``[part, Chinese]``: what a proposal naming a thematic layer alone means), ``prefix``
  (of the exported review properties).
- ``status_colors`` (object: status -> outline colour, ``#rrggbb``); ``status_zh`` (object:
  status -> its Chinese name); ``district_names`` (object: district code -> ``[Chinese,
  English]``); ``derived_metrics`` (list of strings: the metrics of derived consistency
  checks, which popups list apart from the plan figures).
- ``district_style`` and each layer's ``style`` (objects): ``title_zh``, ``title_en``
  (strings), ``fill_color`` and ``line_color`` (``#rrggbb``), ``fill_opacity`` (0 to 1),
  ``weight`` (line width, pixels), ``dash`` (an SVG dash array such as ``"6 4"``, or null).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gis import __version__, settings, style
from gis.crs import geometry_gcj02_from_wgs84
from gis.model import CheckRun
from gis.render.encoding import Strings, decode_geometries, encode_geometries, rounded
from gis.render.mapparts import (
    aggregate_rules,
    control_table,
    landuse_table,
    other_districts,
    qa_findings,
    review_constants,
)
from gis.results import DERIVED_METRICS, feature_status
from gis.validate import text_or_none

#: The version of the document this module writes; see the module docstring.
SCHEMA_VERSION = 2


def map_data(run: CheckRun, *, district: str | None = None, frame: str = "WGS-84") -> dict[str, Any]:
    """Return everything a page draws, as one JSON-able document (the module docstring describes it).

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

    strings = Strings()
    status = feature_status(results)
    layers = [_layer(features, layer, part, status, strings, in_frame) for layer, part in _layer_parts(features)]
    shown = set(features["fid"])
    targets = _targets(results[results["scope"] != "aggregate"], shown, strings)
    # open on the features (Longgang's outline also holds Dapeng, which the plans do not cover);
    # a map with no features opens on its districts, an empty one on the three districts
    framed = in_frame(features.geometry.array)
    if not len(framed):
        framed = in_frame(districts.geometry.array)
    minx, miny, maxx, maxy = shapely.total_bounds(framed) if len(framed) else settings.LONLAT_BOUNDS
    lu = None if run.landuse is None else landuse_table(run.landuse, district, strings, in_frame, title(district))
    optional = {} if lu is None else {"landuse": lu}
    if run.control is not None:
        optional["control_lines"] = control_table(run.control, districts, strings, in_frame)
    aggregates = results[results["scope"] == "aggregate"]
    return {
        "version": SCHEMA_VERSION,
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
        "targets": targets,
        "districts": _districts(districts, in_frame),
        "other_districts": other_districts(run, district, in_frame),
        "aggregates": [a | r for a, r in zip(_aggregates(aggregates), aggregate_rules(run, aggregates), strict=True)],
        "qa_findings": qa_findings(run, shown if district is not None else None, in_frame),
        "status_colors": style.STATUS_COLORS,
        "status_zh": style.STATUS_ZH,
        "district_names": {code: list(names) for code, names in settings.DISTRICTS.items()},
        "derived_metrics": list(DERIVED_METRICS),
        "district_style": style.DISTRICT_STYLE.to_dict(),
        "review": review_constants(),
        **optional,
    }


def _layer_parts(features: pd.DataFrame) -> list[tuple[str, str]]:
    """Return the (layer, part) pairs present: the styled ones in drawing order, then the others, sorted."""
    present = list(dict.fromkeys(zip(features["layer"], features["part"], strict=True)))
    return [p for p in style.STYLES if p in present] + sorted(p for p in present if p not in style.STYLES)


def _layer(
    features: pd.DataFrame, layer: str, part: str, status: pd.DataFrame, strings: Strings, in_frame: Any
) -> dict[str, Any]:
    """Return one layer's part as a table with geometry, larger features first (a small one inside stays on top)."""
    st = style.style_for(layer, part)
    if (layer, part) not in style.STYLES:  # drawn in its layer's extent style, titled with its part
        st = dataclasses.replace(st, title_zh=f"{st.title_zh}（{part}）", title_en=f"{st.title_en} ({part})")
    sel = features[(features["layer"] == layer) & (features["part"] == part)]
    sel = sel.iloc[np.argsort(-sel["area_ha"].to_numpy(dtype=float), kind="stable")]
    fids = [str(f) for f in sel["fid"].tolist()]

    def of_status(column: str) -> list[Any]:
        return [status.at[f, column] if f in status.index else None for f in fids]

    return {
        "key": f"{layer}.{part}",
        "layer": layer,
        "part": part,
        "style": st.to_dict(),
        "count": len(sel),
        "columns": {
            "fid": fids,
            "name_zh": [text_or_none(v) for v in sel["name_zh"].tolist()],
            "name_en": [text_or_none(v) for v in sel["name_en"].tolist()],
            "parent": [text_or_none(v) for v in sel["parent"].tolist()],
            "area_ha": np.round(sel["area_ha"].to_numpy(dtype=float), 4).tolist(),
            "checks_failed": [text_or_none(v) for v in of_status("checks_failed")],  # pandas gives NaN for none
            "position_error_m": [_metres(v) for v in sel["position_error_m"].tolist()],
        },
        "coded_columns": {
            "district": strings.codes(sel["district"]),
            "street": strings.codes(sel["street"]),
            "category": strings.codes(sel["category"]),
            "location_confidence": strings.codes(sel["location_confidence"]),
            "location_basis": strings.codes(sel["location_basis"]),
            "position_ref": strings.codes(sel["position_ref"]),
            "accuracy": strings.codes(sel["accuracy"]),
            "source": strings.codes(_short_source(v) for v in sel["source_file"].tolist()),
            "source_ref": strings.codes(sel["source_ref"]),
            "status": strings.codes(of_status("status")),
        },
        "geometry": encode_geometries(in_frame(sel.geometry.array)),
    }


def _metres(value: object) -> float | None:
    """Return a position error read as text as a number of metres, or None."""
    try:
        return round(float(str(value)), 1) if text_or_none(value) is not None else None
    except ValueError:
        return None


def _targets(results: pd.DataFrame, shown: set[str], strings: Strings) -> dict[str, Any]:
    """Return the rows of the features' targets and derived checks as a table, in the results' order."""
    rows = results[results["feature_fid"].map(text_or_none).isin(shown)]
    return {
        "count": len(rows),
        "columns": {
            "target_id": [str(v) for v in rows["target_id"]],
            "planned": [rounded(v) for v in rows["planned"]],
            "measured": [rounded(v) for v in rows["measured"]],
            "delta_pct": [rounded(v, 1) for v in rows["delta_pct"]],
        },
        "coded_columns": {  # a feature's fid is written once in the strings however many rows it has
            "fid": strings.codes(rows["feature_fid"]),
            "metric": strings.codes(rows["metric"]),
            "part": strings.codes(rows["part"]),
            "unit": strings.codes(rows["unit"]),
            "status": strings.codes(rows["status"]),
            "source": strings.codes(_short_source(v) for v in rows["source_file"].tolist()),
            "source_ref": strings.codes(rows["source_ref"]),
        },
    }


def _districts(districts: pd.DataFrame, in_frame: Any) -> dict[str, Any]:
    return {
        "count": len(districts),
        "columns": {
            "district": [str(v) for v in districts["district"]],
            "name_zh": [text_or_none(v) for v in districts["name_zh"]],
            "name_en": [text_or_none(v) for v in districts["name_en"]],
        },
        "coded_columns": {},
        "geometry": encode_geometries(in_frame(districts.geometry.array)),
    }


def _aggregates(results: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "target_id": r.target_id,
            "district": r.district,
            "name_zh": text_or_none(r.name_zh),
            "name_en": text_or_none(r.name_en),
            "metric": r.metric,
            "comparator": r.comparator,
            "planned": rounded(r.planned),
            "measured": rounded(r.measured),
            "unit": r.unit,
            "delta_pct": rounded(r.delta_pct, 1),
            "status": r.status,
            "source": _short_source(r.source_file),
            "source_ref": text_or_none(r.source_ref),
            "horizon": text_or_none(r.horizon),
            "note": text_or_none(r.note),
        }
        for r in results.itertuples(index=False)
    ]


def _short_source(source_file: Any) -> str | None:
    text = text_or_none(source_file)
    return settings.SOURCES.get(text, text) if text else None


def decode_table(table: dict[str, Any], strings: list[str]) -> list[dict[str, Any]]:
    """Return a table's rows as dicts, coded columns looked up in ``strings``.

    Examples
    --------
    >>> table = {"count": 2, "columns": {"fid": ["A", "B"]}, "coded_columns": {"street": [0, None]}}
    >>> decode_table(table, ["龙城街道"])
    [{'fid': 'A', 'street': '龙城街道'}, {'fid': 'B', 'street': None}]
    """
    columns, coded = table["columns"], table["coded_columns"]
    return [
        {k: v[i] for k, v in columns.items()} | {k: (None if v[i] is None else strings[v[i]]) for k, v in coded.items()}
        for i in range(table["count"])
    ]


def decode_layer(layer: dict[str, Any], strings: list[str]) -> list[dict[str, Any]]:
    """Return a layer's features as GeoJSON features with plain (decoded) properties, ``part`` included."""
    rows = decode_table(layer, strings)
    geoms = decode_geometries(layer["geometry"])
    return [
        {"type": "Feature", "properties": row | {"part": layer["part"]}, "geometry": geometry}
        for row, geometry in zip(rows, geoms, strict=True)
    ]


def title(district: str | None) -> str:
    """Return the map title for all districts (None) or one district code."""
    if district is None:
        return "龙岗·龙华·坪山 规划图层核查 Planning layers of Longgang, Longhua and Pingshan"
    zh, en = settings.DISTRICTS[district]
    return f"{zh} 规划图层核查 Planning layers of {en}"


def count_features(data: dict[str, Any]) -> int:
    """Return the number of thematic features a map's data holds."""
    return sum(int(layer["count"]) for layer in data["layers"])
