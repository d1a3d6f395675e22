"""Defaults and fixed vocabularies: the one place where names, codes and units are defined."""

from __future__ import annotations

from pathlib import Path

#: The thematic layers, in drawing and reporting order.
LAYER_NAMES: tuple[str, ...] = ("consolidation_zones", "renewal_units", "industrial_land", "parks")

#: Layer name -> (Chinese title, English title).
LAYER_TITLES: dict[str, tuple[str, str]] = {
    "consolidation_zones": ("土地整备片区", "Land-consolidation zones"),
    "renewal_units": ("城市更新单元", "Urban-renewal units"),
    "industrial_land": ("产业用地", "Industrial land"),
    "parks": ("公园", "Parks"),
    "landuse": ("土地利用图斑", "Land-use parcels"),
    "control_lines": ("管控线", "Control lines"),
}
#: The optional layers of an office's own data (:mod:`gis.landuse`): parcels with land-use codes, control lines.
LANDUSE_LAYER = "landuse"
CONTROL_LAYER = "control_lines"
#: Every layer a target may name.
TARGET_LAYERS: tuple[str, ...] = (*LAYER_NAMES, LANDUSE_LAYER, CONTROL_LAYER)

#: Plan documents (file names in shared/seeds) -> short citation shown to users.
SOURCES: dict[str, str] = {
    "000_5ce10b94bc1f0f61.txt": "龙岗融媒：大运深港国际科教城三年行动计划报道 (2023)",
    "001_22f36ed06e318fad.txt": "龙岗区工业发展“十四五”规划 (2022)",
    "002_d0a3bfdf1d01be65.txt": "龙华区科技创新“十四五”规划",
    "003_061affaf09b9d26f.txt": "大公报：坪山高新区报道",
    "004_2fba5181ad59294a.txt": "深坪府〔2024〕1号 坪山区产业集群意见",
}

#: District code -> (Chinese name, English name).
DISTRICTS: dict[str, tuple[str, str]] = {
    "440307": ("龙岗区", "Longgang"),
    "440309": ("龙华区", "Longhua"),
    "440310": ("坪山区", "Pingshan"),
}

#: Fields every thematic feature carries (besides geometry).
FEATURE_FIELDS: tuple[str, ...] = (
    "fid",
    "name_zh",
    "name_en",
    "district",
    "street",
    "part",
    "parent",
    "category",
    "source_file",
    "source_ref",
    "location_basis",
    "location_confidence",
    "accuracy",
    "method",
    "position_ref",
    "position_error_m",
    "position_lon",
    "position_lat",
)
#: Fields of :data:`FEATURE_FIELDS` that hold numbers (read as text like the others; exported as numbers).
NUMBER_FIELDS: tuple[str, ...] = ("position_error_m", "position_lon", "position_lat")
#: Field name (ASCII snake_case, as exported) -> Chinese alias shown in QGIS and spreadsheets.
FIELD_ALIASES_ZH: dict[str, str] = {
    "feature_id": "编号",
    "layer": "图层",
    "name_zh": "中文名称",
    "name_en": "英文名称",
    "district": "行政区代码",
    "street": "街道",
    "part": "部分",
    "parent": "上级编号",
    "category": "类别",
    "area_ha": "量测面积（公顷）",
    "geodesic_ha": "椭球面积（公顷）",
    "planned_ha": "规划面积（公顷）",
    "delta_ha": "差值（公顷）",
    "delta_pct": "差值（%）",
    "status": "核查状态",
    "checks_failed": "未通过的一致性检查",
    "target_ids": "目标编号",
    "citation": "出处",
    "source_file": "来源文件",
    "source_ref": "来源条目",
    "location_basis": "定位依据",
    "location_confidence": "定位可信度",
    "accuracy": "精度",
    "method": "数字化方法",
    "position_ref": "定位参照",
    "position_error_m": "定位误差（米）",
    "position_lon": "参照点经度",
    "position_lat": "参照点纬度",
}

#: Fields that must be filled on every feature.
REQUIRED_FEATURE_FIELDS: tuple[str, ...] = ("fid", "name_zh", "district", "part", "accuracy")


def district_code(text: str) -> str:
    """Return the district code for a code, an English or a Chinese name (``longgang``, ``龙岗``, ``龙岗区``).

    Examples
    --------
    >>> district_code("Longhua"), district_code("坪山"), district_code("440307")
    ('440309', '440310', '440307')
    """
    key = text.strip().lower()
    for code, (zh, en) in DISTRICTS.items():
        if key in (code, en.lower(), zh, zh.rstrip("区")):
            return code
    known = ", ".join(f"{code} ({en}, {zh})" for code, (zh, en) in DISTRICTS.items())
    raise ValueError(f"unknown district {text!r}; use one of {known}")


#: Parts a feature or a target may name. The first five are drawn in the shipped layers; the
#: others are figures the plans give for parts that no layer draws yet (a park's green area,
#: Longgang's industrial-land retention zone and block-line area), reported as ``no polygon``.
PARTS: tuple[str, ...] = (
    "extent",
    "consolidation",
    "reserve",
    "demolition",
    "site",
    "green",
    "roads",
    "paving",
    "parking",
    "retention_zone",
    "block_line",
)
#: The parts each thematic layer's features have (the parts :data:`gis.style.STYLES` draws; a
#: sketch may be proposed as one of them): the other parts above are figures no layer draws.
LAYER_PARTS: dict[str, tuple[str, ...]] = {
    "consolidation_zones": ("extent", "consolidation", "reserve"),
    "renewal_units": ("extent", "demolition"),
    "industrial_land": ("extent", "site"),
    "parks": ("extent",),
}
#: Chinese names of the parts (the parts a style draws have their title in :mod:`gis.style`).
PART_TITLES_ZH: dict[str, str] = {
    "extent": "范围",
    "consolidation": "整备范围",
    "reserve": "收储用地",
    "demolition": "拆除范围",
    "site": "项目用地",
    "green": "绿地",
    "roads": "道路",
    "paving": "铺装",
    "parking": "停车",
    "retention_zone": "工业用地保留提升区",
    "block_line": "工业区块线",
}
#: Categories of the thematic features (field ``category``; layers/README.md) -> (Chinese, English).
CATEGORIES: dict[str, tuple[str, str]] = {
    "consolidation_zone": ("土地整备片区", "Land-consolidation zone"),
    "renewal_unit": ("城市更新单元", "Urban-renewal unit"),
    "park": ("公园", "Park"),
    "advanced_manufacturing_park": ("先进制造业园区", "Advanced-manufacturing park"),
    "high_tech_zone": ("高新区", "High-tech zone"),
    "industrial_red_line": ("工业用地红线片区", "Industrial-land red-line area"),
    "key_area": ("重点区域", "Key area"),
    "cluster_area": ("产业集聚区", "Industrial cluster area"),
    "science_city": ("科教城", "Science and education city"),
    "project_site": ("项目用地", "Project site"),
}
#: Land classes of the toolkit: every code of every code system (``gis/data/codes/``) maps to one
#: (or to none, when its children fall in several: 用地用海 10 工矿用地 holds industrial and mining).
LAND_CLASSES: dict[str, tuple[str, str]] = {
    "farmland": ("耕地", "Farmland"),
    "orchard": ("园地", "Orchards and plantations"),
    "forest": ("林地", "Forest"),
    "grassland": ("草地", "Grassland"),
    "wetland": ("湿地", "Wetland"),
    "agricultural_facility": ("农业设施建设用地", "Agricultural facilities"),
    "residential": ("居住用地", "Residential"),
    "public_service": ("公共管理与公共服务用地", "Public administration and services"),
    "commercial": ("商业服务业用地", "Commercial"),
    "industrial": ("工业用地", "Industrial"),
    "mining": ("采矿用地", "Mining and salt pans"),
    "logistics": ("物流仓储用地", "Logistics and warehousing"),
    "transport": ("交通运输用地", "Transport"),
    "utilities": ("公用设施用地", "Utilities"),
    "park_green": ("绿地与开敞空间用地", "Parks, green and open space"),
    "special": ("特殊用地", "Special use"),
    "water": ("陆地水域", "Water"),
    "sea": ("海域", "Sea use"),
    "other": ("其他土地", "Other land"),
}
#: The code systems a land-use layer may use (file ``gis/data/codes/<key>.csv``) -> its standard.
CODE_SYSTEMS: dict[str, str] = {
    "yongdi": "《国土空间调查、规划、用途管制用地用海分类指南》(2023)",
    "sandiao": "第三次全国国土调查工作分类 / GB/T 21010-2017《土地利用现状分类》",
    "shenzhen": "《深圳市城市规划标准与准则》用地分类",
}
#: A web map draws the land-use parcels of its district only up to this many (100k draw in about
#: 2 s and weigh about 7 MB in the page); above it the overlay is left out, with a warning.
MAP_LANDUSE_MAX = 250_000
#: Kinds of control line (``control_lines`` layer) -> (Chinese, English).
CONTROL_KINDS: dict[str, tuple[str, str]] = {
    "block_line_1": ("一级工业区块线", "Industrial block line, level 1"),
    "block_line_2": ("二级工业区块线", "Industrial block line, level 2"),
    "retention_zone": ("工业用地保留提升区", "Industrial retention-and-upgrading zone"),
    "eco_redline": ("生态保护红线", "Ecological protection red line"),
    "basic_farmland": ("永久基本农田", "Permanent basic farmland"),
    "urban_boundary": ("城镇开发边界", "Urban development boundary"),
}
#: A target's control kind that stands for several kinds (the block line is both its levels).
CONTROL_GROUPS: dict[str, tuple[str, ...]] = {"block_line": ("block_line_1", "block_line_2")}

#: The review of a sketch (``gis review``, the map's sketch panel; :mod:`gis.review`): control kinds
#: a sketch must not overlap (an overlap is a conflict: exit code 1), and kinds (or groups) it
#: is reported inside or outside of.
CONFLICT_KINDS: tuple[str, ...] = ("eco_redline", "basic_farmland")
BOUNDARY_KINDS: tuple[str, ...] = ("block_line", "urban_boundary")
#: Overlaps smaller than this (square metres) are where outlines touch, not overlap: not reported.
REVIEW_MIN_M2 = 1.0
#: The part a sketch proposed as a thematic layer alone (``consolidation_zones``) takes: the part
#: ``gis import --layer L`` stores it with, so the review moves the totals the import will.
PROPOSAL_PART = "extent"
#: What a sketch proposed as a thematic layer turns its land into, for the land-use totals.
PROPOSAL_LAND_CLASS: dict[str, str] = {"parks": "park_green", "industrial_land": "industrial"}
#: Properties of an exported sketch that hold the map's review figures; ``gis import`` ignores them.
REVIEW_PREFIX = "review_"

#: Longitude/latitude bounds any layer of this toolkit must fall in (degrees); a coordinate
#: outside them is in metres or another frame.
LONLAT_BOUNDS: tuple[float, float, float, float] = (113.7, 22.3, 114.7, 22.9)

#: Columns of the targets table, in order.
TARGET_COLUMNS: tuple[str, ...] = (
    "target_id",
    "scope",
    "fid",
    "part",
    "district",
    "layer",
    "metric",
    "comparator",
    "value",
    "unit",
    "tolerance_pct",
    "horizon",
    "source_file",
    "source_ref",
    "note",
)
SCOPES: tuple[str, ...] = ("feature", "aggregate", "consistency")
METRICS: tuple[str, ...] = ("area", "floor_area", "plot_ratio")
COMPARATORS: tuple[str, ...] = ("approx", "at_least", "more_than", "at_most")

#: Hectares per unit, for land and floor areas.
AREA_UNITS_HA: dict[str, float] = {"ha": 1.0, "km2": 100.0, "m2": 1e-4, "万m2": 1.0}
RATIO_UNITS: tuple[str, ...] = ("ratio",)

#: One status per target.
MET = "met"
WITHIN = "within tolerance"
SHORT = "short"
OVER = "over"
NO_POLYGON = "no polygon"
NOT_CHECKABLE = "not checkable by area"
#: A target on land classes or control lines when the layers have no such layer (or none for its district).
NO_LANDUSE = "no land-use layer"
NO_CONTROL = "no control-line layer"
STATUSES: tuple[str, ...] = (MET, WITHIN, SHORT, OVER, NO_POLYGON, NO_LANDUSE, NO_CONTROL, NOT_CHECKABLE)
#: Checkable statuses, worst first: a feature with several figures shows the worst.
STATUS_RANK: tuple[str, ...] = (OVER, SHORT, WITHIN, MET)

#: Geodesic and planar areas may differ by this much before the check warns (per cent).
GEODESIC_WARN_PCT = 0.05
#: Share of a part's area that must lie inside its parent (per cent).
WITHIN_PARENT_PCT = 99.9

#: QA: overlaps smaller than this (m², EPSG:4547) are shared-edge noise, not findings.
QA_OVERLAP_MIN_M2 = 1.0
#: QA: an overlap thinner than this on average (m: twice its area over its perimeter) is a sliver.
QA_SLIVER_WIDTH_M = 2.0
#: QA: features (or polygons of one feature) closer than this (m) without touching leave a gap.
QA_GAP_M = 5.0
#: QA of the land-use layer: an official area (三调 TBMJ, 控规 YDMJ) differing from the computed one by
#: more than this share (per cent) and by more than QA_OFFICIAL_AREA_M2 (m²) is a warning.
QA_OFFICIAL_AREA_PCT = 1.0
QA_OFFICIAL_AREA_M2 = 1.0


def default_layers_dir() -> Path:
    """Return the layers folder: ``./layers`` if it exists, else the one shipped beside the package."""
    here = Path.cwd() / "layers"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[1] / "layers"


#: Fields the check computes for each feature: exported, never imported back.
COMPUTED_FIELDS: tuple[str, ...] = (
    "area_ha",
    "geodesic_ha",
    "planned_ha",
    "delta_ha",
    "delta_pct",
    "status",
    "checks_failed",
    "target_ids",
    "citation",
)
#: The files of a Shapefile the export writes (and replaces), and gis import reads.
SHAPEFILE_MEMBERS: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".fields.csv")
#: Shapefile field names are at most 10 characters: the longer ones are mapped.
SHAPEFILE_NAMES: dict[str, str] = {
    "geodesic_ha": "geodes_ha",
    "checks_failed": "chk_failed",
    "source_file": "src_file",
    "location_basis": "loc_basis",
    "location_confidence": "loc_conf",
    "position_ref": "pos_ref",
    "position_error_m": "pos_err_m",
    "position_lon": "pos_lon",
    "position_lat": "pos_lat",
}
