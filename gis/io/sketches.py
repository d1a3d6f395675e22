"""Sketches to review (``gis review``) read as they come, into EPSG:4547: one polygon per sketch.

A sketch file is the web map's export (a GeoJSON FeatureCollection whose ``frame`` member says
WGS-84, or GCJ-02; properties ``fid``, ``name_zh``, ``note``, ``proposed_as`` and the map's own
figures ``review_*`` and ``reviewed``), a GeoPackage, Shapefile, FileGDB or GeoParquet (read by
:func:`gis.io.delivery.read_delivery`: frame and encoding detected and said), or a boundary-point
table (界址点坐标表, ``.csv``, ``.xlsx``, ``.txt``: :func:`gis.io.boundary_points.read_boundary_points`).

What comes back has, per sketch: ``fid`` (the file's, else its number in the file), ``name_zh``,
``note``, ``proposed_as`` (None when empty), ``stated_area_ha`` (a boundary-point table's, else
NaN), the geometry in EPSG:4547. A MultiPolygon is one sketch, its parts together. The ``review_*``
properties are ignored (one note): the review computes every figure anew.

Refused (:class:`~gis.errors.InputError`, naming the file and the feature): a file with no
feature (0 bytes, or an empty FeatureCollection: "has no sketch"), a feature that is no polygon (a LineString: its outline must be closed), an outline
that crosses itself (where, in lon/lat) or is otherwise invalid, coordinates outside Shenzhen
(the frame check of :func:`gis.io.delivery.choose_frame`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gis.crs import AREA_CRS, LAYER_CRS
from gis.errors import InputError, InputFileError
from gis.io.boundary_points import BOUNDARY_POINT_SUFFIXES, read_boundary_points
from gis.io.delivery import read_delivery
from gis.io.incoming import field_names_back, review_fields

log = logging.getLogger(__name__)

#: Suffixes of boundary-point tables (界址点坐标表), read by :func:`gis.io.boundary_points.read_boundary_points`.
TABLE_SUFFIXES: tuple[str, ...] = BOUNDARY_POINT_SUFFIXES
#: Columns of what :func:`read_sketches` returns (besides geometry).
SKETCH_COLUMNS: tuple[str, ...] = ("fid", "name_zh", "note", "proposed_as", "stated_area_ha")
_FIELDS = {"fid": ("fid", "feature_id", "id"), "name_zh": ("name_zh", "name"), "note": ("note",)}
#: What a file without a sketch is told (after its path).
NO_SKETCH_TEXT = "has no sketch: draw one and export again."
_WHERE = re.compile(r"\[([-\d.eE+]+) ([-\d.eE+]+)\]")


def read_sketches(
    path: Path,
    *,
    from_crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a file of sketches into EPSG:4547 (columns :data:`SKETCH_COLUMNS` and geometry).

    Parameters
    ----------
    from_crs
        The frame of a file that does not declare it (``wgs84``, ``gcj02``, ``cgcs2000``, ``EPSG:N``).
    encoding
        Text encoding of a Shapefile without ``.cpg`` (or of a boundary-point table).
    source_layer
        The layer of a GeoPackage or FileGDB holding several.
    notes
        A list the reader appends what it decided to (frame, encoding, fields ignored); also in
        ``gdf.attrs["notes"]``.

    Raises
    ------
    InputError
        See the module's docstring: one message per problem, naming the file and the feature.
    """
    path = Path(path)
    notes = notes if notes is not None else []
    if path.suffix.lower() in TABLE_SUFFIXES:
        if source_layer is not None:
            raise InputError(f"{path}: a boundary-point table holds one table; {{p:source_layer}} is for GeoPackage.")
        delivery = read_boundary_points(path, from_crs=from_crs, encoding=encoding)
    else:
        if not path.exists():
            raise InputFileError(f"{path}: no such file of sketches. Check the path.")
        if path.is_file() and path.stat().st_size == 0:
            raise InputError(f"{path}: {NO_SKETCH_TEXT}")
        delivery = read_delivery(
            path,
            source_layer=source_layer,
            encoding=encoding,
            from_crs=from_crs,
            purpose="review",
            empty=NO_SKETCH_TEXT,
        )
    notes.extend(delivery.notes)
    gdf = delivery.gdf
    if path.suffix.lower() == ".shp":  # proposed_a, stated_are: the names a Shapefile cut to 10 characters
        known = [*(n for names in _FIELDS.values() for n in names), "proposed_as", "stated_area_ha"]
        gdf = gdf.rename(columns=field_names_back(path, list(gdf.columns), known))
    ignored = review_fields(gdf.columns)
    if ignored:
        notes.append(
            f"the web map's review figures ({', '.join(ignored)}) ignored: gis review computes every figure anew"
        )
    out = _columns(gdf, notes)
    _check_geometries(path, out)
    out.attrs["notes"] = notes
    out.attrs["source"] = str(path)
    log.info("%s: %d sketch(es) read", path, len(out))
    return out


def _text(values: pd.Series) -> np.ndarray:
    """Return text cells stripped, None where empty or missing (numbers as their text, 12.0 as 12)."""
    out: list[str | None] = []
    for v in values.to_numpy(dtype=object):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        text = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
        out.append(text.strip() or None)
    return np.asarray(out, dtype=object)


def _columns(gdf: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Return the sketch columns of a file as read (fid from the file, else the feature's number)."""
    n = len(gdf)
    number = np.array([str(i) for i in range(1, n + 1)], dtype=object)
    columns: dict[str, object] = {}
    for name, candidates in _FIELDS.items():
        found = next((c for c in candidates if c in gdf.columns), None)
        columns[name] = _text(gdf[found]) if found is not None else np.full(n, None, dtype=object)
    fid = np.asarray(columns["fid"], dtype=object)
    unnamed = np.array([f is None for f in fid])
    if unnamed.any():
        fid[unnamed] = ["#" + k for k in number[unnamed]]
        notes.append(f"{int(unnamed.sum())} sketch(es) without a fid: named by their number in the file (#1 ...)")
    columns["fid"] = fid
    columns["proposed_as"] = (
        _text(gdf["proposed_as"]) if "proposed_as" in gdf.columns else np.full(n, None, dtype=object)
    )
    stated = gdf["stated_area_ha"] if "stated_area_ha" in gdf.columns else pd.Series(np.nan, index=gdf.index)
    columns["stated_area_ha"] = pd.to_numeric(stated, errors="coerce").to_numpy(dtype=float)
    frame = pd.DataFrame({k: columns[k] for k in SKETCH_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gdf.geometry.to_numpy(), crs=AREA_CRS)


def _lonlat(x: float, y: float) -> str:
    lon, lat = Transformer.from_crs(AREA_CRS, LAYER_CRS, always_xy=True).transform(x, y)
    return f"lon {lon:.6f}, lat {lat:.6f}"


def _check_geometries(path: Path, gdf: gpd.GeoDataFrame) -> None:
    """Refuse sketches that are not usable polygons, each named with what to do (all problems at once)."""
    if gdf.empty:
        raise InputError(f"{path}: {NO_SKETCH_TEXT}")
    problems = []
    geoms = gdf.geometry.to_numpy()
    for fid, geom in zip(gdf["fid"], geoms, strict=True):
        where = f"{path}: sketch {fid}"
        if geom is None or geom.is_empty:
            problems.append(f"{where}: has no geometry. Draw it again and export it.")
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            fix = "close its outline (end it on its first point, or draw it with the polygon tool)"
            problems.append(f"{where}: is a {geom.geom_type}, not a polygon: {fix} and export it again.")
        elif not np.isfinite(shapely.get_coordinates(geom)).all():
            problems.append(f"{where}: has coordinates that are not numbers. Export it again.")
        elif not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            found = _WHERE.search(reason)
            at = f" near {_lonlat(float(found[1]), float(found[2]))}" if found else ""
            if reason.startswith(("Self-intersection", "Ring Self-intersection")):
                problems.append(f"{where}: its outline crosses itself{at}. Redraw it so that no edge crosses another.")
            else:
                kind = reason.split("[")[0].strip()
                problems.append(f"{where}: is not a valid polygon ({kind}{at}). Redraw it.")
        elif geom.area <= 0:
            problems.append(f"{where}: has no area. Redraw it.")
    if problems:
        raise InputError(problems)
