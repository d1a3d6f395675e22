"""Parcel QA: the land-use layer's coverage, codes and official areas, as findings (all warnings).

An office's parcels (三调 patches, 控规 plots, 用地用海 parcels) are what the office delivered, so
nothing here stops ``gis check``: every finding is a warning of layer ``landuse`` whose fid is
the parcel's ``parcel_id``. (What makes the layer unreadable, a missing field or geometry, is an
error of :func:`gis.landuse.read_landuse`.) Per district, vectorized, nothing capped:

- ``parcel_overlap``: two parcels whose interiors overlap by :data:`gis.settings.QA_OVERLAP_MIN_M2`
  or more (one finding per pair, with the area);
- ``parcel_gap``: land between parcels narrower than :data:`gis.settings.QA_GAP_M` that no parcel
  covers (one finding per gap, with its area, naming the parcels around it);
- ``parcel_invalid``: a parcel whose outline is not a valid polygon (GEOS's reason): its area is
  not to be trusted, and it is left out of the two checks above;
- ``unknown_code``: a code that is no code of the layer's code system; ``code_too_coarse``: a code
  whose children fall in different land classes (用地用海 ``10`` 工矿用地: industrial or mining);
- ``official_area``: the layer's official area (``official_m2``) against the computed one, beyond
  :data:`gis.settings.QA_OFFICIAL_AREA_PCT` and :data:`gis.settings.QA_OFFICIAL_AREA_M2`.

Overlaps and gaps are found by GEOS's coverage validation (``shapely.coverage_invalid_edges`` with
the gap width), which marks the edges of every parcel that is not cleanly noded with its
neighbours; only those parcels are then measured. Edges that are only noded differently (a vertex
on one side of a shared edge and none on the other) are marked too but are no finding: no land is
counted twice or missed.

An ellipsoidal official area (三调 TBMJ: the area on the CGCS2000 ellipsoid) is compared with the
parcel's ellipsoidal area, computed as its planar area in EPSG:4547 divided by the projection's
areal scale factor at the parcel (Gauss-Krüger is conformal; within 1e-6 of the geodesic area
of ``pyproj.Geod`` on parcels up to kilometres across, tests/test_qa_parcels.py); a planar one
(控规 YDMJ) with the planar area. In the three districts the two areas differ by less than 0.01 %.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyproj
import shapely

from gis import settings
from gis._fast.proj import transformer
from gis.codes import UNCLASSIFIED, UNKNOWN, code_list
from gis.crs import AREA_CRS, LAYER_CRS
from gis.landuse import LandUse
from gis.model import WARNING, Finding
from gis.parallel import MIN_CHUNK, map_chunks, workers
from gis.progress import advance, stage

LAYER = settings.LANDUSE_LAYER
#: The geographic frame of EPSG:4547 (CGCS2000), in which 三调's TBMJ is an ellipsoidal area.
GEOGRAPHIC_CRS = "EPSG:4490"
#: The share of a layer's parcels with an unknown code above which the layer's code system is in doubt.
UNKNOWN_SYSTEM_SHARE = 0.5


def parcel_findings(landuse: LandUse) -> list[Finding]:
    """Return the findings of the land-use layer: coverage, validity, codes and official areas.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from gis.landuse import LandUse
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["A", "B"], "code": ["1001", "1001"], "district": "440307", "official_m2": [900.0, 1.0],
    ...      "official_kind": "planar", "land_class": "industrial", "area_m2": [900.0, 900.0]},
    ...     geometry=[shapely.box(5e5, 2.5e6, 5e5 + 30, 2.5e6 + 30), shapely.box(5e5 + 29, 2.5e6, 5e5 + 59, 2.5e6 + 30)],
    ...     crs="EPSG:4547")
    >>> [(f.check, f.fid, f.other_fid, f.area_m2) for f in parcel_findings(LandUse(parcels, "yongdi", "x"))]
    [('parcel_overlap', 'A', 'B', 30.0), ('official_area', 'B', None, 899.0)]
    """
    with stage("parcel QA", total=landuse.count, unit="parcels"):  # advanced as the coverage is validated
        return _findings(landuse)


def _findings(landuse: LandUse) -> list[Finding]:
    p = landuse.parcels
    geoms = p.geometry.to_numpy()
    ids = p["parcel_id"].to_numpy(dtype=object)
    valid = map_chunks(shapely.is_valid, geoms).astype(bool)
    out = _invalid(geoms, ids, valid, landuse.source)
    district = p["district"].to_numpy(dtype=object)
    for code in settings.DISTRICTS:
        rows = np.flatnonzero((district == code) & valid)
        if len(rows):
            out += _coverage(geoms[rows], ids[rows], landuse.source)
    out += _codes(landuse)
    out += _official(landuse, valid)
    return out


def strip_width(area: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Return the width of strips of these areas and perimeters: that of the rectangle with both (2A/P if none)."""
    half = np.asarray(length, dtype=float) / 2.0
    disc = half**2 - 4.0 * np.asarray(area, dtype=float)
    rough = 2.0 * np.asarray(area, dtype=float) / np.maximum(2.0 * half, 1e-12)
    return np.where(disc >= 0, (half - np.sqrt(np.maximum(disc, 0.0))) / 2.0, rough)


def _lonlat(geoms: np.ndarray) -> np.ndarray:
    """Return the geometries (EPSG:4547) in EPSG:4326, in one vectorized transform."""
    if not len(geoms):
        return geoms

    def xy(c: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer(AREA_CRS, LAYER_CRS, c[:, 0], c[:, 1]).transform(c[:, 0], c[:, 1]))

    return shapely.transform(geoms, xy)  # type: ignore[no-any-return]


def _invalid(geoms: np.ndarray, ids: np.ndarray, valid: np.ndarray, source: str) -> list[Finding]:
    bad = np.flatnonzero(~valid)
    reasons = shapely.is_valid_reason(geoms[bad])
    places = _lonlat(shapely.point_on_surface(shapely.make_valid(geoms[bad])))
    return [
        Finding(
            WARNING,
            "parcel_invalid",
            f"its outline is not a valid polygon ({reason}): its area is not to be trusted, and it is left out "
            "of the overlap and gap checks. Redraw the outline (gis qa on a layer shows where).",
            source=source,
            layer=LAYER,
            fid=str(ids[i]),
            field="geometry",
            geometry=place,
        )
        for i, reason, place in zip(bad, reasons, places, strict=True)
    ]


def invalid_edges(geoms: np.ndarray, gap_m: float) -> np.ndarray:
    """Return ``shapely.coverage_invalid_edges(geoms, gap_width=gap_m)``, computed in strips on every core.

    A parcel's invalid edges depend only on the parcels within ``gap_m`` of it, so each strip (a
    band of parcels by x) is validated with every parcel whose bounds reach within ``gap_m`` of
    it, and keeps the results of its own: the same as one call on the whole array.
    """
    strips = workers() * 2
    if len(geoms) < 2 * MIN_CHUNK or strips < 3:
        edges = shapely.coverage_invalid_edges(geoms, gap_width=gap_m)
        advance(len(geoms))  # the current stage's (gis.progress)
        return edges  # type: ignore[no-any-return]
    bounds = shapely.bounds(geoms)
    order = np.argsort(bounds[:, 0] + bounds[:, 2], kind="stable")
    own = np.array_split(order, strips)

    def strip(rows: np.ndarray) -> np.ndarray:
        lo, hi = bounds[rows, 0].min() - gap_m, bounds[rows, 2].max() + gap_m
        band = np.flatnonzero((bounds[:, 2] >= lo) & (bounds[:, 0] <= hi))
        edges = shapely.coverage_invalid_edges(geoms[band], gap_width=gap_m)
        return edges[np.searchsorted(band, rows)]  # type: ignore[no-any-return]

    out = np.empty(len(geoms), dtype=object)
    with ThreadPoolExecutor(workers()) as pool:
        for rows, edges in zip(own, pool.map(strip, own), strict=True):
            out[rows] = edges
            advance(len(rows))
    return out


def _coverage(geoms: np.ndarray, ids: np.ndarray, source: str) -> list[Finding]:
    """Overlaps (per pair) and gaps (per gap) among the valid parcels of one district."""
    edges = invalid_edges(geoms, settings.QA_GAP_M)
    marked = np.flatnonzero(~shapely.is_empty(edges))
    if not len(marked):
        return []
    tree = shapely.STRtree(geoms)
    return _overlaps(geoms, ids, tree, marked, source) + _gaps(geoms, ids, tree, marked, edges[marked], source)


def _overlaps(
    geoms: np.ndarray, ids: np.ndarray, tree: shapely.STRtree, marked: np.ndarray, source: str
) -> list[Finding]:
    k, j = tree.query(geoms[marked], predicate="intersects")
    i = marked[k]
    # each pair once: a parcel inside another marks only the inner one, so pairs are not both marked
    is_marked = np.zeros(len(geoms), bool)
    is_marked[marked] = True
    keep = (i != j) & ((i < j) | ~is_marked[j])
    i, j = i[keep], j[keep]
    inner = shapely.relate_pattern(geoms[i], geoms[j], "T********")
    i, j = i[inner], j[inner]
    overlap = shapely.intersection(geoms[i], geoms[j])
    area = shapely.area(overlap)
    keep = area >= settings.QA_OVERLAP_MIN_M2
    i, j, overlap, area = i[keep], j[keep], overlap[keep], area[keep]
    swap = ids[i].astype(str) > ids[j].astype(str)  # name the pair in id order, whichever query found it
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    own = shapely.area(geoms[i])
    width = strip_width(area, shapely.length(overlap))
    return [
        Finding(
            WARNING,
            "parcel_overlap",
            f"overlaps parcel {ids[b]} by {a:,.1f} m² ({a / s:.1%} of it, about {w:,.1f} m wide): the district's "
            "land is counted twice there. Trim one outline so that the two share one edge.",
            source=source,
            layer=LAYER,
            fid=str(ids[a_]),
            field="geometry",
            other_layer=LAYER,
            other_fid=str(ids[b]),
            area_m2=round(float(a), 2),
            geometry=place,
        )
        for a_, b, a, s, w, place in zip(i, j, area, own, width, _lonlat(overlap), strict=True)
    ]


def _gaps(
    geoms: np.ndarray, ids: np.ndarray, tree: shapely.STRtree, marked: np.ndarray, edges: np.ndarray, source: str
) -> list[Finding]:
    """Gaps narrower than QA_GAP_M: what closing the union of the marked parcels and their neighbours fills in."""
    d = settings.QA_GAP_M
    near = np.unique(tree.query(geoms[marked], predicate="dwithin", distance=d)[1])
    # closing (dilate, then erode by d / 2) of the union, cluster by cluster of polygons within d of each other
    parts = shapely.get_parts(shapely.union_all(geoms[near]))
    dilated = shapely.get_parts(shapely.union_all(shapely.buffer(parts, d / 2, join_style="mitre")))
    part, cluster = shapely.STRtree(dilated).query(parts, predicate="within")
    order = np.argsort(cluster, kind="stable")
    covered = shapely.multipolygons(parts[part[order]], indices=np.searchsorted(np.unique(cluster), cluster[order]))
    closed = shapely.buffer(dilated[np.unique(cluster)], -d / 2, join_style="mitre")
    gaps = shapely.get_parts(shapely.difference(closed, covered))
    gaps = gaps[shapely.area(gaps) >= settings.QA_OVERLAP_MIN_M2]
    if not len(gaps):
        return []
    # a gap is one GEOS marked: it touches a marked edge (not a corner the closing rounded off)
    on_edge = np.unique(shapely.STRtree(edges).query(gaps, predicate="dwithin", distance=1e-6)[0])
    gaps = gaps[on_edge]
    g, j = tree.query(gaps, predicate="dwithin", distance=1e-6)
    shared = shapely.length(shapely.intersection(shapely.boundary(gaps[g]), shapely.boundary(geoms[j])))
    # the parcels along it, not those touching a corner (unless none shares an edge with it)
    along = np.zeros(len(gaps), bool)
    along[g[shared > 1e-9]] = True
    keep = (shared > 1e-9) | ~along[g]
    g, j, shared = g[keep], j[keep], shared[keep]
    order = np.lexsort((ids[j].astype(str), -shared, g))
    g, j = g[order], j[order]
    first = np.searchsorted(g, np.arange(len(gaps)))
    around = np.split(j, first[1:])
    area = shapely.area(gaps)
    widths = strip_width(area, shapely.length(gaps))
    findings = []
    for k, place in enumerate(_lonlat(gaps)):
        names = [str(ids[x]) for x in around[k]]
        others = ", ".join(names[1:]) or "no other parcel"
        width = widths[k]
        findings.append(
            Finding(
                WARNING,
                "parcel_gap",
                f"a gap of {area[k]:,.1f} m² (about {width:,.2f} m wide) lies between it and parcel(s) {others}: "
                f"land no parcel covers, narrower than {d:g} m. Snap the outlines to one shared edge, or add the "
                "parcel that is missing.",
                source=source,
                layer=LAYER,
                fid=names[0] if names else None,
                field="geometry",
                other_layer=LAYER if len(names) > 1 else None,
                other_fid=names[1] if len(names) > 1 else None,
                area_m2=round(float(area[k]), 2),
                geometry=place,
            )
        )
    return findings


def _places(geoms: np.ndarray) -> np.ndarray:
    return _lonlat(shapely.point_on_surface(geoms))


def _codes(landuse: LandUse) -> list[Finding]:
    p, system = landuse.parcels, landuse.system
    table = code_list(system).table
    classes = p["land_class"].to_numpy(dtype=object)
    unknown, coarse = np.flatnonzero(classes == UNKNOWN), np.flatnonzero(classes == UNCLASSIFIED)
    ids, codes = p["parcel_id"].to_numpy(dtype=object), p["code"].to_numpy(dtype=object)
    geoms = p.geometry.to_numpy()
    standard = settings.CODE_SYSTEMS[system]
    out = []
    if len(unknown) > UNKNOWN_SYSTEM_SHARE * len(p):
        out.append(
            Finding(
                WARNING,
                "unknown_code",
                f"{len(unknown):,} of its {len(p):,} parcels have codes that are no codes of {system} ({standard}): "
                "is the layer's code_system right? Import the delivery again with the schema of its standard.",
                source=landuse.source,
                layer=LAYER,
                field="code_system",
            )
        )
    for i, place in zip(unknown, _places(geoms[unknown]), strict=True):
        out.append(
            Finding(
                WARNING,
                "unknown_code",
                f"code {codes[i]!r} is no code of {system} ({standard}); its land counts as {UNKNOWN!r}. "
                "Correct field code (gis landuse --by code lists the codes in use).",
                source=landuse.source,
                layer=LAYER,
                fid=str(ids[i]),
                field="code",
                area_m2=None,
                geometry=place,
            )
        )
    children = table.groupby("parent")
    hints: dict[str, str] = {}
    for code in (str(c) for c in pd.unique(codes[coarse])):
        kids = children.get_group(code) if code in children.groups else table.iloc[:0]
        spans = sorted({c for c in kids["land_class"].dropna()})
        listed = ", ".join(f"{c} {n}" for c, n in zip(kids["code"], kids["name_zh"], strict=True))
        name = str(table["name_zh"].get(code, ""))
        hints[code] = (
            f"code {code} ({name}) spans several land classes ({', '.join(spans) or 'none'}), "
            f"so its land counts as {UNCLASSIFIED!r}. Give a finer code: {listed or 'one level down'}."
        )
    for i, place in zip(coarse, _places(geoms[coarse]), strict=True):
        out.append(
            Finding(
                WARNING,
                "code_too_coarse",
                hints[codes[i]],
                source=landuse.source,
                layer=LAYER,
                fid=str(ids[i]),
                field="code",
                geometry=place,
            )
        )
    return out


def areal_scale(geoms: np.ndarray) -> np.ndarray:
    """Return EPSG:4547's areal scale factor at each geometry (at the centre of its bounds, vectorized)."""
    if not len(geoms):
        return np.ones(0)
    bounds = shapely.bounds(geoms)
    x, y = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    lon, lat = transformer(AREA_CRS, GEOGRAPHIC_CRS, x, y).transform(x, y)
    return np.asarray(_projection().get_factors(lon, lat).areal_scale, dtype=float)


@functools.cache
def _projection() -> pyproj.Proj:
    return pyproj.Proj(AREA_CRS)


def ellipsoidal_m2(geoms: np.ndarray) -> np.ndarray:
    """Return the area (m²) on the CGCS2000 ellipsoid of geometries in EPSG:4547: planar area over areal scale."""
    return shapely.area(geoms) / areal_scale(geoms)  # type: ignore[no-any-return]


def _official(landuse: LandUse, valid: np.ndarray) -> list[Finding]:
    """Official areas against the computed ones (parcels with an invalid outline have no area to compare)."""
    p = landuse.parcels
    official = pd.to_numeric(p["official_m2"], errors="coerce").to_numpy(dtype=float)
    kinds = p["official_kind"].to_numpy(dtype=object) if "official_kind" in p.columns else np.full(len(p), None, object)
    has = np.flatnonzero(np.isfinite(official) & valid)
    if not len(has):
        return []
    geoms = p.geometry.to_numpy()
    computed = p["area_m2"].to_numpy(dtype=float)[has]
    ell = kinds[has] == "ellipsoidal"
    computed[ell] = ellipsoidal_m2(geoms[has[ell]])
    diff = official[has] - computed
    tol_pct, tol_m2 = settings.QA_OFFICIAL_AREA_PCT, settings.QA_OFFICIAL_AREA_M2
    off = (np.abs(diff) > tol_m2) & (np.abs(diff) > tol_pct / 100.0 * np.abs(computed))
    rows, diff, computed, ell = has[off], diff[off], computed[off], ell[off]
    ids = p["parcel_id"].to_numpy(dtype=object)
    out = []
    for i, dm, c, e, place in zip(rows, diff, computed, ell, _places(geoms[rows]), strict=True):
        kind = kinds[i] if kinds[i] in ("ellipsoidal", "planar") else None
        what = (
            "the area on the CGCS2000 ellipsoid (三调 TBMJ)"
            if e
            else "the planar area in EPSG:4547" + ("" if kind else " (the layer does not say which area it gives)")
        )
        pct = f"{dm / c:+.2%}" if c else "of a parcel of no area"
        out.append(
            Finding(
                WARNING,
                "official_area",
                f"field official_m2 gives {official[i]:,.2f} m², {what} is {c:,.2f} m²: {dm:+,.2f} m² ({pct}), "
                f"beyond the tolerance of {tol_pct:g} % and {tol_m2:g} m². Check the figure, or the outline.",
                source=landuse.source,
                layer=LAYER,
                fid=str(ids[i]),
                field="official_m2",
                area_m2=round(float(abs(dm)), 2),
                geometry=place,
            )
        )
    return out
