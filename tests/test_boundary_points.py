"""Boundary-point tables (界址点坐标表) read into parcels: ``gis.io.boundary_points.read_boundary_points``.

Every table is written here from the same two parcels, in EPSG:4547 metres:

- A-01 龙岗一号地块: a 200.5 m x 150.25 m rectangle (30,125.125 m²) with a 50 m x 40 m hole
  (2,000 m²): 2.8125125 ha;
- A-02 龙岗二号地块: a 100 m x 80 m rectangle: 0.8 ha.

The expected polygons are built with shapely from these numbers, never through the reader.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import shapely
from openpyxl import Workbook

from gis.errors import InputError
from gis.io.boundary_points import BOUNDARY_POINT_SUFFIXES, read_boundary_points

E0, N0 = 526_000.0, 2_513_000.0  # south-west corner of A-01, in Longgang
PREFIX = 38_000_000.0
#: Rings as (point number, easting, northing), closed by repeating the first point.
OUTER_A = [("J1", E0, N0), ("J2", E0 + 200.5, N0), ("J3", E0 + 200.5, N0 + 150.25), ("J4", E0, N0 + 150.25)]
HOLE_A = [("K1", E0 + 50, N0 + 50), ("K2", E0 + 50, N0 + 90), ("K3", E0 + 100, N0 + 90), ("K4", E0 + 100, N0 + 50)]
OUTER_B = [("1", E0 + 400, N0), ("2", E0 + 500, N0), ("3", E0 + 500, N0 + 80), ("4", E0 + 400, N0 + 80)]
AREA_A_HA, AREA_B_HA = (200.5 * 150.25 - 50 * 40) / 10_000, 100 * 80 / 10_000


def expected() -> list[shapely.Polygon]:
    """A-01 and A-02 built by shapely straight from the numbers above (EPSG:4547)."""
    a = shapely.Polygon([(e, n) for _, e, n in OUTER_A], holes=[[(e, n) for _, e, n in HOLE_A]])
    b = shapely.Polygon([(e, n) for _, e, n in OUTER_B])
    return [a, b]


def closed(ring: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    return [*ring, ring[0]]


def exchange_text(*, prefix: float = PREFIX, header: str | None = None, points_a: list[str] | None = None) -> str:
    """The exchange TXT as a survey office sends it with a land-use submission (报部格式, 勘测定界 电子报盘).

    [属性描述] declares CGCS2000 3-degree zone 38; the eastings carry the zone number 38; X is the
    northing; 地块面积 in hectares; ring 2 of A-01 is its hole; A-02's ring closes implicitly.
    """
    pts_a = points_a or [
        f"{p},{ring},{n:.3f},{e + prefix:.3f}"
        for ring, pts in (("1", closed(OUTER_A)), ("2", closed(HOLE_A)))
        for p, e, n in pts
    ]
    pts_b = [f"{p},1,{n:.3f},{e + prefix:.3f}" for p, e, n in OUTER_B]
    head = header or (
        "[属性描述]\n格式版本号=1.01\n数据产生单位=深圳市某测绘有限公司\n数据产生日期=2024-5-20\n"
        "坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=38\n精度=0.001\n转换参数=,,,,,,\n"
    )
    return (
        f"{head}[地块坐标]\n"
        f"{len(pts_a)},{AREA_A_HA:.4f},A-01,龙岗一号地块,面,F-49-1,工业用地,0601,@\n" + "\n".join(pts_a) + "\n"
        f"{len(pts_b)},0.8000,A-02,龙岗二号地块,面,F-49-1,工业用地,0601,@\n" + "\n".join(pts_b) + "\n"
    )


def table_rows(*, prefix: float = PREFIX) -> list[list[object]]:
    """Rows of a 界址点坐标成果表 as a spreadsheet holds it: 地块编号 and 地块名称 on each parcel's first row only
    (merged cells), X the northing, Y the zone-prefixed easting, 面积 in 公顷."""
    rows: list[list[object]] = []
    for number, name, area, rings in (
        ("A-01", "龙岗一号地块", AREA_A_HA, (("1", closed(OUTER_A)), ("2", closed(HOLE_A)))),
        ("A-02", "龙岗二号地块", AREA_B_HA, (("1", closed(OUTER_B)),)),
    ):
        first = True
        for ring, pts in rings:
            for p, e, n in pts:
                rows.append(
                    [number if first else "", name if first else "", area if first else "", p, ring, n, e + prefix]
                )
                first = False
    return rows


HEADER = ["地块编号", "地块名称", "面积(公顷)", "点号", "圈号", "纵坐标X", "横坐标Y"]


def write_csv(path: Path, rows: list[list[object]], encoding: str, header: list[str] = HEADER) -> Path:
    text = "\n".join(",".join(str(c) for c in row) for row in [header, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def check(delivery, *, frame: str = "EPSG:4526") -> None:
    """Both parcels, as shapely builds them from the numbers, with their areas to 1e-6 ha."""
    gdf = delivery.gdf
    assert gdf.crs.to_epsg() == 4547
    assert delivery.frame == frame
    assert list(gdf["fid"]) == ["A-01", "A-02"]
    assert list(gdf["name_zh"]) == ["龙岗一号地块", "龙岗二号地块"]
    for got, want in zip(gdf.geometry, expected(), strict=True):
        assert got.geom_type == "Polygon"
        assert got.equals(want), (got.wkt, want.wkt)
        assert shapely.symmetric_difference(got, want).area == 0
    assert gdf.geometry.area.iloc[0] / 10_000 == pytest.approx(AREA_A_HA, abs=1e-6)
    assert gdf.geometry.area.iloc[1] / 10_000 == pytest.approx(AREA_B_HA, abs=1e-6)
    assert len(gdf.geometry.iloc[0].interiors) == 1


def one_problem(path: Path, **kwargs: object) -> str:
    with pytest.raises(InputError) as info:
        read_boundary_points(path, **kwargs)
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def test_suffixes():
    assert BOUNDARY_POINT_SUFFIXES == (".csv", ".xlsx", ".txt")


def test_exchange_txt_in_gbk(tmp_path):
    path = tmp_path / "勘测定界.txt"
    path.write_bytes(exchange_text().encode("gbk"))
    d = read_boundary_points(path)
    check(d)
    assert d.format == "boundary-point table (TXT 报部格式)"
    assert d.encoding == "GB18030"
    assert d.gdf["stated_area_ha"].tolist() == pytest.approx([AREA_A_HA, AREA_B_HA], abs=1e-4)
    notes = "\n".join(d.notes)
    assert "GBK" in notes and "X is the northing" in notes and "as the file declares" in notes
    assert "2 by repeating the first point's number; 1 implicitly" in notes
    assert "states" not in notes  # stated and computed areas agree


def test_csv_utf8_bom_and_gbk(tmp_path):
    for encoding in ("utf-8-sig", "gbk"):
        d = read_boundary_points(write_csv(tmp_path / f"points-{encoding}.csv", table_rows(), encoding))
        check(d)
        assert d.format == "boundary-point table (CSV)"
        assert d.gdf["stated_area_ha"].tolist() == pytest.approx([AREA_A_HA, AREA_B_HA], abs=1e-9)


def test_xlsx_with_title_row_and_area_in_square_metres(tmp_path):
    """A workbook as offices keep the 成果表: a title row above the header, the area in 平方米."""
    wb = Workbook()
    ws = wb.active
    ws.title = "界址点成果表"
    ws.append(["龙岗区产业用地界址点坐标成果表"])
    ws.append([*HEADER[:2], "面积(平方米)", *HEADER[3:]])
    for row in table_rows():
        cells = [None if c == "" else c for c in row]
        cells[2] = None if cells[2] is None else float(cells[2]) * 10_000  # 公顷 -> 平方米
        ws.append(cells)
    path = tmp_path / "points.xlsx"
    wb.save(path)
    d = read_boundary_points(path)
    check(d)
    assert d.format == "boundary-point table (XLSX)"
    assert d.gdf["stated_area_ha"].tolist() == pytest.approx([AREA_A_HA, AREA_B_HA], abs=1e-9)
    assert any("rows above it skipped" in n for n in d.notes)


def test_plain_txt_blank_line_between_parcels(tmp_path):
    """A plain TXT as a total station's software exports it: 点号 X Y separated by spaces; rings closed by
    repeating their first point; a blank line before the next parcel; no ring numbers (the hole is told
    by lying inside the outer ring)."""
    lines = [f"{p} {n:.3f} {e + PREFIX:.3f}" for p, e, n in closed(OUTER_A) + closed(HOLE_A)]
    lines += [""] + [f"{p} {n:.3f} {e + PREFIX:.3f}" for p, e, n in OUTER_B]
    path = tmp_path / "points.txt"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    d = read_boundary_points(path)
    assert d.format == "boundary-point table (TXT)"
    assert list(d.gdf["fid"]) == ["1", "2"]
    assert d.gdf["name_zh"].isna().all() and d.gdf["stated_area_ha"].isna().all()
    for got, want in zip(d.gdf.geometry, expected(), strict=True):
        assert got.equals(want)


def test_swapped_columns_detected(tmp_path):
    """A CSV from a GIS export: columns X and Y hold the easting and the northing (the survey convention swapped)."""
    rows = [[p, e + PREFIX, n] for p, e, n in closed(OUTER_B)]
    d = read_boundary_points(write_csv(tmp_path / "swapped.csv", rows, "utf-8", ["点号", "X", "Y"]))
    assert d.gdf.geometry.iloc[0].equals(expected()[1])
    assert any("X is the easting and Y the northing" in n for n in d.notes)


def test_epsg_4547_without_prefix(tmp_path):
    """Eastings without the zone number: EPSG:4547 detected (plain TXT, commas, 点号,圈号,X,Y)."""
    lines = [f"{p},1,{n:.3f},{e:.3f}" for p, e, n in closed(OUTER_B)]
    path = tmp_path / "no-prefix.txt"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    d = read_boundary_points(path)
    assert d.frame == "EPSG:4547"
    assert d.gdf.geometry.iloc[0].equals(expected()[1])
    # the exchange TXT without the prefix: 带号 38 declares EPSG:4547
    path = tmp_path / "exchange-no-prefix.txt"
    path.write_text(exchange_text(prefix=0.0), encoding="utf-8")
    check(read_boundary_points(path), frame="EPSG:4547")


def test_english_names_taken_as_named(tmp_path):
    rows = [[p, e, n] for p, e, n in closed(OUTER_B)]
    d = read_boundary_points(write_csv(tmp_path / "en.csv", rows, "utf-8", ["point", "easting", "northing"]))
    assert d.gdf.geometry.iloc[0].equals(expected()[1])
    assert any("as the columns' names say" in n for n in d.notes)
    wrong = write_csv(tmp_path / "en-wrong.csv", rows, "utf-8", ["point", "northing", "easting"])
    assert "Swap the two column names" in one_problem(wrong)


def test_second_ring_apart_is_another_part(tmp_path):
    """A parcel of two pieces on either side of a road, numbered as rings 1 and 2 of one parcel."""
    pts = [f"{p},1,{n:.3f},{e + PREFIX:.3f}" for p, e, n in closed(OUTER_A)]
    pts += [f"{p},2,{n:.3f},{e + PREFIX:.3f}" for p, e, n in closed(OUTER_B)]
    path = tmp_path / "parts.txt"
    path.write_text(exchange_text(points_a=pts), encoding="utf-8")
    geom = read_boundary_points(path).gdf.geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon"
    want = shapely.MultiPolygon([shapely.Polygon([(e, n) for _, e, n in r]) for r in (OUTER_A, OUTER_B)])
    assert geom.equals(want)


def test_duplicate_point_dropped_and_area_mismatch_noted(tmp_path):
    rows = [[p, n, e + PREFIX] for p, e, n in closed(OUTER_B)]
    rows.insert(2, ["2a", rows[1][1], rows[1][2]])
    path = write_csv(tmp_path / "dup.csv", rows, "utf-8", ["点号", "X", "Y"])
    d = read_boundary_points(path)
    assert d.gdf.geometry.iloc[0].equals(expected()[1])
    assert any("point 2a (line 4) dropped" in n for n in d.notes)
    text = exchange_text().replace(f",{AREA_A_HA:.4f},A-01", ",3.0000,A-01")
    path = tmp_path / "area.txt"
    path.write_text(text, encoding="utf-8")
    d = read_boundary_points(path)
    assert d.gdf["stated_area_ha"].iloc[0] == 3.0
    assert any("states 3.0000 ha, the outline measures 2.8125 ha" in n for n in d.notes)


# -- bad input: one InputError naming the line (or row) and the point --------------------------


def test_non_numeric_coordinate(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(exchange_text().replace("2513150.250", "2513l50.250", 1).encode("gbk"))
    message = one_problem(path)
    assert "line 16, point J3" in message and "'2513l50.250' is not a number" in message


def test_non_numeric_coordinate_in_xlsx(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["点号", "X", "Y"])
    for p, e, n in OUTER_B:
        ws.append([p, "二五一三" if p == "3" else n, e + PREFIX])
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    message = one_problem(path)
    assert "sheet 'Sheet' row 4, point 3" in message and "X '二五一三' is not a number" in message


def test_too_few_points(tmp_path):
    path = tmp_path / "two.csv"
    rows = [[p, n, e + PREFIX] for p, e, n in [*OUTER_B[:2], OUTER_B[0]]]
    message = one_problem(write_csv(path, rows, "utf-8", ["点号", "X", "Y"]))
    assert "2 distinct point(s) (1, 2)" in message and "line 2 to line 4" in message


def test_ring_crossing_itself(tmp_path):
    """A bow tie: points 3 and 4 swapped."""
    b = OUTER_B
    rows = [[p, n, e + PREFIX] for p, e, n in [b[0], b[1], b[3], b[2]]]
    message = one_problem(write_csv(tmp_path / "bowtie.csv", rows, "utf-8", ["点号", "X", "Y"]))
    assert "crosses itself" in message and "edge 2-4 (line 3)" in message and "edge 3-1 (line 5)" in message


def test_closing_point_elsewhere(tmp_path):
    pts = [f"{p},1,{n:.3f},{e + PREFIX:.3f}" for p, e, n in OUTER_A] + [f"J1,1,{N0 + 3:.3f},{E0 + PREFIX:.3f}"]
    path = tmp_path / "closing.txt"
    path.write_text(exchange_text(points_a=pts), encoding="utf-8")
    message = one_problem(path)
    assert "point J1 (line 18)" in message and "lies 3 m from it" in message


def test_point_with_a_digit_missing(tmp_path):
    rows = [[p, n, e + PREFIX] for p, e, n in closed(OUTER_B)]
    rows[2][1] = 251300.0
    message = one_problem(write_csv(tmp_path / "digit.csv", rows, "utf-8", ["点号", "X", "Y"]))
    assert "point 3 (line 4)" in message and "Check their digits" in message


def test_xian80_refused_with_the_fix(tmp_path):
    text = exchange_text().replace("2000国家大地坐标系", "1980西安坐标系")
    path = tmp_path / "xian80.txt"
    path.write_text(text, encoding="utf-8")
    message = one_problem(path)
    assert "Xian 1980" in message and "from_crs= EPSG:2383" in message and "EPSG:2362" in message
    d = read_boundary_points(path, from_crs="EPSG:2362")  # read approximately when asked
    assert d.frame == "EPSG:2362" and len(d.gdf) == 2


def test_zone_number_contradicting_the_prefix(tmp_path):
    path = tmp_path / "zone.txt"
    path.write_text(exchange_text().replace("带号=38", "带号=39"), encoding="utf-8")
    assert "带号=39, but the eastings carry the zone number 38" in one_problem(path)


def test_overlapping_rings(tmp_path):
    """Ring 2 half over ring 1's north-east corner: neither inside nor apart."""
    across = [(p, e - 250, n + 100) for p, e, n in OUTER_B]
    pts = [
        f"{p},{r},{n:.3f},{e + PREFIX:.3f}" for r, ring in (("1", OUTER_A), ("2", across)) for p, e, n in closed(ring)
    ]
    path = tmp_path / "overlap.txt"
    path.write_text(exchange_text(points_a=pts), encoding="utf-8")
    message = one_problem(path)
    assert "ring 1 at line 14 and ring 2 at line 19 overlap" in message


def test_missing_file_and_wrong_suffix(tmp_path):
    assert "no such file" in one_problem(tmp_path / "none.csv")
    other = tmp_path / "points.xls"
    other.write_bytes(b"x")
    assert "save it as .csv, .xlsx or .txt" in one_problem(other)


def test_stated_area_in_square_metres_detected(tmp_path):
    text = exchange_text().replace(",0.8000,A-02", ",8000.00,A-02")
    path = tmp_path / "m2.txt"
    path.write_text(text, encoding="utf-8")
    d = read_boundary_points(path)
    assert d.gdf["stated_area_ha"].iloc[1] == pytest.approx(0.8)
    assert any("read as m²" in n for n in d.notes)
    assert not math.isnan(d.gdf["stated_area_ha"].iloc[0])


def test_xlsx_sheet_per_parcel_with_edge_length_rows(tmp_path):
    """A 勘测定界 workbook: a cover sheet, then one 界址点成果表 sheet per parcel whose title row is merged
    across the columns and whose 边长 (edge length) sits on a row of its own between two points."""
    wb = Workbook()
    wb.active.title = "封面"
    wb.active.append(["龙岗区某项目勘测定界成果"])
    for title, ring in (("一号地块", OUTER_A), ("二号地块", OUTER_B)):
        ws = wb.create_sheet(title)
        ws.append(["界址点成果表"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
        ws.append(["序号", "点号", "X坐标(m)", "Y坐标(m)", "边长(m)"])
        for i, (p, e, n) in enumerate(closed(ring), 1):
            ws.append([i, p, n, e + PREFIX, None])
            ws.append([None, None, None, None, 100.0])
    path = tmp_path / "sheets.xlsx"
    wb.save(path)
    d = read_boundary_points(path)
    assert list(d.gdf["name_zh"]) == ["一号地块", "二号地块"]
    want = [shapely.Polygon([(e, n) for _, e, n in r]) for r in (OUTER_A, OUTER_B)]
    for got, polygon in zip(d.gdf.geometry, want, strict=True):
        assert got.equals(polygon)
    assert any("row(s) without coordinates skipped" in n for n in d.notes)


def test_cass_points_file(tmp_path):
    """A CASS coordinate file (.dat saved as .txt): 点号,编码,东坐标Y,北坐标X,高程, the code mostly empty."""
    lines = [f"{p},{'' if p != '3' else 'JZD'},{e:.3f},{n:.3f},12.500" for p, e, n in closed(OUTER_B)]
    path = tmp_path / "cass.txt"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    d = read_boundary_points(path)
    assert d.frame == "EPSG:4547"
    assert d.gdf.geometry.iloc[0].equals(expected()[1])
    assert any("the first coordinate is the easting" in n for n in d.notes)


def test_eastings_with_and_without_the_zone_number(tmp_path):
    rows = [[p, n, e + PREFIX] for p, e, n in closed(OUTER_B)]
    rows[1][2] -= PREFIX
    message = one_problem(write_csv(tmp_path / "mixed.csv", rows, "utf-8", ["点号", "X", "Y"]))
    assert "point 2 (line 3): Y=526,500.000" in message and "without the zone number 38" in message


def test_parcel_line_without_points(tmp_path):
    text = exchange_text().replace("[地块坐标]\n", "[地块坐标]\n0,,A-00,空地块,面,,,,@\n")
    path = tmp_path / "empty-parcel.txt"
    path.write_text(text, encoding="utf-8")
    assert "parcel A-00 (空地块) from line 13: has no points" in one_problem(path)


def test_parcel_number_used_twice(tmp_path):
    path = tmp_path / "twice.txt"
    path.write_text(exchange_text().replace(",A-02,", ",A-01,"), encoding="utf-8")
    assert "parcel number A-01 is used by several parcels (line 13, line 24)" in one_problem(path)
