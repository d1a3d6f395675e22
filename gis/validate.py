"""Validation: every data-model and geometry rule of the layers and the targets table, as findings.

Every reader (a folder of layers, a GeoPackage, a partitioned folder, ``gis import``) calls these
functions, so a rule is written once. Findings name the file, the layer, the feature and the
field and say how to fix the input; :func:`validate_layer` and :func:`validate_targets` raise one
:class:`~gis.errors.InputError` listing every error, so a user fixes everything in one pass.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from gis import settings
from gis.crs import AREA_CRS, LAYER_CRS
from gis.errors import InputError
from gis.model import ERROR, WARNING, Finding, errors
from gis.parallel import map_chunks

log = logging.getLogger(__name__)


def _text(value: object) -> str | None:
    """Return a cell as stripped text, or None when empty/missing."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    return text or None


#: A character class (RE2, as Arrow's regex functions use) of every character ``str.strip()``
#: removes (``str.isspace()``: ASCII whitespace, the separators \x1c-\x1f, NEL and Unicode's Z
#: classes, e.g. the ideographic space U+3000), so text that does not match needs no strip.
_EDGE_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f\x85\pZ]"


#: A text column whose first this many values hold fewer than half as many distinct ones is
#: converted through Arrow's dictionary encoding.
_SAMPLE = 10_000


def _text_column(values: pd.Series) -> pd.Series:
    """Return a column as stripped text with None where empty.

    A column of text is handled in Arrow: only the values that begin or end with whitespace are
    stripped in Python, so a million names cost no Python call each; a column of few distinct
    values (district codes, parts) is cleaned once per distinct value. Other columns (numbers typed
    as numbers, mixed values) go cell by cell through :func:`_text`.
    """
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        try:
            arr = pa.array(values, from_pandas=True)  # no copy for Arrow-backed text (pandas' str)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed values
            arr = None
        if arr is not None and pa.types.is_null(arr.type):
            return pd.Series([None] * len(values), dtype=object)
        if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            head = arr.slice(0, _SAMPLE)
            if len(arr) > _SAMPLE and pc.count_distinct(head, mode="all").as_py() < _SAMPLE // 2:
                # few distinct values (codes, parts, sources): each is cleaned and made a Python str once
                coded = pc.dictionary_encode(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr)
                uniques = np.array([*(_text(v) for v in coded.dictionary.to_pylist()), None], dtype=object)
                return pd.Series(uniques[coded.indices.fill_null(len(uniques) - 1).to_numpy()], dtype=object)
            out = arr.to_numpy(zero_copy_only=False)
            edges = pc.match_substring_regex(arr, f"^{_EDGE_SPACE}|{_EDGE_SPACE}$").fill_null(False)
            for i in np.flatnonzero(edges.to_numpy(zero_copy_only=False)):
                out[i] = out[i].strip()
            out[out == ""] = None
            return pd.Series(out, dtype=object)
    return pd.Series([_text(v) for v in values], dtype=object)


def feature_frame(gdf: gpd.GeoDataFrame, *, layer: str) -> gpd.GeoDataFrame:
    """Return a layer in the toolkit's form: ``layer``, the data model's fields as text, geometry."""
    columns = {
        f: _text_column(gdf[f]) if f in gdf.columns else pd.Series([None] * len(gdf), dtype=object)
        for f in settings.FEATURE_FIELDS
    }
    out = gpd.GeoDataFrame(columns, geometry=gdf.geometry.values, crs=gdf.crs)
    out.insert(0, "layer", layer)
    return out


def check_layer(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> tuple[list[Finding], gpd.GeoDataFrame]:
    """Check a layer's features against the data model; return the findings and the layer in the toolkit's form.

    One finding per problem.

    Errors: missing fields, empty required values, unknown district or part, unknown parent,
    missing or duplicate fids, and geometries that are missing, empty, not polygons, unclosed,
    not finite, outside the three districts (swapped axes, metres labelled as degrees) or invalid
    (with GEOS's reason and location). Warning: 3D coordinates (heights dropped).
    """
    missing = [f for f in settings.REQUIRED_FEATURE_FIELDS if f not in gdf.columns]
    if missing:
        return (
            [
                Finding(
                    ERROR,
                    "missing_field",
                    f"lacks the field(s) {', '.join(missing)}. Add them to every feature (see layers/README.md for the data model).",
                    source=source,
                    layer=layer,
                    field=missing[0],
                )
            ],
            feature_frame(gdf, layer=layer),
        )
    out = feature_frame(gdf, layer=layer)
    fids = out["fid"].to_numpy()
    labels = np.array([f if f is not None else f"#{i + 1}" for i, f in enumerate(fids)], dtype=object)
    findings: list[Finding] = []

    def add(i: Any, check: str, message: str, field: str, severity: str = ERROR) -> None:
        findings.append(Finding(severity, check, message, source=source, layer=layer, fid=labels[i], field=field))

    for field in settings.REQUIRED_FEATURE_FIELDS:
        for i in np.flatnonzero(out[field].isna().to_numpy()):
            add(i, "missing_fid" if field == "fid" else "empty_field", f"field {field} is empty. Fill it in.", field)
    for field, allowed, hint in (
        ("district", settings.DISTRICTS, "Use the district code as text."),
        ("part", settings.PARTS, ""),
    ):
        values = out[field]
        for i in np.flatnonzero((values.notna() & ~values.isin(list(allowed))).to_numpy()):
            add(
                i,
                f"bad_{field}",
                f"field {field} is {values.iloc[i]!r}, not one of {', '.join(allowed)}. {hint}".rstrip(),
                field,
            )
    findings.extend(_geometry_findings(gdf, labels, source=source, layer=layer))
    findings.extend(duplicate_fids(out[["layer", "fid"]].assign(source=source), within_layers=True))
    known = set(out["fid"].dropna())
    parents = out["parent"]
    for i in np.flatnonzero((parents.notna() & ~parents.isin(list(known))).to_numpy()):
        add(
            i,
            "unknown_parent",
            f"field parent is {parents.iloc[i]!r}, which is no fid of this layer. Correct the parent or add that feature.",
            "parent",
        )
    return findings, out


def duplicate_fids(features: pd.DataFrame, *, within_layers: bool = False) -> list[Finding]:
    """Return a finding for every fid that more than one feature of ``features`` uses.

    ``features`` holds the columns ``layer``, ``fid`` and ``source`` (the file, for messages) of
    every layer. A fid used in two layers is always an error (``fid_in_two_layers``); a fid used
    twice within one layer only with ``within_layers`` (:func:`check_layer` finds those layer by
    layer; a layer split into partitions needs it over all of them).

    Examples
    --------
    >>> stacked = pd.DataFrame({"layer": ["parks", "renewal_units", "parks"], "fid": ["A", "A", "B"], "source": ""})
    >>> [f.text() for f in duplicate_fids(stacked)]
    ['layer parks, feature A: fid A is used in layers parks, renewal_units. fids must be unique across layers: rename one.']
    """
    rows = features[features["fid"].notna()]
    if not within_layers:
        rows = rows.drop_duplicates(["layer", "fid"])
    dup = rows[rows["fid"].duplicated(keep=False)]
    findings = []
    for fid, group in dup.groupby("fid", sort=True):
        layers = list(dict.fromkeys(group["layer"].tolist()))
        source = str(group["source"].iloc[0])
        if len(layers) == 1:
            findings.append(
                Finding(
                    ERROR,
                    "duplicate_fid",
                    f"fid {fid} is used by {len(group)} features. Give each its own fid.",
                    source=source,
                    layer=layers[0],
                    field="fid",
                )
            )
        else:
            findings.append(
                Finding(
                    ERROR,
                    "fid_in_two_layers",
                    f"fid {fid} is used in layers {', '.join(layers)}. fids must be unique across layers: rename one.",
                    source=source,
                    layer=layers[0],
                    fid=str(fid),
                    field="fid",
                    other_layer=layers[1],
                    other_fid=str(fid),
                )
            )
    return findings


def validate_layer(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> gpd.GeoDataFrame:
    """Check a layer's features against the data model; return them in the toolkit's form.

    ``source`` names the file in messages. Raises :class:`InputError` listing every error of
    :func:`check_layer` (warnings are logged).
    """
    findings, out = check_layer(gdf, source=source, layer=layer)
    for f in findings:
        if f.severity != ERROR:
            log.warning("%s", f.text())
    if errors(findings):
        raise InputError([f.text() for f in errors(findings)])
    return out


def _geometry_findings(gdf: gpd.GeoDataFrame, labels: np.ndarray, *, source: str, layer: str) -> list[Finding]:
    """Return what is wrong with each feature's geometry, vectorized (only the failures cost Python)."""
    geoms = gdf.geometry.array
    arr = np.asarray(geoms, dtype=object)
    notes = gdf["_geometry_note"].to_numpy() if "_geometry_note" in gdf.columns else np.full(len(gdf), None)
    findings: list[Finding] = []

    def add(
        i: Any,
        check: str,
        message: str,
        geometry: shapely.Geometry | None = None,
        severity: str = ERROR,
        area_m2: float | None = None,
    ) -> None:
        findings.append(
            Finding(
                severity,
                check,
                message,
                source=source,
                layer=layer,
                fid=labels[i],
                field="geometry",
                geometry=geometry,
                area_m2=area_m2,
            )
        )

    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    type_ids = shapely.get_type_id(arr)
    is_polygon = np.isin(type_ids, (3, 6))
    # GEOS's validity test fails every polygon with a NaN or infinite coordinate ("Invalid
    # Coordinate"): one test on every core, and the coordinates of the failures only are looked at
    polygons = np.flatnonzero(~missing & is_polygon)
    failed = np.zeros(len(arr), dtype=bool)
    failed[polygons] = ~map_chunks(shapely.is_valid, arr[polygons])
    nonfinite = np.zeros(len(arr), dtype=bool)
    for i in np.flatnonzero(failed):
        nonfinite[i] = not np.isfinite(shapely.get_coordinates(arr[i])).all()
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(arr)
    minx, miny, maxx, maxy = settings.LONLAT_BOUNDS
    outside = (
        ~missing
        & is_polygon
        & ~nonfinite
        & ((bounds[:, 0] < minx) | (bounds[:, 2] > maxx) | (bounds[:, 1] < miny) | (bounds[:, 3] > maxy))
    )
    invalid = failed & ~nonfinite & ~outside
    source_crs = gdf.attrs.get("source_crs", "EPSG:4326")
    for i in np.flatnonzero(missing | ~is_polygon | nonfinite | outside | invalid):
        if isinstance(notes[i], str):
            add(
                i,
                "unclosed_ring" if "not closed" in notes[i] else "unreadable_geometry",
                f"geometry: {notes[i]}. Close the ring (end it on its first point) or redraw the outline.",
            )
        elif missing[i]:
            add(
                i,
                "empty_geometry",
                "geometry is missing or empty (or GDAL could not read it, e.g. a coordinate that is not a number). "
                "Draw the polygon or remove the feature.",
            )
        elif not is_polygon[i]:
            add(
                i,
                "not_polygon",
                f"geometry is a {arr[i].geom_type}; areas need a Polygon. Redraw it as a polygon.",
                arr[i].representative_point() if arr[i].geom_type != "GeometryCollection" else None,
            )
        elif nonfinite[i]:
            add(
                i, "nonfinite_coordinates", "geometry has NaN or infinite coordinates. Redraw or re-export the feature."
            )
        elif outside[i]:
            x0, y0, x1, y1 = bounds[i]
            swapped = minx <= y0 and y1 <= maxx and miny <= x0 and x1 <= maxy
            metres = max(abs(x0), abs(x1), abs(y0), abs(y1)) > 360
            if swapped:
                check, hint = (
                    "swapped_axes",
                    "Longitude and latitude are swapped: save it with x = longitude, y = latitude.",
                )
            elif metres:
                check, hint = (
                    "metres_as_degrees",
                    "The numbers look like metres labelled as degrees: declare the layer's projected CRS (e.g. EPSG:4547) or save it as EPSG:4326 longitude/latitude.",
                )
            else:
                check, hint = (
                    "outside_area",
                    f"It is not in Longgang, Longhua or Pingshan: check the layer's CRS ({source_crs}) or the feature's position.",
                )
            add(
                i,
                check,
                f"geometry lies outside lon {minx}..{maxx}, lat {miny}..{maxy} "
                f"(its bounds are {x0:.4f}, {y0:.4f}, {x1:.4f}, {y1:.4f}). {hint}",
            )
        else:
            reason = shapely.is_valid_reason(arr[i])
            location = _reason_point(reason)
            repaired = polygonal(shapely.make_valid(arr[i]))
            before, after = _areas_m2([arr[i], repaired])
            add(
                i,
                "invalid_geometry",
                f"geometry is invalid ({reason}). Redraw the outline so that it does not cross itself; "
                f"repaired as drawn it would measure {after / 1e4:.4f} ha instead of {before / 1e4:.4f} ha "
                f"({(after - before) / 1e4:+.4f} ha).",
                location,
                area_m2=round(float(after - before), 2),
            )
    has_z = gdf.attrs.get("has_z")
    if has_z is not None:
        for i in np.flatnonzero(has_z):
            add(
                i,
                "3d_coordinates",
                "geometry has heights (x, y, z); they are dropped and areas are planar.",
                severity=WARNING,
            )
    return findings


def _reason_point(reason: str) -> shapely.Geometry | None:
    """Return the point GEOS names in a validity reason ("Self-intersection[114.2 22.7]")."""
    match = re.search(r"\[([-\d.eE+]+) ([-\d.eE+]+)\]", reason)
    return shapely.Point(float(match.group(1)), float(match.group(2))) if match else None


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep the polygons of a geometry (make_valid and intersections may add lines and points); empty if none."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _areas_m2(geoms: list[shapely.Geometry]) -> np.ndarray:
    """Return planar areas in square metres in EPSG:4547 of lon/lat geometries."""
    return gpd.GeoSeries(geoms, crs=LAYER_CRS).to_crs(AREA_CRS).area.to_numpy()


def _decimals(text: str) -> int:
    """Return the number of decimals a figure is stated with ("703" -> 0, "0.4555" -> 4)."""
    mantissa = text.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _number(text: str | None, *, where: str, field: str, problems: list[str]) -> float | None:
    if text is None:
        return None
    try:
        if "_" in text:
            raise ValueError(text)
        value = float(text)
    except ValueError:
        problems.append(f"{where}: field {field} is {text!r}, not a number. {_number_hint(text)}")
        return None
    if not math.isfinite(value):
        problems.append(f"{where}: field {field} is {text!r}; give a finite number.")
        return None
    return value


def _number_hint(text: str) -> str:
    """Say how to write a figure typed the way people write numbers in text ("约29", "18,5", "1,200")."""
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
        return f"Write it without the thousands separator: {text.replace(',', '')}."
    if re.fullmatch(r"\d+,\d+", text):
        return f"Use a point for decimals: {text.replace(',', '.')}."
    figure = re.search(r"\d+(\.\d+)?", text)
    if figure and figure.group(0) != text:
        return (
            f"Write the figure alone, e.g. {figure.group(0)}, and put words such as 约/about or units "
            "in field note or field unit."
        )
    return "Write a plain number such as 12.5."


def validate_targets(raw: pd.DataFrame, *, path: Path) -> pd.DataFrame:
    """Check a targets table read as text (:func:`gis.io.targets.read_table`); return it typed.

    Raises :class:`InputError` listing every problem (``path`` names the file in messages).
    Returns the columns of :data:`gis.settings.TARGET_COLUMNS` as text (None where empty), with
    ``value`` and ``tolerance_pct`` as floats, ``value_decimals`` (decimals stated) and ``row``
    (the row number in the file, header = 1).
    """
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in settings.TARGET_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path}: the targets table lacks the column(s) {', '.join(missing)}. "
            f"The header must be: {','.join(settings.TARGET_COLUMNS)}"
        )
    df = pd.DataFrame({c: [_text(v) for v in raw[c]] for c in settings.TARGET_COLUMNS}, dtype=object)
    df["row"] = range(2, len(df) + 2)
    problems: list[str] = []
    values: list[float | None] = []
    tolerances: list[float | None] = []
    decimals: list[int] = []
    for _, r in df.iterrows():
        where = f"{path}: row {r['row']}, target {r['target_id'] or '(no id)'}"
        if r["target_id"] is None:
            problems.append(f"{where}: field target_id is empty. Give every row an id.")
        checks = (
            ("scope", settings.SCOPES),
            ("metric", settings.METRICS),
            ("comparator", settings.COMPARATORS),
        )
        for field, allowed in checks:
            if r[field] not in allowed:
                problems.append(f"{where}: field {field} is {r[field]!r}; use one of {', '.join(allowed)}.")
        if r["part"] is not None and r["part"] not in settings.PARTS:
            problems.append(
                f"{where}: field part is {r['part']!r}; use one of {', '.join(settings.PARTS)}, or leave it empty."
            )
        units = settings.RATIO_UNITS if r["metric"] == "plot_ratio" else tuple(settings.AREA_UNITS_HA)
        if r["metric"] in settings.METRICS and r["unit"] not in units:
            problems.append(
                f"{where}: field unit is {r['unit']!r} for metric {r['metric']}; use one of {', '.join(units)}."
            )
        if r["layer"] is not None and r["layer"] not in settings.LAYER_NAMES:
            problems.append(f"{where}: field layer is {r['layer']!r}; use one of {', '.join(settings.LAYER_NAMES)}.")
        if r["district"] is not None and r["district"] not in settings.DISTRICTS:
            problems.append(
                f"{where}: field district is {r['district']!r}; use one of {', '.join(settings.DISTRICTS)}."
            )
        if r["scope"] == "aggregate":
            if r["district"] is None or r["layer"] is None:
                problems.append(f"{where}: an aggregate target needs district and layer. Fill them in.")
            if r["fid"] is not None:
                problems.append(
                    f"{where}: an aggregate target has no fid (it sums a layer); clear field fid or use scope feature."
                )
        elif r["scope"] == "consistency" and r["fid"] is None:
            problems.append(f"{where}: a consistency target needs a fid. Fill in the feature's fid.")
        value = _number(r["value"], where=where, field="value", problems=problems)
        if r["value"] is None:
            problems.append(f"{where}: field value is empty. Give the planned figure.")
        elif value is not None and value <= 0:
            problems.append(f"{where}: field value is {r['value']}; a planned figure is larger than 0.")
        values.append(value)
        decimals.append(_decimals(r["value"]) if r["value"] else 0)
        tol = _number(r["tolerance_pct"], where=where, field="tolerance_pct", problems=problems)
        if tol is not None and tol < 0:
            problems.append(f"{where}: field tolerance_pct is negative; give a percentage of 0 or more.")
        tolerances.append(tol)
    dup = df["target_id"][df["target_id"].notna() & df["target_id"].duplicated(keep=False)]
    for tid in sorted(set(dup)):
        rows = ", ".join(str(x) for x in df.loc[df["target_id"] == tid, "row"])
        problems.append(f"{path}: target_id {tid} is used on rows {rows}. Give each row its own id.")
    if problems:
        raise InputError(problems)
    df["value"] = pd.Series(values, dtype="float64")
    df["tolerance_pct"] = pd.Series([t if t is not None else 0.0 for t in tolerances], dtype="float64")
    df["value_decimals"] = decimals
    return df
