"""What GDAL does not say about a GeoJSON file: a legacy ``crs`` member it misread, nesting too deep to parse.

Used by :mod:`gis.io.vector` to explain a file before or after GDAL reads it; plain loops over
the bytes, no recursion however deep the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyproj

#: Deeper JSON than this is not a layer (a FeatureCollection's coordinates are 6 levels deep);
#: the diagnosis of an unreadable file says so instead of parsing it (Python's parser recurses).
MAX_NESTING = 200


_JSON_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]')


def too_deep(data: bytes) -> tuple[int, int] | None:
    """Return the line and column where JSON text nests deeper than :data:`MAX_NESTING`, or None.

    A loop over the brackets outside strings: no recursion, however deep the file.
    """
    depth = 0
    for match in _JSON_TOKENS.finditer(data):
        token = match.group()[:1]
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_NESTING:
                start = match.start()
                line_start = data.rfind(b"\n", 0, start) + 1
                column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
                return data.count(b"\n", 0, start) + 1, column
        elif token in (b"]", b"}"):
            depth -= 1
    return None


#: A GeoJSON file up to this size is searched whole for a ``crs`` member written after its features.
_CRS_SEARCH_BYTES = 32 << 20


def geojson_crs_member(path: Path) -> Any:
    """Return the legacy ``crs`` member of a GeoJSON file, or None when it has none.

    RFC 7946 dropped the member, but desktop tools still write it, before the features
    (``"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}}``), and GDAL
    reads it. The start of the file is read; a file of up to 32 MB is parsed whole when the member
    is not before the features but the file holds the word.
    """
    with open(path, "rb") as f:
        head = f.read(1 << 16)
        text = head.decode("utf-8", errors="replace")
        features = text.find('"features"')
        match = re.search(r'"crs"\s*:\s*', text if features < 0 else text[:features])
        if match is not None:
            try:
                return json.JSONDecoder().raw_decode(text, match.end())[0]
            except ValueError:
                return None
        data = head + f.read(_CRS_SEARCH_BYTES)
    if b'"crs"' not in data or len(data) > _CRS_SEARCH_BYTES:
        return None
    try:
        doc = json.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except (ValueError, UnicodeDecodeError):
        return None
    return doc.get("crs") if isinstance(doc, dict) else None


def unknown_crs_member(path: Path, crs: Any) -> str | None:
    """Return what a GeoJSON's ``crs`` member names when GDAL did not understand it, else None.

    GDAL reads a member it does not know (a name such as ``CGCS2000_3_Degree_GK_CM_114E``, a
    link) as EPSG:4326 without a word; a member naming EPSG:4326 or OGC's CRS84 is understood.
    """
    if Path(path).suffix.lower() not in (".geojson", ".json") or crs is None:
        return None
    if not pyproj.CRS.from_user_input(crs).equals("EPSG:4326"):
        return None  # GDAL took its CRS from the member
    member = geojson_crs_member(Path(path))
    if member is None:
        return None
    props = member.get("properties") if isinstance(member, dict) else None
    props = props if isinstance(props, dict) else {}
    if isinstance(member, dict) and str(member.get("type", "")).upper() == "EPSG" and "code" in props:
        name = f"EPSG:{props['code']}"
    else:
        name = str(props.get("name") or props.get("href") or json.dumps(member, ensure_ascii=False))
    try:
        if pyproj.CRS.from_user_input(name).equals("EPSG:4326", ignore_axis_order=True):
            return None
    except pyproj.exceptions.CRSError:
        pass
    return name
