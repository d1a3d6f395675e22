"""Geometry rules of a layer's features: missing, not polygons, unclosed, not finite, outside the districts, invalid (with the area a repair gives)."""

from __future__ import annotations

import logging
import re
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gis import settings
from gis.crs import AREA_CRS, LAYER_CRS
from gis.model import ERROR, WARNING, Finding
from gis.parallel import map_chunks

log = logging.getLogger(__name__)


def failed_validity(geoms: Any) -> np.ndarray:
    """Return which geometries are polygons that fail GEOS's validity test, tested on every core.

    GEOS releases the GIL for it, so it can run beside other work (:func:`gis.read.check_layers`
    tests a layer while it reads the next).
    """
    arr = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    polygons = np.flatnonzero(~missing & np.isin(shapely.get_type_id(arr), (3, 6)))
    failed = np.zeros(len(arr), dtype=bool)
    failed[polygons] = ~map_chunks(shapely.is_valid, arr[polygons])
    return failed


def _geometry_findings(
    gdf: gpd.GeoDataFrame, labels: np.ndarray, *, source: str, layer: str, failed: np.ndarray | None = None
) -> list[Finding]:
    """Return what is wrong with each feature's geometry, vectorized (only the failures cost Python).

    ``failed`` is :func:`failed_validity` of the geometries, if already computed.
    """
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
    if failed is None:
        failed = failed_validity(arr)
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
