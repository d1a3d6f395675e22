"""The one style definition of the layers: colours by layer and part, outlines by check status.

The web map and the QGIS styles of the GeoPackage export both read it, so a layer looks
the same in a browser and in QGIS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gis import settings


@dataclass(frozen=True)
class Style:
    """How one part of one layer is drawn."""

    title_zh: str
    title_en: str
    fill_color: str
    fill_opacity: float
    line_color: str
    weight: float = 1.5
    dash: str | None = None  # SVG/Leaflet dash array, e.g. "6 4"

    def to_dict(self) -> dict[str, object]:
        """Return the style as a plain dict (for JSON)."""
        return asdict(self)


#: (layer, part) -> style. The order is the drawing order: later parts are drawn on top.
STYLES: dict[tuple[str, str], Style] = {
    ("industrial_land", "extent"): Style(
        "产业片区与园区", "Industrial areas and parks", "#6baed6", 0.12, "#2171b5", 1.2, "4 3"
    ),
    ("industrial_land", "site"): Style("重点项目用地", "Key project sites", "#08519c", 0.55, "#08306b", 1.2),
    ("parks", "extent"): Style("公园", "Parks", "#41ab5d", 0.35, "#006d2c", 1.2),
    ("consolidation_zones", "extent"): Style(
        "土地整备片区", "Land-consolidation zones", "#9e9ac8", 0.15, "#54278f", 1.5
    ),
    ("consolidation_zones", "consolidation"): Style(
        "整备范围", "Consolidation scope", "#807dba", 0.3, "#54278f", 1.2, "6 4"
    ),
    ("consolidation_zones", "reserve"): Style("预计收储产业用地", "Land reserve", "#3f007d", 0.55, "#3f007d", 1.2),
    ("renewal_units", "extent"): Style("城市更新单元", "Urban-renewal units", "#fdae6b", 0.18, "#a63603", 1.5),
    ("renewal_units", "demolition"): Style("拆除范围", "Demolition scope", "#e6550d", 0.4, "#a63603", 1.2, "6 4"),
}

#: The districts, drawn as the background.
DISTRICT_STYLE = Style("行政区", "Districts", "#f0f0f0", 0.6, "#636363", 2.0)

#: Outline colour by the worst status of a feature's targets.
STATUS_COLORS: dict[str, str] = {
    settings.MET: "#1a9850",
    settings.WITHIN: "#a6d96a",
    settings.SHORT: "#fdae61",
    settings.OVER: "#d7191c",
    settings.NO_POLYGON: "#969696",
    settings.NO_LANDUSE: "#9e9ac8",
    settings.NO_CONTROL: "#bcbddc",
    settings.NOT_CHECKABLE: "#bdbdbd",
}
#: Outline colour of a feature the plans give no figure (it has no status).
NO_TARGET_COLOR = "#525252"
#: Chinese labels of the statuses.
STATUS_ZH: dict[str, str] = {
    settings.MET: "达标",
    settings.WITHIN: "在容差内",
    settings.SHORT: "不足",
    settings.OVER: "超出",
    settings.NO_POLYGON: "无图斑",
    settings.NO_LANDUSE: "无土地利用图层",
    settings.NO_CONTROL: "无管控线图层",
    settings.NOT_CHECKABLE: "不可按面积核查",
}


def style_for(layer: str, part: str) -> Style:
    """Return the style of a layer's part; unknown parts get the layer's extent style."""
    return STYLES.get((layer, part)) or STYLES[(layer, "extent")]
