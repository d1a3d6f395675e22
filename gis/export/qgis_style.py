"""QGIS styles (QML and SLD) for the exported layers, generated from :mod:`gis.style`.

One rule per (part, status): fill by layer and part, outline by check status, as in the web
map; labels with the Chinese name; Chinese aliases for the fields; parts drawn above their
extents; the edit form (:mod:`gis.export.forms`: drop-downs for the coded fields, read-only
computed fields, ids required and unique). The GeoPackage export stores them in ``layer_styles`` so
QGIS applies them on opening.
"""

from __future__ import annotations

import dataclasses
from xml.sax.saxutils import escape, quoteattr

from gis import settings, style
from gis.export.forms import form_for, form_qml

NO_TARGET_COLOR = style.NO_TARGET_COLOR
_PART_ORDER = ("extent", "consolidation", "demolition", "site", "reserve")


def _rgba(hex_color: str, alpha: float = 1.0) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _rules(layer: str) -> list[tuple[str, str, str | None, style.Style, str]]:
    """(label, part, status, style, outline colour) for each part and status of a layer.

    Part ``*`` stands for every part without a style of its own, drawn in the layer's extent
    style as the web map does (:func:`gis.style.style_for`).
    """
    pairs = [(part, st) for (lyr, part), st in style.STYLES.items() if lyr == layer]
    pairs.append(("*", style.style_for(layer, "extent")))
    out = []
    for part, st in pairs:
        title = f"{st.title_zh} {st.title_en}" if part != "*" else "其他部分 Other parts"
        for status in [*settings.STATUS_RANK, None]:
            color = style.STATUS_COLORS[status] if status else NO_TARGET_COLOR
            label = f"{title} · " + (f"{style.STATUS_ZH[status]} {status}" if status else "无目标 no target")
            out.append((label, part, status, st, color))
    return out


def _styled_parts(layer: str) -> list[str]:
    return [p for (lyr, p) in style.STYLES if lyr == layer]


def _qml_filter(part: str, status: str | None, layer: str) -> str:
    cond = f"\"status\" = '{status}'" if status else '"status" IS NULL'
    if part == "*":
        return '"part" NOT IN (' + ", ".join(f"'{p}'" for p in _styled_parts(layer)) + f") AND {cond}"
    return f"\"part\" = '{part}' AND {cond}"


def _sld_part(part: str, layer: str) -> str:
    if part != "*":
        return f"<ogc:PropertyIsEqualTo><ogc:PropertyName>part</ogc:PropertyName><ogc:Literal>{part}</ogc:Literal></ogc:PropertyIsEqualTo>"
    return "".join(
        f"<ogc:PropertyIsNotEqualTo><ogc:PropertyName>part</ogc:PropertyName><ogc:Literal>{p}</ogc:Literal></ogc:PropertyIsNotEqualTo>"
        for p in _styled_parts(layer)
    )


def qml_for(layer: str, fields: list[str]) -> str:
    """Return the QML (QGIS layer style) of a thematic layer whose table has ``fields``."""
    rules = _rules(layer)
    rule_xml = "\n".join(
        f'      <rule key="r{i}" symbol="{i}" label={quoteattr(label)} filter={quoteattr(_qml_filter(part, status, layer))}/>'
        for i, (label, part, status, _, _) in enumerate(rules)
    )
    symbols = "\n".join(
        _qml_symbol(str(i), st, color, st.weight / 4 + (0.15 if status else 0))
        for i, (_, _, status, st, color) in enumerate(rules)
    )
    order = " ".join(f"WHEN '{p}' THEN {i}" for i, p in enumerate(_PART_ORDER))
    aliases = "\n".join(
        f'    <alias field={quoteattr(f)} index="{i}" name={quoteattr(settings.FIELD_ALIASES_ZH.get(f, ""))}/>'
        for i, f in enumerate(fields)
    )
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology|Labeling|Fields|Forms">
  <renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="1" forceraster="0">
    <rules key="root">
{rule_xml}
    </rules>
    <symbols>
{symbols}
    </symbols>
    <orderby>
      <orderByClause asc="1" nullsFirst="0">{escape(f'CASE "part" {order} ELSE 9 END')}</orderByClause>
    </orderby>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="name_zh" isExpression="0" fontFamily="Noto Sans CJK SC" fontSize="8" fontSizeUnit="Point" textColor="40,40,40,255" textOpacity="1" namedStyle="Regular">
        <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.8"/>
      </text-style>
      <placement placement="1" dist="0" priority="5" overlapHandling="PreventOverlap"/>
      <rendering scaleVisibility="1" scaleMin="1" scaleMax="200000" obstacle="1" fontLimitPixelSize="0"/>
    </settings>
  </labeling>
  <aliases>
{aliases}
  </aliases>
{form_qml(form_for(layer).present(fields))}
  <layerGeometryType>2</layerGeometryType>
</qgis>
"""


def _qml_symbol(name: str, st: style.Style, outline: str, width_mm: float) -> str:
    dash = "dash" if st.dash else "solid"
    return f"""      <symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
          <Option type="Map">
            <Option name="color" type="QString" value="{_rgba(st.fill_color, st.fill_opacity)}"/>
            <Option name="style" type="QString" value="solid"/>
            <Option name="outline_color" type="QString" value="{_rgba(outline)}"/>
            <Option name="outline_style" type="QString" value="{dash}"/>
            <Option name="outline_width" type="QString" value="{width_mm:.2f}"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="joinstyle" type="QString" value="round"/>
          </Option>
        </layer>
      </symbol>"""


def district_qml() -> str:
    """Return the QML of the districts layer (background outline)."""
    st = style.DISTRICT_STYLE
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology|Labeling">
  <renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0">
    <symbols>
{_qml_symbol("0", dataclasses.replace(st, fill_opacity=0.0), st.line_color, 0.6)}
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="name_zh" isExpression="0" fontFamily="Noto Sans CJK SC" fontSize="12" fontSizeUnit="Point" textColor="99,99,99,255" textOpacity="1"/>
      <placement placement="0" dist="0" priority="5"/>
    </settings>
  </labeling>
  <layerGeometryType>2</layerGeometryType>
</qgis>
"""


#: Colours of QA findings by severity (the web map uses the same).
QA_COLORS: dict[str, str] = {"error": "#c0392b", "warning": "#e67e22"}


def qa_qml() -> str:
    """Return the QML of the QA findings layer: a point per finding, red for errors, orange for warnings."""
    symbols, categories = [], []
    for i, (severity, color) in enumerate(QA_COLORS.items()):
        symbols.append(
            f"""      <symbol type="marker" name="{i}" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option type="QString" name="color" value="{_rgba(color)}"/>
            <Option type="QString" name="name" value="circle"/>
            <Option type="QString" name="outline_color" value="255,255,255,255"/>
            <Option type="QString" name="outline_width" value="0.4"/>
            <Option type="QString" name="size" value="3.2"/>
          </Option>
        </layer>
      </symbol>"""
        )
        categories.append(f'      <category render="true" symbol="{i}" value="{severity}" label="{severity}"/>')
    nl = "\n"
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology|Labeling">
  <renderer-v2 type="categorizedSymbol" attr="severity" symbollevels="0" forceraster="0">
    <categories>
{nl.join(categories)}
    </categories>
    <symbols>
{nl.join(symbols)}
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="check" isExpression="0" fontFamily="Noto Sans CJK SC" fontSize="8" fontSizeUnit="Point" textColor="60,60,60,255" textOpacity="1"/>
      <placement placement="1" dist="1.5" priority="5"/>
    </settings>
  </labeling>
  <layerGeometryType>0</layerGeometryType>
</qgis>
"""


def sld_for(layer: str, *, table: str) -> str:
    """Return an SLD 1.1 style of a thematic layer: the same rules as its QML."""
    rules = []
    for name, part, status, st, color in _rules(layer):
        status_filter = (
            f"<ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>{status}</ogc:Literal></ogc:PropertyIsEqualTo>"
            if status
            else "<ogc:PropertyIsNull><ogc:PropertyName>status</ogc:PropertyName></ogc:PropertyIsNull>"
        )
        dash = f'<se:SvgParameter name="stroke-dasharray">{st.dash}</se:SvgParameter>' if st.dash else ""
        rules.append(
            f"""      <se:Rule>
        <se:Name>{escape(name)}</se:Name>
        <ogc:Filter><ogc:And>{_sld_part(part, layer)}{status_filter}</ogc:And></ogc:Filter>
        <se:PolygonSymbolizer>
          <se:Fill><se:SvgParameter name="fill">{st.fill_color}</se:SvgParameter><se:SvgParameter name="fill-opacity">{st.fill_opacity}</se:SvgParameter></se:Fill>
          <se:Stroke><se:SvgParameter name="stroke">{color}</se:SvgParameter><se:SvgParameter name="stroke-width">{st.weight + (1 if status else 0)}</se:SvgParameter>{dash}</se:Stroke>
        </se:PolygonSymbolizer>
      </se:Rule>"""
        )
    body = "\n".join(rules)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
  <NamedLayer>
    <se:Name>{escape(table)}</se:Name>
    <UserStyle>
      <se:Name>{escape(table)}</se:Name>
      <se:FeatureTypeStyle>
{body}
      </se:FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
"""


#: Chinese aliases of the land-use layer's fields in QGIS.
LANDUSE_ALIASES_ZH: dict[str, str] = {
    "parcel_id": "图斑编号",
    "code": "用地代码",
    "code_system": "分类体系",
    "code_name": "用地名称",
    "land_class": "地类",
    "class_zh": "地类名称",
    "district": "行政区代码",
    "area_ha": "量测面积（公顷）",
    "official_ha": "官方面积（公顷）",
    "source_file": "来源文件",
    "synthetic": "合成数据",
}


def _fill_symbol(name: str, fill: str, alpha: float, outline: str, width_mm: float, outline_style: str) -> str:
    brush = "solid" if alpha > 0 else "no"
    return f"""      <symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
          <Option type="Map">
            <Option name="color" type="QString" value="{_rgba(fill, alpha)}"/>
            <Option name="style" type="QString" value="{brush}"/>
            <Option name="outline_color" type="QString" value="{_rgba(outline)}"/>
            <Option name="outline_style" type="QString" value="{outline_style}"/>
            <Option name="outline_width" type="QString" value="{width_mm:.2f}"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
          </Option>
        </layer>
      </symbol>"""


def _categorized(
    attr: str,
    categories: list[tuple[str, str]],
    symbols: list[str],
    fields: list[str],
    aliases: dict[str, str],
    form: str,
) -> str:
    """Return the QML of a categorized renderer on ``attr``: (value, label) per category, one symbol each; ``form`` its edit form."""
    nl = "\n"
    cats = nl.join(
        f'      <category render="true" symbol="{i}" value={quoteattr(v)} label={quoteattr(label)}/>'
        for i, (v, label) in enumerate(categories)
    )
    alias = nl.join(
        f'    <alias field={quoteattr(f)} index="{i}" name={quoteattr(aliases.get(f, ""))}/>'
        for i, f in enumerate(fields)
    )
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology|Fields|Forms">
  <renderer-v2 type="categorizedSymbol" attr="{attr}" symbollevels="0" forceraster="0" enableorderby="0">
    <categories>
{cats}
    </categories>
    <symbols>
{nl.join(symbols)}
    </symbols>
  </renderer-v2>
  <aliases>
{alias}
  </aliases>
{form}
  <layerGeometryType>2</layerGeometryType>
</qgis>
"""


def landuse_qml(fields: list[str], *, code_system: str | None) -> str:
    """Return the QML of the land-use layer: fill by land class (:data:`gis.style.LAND_CLASS_COLORS`), labels in Chinese and English.

    Its form offers the codes of ``code_system``, the layer's one code system.
    """
    categories, symbols = [], []
    for i, (key, color) in enumerate(style.LAND_CLASS_COLORS.items()):
        zh, en = style.land_class_title(key)
        categories.append((key, f"{zh} {en}"))
        symbols.append(_fill_symbol(str(i), color, style.LANDUSE_FILL_OPACITY, style.LANDUSE_LINE_COLOR, 0.1, "solid"))
    form = form_qml(form_for(settings.LANDUSE_LAYER, code_system=code_system).present(fields))
    return _categorized("land_class", categories, symbols, fields, LANDUSE_ALIASES_ZH, form)


def control_qml(fields: list[str]) -> str:
    """Return the QML of the control lines: an outline per kind (:data:`gis.style.CONTROL_STYLES`), no fill."""
    categories, symbols = [], []
    for i, (kind, st) in enumerate(style.CONTROL_STYLES.items()):
        categories.append((kind, f"{st.title_zh} {st.title_en}"))
        symbols.append(
            _fill_symbol(str(i), st.fill_color, 0.0, st.line_color, st.weight / 3, "dash" if st.dash else "solid")
        )
    aliases = {"line_id": "编号", "kind": "类型", "name_zh": "名称", "district": "行政区代码"}
    form = form_qml(form_for(settings.CONTROL_LAYER).present(fields))
    return _categorized("kind", categories, symbols, fields, aliases, form)
