"""The coordinate frame of a file brought in: the names ``--from-crs`` takes, and what the file itself declares."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd

from gis.errors import InputError, InputFileError

log = logging.getLogger(__name__)


#: Names accepted by ``--from-crs``; anything else must be ``EPSG:N``.
FRAMES: dict[str, str] = {"wgs84": "EPSG:4326", "gcj02": "GCJ-02", "cgcs2000": "EPSG:4490"}


_FRAME_WORDS = {"WGS-84": "EPSG:4326", "WGS84": "EPSG:4326", "GCJ-02": "GCJ-02", "GCJ02": "GCJ-02"}


def parse_frame(text: str) -> str:
    """Return ``EPSG:N`` or ``GCJ-02`` for a ``--from-crs`` value."""
    key = text.strip().lower().replace("-", "").replace("_", "")
    if key in FRAMES:
        return FRAMES[key]
    if key.startswith("epsg:") and key[5:].isdigit():
        return f"EPSG:{key[5:]}"
    raise InputError(
        f"{{p:from_crs}} {text!r} is not understood; use wgs84, gcj02, cgcs2000 or EPSG:N (e.g. EPSG:4547)."
    )


def _declared_frame(path: Path, gdf: gpd.GeoDataFrame) -> tuple[str | None, bool]:
    """Return the frame a file declares and whether it says so itself.

    A GeoJSON ``frame`` member (the web map's export) is a declaration, and so is a legacy ``crs``
    member naming any CRS but lon/lat WGS-84 (e.g. EPSG:4547, as desktop tools write it; GDAL reads
    it). A GeoJSON with neither, or with a ``crs`` member naming WGS-84 lon/lat, is lon/lat by
    default only (Amap data is often GCJ-02 behind that default). A GeoPackage's or a Shapefile's
    CRS is a declaration. None: no frame, or a ``crs`` member GDAL does not know.
    """
    crs_text = None if gdf.crs is None else (f"EPSG:{gdf.crs.to_epsg()}" if gdf.crs.to_epsg() else gdf.crs.to_string())
    if path.suffix.lower() not in (".geojson", ".json"):
        return crs_text, crs_text is not None
    try:  # the members that matter are ASCII: text in another encoding (--encoding gbk) may stay garbled here
        doc = json.loads(path.read_bytes().decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}: is not readable JSON ({exc}); cannot tell its frame. Export it again.") from exc
    lonlat = gdf.crs is None or gdf.crs.equals("EPSG:4326", ignore_axis_order=True)
    if isinstance(doc, dict) and "frame" in doc:
        word = str(doc["frame"]).strip().upper()
        if word not in _FRAME_WORDS:
            raise InputError(
                f"{path}: declares the frame {doc['frame']!r}, which the toolkit does not convert "
                f"(known: {', '.join(sorted(set(_FRAME_WORDS)))}). Convert the file to WGS-84 first."
            )
        if not lonlat:
            raise InputError(
                f"{path}: declares the frame {doc['frame']!r} and, in its crs member, {crs_text}. "
                "Remove the one that is wrong."
            )
        return _FRAME_WORDS[word], True
    if crs_text is None:
        return None, False
    return ("EPSG:4326", False) if lonlat else (crs_text, True)
