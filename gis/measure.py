"""Measure stage: areas in hectares, planar in EPSG:4547 with a geodesic cross-check."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

from gis import settings
from gis.crs import AREA_CRS
from gis.errors import InputError

log = logging.getLogger(__name__)

#: CGCS2000 uses an ellipsoid equal to GRS80 to within 0.1 mm in its semi-minor axis.
_GEOD = Geod(ellps="GRS80")


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
    if geoms.crs is None:
        raise ValueError("the geometries have no CRS; set one (e.g. gdf.set_crs('EPSG:4326')) before measuring")
    projected = geoms.to_crs(AREA_CRS)
    return pd.Series(projected.area.to_numpy() / 10_000.0, index=geoms.index, name="area_ha")


def geodesic_areas(gdf: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.Series:
    """Return geodesic areas in hectares on the GRS80/CGCS2000 ellipsoid."""
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    lonlat = geoms.to_crs("EPSG:4490")
    areas = [abs(_GEOD.geometry_area_perimeter(g)[0]) / 10_000.0 if g is not None else np.nan for g in lonlat]
    return pd.Series(areas, index=geoms.index, name="geodesic_ha", dtype="float64")


def measure_features(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Stack the thematic layers into one frame and add ``area_ha``, ``geodesic_ha``, ``geodesic_diff_pct``.

    Logs a warning for any feature whose planar and geodesic areas differ by more than
    :data:`gis.settings.GEODESIC_WARN_PCT` per cent (in Shenzhen they differ by about 0.002 %).
    """
    frames = [layers[name] for name in settings.LAYER_NAMES if name in layers]
    features = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    features["area_ha"] = measure_areas(features)
    features["geodesic_ha"] = geodesic_areas(features)
    diff = (features["area_ha"] - features["geodesic_ha"]) / features["geodesic_ha"] * 100.0
    features["geodesic_diff_pct"] = diff
    bad = features[~np.isfinite(features["area_ha"]) | ~np.isfinite(features["geodesic_ha"])]
    if len(bad):
        raise InputError(
            [
                f"layer {r['layer']}, feature {r['fid']}: its area cannot be measured (not a finite number). "
                "Check the geometry's coordinates."
                for _, r in bad.iterrows()
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
    return features
