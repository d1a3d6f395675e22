"""gis review: hand-made sketches over the test layers with exact answers (areas in EPSG:4547).

The test district (440307) is a 20 km square from x 520 km, y 2505 km; its features are rectangles
of whole metres (tests/data/README.md): park TT-PK-01 is x 525000-525100, y 2506000-2506100.
Sketches are drawn in EPSG:4547 and written as the web map exports them (lon/lat, frame WGS-84).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from gis.cli import cli
from gis.crs import geometry_gcj02_from_wgs84
from gis.io.sketches import read_sketches
from gis.pipeline import run_check
from gis.review import review
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
    [s] = run_review(path, test_layers).to_dict()["sketches"]
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
    assert t["TT-10"]["effect"] == "unchanged" and t["TT-10"]["after_ha"] is None  # Longhua's parks: another district
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
    # --as wins over the property; a thematic layer alone matches every part of it
    [s] = run_review(path, test_layers, proposed_as="industrial_land").to_dict()["sketches"]
    assert rows(s)["TT-09"]["effect"] == "unchanged" and rows(s)["TT-14"]["after_ha"] == pytest.approx(
        4.4 + 16, abs=1e-4
    )
    [s] = run_review(path, test_layers, proposed_as="consolidation_zones").to_dict()["sketches"]
    assert rows(s)["TT-09"]["after_ha"] == pytest.approx(48, abs=1e-4)
    [s] = run_review(path, test_layers, proposed_as="consolidation_zones.reserve").to_dict()["sketches"]
    assert rows(s)["TT-09"]["effect"] == "unchanged"  # both name a part, not the same one


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
