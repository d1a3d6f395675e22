"""Tile servers' URLs: an XYZ template checked, a WMTS GetTile template built from its KVP URL.

A template is what Leaflet's ``L.tileLayer`` reads: ``{z}``, ``{x}``, ``{y}`` (``{-y}``: rows from
the south, TMS), ``{s}`` a subdomain, ``{r}`` ``@2x`` on high-resolution screens. Every fault is
refused with what a right one looks like (:func:`fail`, an :class:`~gis.errors.InputError`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

from gis.errors import InputError

_PLACEHOLDERS = {"z", "x", "y", "-y", "s", "r"}
#: Tile matrix sets in degrees (EPSG:4326, CGCS2000 4490, Tianditu's ``c``): not Web Mercator.
_GEOGRAPHIC_SETS = {"c", "epsg:4326", "epsg:4490", "crs84", "wgs84", "worldcrs84quad", "globalcrs84scale"}


def host_name(host: str) -> str:
    """Return a template's host as a name: the label holding ``{s}`` dropped (``t{s}.tianditu.gov.cn`` -> ``tianditu.gov.cn``).

    Examples
    --------
    >>> host_name("{s}.cache.lg.gov"), host_name("t{s}.tianditu.gov.cn"), host_name("tiles.lg.gov")
    ('cache.lg.gov', 'tianditu.gov.cn', 'tiles.lg.gov')
    """
    return re.sub(r"^[^.]*\{s\}[^.]*\.", "", host).replace("{s}", "")


def fail(spec: str, problem: str) -> InputError:
    """Return the error of a basemap given as ``spec``."""
    return InputError(f"{{p:basemap}} {spec!r}: {problem}")


def _placeholders(url: str) -> set[str]:
    return set(re.findall(r"\{([^{}]*)\}", url))


def subdomains_of(spec: str, host: str, url: str, given: str | None) -> str:
    """Return what ``{s}`` takes in turn: ``given``, else ``01234567`` on tianditu.gov.cn, else ``abc``; none without ``{s}``."""
    if "{s}" not in url:
        if given:
            raise fail(spec, f"{{p:basemap_subdomains}} {given!r} given, but the URL has no {{s}} to put them in.")
        return ""
    if given:
        return given
    return "01234567" if host.endswith("tianditu.gov.cn") else "abc"


def xyz_template(spec: str, url: str) -> tuple[str, str]:
    """Check an XYZ template and return it with its host; a clear message for each fault.

    Examples
    --------
    >>> xyz_template("t", "https://tiles.lg.gov:8443/base/{z}/{x}/{-y}.png")
    ('https://tiles.lg.gov:8443/base/{z}/{x}/{-y}.png', 'tiles.lg.gov')
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise fail(
            spec,
            "not a basemap name (none, osm, tianditu, amap) nor an http(s):// URL: give an XYZ template "
            "(https://HOST/{z}/{x}/{y}.png), wmts:URL?layer=NAME, mbtiles:FILE or dir:FOLDER.",
        )
    found = _placeholders(url)
    missing = [p for p in ("{z}", "{x}") if p[1:-1] not in found]
    if "y" not in found and "-y" not in found:
        missing.append("{y} (or {-y} for rows from the south)")
    if missing:
        raise fail(spec, f"the URL lacks {', '.join(missing)}: an XYZ template is https://HOST/{{z}}/{{x}}/{{y}}.png.")
    unknown = sorted(found - _PLACEHOLDERS)
    if unknown:
        raise fail(
            spec,
            f"unknown placeholder {', '.join('{' + u + '}' for u in unknown)}: a template knows {{z}}, {{x}}, {{y}}, "
            "{-y}, {s} and {r}; put any other value (a key, a layer) into the URL as it is.",
        )
    return url, host_name(parts.hostname or parts.netloc)


def wmts_template(spec: str, url: str, *, tianditu_key: str | None = None) -> tuple[str, str]:
    """Return the GetTile template of a WMTS given in KVP form (``wmts:URL?layer=...``) and a name for it.

    The URL's query gives ``layer`` (needed, but read from Tianditu's path), and may give ``style``,
    ``tilematrixset``, ``tilematrix`` (a template of the matrix's name, ``{z}`` the zoom) and
    ``format``, in any case; other keys (``tk=KEY``) pass through. The tile matrix set must be Web
    Mercator with matrix z at zoom z (GoogleMapsCompatible, EPSG:3857, GeoServer's EPSG:900913).
    Defaults, by server:

    - Tianditu (a path ``/vec_w/wmts``, on tianditu.gov.cn or an intranet node): layer ``vec`` from
      the path, set ``w``, matrix ``{z}``, style ``default``, format ``tiles``; ``tk`` from
      ``tianditu_key`` when the URL has none (needed on tianditu.gov.cn);
    - GeoServer (a path ``/gwc/service/wmts``): set ``EPSG:900913``, matrix ``EPSG:900913:{z}``
      (GeoWebCache names a matrix by its set), style empty, format ``image/png``;
    - any other: set ``GoogleMapsCompatible``, matrix ``{z}``, style ``default``, format ``image/png``.

    Examples
    --------
    >>> wmts_template("s", "http://gs.lg.gov/geoserver/gwc/service/wmts?layer=lg:base")[0]
    'http://gs.lg.gov/geoserver/gwc/service/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=lg:base&STYLE=&TILEMATRIXSET=EPSG:900913&TILEMATRIX=EPSG:900913:{z}&TILEROW={y}&TILECOL={x}&FORMAT=image%2Fpng'
    """
    parts = urlsplit(url)
    xyz_template(spec, parts._replace(query="z={z}&x={x}&y={y}").geturl())  # scheme and host
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k.lower(): v for k, v in query if k.lower() in ("layer", "style", "tilematrixset", "tilematrix", "format")}
    dropped = ("service", "request", "version", "tilerow", "tilecol", "layer", "style", "tilematrixset", "tilematrix")
    rest = [(k, v) for k, v in query if k.lower() not in (*dropped, "format")]
    host = host_name(parts.hostname or "")
    tianditu = re.search(r"/(\w+)_(\w)/wmts$", parts.path)
    if tianditu:
        defaults = {"layer": tianditu[1], "tilematrixset": tianditu[2], "style": "default", "format": "tiles"}
        if host.endswith("tianditu.gov.cn") and not any(k.lower() == "tk" for k, _ in rest):
            if not tianditu_key:
                raise fail(spec, "Tianditu needs a key: put tk=KEY in the URL, or pass {p:tianditu_key}.")
            rest.append(("tk", tianditu_key))
    elif "/gwc/service/wmts" in parts.path.lower():
        defaults = {"tilematrixset": "EPSG:900913", "style": "", "format": "image/png"}
    else:
        defaults = {"tilematrixset": "GoogleMapsCompatible", "style": "default", "format": "image/png"}
    values = defaults | ours
    if not values.get("layer"):
        raise fail(spec, "the WMTS layer is missing: wmts:URL?layer=NAME (as the server's GetCapabilities names it).")
    matrix_set = values["tilematrixset"]
    if matrix_set.lower() in _GEOGRAPHIC_SETS:
        raise fail(
            spec,
            f"the tile matrix set {matrix_set!r} is in degrees; the map needs Web Mercator tiles "
            "(tilematrixset=GoogleMapsCompatible, EPSG:3857, EPSG:900913; Tianditu's _w services, e.g. vec_w).",
        )
    geoserver = "/gwc/service/wmts" in parts.path.lower()
    matrix = values.get("tilematrix") or (f"{matrix_set}:{{z}}" if geoserver else "{z}")
    if "{z}" not in matrix:
        raise fail(spec, f"tilematrix={matrix!r} lacks {{z}}, the zoom: e.g. tilematrix={{z}} or EPSG:900913:{{z}}.")

    def q(text: str) -> str:
        return quote(text, safe=":")

    kvp = [
        "SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0",
        f"LAYER={q(values['layer'])}",
        f"STYLE={q(values['style'])}",
        f"TILEMATRIXSET={q(matrix_set)}",
        "TILEMATRIX=" + "{z}".join(q(p) for p in matrix.split("{z}")),
        "TILEROW={y}&TILECOL={x}",
        f"FORMAT={q(values['format'])}",
        *(f"{q(k)}={q(v)}" for k, v in rest),
    ]
    template = parts._replace(query="&".join(kvp), fragment="").geturl()
    return template, f"{values['layer']} · {host}"
