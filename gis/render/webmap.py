"""Render stage: single-file Folium web maps that work with no network.

Every script and style sheet (Leaflet and its plugins, vendored from npm in
``gis/_vendor``) is inlined; the layers, check results and district aggregates are
embedded once, as one JSON document, and drawn by the scripts in ``js/`` (see
:data:`SCRIPTS`). Basemap tiles are
optional (:mod:`gis.render.basemaps`: named, any XYZ or WMTS server, local tiles embedded); with
GCJ-02 tiles (Amap) the overlays are moved to GCJ-02 so they line up, and the map says which frame it shows.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import folium
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from gis import settings
from gis._atomic import write_text_atomic
from gis.crs import geometry_gcj02_from_wgs84
from gis.model import CheckRun
from gis.progress import tracked
from gis.raster import background_png
from gis.render.basemaps import DEFAULT_MAX_MB, Basemap, as_basemaps, first_basemap, page_basemaps, page_frame
from gis.render.mapdata import map_data

log = logging.getLogger(__name__)

DECIMALS = 6  # about 0.1 m

#: Assets inlined into every map, in load order: (vendored package, file).
_ASSETS: tuple[tuple[str, str], ...] = (
    ("leaflet", "leaflet.css"),
    ("leaflet", "leaflet.js"),
    ("leaflet", "leaflet-icons.js"),
    ("leaflet-draw", "leaflet.draw.css"),
    ("leaflet-draw", "leaflet.draw.js"),
    ("leaflet.fullscreen", "Control.FullScreen.css"),
    ("leaflet.fullscreen", "Control.FullScreen.js"),
    ("leaflet-minimap", "Control.MiniMap.min.css"),
    ("leaflet-minimap", "Control.MiniMap.min.js"),
    ("leaflet-measure", "leaflet-measure.css"),
    ("leaflet-measure", "leaflet-measure.cn.js"),
    ("leaflet-search", "leaflet-search.min.css"),
    ("leaflet-search", "leaflet-search.min.js"),
)

#: Vendored scripts the page holds as text, run on first use: the sketch review's libraries, so that
#: nothing of them runs at page load (``js/reviewgeom.js`` runs them): element id -> (package, file).
LAZY_SCRIPTS: dict[str, tuple[str, str]] = {
    "gis-lib-proj4": ("proj4", "proj4.js"),
    "gis-lib-polygon-clipping": ("polygon-clipping", "polygon-clipping.umd.min.js"),
}


#: The map's own scripts in ``gis/render/js/``, inlined in this order after the assets: helpers
#: first (text, decoding, frames), then the canvas overlay class, then each part of the map, and
#: last ``main.js``, whose ``gisMap`` adds the parts in turn.
SCRIPTS: tuple[str, ...] = (
    "text.js",
    "decode.js",
    "crs.js",
    "basemaps.js",
    "overlay.js",
    "popups.js",
    "landuse.js",
    "controllines.js",
    "districts.js",
    "features.js",
    "findings.js",
    "controls.js",
    "search.js",
    "draw.js",
    "reviewgeom.js",
    "review.js",
    "reviewtargets.js",
    "reviewhtml.js",
    "reviewpanel.js",
    "main.js",
)


def _asset(package: str, name: str) -> str:
    return (resources.files("gis") / "_vendor" / package / name).read_text(encoding="utf-8")


def _script(name: str) -> str:
    return (resources.files("gis.render") / "js" / name).read_text(encoding="utf-8")


def _script_safe(text: str, *, tag: str = "script") -> str:
    """Make code safe inline in <script> or <style>: nothing in it can close the element early."""
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.IGNORECASE)


def _json_safe(text: str) -> str:
    """Make JSON safe inside <script type="application/json">: escape every "</" and "<!--"."""
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


class _Raw(Element):  # type: ignore[misc]
    """A piece of HTML inserted as it is (a branca Element would read it as a Jinja template)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _GisLayers(MacroElement):  # type: ignore[misc]
    """Calls ``gisMap(map, data, options)`` (js/main.js) once the Folium map exists."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gisMap({{ this._parent.get_name() }}, JSON.parse(document.getElementById("gis-data").textContent), {{ this.options }});
        {% endmacro %}
        """
    )

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__()
        self._name = "GisLayers"
        self.options = _json_safe(json.dumps(options, ensure_ascii=False))  # a URL or name cannot end the script


def build_map(
    run: CheckRun,
    *,
    district: str | None = None,
    basemap: str | Basemap | Sequence[str | Basemap] = "none",
    tianditu_key: str | None = None,
    links: dict[str, str] | None = None,
    background: Path | None = None,
    basemap_max_mb: float = DEFAULT_MAX_MB,
) -> folium.Map:
    """Build the Folium map of the layers and check results.

    Parameters
    ----------
    run
        A finished check.
    district
        A district code to map one district; None maps all three.
    basemap
        ``none`` (default: the districts are the background), ``osm``, ``tianditu``
        (needs ``tianditu_key``), ``amap`` (GCJ-02: the overlays are moved to match), an XYZ
        template, ``wmts:URL``, ``mbtiles:FILE``, ``dir:FOLDER`` (see :mod:`gis.render.basemaps`),
        or several (text or :class:`~gis.render.basemaps.Basemap`), the first shown.
    links
        Link text -> relative URL, shown in the map's title bar (the index and the other maps).
    background
        A local GeoTIFF (a scanned plan map, an orthophoto) drawn under the layers, reprojected to
        Web Mercator and inlined, so planners can digitize on it offline.
    basemap_max_mb
        What the embedded tiles (``mbtiles:``, ``dir:``) may add to the page, in MB.
    """
    basemaps = as_basemaps(basemap, tianditu_key=tianditu_key)
    frame = page_frame(basemaps)
    data = map_data(run, district=district, frame=frame)
    bounds = data["meta"]["bounds"]
    tiles, embedded = page_basemaps(basemaps, _tile_bounds(run, district, frame, bounds), max_mb=basemap_max_mb)
    # SVG for the districts, sketches and measurements (above the overlays' own canvas)
    m = folium.Map(tiles=None, prefer_canvas=False, control_scale=False, zoom_snap=0.25)
    m.default_js = []  # no CDN: the assets are inlined below
    m.default_css = []
    if background is not None:
        image, image_bounds = background_png(Path(background), frame=frame)  # moved pixel by pixel with Amap tiles
        folium.raster_layers.ImageOverlay(
            image=image,
            bounds=image_bounds,
            name=f"背景影像 Background: {Path(background).name}",
            pane="tilePane",
            opacity=0.85,
        ).add_to(m)
    m.fit_bounds(bounds, padding_top_left=(60, 90), padding_bottom_right=(40, 30))  # room for the controls
    root: Any = m.get_root()  # a branca Figure
    root.header.add_child(_Raw(f"<title>{_html_escape(data['meta']['title'])}</title>"), name="gis_title")
    css = "\n".join(_asset(p, f) for p, f in _ASSETS if f.endswith(".css"))
    css += "\n" + (resources.files("gis.render") / "webmap.css").read_text(encoding="utf-8")
    root.header.add_child(_Raw(f"<style>{_script_safe(css, tag='style')}</style>"), name="gis_css")
    scripts = [_asset(p, f) for p, f in _ASSETS if f.endswith(".js")] + [_script(name) for name in SCRIPTS]
    js = "\n;\n".join(scripts)
    root.header.add_child(_Raw(f"<script>{_script_safe(js)}</script>"), name="gis_js")
    for element, (package, name) in LAZY_SCRIPTS.items():
        text = _script_safe(_asset(package, name))
        root.header.add_child(_Raw(f'<script type="text/plain" id="{element}">{text}</script>'), name=element)
    payload = _json_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    root.html.add_child(_Raw(f'<script type="application/json" id="gis-data">{payload}</script>'), name="gis_data")
    for element, text in embedded.items():  # the embedded basemap tiles, read by js/basemaps.js
        root.html.add_child(
            _Raw(f'<script type="application/json" id="{element}">{_json_safe(text)}</script>'), name=element
        )
    options = {
        "basemap": first_basemap(basemaps),
        "basemaps": tiles,
        "links": links or {},
        "background": background is not None,
    }
    m.add_child(_GisLayers(options))
    return m


def _tile_bounds(
    run: CheckRun, district: str | None, frame: str, bounds: list[list[float]]
) -> tuple[float, float, float, float]:
    """Return what embedded tiles must cover (south, west, north, east): the view and every district the page draws."""
    (south, west), (north, east) = bounds
    districts = run.districts if district is None else run.districts[run.districts["district"] == district]
    geoms = districts.geometry.to_numpy()
    if frame == "GCJ-02":
        geoms = geometry_gcj02_from_wgs84(geoms)
    if len(geoms):
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
        south, west, north, east = min(south, miny), min(west, minx), max(north, maxy), max(east, maxx)
    return south, west, north, east


def _html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def render_map(m: folium.Map) -> str:
    """Return the map's HTML."""
    return m.get_root().render()  # type: ignore[no-any-return]


def write_map(m: folium.Map, path: Path) -> None:
    """Write the map's HTML to ``path`` atomically."""
    write_text_atomic(Path(path), render_map(m))


#: File name of each district's map in a maps folder.
MAP_FILES: dict[str | None, str] = {
    None: "index.html",
    "440307": "longgang.html",
    "440309": "longhua.html",
    "440310": "pingshan.html",
}


def write_maps(
    run: CheckRun,
    out_dir: Path,
    *,
    basemap: str | Basemap | Sequence[str | Basemap] = "none",
    tianditu_key: str | None = None,
    extra_links: dict[str, str] | None = None,
    basemap_max_mb: float = DEFAULT_MAX_MB,
) -> list[Path]:
    """Write the index map (all districts) and one map per district, linked to each other (and to ``extra_links``).

    Each file is replaced atomically; the pages are all built before the first is written. A
    write that fails (disk full) stops there: the pages before it are new, the rest as they were.
    """
    links = {("全部 All" if code is None else settings.DISTRICTS[code][0]): name for code, name in MAP_FILES.items()}
    links.update(extra_links or {})
    size = len(run.features) + (run.landuse.count if run.landuse is not None else 0)  # progress past 10,000
    pages = {  # every page first, so a page that fails to build leaves all the files as they were
        Path(out_dir) / name: render_map(
            build_map(
                run,
                district=code,
                basemap=basemap,
                tianditu_key=tianditu_key,
                links=links,
                basemap_max_mb=basemap_max_mb,
            )
        )
        for code, name in tracked(MAP_FILES.items(), "building maps", total=len(MAP_FILES), size=size, unit="pages")
    }
    for path, html in pages.items():
        write_text_atomic(path, html)
        log.info("wrote %s", path)
    return list(pages)
