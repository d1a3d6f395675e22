"""The map frame of a sheet: districts, background, styled features, Chinese labels and the grid.

Labels are placed without overlaps where possible; the grid is CGCS2000's, in metres. The frame's axes span exactly ``width_mm * N / 1000`` metres of EPSG:4547 across and the same
per millimetre upwards, so the map is true to its scale 1:N in both directions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath
from shapely.geometry.polygon import orient

from gis import style
from gis.crs import AREA_CRS
from gis.raster import background_rgba
from gis.sheet.content import SheetContent
from gis.sheet.fonts import text_width_mm
from gis.sheet.layout import PT_PER_MM, Box, grid_interval, grid_values

#: Leaflet's line weights (pixels on screen) to points on paper.
PT_PER_WEIGHT = 0.45
#: A feature smaller than this on paper (mm across) is also drawn as a dot, so that it is seen.
MIN_FEATURE_MM = 1.2
DOT_MM = 1.5
LABEL_COLOR = "#252525"
#: A white outline of the glyphs under a label: drawn as a path, so the label on it stays text.
HALO = [patheffects.Stroke(linewidth=1.8, foreground="white")]


@dataclass(frozen=True)
class MapFrame:
    """A frame on the paper and the ground it shows at 1:``scale`` (EPSG:4547 metres)."""

    box: Box
    scale: int
    x0: float
    y0: float

    @classmethod
    def centred(cls, box: Box, scale: int, extent: tuple[float, float, float, float]) -> MapFrame:
        """Return the frame showing ``extent`` (minx, miny, maxx, maxy) centred at 1:``scale``."""
        cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
        return cls(box, scale, cx - box.width * scale / 2000, cy - box.height * scale / 2000)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The ground shown: (west, south, east, north) in metres."""
        k = self.scale / 1000.0
        return self.x0, self.y0, self.x0 + self.box.width * k, self.y0 + self.box.height * k

    def paper(self, x: float, y: float) -> tuple[float, float]:
        """Return a ground point (m) as millimetres on the paper."""
        k = 1000.0 / self.scale
        return self.box.x + (float(x) - self.x0) * k, self.box.y + (float(y) - self.y0) * k

    def ground(self, x: float, y: float) -> tuple[float, float]:
        """Return a point on the paper (mm) as ground coordinates (m)."""
        k = self.scale / 1000.0
        return self.x0 + (x - self.box.x) * k, self.y0 + (y - self.box.y) * k


@dataclass
class MapResult:
    """What the frame drew that the panel reports: the grid interval, labels left out, dots drawn."""

    grid_m: float
    unlabelled: int
    dots: bool


def polygon_path(geom: shapely.Geometry) -> MplPath:
    """Return a (multi)polygon as one matplotlib path, holes wound against their shell."""
    vertices, codes = [], []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty:
            continue
        poly = orient(poly, 1.0)
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            vertices.append(xy)
            codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY])
    if not vertices:
        return MplPath(np.zeros((0, 2)))
    return MplPath(np.concatenate(vertices), np.concatenate(codes).astype(np.uint8))


def _dashes(dash: str | None, width_pt: float) -> str | tuple[float, tuple[float, ...]]:
    if not dash:
        return "solid"
    return (0.0, tuple(float(v) * 0.6 for v in dash.split()))


def outline_color(status: object) -> str:
    """Return the outline colour of a feature of this status (none: the plans give it no figure)."""
    return style.STATUS_COLORS.get(status, style.NO_TARGET_COLOR) if isinstance(status, str) else style.NO_TARGET_COLOR


def map_axes(fig: Figure, frame: MapFrame, page: Box) -> Axes:
    """Add the frame's axes, spanning exactly its ground at its scale."""
    box = frame.box
    ax = fig.add_axes((box.x / page.width, box.y / page.height, box.width / page.width, box.height / page.height))
    west, south, east, north = frame.bounds
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_autoscale_on(False)
    ax.set_facecolor("white")
    return ax


def draw_districts(ax: Axes, content: SheetContent, *, filled: bool = True) -> None:
    """Draw every district: the sheet's own outlined (and filled, unless over a background), the others in grey."""
    ds = style.DISTRICT_STYLE
    for shown in (False, True):
        rows = content.districts[content.districts["shown"] == shown]
        if rows.empty:
            continue
        paths = [polygon_path(g) for g in rows.geometry]
        face = to_rgba(ds.fill_color, ds.fill_opacity) if shown and filled else to_rgba("#ffffff", 0.0)
        edge = ds.line_color if shown else "#9e9e9e"
        width = ds.weight * PT_PER_WEIGHT if shown else 0.6
        ax.add_collection(
            PathCollection(paths, facecolors=[face], edgecolors=[edge], linewidths=[width], zorder=1), autolim=False
        )


def draw_background(ax: Axes, frame: MapFrame, raster: Path, dpi: int) -> None:
    """Draw a local GeoTIFF under the layers, resampled to EPSG:4547 at the sheet's resolution."""
    width = max(1, round(frame.box.width / 25.4 * dpi))
    height = max(1, round(frame.box.height / 25.4 * dpi))
    rgba = background_rgba(raster, crs=AREA_CRS, bounds=frame.bounds, width=width, height=height)
    west, south, east, north = frame.bounds
    ax.imshow(
        np.moveaxis(rgba, 0, -1), extent=(west, east, south, north), interpolation="nearest", zorder=0.5, aspect="auto"
    )


def draw_features(ax: Axes, content: SheetContent, frame: MapFrame) -> bool:
    """Draw the features: fill by layer and part, outline by status; a dot where one is too small to see.

    Returns whether any dot was drawn.
    """
    feats = content.features
    dots = False
    for z, (layer, part) in enumerate(content.legend_parts()):
        rows = feats[(feats["layer"] == layer) & (feats["part"] == part)].sort_values("area_ha", ascending=False)
        st = style.style_for(layer, part)
        paths = [polygon_path(g) for g in rows.geometry]
        edges = [outline_color(s) for s in rows["status"]]
        widths = [st.weight * PT_PER_WEIGHT + (0.25 if isinstance(s, str) else 0.0) for s in rows["status"]]
        ax.add_collection(
            PathCollection(
                paths,
                facecolors=[to_rgba(st.fill_color, st.fill_opacity)],
                edgecolors=edges,
                linewidths=widths,
                linestyles=[_dashes(st.dash, 1.0)],
                zorder=2 + z * 0.01,
            ),
            autolim=False,
        )
        bounds = shapely.bounds(np.asarray(rows.geometry.array))
        size_mm = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]) * 1000.0 / frame.scale
        small = size_mm < MIN_FEATURE_MM
        if small.any():
            dots = True
            points = shapely.point_on_surface(np.asarray(rows.geometry.array)[small])
            ax.scatter(
                shapely.get_x(points),
                shapely.get_y(points),
                s=(DOT_MM * PT_PER_MM) ** 2,
                c=[st.fill_color],
                edgecolors=[e for e, m in zip(edges, small, strict=True) if m],
                linewidths=0.6,
                zorder=3,
            )
    return dots


def draw_grid(ax: Axes, frame: MapFrame, font_pt: float) -> float:
    """Draw CGCS2000 grid ticks in metres on all four sides and crosses where grid lines meet; return the interval."""
    west, south, east, north = frame.bounds
    interval = grid_interval(min(east - west, north - south), lines=5)
    xs, ys = grid_values(west, east, interval), grid_values(south, north, interval)
    ax.set_xticks(xs, [f"{v:.0f}" for v in xs])
    ax.set_yticks(ys, [f"{v:.0f}" for v in ys])
    ax.tick_params(
        which="both",
        direction="out",
        length=1.6 * PT_PER_MM,
        width=0.5,
        labelsize=font_pt * 0.75,
        pad=1.0,
        top=True,
        right=True,
        labeltop=True,
        labelright=True,
    )
    for label in (*ax.get_yticklabels(which="both"), *ax.yaxis.get_ticklabels(which="both")):
        label.set_rotation(90)
        label.set_verticalalignment("center")
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    gx, gy = np.meshgrid(xs, ys)
    ax.plot(gx.ravel(), gy.ravel(), "+", color="#737373", markersize=2.6 * PT_PER_MM, markeredgewidth=0.35, zorder=4)
    return interval


def _overlaps(box: tuple[float, float, float, float], boxes: list[tuple[float, float, float, float]]) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in boxes)


def _candidates(
    anchor: tuple[float, float], bbox: tuple[float, float, float, float], w: float, h: float
) -> list[tuple[float, float, bool]]:
    """Label centres to try, best first: on the feature, beside it, then further out with a leader line."""
    ax_, ay = anchor
    x0, y0, x1, y1 = bbox
    gap = 0.6
    out = [(ax_, ay, False)]
    out += [
        (x1 + gap + w / 2, ay, False),
        (x0 - gap - w / 2, ay, False),
        (ax_, y1 + gap + h / 2, False),
        (ax_, y0 - gap - h / 2, False),
        (x1 + gap + w / 2, y1 + gap + h / 2, False),
        (x0 - gap - w / 2, y1 + gap + h / 2, False),
        (x1 + gap + w / 2, y0 - gap - h / 2, False),
        (x0 - gap - w / 2, y0 - gap - h / 2, False),
    ]
    for distance in (3.0, 6.0, 9.0):
        for k in range(12):
            a = math.radians(k * 30.0)
            dx, dy = math.cos(a), math.sin(a)
            out.append((ax_ + dx * (distance + w / 2), ay + dy * (distance + h / 2), True))
    return out


def halo_text(ax: Axes, x: float, y: float, s: str, *, size: float, color: str, zorder: float) -> None:
    """Draw text centred at (x, y) on a white halo; the text itself stays text (selectable, extractable)."""
    common = {"fontsize": size, "ha": "center", "va": "center"}
    ax.text(x, y, s, color="white", path_effects=HALO, zorder=zorder - 0.1, **common)  # type: ignore[arg-type]
    ax.text(x, y, s, color=color, zorder=zorder, **common)  # type: ignore[arg-type]


def _base_name(name: str) -> str:
    """Return a name without its bracketed part: ``X（整备范围）`` -> ``X``."""
    return re.split(r"[（(]", name, maxsplit=1)[0].strip() or name


def place_labels(ax: Axes, content: SheetContent, frame: MapFrame, font: Path, font_pt: float) -> int:
    """Label the features with their Chinese names, largest first, where a label overlaps no other.

    Every label is tried on its feature, beside it, then further out with a leader line; a label that
    fits nowhere is left out. Returns how many were left out.
    """
    feats = content.features
    inset = 1.0
    fx0, fy0, fx1, fy1 = frame.box.x + inset, frame.box.y + inset, frame.box.right - inset, frame.box.top - inset
    placed: list[tuple[float, float, float, float]] = []
    # district names first: they are placed wherever their district shows
    for _, d in content.districts.iterrows():
        visible = d.geometry.intersection(shapely.box(*frame.bounds))
        if visible.is_empty or (d["shown"] and content.district is not None) or not d["label"]:
            continue
        point = shapely.point_on_surface(visible)
        px, py = frame.paper(point.x, point.y)
        size = font_pt * 1.5
        w, h = text_width_mm(str(d["label"]), size, font), size / PT_PER_MM * 1.2
        halo_text(ax, float(point.x), float(point.y), str(d["label"]), size=size, color="#969696", zorder=5)
        placed.append((float(px) - w / 2, float(py) - h / 2, float(px) + w / 2, float(py) + h / 2))
    # features without a parent first, largest first; then the parts inside a parent that have names of their own
    # (a park's project sites). A part named after its parent (a zone's "... (整备范围)") is not labelled: the
    # parent's label says where it is, its fill which part it is.
    names = dict(zip(feats["fid"], feats["name_zh"], strict=True))
    parent_names = [names.get(p) if isinstance(p, str) else None for p in feats["parent"]]
    after_parent = [
        isinstance(pn, str) and isinstance(n, str) and n.startswith(_base_name(pn))
        for n, pn in zip(feats["name_zh"], parent_names, strict=True)
    ]
    order = feats.assign(_nested=[pn is not None for pn in parent_names])[~np.asarray(after_parent, dtype=bool)]
    order = order.sort_values(["_nested", "area_ha"], ascending=[True, False])
    size = font_pt * 0.8
    h = size / PT_PER_MM * 1.2
    left_out = 0
    for _, f in order.iterrows():
        name = f["name_zh"]
        if not isinstance(name, str) or not name.strip() or f.geometry is None or f.geometry.is_empty:
            continue
        point = shapely.point_on_surface(f.geometry)
        px, py = frame.paper(point.x, point.y)
        if not (fx0 <= px <= fx1 and fy0 <= py <= fy1):
            continue  # outside the frame (a sheet at a given scale may cut the district)
        gx0, gy0, gx1, gy1 = f.geometry.bounds
        bx0, by0 = frame.paper(gx0, gy0)
        bx1, by1 = frame.paper(gx1, gy1)
        w = text_width_mm(name, size, font)
        for cx, cy, leader in _candidates((px, py), (bx0, by0, bx1, by1), w, h):
            box = (cx - w / 2 - 0.3, cy - h / 2 - 0.2, cx + w / 2 + 0.3, cy + h / 2 + 0.2)
            if box[0] < fx0 or box[2] > fx1 or box[1] < fy0 or box[3] > fy1 or _overlaps(box, placed):
                continue
            placed.append(box)
            gx, gy = frame.ground(cx, cy)
            halo_text(ax, gx, gy, name, size=size, color=LABEL_COLOR, zorder=6)
            if leader:
                lx, ly = frame.ground(min(max(px, box[0]), box[2]), min(max(py, box[1]), box[3]))
                ax.plot([point.x, lx], [point.y, ly], color="#636363", linewidth=0.35, zorder=5.5)
            break
        else:
            left_out += 1
    return left_out


def draw_map(
    fig: Figure,
    content: SheetContent,
    frame: MapFrame,
    page: Box,
    *,
    font: Path,
    font_pt: float,
    background: Path | None = None,
    dpi: int = 300,
) -> MapResult:
    """Draw the map frame of a sheet; return what the panel reports about it."""
    ax = map_axes(fig, frame, page)
    if background is not None:
        draw_background(ax, frame, background, dpi)
    draw_districts(ax, content, filled=background is None)
    dots = draw_features(ax, content, frame)
    grid = draw_grid(ax, frame, font_pt)
    unlabelled = place_labels(ax, content, frame, font, font_pt)
    return MapResult(grid, unlabelled, dots)
