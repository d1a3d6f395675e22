"""Tables of boundary points read as written (``gis.io.boundary_tables``): numbers, headers, positions."""

from __future__ import annotations

from pathlib import Path

from gis.io.boundary_tables import csv_rows, number, read_table, txt_rows


def test_number():
    assert number(" 2513000.125 ") == 2513000.125
    assert number("2,513,000.5") == 2513000.5
    assert number("-1e3") == -1000.0
    for text in ("", "2513l00", "2,51,300", "nan", "inf", "1.2.3"):
        assert number(text) is None


def test_header_below_a_title_with_units_and_full_width_names():
    rows = csv_rows("界址点坐标表,,\n点号,Ｘ坐标（m）,Ｙ坐标（m）\nJ1,2513000,38526000\n")
    notes: list[str] = []
    problems: list[str] = []
    table = read_table(Path("t.csv"), rows, problems, notes)
    assert problems == []
    assert table.names == ("Ｘ坐标（m）", "Ｙ坐标（m）")
    [parcel] = table.parcels
    [point] = parcel.points
    assert (point.label, point.first, point.second, point.where) == ("J1", 2513000.0, 38526000.0, "line 3")
    assert any("rows above it skipped" in n for n in notes)


def test_positional_rings_and_titles():
    lines = ["一号地块", "J1 1 2513000 526000", "J2 1 2513000 526100", "", "J1\t2513000\t526400\t12.5"]
    notes: list[str] = []
    problems: list[str] = []
    table = read_table(Path("t.txt"), txt_rows(lines), problems, notes)
    assert problems == []
    first, second = table.parcels
    assert first.name == "一号地块" and [p.ring for p in first.points] == ["1", "1"]
    assert second.name is None and (second.points[0].first, second.points[0].second) == (2513000.0, 526400.0)
    assert "later columns ignored" in notes[-1]


def test_non_numeric_cell_named_by_line_point_and_column():
    problems: list[str] = []
    read_table(Path("t.csv"), csv_rows("点号,X,Y\nJ7,25130OO,526000\n"), problems, [])
    assert problems == ["t.csv: line 2, point J7: X '25130OO' is not a number. Correct the coordinate."]
