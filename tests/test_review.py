"""gis review: hand-made sketches over the test layers with exact answers (areas in EPSG:4547).

The test district (440307) is a 20 km square from x 520 km, y 2505 km; its features are rectangles
of whole metres (tests/data/README.md): park TT-PK-01 is x 525000-525100, y 2506000-2506100.
Sketches are drawn in EPSG:4547 and written as the web map exports them (lon/lat, frame WGS-84).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from gis import settings, style
from gis.cli import cli
from gis.crs import geometry_gcj02_from_wgs84
from gis.io.sketches import read_sketches
from gis.pipeline import run_check
from gis.review import review
from gis.review_targets import parse_proposal
from tests.conftest import REPO
from tests.data.make_data import rect

X0, Y0 = 520_000.0, 2_505_000.0


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """A w x h metre rectangle at (X0 + x, Y0 + y), EPSG:4547."""
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def export(path: Path, sketches: list[tuple[shapely.Geometry, dict]], *, frame: str = "WGS-84") -> Path:
    """Write sketches (EPSG:4547) as the web map's ⇩ export: a FeatureCollection in lon/lat with a frame member."""
    lonlat = gpd.GeoSeries([g for g, _ in sketches], crs="EPSG:4547").to_crs("EPSG:4326")
    features = []
    for i, (geom, props) in enumerate(zip(lonlat, [p for _, p in sketches], strict=True)):
        if frame == "GCJ-02":
            geom = geometry_gcj02_from_wgs84(geom)
        features.append(
            {
                "type": "Feature",
                "properties": {"fid": f"DRAWN-{i + 1}", "name_zh": "", "note": "sketched in the web map", **props},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    doc = {"type": "FeatureCollection", "frame": frame, "exported": "2026-11-30T12:00:00Z", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def run_review(path: Path, layers: Path, proposed_as: str | None = None):
    return review(read_sketches(path), run_check(layers_dir=layers), proposed_as=proposed_as)


def gis(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def rows(sketch: dict) -> dict[str, dict]:
    return {t["target_id"]: t for t in sketch["targets"]}


# ---------------------------------------------------------------------------- sketch figures


def test_a_square_half_over_a_park(test_layers: Path, tmp_path: Path) -> None:
    path = export(tmp_path / "s.geojson", [(box(5050, 1000, 100, 100), {"name_zh": "半个公园"})])
    data = run_review(path, test_layers).to_dict()
    json.dumps(data, allow_nan=False)  # plain JSON: no NaN, no numpy numbers
    [s] = data["sketches"]
    assert s["area_ha"] == pytest.approx(1.0, abs=1e-6)
    assert s["geodesic_ha"] == pytest.approx(1.0, rel=1e-4) and abs(s["geodesic_diff_pct"]) < 0.01
    assert (s["district"], s["district_name"], s["outside_ha"]) == ("440307", "龙岗区", pytest.approx(0, abs=1e-6))
    assert (s["street"], s["street_from"]) == ("测试街道", "TT-PK-01")
    [o] = s["overlaps"]
    assert (o["layer"], o["part"], o["fid"], o["name_zh"]) == ("parks", "extent", "TT-PK-01", "测试公园")
    assert o["overlap_ha"] == pytest.approx(0.5, abs=1e-4)
    assert o["share_of_sketch_pct"] == pytest.approx(50, abs=1e-3)
    assert o["share_of_feature_pct"] == pytest.approx(50, abs=1e-3)
    assert s["land"] is None and s["control"] is None and s["conflict"] is False
    # no proposal: each row as if the sketch were that target's own kind; its park half already counted once
    t = rows(s)
    assert t["TT-09"]["effect"] == "if counted as consolidation_zones.consolidation"
    assert (t["TT-09"]["before_ha"], t["TT-09"]["after_ha"]) == (pytest.approx(36), pytest.approx(37, abs=1e-4))
    assert (t["TT-14"]["status_before"], t["TT-14"]["status_after"]) == ("within tolerance", "met")  # 4.4 -> 5.4 > 4.5
    assert t["TT-14"]["delta_ha"] == pytest.approx(1.0, abs=1e-4)
    # Longhua's parks (no polygon): another district, not moved, so not measured
    assert t["TT-10"]["effect"] == "not measured: no polygon" and t["TT-10"]["after_ha"] is None
    assert t["TT-10"]["delta_ha"] is None
    assert t["TT-09"]["source_ref"] == "row 9"


def test_a_proposal_moves_only_its_own_layer_and_counts_an_overlap_once(test_layers: Path, tmp_path: Path) -> None:
    # 400 x 400 m over the consolidation scope's corner (x 521100-521700): 200 x 200 m of it shared
    path = export(
        tmp_path / "s.geojson", [(box(1500, 1500, 400, 400), {"proposed_as": "consolidation_zones.consolidation"})]
    )
    [s] = run_review(path, test_layers).to_dict()["sketches"]
    t = rows(s)
    assert t["TT-09"]["effect"] == "counted as consolidation_zones.consolidation"
    assert t["TT-09"]["after_ha"] == pytest.approx(36 + 16 - 4, abs=1e-4)
    assert t["TT-14"]["effect"] == "unchanged" and t["TT-14"]["after_ha"] == t["TT-14"]["before_ha"]
    # --as wins over the property; a thematic layer alone is its part extent (what gis import stores):
    # it moves a part-less total (TT-14, every part of industrial_land) ...
    [s] = run_review(path, test_layers, proposed_as="industrial_land").to_dict()["sketches"]
    assert rows(s)["TT-09"]["effect"] == "unchanged" and rows(s)["TT-14"]["after_ha"] == pytest.approx(
        4.4 + 16, abs=1e-4
    )
    # ... and not a total of another part (TT-09, the consolidation scope)
    [s] = run_review(path, test_layers, proposed_as="consolidation_zones").to_dict()["sketches"]
    assert rows(s)["TT-09"]["effect"] == "unchanged" and rows(s)["TT-09"]["after_ha"] == pytest.approx(36)
    [s] = run_review(path, test_layers, proposed_as="consolidation_zones.reserve").to_dict()["sketches"]
    assert rows(s)["TT-09"]["effect"] == "unchanged"  # both name a part, not the same one


def test_a_layer_alone_is_its_extent_as_gis_import_stores_it(test_layers: Path, tmp_path: Path) -> None:
    # a part-less consolidation total beside TT-09 (the consolidation scope)
    with (test_layers / "targets.csv").open("a", encoding="utf-8") as f:
        f.write("TT-CZ,aggregate,,,440307,consolidation_zones,area,at_least,30,ha,10,2025,test,row,test\n")
    sketch = box(1500, 1500, 400, 400)
    path = export(tmp_path / "s.geojson", [(sketch, {"proposed_as": "consolidation_zones"})])
    run = run_check(layers_dir=test_layers)
    [s] = review(read_sketches(path), run).to_dict()["sketches"]
    t = rows(s)
    assert t["TT-09"]["effect"] == "unchanged" and t["TT-09"]["after_ha"] == t["TT-09"]["before_ha"]
    zones = run.features[(run.features["layer"] == "consolidation_zones") & (run.features["district"] == "440307")]
    shared = shapely.union_all(zones.to_crs("EPSG:4547").geometry.to_numpy()).intersection(sketch).area / 1e4
    assert t["TT-CZ"]["effect"] == "counted as consolidation_zones"
    assert t["TT-CZ"]["after_ha"] - t["TT-CZ"]["before_ha"] == pytest.approx(16 - shared, abs=1e-4)
    assert parse_proposal("consolidation_zones").part == "extent"
    # the parts a proposal may name are those the layers draw
    assert {(layer, p) for layer, parts in settings.LAYER_PARTS.items() for p in parts} == set(style.STYLES)


def test_totals_that_cannot_be_measured_are_listed_as_such(test_layers: Path, tmp_path: Path) -> None:
    # land-use and control-line totals with neither layer (as the shipped layers): listed, not measured
    with (test_layers / "targets.csv").open("a", encoding="utf-8") as f:
        f.write("LU-NM,aggregate,,industrial,440307,landuse,area,at_least,60,km2,10,2025,test,row,test\n")
        f.write("CL-NM,aggregate,,retention_zone,440307,control_lines,area,more_than,25,km2,10,2025,test,row,test\n")
    path = export(tmp_path / "s.geojson", [(box(1500, 1500, 400, 400), {"proposed_as": "landuse:industrial"})])
    result = gis("review", path, "--layers", test_layers, "--format", "json")
    assert result.exit_code == 0, result.output
    t = rows(json.loads(result.stdout)["sketches"][0])
    for tid, status in (("LU-NM", "no land-use layer"), ("CL-NM", "no control-line layer")):
        assert t[tid]["planned_ha"] == pytest.approx(6000 if tid == "LU-NM" else 2500)
        assert (t[tid]["before_ha"], t[tid]["after_ha"], t[tid]["delta_ha"]) == (None, None, None)
        assert (t[tid]["status_before"], t[tid]["status_after"]) == (status, status)
        assert t[tid]["effect"] == f"not measured: {status}"
    table = gis("review", path, "--layers", test_layers).stdout
    assert "LU-NM" in table and "6,000.0000 ha: not measured: no land-use layer; " in table and "- -> -" not in table
    csv = gis("review", path, "--layers", test_layers, "--format", "csv").stdout
    assert "CL-NM" in csv and "not measured: no control-line layer" in csv
    html = tmp_path / "r.html"
    assert gis("review", path, "--layers", test_layers, "-o", html).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "LU-NM" in page and "not measured: no land-use layer" in page


def test_a_sketch_across_two_districts_counts_toward_the_larger_part(test_layers: Path, tmp_path: Path) -> None:
    doc = json.loads((test_layers / "districts.geojson").read_text(encoding="utf-8"))
    east = {"district": "440309", "name_zh": "测试二区", "name_en": "Second test district"}
    doc["features"].append(
        {"type": "Feature", "properties": east, "geometry": rect(20_000, 0, 20_000, 20_000, step=1000)}
    )
    (test_layers / "districts.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    # 400 m x 100 m: 100 m in 440307, 300 m in 440309; then one reaching 50 m south of both
    path = export(
        tmp_path / "s.geojson", [(box(19_900, 5000, 400, 100), {}), (box(19_900, -50, 400, 100), {"fid": "S-2"})]
    )
    first, second = run_review(path, test_layers, proposed_as="parks").to_dict()["sketches"]
    assert first["district"] == "440309" and first["district_name"] == "龙华区"
    assert [(d["district"], round(d["ha"], 4), round(d["share_pct"], 2)) for d in first["districts"]] == [
        ("440309", 3.0, 75.0),
        ("440307", 1.0, 25.0),
    ]
    assert first["outside_ha"] == pytest.approx(0, abs=1e-4)
    assert second["outside_ha"] == pytest.approx(2.0, abs=1e-4) and second["fid"] == "S-2"
    # TT-10 (parks of 440309, no polygon before) moves to the whole sketch; TT-14 (440307) does not
    t = rows(first)
    assert (t["TT-10"]["before_ha"], t["TT-10"]["after_ha"]) == (None, pytest.approx(4.0, abs=1e-4))
    assert (t["TT-10"]["status_before"], t["TT-10"]["status_after"]) == ("no polygon", "short")
    assert t["TT-09"]["effect"] == "unchanged"


def test_a_multipolygon_is_one_sketch_and_a_geopackage_reads_the_same(test_layers: Path, tmp_path: Path) -> None:
    two = shapely.MultiPolygon([box(5050, 1000, 100, 100), box(5450, 1000, 100, 100)])  # half of each park
    gpkg = tmp_path / "sketch.gpkg"
    gpd.GeoDataFrame({"feature_id": ["x"], "name_zh": ["两块"]}, geometry=[two], crs="EPSG:4547").to_file(gpkg)
    [s] = run_review(gpkg, test_layers).to_dict()["sketches"]
    assert s["fid"] == "x" and s["name_zh"] == "两块" and s["area_ha"] == pytest.approx(2.0)
    assert sorted((o["fid"], round(o["overlap_ha"], 4)) for o in s["overlaps"]) == [
        ("TT-PK-01", 0.5),
        ("TT-PK-02", 0.5),
    ]


def test_gcj02_twin_gives_the_same_figures(test_layers: Path, tmp_path: Path) -> None:
    sketches = [(box(5050, 1000, 100, 100), {})]
    wgs = run_review(export(tmp_path / "wgs.geojson", sketches), test_layers).to_dict()["sketches"][0]
    gcj = run_review(export(tmp_path / "gcj.geojson", sketches, frame="GCJ-02"), test_layers).to_dict()["sketches"][0]
    assert gcj["area_ha"] == pytest.approx(wgs["area_ha"], abs=0.01)
    assert gcj["overlaps"][0]["overlap_ha"] == pytest.approx(wgs["overlaps"][0]["overlap_ha"], abs=0.01)
    # the same file read as WGS-84 would lie some 500 m away, over nothing
    doc = json.loads((tmp_path / "gcj.geojson").read_text(encoding="utf-8"))
    doc["frame"] = "WGS-84"
    (tmp_path / "wrong.geojson").write_text(json.dumps(doc), encoding="utf-8")
    assert run_review(tmp_path / "wrong.geojson", test_layers).to_dict()["sketches"][0]["overlaps"] == []
    # or declared on the command line for a file that says nothing
    del doc["frame"]
    (tmp_path / "plain.geojson").write_text(json.dumps(doc), encoding="utf-8")
    result = gis("review", tmp_path / "plain.geojson", "--layers", test_layers, "--from-crs", "gcj02", "-f", "json")
    assert result.exit_code == 0, result.output
    back = json.loads(result.stdout)["sketches"][0]
    assert back["overlaps"][0]["overlap_ha"] == pytest.approx(0.5, abs=0.01)


# ---------------------------------------------------------------------------- land use and control lines

BX, BY = 1000.0, 3000.0  # the land-use test's origin (offsets from X0, Y0); the sketch S is 200 x 100 m there


def near(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return box(BX + x, BY + y, w, h)


SKETCH = near(0, 0, 200, 100)  # 2 ha
#: parcel, 用地用海 code, rectangle: A (industrial, 1 ha) wholly under S; B (logistics, 0.5 ha) wholly under
#: S; C (park, 0.75 ha) a quarter-hectare under S; D (industrial, 1 ha) away from S; 0.25 ha of S has no parcel
PARCELS = [
    ("A", "100101", near(0, 0, 100, 100)),
    ("B", "1101", near(100, 0, 100, 50)),
    ("C", "1401", near(150, 50, 150, 50)),
    ("D", "1001", near(0, 200, 100, 100)),
]
#: block line 1 over x -100..50 (half of A, half of D); the retention zone over x 150..400, y -100..50
#: (0.25 ha of S, 3.75 ha in all); the red line over x 180..300, y 0..100 (0.2 ha of S)
CONTROL = [
    ("BL1", "block_line_1", near(-100, -100, 150, 500)),
    ("RZ1", "retention_zone", near(150, -100, 250, 150)),
    ("ER1", "eco_redline", near(180, 0, 120, 100)),
    ("UB1", "urban_boundary", near(-500, -500, 1000, 1000)),
]
LAND_TARGETS = [
    # target, part, comparator, value, tolerance
    ("LU-IND", "industrial", "at_least", "2", "10"),  # A + D = 2 ha: met
    ("LU-IL", "industrial+logistics", "approx", "2.5", "20"),  # A + B + D = 2.5: met
    ("LU-PK", "park_green", "at_least", "1", "10"),  # C 0.75: short
    ("LU-IN", "industrial inside block_line", "at_least", "1", "10"),  # half of A and of D: met
]


def write_land(layers: Path, *, control: list = CONTROL, targets: bool = True) -> None:
    gpd.GeoDataFrame(
        {
            "parcel_id": [p[0] for p in PARCELS],
            "code": [p[1] for p in PARCELS],
            "code_system": "yongdi",
            "district": "440307",
            "official_m2": None,
        },
        geometry=[p[2] for p in PARCELS],
        crs="EPSG:4547",
    ).to_parquet(layers / "landuse.parquet", geometry_encoding="geoarrow")
    gpd.GeoDataFrame(
        {"line_id": [c[0] for c in control], "kind": [c[1] for c in control], "district": "440307"},
        geometry=[c[2] for c in control],
        crs="EPSG:4547",
    ).to_parquet(layers / "control_lines.parquet")
    lines = [
        f"{tid},aggregate,,{part},440307,landuse,area,{cmp},{v},ha,{tol},2025,test,row,test"
        for tid, part, cmp, v, tol in LAND_TARGETS
    ]
    if not targets:
        return
    lines.append("CL-RZ,aggregate,,retention_zone,440307,control_lines,area,at_least,4,ha,10,2025,test,row,test")
    with (layers / "targets.csv").open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def test_land_classes_and_control_lines_under_a_sketch(test_layers: Path, tmp_path: Path) -> None:
    write_land(test_layers)
    [s] = run_review(export(tmp_path / "s.geojson", [(SKETCH, {})]), test_layers).to_dict()["sketches"]
    classes = {c["class"]: c for c in s["land"]["classes"]}
    assert list(classes) == ["industrial", "logistics", "park_green"]  # by ha, largest first
    assert [round(classes[k]["ha"], 4) for k in classes] == [1.0, 0.5, 0.25]
    assert [round(classes[k]["share_pct"], 2) for k in classes] == [50.0, 25.0, 12.5]
    assert classes["industrial"]["parcels"] == 1 and classes["industrial"]["name_zh"] == "工业用地"
    assert classes["industrial"]["codes"] == [{"code": "100101", "name_zh": "一类工业用地", "ha": pytest.approx(1.0)}]
    assert s["land"]["no_parcel_ha"] == pytest.approx(0.25, abs=1e-6)
    control = s["control"]
    conflicts = {c["kind"]: c for c in control["conflicts"]}
    assert conflicts["eco_redline"]["ha"] == pytest.approx(0.2) and conflicts["eco_redline"]["conflict"] is True
    assert conflicts["eco_redline"]["share_pct"] == pytest.approx(10.0)
    assert conflicts["basic_farmland"] == {
        "kind": "basic_farmland",
        "name_zh": "永久基本农田",
        "in_layer": False,
        "ha": None,
        "share_pct": None,
        "conflict": False,
    }
    bounds = {b["kind"]: b for b in control["boundaries"]}
    assert (bounds["block_line"]["inside_ha"], bounds["block_line"]["outside_ha"]) == (
        pytest.approx(0.5),
        pytest.approx(1.5),
    )
    assert (bounds["urban_boundary"]["inside_ha"], bounds["urban_boundary"]["outside_ha"]) == (
        pytest.approx(2.0),
        pytest.approx(0),
    )
    assert control["retention_zone"]["inside_ha"] == pytest.approx(0.25)
    assert s["conflict"] is True


def test_land_use_and_control_targets_by_rules_b_and_c(test_layers: Path, tmp_path: Path) -> None:
    write_land(test_layers)
    path = export(tmp_path / "s.geojson", [(SKETCH, {})])
    # no proposal: each row as if S were that target's own kind (industrial, park_green, the retention zone)
    t = rows(run_review(path, test_layers).to_dict()["sketches"][0])
    assert t["LU-IND"]["before_ha"] == pytest.approx(2.0) and t["LU-IND"]["status_before"] == "met"
    # removed: the industrial land of D under S (A, 1 ha); added: every parcel under S (1 + 0.5 + 0.25)
    assert (
        t["LU-IND"]["after_ha"] == pytest.approx(2 - 1 + 1.75)
        and t["LU-IND"]["effect"] == "if counted as landuse:industrial"
    )
    assert (
        t["LU-IL"]["after_ha"] == pytest.approx(2.5 - 1.5 + 1.75) and t["LU-IL"]["status_after"] == "within tolerance"
    )
    assert t["LU-PK"]["after_ha"] == pytest.approx(0.75 - 0.25 + 1.75)
    assert (t["LU-PK"]["status_before"], t["LU-PK"]["status_after"]) == ("short", "met")
    assert t["LU-IN"]["after_ha"] == pytest.approx(1.0 - 0.5 + 0.5)  # only the land inside the block line counts
    # rule c: after = before + area(S in D) - area(S in the zone) = 3.75 + 2 - 0.25
    assert t["CL-RZ"]["before_ha"] == pytest.approx(3.75) and t["CL-RZ"]["after_ha"] == pytest.approx(5.5)
    assert (t["CL-RZ"]["status_before"], t["CL-RZ"]["status_after"]) == ("within tolerance", "met")
    # proposed as logistics: industrial land goes, logistics comes; the park loses its quarter hectare
    t = rows(run_review(path, test_layers, proposed_as="landuse:logistics").to_dict()["sketches"][0])
    assert t["LU-IND"]["after_ha"] == pytest.approx(1.0) and t["LU-IND"]["status_after"] == "short"
    assert t["LU-IL"]["after_ha"] == pytest.approx(2.75) and t["LU-PK"]["after_ha"] == pytest.approx(0.5)
    assert t["LU-IN"]["after_ha"] == pytest.approx(0.5)
    assert t["CL-RZ"]["effect"] == "unchanged" and t["CL-RZ"]["after_ha"] == pytest.approx(3.75)
    assert t["TT-09"]["effect"] == "unchanged"
    # a park: its land becomes park_green (settings.PROPOSAL_LAND_CLASS)
    t = rows(run_review(path, test_layers, proposed_as="parks").to_dict()["sketches"][0])
    assert t["LU-PK"]["after_ha"] == pytest.approx(2.25) and t["LU-PK"]["counted_as"] == "parks"
    assert t["LU-IND"]["after_ha"] == pytest.approx(1.0)
    # a consolidation zone says nothing of land use: the land-use rows are unchanged
    t = rows(run_review(path, test_layers, proposed_as="consolidation_zones").to_dict()["sketches"][0])
    assert {t[k]["effect"] for k in ("LU-IND", "LU-IL", "LU-PK", "LU-IN", "CL-RZ")} == {"unchanged"}
    # the retention zone proposed: rule c only
    t = rows(run_review(path, test_layers, proposed_as="control_lines:retention_zone").to_dict()["sketches"][0])
    assert t["CL-RZ"]["after_ha"] == pytest.approx(5.5) and t["LU-IND"]["effect"] == "unchanged"


def test_conflict_exits_1_and_no_conflict_exits_0(test_layers: Path, tmp_path: Path) -> None:
    write_land(test_layers)
    path = export(tmp_path / "s.geojson", [(SKETCH, {"fid": "LG-01", "name_zh": "红线上"})])
    result = gis("review", path, "--layers", test_layers)
    assert result.exit_code == 1, result.output
    assert "Sketch LG-01 红线上 (no proposal)  ** CONFLICT **" in result.stdout
    assert "eco_redline 生态保护红线: CONFLICT 0.2000 ha (10.0 % of the sketch)" in result.stdout
    assert "block_line 工业区块线: inside 0.5000 ha, outside 1.5000 ha" in result.stdout
    assert "industrial 工业用地: 1.0000 ha (50.0 %), 1 parcel(s); 100101 一类工业用地 1.0000 ha" in result.stdout
    assert "no parcel: 0.2500 ha" in result.stdout
    write_land(test_layers, control=[c for c in CONTROL if c[1] != "eco_redline"], targets=False)
    result = gis("review", path, "--layers", test_layers, "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sketches"][0]["conflict"] is False


# ---------------------------------------------------------------------------- the command line


def test_without_land_use_or_control_lines_the_table_says_so(test_layers: Path, tmp_path: Path) -> None:
    path = export(tmp_path / "s.geojson", [(box(5050, 1000, 100, 100), {"name_zh": "公园草图"})])
    result = gis("review", path, "--layers", test_layers)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Sketch DRAWN-1 公园草图 (no proposal)" in out
    assert "land use   no land-use layer" in out and "control    no control-line layer: not reviewed" in out
    assert "parks/extent TT-PK-01 测试公园: 0.5000 ha, 50.0 % of the sketch, 50.0 % of the feature" in out
    assert "street     测试街道 (from overlapped feature TT-PK-01)" in out
    assert (
        "TT-14" in out
        and "4.4000 -> 5.4000 ha (+1.0000); within tolerance -> met; if counted as industrial_land" in out
    )
    # -o picks the format by the suffix; written atomically, said on stderr
    for name, check in (
        ("r.json", lambda t: json.loads(t)["sketches"][0]["fid"] == "DRAWN-1"),
        ("r.txt", lambda t: "Sketch DRAWN-1" in t),
        ("r.csv", lambda t: t.startswith("\ufeffsketch_fid,")),
    ):
        result = gis("review", path, "--layers", test_layers, "-o", tmp_path / name)
        assert result.exit_code == 0 and f"wrote {tmp_path / name}" in result.stderr
        assert check((tmp_path / name).read_text(encoding="utf-8"))
    result = gis("review", path, "--layers", test_layers, "-o", tmp_path / "r.json")
    assert result.exit_code == 2 and "--overwrite" in result.stderr


def test_html_is_one_offline_file_with_the_figures(test_layers: Path, tmp_path: Path) -> None:
    write_land(test_layers)
    path = export(tmp_path / "s.geojson", [(SKETCH, {"fid": "LG-01", "name_zh": "<b>红线上</b>"})])
    result = gis("review", path, "--layers", test_layers, "-o", tmp_path / "review.html")
    assert result.exit_code == 1, result.output
    page = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, re.I)
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower() and "@import" not in page
    assert page.count(' role="img"') == 1 and "<b>红线上</b>" not in page and "&lt;b&gt;红线上&lt;/b&gt;" in page
    assert "2.0000 ha (EPSG:4547)" in page and "CONFLICT" in page and "LU-IND" in page
    assert re.search(r">\d+ m</text>", page)  # the scale bar


def test_bad_sketches_exit_2_with_one_line(test_layers: Path, tmp_path: Path) -> None:
    def refused(path: Path, *extra: str) -> str:
        result = gis("review", path, "--layers", test_layers, *extra)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        return errors[0]

    line = gpd.GeoSeries([shapely.LineString(box(3000, 3000, 300, 300).exterior.coords[:3])], crs="EPSG:4547")
    doc = {
        "type": "FeatureCollection",
        "frame": "WGS-84",
        "features": [
            {
                "type": "Feature",
                "properties": {"fid": "L-1"},
                "geometry": shapely.geometry.mapping(line.to_crs("EPSG:4326")[0]),
            }
        ],
    }
    (tmp_path / "line.geojson").write_text(json.dumps(doc), encoding="utf-8")
    assert "sketch L-1: is a LineString, not a polygon: close its outline" in refused(tmp_path / "line.geojson")
    bowtie = shapely.Polygon(
        [(X0 + 3000, Y0 + 3000), (X0 + 3300, Y0 + 3300), (X0 + 3300, Y0 + 3000), (X0 + 3000, Y0 + 3300)]
    )
    message = refused(export(tmp_path / "bowtie.geojson", [(bowtie, {"fid": "B-1"})]))
    assert re.search(r"sketch B-1: its outline crosses itself near lon 114\.\d+, lat 22\.\d+\. Redraw it", message)
    (tmp_path / "empty.geojson").write_text('{"type": "FeatureCollection", "frame": "WGS-84", "features": []}')
    assert "empty.geojson" in refused(tmp_path / "empty.geojson")
    far = shapely.box(116.3, 39.9, 116.31, 39.91)  # Beijing
    doc = {
        "type": "FeatureCollection",
        "frame": "WGS-84",
        "features": [{"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(far)}],
    }
    (tmp_path / "far.geojson").write_text(json.dumps(doc), encoding="utf-8")
    assert "not in Shenzhen" in refused(tmp_path / "far.geojson")
    ok = export(tmp_path / "ok.geojson", [(box(3000, 3000, 300, 300), {"proposed_as": "park"})])
    assert f"{ok}: sketch DRAWN-1: property proposed_as: 'park' is no kind" in refused(ok)
    message = refused(ok, "--as", "landuse:industry")
    assert message.startswith("error: --as: 'landuse:industry' is no kind") and "landuse:CLASS (farmland" in message
    assert "no such file" in refused(tmp_path / "missing.geojson")
    # a part the layer does not draw (a control-line kind is no thematic part): the layer's parts named
    assert refused(ok, "--as", "parks.block_line").endswith("layer parks takes the parts extent, not 'block_line'.")
    message = refused(ok, "--as", "industrial_land.retention_zone")
    assert "layer industrial_land takes the parts extent, site, not 'retention_zone'" in message
    result = gis("review", "--help")
    assert (
        "industrial_land.extent|site" in result.output
        and "retention_zone" not in result.output.split("control_lines:KIND")[0]
    )
    with pytest.raises(ValueError, match="control_lines:KIND"):
        parse_proposal("control_lines:red")


def test_the_maps_export_goes_through_review_and_import_unchanged(test_layers: Path, tmp_path: Path) -> None:
    figures = {
        "fid": "TT-PK-09",
        "name_zh": "新公园",
        "proposed_as": "parks",
        "review_area_ha": 1.0,
        "review_district": "440307",
        "review_district_name": "龙岗区",
        "review_overlaps": "TT-PK-01 测试公园 0.5000 ha",
        "review_classes": "",
        "review_conflicts": "",
        "review_targets": "TT-14 4.4000 -> 4.9000 ha (within tolerance -> met)",
        "review_tool": "gis web map 0.1.0",
        "reviewed": "2026-11-30T12:00:00Z",
    }
    path = export(tmp_path / "sketch-wgs84.geojson", [(box(5050, 1000, 100, 100), figures)])
    result = gis("review", path, "--layers", test_layers, "-f", "json")
    assert result.exit_code == 0, result.output
    [s] = json.loads(result.stdout)["sketches"]
    assert s["proposed_as"] == "parks" and s["area_ha"] == pytest.approx(1.0)
    assert "review_area_ha" not in s and sum("review figures" in n for n in result.stderr.splitlines()) == 1
    assert rows(s)["TT-14"]["effect"] == "unchanged"  # a park moves no industrial total
    result = gis("import", path, "--layer", "parks", "--layers", test_layers)
    assert result.exit_code == 0, result.output
    assert "added    TT-PK-09  新公园" in result.stdout and "review figures" in result.stderr


def test_shipped_layers_smoke(tmp_path: Path) -> None:
    layers = REPO / "layers"
    zones = gpd.read_file(layers / "consolidation_zones.geojson").to_crs("EPSG:4547")
    zone = zones[(zones["district"] == "440307") & (zones["part"] == "consolidation")].iloc[0]
    point = zone.geometry.representative_point()
    path = export(
        tmp_path / "s.geojson",
        [(point.buffer(150, cap_style="square"), {"proposed_as": "consolidation_zones.consolidation"})],
    )
    result = gis("review", path, "--layers", layers, "-f", "json")
    assert result.exit_code == 0, result.output
    [s] = json.loads(result.stdout)["sketches"]
    assert s["district"] == "440307" and s["area_ha"] == pytest.approx(9.0, abs=1e-3)
    assert any(o["fid"] == zone["fid"] for o in s["overlaps"])
    t = rows(s)["T-001-065"]
    assert t["effect"] == "counted as consolidation_zones.consolidation" and t["after_ha"] >= t["before_ha"]


def test_a_boundary_point_table_with_two_parcels(test_layers: Path, tmp_path: Path) -> None:
    """A 界址点坐标表 as survey offices send it: GBK CSV, X the northing, eastings with the zone number 38."""
    parcels = {"A-01": box(5050, 1000, 100, 100), "A-02": box(5050, 1300, 200, 50)}
    lines = ["地块编号,地块名称,点号,X,Y"]
    for fid, poly in parcels.items():
        coords = list(poly.exterior.coords)  # closed: the first point number repeats
        for i, (e, n) in enumerate(coords):
            number = f"J{i % (len(coords) - 1) + 1}"
            lines.append(f"{fid},{fid}号地块,{number},{n:.3f},{38_000_000 + e:.3f}")
    path = tmp_path / "界址点.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    result = gis("review", path, "--layers", test_layers, "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    got = {s["fid"]: s for s in data["sketches"]}
    assert sorted(got) == ["A-01", "A-02"] and got["A-01"]["name_zh"] == "A-01号地块"
    assert got["A-01"]["area_ha"] == pytest.approx(1.0, abs=1e-6)
    assert got["A-02"]["area_ha"] == pytest.approx(1.0, abs=1e-6)
    [o] = got["A-01"]["overlaps"]  # the same square as test_a_square_half_over_a_park
    assert (o["fid"], o["overlap_ha"]) == ("TT-PK-01", pytest.approx(0.5, abs=1e-4))
    # the second parcel gets the same figures as the same outline drawn in the web map
    drawn = run_review(export(tmp_path / "d.geojson", [(parcels["A-02"], {})]), test_layers).to_dict()
    [twin] = drawn["sketches"]
    assert [(o["fid"], round(o["overlap_ha"], 4)) for o in got["A-02"]["overlaps"]] == [
        (o["fid"], round(o["overlap_ha"], 4)) for o in twin["overlaps"]
    ]
    assert [(t["target_id"], t["after_ha"]) for t in got["A-02"]["targets"]] == [
        (t["target_id"], pytest.approx(t["after_ha"], abs=1e-4) if t["after_ha"] is not None else None)
        for t in twin["targets"]
    ]
