"""Basemaps of a web map: the named ones, any XYZ or WMTS tile server, local tiles embedded in the page.

A basemap is given as text (``gis map --basemap SPEC``, several allowed: the first is shown):

- ``none``, ``osm``, ``tianditu`` (needs a key), ``amap`` (GCJ-02);
- an XYZ template ``http(s)://HOST/.../{z}/{x}/{y}.png``: ``{-y}`` for rows counted from the south
  (TMS), ``{s}`` for a subdomain (``abc`` unless given; ``01234567`` on tianditu.gov.cn);
- ``wmts:URL?layer=NAME``: a WMTS in KVP form; the GetTile template is built from the URL's query
  (``layer``, ``style``, ``tilematrixset``, ``tilematrix``, ``format``; other keys such as ``tk``
  pass through) with defaults for Web Mercator by server (:func:`gis.render.tileurls.wmts_template`);
- ``mbtiles:FILE`` or ``dir:FOLDER``: local raster tiles, the ones covering the map embedded in the
  page (:mod:`gis.render.tiles`), so the map still needs no network.

Any but the named ones may start with its frame, ``wgs84:`` or ``gcj02:`` (``gcj02:https://...``):
with GCJ-02 tiles every overlay is moved to GCJ-02, as for Amap. One page has one overlay frame,
so basemaps of both frames in one page are refused.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gis.errors import InputError
from gis.render.tiles import Bounds, MBTiles, TileFolder, TileSource, choose_levels, embed, range_bounds
from gis.render.tileurls import fail, subdomains_of, wmts_template, xyz_template

#: The basemaps known by name.
NAMED: tuple[str, ...] = ("none", "osm", "tianditu", "amap")
#: Frame prefixes of a basemap, and the frame each names.
FRAMES: dict[str, str] = {"wgs84": "WGS-84", "gcj02": "GCJ-02"}
#: What separates several basemaps in ``GIS_BASEMAP`` (no URL holds it unescaped).
SEPARATOR = "|"
#: Default of ``--basemap-max-mb``: what the embedded tiles may add to a page.
DEFAULT_MAX_MB = 20.0
#: The highest zoom a tile server is asked for; the map zooms one further, scaling those tiles.
SERVER_MAX_ZOOM = 18

_NAMED_TILES: dict[str, dict[str, str]] = {
    "osm": {
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": "© OpenStreetMap contributors",
        "name": "OpenStreetMap",
        "frame": "WGS-84",
    },
    "tianditu": {
        "url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
        "attribution": "© 天地图 Tianditu",
        "name": "天地图 Tianditu",
        "subdomains": "01234567",
        "frame": "WGS-84",
    },
    "amap": {
        "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "attribution": "© 高德 Amap (GCJ-02)",
        "name": "高德 Amap",
        "subdomains": "1234",
        "frame": "GCJ-02",
    },
}


@dataclass(frozen=True)
class Basemap:
    """One basemap: where its tiles come from, its frame, its name in the layer control and attribution (text)."""

    spec: str
    kind: str  # "named", "xyz", "wmts", "mbtiles" or "dir"
    frame: str  # "WGS-84" or "GCJ-02"
    name: str
    attribution: str
    url: str | None = None  # the tile template of a server
    subdomains: str = ""
    path: Path | None = None  # the MBTiles file or the folder, embedded


def split_basemaps(text: str) -> list[str]:
    """Split ``GIS_BASEMAP``: basemaps separated by ``|`` (or line breaks), blanks around each dropped.

    Examples
    --------
    >>> split_basemaps("mbtiles:office.mbtiles | https://tiles.lg.gov/{z}/{x}/{y}.png")
    ['mbtiles:office.mbtiles', 'https://tiles.lg.gov/{z}/{x}/{y}.png']
    """
    return [part.strip() for part in re.split(r"[|\n]", text) if part.strip()]


def parse_basemap(
    spec: str,
    *,
    frame: str | None = None,
    name: str | None = None,
    attribution: str | None = None,
    subdomains: str | None = None,
    tianditu_key: str | None = None,
) -> Basemap | None:
    """Read one basemap (see the module's text); None for ``none``. Empty options keep the basemap's own."""
    text = spec.strip()
    prefix, _, rest = text.partition(":")
    if prefix.lower() in FRAMES:
        frame, text = prefix.lower(), rest
    chosen_frame = FRAMES.get((frame or "wgs84").lower())
    if chosen_frame is None:
        raise fail(spec, f"unknown frame {frame!r}: {{p:basemap_frame}} is wgs84 or gcj02.")
    kind, _, target = text.partition(":")
    kind = kind.lower()
    if text.lower() in NAMED:
        named = _named(spec, text.lower(), name=name, attribution=attribution, tianditu_key=tianditu_key)
        if named is not None and frame and chosen_frame != named.frame:
            raise fail(
                spec,
                f"{named.name} has its own frame, {named.frame}: drop the {frame}: prefix or {{p:basemap_frame}} "
                "(amap is GCJ-02, osm and tianditu WGS-84).",
            )
        return named
    if kind in ("mbtiles", "dir"):
        source = _source(kind, target)
        try:
            base = Basemap(spec, kind, chosen_frame, source.name, source.attribution, path=source.path)
        finally:
            source.close()
        default_attribution = _text(base.attribution) or f"底图 Tiles: {source.path.name}"
        return replace(base, name=name or base.name, attribution=attribution or default_attribution)
    if kind == "wmts":
        url, default_name = wmts_template(spec, target, tianditu_key=tianditu_key)
        kind = "wmts"
    else:
        url, default_name = xyz_template(spec, text)
        kind = "xyz"
    host = urlsplit(url).hostname or ""
    return Basemap(
        spec,
        kind,
        chosen_frame,
        name or default_name,
        attribution or f"底图 Tiles: {host.replace('{s}', '')}",
        url=url,
        subdomains=subdomains_of(spec, host, url, subdomains),
    )


def _named(
    spec: str, key: str, *, name: str | None, attribution: str | None, tianditu_key: str | None
) -> Basemap | None:
    if key == "none":
        return None
    tiles = _NAMED_TILES[key]
    if key == "tianditu" and not tianditu_key:
        raise InputError("the Tianditu basemap needs a key: pass {p:tianditu_key} or set GIS_TIANDITU_KEY.")
    return Basemap(
        spec,
        "named",
        tiles["frame"],
        name or tiles["name"],
        attribution or tiles["attribution"],
        url=tiles["url"].replace("{key}", tianditu_key or ""),
        subdomains=tiles.get("subdomains", ""),
    )


def _source(kind: str, target: str) -> TileSource:
    if not target:
        raise InputError(f"{{p:basemap}} {kind}: needs a path: {kind}:{'FILE' if kind == 'mbtiles' else 'FOLDER'}.")
    return MBTiles(Path(target)) if kind == "mbtiles" else TileFolder(Path(target))


def _text(markup: str) -> str:
    """Attribution text from metadata that may be HTML (MBTiles often is): tags dropped, entities read."""
    markup = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", markup, flags=re.IGNORECASE | re.DOTALL)  # their text too
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", markup)).split())


def _is_named(spec: str) -> bool:
    return spec.strip().lower() in NAMED


def _per_basemap(values: Sequence[str], specs: Sequence[str], flag: str) -> list[str | None]:
    """Pair a repeated option with the basemaps: not given, once (for every basemap but the named), or once each."""
    count = len(specs)
    if not values:
        return [None] * count
    if len(values) == 1 and count > 1:
        wanted = [not _is_named(s) and (flag != "basemap_subdomains" or "{s}" in s) for s in specs]
        if not any(wanted):
            raise InputError(f"{{p:{flag}}} is given, but no {{p:basemap}} it applies to (a named one keeps its own).")
        return [values[0] or None if w else None for w in wanted]
    if len(values) != count:
        raise InputError(
            f"{{p:{flag}}} is given {len(values)} times for {count} basemaps: give it once (for every basemap "
            "but the named ones) or once per {p:basemap}, in the same order ('' keeps a basemap's own)."
        )
    return [v or None for v in values]


def parse_basemaps(
    specs: Sequence[str],
    *,
    frames: Sequence[str] = (),
    names: Sequence[str] = (),
    attributions: Sequence[str] = (),
    subdomains: Sequence[str] = (),
    tianditu_key: str | None = None,
) -> list[Basemap]:
    """Read the basemaps of a page (``none`` adds none); each option is given once or once per basemap.

    An option given once applies to every basemap but the named ones (``osm`` keeps its name and
    credit); given once per basemap, the n-th goes with the n-th (``''`` keeps that basemap's own).
    Names in the layer control are made unique (`` 2``, `` 3`` ...). Basemaps of both frames are
    refused (:func:`page_frame`).

    Examples
    --------
    >>> parse_basemaps(["osm", "gcj02:https://t.lg.gov/{z}/{x}/{y}.png"], names=["", "区内底图"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: the basemaps are in different frames: OpenStreetMap (WGS-84), 区内底图 (GCJ-02). ...
    >>> [(b.name, b.frame) for b in parse_basemaps(["amap", "https://t.lg.gov/{z}/{x}/{y}.png"], frames=["gcj02"])]
    [('高德 Amap', 'GCJ-02'), ('t.lg.gov', 'GCJ-02')]
    """
    specs = [s for s in specs if s.strip()]
    frame, name, attribution, subdomain = (
        _per_basemap(values, specs, flag)
        for flag, values in (
            ("basemap_frame", frames),
            ("basemap_name", names),
            ("basemap_attribution", attributions),
            ("basemap_subdomains", subdomains),
        )
    )
    out: list[Basemap] = []
    for i, spec in enumerate(specs):
        basemap = parse_basemap(
            spec,
            frame=frame[i],
            name=name[i],
            attribution=attribution[i],
            subdomains=subdomain[i],
            tianditu_key=tianditu_key,
        )
        if basemap is not None:
            out.append(basemap)
    seen: dict[str, int] = {}
    for i, b in enumerate(out):
        seen[b.name] = seen.get(b.name, 0) + 1
        if seen[b.name] > 1:
            out[i] = replace(b, name=f"{b.name} {seen[b.name]}")
    page_frame(out)
    return out


def as_basemaps(basemap: str | Basemap | Sequence[str | Basemap], *, tianditu_key: str | None = None) -> list[Basemap]:
    """Return the basemaps a caller gives: one or several, as text (read by :func:`parse_basemaps`) or read already."""
    given = [basemap] if isinstance(basemap, str | Basemap) else list(basemap)
    if all(isinstance(b, str) for b in given):
        return parse_basemaps([str(b) for b in given], tianditu_key=tianditu_key)
    return [
        m for b in given for m in ([b] if isinstance(b, Basemap) else parse_basemaps([b], tianditu_key=tianditu_key))
    ]


def first_basemap(basemaps: Sequence[Basemap]) -> str:
    """Return what the page shows first: ``none``, a named basemap's name (``osm``), else its kind (``mbtiles``)."""
    if not basemaps:
        return "none"
    return basemaps[0].spec.strip().lower().rpartition(":")[2] if basemaps[0].kind == "named" else basemaps[0].kind


def page_frame(basemaps: Sequence[Basemap]) -> str:
    """Return the frame the page's overlays are drawn in: the basemaps', refusing basemaps of both frames."""
    frames = {b.frame for b in basemaps}
    if len(frames) > 1:
        listed = ", ".join(f"{b.name} ({b.frame})" for b in basemaps)
        raise InputError(
            f"the basemaps are in different frames: {listed}. A page has one overlay frame: give basemaps of "
            "one frame (with {p:basemap_frame} or a wgs84:/gcj02: prefix), or write one map per frame."
        )
    return frames.pop() if frames else "WGS-84"


def page_basemaps(
    basemaps: Sequence[Basemap], bounds: Bounds, *, max_mb: float = DEFAULT_MAX_MB
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Return the page's basemaps as the map's script reads them (js/basemaps.js), and the embedded tiles.

    ``bounds`` (south, west, north, east, in the page's frame) bound the tiles embedded; the
    embedded basemaps together add at most ``max_mb`` MB to the page (:func:`gis.render.tiles.choose_levels`).
    The tiles come back as element id -> JSON text (``"z/x/y"`` -> data URI), one element each.
    """
    sources = {i: _source(b.kind, str(b.path)) for i, b in enumerate(basemaps) if b.path is not None}
    try:
        levels = dict(zip(sources, choose_levels(list(sources.values()), bounds, int(max_mb * 1e6)), strict=True))
        options: list[dict[str, Any]] = []
        elements: dict[str, str] = {}
        for i, b in enumerate(basemaps):
            option: dict[str, Any] = {"name": b.name, "attribution": html.escape(b.attribution), "kind": b.kind}
            if i in levels:
                lv = levels[i]
                element = f"gis-basemap-{i}"
                elements[element] = json.dumps(embed(lv), separators=(",", ":"))
                south, west, north, east = range_bounds(lv.ranges[0])
                option |= {
                    "embedded": element,
                    "min_zoom": lv.ranges[0][0],
                    "max_zoom": lv.ranges[-1][0],
                    "bounds": [[south, west], [north, east]],
                    "tiles": sum(lv.counts),
                }
            else:
                option |= {"url": b.url, "subdomains": b.subdomains or "abc", "max_zoom": SERVER_MAX_ZOOM}
            options.append(option)
        return options, elements
    finally:
        for source in sources.values():
            source.close()
