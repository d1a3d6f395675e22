"""Spatial relations the checks need: district shares, candidate pairs, unions of overlapping features.

Everything here works in EPSG:4547 (or tests in lon/lat first where that is exact enough, see
:func:`district_shares`) and returns new arrays or Series aligned with the features given.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj.enums import TransformDirection

from gis._fast.inside import boxes_inside
from gis._fast.pairs import grid_pairs
from gis._fast.proj import transformer
from gis.crs import AREA_CRS
from gis.measure import GEODESIC_EXACT_M, Measured, measure_geometries, project
from gis.parallel import map_chunks


@dataclass
class Shapes:
    """What the checks need of the features' geometries, aligned with the features' rows.

    Parameters
    ----------
    projected
        Geometries in EPSG:4547; None where no check needs it (a part, a parent, a feature whose
        bounds meet another's in its layer and district): see :func:`needed_geometries`.
    bounds
        x0, y0, x1, y1 of every feature in EPSG:4547, shape (n, 4).
    shares
        Per cent of every feature's area inside its own district (:func:`district_shares`), or None
        when no districts are checked.
    """

    projected: np.ndarray
    bounds: np.ndarray
    shares: np.ndarray | None = None
    #: The pairs of features of one layer and district whose bounds meet (:func:`candidate_pairs`), if known.
    pairs: np.ndarray | None = None

    @classmethod
    def of(cls, measured: Measured, features: pd.DataFrame, districts: gpd.GeoDataFrame | None) -> Shapes:
        """Return the shapes of measured features: the geometries the checks need are reprojected now."""
        shares = None if districts is None else district_shares(features, districts, measured=measured).to_numpy()
        pairs = candidate_pairs(features, measured.bounds)
        need = needed_geometries(features, measured.bounds, pairs=pairs)
        projected = np.full(len(features), None, dtype=object)
        projected[need] = measured.geometries(need)
        return cls(projected, measured.bounds, shares, pairs)


def overlap_candidates(bounds: np.ndarray, groups: pd.Series | np.ndarray) -> np.ndarray:
    """Return the pairs (i, j), i < j, of features of one group whose bounds intersect (shape (2, k)).

    ``groups`` holds a label or an integer code per feature. Touching bounds count; a feature
    without bounds (empty) has no pair. Bounds are hashed to a grid of cells twice the median
    feature's size, and only boxes sharing a cell are compared (numpy, no geometry built); when
    the boxes are too uneven for a grid (over 8 cells a box on average), an STRtree of boxes
    is queried instead. Both give the same pairs (tests/test_evaluate.py).
    """
    bounds = np.asarray(bounds, dtype=float)
    codes = groups if isinstance(groups, np.ndarray) and groups.dtype.kind == "i" else pd.factorize(groups)[0]
    found = grid_pairs(bounds, np.asarray(codes, dtype=np.int64))
    if found is None:
        found = tree_pairs(bounds, np.asarray(codes, dtype=np.int64))
    return found


def tree_pairs(bounds: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """:func:`overlap_candidates` with an STRtree of the boxes (a box is its own envelope)."""
    finite = np.isfinite(bounds).all(axis=1)
    boxes = np.full(len(bounds), None, dtype=object)
    boxes[finite] = shapely.box(*bounds[finite].T)
    i, j = shapely.STRtree(boxes).query(boxes)
    keep = (i < j) & (codes[i] == codes[j])
    return np.vstack([i[keep], j[keep]])


def candidate_pairs(features: pd.DataFrame, bounds: np.ndarray) -> np.ndarray:
    """Return the pairs of features of one layer and district whose bounds meet (see :func:`overlap_candidates`)."""
    layer = pd.factorize(features["layer"])[0].astype(np.int64)
    district = pd.factorize(features["district"])[0].astype(np.int64)  # -1 where missing: a group of its own
    return overlap_candidates(bounds, layer * (int(district.max(initial=0)) + 2) + district)


def needed_geometries(features: pd.DataFrame, bounds: np.ndarray, *, pairs: np.ndarray | None = None) -> np.ndarray:
    """Return a mask of the features whose geometry the checks need beyond their measures.

    Parts and their parents (``within_parent``) and features whose bounds meet another's in the
    same layer and district (an aggregate's union counts an overlap once). Every other feature is
    checked from its area, bounds and district share alone.
    """
    need = features["parent"].notna().to_numpy() | features["fid"].isin(set(features["parent"].dropna())).to_numpy()
    if pairs is None:
        pairs = candidate_pairs(features, bounds)
    need[pairs.ravel()] = True
    return need


def union_ha(sel: pd.DataFrame, shapes: Shapes) -> float:
    """Return the area (ha) of the union of the selected features: overlaps counted once.

    Features whose interiors meet no other selected feature's count with their own area; those
    that overlap are unioned cluster by cluster. The sum is exact (:func:`math.fsum`), so it does
    not depend on the order of the features.
    """
    rows = sel.index.to_numpy()
    area = sel["area_ha"].to_numpy(dtype=float)
    if shapes.pairs is not None:  # the pairs of the whole layer and district, those of the selection kept
        local = np.full(len(shapes.bounds), -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        i, j = local[shapes.pairs]
        keep = (i >= 0) & (j >= 0)
        i, j = i[keep], j[keep]
    else:
        i, j = overlap_candidates(shapes.bounds[rows], sel["layer"])  # one layer and district: one group
    if len(i):
        geoms = shapes.projected[rows]
        meet = shapely.relate_pattern(geoms[i], geoms[j], "T********")
        i, j = i[meet], j[meet]
    root = list(range(len(rows)))

    def find(a: int) -> int:
        while root[a] != a:
            root[a] = root[root[a]]
            a = root[a]
        return a

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        root[find(a)] = find(b)
    clusters: dict[int, list[int]] = {}
    for a in set(i.tolist()) | set(j.tolist()):
        clusters.setdefault(find(a), []).append(a)
    single = np.ones(len(rows), dtype=bool)
    parts = []
    for members in clusters.values():
        single[members] = False
        parts.append(float(shapely.union_all(shapes.projected[rows[members]]).area) / 10_000.0)
    return math.fsum([*area[single].tolist(), *parts])


#: A feature (under 1 km across) properly inside its district shrunk by this many metres, tested
#: in lon/lat, is inside the district in EPSG:4547 too: between the two frames a straight edge of
#: 1.4 km bends by a few centimetres, the district's edges are cut to 500 m first.
INNER_MARGIN_M = 10.0


def district_shares(
    features: gpd.GeoDataFrame | pd.DataFrame,
    districts: gpd.GeoDataFrame,
    *,
    measured: Measured | None = None,
) -> pd.Series:
    """Return the percentage of each feature's area (EPSG:4547) that lies inside its own district.

    The result is indexed like ``features``; it is NaN where the district is not in ``districts``
    or the feature has no area. A feature properly inside its district is 100; only the others
    are intersected. No feature is reprojected for the test but those near the boundary or
    outside it: first their bounds in EPSG:4547 against a grid of cells wholly inside the
    district (:func:`gis._fast.inside.boxes_inside`, all but those within about a cell of the
    boundary), then the others' polygons in lon/lat against the district shrunk by
    :data:`INNER_MARGIN_M`, on every core, and last the rest in EPSG:4547.

    Parameters
    ----------
    features
        Features with a ``district`` field (and a geometry unless ``measured`` has them).
    districts
        District boundaries.
    measured
        The features' measures in EPSG:4547 (:func:`gis.measure.measure_geometries`), if
        already computed (else from ``features``).
    """
    if measured is None:
        measured = measure_geometries(features.geometry)
    lonlat = measured.features.geometry
    near_test = lonlat.crs is not None and lonlat.crs.is_geographic
    geoms = np.asarray(lonlat.array, dtype=object)
    boundary = dict(zip(districts["district"], project(districts.geometry), strict=True))
    shares = np.full(len(features), math.nan)
    areas = measured.area_m2
    x0, y0, x1, y1 = measured.bounds.T
    with np.errstate(invalid="ignore"):
        small = np.hypot(x1 - x0, y1 - y0) <= GEODESIC_EXACT_M
    codes = features["district"].to_numpy(dtype=object)
    for name, district in boundary.items():
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero((codes == name) & (areas > 0))
        if not len(rows):
            continue
        inside = boxes_inside(district, measured.bounds[rows])
        test = small[rows] & ~inside
        if near_test and test.any():
            inner = _to_lonlat(shapely.segmentize(district.buffer(-INNER_MARGIN_M), 500.0), lonlat.crs, geoms[rows])
            inside[test] = map_chunks(functools.partial(_contains_properly, inner), geoms[rows[test]])
        rest = rows[~inside]
        if len(rest):
            projected = measured.geometries(rest)
            within = map_chunks(functools.partial(_contains_properly, district), projected)
            inside[~inside] = within
            cut = rest[~within]
            shares[cut] = shapely.area(shapely.intersection(projected[~within], district)) / areas[cut] * 100.0
        shares[rows[inside]] = 100.0
    return pd.Series(shares, index=features.index, dtype=float)


def _to_lonlat(geom: shapely.Geometry, crs: Any, features: np.ndarray) -> shapely.Geometry:
    """Return a geometry of EPSG:4547 in the features' lon/lat ``crs``, by their own transformer run backwards.

    The features' transformer to EPSG:4547 is the one their areas were measured with (PROJ
    searched once); run in reverse it gives what a transformer from EPSG:4547 gives to within
    1e-14 degrees (a few nanometres), without a second search of PROJ's database (about 0.1 s).
    """
    sample = shapely.get_coordinates(features[:100])
    forward = transformer(crs, AREA_CRS, sample[:, 0], sample[:, 1])

    def back(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(forward.transform(xy[:, 0], xy[:, 1], direction=TransformDirection.INVERSE))

    return shapely.transform(geom, back)


def _contains_properly(container: shapely.Geometry, geoms: np.ndarray) -> np.ndarray:
    """Return which geometries lie properly inside ``container``, against a prepared copy of it.

    A prepared geometry builds its index on first use and must not be shared between threads:
    each call (one per thread in :func:`gis.parallel.map_chunks`) prepares its own copy.
    """
    own = shapely.from_wkb(shapely.to_wkb(container))
    shapely.prepare(own)
    return shapely.contains_properly(own, geoms)  # type: ignore[no-any-return]
