"""Render stage: single-file Folium web maps that work with no network.

Every script and style sheet (Leaflet and its plugins, vendored from npm in
``gis/_vendor``) is inlined; the layers, check results and district aggregates are
embedded once, as one JSON document, and drawn by ``webmap.js``. Basemap tiles are
optional; with Amap tiles (GCJ-02) the overlays are moved to GCJ-02 so they line up,
and the map says which frame it shows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from gis import __version__, settings, style
from gis._atomic import write_text_atomic
from gis.crs import geometry_gcj02_from_wgs84
from gis.pipeline import CheckRun

log = logging.getLogger(__name__)

BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu", "amap")
DECIMALS = 6  # about 0.1 m

_TILES: dict[str, dict[str, Any]] = {
    "osm": {
        "tiles": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attr": "&copy; OpenStreetMap contributors",
        "name": "OpenStreetMap",
    },
    "tianditu": {
        "tiles": "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
        "attr": "&copy; 天地图 Tianditu",
        "name": "天地图 Tianditu",
        "subdomains": "01234567",
    },
    "amap": {
        "tiles": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "attr": "&copy; 高德 Amap (GCJ-02)",
        "name": "高德 Amap",
        "subdomains": "1234",
    },
}

#: Assets inlined into every map, in load order: (vendored package, file).
_ASSETS: tuple[tuple[str, str], ...] = (
    ("leaflet", "leaflet.css"),
    ("leaflet", "leaflet.js"),
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


def _asset(package: str, name: str) -> str:
    return (resources.files("gis") / "_vendor" / package / name).read_text(encoding="utf-8")


def _script_safe(text: str, *, tag: str = "script") -> str:
    """Make code safe inline in <script> or <style>: nothing in it can close the element early."""
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.IGNORECASE)


def _json_safe(text: str) -> str:
    """Make JSON safe inside <script type="application/json">: escape every "</" and "<!--"."""
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def _rounded(geom: shapely.Geometry) -> dict[str, Any]:
    coords = shapely.transform(geom, lambda xy: np.round(xy, DECIMALS))
    return shapely.geometry.mapping(coords)  # type: ignore[no-any-return]


def _no_nan(value: Any) -> Any:
    """Return ``value`` with every NaN (pandas' missing text) replaced by None, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _num(value: Any, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def _short_source(source_file: str | None) -> str | None:
    if not source_file:
        return None
    return settings.SOURCES.get(source_file, source_file)


def _targets_by_feature(results: pd.DataFrame) -> dict[str, list[list[Any]]]:
    """Feature fid -> its targets as compact rows [id, metric, part, planned, measured, unit, delta %, status, source, ref]."""
    out: dict[str, list[list[Any]]] = {}
    for _, r in results[results["scope"] != "aggregate"].iterrows():
        fid = r["feature_fid"]
        if not isinstance(fid, str):
            continue
        out.setdefault(fid, []).append(
            [
                r["target_id"],
                r["metric"],
                r["part"],
                _num(r["planned"]),
                _num(r["measured"]),
                r["unit"],
                _num(r["delta_pct"], 1),
                r["status"],
                _short_source(r["source_file"]),
                r["source_ref"],
            ]
        )
    return out


def map_data(run: CheckRun, *, district: str | None = None, frame: str = "WGS-84") -> dict[str, Any]:
    """Return everything the page draws, as one JSON-able document.

    Parameters
    ----------
    run
        A finished check (:func:`gis.pipeline.run_check`).
    district
        Only this district's features and targets (a code); None for all three.
    frame
        ``"WGS-84"``, or ``"GCJ-02"`` to move every coordinate for Amap tiles.
    """
    features = run.features
    results = run.results
    districts = run.districts
    if district is not None:
        features = features[features["district"] == district]
        results = results[results["district"] == district]
        districts = districts[districts["district"] == district]
    to_frame = geometry_gcj02_from_wgs84 if frame == "GCJ-02" else (lambda g: g)
    targets = _targets_by_feature(results)
    layers = []
    for (layer, part), st in style.STYLES.items():
        sel = features[(features["layer"] == layer) & (features["part"] == part)]
        feats = []
        for _, f in sel.iterrows():
            rows = targets.get(f["fid"], [])
            status = style.worst_status([r[7] for r in rows if r[1] in ("area", "within_parent")])
            props = {
                "i": f["fid"],
                "n": f["name_zh"],
                "e": f["name_en"],
                "d": f["district"],
                "s": f["street"],
                "p": f["part"],
                "pa": f["parent"],
                "c": f["category"],
                "a": _num(f["area_ha"]),
                "lc": f["location_confidence"],
                "lb": f["location_basis"],
                "acc": f["accuracy"],
                "src": _short_source(f["source_file"]),
                "ref": f["source_ref"],
                "st": status,
                "t": rows,
            }
            feats.append({"type": "Feature", "properties": props, "geometry": _rounded(to_frame(f.geometry))})
        layers.append(
            {
                "key": f"{layer}.{part}",
                "layer": layer,
                "part": part,
                "style": st.to_dict(),
                "features": {"type": "FeatureCollection", "features": feats},
            }
        )
    aggregates = [
        {
            "id": r["target_id"],
            "d": r["district"],
            "n": r["name_zh"],
            "e": r["name_en"],
            "metric": r["metric"],
            "cmp": r["comparator"],
            "planned": _num(r["planned"]),
            "measured": _num(r["measured"]),
            "unit": r["unit"],
            "delta": _num(r["delta_pct"], 1),
            "status": r["status"],
            "src": _short_source(r["source_file"]),
            "ref": r["source_ref"],
            "h": r["horizon"],
        }
        for _, r in results[results["scope"] == "aggregate"].iterrows()
    ]
    district_features = [
        {
            "type": "Feature",
            "properties": {"d": d["district"], "n": d["name_zh"], "e": d["name_en"], "note": _text(d.get("note"))},
            "geometry": _rounded(to_frame(d.geometry)),
        }
        for _, d in districts.iterrows()
    ]
    return _no_nan(
        {
            "meta": {
                "title": _title(district),
                "frame": frame,
                "toolkit": f"gis {__version__}",
                "built": dt.date.today().isoformat(),
                "district": district,
            },
            "layers": layers,
            "districts": {"type": "FeatureCollection", "features": district_features},
            "aggregates": aggregates,
            "statusColors": style.STATUS_COLORS,
            "statusZh": style.STATUS_ZH,
            "districtStyle": style.DISTRICT_STYLE.to_dict(),
            "districtNames": {code: list(names) for code, names in settings.DISTRICTS.items()},
        }
    )


def _title(district: str | None) -> str:
    if district is None:
        return "龙岗·龙华·坪山 规划图层核查 Planning layers of Longgang, Longhua and Pingshan"
    zh, en = settings.DISTRICTS[district]
    return f"{zh} 规划图层核查 Planning layers of {en}"


class _Raw(Element):  # type: ignore[misc]
    """A piece of HTML inserted as it is (a branca Element would read it as a Jinja template)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _GisLayers(MacroElement):  # type: ignore[misc]
    """Calls ``gisMap(map, data, options)`` from webmap.js once the Folium map exists."""

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
        self.options = json.dumps(options, ensure_ascii=False)


def build_map(
    run: CheckRun,
    *,
    district: str | None = None,
    basemap: str = "none",
    tianditu_key: str | None = None,
    links: dict[str, str] | None = None,
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
        (needs ``tianditu_key``) or ``amap`` (GCJ-02: the overlays are moved to match).
    links
        Link text -> relative URL, shown in the map's title bar (the index and the other maps).
    """
    if basemap not in BASEMAPS:
        raise ValueError(f"unknown basemap {basemap!r}; use one of {', '.join(BASEMAPS)}")
    if basemap == "tianditu" and not tianditu_key:
        raise ValueError("the Tianditu basemap needs a key: pass --tianditu-key or set GIS_TIANDITU_KEY")
    frame = "GCJ-02" if basemap == "amap" else "WGS-84"
    data = map_data(run, district=district, frame=frame)
    bounds = _bounds(data)
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=False, zoom_snap=0.25)
    m.default_js = []  # no CDN: the assets are inlined below
    m.default_css = []
    if basemap != "none":
        spec = dict(_TILES[basemap])
        spec["tiles"] = spec["tiles"].replace("{key}", tianditu_key or "")
        folium.TileLayer(**spec, overlay=False, control=True, max_zoom=18).add_to(m)
    m.fit_bounds(bounds)
    root: Any = m.get_root()  # a branca Figure
    root.header.add_child(_Raw(f"<title>{_html_escape(data['meta']['title'])}</title>"), name="gis_title")
    css = "\n".join(_asset(p, f) for p, f in _ASSETS if f.endswith(".css"))
    css += "\n" + (resources.files("gis") / "webmap.css").read_text(encoding="utf-8")
    root.header.add_child(_Raw(f"<style>{_script_safe(css, tag='style')}</style>"), name="gis_css")
    js = "\n;\n".join(_asset(p, f) for p, f in _ASSETS if f.endswith(".js"))
    js += "\n;\n" + (resources.files("gis") / "webmap.js").read_text(encoding="utf-8")
    root.header.add_child(_Raw(f"<script>{_script_safe(js)}</script>"), name="gis_js")
    payload = _json_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    root.html.add_child(_Raw(f'<script type="application/json" id="gis-data">{payload}</script>'), name="gis_data")
    options = {"basemap": basemap, "links": links or {}}
    m.add_child(_GisLayers(options))
    return m


def _html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _bounds(data: dict[str, Any]) -> list[list[float]]:
    geoms = [shapely.geometry.shape(f["geometry"]) for f in data["districts"]["features"]]
    for layer in data["layers"]:
        geoms.extend(shapely.geometry.shape(f["geometry"]) for f in layer["features"]["features"])
    minx, miny, maxx, maxy = shapely.GeometryCollection(geoms).bounds
    return [[miny, minx], [maxy, maxx]]


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


def write_maps(run: CheckRun, out_dir: Path, *, basemap: str = "none", tianditu_key: str | None = None) -> list[Path]:
    """Write the index map (all districts) and one map per district, linked to each other."""
    links = {("全部 All" if code is None else settings.DISTRICTS[code][0]): name for code, name in MAP_FILES.items()}
    written = []
    for code, name in MAP_FILES.items():
        m = build_map(run, district=code, basemap=basemap, tianditu_key=tianditu_key, links=links)
        path = Path(out_dir) / name
        write_map(m, path)
        written.append(path)
        log.info("wrote %s", path)
    return written


def count_features(data: dict[str, Any]) -> int:
    """Return the number of thematic features a map's data holds."""
    return sum(len(layer["features"]["features"]) for layer in data["layers"])
