"""Reading a file to import: any format the readers take, its frame, its field names back to the data model's.

The incoming file (GeoPackage, GeoJSON or Shapefile) is read in its declared frame (or the one
``from_crs`` names: WGS-84, GCJ-02 as Amap and the web map's Amap view use, CGCS2000, or an EPSG
code) and moved to WGS-84; Shapefile field names cut to 10 characters are mapped back.
:mod:`gis.importer` checks and compares what this returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from gis import settings
from gis.crs import LAYER_CRS, geometry_wgs84_from_gcj02
from gis.errors import InputError, InputFileError
from gis.io.frames import _declared_frame, parse_frame
from gis.io.vector import read_vector
from gis.settings import COMPUTED_FIELDS, SHAPEFILE_MEMBERS, SHAPEFILE_NAMES

#: Columns the reader and the import add for :func:`gis.read.check_layer`, carried to the check.
PRIVATE_COLUMNS = ("_geometry_note", "_feature_no", "_district_awaits_geometry")


def field_names_back(path: Path, columns: list[str], known: Sequence[str] | None = None) -> dict[str, str]:
    """Map cut field names (Shapefile: 10 characters, by QGIS, ArcGIS or the toolkit) back to the data model's.

    ``known``: the full names a cut name may stand for (default: the data model's fields and ``feature_id``).
    """
    mapping: dict[str, str] = {}
    fieldmap = path.with_suffix("").with_name(path.stem + ".fields.csv")
    if fieldmap.is_file():
        table = pd.read_csv(fieldmap, dtype=str, encoding="utf-8-sig")
        mapping.update(dict(zip(table["shapefile_field"], table["field"], strict=True)))
    mapping.update({v: k for k, v in SHAPEFILE_NAMES.items()})
    known = list(known) if known is not None else [*settings.FEATURE_FIELDS, "feature_id"]
    for col in columns:
        if col in known or col in mapping or len(col) != 10:
            continue
        matches = [f for f in known if f.startswith(col)]
        if len(matches) == 1:
            mapping[col] = matches[0]
    return {k: v for k, v in mapping.items() if k in columns and k != v}


def review_fields(columns: Iterable[object]) -> list[str]:
    """Return the columns holding the web map's review figures (``review_*``, and ``reviewed``, its time)."""
    return [str(c) for c in columns if str(c).startswith(settings.REVIEW_PREFIX) or str(c) == "reviewed"]


def proposed_layer(text: str) -> str:
    """Return the layer a ``proposed_as`` text names (``parks.extent`` -> parks, ``landuse:industrial`` -> landuse)."""
    return text.strip().split(":", 1)[0].split(".", 1)[0]


def _proposed_as(path: Path, gdf: gpd.GeoDataFrame, layer: str, notes: list[str]) -> gpd.GeoDataFrame:
    """Check a sketch's ``proposed_as`` against the layer it is imported into; take its part where it has none.

    A sketch proposed as another layer (or a land class, a control line) is refused: imported
    into this layer it would be counted as what it was not proposed as.
    """
    texts = [t.strip() if isinstance(t, str) else "" for t in gdf["proposed_as"]]
    names = gdf["fid"] if "fid" in gdf.columns else gdf["_feature_no"]
    problems = []
    parts = gdf["part"].copy() if "part" in gdf.columns else pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    taken = 0
    for (i, text), fid in zip(zip(gdf.index, texts, strict=True), names, strict=True):
        if not text:
            continue
        named = proposed_layer(text)
        if named != layer:
            fix = (
                f"--layer {named}"
                if named in settings.LAYER_NAMES
                else "gis review for a land-use or control-line proposal"
            )
            problems.append(
                f"{path}: feature {fid}: proposed_as is {text!r}, not layer {layer}. Import it with {fix}, "
                "or clear proposed_as to import its outline into this layer."
            )
        elif "." in text and (not isinstance(parts[i], str) or not parts[i].strip()):
            parts[i] = text.split(".", 1)[1]
            taken += 1
    if problems:
        raise InputError(problems)
    if any(texts):
        said = f"; the part of {taken} feature(s) taken from it" if taken else ""
        notes.append(f"proposed_as ({layer}) is the layer imported into, not a field of it: not imported{said}")
    gdf = gdf.drop(columns="proposed_as")
    if taken:
        gdf["part"] = parts
    return gdf


def incoming_files(path: Path) -> list[Path]:
    """Return the files :func:`read_incoming` reads for ``path``: a Shapefile's set, else the file."""
    path = Path(path)
    if path.suffix.lower() == ".shp":
        return [Path(f"{path.with_suffix('')}{ext}") for ext in SHAPEFILE_MEMBERS]
    return [path]


def read_incoming(
    path: Path, *, layer: str, from_crs: str | None = None, encoding: str | None = None, notes: list[str] | None = None
) -> tuple[gpd.GeoDataFrame, str]:
    """Read an incoming file into WGS-84 with the data model's field names; return it and its frame."""
    path = Path(path)
    notes = notes if notes is not None else []
    if not path.is_file():
        raise InputFileError(f"{path}: no such file to import. Check the path.")
    suffix = path.suffix.lower()
    source_layer = None
    if suffix == ".gpkg":
        try:
            names = [str(n) for n, geom in pyogrio.list_layers(path) if geom]
        except Exception as exc:
            raise InputFileError(f"{path}: cannot be opened as a GeoPackage ({exc}).") from exc
        if layer in names:
            source_layer = layer
        elif len(names) == 1 and names[0] not in settings.LAYER_NAMES:
            source_layer = names[0]
        else:
            raise InputError(f"{path}: has no layer {layer!r}; its spatial layers are {', '.join(names) or 'none'}.")
    if suffix == ".shp" and encoding is None and not path.with_suffix(".cpg").is_file():
        raw = path.with_suffix(".dbf").read_bytes() if path.with_suffix(".dbf").is_file() else b""
        if any(b > 127 for b in raw[32:]):
            raise InputError(
                f"{path}: has no .cpg file to say how its text is encoded, and the text is not ASCII. "
                "Pass {p:encoding} (gbk for most Chinese desktop tools, or utf-8)."
            )
    # the reader of the layers: GBK, HTML, cut-off files and unclosed rings (per feature) explained alike
    gdf = read_vector(path, layer=layer, encoding=encoding, container_layer=source_layer)
    gdf["_feature_no"] = np.arange(1, len(gdf) + 1)  # names a feature without fid by its place in the file
    declared, said = _declared_frame(path, gdf)
    frame = parse_frame(from_crs) if from_crs else declared
    if from_crs and said and declared != frame:
        raise InputError(
            f"{path}: the file declares its frame as {declared}, but {{p:from_crs}} says {frame}. "
            "Drop {p:from_crs}, or fix the file's frame."
        )
    if frame is None:
        why = gdf.attrs.get("crs_note", "the file declares no coordinate frame")
        raise InputError(f"{path}: {why}. Pass {{p:from_crs}} (wgs84, gcj02, cgcs2000 or EPSG:N, e.g. EPSG:4547).")
    if frame == "GCJ-02":  # lon/lat in GCJ-02: move to WGS-84
        gdf = gdf.set_crs(LAYER_CRS, allow_override=True)
        gdf = gdf.set_geometry(geometry_wgs84_from_gcj02(gdf.geometry.to_numpy()), crs=LAYER_CRS)
    else:
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                gdf = gdf.set_crs(frame, allow_override=True).to_crs(LAYER_CRS)
        except Exception as exc:
            raise InputError(f"{path}: cannot use the frame {frame} ({exc}). Check {{p:from_crs}}.") from exc
    if "layer" in gdf.columns and suffix != ".gpkg":  # an export of all layers in one table
        other = gdf["layer"].notna() & (gdf["layer"] != layer)
        if other.any():
            notes.append(f"{int(other.sum())} feature(s) of other layers in the file skipped")
            gdf = gdf[~other]
    if "feature_id" in gdf.columns and "fid" in gdf.columns:  # QGIS saves the GeoPackage's row id as "fid"
        gdf = gdf.drop(columns="fid")
    gdf = gdf.rename(columns=field_names_back(path, list(gdf.columns))).rename(columns={"feature_id": "fid"})
    figures = review_fields(gdf.columns)
    if figures:
        notes.append(
            f"the web map's review figures ({', '.join(figures)}) ignored: not fields of a layer, and gis review computes them anew"
        )
        gdf = gdf.drop(columns=figures)
    if "proposed_as" in gdf.columns:
        gdf = _proposed_as(path, gdf, layer, notes)
    dropped = [
        c
        for c in gdf.columns
        if c not in (*settings.FEATURE_FIELDS, "geometry", "layer")
        and c not in COMPUTED_FIELDS
        and c not in PRIVATE_COLUMNS
    ]
    if dropped:
        notes.append(f"fields not in the data model, not imported: {', '.join(map(str, dropped))}")
    return gdf, frame
