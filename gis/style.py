"""The one style definition of the layers: colours by layer and part, outlines by check status.

The web map and the QGIS styles of the GeoPackage export both read it, so a layer looks
the same in a browser and in QGIS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gis import settings
from gis.codes import UNCLASSIFIED, UNKNOWN


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


#: Fill colour of each land class (:data:`gis.settings.LAND_CLASSES`), then ``unclassified`` and
#: ``unknown code``: the 用地用海 palette of 《市级国土空间总体规划制图规范（试行）》(自然资源部, 2021)
#: 附录 B 用地用海分类配色指引 (RGB), as transcribed in a third-party web map's ``landuse_colors.js``
#: (39 rows, found with the search tool; the official PDF was not reachable). The classification
#: guide itself (《国土空间调查、规划、用途管制用地用海分类指南》, 2023) publishes no colours.
#: Each class takes the colour of its own 用地用海 class (first level, or the second where the class
#: is one: 工业用地 1001, 采矿用地 1002); where 附录 B gives its first-level class no colour, the colour
#: of its first sub-class that has one: residential 07 <- 0701 城镇住宅用地, public_service 08 <- 0801
#: 机关团体用地, park_green 14 <- 1401 公园绿地; sea (用地用海 18-22, 24) <- 18 渔业用海; other (16
#: 留白用地, 23 其他土地) <- 23 其他土地. ``unclassified`` (a code spanning several classes, 用地用海 10
#: 工矿用地) and ``unknown code`` have no colour in any source: two neutral greys of the toolkit's own,
#: darker than 附录 B's greys (交通运输用地 183,183,183; 其他土地 238,238,238) so they are not read as those.
LAND_CLASS_COLORS: dict[str, str] = {
    "farmland": "#f5f8dc",  # 耕地 245,248,220
    "orchard": "#bfe9aa",  # 园地 191,233,170
    "forest": "#68b167",  # 林地 104,177,103
    "grassland": "#cdf57a",  # 草地 205,245,122
    "wetland": "#65cdaa",  # 湿地 101,205,170
    "agricultural_facility": "#d8d79f",  # 农业设施建设用地 216,215,159
    "residential": "#ffff2d",  # 城镇住宅用地 255,255,45 (居住用地 07 has none)
    "public_service": "#ff00ff",  # 机关团体用地 255,0,255 (公共管理与公共服务用地 08 has none)
    "commercial": "#ff0000",  # 商业服务业用地 255,0,0
    "industrial": "#bb9674",  # 工业用地 187,150,116
    "mining": "#9e6c54",  # 采矿用地 158,108,84
    "logistics": "#8761d3",  # 仓储用地 135,97,211 (物流仓储用地 1101 has none of its own)
    "transport": "#b7b7b7",  # 交通运输用地 183,183,183
    "utilities": "#006380",  # 公用设施用地 0,99,128
    "park_green": "#00ff00",  # 公园绿地 0,255,0 (绿地与开敞空间用地 14 has none)
    "special": "#859156",  # 特殊用地 133,145,86
    "water": "#338ec0",  # 陆地水域 51,142,192
    "sea": "#94d5eb",  # 渔业用海 148,213,235 (no colour for the sea as a whole)
    "other": "#eeeeee",  # 其他土地 238,238,238
    UNCLASSIFIED: "#8c8c8c",  # no source colour: a neutral grey of the toolkit's
    UNKNOWN: "#4d4d4d",  # no source colour: a darker neutral grey of the toolkit's
}
#: Where each colour of :data:`LAND_CLASS_COLORS` comes from (shown in legends' notes and the README).
LAND_CLASS_PALETTE = "《市级国土空间总体规划制图规范（试行）》(自然资源部, 2021) 附录B 用地用海分类配色"
#: Chinese and English names of the two classes that are no land class.
EXTRA_CLASS_TITLES: dict[str, tuple[str, str]] = {
    UNCLASSIFIED: ("未归类", "Unclassified (code spans classes)"),
    UNKNOWN: ("未知代码", "Unknown code"),
}
#: Fill opacity of the land-use parcels (web map, QGIS): the thematic layers stay readable above them.
LANDUSE_FILL_OPACITY = 0.65
#: Outline of the land-use parcels.
LANDUSE_LINE_COLOR = "#636363"
#: Control lines by kind (:data:`gis.settings.CONTROL_KINDS`), outlines only: the toolkit's own
#: colours and dashes (no published palette was looked for; none of them is claimed as a standard's).
CONTROL_STYLES: dict[str, Style] = {
    "block_line_1": Style("一级工业区块线", "Industrial block line, level 1", "#bb9674", 0.0, "#7f2704", 2.2),
    "block_line_2": Style("二级工业区块线", "Industrial block line, level 2", "#bb9674", 0.0, "#d94801", 1.8, "6 4"),
    "retention_zone": Style("工业用地保留提升区", "Industrial retention zone", "#bb9674", 0.0, "#8c510a", 1.8, "2 3"),
    "eco_redline": Style("生态保护红线", "Ecological protection red line", "#00ff00", 0.0, "#e31a1c", 2.0),
    "basic_farmland": Style("永久基本农田", "Permanent basic farmland", "#f5f8dc", 0.0, "#e6ab02", 2.0),
    "urban_boundary": Style("城镇开发边界", "Urban development boundary", "#ffffff", 0.0, "#6a3d9a", 2.0, "8 3 2 3"),
}


def land_class_title(key: str) -> tuple[str, str]:
    """Return a land class's Chinese and English names (``unclassified`` and ``unknown code`` too)."""
    return settings.LAND_CLASSES.get(key) or EXTRA_CLASS_TITLES[key]


def style_for(layer: str, part: str) -> Style:
    """Return the style of a layer's part; unknown parts get the layer's extent style."""
    return STYLES.get((layer, part)) or STYLES[(layer, "extent")]
