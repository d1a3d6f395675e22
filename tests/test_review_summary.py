"""gis review: what the summary claims without control lines, Shapefile field names, sketches outside the
districts, the HTML drawing's view and conflict areas, and the messages of files without a sketch."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import geopandas as gpd
import pytest

from tests.test_review import SKETCH, box, export, gis, write_land

NOT_REVIEWED = "管控线未审查 control lines not reviewed: no control-line layer"
OUTSIDE = "outside Longgang, Longhua and Pingshan: no district total moves"


def test_without_control_lines_no_summary_claims_no_conflict(test_layers: Path, tmp_path: Path) -> None:
    path = export(tmp_path / "s.geojson", [(box(5050, 1000, 100, 100), {})])
    result = gis("review", path, "--layers", test_layers)
    assert result.exit_code == 0, result.output  # 0: no conflict found (none can be)
    assert result.stdout.rstrip().endswith(NOT_REVIEWED) and "no conflict" not in result.stdout
    result = gis("review", path, "--layers", test_layers, "-f", "json")
    data = json.loads(result.stdout)
    assert data["control_lines_reviewed"] is False and data["sketches"][0]["conflict"] is False
    result = gis("review", path, "--layers", test_layers, "-f", "html")
    assert result.exit_code == 0 and NOT_REVIEWED in result.stdout and "No conflict" not in result.stdout
    write_land(test_layers, targets=False)  # control lines now: reviewed, and none under this sketch
    result = gis("review", path, "--layers", test_layers, "-f", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["control_lines_reviewed"] is True
    result = gis("review", path, "--layers", test_layers)
    assert result.stdout.rstrip().endswith("no conflict with a control line")


def test_a_shapefile_keeps_proposed_as_cut_to_10_characters(test_layers: Path, tmp_path: Path) -> None:
    path = tmp_path / "sketch.shp"
    gdf = gpd.GeoDataFrame(
        {"fid": ["SHP-1"], "proposed_as": ["parks"], "stated_area_ha": [1.0]},
        geometry=[box(5050, 1000, 100, 100)],
        crs="EPSG:4547",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Column names longer than 10 characters will be truncated"
        gdf.to_file(path, engine="pyogrio")
    assert "proposed_a" in gpd.read_file(path).columns  # the Shapefile cut the name
    result = gis("review", path, "--layers", test_layers, "-f", "json")
    assert result.exit_code == 0, result.output
    [s] = json.loads(result.stdout)["sketches"]
    assert (s["fid"], s["proposed_as"], s["stated_area_ha"]) == ("SHP-1", "parks", 1.0)
    assert {t["effect"] for t in s["targets"]} <= {"unchanged", "counted as parks", "not measured: no polygon"}


def test_a_sketch_outside_the_districts_is_reviewed_with_the_others(test_layers: Path, tmp_path: Path) -> None:
    west = box(-2000, 3000, 300, 300)  # in Shenzhen, in none of the districts
    path = export(tmp_path / "map.geojson", [(box(5050, 1000, 100, 100), {}), (west, {"fid": "W-1"})])
    result = gis("review", path, "--layers", test_layers, "-f", "json")
    assert result.exit_code == 0, result.output
    inside, outside = json.loads(result.stdout)["sketches"]
    assert inside["district"] == "440307" and inside["area_ha"] == pytest.approx(1.0)
    assert (outside["fid"], outside["district"], outside["district_name"], outside["districts"]) == (
        "W-1",
        None,
        None,
        [],
    )
    assert outside["area_ha"] == pytest.approx(9.0) and outside["outside_ha"] == pytest.approx(9.0)
    assert outside["targets"] and all(  # nothing moves: a total without polygons stays not measured
        t["effect"] in ("unchanged", "not measured: no polygon") and t["after_ha"] == t["before_ha"]
        for t in outside["targets"]
    )
    assert f"note: sketch W-1: {OUTSIDE}" in result.stderr
    # a file of no sketch in the districts is reviewed too
    only = export(tmp_path / "west.geojson", [(west, {"fid": "W-1"})])
    result = gis("review", only, "--layers", test_layers)
    assert result.exit_code == 0, result.output
    assert f"district   none: {OUTSIDE}" in result.stdout and f"targets    {OUTSIDE}" in result.stdout
    result = gis("review", only, "--layers", test_layers, "-f", "html")
    assert result.exit_code == 0 and OUTSIDE in result.stdout


def _extent(d: str) -> tuple[float, float, float, float]:
    xy = [tuple(map(float, p)) for p in re.findall(r"(-?[\d.]+) (-?[\d.]+)", d)]
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    return min(xs), min(ys), max(xs), max(ys)


def test_html_view_is_fitted_to_the_sketch_and_conflicts_are_drawn(test_layers: Path, tmp_path: Path) -> None:
    write_land(test_layers)
    big = box(3000, 3000, 1000, 600)  # 60 ha, in a 20 km district
    path = export(tmp_path / "s.geojson", [(big, {"fid": "BIG"}), (SKETCH, {"fid": "LG-01"})])
    result = gis("review", path, "--layers", test_layers, "-f", "html")
    assert result.exit_code == 1, result.output
    page = result.stdout
    svgs = re.findall(r'<svg width="\d+" height="\d+" viewBox="0 0 (\d+) (\d+)" role="img".*?</svg>', page, re.S)
    assert len(svgs) == 2
    for svg in re.findall(r'<svg width="\d+" height="\d+" viewBox="0 0 \d+ \d+" role="img".*?</svg>', page, re.S):
        w, h = map(float, re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
        sketch = re.search(r'<path d="([^"]+)" fill="#1f3fbf"', svg)
        assert sketch, svg
        x0, y0, x1, y1 = _extent(sketch[1])
        # a margin of its own size on each side (a third of the frame), at least 500 m (LG-01: 200 of 1,200 m)
        assert (x1 - x0) / w == pytest.approx(1 / 3 if 'aria-label="BIG"' in svg else 1 / 6, abs=0.01)
        assert 0 < x0 < x1 < w and 0 < y0 < y1 < h  # centred, whole
        for d in re.findall(r' d="([^"]+)"', svg):  # everything clipped to the frame
            if re.search(r"\d", d) and not re.search(r"[a-z]", d):  # absolute (the north arrow is relative)
                a0, b0, a1, b1 = _extent(d)
                assert a0 >= -1 and b0 >= -1 and a1 <= w + 1 and b1 <= h + 1
        assert 'clip-path="url(#view-' in svg
    assert 'stroke="#d7191c"' not in page and 'fill="#d7191c"' not in page  # the red line's near twin
    assert page.count('class="conflict-area"') == 1 and "冲突 conflict" in page  # LG-01 on the red line
    assert "冲突 conflict</span>" in page  # its legend key
    # the conflict area: the 0.2 ha of the red line under LG-01 (20 x 100 m of a 200 x 100 m sketch)
    lg = re.findall(r'viewBox="0 0 \d+ \d+" role="img" aria-label="LG-01".*?</svg>', page, re.S)[0]
    cx0, _, cx1, _ = _extent(re.search(r'class="conflict-area" d="([^"]+)"', lg)[1])
    sx0, _, sx1, _ = _extent(re.search(r'<path d="([^"]+)" fill="#1f3fbf"', lg)[1])
    assert (cx1 - cx0) / (sx1 - sx0) == pytest.approx(0.1, abs=0.01)


def test_files_without_a_sketch_and_a_geopackage_of_several_layers(test_layers: Path, tmp_path: Path) -> None:
    def error(path: Path) -> str:
        result = gis("review", path, "--layers", test_layers)
        assert result.exit_code == 2, result.output
        [line] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        return line

    (tmp_path / "zero.geojson").write_bytes(b"")
    assert (
        error(tmp_path / "zero.geojson")
        == f"error: {tmp_path / 'zero.geojson'}: has no sketch: draw one and export again."
    )
    (tmp_path / "empty.geojson").write_text('{"type": "FeatureCollection", "frame": "WGS-84", "features": []}')
    assert error(tmp_path / "empty.geojson") == (
        f"error: {tmp_path / 'empty.geojson'}: has no sketch: draw one and export again."
    )
    gpkg = tmp_path / "two.gpkg"
    for name in ("a", "b"):
        gpd.GeoDataFrame({"fid_": [name]}, geometry=[box(5050, 1000, 100, 100)], crs="EPSG:4547").to_file(
            gpkg, layer=name
        )
    message = error(gpkg)
    assert str(gpkg) in message and message.endswith("Pass --source-layer NAME with the one to review.")
