"""Paper, scale and grid of a map sheet: plain numbers in millimetres and metres, no drawing.

A sheet at scale 1:N shows ``N / 1000`` metres of ground per millimetre of paper, in EPSG:4547
(CGCS2000 / 3-degree Gauss-Kruger CM 114E), whose unit is the metre.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gis.errors import InputError

#: ISO 216 paper sizes, portrait (width, height) in millimetres.
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "A2": (420.0, 594.0)}
ORIENTATIONS: tuple[str, ...] = ("landscape", "portrait")

#: The national basic scale series (国家基本比例尺), largest first: a sheet without a given scale
#: gets the largest of these at which its extent fits the map frame.
STANDARD_SCALES: tuple[int, ...] = (
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
)

#: Resolutions a sheet may be written at (dots per inch): the PNG's pixels, the PDF's background raster.
DPI_RANGE: tuple[int, int] = (72, 600)

#: Base font size (pt) of each paper: the panel's body text; titles and labels are set relative to it.
BASE_FONT_PT: dict[str, float] = {"A4": 6.5, "A3": 8.0, "A2": 10.0}

MM_PER_INCH = 25.4
PT_PER_MM = 72.0 / MM_PER_INCH

#: The outer border's distance from the paper's edge (mm): inside what office printers can print.
BORDER_MM = 7.0
#: Room between the border and the map frame for the grid's tick labels (mm).
GUTTER_MM = 8.0


def paper_size_mm(paper: str, orientation: str = "landscape") -> tuple[float, float]:
    """Return the (width, height) of a paper in millimetres.

    Examples
    --------
    >>> paper_size_mm("A3"), paper_size_mm("a4", "portrait")
    ((420.0, 297.0), (210.0, 297.0))
    """
    key = str(paper).upper()
    if key not in PAPERS:
        raise InputError(f"unknown paper {paper!r} for {{p:paper}}: use one of {', '.join(PAPERS)}.")
    if orientation not in ORIENTATIONS:
        raise InputError(f"unknown {{p:orientation}} {orientation!r}: use landscape or portrait.")
    w, h = PAPERS[key]
    return (h, w) if orientation == "landscape" else (w, h)


_SCALE = re.compile(r"^\s*1\s*:\s*([0-9][0-9,_ ]*)\s*$")


def parse_scale(text: str) -> int:
    """Return N of a scale written ``1:N`` (``1:25000``, ``1:25,000``) or ``N``.

    Examples
    --------
    >>> parse_scale("1:25,000"), parse_scale("1:10000"), parse_scale("50000")
    (25000, 10000, 50000)
    """
    m = _SCALE.match(text) or re.match(r"^\s*([0-9][0-9,_ ]*)\s*$", text)
    digits = re.sub(r"[,_ ]", "", m[1]) if m else ""
    if not digits or int(digits) < 100:
        raise InputError(
            f"{{p:scale}} {text!r} is not a map scale: write 1:N with N a whole number of 100 or more (1:25000)."
        )
    return int(digits)


def format_scale(scale: int) -> str:
    """Return the numeric scale as printed on the sheet.

    Examples
    --------
    >>> format_scale(25000)
    '1:25,000'
    """
    return f"1:{scale:,}"


def fit_scale(extent_m: tuple[float, float], frame_mm: tuple[float, float]) -> int:
    """Return the largest standard scale at which a ground extent (width, height in m) fits a frame (mm).

    Examples
    --------
    >>> fit_scale((20_000, 20_000), (270, 260))
    100000
    >>> fit_scale((2_000, 1_000), (270, 260))
    10000
    """
    width_m, height_m = extent_m
    frame_w, frame_h = frame_mm
    needed = max(width_m / frame_w, height_m / frame_h) * 1000.0  # the smallest N that fits
    for scale in STANDARD_SCALES:
        if scale >= needed:
            return scale
    return STANDARD_SCALES[-1]


def nice_step(limit: float) -> float:
    """Return the largest 1, 2 or 5 times a power of ten not above ``limit`` (> 0).

    Examples
    --------
    >>> nice_step(7300), nice_step(1999), nice_step(0.6)
    (5000.0, 1000.0, 0.5)
    """
    power = 10.0 ** math.floor(math.log10(limit))
    return max(m * power for m in (1.0, 2.0, 5.0) if m * power <= limit * (1 + 1e-12))


def grid_interval(frame_ground_m: float, *, lines: int = 5) -> float:
    """Return a round grid interval (m) giving about ``lines`` grid lines across a frame of that ground width.

    Examples
    --------
    >>> grid_interval(27_000), grid_interval(70_000)
    (5000.0, 10000.0)
    """
    return nice_step(frame_ground_m / lines)


def grid_values(lo: float, hi: float, interval: float) -> list[float]:
    """Return the multiples of ``interval`` within ``[lo, hi]``.

    Examples
    --------
    >>> grid_values(504_500, 521_000, 5000)
    [505000.0, 510000.0, 515000.0, 520000.0]
    """
    first = math.ceil(lo / interval)
    return [float(k * interval) for k in range(first, math.floor(hi / interval) + 1)]


def scalebar_length_m(scale: int, max_mm: float) -> float:
    """Return a round ground length (m) whose bar on paper is at most ``max_mm`` long at 1:``scale``.

    Examples
    --------
    >>> scalebar_length_m(100_000, 60)
    5000.0
    >>> scalebar_length_m(250_000, 60)
    10000.0
    """
    return nice_step(max_mm * scale / 1000.0)


def paper_mm(ground_m: float, scale: int) -> float:
    """Return the length on paper (mm) of a ground length (m) at 1:``scale``.

    Examples
    --------
    >>> paper_mm(5000, 100_000)
    50.0
    """
    return ground_m * 1000.0 / scale


def format_length(metres: float) -> str:
    """Return a length as the scale bar labels it (m below 1 km).

    Examples
    --------
    >>> format_length(500), format_length(2000), format_length(2500)
    ('500 m', '2 km', '2.5 km')
    """
    if metres < 1000:
        return f"{metres:g} m"
    return f"{metres / 1000:g} km"


@dataclass(frozen=True)
class Box:
    """A rectangle on the paper, in millimetres from the bottom-left corner."""

    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> float:
        """The top edge (mm)."""
        return self.y + self.height

    @property
    def right(self) -> float:
        """The right edge (mm)."""
        return self.x + self.width


@dataclass(frozen=True)
class Layout:
    """Where the parts of a sheet go: the page, the map frame and the panel's columns (all mm)."""

    paper: str
    orientation: str
    page: Box
    border: Box
    frame: Box
    columns: tuple[Box, ...]
    font_pt: float


def sheet_layout(paper: str, orientation: str = "landscape") -> Layout:
    """Return the layout of a sheet: the map frame left of the panel (landscape) or above it (portrait).

    The panel (title block, legend, totals, scale, notes) is one column beside the map on a
    landscape sheet, two columns below it on a portrait one.

    Examples
    --------
    >>> layout = sheet_layout("A3")
    >>> layout.page.width, layout.page.height, len(layout.columns)
    (420.0, 297.0, 1)
    >>> round(layout.frame.width), round(layout.frame.height)
    (285, 267)
    """
    width, height = paper_size_mm(paper, orientation)
    key = str(paper).upper()
    page = Box(0.0, 0.0, width, height)
    border = Box(BORDER_MM, BORDER_MM, width - 2 * BORDER_MM, height - 2 * BORDER_MM)
    inner = BORDER_MM + GUTTER_MM
    pad = 3.0  # between the panel and the border or its separating line
    if orientation == "landscape":
        panel_w = max(75.0, round(width * 0.25))
        sep = border.right - panel_w
        frame = Box(inner, inner, sep - GUTTER_MM - inner, height - 2 * inner)
        columns: tuple[Box, ...] = (Box(sep + pad, border.y + pad, panel_w - 2 * pad, border.height - 2 * pad),)
    else:
        panel_h = round(height * 0.34)
        sep = border.y + panel_h
        frame = Box(inner, sep + GUTTER_MM, width - 2 * inner, border.top - GUTTER_MM - (sep + GUTTER_MM))
        col_w = (border.width - 3 * pad) / 2
        columns = tuple(
            Box(border.x + pad + i * (col_w + pad), border.y + pad, col_w, panel_h - 2 * pad) for i in range(2)
        )
    return Layout(key, orientation, page, border, frame, columns, BASE_FONT_PT[key])
