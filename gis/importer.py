"""Import stage: bring polygons edited in QGIS or drawn in the web map back into a layer.

The incoming file (GeoPackage, GeoJSON or Shapefile) is read in its declared frame (or the one
``--from-crs`` names: WGS-84, GCJ-02 as Amap and the web map's Amap view use, CGCS2000, or an
EPSG code), moved to WGS-84, checked like a shipped layer (schema, geometry, inside its
district, unique fids), compared with the current layer (added, changed with area delta,
removed) and, unless it is a dry run, written to the layer file atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gis import settings
from gis._atomic import write_text_atomic
from gis.crs import AREA_CRS, LAYER_CRS, geometry_wgs84_from_gcj02
from gis.errors import InputError, InputFileError
from gis.export import SHAPEFILE_NAMES
from gis.read import read_layers, validate_layer

log = logging.getLogger(__name__)

#: Names accepted by ``--from-crs``; anything else must be ``EPSG:N``.
FRAMES: dict[str, str] = {"wgs84": "EPSG:4326", "gcj02": "GCJ-02", "cgcs2000": "EPSG:4490"}
_FRAME_WORDS = {"WGS-84": "EPSG:4326", "WGS84": "EPSG:4326", "GCJ-02": "GCJ-02", "GCJ02": "GCJ-02"}
DECIMALS = 6  # layer files keep 6 decimals (about 0.1 m)


@dataclass
class ImportPlan:
    """What an import would change in one layer."""

    layer: str
    layer_path: Path
    frame: str
    result: gpd.GeoDataFrame
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, float, float, list[str]]] = field(default_factory=list)  # fid, ha before, ha after, fields
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)


def parse_frame(text: str) -> str:
    """Return ``EPSG:N`` or ``GCJ-02`` for a ``--from-crs`` value."""
    key = text.strip().lower().replace("-", "").replace("_", "")
    if key in FRAMES:
        return FRAMES[key]
    if key.startswith("epsg:") and key[5:].isdigit():
        return f"EPSG:{key[5:]}"
    raise InputError(f"--from-crs {text!r} is not understood; use wgs84, gcj02, cgcs2000 or EPSG:N (e.g. EPSG:4547).")


def _declared_frame(path: Path, gdf: gpd.GeoDataFrame) -> str | None:
    """Return the frame a file declares: the web map's ``frame`` member, else the file's CRS."""
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            doc = {}
        word = str(doc.get("frame", "")).upper() if isinstance(doc, dict) else ""
        if word in _FRAME_WORDS:
            return _FRAME_WORDS[word]
    if gdf.crs is not None:
        epsg = gdf.crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else gdf.crs.to_string()
    return None


def read_incoming(path: Path, *, layer: str, from_crs: str | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Read an incoming file into WGS-84 with the data model's field names; return it and its frame."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file to import. Check the path.")
    source_layer = None
    if path.suffix.lower() == ".gpkg":
        try:
            names = [str(n) for n, geom in pyogrio.list_layers(path) if geom]
        except Exception as exc:
            raise InputFileError(f"{path}: cannot be opened as a GeoPackage ({exc}).") from exc
        if layer in names:
            source_layer = layer
        elif len(names) == 1:
            source_layer = names[0]
        else:
            raise InputError(f"{path}: has no layer {layer!r}; its spatial layers are {', '.join(names) or 'none'}.")
    try:
        gdf = gpd.read_file(path, layer=source_layer, engine="pyogrio")
    except Exception as exc:
        raise InputFileError(
            f"{path}: cannot be read ({type(exc).__name__}: {exc}). Export it again as GeoPackage, GeoJSON or Shapefile."
        ) from exc
    declared = _declared_frame(path, gdf)
    frame = parse_frame(from_crs) if from_crs else declared
    if (
        from_crs
        and declared
        and declared != frame
        and not (declared == "EPSG:4326" and frame == "GCJ-02" and path.suffix.lower() != ".gpkg")
    ):
        raise InputError(
            f"{path}: the file declares its frame as {declared}, but --from-crs says {frame}. "
            "Drop --from-crs, or fix the file's frame."
        )
    if frame is None:
        raise InputError(
            f"{path}: the file declares no coordinate frame. Pass --from-crs (wgs84, gcj02, cgcs2000 or EPSG:N)."
        )
    if frame == "GCJ-02":  # lon/lat in GCJ-02: move to WGS-84
        gdf = gdf.set_crs(LAYER_CRS, allow_override=True)
        gdf = gdf.set_geometry(geometry_wgs84_from_gcj02(gdf.geometry.to_numpy()), crs=LAYER_CRS)
    else:
        gdf = gdf.set_crs(frame, allow_override=True).to_crs(LAYER_CRS)
    if "layer" in gdf.columns and (gdf["layer"] == layer).any():  # an export of all layers: keep this one's rows
        gdf = gdf[gdf["layer"] == layer]
    back = {v: k for k, v in SHAPEFILE_NAMES.items()}
    gdf = gdf.rename(columns={"feature_id": "fid", **{k: v for k, v in back.items() if k in gdf.columns}})
    return gdf, frame


def _fill_sketch_fields(gdf: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Give sketches from the web map (a fid and a name only) their district and provenance fields."""
    gdf = gdf.copy()
    for col in settings.FEATURE_FIELDS:
        if col not in gdf.columns:
            gdf[col] = None
    empty = gdf["district"].isna() | (gdf["district"].astype(str).str.strip() == "")
    if empty.any():
        projected = gdf.geometry.to_crs(AREA_CRS)
        bounds = districts.to_crs(AREA_CRS)
        for i in gdf.index[empty]:
            shares = bounds.geometry.intersection(projected.loc[i]).area
            if shares.max() > 0:
                gdf.loc[i, "district"] = bounds.loc[shares.idxmax(), "district"]
                notes.append(f"feature {gdf.loc[i, 'fid']}: district {gdf.loc[i, 'district']} taken from its position")
    defaults = {
        "part": "extent",
        "accuracy": "sketch",
        "method": "drawn by hand (sketch), imported with gis import",
        "location_confidence": "stated",
    }
    for col, value in defaults.items():
        missing = gdf[col].isna() | (gdf[col].astype(str).str.strip() == "")
        if missing.any():
            gdf.loc[missing, col] = value
            notes.append(f"{int(missing.sum())} feature(s) had no {col}: set to {value!r}")
    return gdf


def plan_import(
    path: Path, *, layer: str, layers_dir: Path, from_crs: str | None = None, replace: bool = False
) -> ImportPlan:
    """Read, check and compare an incoming file with the current layer; change nothing on disk.

    Parameters
    ----------
    replace
        The file is the whole new layer: features it lacks are removed. Default: merge (the
        file's features are added or replace those with the same fid; nothing is removed).
    """
    if layer not in settings.LAYER_NAMES:
        raise InputError(f"--layer {layer!r} is not a layer; use one of {', '.join(settings.LAYER_NAMES)}.")
    layers = read_layers(layers_dir)
    current = layers[layer]
    incoming, frame = read_incoming(path, layer=layer, from_crs=from_crs)
    notes: list[str] = []
    incoming = _fill_sketch_fields(incoming, layers["districts"], notes)
    result = validate_layer(_merge(current, incoming, replace=replace), source=str(path), layer=layer)
    problems = _district_problems(result, layers["districts"], str(path), layer)
    other = {fid: name for name in settings.LAYER_NAMES if name != layer for fid in layers[name]["fid"]}
    problems += [
        f"{path}: layer {layer}, feature {fid}: fid {fid} is already used in layer {other[fid]}. Give it another fid."
        for fid in incoming["fid"].dropna()
        if fid in other
    ]
    if problems:
        raise InputError(problems)
    plan = ImportPlan(layer, Path(layers_dir) / f"{layer}.geojson", frame, result, notes=notes)
    _diff(plan, current, result)
    return plan


def _merge(current: gpd.GeoDataFrame, incoming: gpd.GeoDataFrame, *, replace: bool) -> gpd.GeoDataFrame:
    cols = [*settings.FEATURE_FIELDS, "geometry"]
    inc = gpd.GeoDataFrame(incoming.reindex(columns=cols), geometry="geometry", crs=LAYER_CRS)
    if replace:
        return inc
    cur = gpd.GeoDataFrame(current.reindex(columns=cols), geometry="geometry", crs=LAYER_CRS)
    kept = cur[~cur["fid"].isin(set(inc["fid"].dropna()))]
    return gpd.GeoDataFrame(pd.concat([kept, inc], ignore_index=True), geometry="geometry", crs=LAYER_CRS)


def _district_problems(gdf: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, source: str, layer: str) -> list[str]:
    projected = gdf.geometry.to_crs(AREA_CRS)
    bounds = dict(zip(districts["district"], districts.geometry.to_crs(AREA_CRS), strict=True))
    out = []
    for i, row in gdf.iterrows():
        district = bounds.get(row["district"])
        geom = projected.loc[i]
        if district is None or not geom.area:
            continue
        share = geom.intersection(district).area / geom.area * 100
        if share < settings.WITHIN_PARENT_PCT:
            out.append(
                f"{source}: layer {layer}, feature {row['fid']}: only {share:.1f} % of it lies inside district "
                f"{row['district']}. Redraw it inside the district, correct field district, or check the frame (--from-crs)."
            )
    return out


def _diff(plan: ImportPlan, current: gpd.GeoDataFrame, result: gpd.GeoDataFrame) -> None:
    before = current.set_index("fid")
    after = result.set_index("fid")
    area_before = before.geometry.to_crs(AREA_CRS).area / 1e4
    area_after = after.geometry.to_crs(AREA_CRS).area / 1e4
    for fid in after.index:
        if fid not in before.index:
            plan.added.append(fid)
            continue
        fields = [f for f in settings.FEATURE_FIELDS if f != "fid" and before.at[fid, f] != after.at[fid, f]]
        # same shape whatever the ring orientation or first vertex (a Shapefile reverses rings): within ~2 cm
        a, b = shapely.normalize(before.geometry[fid]), shapely.normalize(after.geometry[fid])
        moved = not shapely.equals_exact(a, b, tolerance=2e-7)
        if moved:
            fields.insert(0, "geometry")
        if fields:
            plan.changed.append((fid, float(area_before[fid]), float(area_after[fid]), fields))
        else:
            plan.unchanged += 1
    plan.removed = [fid for fid in before.index if fid not in after.index]


def _rounded(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.round(xy, DECIMALS))


def layer_geojson(gdf: gpd.GeoDataFrame, *, name: str) -> str:
    """Return a layer as the toolkit writes layer files: RFC 7946, one feature per line, 6 decimals."""
    lines = []
    for row in gdf.itertuples(index=False):
        props: dict[str, Any] = {f: getattr(row, f) for f in settings.FEATURE_FIELDS}
        geom = shapely.geometry.mapping(_rounded(row.geometry))
        feature = {"type": "Feature", "properties": props, "geometry": geom}
        lines.append(json.dumps(feature, ensure_ascii=False))
    return (
        '{"type": "FeatureCollection", "name": ' + json.dumps(name) + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"
    )


def apply_import(plan: ImportPlan) -> Path:
    """Write the layer file of a plan atomically."""
    write_text_atomic(plan.layer_path, layer_geojson(plan.result, name=plan.layer))
    return plan.layer_path
