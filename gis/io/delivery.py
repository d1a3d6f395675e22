"""Reading an analyst's delivery (三调 DLTB, 控规 plots, 用地用海 parcels, control lines) as it comes, into EPSG:4547.

Formats: GeoPackage (its only spatial layer, or the one named), Shapefile, FileGDB folder (GDAL's
OpenFileGDB), GeoJSON, GeoParquet. A Shapefile without ``.cpg`` has its text encoding detected from
its ``.dbf`` (UTF-8, else GBK read as GB18030) and said. The frame is the one the file declares,
checked against its coordinates; a file that declares none has it detected from the coordinates
(3-degree Gauss-Kruger CM 114E with or without the zone prefix 38, or lon/lat) and said; anything
else is refused with the ``--from-crs`` that would fix it. Nothing here knows the land-use model.
"""

from __future__ import annotations

import json
import logging
import mmap
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS, Transformer

from gis import settings
from gis.crs import AREA_CRS, LAYER_CRS, geometry_wgs84_from_gcj02
from gis.errors import InputError, InputFileError
from gis.io.frames import _declared_frame, parse_frame
from gis.parallel import map_chunks, transform_geometries
from gis.progress import stage

log = logging.getLogger(__name__)

#: Suffix -> format name, for the messages.
FORMATS: dict[str, str] = {
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".gdb": "FileGDB",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
}
#: EPSG:4526 (CGCS2000 / 3-degree Gauss-Kruger zone 38) is EPSG:4547 with the zone number 38 prefixed.
ZONE_38_PREFIX = 38_000_000.0
#: Degrees a declared frame's coordinates may lie outside :data:`gis.settings.LONLAT_BOUNDS` (parcels beyond
#: the three districts are left out later, not refused here).
MARGIN_DEG = 0.3
#: Bytes of a ``.dbf``'s records decoded to tell its encoding.
SAMPLE_BYTES = 4_000_000


@dataclass
class Delivery:
    """A delivery as read: its fields as they are, its geometries in EPSG:4547."""

    path: Path
    gdf: gpd.GeoDataFrame
    format: str
    frame: str  # the frame it was read in: EPSG:N or GCJ-02
    source_layer: str | None = None
    encoding: str | None = None  # the text encoding used (a Shapefile's), None when the format fixes it
    fields: list[str] = field(default_factory=list)  # every field of the file, read or not
    notes: list[str] = field(default_factory=list)


def dbf_encoding(dbf: Path) -> str | None:
    """Return the encoding a ``.dbf``'s text decodes in: ``UTF-8``, else ``GB18030`` (GBK); None when it is ASCII.

    The field names and :data:`SAMPLE_BYTES` of records from the first byte that is not ASCII are
    decoded (a few milliseconds, however large the file).

    Raises
    ------
    InputError
        The text is neither (another code page): ``--encoding`` must say.
    """
    with dbf.open("rb") as f:
        head = f.read(32)
        header = int.from_bytes(head[8:10], "little") if len(head) >= 32 else len(head)
        names = b"".join(n[:11] for n in _chunks(f.read(max(header - 32, 0)), 32))  # names, not their lengths
        try:
            body = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            body = mmap.mmap(-1, 1)
    with body:
        first = re.compile(rb"[\x80-\xff]").search(body, header)
        sample = names + (body[first.start() : first.start() + SAMPLE_BYTES] if first else b"")
    if sample.isascii():
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            sample.decode(encoding)
        except UnicodeDecodeError as exc:
            if not (
                exc.start >= len(sample) - 4
                and exc.reason in ("unexpected end of data", "incomplete multibyte sequence")
            ):
                continue  # a character cut at the end of the sample is no evidence
        return "UTF-8" if encoding == "utf-8" else "GB18030"
    raise InputError(
        f"{dbf}: its text is neither UTF-8 nor GBK and there is no .cpg file to say what it is. "
        "Pass {p:encoding} with the encoding (e.g. big5), or add a .cpg file."
    )


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size) if data[i : i + 1] != b"\r"]


def _source_layer(path: Path, kind: str, source_layer: str | None, purpose: str = "import") -> str | None:
    """Return the layer to read from a GeoPackage or FileGDB: the one named, or its only spatial layer."""
    if kind not in ("GeoPackage", "FileGDB"):
        if source_layer is not None:
            raise InputError(f"{path}: a {kind} holds one layer; {{p:source_layer}} is for GeoPackage and FileGDB.")
        return None
    try:
        names = [str(n) for n, geom in pyogrio.list_layers(path) if geom]
    except Exception as exc:
        raise InputFileError(f"{path}: cannot be opened as a {kind} ({exc}). Check that it is complete.") from exc
    if source_layer is not None:
        if source_layer not in names:
            raise InputError(
                f"{path}: has no spatial layer {source_layer!r} (its layers: {', '.join(names) or 'none'}). "
                "Pass {p:source_layer} with one of them."
            )
        return source_layer
    if len(names) != 1:
        raise InputError(
            f"{path}: holds {len(names)} spatial layers ({', '.join(names) or 'none'}). "
            f"Pass {{p:source_layer}} NAME with the one to {purpose}."
        )
    return names[0]


def field_names(path: Path, kind: str, layer: str | None, encoding: str | None) -> tuple[list[str], str | None]:
    """Return a delivery's field names and, for GeoParquet, its geometry column (read from the header only)."""
    try:
        if kind == "GeoParquet":
            schema = pq.read_schema(path)
            geo = json.loads((schema.metadata or {}).get(b"geo", b"{}"))
            column = geo.get("primary_column", "geometry")
            return [n for n in schema.names if n != column], column
        return [str(f) for f in pyogrio.read_info(path, layer=layer, encoding=encoding)["fields"]], None
    except LookupError as exc:
        raise InputError(
            f"{{p:encoding}} {encoding!r} is not an encoding GDAL knows; use gbk, gb18030 or utf-8."
        ) from exc
    except Exception as exc:  # pyogrio, GDAL and pyarrow raise several types for unreadable files
        raise _unreadable(path, kind, exc) from exc


def _unreadable(path: Path, kind: str, exc: Exception) -> InputFileError:
    return InputFileError(
        f"{path}: cannot be read as a {kind} ({type(exc).__name__}: {exc}). "
        "Check that the delivery is complete (a Shapefile needs its .shp, .shx and .dbf)."
    )


def _read(
    path: Path, kind: str, layer: str | None, encoding: str | None, columns: list[str], geometry: str | None
) -> gpd.GeoDataFrame:
    """Read the ``columns`` and the geometries (WKB parsed in a thread per core); Arrow batches counted as read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if kind == "GeoParquet":
                gdf = gpd.read_parquet(path, columns=[*columns, geometry or "geometry"])
                return gdf.rename_geometry("geometry") if gdf.geometry.name != "geometry" else gdf
            # pyogrio.read_arrow batch by batch, each counted (shown past 10,000 features read)
            with pyogrio.open_arrow(path, layer=layer, encoding=encoding, columns=columns, use_pyarrow=True) as source:
                meta, reader = source
                batches = []
                with stage("reading delivery") as reading:
                    for batch in reader:
                        batches.append(batch)
                        reading.advance(len(batch))
                table = pa.Table.from_batches(batches, schema=reader.schema)
            geom_col = meta.get("geometry_name") or "wkb_geometry"
            wkb = table.column(geom_col).to_numpy(zero_copy_only=False)
            fields = table.drop_columns([geom_col]).to_pandas()
    except Exception as exc:  # pyogrio, GDAL and pyarrow raise several types for unreadable files
        raise _unreadable(path, kind, exc) from exc
    geoms = map_chunks(lambda chunk: shapely.from_wkb(chunk, on_invalid="fix"), np.asarray(wkb, dtype=object))
    return gpd.GeoDataFrame(fields, geometry=geoms, crs=meta.get("crs"))


def coordinate_bounds(geoms: np.ndarray) -> tuple[float, float, float, float] | None:
    """Return the bounds of all geometries (missing and empty ones aside), None when there are none."""
    b = shapely.bounds(geoms)
    ok = np.isfinite(b).all(axis=1)
    if not ok.any():
        return None
    b = b[ok]
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def frame_of_coordinates(bounds: tuple[float, float, float, float]) -> tuple[str, str] | None:
    """Return the frame coordinates of Shenzhen are in, by their size, and why; None when they fit none.

    Examples
    --------
    >>> frame_of_coordinates((38_520_000, 2_505_000, 38_540_000, 2_525_000))[0]
    'EPSG:4526'
    >>> frame_of_coordinates((520_000, 2_505_000, 540_000, 2_525_000))[0]
    'EPSG:4547'
    >>> frame_of_coordinates((114.1, 22.6, 114.3, 22.8))[0], frame_of_coordinates((0, 0, 5000, 5000))
    ('EPSG:4326', None)
    """
    minx, miny, maxx, maxy = bounds
    northings = miny >= 2_400_000 and maxy <= 2_600_000
    if northings and minx >= 38_300_000 and maxx <= 38_700_000:
        return "EPSG:4526", (
            "its eastings are 38,xxx,xxx: CGCS2000 3-degree Gauss-Kruger zone 38 (CM 114E) with the zone number prefixed"
        )
    if northings and minx >= 300_000 and maxx <= 700_000:
        return "EPSG:4547", (
            "its eastings are 300,000-700,000 and northings 2,400,000-2,600,000: "
            "CGCS2000 3-degree Gauss-Kruger CM 114E without the zone prefix"
        )
    lon0, lat0, lon1, lat1 = settings.LONLAT_BOUNDS
    if lon0 <= minx and maxx <= lon1 and lat0 <= miny and maxy <= lat1:
        return "EPSG:4326", (
            "its coordinates are longitude/latitude in Shenzhen: read as EPSG:4326 (WGS84; CGCS2000 geographic "
            "differs by centimetres). Amap (高德) data is GCJ-02: pass {p:from_crs} gcj02 for it"
        )
    return None


def _plausible(frame: str, bounds: tuple[float, float, float, float]) -> bool:
    """Tell whether coordinates in ``frame`` lie in or near Shenzhen."""
    minx, miny, maxx, maxy = bounds
    if frame == "GCJ-02":
        lonlat = np.array([[minx, miny], [maxx, maxy]])
    else:
        try:
            to_lonlat = Transformer.from_crs(CRS.from_user_input(frame), LAYER_CRS, always_xy=True)
        except Exception as exc:
            raise InputError(f"the frame {frame} is not one PROJ knows ({exc}). Check {{p:from_crs}}.") from exc
        xs, ys = np.array([minx, maxx, minx, maxx]), np.array([miny, miny, maxy, maxy])
        with np.errstate(invalid="ignore", over="ignore"):
            lonlat = np.column_stack(to_lonlat.transform(xs, ys))
    lon0, lat0, lon1, lat1 = settings.LONLAT_BOUNDS
    return bool(
        np.isfinite(lonlat).all()
        and (lonlat[:, 0] >= lon0 - MARGIN_DEG).all()
        and (lonlat[:, 0] <= lon1 + MARGIN_DEG).all()
        and (lonlat[:, 1] >= lat0 - MARGIN_DEG).all()
        and (lonlat[:, 1] <= lat1 + MARGIN_DEG).all()
    )


def _fix_for(bounds: tuple[float, float, float, float]) -> str:
    """Say how to name the frame of coordinates: the one they look like, or the ones usual in Shenzhen."""
    guess = frame_of_coordinates(bounds)
    if guess is not None:
        return f"They look like {guess[0]} ({guess[1].split('. ')[0]}): pass {{p:from_crs}} {guess[0]}"
    return (
        "Pass {p:from_crs} with the frame they are in: EPSG:4526 (eastings 38,xxx,xxx), EPSG:4547 "
        "(eastings 300,000-700,000), wgs84 or gcj02 (lon/lat)"
    )


def choose_frame(
    path: Path, declared: str | None, said: bool, bounds: tuple[float, float, float, float], from_crs: str | None
) -> tuple[str, str]:
    """Return the frame to read a delivery in and the note that says why; refuse what cannot be told."""
    shown = ", ".join(f"{v:,.6g}" for v in bounds)
    if from_crs:
        frame = parse_frame(from_crs)
        if not _plausible(frame, bounds):
            raise InputError(
                f"{path}: its coordinates (bounds {shown}) are not in Shenzhen when read in {frame} ({{p:from_crs}}). "
                f"{_fix_for(bounds)}."
            )
        also = f"; the file declares {declared}" if said and declared and declared != frame else ""
        return frame, f"frame {frame}, as {{p:from_crs}} says{also}"
    if said and declared:
        if not _plausible(declared, bounds):
            raise InputError(
                f"{path}: declares its frame as {declared}, but its coordinates (bounds {shown}) are not in "
                f"Shenzhen in that frame. {_fix_for(bounds)}, or fix the file's .prj/CRS."
            )
        return declared, f"frame {declared}, as the file declares"
    guess = frame_of_coordinates(bounds)
    if guess is None:
        raise InputError(
            f"{path}: declares no frame, and its coordinates (bounds {shown}) fit none of the usual ones "
            "(eastings 38,xxx,xxx or 300,000-700,000 with northings 2,400,000-2,600,000, or lon/lat in Shenzhen). "
            f"{_fix_for(bounds)}."
        )
    return guess[0], f"frame {guess[0]} detected, as the file declares none: {guess[1]}"


def to_area_crs(geoms: np.ndarray, frame: str) -> np.ndarray:
    """Return geometries moved from ``frame`` (EPSG:N or GCJ-02) to EPSG:4547."""
    if frame == "EPSG:4526":  # the same projection with the zone number prefixed: a shift, exact
        return map_chunks(lambda chunk: shapely.transform(chunk, lambda xy: xy - (ZONE_38_PREFIX, 0.0)), geoms)
    if frame == "GCJ-02":
        geoms, frame = geometry_wgs84_from_gcj02(geoms), LAYER_CRS
    with np.errstate(invalid="ignore", over="ignore"):
        return transform_geometries(geoms, frame, AREA_CRS)


def read_delivery(
    path: Path,
    *,
    source_layer: str | None = None,
    encoding: str | None = None,
    from_crs: str | None = None,
    select: Callable[[list[str]], Sequence[str]] | None = None,
    purpose: str = "import",
    empty: str | None = None,
) -> Delivery:
    """Read a delivery into EPSG:4547 with its fields as they are; the notes say the encoding and frame used.

    Parameters
    ----------
    select
        Given the file's field names, returns those to read (a delivery may hold many more than the
        import keeps); default: all of them.
    purpose
        What the file is read for, in the messages ("import", "review").
    empty
        The message (after the path) when the file holds no feature; default: GDAL's reading of it.
    """
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"{path}: is no delivery format the import reads; use a GeoPackage, Shapefile (.shp), FileGDB "
            "folder (.gdb), GeoJSON or GeoParquet."
        )
    if not path.exists() or (kind == "FileGDB") != path.is_dir():
        what = "FileGDB folder" if kind == "FileGDB" else "file"
        raise InputFileError(f"{path}: no such {what} to import. Check the path.")
    notes: list[str] = []
    layer = _source_layer(path, kind, source_layer, purpose)
    used: str | None = None
    if kind == "Shapefile":
        if encoding is not None:
            used = encoding
            notes.append(f"text read as {encoding}, as {{p:encoding}} says")
        elif path.with_suffix(".cpg").is_file():
            used = path.with_suffix(".cpg").read_text(encoding="ascii", errors="replace").strip() or None
        elif path.with_suffix(".dbf").is_file():
            used = dbf_encoding(path.with_suffix(".dbf"))
            if used is not None:
                named = "UTF-8" if used == "UTF-8" else "GBK (read as GB18030)"
                notes.append(
                    f"encoding {named}, detected: the Shapefile has no .cpg and its text decodes as {named.split()[0]}; "
                    "pass {p:encoding} if the names look wrong"
                )
    elif encoding is not None:
        notes.append(f"{{p:encoding}} {encoding} ignored: a {kind}'s text is UTF-8 by definition")
    text_encoding = used if kind == "Shapefile" else None
    fields, geometry = field_names(path, kind, layer, text_encoding)
    columns = list(select(fields)) if select is not None else fields
    log.info("%s: reading the %s (fields %s)", path, kind, ", ".join(columns))
    gdf = _read(path, kind, layer, text_encoding, columns, geometry)
    geoms = gdf.geometry.to_numpy()
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    declared, said = _declared_frame(path, gdf) if kind == "GeoJSON" else (_epsg(gdf.crs), gdf.crs is not None)
    bounds = coordinate_bounds(geoms)
    if empty is not None and not len(gdf):
        raise InputError(f"{path}: {empty}")
    if bounds is None:
        raise InputError(f"{path}: has no geometry in any of its {len(gdf)} features. Export it with its polygons.")
    frame, why = choose_frame(path, declared, said, bounds, from_crs)
    notes.append(why)
    log.info("%s: %d features read; moving them from %s to %s", path, len(gdf), frame, AREA_CRS)
    out = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=to_area_crs(geoms, frame), crs=AREA_CRS)
    return Delivery(path, out, kind, frame, source_layer=layer, encoding=used, fields=fields, notes=notes)


def _epsg(crs: CRS | None) -> str | None:
    if crs is None:
        return None
    code = crs.to_epsg(min_confidence=70)
    return f"EPSG:{code}" if code else crs.to_string()
