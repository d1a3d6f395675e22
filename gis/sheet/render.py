"""A map sheet as PDF or PNG: the map frame at a true scale beside its panel, written atomically."""

from __future__ import annotations

import dataclasses
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from gis import __version__, settings
from gis._atomic import check_output, write_bytes_atomic
from gis.errors import InputError
from gis.model import CheckRun
from gis.sheet.content import SheetContent, sheet_content
from gis.sheet.fonts import cjk_font, font_family, missing_glyphs
from gis.sheet.layout import DPI_RANGE, MM_PER_INCH, Layout, fit_scale, format_scale, sheet_layout
from gis.sheet.mapframe import MapFrame, draw_map
from gis.sheet.panel import flow, legend_block, notes_block, scale_block, title_block, totals_block

log = logging.getLogger(__name__)

#: File name of each district's sheet in ``gis build``'s sheets folder.
SHEET_FILES: dict[str, str] = {"440307": "longgang.pdf", "440309": "longhua.pdf", "440310": "pingshan.pdf"}
#: The formats a sheet is written in, by file extension.
FORMATS: tuple[str, ...] = (".pdf", ".png")
#: The smallest text the panel shrinks to before it gives up fitting (pt).
MIN_FONT_PT = 4.5


@dataclass(frozen=True)
class Sheet:
    """A rendered sheet: the file's bytes and what it is."""

    data: bytes
    fmt: str
    paper: str
    orientation: str
    scale: int
    dpi: int
    #: Features whose name found no room on the map.
    unlabelled: int
    path: Path | None = None

    def describe(self) -> str:
        """Return what the sheet is, in a few words: ``A3 landscape, 1:250,000, PDF``."""
        what = "PDF" if self.fmt == "pdf" else f"PNG {self.dpi} dpi"
        return f"{self.paper} {self.orientation}, {format_scale(self.scale)}, {what}"


def sheet_format(path: Path) -> str:
    """Return the format of a sheet written to ``path`` (``pdf`` or ``png``) by its extension.

    Examples
    --------
    >>> sheet_format(Path("longgang.PDF"))
    'pdf'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path}: a sheet is written as .pdf or .png, not {suffix or '(no extension)'}.")
    return suffix[1:]


def _rc(font: Path) -> dict[str, Any]:
    """Return the matplotlib settings of every sheet: the CJK font embedded as TrueType (Type 42), text never read as math."""
    return {
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "font.family": [font_family(font), "DejaVu Sans"],
        "text.parse_math": False,
        "path.snap": False,  # a shape's size on paper is exact, not rounded to a device pixel
        "lines.scale_dashes": False,
        "axes.unicode_minus": False,
    }


def _choose_scale(content: SheetContent, layout: Layout, scale: int | None) -> int:
    minx, miny, maxx, maxy = content.extent
    margin = 1.02  # a little room around the districts
    extent = ((maxx - minx) * margin, (maxy - miny) * margin)
    if scale is None:
        return fit_scale(extent, (layout.frame.width, layout.frame.height))
    shown = (layout.frame.width * scale / 1000.0, layout.frame.height * scale / 1000.0)
    if shown[0] < extent[0] or shown[1] < extent[1]:
        log.warning(
            "at %s the map frame shows %.1f x %.1f km, less than the %.1f x %.1f km of the district(s): "
            "the map is cut at its edges (a smaller scale, or a larger paper, shows it whole)",
            format_scale(scale),
            shown[0] / 1000,
            shown[1] / 1000,
            extent[0] / 1000,
            extent[1] / 1000,
        )
    return scale


def _figure(
    content: SheetContent,
    layout: Layout,
    scale: int,
    *,
    font: Path,
    background: Path | None,
    dpi: int,
    fmt: str,
) -> tuple[Figure, int]:
    page = layout.page
    size = (page.width / MM_PER_INCH, page.height / MM_PER_INCH)
    if fmt == "png":  # whole pixels: the paper's size at this resolution, rounded
        size = (round(size[0] * dpi) / dpi, round(size[1] * dpi) / dpi)
    fig = Figure(figsize=size, dpi=72)
    overlay = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    overlay.set_xlim(0, page.width)
    overlay.set_ylim(0, page.height)
    overlay.set_axis_off()
    b = layout.border
    overlay.plot([b.x, b.right, b.right, b.x, b.x], [b.y, b.y, b.top, b.top, b.y], color="black", linewidth=1.0)
    frame = MapFrame.centred(layout.frame, scale, content.extent)
    result = draw_map(fig, content, frame, page, font=font, font_pt=layout.font_pt, background=background, dpi=dpi)
    pt = layout.font_pt
    while True:
        width = layout.columns[0].width
        blocks = [
            title_block(content, width, font, pt),
            legend_block(content, result, width, font, pt),
            totals_block(content, width, font, pt),
            scale_block(content, scale, width, font, pt),
            notes_block(content, result, width, font, pt, background),
        ]
        placed = flow(blocks, layout.columns)
        if placed is not None or pt <= MIN_FONT_PT:
            break
        pt = max(MIN_FONT_PT, pt * 0.92)
    if placed is None:
        log.warning("the panel does not fit the sheet even at %.1f pt; parts of it overlap", pt)
        placed = [(block, layout.columns[0].x, layout.columns[0].top) for block in blocks]
    for block, x, top in placed:
        block.draw(overlay, x, top)
    if layout.orientation == "landscape":
        sep = layout.columns[0].x - 3.0
        overlay.plot([sep, sep], [b.y, b.top], color="black", linewidth=0.6)
    else:
        sep = layout.columns[0].top + 3.0
        overlay.plot([b.x, b.right], [sep, sep], color="black", linewidth=0.6)
    return fig, result.unlabelled


def render_sheet(
    run: CheckRun,
    *,
    fmt: str = "pdf",
    district: str | None = None,
    paper: str = "A3",
    orientation: str = "landscape",
    scale: int | None = None,
    dpi: int = 300,
    title: str | None = None,
    background: Path | None = None,
) -> Sheet:
    """Return a map sheet of one district (or of the three, ``district=None``) as PDF or PNG.

    Parameters
    ----------
    run
        A finished check (:func:`gis.pipeline.run_check`).
    fmt
        ``pdf`` (vector, the CJK font embedded) or ``png``.
    district
        A district code (``440307``), or None for the three districts on one sheet.
    paper, orientation
        ``A4``, ``A3`` or ``A2``; ``landscape`` or ``portrait``.
    scale
        N of the scale 1:N; default the largest standard scale (1:10,000, 1:25,000, ...) at which
        the district fits the map frame.
    dpi
        Resolution of a PNG, and of a raster background in a PDF.
    title
        The sheet's title (default: the district's name and what the sheet shows).
    background
        A GeoTIFF drawn under the layers.

    Raises
    ------
    InputError
        An unknown paper, orientation or format, a resolution out of range, a district the layers
        have no boundary of, a background that cannot be read.
    FontError
        No font with Chinese glyphs is installed.
    """
    if fmt not in ("pdf", "png"):
        raise InputError(f"unknown sheet format {fmt!r}: pdf or png.")
    if not DPI_RANGE[0] <= int(dpi) <= DPI_RANGE[1]:
        raise InputError(f"{{p:dpi}} {dpi} is out of range: give {DPI_RANGE[0]} to {DPI_RANGE[1]} dots per inch.")
    if district is not None and district not in settings.DISTRICTS:
        raise InputError(f"unknown {{p:district}} {district!r}: use one of {', '.join(settings.DISTRICTS)}.")
    layout = sheet_layout(paper, orientation)
    font = cjk_font()
    content = sheet_content(run, district=district, title=title)
    scale = _choose_scale(content, layout, scale)
    texts = " ".join([content.title, *content.features["name_zh"].dropna().astype(str), *content.accuracy])
    missing = missing_glyphs(font, texts)
    if missing:
        log.warning("the font %s has no glyph for %s: they print as empty boxes", font.name, " ".join(missing))
    metadata = {
        "Title": content.title,
        "Subject": f"{content.district_line}; {format_scale(scale)}; EPSG:4547",
        "Creator": f"gis {__version__}",
    }
    if fmt == "png":
        metadata = {"Title": content.title, "Software": f"gis {__version__}", "Description": metadata["Subject"]}
    with matplotlib.rc_context(_rc(font)), warnings.catch_warnings():  # type: ignore[arg-type]
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)  # logged above
        fig, unlabelled = _figure(content, layout, scale, font=font, background=background, dpi=int(dpi), fmt=fmt)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=int(dpi) if fmt == "png" else 72, metadata=metadata)
    log.info("sheet of %s: %s %s at %s", content.district_line, layout.paper, orientation, format_scale(scale))
    return Sheet(buffer.getvalue(), fmt, layout.paper, orientation, scale, int(dpi), unlabelled)


def write_sheet(run: CheckRun, path: Path, *, overwrite: bool = False, **options: Any) -> Sheet:
    """Write a map sheet to ``path`` (``.pdf`` or ``.png``) atomically; ``options`` as :func:`render_sheet`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from gis.pipeline import run_check
    >>> run = run_check(layers_dir="tests/data/layers")
    >>> sheet = write_sheet(run, pathlib.Path(tempfile.mkdtemp()) / "test.pdf", district="440307")
    >>> sheet.describe(), sheet.data[:5]
    ('A3 landscape, 1:100,000, PDF', b'%PDF-')
    """
    path = Path(path)
    fmt = sheet_format(path)
    check_output(path, overwrite=overwrite)
    sheet = render_sheet(run, fmt=fmt, **options)
    write_bytes_atomic(path, sheet.data)
    return dataclasses.replace(sheet, path=path)


def district_sheets(run: CheckRun) -> dict[str, str]:
    """Return the file name of the sheet of each district the layers have a boundary of (:data:`SHEET_FILES`)."""
    present = set(run.districts["district"].astype(str))
    return {code: name for code, name in SHEET_FILES.items() if code in present}


def write_sheets(run: CheckRun, out_dir: Path, *, paper: str = "A3", orientation: str = "landscape") -> list[Path]:
    """Write one PDF sheet per district the layers have a boundary of into ``out_dir``, each atomically."""
    written = []
    for code, name in district_sheets(run).items():
        path = Path(out_dir) / name
        write_bytes_atomic(path, render_sheet(run, district=code, paper=paper, orientation=orientation).data)
        written.append(path)
    return written
