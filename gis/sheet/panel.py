"""The panel of a sheet: title block, legend, district totals, scale and north arrow, notes.

Each part is a :class:`Block` of drawing operations in millimetres from its top-left corner, so
its height is known before it is drawn; :func:`flow` stacks the blocks into the layout's columns
and makes the text smaller until they fit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.patches import Circle, Polygon, Rectangle
from pyproj import Transformer

from gis import settings, style
from gis.crs import AREA_CRS, LAYER_CRS
from gis.sheet.content import SheetContent, part_title
from gis.sheet.fonts import text_width_mm, wrap_text
from gis.sheet.layout import PT_PER_MM, Box, format_length, format_scale, paper_mm, scalebar_length_m
from gis.sheet.mapframe import DOT_MM, MIN_FEATURE_MM, PT_PER_WEIGHT, MapResult, outline_color

GREY = "#525252"
#: Line height as a multiple of the font size.
LEADING = 1.3
#: The scale bar's height on paper (mm) and the number of its segments.
SCALEBAR_MM = 1.8
SCALEBAR_SEGMENTS = 4


@dataclass
class Block:
    """Drawing operations in mm from the block's top-left corner (y grows downwards), and the block's height."""

    width: float
    font: Path
    ops: list[Callable[[Axes, float, float], Any]] = field(default_factory=list)
    height: float = 0.0

    def line_height(self, size: float) -> float:
        """Return the height of one line of text at ``size`` points (mm)."""
        return size / PT_PER_MM * LEADING

    def text(self, x: float, y: float, s: str, size: float, **kw: Any) -> None:
        """Add text with its top-left corner (or ``ha``'s point) at (x, y)."""
        options = {"ha": "left", "color": "black", **kw}
        self.ops.append(lambda ax, x0, top: ax.text(x0 + x, top - y, s, fontsize=size, va="top", **options))

    def paragraph(self, s: str, size: float, *, x: float = 0.0, color: str = "black") -> None:
        """Add text wrapped to the block's width below what is there; the height grows by its lines."""
        for line in wrap_text(s, self.width - x, size, self.font):
            self.text(x, self.height, line, size, color=color)
            self.height += self.line_height(size)

    def rect(self, x: float, y: float, w: float, h: float, **kw: Any) -> None:
        """Add a rectangle with its top-left corner at (x, y); never snapped to a device pixel (its size is exact)."""
        self.ops.append(lambda ax, x0, top: ax.add_patch(Rectangle((x0 + x, top - y - h), w, h, snap=False, **kw)))

    def line(self, xs: list[float], ys: list[float], **kw: Any) -> None:
        """Add a polyline."""
        self.ops.append(lambda ax, x0, top: ax.plot([x0 + v for v in xs], [top - v for v in ys], **kw))

    def polygon(self, xy: list[tuple[float, float]], **kw: Any) -> None:
        """Add a closed polygon."""
        self.ops.append(lambda ax, x0, top: ax.add_patch(Polygon([(x0 + a, top - b) for a, b in xy], **kw)))

    def circle(self, x: float, y: float, r: float, **kw: Any) -> None:
        """Add a circle centred at (x, y)."""
        self.ops.append(lambda ax, x0, top: ax.add_patch(Circle((x0 + x, top - y), r, **kw)))

    def draw(self, ax: Axes, x: float, top: float) -> None:
        """Draw the block with its top-left corner at (x, top) on the page (mm)."""
        for op in self.ops:
            op(ax, x, top)


def title_block(c: SheetContent, width: float, font: Path, pt: float) -> Block:
    """Return the title block: title, district, date and toolkit version, and how accurate the data is."""
    b = Block(width, font)
    size = pt * 2.0  # one line where it can: smaller for a long title, down to 1.5 times the body text
    while size > pt * 1.5 and text_width_mm(c.title, size, font) > width:
        size *= 0.95
    b.paragraph(c.title, size)
    b.height += 0.6
    if c.subtitle:
        b.paragraph(c.subtitle, pt * 1.05, color=GREY)
    b.paragraph(c.district_line, pt)
    b.paragraph(f"制图日期 Date: {c.date}    {c.version}", pt, color=GREY)
    for line in c.accuracy:
        b.height += 0.8
        b.paragraph(line, pt * 0.95, color="#a63603")
    b.height += 1.5
    b.line([0, width], [b.height, b.height], color=GREY, linewidth=0.5)
    return b


def _swatch(b: Block, y: float, st: style.Style, edge: str, size: float) -> None:
    h = size / PT_PER_MM * 1.1
    dash = (0.0, tuple(float(v) * 0.6 for v in st.dash.split())) if st.dash else "solid"
    b.rect(0.0, y, h * 1.6, h, facecolor="white", edgecolor="none")
    b.rect(
        0.0,
        y,
        h * 1.6,
        h,
        facecolor=to_rgba(st.fill_color, st.fill_opacity),
        edgecolor=edge,
        linewidth=st.weight * PT_PER_WEIGHT,
        linestyle=dash,
    )


def legend_block(c: SheetContent, result: MapResult, width: float, font: Path, pt: float) -> Block:
    """Return the legend, from the style definition: fills by layer and part, outlines by status, the districts."""
    b = Block(width, font)
    b.height += 1.5
    b.paragraph("图例 Legend", pt * 1.2)
    b.height += 0.5
    lh = b.line_height(pt) * 1.1
    indent = pt / PT_PER_MM * 1.1 * 1.6 + 2.0
    for layer, part in c.legend_parts():
        st = style.style_for(layer, part)
        _swatch(b, b.height, st, st.line_color, pt)
        title = f"{st.title_zh}  {st.title_en}" if (layer, part) in style.STYLES else part_title(layer, part)
        b.text(indent, b.height, title, pt)
        b.height += lh
    _swatch(b, b.height, style.DISTRICT_STYLE, style.DISTRICT_STYLE.line_color, pt)
    b.text(indent, b.height, f"{style.DISTRICT_STYLE.title_zh}  {style.DISTRICT_STYLE.title_en}", pt)
    b.height += lh
    if result.dots:
        b.circle(
            1.0 + DOT_MM / 2, b.height + DOT_MM / 2, DOT_MM / 2, facecolor="#9e9e9e", edgecolor=GREY, linewidth=0.6
        )
        b.text(
            indent,
            b.height,
            f"小于 {MIN_FEATURE_MM:g} mm 的图斑以点表示  features under {MIN_FEATURE_MM:g} mm, as dots",
            pt * 0.9,
        )
        b.height += lh
    b.height += 0.8
    b.paragraph("轮廓 = 核查状态  Outline = check status", pt * 0.95, color=GREY)
    statuses = c.statuses()
    for status in statuses:
        y = b.height + b.line_height(pt) * 0.45
        b.line([0.0, indent - 2.0], [y, y], color=outline_color(status), linewidth=1.6, solid_capstyle="butt")
        name = f"{style.STATUS_ZH[status]}  {status}" if status else "无规划数值  no plan figure"
        b.text(indent, b.height, f"{name} ({c.status_counts[status]})", pt)
        b.height += lh
    b.height += 1.0
    b.line([0, width], [b.height, b.height], color=GREY, linewidth=0.5)
    return b


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"


def totals_block(c: SheetContent, width: float, font: Path, pt: float) -> Block:
    """Return the district totals the plans give, planned against the digitized polygons (ha), and the features' statuses."""
    b = Block(width, font)
    b.height += 1.5
    b.paragraph("区级总量 District totals (公顷 ha)", pt * 1.2)
    b.height += 0.5
    size = pt * 0.9
    cols = [0.0, 0.40, 0.57, 0.71, 0.82]  # item, planned, measured, delta, status (fractions of the width)
    heads = [("项目", "Item"), ("规划", "Planned"), ("量测", "Measured"), ("差值", "Delta"), ("状态", "Status")]
    for x, (zh, en) in zip(cols, heads, strict=True):
        b.text(x * width, b.height, zh, size * 0.9, color=GREY)
        b.text(x * width, b.height + b.line_height(size * 0.9), en, size * 0.8, color=GREY)
    b.height += b.line_height(size * 0.9) + b.line_height(size * 0.8)
    b.line([0, width], [b.height, b.height], color=GREY, linewidth=0.4)
    b.height += 0.6
    by_district: dict[str, list[Any]] = {}
    for row in c.totals:
        by_district.setdefault(row.district, []).append(row)
    codes = [c.district] if c.district else [d for d in settings.DISTRICTS if d in set(c.districts["district"])]
    for code in codes:
        if c.district is None:
            b.paragraph(settings.DISTRICTS[code][0], size)
        rows = by_district.get(code, [])
        if not rows:
            b.paragraph("规划未给出区级用地总量  the plans give no district total", size, color=GREY)
        for row in rows:
            item = wrap_text(row.item_zh, width * (cols[1] - cols[0]) - 1.0, size, font)
            delta = "—" if row.delta_pct is None else f"{row.delta_pct:+.0f}%"
            status = f"{style.STATUS_ZH.get(row.status, row.status)}"
            values = [f"{row.comparator} {_number(row.planned_ha)}", _number(row.measured_ha), delta]
            for i, line in enumerate(item):
                b.text(0.0, b.height + i * b.line_height(size), line, size)
            for x, v in zip(cols[1:4], values, strict=True):
                b.text(x * width, b.height, v, size)
            sw = size / PT_PER_MM * 0.9
            b.rect(
                cols[4] * width,
                b.height + 0.25,
                sw,
                sw,
                facecolor=style.STATUS_COLORS.get(row.status, "white"),
                edgecolor="none",
            )
            b.text(cols[4] * width + sw + 1.0, b.height, status, size)
            b.height += b.line_height(size) * len(item)
            b.paragraph(f"出处 {row.refs}", size * 0.85, x=2.0, color=GREY)
            b.height += 0.4
    b.height += 0.6
    counts = "  ".join(f"{style.STATUS_ZH[s] if s else '无规划数值'} {c.status_counts[s]}" for s in c.statuses())
    b.paragraph(f"图斑核查 Features ({len(c.features)}): {counts}", size, color=GREY)
    b.height += 1.0
    b.line([0, width], [b.height, b.height], color=GREY, linewidth=0.5)
    return b


@functools.cache
def _transformers() -> tuple[Transformer, Transformer]:
    return (
        Transformer.from_crs(AREA_CRS, LAYER_CRS, always_xy=True),
        Transformer.from_crs(LAYER_CRS, AREA_CRS, always_xy=True),
    )


def grid_convergence_deg(extent: tuple[float, float, float, float]) -> float:
    """Return the angle from grid north to true north at the extent's centre (degrees, + east, - west)."""
    x, y = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    to_lonlat, to_grid = _transformers()
    lon, lat = to_lonlat.transform(x, y)
    nx, ny = to_grid.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(nx - x, ny - y))


def scale_block(c: SheetContent, scale: int, width: float, font: Path, pt: float) -> Block:
    """Return the numeric scale, a scale bar true at that scale, and a north arrow pointing to grid north."""
    b = Block(width, font)
    b.height += 2.0
    arrow_w = 12.0
    b.text(0.0, b.height, f"比例尺 Scale {format_scale(scale)}", pt * 1.3)
    b.height += b.line_height(pt * 1.3) + 1.0
    length_m = scalebar_length_m(scale, width - arrow_w - 10.0)
    bar_mm = paper_mm(length_m, scale)
    seg = bar_mm / SCALEBAR_SEGMENTS
    label_size = pt * 0.85
    top = b.height + b.line_height(label_size)
    for i in range(SCALEBAR_SEGMENTS + 1):
        value = (
            format_length(length_m * i / SCALEBAR_SEGMENTS)
            if i == SCALEBAR_SEGMENTS
            else f"{length_m * i / SCALEBAR_SEGMENTS / (1000 if length_m >= 1000 else 1):g}"
        )
        b.text(i * seg, b.height, value, label_size, ha="left" if i == 0 else "center")
    for i in range(SCALEBAR_SEGMENTS):
        b.rect(
            i * seg,
            top,
            seg,
            SCALEBAR_MM,
            facecolor="black" if i % 2 == 0 else "white",
            edgecolor="black",
            linewidth=0.4,
        )
    b.height = top + SCALEBAR_MM + 1.2
    b.paragraph(
        f"图上 1 cm = 实地 {format_length(scale / 100)}  1 cm on paper = {format_length(scale / 100)}",
        pt * 0.85,
        color=GREY,
    )
    # the north arrow, right of the scale: grid north is up
    ax0, ay0 = width - arrow_w + 2.0, 2.0
    b.polygon(
        [(ax0 + 4, ay0 + 3), (ax0 + 1, ay0 + 13), (ax0 + 4, ay0 + 11)],
        facecolor="black",
        edgecolor="black",
        linewidth=0.4,
    )
    b.polygon(
        [(ax0 + 4, ay0 + 3), (ax0 + 7, ay0 + 13), (ax0 + 4, ay0 + 11)],
        facecolor="white",
        edgecolor="black",
        linewidth=0.4,
    )
    b.text(ax0 + 4, ay0 - 0.5, "N", pt * 1.2, ha="center")
    b.height = max(b.height, ay0 + 14.0)
    gamma = grid_convergence_deg(c.extent)
    side = "东" if gamma > 0 else "西"
    b.paragraph(
        f"指北针指向坐标北（高斯-克吕格投影）；真北偏{side} {abs(gamma):.2f}°  "
        f"North arrow: grid north (Gauss-Kruger); true north is {abs(gamma):.2f}° {'east' if gamma > 0 else 'west'} of it.",
        pt * 0.85,
        color=GREY,
    )
    b.height += 1.0
    b.line([0, width], [b.height, b.height], color=GREY, linewidth=0.5)
    return b


def notes_block(
    c: SheetContent, result: MapResult, width: float, font: Path, pt: float, background: Path | None
) -> Block:
    """Return the notes: the frame, the grid, the sources and what the sheet left out."""
    b = Block(width, font)
    b.height += 1.5
    size = pt * 0.85
    b.paragraph(
        f"坐标系 CRS: CGCS2000 / 3-degree Gauss-Kruger CM 114E (EPSG:4547)；格网 {format_length(result.grid_m)}，"
        "坐标单位米 (grid ticks: easting at top and bottom, northing at the sides, metres)",
        size,
    )
    b.paragraph("面积为 EPSG:4547 平面面积 / areas are planar in EPSG:4547.", size)
    if c.citations:
        b.height += 0.6
        b.paragraph("资料来源 Sources", size * 1.1)
        for key, title, file in c.citations:
            b.paragraph(f"{key} {title}" + (f" ({file})" if file != title else ""), size)
    for note in c.notes:
        b.paragraph(note, size, color=GREY)
    if background is not None:
        b.paragraph(f"底图 Background: {background.name}", size, color=GREY)
    if result.unlabelled:
        b.paragraph(
            f"{result.unlabelled} 个图斑名称因空间不足未标注 / {result.unlabelled} names left out for lack of room.",
            size,
            color=GREY,
        )
    return b


def flow(blocks: list[Block], columns: tuple[Box, ...]) -> list[tuple[Block, float, float]] | None:
    """Stack the blocks top-down into the columns; the last block goes to the bottom of its column.

    Returns (block, x, top) for each, or None when they do not fit.
    """
    out: list[tuple[Block, float, float]] = []
    col, used = 0, 0.0
    for block in blocks:
        while col < len(columns) and used + block.height > columns[col].height:
            if used == 0.0:
                return None
            col, used = col + 1, 0.0
        if col == len(columns):
            return None
        box = columns[col]
        out.append((block, box.x, box.top - used))
        used += block.height
    block, x, _ = out[-1]
    out[-1] = (block, x, columns[col].y + block.height)
    return out
