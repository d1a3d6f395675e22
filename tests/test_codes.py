"""The land-use code lists (gis/data/codes/*.csv): their format, their trees and spot checks of their content.

Each file is read with the csv module alone. The spot checks are the codes a wrong table (an older edition, or a
code system mixed up with another) would get wrong: 用地用海 1001 工业用地 and its three children, 三调 1001
铁路用地 (transport, not industrial) beside 0601 工业用地, 深标 M0/M1.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import gis
from gis.settings import CODE_SYSTEMS, LAND_CLASSES

CODES = Path(gis.__file__).parent / "data" / "codes"
HEADER = ["code", "name_zh", "level", "parent", "land_class", "rgb", "standard"]


def read(system: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(CODES / f"{system}.csv", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    return header, rows


def by_code(system: str) -> dict[str, dict[str, str]]:
    return {row["code"]: row for row in read(system)[1]}


def children(system: str, code: str) -> list[str]:
    return sorted(row["code"] for row in read(system)[1] if row["parent"] == code)


@pytest.mark.parametrize("system", sorted(CODE_SYSTEMS))
def test_header_exact_and_utf8_without_bom(system):
    raw = (CODES / f"{system}.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")
    header, rows = read(system)
    assert header == HEADER
    assert rows


@pytest.mark.parametrize("system", sorted(CODE_SYSTEMS))
def test_codes_unique_and_nonempty(system):
    codes = [row["code"] for row in read(system)[1]]
    assert all(code.strip() == code and code for code in codes)
    assert len(codes) == len(set(codes))
    assert all(row["name_zh"].strip() for row in read(system)[1])
    assert all(row["standard"].strip() for row in read(system)[1])


@pytest.mark.parametrize("system", sorted(CODE_SYSTEMS))
def test_tree(system):
    rows = by_code(system)
    for code, row in rows.items():
        level = int(row["level"])
        assert level in (1, 2, 3), code
        if level == 1:
            assert row["parent"] == "", code
        else:
            parent = rows.get(row["parent"])
            assert parent is not None, f"{code}: parent {row['parent']!r} not in the list"
            assert int(parent["level"]) == level - 1, code


@pytest.mark.parametrize("system", sorted(CODE_SYSTEMS))
def test_land_class_and_rgb_values(system):
    for row in read(system)[1]:
        assert row["land_class"] == "" or row["land_class"] in LAND_CLASSES, row
        if row["rgb"]:
            parts = row["rgb"].split(",")
            assert len(parts) == 3, row
            assert all(p.isdigit() and 0 <= int(p) <= 255 for p in parts), row


@pytest.mark.parametrize("system", sorted(CODE_SYSTEMS))
def test_classed_parent_agrees_with_its_children(system):
    """A parent with a class has children of that class only; a parent whose children differ has none."""
    rows = by_code(system)
    for code, row in rows.items():
        kids = {rows[k]["land_class"] for k in children(system, code)}
        if not kids:
            continue
        if len(kids) > 1:
            assert row["land_class"] == "", (
                f"{code}: children of classes {sorted(kids)} but class {row['land_class']!r}"
            )
        elif row["land_class"]:
            assert kids == {row["land_class"]}, code


def test_yongdi_spot_checks():
    rows = by_code("yongdi")
    level1 = [code for code, row in rows.items() if row["level"] == "1"]
    assert level1 == [f"{i:02d}" for i in range(1, 25)]
    assert rows["01"]["name_zh"] == "耕地"
    assert rows["24"]["name_zh"] == "其他海域"
    assert rows["1001"]["name_zh"] == "工业用地"
    assert rows["1001"]["land_class"] == "industrial"
    assert children("yongdi", "1001") == ["100101", "100102", "100103"]
    assert [rows[c]["name_zh"] for c in children("yongdi", "1001")] == ["一类工业用地", "二类工业用地", "三类工业用地"]
    assert all(rows[c]["land_class"] == "industrial" for c in children("yongdi", "1001"))
    assert rows["10"]["land_class"] == ""
    assert rows["1002"]["land_class"] == "mining"
    assert rows["1003"]["name_zh"] == "盐田"
    assert rows["1003"]["land_class"] == "mining"
    assert children("yongdi", "1101") == ["110101", "110102", "110103"]
    assert rows["1101"]["land_class"] == rows["1102"]["land_class"] == "logistics"
    assert [rows[c]["name_zh"] for c in ("1401", "1402", "1403")] == ["公园绿地", "防护绿地", "广场用地"]
    assert all(rows[c]["land_class"] == "park_green" for c in ("14", "1401", "1402", "1403"))
    assert children("yongdi", "0701") == ["070101", "070102", "070103"]
    assert rows["1201"]["name_zh"] == "铁路用地"
    assert rows["1201"]["land_class"] == "transport"
    assert all(rows[f"{i}"]["land_class"] == "sea" for i in range(18, 23))


def test_sandiao_spot_checks():
    rows = by_code("sandiao")
    assert rows["1001"]["name_zh"] == "铁路用地"
    assert rows["1001"]["land_class"] == "transport"
    assert rows["0601"]["name_zh"] == "工业用地"
    assert rows["0601"]["land_class"] == "industrial"
    assert rows["0508"]["name_zh"] == "物流仓储用地"
    assert rows["0508"]["land_class"] == "logistics"
    assert rows["0810"]["name_zh"] == "公园与绿地"
    assert rows["0810"]["land_class"] == "park_green"
    assert rows["05H1"]["land_class"] == "commercial"
    assert children("sandiao", "05H1") == ["0501", "0502", "0503", "0504", "0505", "0506", "0507"]
    assert children("sandiao", "05") == ["0508", "05H1"]
    assert rows["05"]["land_class"] == rows["06"]["land_class"] == ""
    # the 三调 wetland group: listed under 00 whatever the first digits of their own numbers
    assert children("sandiao", "00") == ["0303", "0304", "0306", "0402", "0603", "1105", "1106", "1108"]
    assert rows["0303"]["name_zh"] == "红树林地"
    assert rows["0603"]["name_zh"] == "盐田"
    assert children("sandiao", "03") == ["0301", "0302", "0305", "0307"]
    assert children("sandiao", "10") == [f"10{i:02d}" for i in range(1, 10)]
    assert [f"{i:02d}" for i in range(1, 13)] == sorted(c for c, r in rows.items() if r["level"] == "1" and c != "00")


def test_shenzhen_spot_checks():
    rows = by_code("shenzhen")
    assert rows["M1"]["name_zh"] == "普通工业用地"
    assert rows["M0"]["name_zh"] == "新型产业用地"
    assert rows["M0"]["land_class"] == rows["M1"]["land_class"] == rows["M"]["land_class"] == "industrial"
    assert all(rows[c]["land_class"] == "logistics" for c in children("shenzhen", "W"))
    assert rows["G1"]["name_zh"] == "公园绿地"
    assert rows["G1"]["land_class"] == "park_green"
    assert rows["E1"]["land_class"] == "water"
    assert children("shenzhen", "R") == ["R1", "R2", "R3", "R4"]


def test_readme_ships_beside_the_lists():
    text = (CODES / "README.md").read_text(encoding="utf-8")
    for system in CODE_SYSTEMS:
        assert f"{system}.csv" in text
