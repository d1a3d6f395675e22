"""Reading vector files: GeoJSON, GeoPackage, Shapefile layers through GDAL, with encodings detected and bad files explained.

Nothing here knows the data model: :func:`read_vector` returns a layer's fields as they are and its
geometries in EPSG:4326, a geometry GEOS cannot parse as None with its reason in ``_geometry_note``;
:mod:`gis.validate` checks them.
"""

from __future__ import annotations

import json
import logging
import stat
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pyogrio.raw
import shapely

from gis import settings
from gis.crs import LAYER_CRS
from gis.errors import InputError, InputFileError
from gis.io.geojson import MAX_NESTING, too_deep, unknown_crs_member

log = logging.getLogger(__name__)


def not_a_file(path: Path) -> str | None:
    """Say what ``path`` is when it exists but is no regular file ("a folder", "a device", "a pipe"); else None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    return "a socket" if stat.S_ISSOCK(mode) else "something else"


def _require_file(path: Path, *, what: str) -> None:
    """Refuse a path that is missing, no regular file, empty or not readable, with a message that says which."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputFileError(
            f"{path}: no such file ({what}). Check the path, or pass {{p:layers_dir}}/{{p:targets_path}} to point at it."
        ) from None
    except PermissionError as exc:  # a folder on the way that may not be entered
        raise _no_permission(path, what) from exc
    kind = not_a_file(path)
    if kind is not None:
        raise InputFileError(f"{path}: is {kind}, not a regular file ({what}). Pass the path of the file itself.")
    if st.st_size == 0:
        raise InputFileError(
            f"{path}: the file is empty (0 bytes; {what}). Restore it (e.g. git checkout -- {path.name}) or export it again."
        )
    try:
        with path.open("rb"):
            pass
    except PermissionError as exc:
        raise _no_permission(path, what) from exc
    except OSError as exc:
        raise InputFileError(
            f"cannot read {path}: {exc.strerror or exc} ({what}). Check the file and the disk, and run again."
        ) from exc


def _no_permission(path: Path, what: str) -> InputFileError:
    return InputFileError(
        f"cannot read {path}: permission denied ({what}); give your user read permission on the file and its "
        f"folders (e.g. chmod a+r {path.name}), or ask its owner for a copy."
    )


def unknown_encoding(encoding: str | None) -> InputError:
    """Return the error for an ``--encoding`` Python does not know."""
    return InputError(f"{{p:encoding}} {encoding!r} is not an encoding Python knows; use gbk, gb18030 or utf-8.")


def _is_utf8(path: Path) -> bool:
    """Return whether a text file decodes as UTF-8."""
    try:
        path.read_bytes().decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _decodes_as_gbk(path: Path) -> str | None:
    """Return a sample of the file's first non-ASCII text when it reads as GBK (GB18030) but not as UTF-8."""
    raw = path.read_bytes()[:1_000_000]
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        start = exc.start
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return None
    where = len(raw[:start].decode("gb18030", errors="replace"))
    return text[where : where + 12]


def _unreadable(path: Path, what: str, exc: Exception) -> InputFileError:
    """Explain why a vector file cannot be read: HTML, cut-off JSON, not a GeoPackage, or GDAL's reason."""
    head = path.read_bytes()[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = path.suffix.lower()
    if head[:1] == b"<":
        return InputFileError(
            f"{path}: {what} is an HTML or XML page, not {'a GeoPackage' if suffix == '.gpkg' else 'GeoJSON'} "
            "(a web page or login page saved in place of the data?). Download or export the layer again."
        )
    if suffix == ".gpkg":
        if not head.startswith(b"SQLite format 3\x00"):
            return InputFileError(
                f"{path}: {what} is not a GeoPackage (it is no SQLite database: a renamed file?). Export it again."
            )
        reason = str(exc).split(";")[-1].strip()[:200]
        if "locked" in reason:
            return InputFileError(
                f"{path}: {what} is locked by another program writing to it ({reason}). "
                "Save or discard its edits there (e.g. QGIS: stop editing), then run the command again."
            )
        return InputFileError(
            f"{path}: {what} is a damaged GeoPackage ({reason}). Restore it from a backup or export it again."
        )
    if suffix in (".geojson", ".json"):
        data = path.read_bytes()
        deep = too_deep(data)
        if deep is not None:
            line, column = deep
            return InputFileError(
                f"{path}: {what} is nested too deeply to be a layer: more than {MAX_NESTING} levels of [ and {{ "
                f"at line {line}, column {column} (a layer's GeoJSON is about 6 levels deep; GDAL reads "
                "about 1000). A property holds deeply nested data, or the file is not a layer: remove that "
                "value, or export the layer again."
            )
        try:
            json.loads(data)
        except json.JSONDecodeError as jexc:
            cut = jexc.pos >= len(jexc.doc.rstrip()) - 1
            why = "the file ends in the middle of the data (cut off?)" if cut else "a JSON syntax error"
            return InputFileError(
                f"{path}: {what} is not complete JSON: {why} at line {jexc.lineno}, column {jexc.colno} "
                f"({jexc.msg}). {'Save or download it again.' if cut else 'Correct the file there, or export it again.'}"
            )
        except (UnicodeDecodeError, ValueError, RecursionError):
            pass
    return InputFileError(
        f"{path}: {what} cannot be read ({type(exc).__name__}: {exc}). "
        "Check that the file is complete, valid UTF-8 GeoJSON or a GeoPackage."
    )


def _ogr_read(
    path: Path, *, layer: str, container_layer: str | None, encoding: str | None
) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """Read a vector layer: its metadata, its fields and its geometries as WKB (not yet parsed).

    The Arrow reader is used (fast, no per-feature Python); a non-UTF-8 ``encoding`` needs
    pyogrio's classic reader.
    """
    what = f"layer {layer}"
    text_file = path.with_suffix(".dbf") if path.suffix.lower() == ".shp" else path  # a Shapefile's text is in its .dbf
    if encoding is not None and (path.suffix.lower() == ".gpkg" or _is_utf8(text_file)):
        encoding = None  # --encoding is for the files that need it; a GeoPackage's text is always UTF-8
    try:
        with warnings.catch_warnings():  # GDAL warns of unclosed rings; they are reported per feature
            warnings.simplefilter("ignore", RuntimeWarning)
            if encoding is None or encoding.lower().replace("-", "") in ("utf8", "utf8sig"):
                meta, table = pyogrio.read_arrow(path, layer=container_layer)
                geom_col = meta.get("geometry_name") or "wkb_geometry"
                if geom_col not in table.column_names:
                    raise InputError(f"{path}: {what} has no geometry. Save the layer with its polygons.")
                try:
                    table.validate(full=True)  # GDAL passes bytes through: text that is not UTF-8 fails here
                except pa.ArrowInvalid as exc:
                    raise UnicodeDecodeError("utf-8", b"", 0, 1, str(exc)) from exc
                wkb = table.column(geom_col).to_numpy(zero_copy_only=False)
                fields = table.drop_columns([geom_col]).to_pandas()
            else:
                meta, _fids, wkb, values = pyogrio.raw.read(path, layer=container_layer, encoding=encoding)
                if wkb is None:
                    raise InputError(f"{path}: {what} has no geometry. Save the layer with its polygons.")
                fields = pd.DataFrame(dict(zip(meta["fields"], values, strict=True)))
    except UnicodeDecodeError as exc:
        sample = _decodes_as_gbk(text_file)
        if sample is not None:
            raise InputFileError(
                f"{path}: {what}: the text is GBK-encoded, not UTF-8 (it reads as {sample!r} in GBK). "
                "Pass {p:encoding} gbk, or save the file as UTF-8."
            ) from exc
        raise InputFileError(
            f"{path}: {what}: the text is not UTF-8 ({exc.reason} at byte {exc.start}). "
            "Pass {p:encoding} with the file's encoding, or save it as UTF-8."
        ) from exc
    except LookupError as exc:
        raise unknown_encoding(encoding) from exc
    except InputError:
        raise
    except Exception as exc:  # pyogrio/GDAL raise several types for unreadable files
        raise _unreadable(path, what, exc) from exc
    return meta, fields, np.asarray(wkb, dtype=object)


def _parse_wkb(wkb: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """Parse WKB; a geometry GEOS refuses (an unclosed ring) becomes its repaired form, with a note."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        notes: list[str | None] = [None] * len(wkb)
        missing = shapely.is_missing(geoms)
        bad = np.flatnonzero(missing & ~pd.isna(wkb)) if missing.any() else np.array([], dtype=np.int64)
        if len(bad):
            fixed = shapely.from_wkb(wkb[bad], on_invalid="fix")
            for i, geom in zip(bad, fixed, strict=True):
                geoms[i] = None
                if geom is not None and not geom.is_empty:
                    x, y = shapely.get_coordinates(geom)[0]
                    notes[i] = f"a ring is not closed (its last point is not its first, near {x:.6f}, {y:.6f})"
                else:
                    notes[i] = "the geometry cannot be parsed"
    return geoms, notes


def read_vector(
    path: Path, *, layer: str, encoding: str | None = None, container_layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read one layer (a GeoJSON or Shapefile, or ``container_layer`` of a GeoPackage) as it is stored.

    The frame has the file's fields and its own CRS: None when it declares none, or when a GeoJSON's
    legacy ``crs`` member names a CRS GDAL does not know (``attrs["crs_note"]`` says so; GDAL
    would read it as EPSG:4326). File-level problems (missing, empty, HTML, cut off, wrong
    encoding) raise :class:`InputFileError`; feature-level ones are left to
    :func:`gis.validate.check_layer`: a geometry GEOS cannot parse is None with its reason in the
    ``_geometry_note`` column, heights are dropped and ``attrs["has_z"]`` keeps the features that had them.
    """
    _require_file(path, what=f"layer {layer}")
    meta, fields, wkb = _ogr_read(path, layer=layer, container_layer=container_layer, encoding=encoding)
    unknown = unknown_crs_member(path, meta.get("crs"))
    geoms, notes = _parse_wkb(wkb)
    gdf = gpd.GeoDataFrame(fields, geometry=geoms, crs=None if unknown else meta.get("crs"))
    if any(notes):
        gdf["_geometry_note"] = notes
    has_z = shapely.has_z(gdf.geometry.array)
    if has_z.any():  # heights (x, y, z) from CAD or GPS exports: areas are planar
        log.info("%s: layer %s has 3D coordinates; their heights are dropped", path, layer)
        gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.array), crs=gdf.crs)
    gdf.attrs["has_z"] = has_z
    if unknown:
        gdf.attrs["crs_note"] = f"its crs member names {unknown!r}, a CRS GDAL does not know"
    return gdf


def read_vector_lonlat(
    path: Path, *, layer: str, encoding: str | None = None, container_layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read one layer with :func:`read_vector` into EPSG:4326; a layer without a CRS is refused.

    The frame's ``attrs`` keep the source CRS and the features that had heights.
    """
    gdf = read_vector(path, layer=layer, encoding=encoding, container_layer=container_layer)
    has_z = gdf.attrs["has_z"]
    if gdf.crs is None:
        if "crs_note" in gdf.attrs:
            raise InputFileError(
                f"{path}: layer {layer}: {gdf.attrs['crs_note']}. Name it as GDAL reads it (e.g. "
                '"urn:ogc:def:crs:EPSG::4547" for CGCS2000 / 3-degree Gauss-Kruger CM 114E), '
                "or save the layer as RFC 7946 GeoJSON (EPSG:4326, lon/lat)."
            )
        raise InputError(
            f"{path}: layer {layer} has no CRS. Save it with one: RFC 7946 GeoJSON (EPSG:4326, lon/lat), "
            "or a GeoPackage layer with its CRS set."
        )
    source_crs = gdf.crs
    if not gdf.crs.equals(LAYER_CRS):
        log.info("%s: reprojecting layer %s from %s to %s", path, layer, gdf.crs.to_string(), LAYER_CRS)
        with np.errstate(invalid="ignore", over="ignore"):
            gdf = gdf.to_crs(LAYER_CRS)
    gdf.attrs["source_crs"] = source_crs.to_string()
    gdf.attrs["has_z"] = has_z
    return gdf


#: The GeoPackage field that holds the feature id (``fid`` is the GeoPackage's own integer row id).
GPKG_FID_FIELD = "feature_id"


def container_layers(path: Path) -> list[str]:
    """Return the layer names of a GeoPackage, explaining why it cannot be opened."""
    _require_file(path, what="GeoPackage of layers")
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise _unreadable(path, "the file", exc) from exc


def read_source_layer(
    source: Path, name: str, *, encoding: str | None = None, names: list[str] | None = None
) -> tuple[gpd.GeoDataFrame, str]:
    """Read one layer, unvalidated, from a folder of GeoJSON files or a GeoPackage; return it and its file.

    ``names`` are the GeoPackage's layers when already listed (:func:`container_layers` opens the file).
    """
    source = Path(source)
    if source.suffix.lower() == ".gpkg":
        names = container_layers(source) if names is None else names
        if name not in names:
            raise InputFileError(
                f"{source}: has no layer {name!r} (its layers: {', '.join(names) or 'none'}). "
                f"A GeoPackage of layers holds {', '.join((*settings.LAYER_NAMES, 'districts'))}, as gis export writes."
            )
        gdf = read_vector_lonlat(source, layer=name, encoding=encoding, container_layer=name)
        if GPKG_FID_FIELD in gdf.columns:
            gdf = gdf.drop(columns=[c for c in ("fid",) if c in gdf.columns]).rename(columns={GPKG_FID_FIELD: "fid"})
        return gdf, str(source)
    path = source / f"{name}.geojson"
    return read_vector_lonlat(path, layer=name, encoding=encoding), str(path)
