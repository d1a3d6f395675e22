"""The report's land-use view: area per district and land class (a table and a bar chart), and the land-use targets.

:mod:`gis.report` shows it as one more sheet (with a native bar chart per district, on the
table's cells) or section (an inline SVG bar chart per district beside its rows). Without a
land-use layer the view says plainly which targets need one and how to add it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from gis import settings, style
from gis.landuse import ADD_CONTROL_HINT, ADD_LANDUSE_HINT, summarize_landuse
from gis.model import CheckRun

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

#: The land-use table's columns: summary column -> bilingual header.
LANDUSE_COLUMNS: dict[str, str] = {
    "district": "区 District",
    "class": "地类 Class",
    "name_zh": "名称 Name",
    "codes": "代码 Codes",
    "n": "图斑 Parcels",
    "area_ha": "面积(公顷) Area ha",
    "share_pct": "占区面积% Share",
    "official_ha": "官方面积(公顷) Official ha",
}
NOTE_COLUMN = "说明 Note"
#: Layers a land-use target names.
LANDUSE_LAYERS: tuple[str, ...] = (settings.LANDUSE_LAYER, settings.CONTROL_LAYER)


@dataclass(frozen=True)
class Chart:
    """One district's bar chart: area (ha) by land class, over rows ``start``..``stop`` of the view's table."""

    title: str
    start: int
    stop: int
    labels: list[str]
    values: list[float]
    colors: list[str]


def landuse_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Return the result rows of the targets on the land-use layer or the control lines."""
    return results[results["layer"].isin(LANDUSE_LAYERS)]


def landuse_table(run: CheckRun) -> tuple[pd.DataFrame, list[Chart]]:
    """Return the area per district and land class (:func:`gis.landuse.summarize_landuse`) and a chart per district.

    Without a land-use layer: a one-column table (``说明 Note``) saying which targets need one and how to add it.
    """
    if run.landuse is None:
        return pd.DataFrame({NOTE_COLUMN: missing_layer_notes(run.results)}), []
    summary = summarize_landuse(run.landuse, run.districts)
    table = summary.reindex(columns=list(LANDUSE_COLUMNS)).copy()
    table["district"] = [settings.DISTRICTS[d][0] for d in table["district"]]
    system = f"{run.landuse.system} (合成数据 SYNTHETIC)" if run.landuse.synthetic else run.landuse.system
    table["codes"] = [f"{system}: {c}" for c in table["codes"]]
    table["share_pct"] = table["share_pct"] / 100.0  # a fraction: the spreadsheet formats it as %
    charts = []
    for code, (zh, en) in settings.DISTRICTS.items():
        at = (summary["district"] == code).to_numpy().nonzero()[0]
        if not len(at):
            continue
        rows = summary.iloc[at]
        charts.append(
            Chart(
                f"{zh} {en}: 各地类面积（公顷） area by land class (ha)",
                int(at[0]),
                int(at[-1]) + 1,
                [str(v) for v in rows["name_zh"]],
                [float(v) for v in rows["area_ha"]],
                [style.LAND_CLASS_COLORS[c] for c in rows["class"]],
            )
        )
    table = table.astype(object).where(table.notna(), None)
    return table.rename(columns=LANDUSE_COLUMNS), charts


def missing_layer_notes(results: pd.DataFrame) -> list[str]:
    """Return, line by line, that there is no land-use layer, which targets need one, and how to add it."""
    rows = landuse_rows(results)
    lines = [
        "无土地利用图层 No land-use layer: the layers folder has no landuse.parquet (.gpkg, .gdb, .shp, .geojson)."
    ]
    need = rows[rows["status"] == settings.NO_LANDUSE]
    if len(need):
        lines.append(
            f"需要土地利用图层的目标 Targets that need one ({len(need)}, status {settings.NO_LANDUSE}): "
            + ", ".join(f"{t} ({p})" for t, p in zip(need["target_id"], need["part"], strict=True))
        )
    else:
        lines.append(
            "没有目标需要它 No target needs one; a layer would still add this view (area per district and class)."
        )
    lines.append(f"添加 How to add one: {ADD_LANDUSE_HINT}")
    control = rows[rows["status"] == settings.NO_CONTROL]
    if len(control):
        lines.append(
            f"需要管控线图层的目标 Targets that need control lines ({len(control)}, status {settings.NO_CONTROL}): "
            + ", ".join(control["target_id"])
            + f". {ADD_CONTROL_HINT}"
        )
    return lines


def targets_intro(run: CheckRun) -> str:
    """Return the introduction of the land-use targets: what they count, and what is missing."""
    text = "土地利用与管控线目标 / targets on land classes, codes and control lines (layer landuse or control_lines)"
    if run.landuse is None:
        text += "; 无土地利用图层 no land-use layer: gis import FILE --layer landuse"
    elif run.landuse.synthetic:
        text += "; 合成数据 the land-use parcels are a SYNTHETIC sample, not real data"
    if run.control is None:
        text += "; 无管控线图层 no control-line layer: gis import FILE --layer control_lines --kind KIND"
    return text


def bar_svg(chart: Chart) -> str:
    """Return a horizontal bar chart of the chart's areas as inline SVG (labels are text, not paths)."""
    label_w, bar_w, row_h = 150, 260, 18
    top = max(chart.values, default=0.0) or 1.0
    rows = []
    for i, (label, value, color) in enumerate(zip(chart.labels, chart.values, chart.colors, strict=True)):
        y = i * row_h
        w = value / top * bar_w
        rows.append(
            f'<text x="{label_w - 4}" y="{y + 13}" text-anchor="end" font-size="11">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="12" fill="{color}" stroke="#636363" stroke-width="0.5"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11">{value:,.2f}</text>'
        )
    height = row_h * len(chart.labels) + 4
    return (
        f'<svg class="bars" width="{label_w + bar_w + 70}" height="{height}" role="img" '
        f'aria-label="{html.escape(chart.title)}">{"".join(rows)}</svg>'
    )


def add_xlsx_charts(ws: Worksheet, charts: list[Chart], headers: list[str]) -> None:
    """Add a bar chart per district beside the table, on its own cells (names, areas), each bar in its class's colour."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.chart.data_source import AxDataSource, StrRef
    from openpyxl.chart.marker import DataPoint

    if not charts:
        return
    name_col = headers.index(LANDUSE_COLUMNS["name_zh"]) + 1
    area_col = headers.index(LANDUSE_COLUMNS["area_ha"]) + 1
    anchor_col = ws.cell(1, len(headers) + 2).column_letter
    row = 1
    for chart in charts:
        first, last = chart.start + 2, chart.stop + 1  # sheet rows: the header is row 1
        bars: Any = BarChart()
        bars.type, bars.style, bars.legend = "bar", 10, None
        bars.title = chart.title
        bars.x_axis.title, bars.y_axis.title = None, "ha"
        bars.x_axis.scaling.orientation = "maxMin"  # the first class on top, as in the table
        bars.add_data(Reference(ws, min_col=area_col, min_row=first, max_row=last), titles_from_data=False)
        series = bars.series[0]
        names = Reference(ws, min_col=name_col, min_row=first, max_row=last)
        series.cat = AxDataSource(strRef=StrRef(f=str(names)))  # the class names are text, not numbers
        for i, color in enumerate(chart.colors):
            point = DataPoint(idx=i)
            point.graphicalProperties.solidFill = color.lstrip("#").upper()
            point.graphicalProperties.line.solidFill = "636363"
            series.dPt.append(point)
        bars.height, bars.width = max(4.0, 0.6 * len(chart.labels) + 2.0), 16.0
        ws.add_chart(bars, f"{anchor_col}{row}")
        row += int(bars.height * 2) + 2  # about two rows per centimetre
