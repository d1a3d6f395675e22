"""QA stage: geometry and data checks over every layer, as findings with a severity.

``gis qa`` and the first stage of ``gis build`` run :func:`run_qa`. It reads the layers
leniently (a broken feature is a finding, not the end of the run) and reports:

- per feature (from :func:`gis.read.check_layer`): missing or duplicate fids, empty required
  fields, unknown district, part or parent, null/empty/non-polygon geometries, unclosed rings,
  NaN coordinates, coordinates outside the three districts (swapped axes, metres labelled as
  degrees, a wrong CRS), invalid geometries with GEOS's reason, location and the area change a
  repair would make; 3D coordinates (warning);
- fids used in two layers (error);
- overlaps within a layer, other than a part inside its parent (pairs, overlap area): a thin
  overlap along a shared edge is a ``sliver``;
- gaps: neighbouring features of a layer, or polygons of one feature, that nearly touch
  (closer than :data:`gis.settings.QA_GAP_M`), with the gap's area;
- cross-layer conflicts: a park on industrial land, a renewal unit on industrial land (area);
- containment: a feature outside its district, a part outside its parent (area outside);
- place: a feature whose reference point (``position_lon``, ``position_lat``: the place its
  ``position_ref`` names) lies farther from its outline than its ``position_error_m``
  (``far_from_reference``, warning).

Measurements are made in EPSG:4547; locations are given in EPSG:4326.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gis import settings
from gis.crs import AREA_CRS, LAYER_CRS
from gis.model import ERROR, WARNING, Finding
from gis.spatial import district_shares
from gis.validate import polygonal

log = logging.getLogger(__name__)

#: Checks whose findings are between two features of one or two layers.
_CROSS_LAYER: tuple[tuple[str, str, str, str], ...] = (
    ("parks", "industrial_land", "park_on_industrial_land", "a park on industrial land"),
    ("renewal_units", "industrial_land", "renewal_on_industrial_land", "a renewal unit on industrial land"),
)


def topology_findings(layers: dict[str, gpd.GeoDataFrame], findings: list[Finding]) -> list[Finding]:
    """Return the topology and containment findings of validated layers.

    Parameters
    ----------
    layers
        The layers as :func:`gis.read.check_layers` returns them (with ``"districts"``).
    findings
        Their validation findings: features with a geometry error are left out of these checks.

    Returns
    -------
    list of Finding
        Overlaps and slivers, gaps, cross-layer conflicts, and features outside their district
        or parent, measured in EPSG:4547.
    """
    districts = layers["districts"]
    out: list[Finding] = []
    usable: dict[str, gpd.GeoDataFrame] = {}
    for name in settings.LAYER_NAMES:
        if name not in layers:
            continue
        frame = layers[name]
        broken = {f.fid for f in findings if f.layer == name and f.field == "geometry" and f.severity == ERROR}
        ok = ~frame["fid"].isin(broken).to_numpy() if broken else np.ones(len(frame), dtype=bool)
        keep = frame[ok & frame["fid"].notna().to_numpy()].reset_index(drop=True)
        usable[name] = keep.assign(source=frame.attrs.get("source", ""))
    projected = {name: f.to_crs(AREA_CRS) for name, f in usable.items()}
    for name, gdf in projected.items():
        out += _overlaps(gdf, name)
        out += _gaps(gdf, name)
        out += _containment(usable[name], gdf, districts, name)
        out += far_from_reference(gdf, name)
    for a, b, check, what in _CROSS_LAYER:
        if a in projected and b in projected:
            out += _conflicts(projected[a], projected[b], check=check, what=what)
    return out


def _ancestors(gdf: gpd.GeoDataFrame) -> dict[str, set[str]]:
    """Return each fid's chain of parents (a part overlaps its parent by design)."""
    parent = dict(zip(gdf["fid"], gdf["parent"], strict=True))
    out: dict[str, set[str]] = {}
    for fid in gdf["fid"]:
        seen: set[str] = set()
        p = parent.get(fid)
        while p is not None and p not in seen:
            seen.add(p)
            p = parent.get(p)
        out[fid] = seen
    return out


def _pairs(left: gpd.GeoDataFrame, right: gpd.GeoDataFrame, predicate: str, **kwargs: Any) -> np.ndarray:
    """Return index pairs (i in left, j in right) whose geometries satisfy ``predicate`` (STRtree)."""
    tree = shapely.STRtree(right.geometry.array)
    return np.asarray(tree.query(left.geometry.array, predicate=predicate, **kwargs))


def _to_lonlat(geom: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([geom], crs=AREA_CRS).to_crs(LAYER_CRS).iloc[0]


def _width_m(geom: shapely.Geometry) -> float:
    """Return a polygon's mean width: twice its area over its perimeter (a thin strip's width)."""
    return float(2.0 * geom.area / geom.length) if geom.length else 0.0


def _overlaps(gdf: gpd.GeoDataFrame, layer: str) -> list[Finding]:
    """Overlaps between features of one layer, except a part and its parent (or grandparent)."""
    if len(gdf) < 2:
        return []
    ancestors = _ancestors(gdf)
    left, right = _pairs(gdf, gdf, "intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    geoms = gdf.geometry.array
    overlap = shapely.intersection(geoms[left], geoms[right])
    area = shapely.area(overlap)
    findings = []
    for i, j, geom, a in zip(left, right, overlap, area, strict=True):
        fi, fj = gdf.at[i, "fid"], gdf.at[j, "fid"]
        if a < settings.QA_OVERLAP_MIN_M2 or fj in ancestors[fi] or fi in ancestors[fj]:
            continue
        geom = polygonal(geom)
        width = _width_m(geom)
        sliver = width < settings.QA_SLIVER_WIDTH_M
        findings.append(
            Finding(
                WARNING,
                "sliver" if sliver else "overlap",
                (
                    f"a sliver of {a:,.1f} m² (about {width:.1f} m wide) overlaps feature {fj}: the shared edge was "
                    "digitized twice. Snap the two outlines to one edge."
                    if sliver
                    else f"overlaps feature {fj} of the same layer by {a / 1e4:,.4f} ha ({a / geoms[i].area:.1%} of it); "
                    "the layer's total counts that land twice. Trim one outline, or make one a part of the other."
                ),
                source=gdf.at[i, "source"],
                layer=layer,
                fid=fi,
                field="geometry",
                other_layer=layer,
                other_fid=fj,
                area_m2=round(float(a), 2),
                geometry=_to_lonlat(geom),
            )
        )
    return findings


def _gap_area(a: shapely.Geometry, b: shapely.Geometry, distance: float) -> shapely.Geometry:
    """Return the gap between two nearly touching polygons: what closing their union by ``distance`` fills in."""
    union = shapely.union(a, b)
    closed = shapely.buffer(shapely.buffer(union, distance, join_style="mitre"), -distance, join_style="mitre")
    return polygonal(shapely.difference(closed, union))


def _gaps(gdf: gpd.GeoDataFrame, layer: str) -> list[Finding]:
    """Neighbouring features (and polygons of one feature) that nearly touch: a gap a snap would close."""
    findings = []
    d = settings.QA_GAP_M
    ancestors = _ancestors(gdf)
    if len(gdf) > 1:
        left, right = _pairs(gdf, gdf, "dwithin", distance=d)
        keep = left < right
        for i, j in zip(left[keep], right[keep], strict=True):
            a, b = gdf.geometry.iloc[i], gdf.geometry.iloc[j]
            fi, fj = gdf.at[i, "fid"], gdf.at[j, "fid"]
            if a.intersects(b) or fj in ancestors[fi] or fi in ancestors[fj]:
                continue
            gap = _gap_area(a, b, d)
            findings.append(
                Finding(
                    WARNING,
                    "gap",
                    f"is {a.distance(b):.2f} m from feature {fj}: a gap of {gap.area:,.1f} m² between neighbours. "
                    "If they share an edge, snap them together; if not, move them at least "
                    f"{d:g} m apart.",
                    source=gdf.at[i, "source"],
                    layer=layer,
                    fid=fi,
                    field="geometry",
                    other_layer=layer,
                    other_fid=fj,
                    area_m2=round(float(gap.area), 2),
                    geometry=_to_lonlat(gap if not gap.is_empty else shapely.shortest_line(a, b)),
                )
            )
    for i, geom in enumerate(gdf.geometry.array):
        parts = shapely.get_parts(geom)
        if len(parts) < 2:
            continue
        for k in range(len(parts)):
            for m in range(k + 1, len(parts)):
                dist = parts[k].distance(parts[m])
                if 0 < dist < d:
                    gap = _gap_area(parts[k], parts[m], d)
                    findings.append(
                        Finding(
                            WARNING,
                            "gap",
                            f"two of its polygons are {dist:.2f} m apart (a gap of {gap.area:,.1f} m²): "
                            "join them into one polygon, or move them apart.",
                            source=gdf.at[i, "source"],
                            layer=layer,
                            fid=gdf.at[i, "fid"],
                            field="geometry",
                            area_m2=round(float(gap.area), 2),
                            geometry=_to_lonlat(gap if not gap.is_empty else shapely.shortest_line(parts[k], parts[m])),
                        )
                    )
    return findings


def _conflicts(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, *, check: str, what: str) -> list[Finding]:
    """Features of layer ``a`` on features of layer ``b`` (outlines only: parts are inside them)."""
    a = a[a["parent"].isna()].reset_index(drop=True)
    b = b[b["parent"].isna()].reset_index(drop=True)
    if not len(a) or not len(b):
        return []
    left, right = _pairs(a, b, "intersects")
    overlap = shapely.intersection(a.geometry.array[left], b.geometry.array[right])
    findings = []
    for i, j, geom in zip(left, right, overlap, strict=True):
        area = float(shapely.area(geom))
        if area < settings.QA_OVERLAP_MIN_M2:
            continue
        share = area / a.geometry.iloc[i].area
        findings.append(
            Finding(
                WARNING,
                check,
                f"{what}: {area / 1e4:,.4f} ha ({share:.1%} of it) lies on feature {b.at[j, 'fid']} "
                f"({b.at[j, 'name_zh']}) of layer {b.at[j, 'layer']}. Check that the plans mean both uses there, "
                "or trim one outline.",
                source=a.at[i, "source"],
                layer=a.at[i, "layer"],
                fid=a.at[i, "fid"],
                field="geometry",
                other_layer=b.at[j, "layer"],
                other_fid=b.at[j, "fid"],
                area_m2=round(area, 2),
                geometry=_to_lonlat(polygonal(geom)),
            )
        )
    return findings


def _containment(
    lonlat: gpd.GeoDataFrame, gdf: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, layer: str
) -> list[Finding]:
    """Find features outside their district (error when most of it is elsewhere) and parts outside their parent."""
    findings = []
    known = lonlat[lonlat["district"].isin(list(districts["district"]))]
    shares = district_shares(known, districts)
    for i, share in shares[shares < settings.WITHIN_PARENT_PCT].items():
        geom = gdf.geometry.iloc[i]
        outside_m2 = geom.area * (100.0 - share) / 100.0
        district = districts.loc[districts["district"] == gdf.at[i, "district"]].to_crs(AREA_CRS).geometry.iloc[0]
        mostly_elsewhere = share < 50.0
        findings.append(
            Finding(
                ERROR if mostly_elsewhere else WARNING,
                "outside_district",
                f"only {share:.1f} % of it lies inside district {gdf.at[i, 'district']} "
                f"({outside_m2 / 1e4:,.4f} ha outside). "
                + (
                    "Correct field district, or check the layer's CRS."
                    if mostly_elsewhere
                    else "Redraw it inside the district, or correct field district."
                ),
                source=gdf.at[i, "source"],
                layer=layer,
                fid=gdf.at[i, "fid"],
                field="district",
                area_m2=round(outside_m2, 2),
                geometry=_to_lonlat(polygonal(shapely.difference(geom, district))),
            )
        )
    by_fid = {fid: k for k, fid in enumerate(gdf["fid"])}
    for i, parent in gdf["parent"].items():
        if parent is None or parent not in by_fid:
            continue
        geom, pgeom = gdf.geometry.iloc[i], gdf.geometry.iloc[by_fid[parent]]
        outside = shapely.difference(geom, pgeom)
        share = 100.0 * (1.0 - outside.area / geom.area) if geom.area else 100.0
        if share >= settings.WITHIN_PARENT_PCT:
            continue
        findings.append(
            Finding(
                WARNING,
                "outside_parent",
                f"part {gdf.at[i, 'part']} has {outside.area / 1e4:,.4f} ha ({100.0 - share:.1f} %) outside its "
                f"parent {parent}. Redraw the part inside the parent's outline, or correct field parent.",
                source=gdf.at[i, "source"],
                layer=layer,
                fid=gdf.at[i, "fid"],
                field="parent",
                other_layer=layer,
                other_fid=parent,
                area_m2=round(float(outside.area), 2),
                geometry=_to_lonlat(polygonal(outside)),
            )
        )
    return findings


#: The position fields: the reference point (WGS-84 degrees) and the stated error (metres).
POSITION_FIELDS: tuple[str, str, str] = ("position_lon", "position_lat", "position_error_m")


def _position_value(value: object, field: str) -> tuple[float, str | None]:
    """Return a position field read as text as a number, and what is wrong with it (None if nothing).

    An empty value gives NaN and the problem ``"empty"``; the caller decides whether that matters.
    """
    text = "" if value is None else str(value).strip()
    if text == "" or text.lower() in {"nan", "none", "null"}:
        return float("nan"), "empty"
    try:
        number = float(text)
    except ValueError:
        return float("nan"), f"{text!r} is not a number"
    if not np.isfinite(number):
        return float("nan"), f"{text!r} is not a finite number"
    minx, miny, maxx, maxy = settings.LONLAT_BOUNDS
    if field == "position_error_m" and number < 0:
        return float("nan"), f"{text} is negative: an error is a distance in metres, 0 or more"
    if field == "position_lon" and not minx <= number <= maxx:
        return float("nan"), f"{text} is not a longitude in the toolkit's bounds ({minx}-{maxx}° E, WGS-84)"
    if field == "position_lat" and not miny <= number <= maxy:
        return float("nan"), f"{text} is not a latitude in the toolkit's bounds ({miny}-{maxy}° N, WGS-84)"
    return number, None


def far_from_reference(gdf: gpd.GeoDataFrame, layer: str) -> list[Finding]:
    """Features farther from the place they name (their reference point) than their stated error.

    ``gdf`` is a layer in EPSG:4547 with the fields ``position_lon``, ``position_lat`` (the
    reference point, WGS-84) and ``position_error_m`` (metres). A layer without these fields, or
    a feature with all three empty, is not checked. A value that is not a number, a negative
    error, a reference point outside :data:`gis.settings.LONLAT_BOUNDS`, or one field empty
    while another is filled, is a finding on that field (the distance cannot be checked).
    """
    if not set(POSITION_FIELDS) <= set(gdf.columns):
        return []
    findings: list[Finding] = []
    values = {name: np.full(len(gdf), np.nan) for name in POSITION_FIELDS}
    for i in range(len(gdf)):
        read = {name: _position_value(gdf[name].iloc[i], name) for name in POSITION_FIELDS}
        if all(problem == "empty" for _, problem in read.values()):
            continue
        for name, (number, problem) in read.items():
            values[name][i] = number
            if problem is None:
                continue
            findings.append(
                Finding(
                    WARNING,
                    "far_from_reference",
                    f"{name} {problem}; the distance from the feature to its reference point cannot be checked. "
                    "Give position_lon and position_lat in WGS-84 degrees and position_error_m in metres.",
                    source=gdf["source"].iloc[i] if "source" in gdf.columns else "",
                    layer=layer,
                    fid=gdf["fid"].iloc[i],
                    field=name,
                )
            )
    lon, lat, error = (values[name] for name in POSITION_FIELDS)
    known = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(error)
    if not known.any():
        return findings
    points = gpd.GeoSeries(gpd.points_from_xy(lon[known], lat[known]), crs=LAYER_CRS).to_crs(AREA_CRS).array
    rows = np.flatnonzero(known)
    distance = shapely.distance(gdf.geometry.array[rows], points)
    for row, point, d in zip(rows, points, distance, strict=True):
        if not d > error[row]:
            continue
        ref = gdf["position_ref"].iloc[row] if "position_ref" in gdf.columns else None
        findings.append(
            Finding(
                WARNING,
                "far_from_reference",
                f"lies {d:,.0f} m from its reference point ({ref or 'position_ref not given'}), farther than its "
                f"stated position error of {error[row]:,.0f} m. Correct the position or the outline; the error "
                "states how far the true place may be from the outline, not how far this check allows.",
                source=gdf["source"].iloc[row] if "source" in gdf.columns else "",
                layer=layer,
                fid=gdf["fid"].iloc[row],
                field="geometry",
                geometry=_to_lonlat(shapely.shortest_line(gdf.geometry.iloc[row], point)),
            )
        )
    return findings
