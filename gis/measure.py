"""Measure stage: areas in hectares, planar in EPSG:4547 with a geodesic cross-check."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Proj, Transformer

from gis import settings
from gis._fast.rings import ring_measures
from gis.crs import AREA_CRS
from gis.errors import InputError
from gis.parallel import map_chunks, transform_geometries

log = logging.getLogger(__name__)

#: CGCS2000 uses an ellipsoid equal to GRS80 to within 0.1 mm in its semi-minor axis.
_GEOD = Geod(ellps="GRS80")
#: Features wider than this (metres, the diagonal of their bounds in EPSG:4547) get an exact
#: geodesic area; smaller ones the planar area over the areal scale factor (see geodesic_areas).
GEODESIC_EXACT_M = 1_000.0


def measure_areas(gdf: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.Series:
    """Return planar areas in hectares, measured in EPSG:4547 (CGCS2000 / GK CM 114E).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> square = gpd.GeoSeries([box(500000, 2500000, 500100, 2500100)], crs="EPSG:4547")
    >>> float(measure_areas(square).iloc[0])
    1.0
    """
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    return pd.Series(measure_geometries(geoms).area_m2 / 10_000.0, index=geoms.index, name="area_ha")


def project(geoms: gpd.GeoSeries) -> np.ndarray:
    """Return the geometries in EPSG:4547 (the area frame), reprojected on every core."""
    if geoms.crs is None:
        raise ValueError("the geometries have no CRS; set one (e.g. gdf.set_crs('EPSG:4326')) before measuring")
    return transform_geometries(np.asarray(geoms.array), geoms.crs, AREA_CRS)


def geodesic_areas(gdf: gpd.GeoSeries | gpd.GeoDataFrame, *, measured: Measured | None = None) -> pd.Series:
    """Return geodesic areas in hectares on the GRS80/CGCS2000 ellipsoid.

    A feature larger than :data:`GEODESIC_EXACT_M` across (in EPSG:4547) is measured with
    :meth:`pyproj.Geod.geometry_area_perimeter`. A smaller one, the planar area divided by the
    projection's areal scale factor at the centre of its bounds: over 1 km the scale factor of
    Gauss-Kruger varies by less than 1e-8, so this agrees with ``Geod`` to 1e-8 of the area or
    0.001 m2 (``Geod``'s own rounding on a 40 m parcel is about 1e-4 m2), and it is vectorized,
    where ``Geod`` takes 30 us per feature (tests/test_measure.py compares the two).

    Parameters
    ----------
    gdf
        Features with a CRS.
    measured
        Their planar measures (:func:`measure_geometries`), if already computed.
    """
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if measured is None:
        measured = measure_geometries(geoms)
    planar = measured.area_m2
    x0, y0, x1, y1 = measured.bounds.T
    with np.errstate(invalid="ignore"):
        large = np.hypot(x1 - x0, y1 - y0) > GEODESIC_EXACT_M
    areas = np.full(len(planar), np.nan)
    small = ~large & np.isfinite(planar) & ~shapely.is_missing(np.asarray(geoms.array))
    if small.any():  # the centre of the bounds, back to lon/lat: one point per feature
        to_lonlat = Transformer.from_crs(AREA_CRS, "EPSG:4490", always_xy=True)  # per call: not thread-safe
        lon, lat = to_lonlat.transform((x0[small] + x1[small]) / 2.0, (y0[small] + y1[small]) / 2.0)
        scale = map_chunks(_areal_scale, np.column_stack([lon, lat]))  # on every core
        areas[small] = planar[small] / scale / 10_000.0
    if large.any():
        lonlat = transform_geometries(measured.geometries(large), AREA_CRS, "EPSG:4490")
        areas[large] = [abs(_GEOD.geometry_area_perimeter(g)[0]) / 10_000.0 for g in lonlat]
    return pd.Series(areas, index=geoms.index, name="geodesic_ha", dtype="float64")


def _areal_scale(lonlat: np.ndarray) -> np.ndarray:
    """Return the areal scale factor of EPSG:4547 at lon/lat points (n, 2)."""
    return np.asarray(Proj(AREA_CRS).get_factors(lonlat[:, 0], lonlat[:, 1]).areal_scale)  # a Proj per thread


@dataclass
class Measured:
    """Planar measures of features in EPSG:4547, and their reprojected geometries where built.

    Parameters
    ----------
    features
        The features (geometry in their own CRS, EPSG:4326 for the toolkit's layers).
    projected
        Their geometries in EPSG:4547, None where not yet built: :meth:`geometries` builds them.
    area_m2
        Planar area in square metres, EPSG:4547.
    bounds
        x0, y0, x1, y1 in EPSG:4547, shape (n, 4).
    """

    features: gpd.GeoDataFrame
    projected: np.ndarray
    area_m2: np.ndarray
    bounds: np.ndarray

    def geometries(self, rows: np.ndarray) -> np.ndarray:
        """Return the geometries of ``rows`` (a mask or positions) in EPSG:4547, reprojecting those not yet built."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
        todo = rows[shapely.is_missing(self.projected[rows])]
        if len(todo):
            self.projected[todo] = project(self.features.geometry.iloc[todo])
        return self.projected[rows]


def measure_geometries(geoms: gpd.GeoSeries) -> Measured:
    """Return the planar measures (EPSG:4547) of geometries with a CRS.

    Polygons without holes (nearly every parcel) are measured from their reprojected coordinates
    (:func:`ring_measures`); the others (holes, several parts, missing) are reprojected as
    geometries and measured by GEOS.
    """
    if geoms.crs is None:
        raise ValueError("the geometries have no CRS; set one (e.g. gdf.set_crs('EPSG:4326')) before measuring")
    arr = np.asarray(geoms.array, dtype=object)
    simple = (shapely.get_type_id(arr) == 3) & (shapely.get_num_interior_rings(arr) == 0) & ~shapely.is_empty(arr)
    projected = np.full(len(arr), None, dtype=object)
    area = np.full(len(arr), np.nan)
    bounds = np.full((len(arr), 4), np.nan)
    if simple.any():
        found = ring_measures(arr[simple], geoms.crs)
        area[simple], bounds[simple] = found[:, 0], found[:, 1:]
    other = ~simple
    if other.any():
        projected[other] = transform_geometries(arr[other], geoms.crs, AREA_CRS)
        with np.errstate(invalid="ignore"):
            area[other], bounds[other] = shapely.area(projected[other]), shapely.bounds(projected[other])
    return Measured(gpd.GeoDataFrame(geometry=geoms), projected, area, bounds)


def measure_features(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Stack the thematic layers into one frame and add ``area_ha``, ``geodesic_ha``, ``geodesic_diff_pct``.

    Logs a warning for any feature whose planar and geodesic areas differ by more than
    :data:`gis.settings.GEODESIC_WARN_PCT` per cent (in Shenzhen they differ by about 0.002 %).
    """
    return measure_layers(layers).features


def measure_layers(layers: dict[str, gpd.GeoDataFrame]) -> Measured:
    """Return :func:`measure_features` with the features' measures in EPSG:4547 (reprojected once)."""
    frames = [layers[name] for name in settings.LAYER_NAMES if name in layers]
    features = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    return measure_frame(features)


def measure_frame(features: gpd.GeoDataFrame) -> Measured:
    """Return one frame of features (a whole layer set, or one partition of it) with its area columns added.

    The frame given is left as it is: ``measured.features`` is a new frame sharing its columns
    (a shallow copy, so a million rows cost no copy) with ``area_ha``, ``geodesic_ha`` and
    ``geodesic_diff_pct`` added.
    """
    measured = measure_geometries(features.geometry)
    features = features.copy(deep=False)
    measured.features = features
    features["area_ha"] = measured.area_m2 / 10_000.0
    features["geodesic_ha"] = geodesic_areas(features, measured=measured)
    diff = (features["area_ha"] - features["geodesic_ha"]) / features["geodesic_ha"] * 100.0
    features["geodesic_diff_pct"] = diff
    finite = np.isfinite(features["area_ha"].to_numpy()) & np.isfinite(features["geodesic_ha"].to_numpy())
    if not finite.all():
        bad = features[~finite]
        raise InputError(
            [
                f"layer {layer}, feature {fid}: its area cannot be measured (not a finite number). "
                "Check the geometry's coordinates."
                for layer, fid in zip(bad["layer"], bad["fid"], strict=True)
            ]
        )
    for _, row in features[diff.abs() > settings.GEODESIC_WARN_PCT].iterrows():
        log.warning(
            "layer %s, feature %s: planar area %.4f ha differs from geodesic %.4f ha by %.3f %%",
            row["layer"],
            row["fid"],
            row["area_ha"],
            row["geodesic_ha"],
            row["geodesic_diff_pct"],
        )
    return measured
