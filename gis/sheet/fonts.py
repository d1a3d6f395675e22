"""The CJK font of a map sheet: found once, embedded in every PDF, or a clear error.

Chinese names must print as text on a machine without the font, so the font is embedded
(TrueType outlines as Type 42, subset). Only fonts with TrueType outlines (``.ttf``, ``.ttc``)
are used: matplotlib embeds those reliably. ``GIS_CJK_FONT=/path/to/font.ttf`` chooses one;
otherwise the first of :data:`CANDIDATES` installed, then whatever fontconfig offers for Chinese.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError
from matplotlib import font_manager, ft2font
from matplotlib.ft2font import FT2Font

from gis.errors import GisError
from gis.sheet.layout import PT_PER_MM

log = logging.getLogger(__name__)

#: FreeType's flag for unhinted outlines (``LoadFlags`` from matplotlib 3.10, a module constant before).
_NO_HINTING = ft2font.LoadFlags.NO_HINTING if hasattr(ft2font, "LoadFlags") else ft2font.LOAD_NO_HINTING  # type: ignore[attr-defined]

#: Environment variable naming the font file to use.
FONT_ENV = "GIS_CJK_FONT"

#: Font files with TrueType outlines and Simplified Chinese, in order of preference (Debian's paths first).
CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei (scripts/test.sh installs it)
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/STHeiti Medium.ttc",
)

#: Characters every sheet shows: a font must have all of them.
REQUIRED = "龙岗华坪山区规划图例比例尺坐标北"
#: The fix a message gives when no font is found.
INSTALL_HINT = (
    "Install one (Debian/Ubuntu: sudo apt-get install fonts-wqy-microhei) or set GIS_CJK_FONT to a .ttf/.ttc "
    "font file with Chinese glyphs."
)


class FontError(GisError, LookupError):
    """No usable CJK font: a sheet would print Chinese as empty boxes, so none is written."""


def has_glyphs(path: Path, text: str) -> bool:
    """Tell whether the font file has TrueType outlines and a glyph for every character of ``text``.

    A font of CFF outlines (OpenType ``.otf``, and Noto CJK's ``.ttc``) is refused: it would not be
    embedded as TrueType (Type 42).
    """
    try:
        font = FT2Font(str(path))
        with TTFont(str(path), fontNumber=0, lazy=True) as tt:
            truetype = "glyf" in tt
    except (OSError, RuntimeError, ValueError, TTLibError):
        return False
    return truetype and all(font.get_char_index(ord(ch)) != 0 for ch in text if not ch.isspace())


def missing_glyphs(path: Path, text: str) -> str:
    """Return the characters of ``text`` the font has no glyph for, each once."""
    font = FT2Font(str(path))
    return "".join(dict.fromkeys(ch for ch in text if not ch.isspace() and font.get_char_index(ord(ch)) == 0))


def _fontconfig_fonts() -> list[str]:
    """Font files fontconfig offers for Chinese, best first (none when fontconfig is not installed)."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return []
    try:
        out = subprocess.run(
            [fc_match, "-s", "-f", "%{file}\n", ":lang=zh-cn"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.splitlines() if line.lower().endswith((".ttf", ".ttc"))][:20]


@functools.cache
def cjk_font() -> Path:
    """Return the CJK font file of the sheets, registered with matplotlib.

    Raises
    ------
    FontError
        When ``GIS_CJK_FONT`` names no usable font, or no installed font has TrueType outlines
        and the Chinese glyphs a sheet needs.
    """
    chosen = os.environ.get(FONT_ENV)
    if chosen:
        path = Path(chosen)
        if not path.is_file() or path.suffix.lower() not in (".ttf", ".ttc") or not has_glyphs(path, REQUIRED):
            raise FontError(
                f"{FONT_ENV}={chosen}: not a TrueType font file (.ttf, .ttc) with Chinese glyphs, so Chinese text "
                f"would print as empty boxes and no sheet was written. {INSTALL_HINT}"
            )
        candidates = [chosen]
    else:
        candidates = [*CANDIDATES, *_fontconfig_fonts()]
    for name in candidates:
        path = Path(name)
        if path.is_file() and has_glyphs(path, REQUIRED):
            font_manager.fontManager.addfont(str(path))
            log.debug("CJK font: %s", path)
            return path
    raise FontError(
        "no font with Chinese glyphs (TrueType outlines, .ttf or .ttc) is installed, so Chinese text would print as "
        f"empty boxes and no sheet was written. {INSTALL_HINT}"
    )


def font_family(path: Path) -> str:
    """Return the family name matplotlib knows the font file by."""
    return str(font_manager.get_font(str(path)).family_name)


@functools.cache
def _font_at_100pt(path: str) -> FT2Font:
    font = FT2Font(path)
    font.set_size(100.0, 72)
    return font


@functools.cache
def _advance(path: str, char: str) -> float:
    """Return the advance width of one character at 100 pt (points), unhinted (a missing glyph: the font's box)."""
    font = _font_at_100pt(path)
    glyph = font.load_glyph(font.get_char_index(ord(char)), flags=_NO_HINTING)  # index 0: the missing-glyph box
    return float(glyph.linearHoriAdvance) / 65536.0


def text_width_mm(text: str, size_pt: float, font: Path) -> float:
    """Return the width of one line of text set in the font at ``size_pt`` (mm), kerning aside."""
    return sum(_advance(str(font), ch) for ch in text) * size_pt / 100.0 / PT_PER_MM


#: A line may break between two CJK characters, at a space, or after one of these.
_TOKEN = re.compile(r"\s+|[A-Za-z0-9_.,:;!?()\[\]{}<>/\\\-–—'’\"%+=≈≥≤°²@#&*|~^$]+[，、。；：）]?|.[，、。；：）]?")


def wrap_text(text: str, width_mm: float, size_pt: float, font: Path) -> list[str]:
    """Return ``text`` broken into lines no wider than ``width_mm``: at spaces, between Chinese characters.

    A word wider than the line is broken between its characters.
    """
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        tokens: list[str] = []
        for token in _TOKEN.findall(paragraph):
            too_wide = len(token) > 1 and text_width_mm(token, size_pt, font) > width_mm
            tokens.extend(token if too_wide else [token])
        line = ""
        for token in tokens:
            trial = line + token
            if not line.strip() or text_width_mm(trial.rstrip(), size_pt, font) <= width_mm:
                line = trial
            else:
                lines.append(line.rstrip())
                line = token.lstrip()
        lines.append(line.rstrip())
    return lines
