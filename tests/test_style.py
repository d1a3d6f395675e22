"""The one style definition: land-class colours from the published palette, every status styled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gis import settings, style
from gis.codes import UNCLASSIFIED, UNKNOWN

#: Spot checks against 《市级国土空间总体规划制图规范（试行）》附录B as transcribed (RGB).
APPENDIX_B = {
    "farmland": (245, 248, 220),  # 耕地
    "industrial": (187, 150, 116),  # 工业用地
    "logistics": (135, 97, 211),  # 仓储用地
    "park_green": (0, 255, 0),  # 公园绿地
    "residential": (255, 255, 45),  # 城镇住宅用地
    "commercial": (255, 0, 0),  # 商业服务业用地
    "utilities": (0, 99, 128),  # 公用设施用地
    "water": (51, 142, 192),  # 陆地水域
}


def rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def test_every_land_class_has_a_colour_and_nothing_else_does():
    assert list(style.LAND_CLASS_COLORS) == [*settings.LAND_CLASSES, UNCLASSIFIED, UNKNOWN]
    for key, color in style.LAND_CLASS_COLORS.items():
        assert re.fullmatch(r"#[0-9a-f]{6}", color), key
        assert style.land_class_title(key)[0]


@pytest.mark.parametrize(("key", "expected"), APPENDIX_B.items())
def test_colours_are_the_palettes(key, expected):
    assert rgb(style.LAND_CLASS_COLORS[key]) == expected


def test_each_colour_matches_the_rgb_its_comment_cites():
    """The comment beside each colour names the class and RGB it was taken from: they agree."""
    source = (Path(style.__file__)).read_text(encoding="utf-8")
    for key, color in style.LAND_CLASS_COLORS.items():
        if key in (UNCLASSIFIED, UNKNOWN):
            continue
        line = next(line for line in source.splitlines() if line.strip().startswith(f'"{key}": "{color}"'))
        r, g, b = map(int, re.search(r"(\d+),(\d+),(\d+)", line.split("#", 2)[2]).groups())
        assert rgb(color) == (r, g, b), line


def test_the_two_greys_are_neutral_and_unlike_the_palettes_greys():
    grey = {rgb(style.LAND_CLASS_COLORS[k]) for k in (UNCLASSIFIED, UNKNOWN)}
    assert all(r == g == b for r, g, b in grey)
    assert len(grey) == 2
    palette = {rgb(c) for k, c in style.LAND_CLASS_COLORS.items() if k not in (UNCLASSIFIED, UNKNOWN)}
    assert not grey & palette


def test_every_status_has_a_colour_and_a_chinese_name():
    assert set(style.STATUS_COLORS) == set(style.STATUS_ZH) == set(settings.STATUSES)


def test_every_control_kind_has_a_line_style():
    assert list(style.CONTROL_STYLES) == list(settings.CONTROL_KINDS)
    for kind, st in style.CONTROL_STYLES.items():
        assert st.title_zh == settings.CONTROL_KINDS[kind][0]
