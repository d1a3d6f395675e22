from __future__ import annotations

import json
import shutil

import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gis.cli import cli
from gis.crs import geometry_gcj02_from_wgs84
from gis.errors import InputError
from gis.export import export
from gis.importer import apply_import, plan_import
from gis.pipeline import run_check
from gis.read import read_layer
from tests.conftest import DATA
from tests.data.make_data import LONG_BASIS, rect


@pytest.fixture
def layers(tmp_path):
    dest = tmp_path / "layers"
    shutil.copytree(DATA / "layers", dest)
    return dest


def sketch(tmp_path, coords, *, frame="WGS-84", **props):
    """A file like the web map's draw-tool export."""
    doc = {
        "type": "FeatureCollection",
        "frame": frame,
        "features": [
            {
                "type": "Feature",
                "properties": {"fid": "DRAWN-1", "name_zh": "", "note": "sketched", **props},
                "geometry": {"type": "Polygon", "coordinates": [coords]},
            }
        ],
    }
    path = tmp_path / "sketch.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


# a square of about 300 m in the test district (440307), inside no feature of tests/data/layers;
# its corners rounded to 4 decimals, as a sketch's are
SQUARE = [[round(v, 4) for v in p] for p in rect(3000, 3000, 300, 300, step=1000)["coordinates"][0]]


def test_gpkg_round_trip_changes_nothing(layers, tmp_path):
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    for name in ("consolidation_zones", "renewal_units", "industrial_land", "parks"):
        plan = plan_import(gpkg, layer=name, layers_dir=layers)
        assert plan.frame == "EPSG:4547"
        assert (plan.added, plan.changed, plan.removed) == ([], [], [])
        assert plan.unchanged == len(read_layer(layers / f"{name}.geojson", layer=name))


def test_edited_in_qgis_comes_back(layers, tmp_path):
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    parks = pyogrio.read_dataframe(gpkg, layer="parks")
    i = parks.index[parks["feature_id"] == "TT-PK-01"][0]
    parks.loc[i, "geometry"] = parks.loc[i, "geometry"].buffer(50, join_style="mitre")  # grown by 50 m in EPSG:4547
    parks.loc[i, "name_en"] = "Test park (edited)"
    edited = tmp_path / "edited.gpkg"
    pyogrio.write_dataframe(parks, edited, layer="parks")
    plan = plan_import(edited, layer="parks", layers_dir=layers)
    [(fid, before, after, fields)] = plan.changed
    assert fid == "TT-PK-01" and fields == ["geometry", "name_en"]
    assert before == pytest.approx(1, rel=1e-6) and after == pytest.approx(4, rel=1e-6)  # 100 m square, now 200 m
    other_layers = {n: (layers / f"{n}.geojson").read_bytes() for n in ("industrial_land", "renewal_units")}
    apply_import(plan)
    back = read_layer(layers / "parks.geojson", layer="parks").set_index("fid")
    assert back.loc["TT-PK-01", "name_en"] == "Test park (edited)"
    assert back.loc["TT-PK-01", "name_zh"] == "测试公园" and sorted(back.index) == ["TT-PK-01", "TT-PK-02"]
    assert all((layers / f"{n}.geojson").read_bytes() == b for n, b in other_layers.items())
    assert run_check(layers_dir=layers).results is not None  # the project still checks


def test_a_typed_status_is_refused_with_the_other_problems_and_a_known_one_ignored(layers, tmp_path):
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    parks = pyogrio.read_dataframe(gpkg, layer="parks")
    parks.loc[parks["feature_id"] == "TT-PK-01", ["status", "part"]] = ["达标", "extnt"]  # typed by hand
    parks.loc[parks["feature_id"] == "TT-PK-02", "status"] = "met"  # a status, though the check gives it none
    edited = tmp_path / "edited.gpkg"
    pyogrio.write_dataframe(parks, edited, layer="parks")
    with pytest.raises(InputError) as caught:
        plan_import(edited, layer="parks", layers_dir=layers)
    assert caught.value.problems == [
        f"{edited}: layer parks, feature TT-PK-01: field status is '达标', not one of met, within tolerance, short, "
        "over, no polygon, no land-use layer, no control-line layer, not checkable by area. The status is computed "
        "by gis check and never imported: undo the edit, or leave the field out of the file.",
        f"{edited}: layer parks, feature TT-PK-01: field part is 'extnt', not one of extent, consolidation, reserve, "
        "demolition, site, green, roads, paving, parking, retention_zone, block_line.",
    ]
    parks.loc[parks["feature_id"] == "TT-PK-01", ["status", "part"]] = ["over", "extent"]  # known: ignored
    pyogrio.write_dataframe(parks, edited, layer="parks")
    plan = plan_import(edited, layer="parks", layers_dir=layers)
    assert (plan.added, plan.changed, plan.removed) == ([], [], [])


def test_drawn_sketch_needs_a_name_then_joins_the_layer(layers, tmp_path):
    path = sketch(tmp_path, SQUARE)
    with pytest.raises(InputError, match="feature DRAWN-1: its fid is the web map's placeholder"):
        plan_import(path, layer="parks", layers_dir=layers)
    path = sketch(tmp_path, SQUARE, fid="TT-PK-03")
    with pytest.raises(InputError, match=r"feature TT-PK-03: field name_zh is empty\. Fill it in\."):
        plan_import(path, layer="parks", layers_dir=layers)
    path = sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="草图公园")
    plan = plan_import(path, layer="parks", layers_dir=layers)
    assert plan.added == ["TT-PK-03"] and plan.changed == [] and plan.removed == []
    assert any("district 440307 taken from its position" in n for n in plan.notes)
    apply_import(plan)
    back = read_layer(layers / "parks.geojson", layer="parks").set_index("fid")
    assert back.loc["TT-PK-03", "district"] == "440307" and back.loc["TT-PK-03", "accuracy"] == "sketch"
    assert back.loc["TT-PK-03", "name_zh"] == "草图公园"
    assert shapely.equals_exact(back.loc["TT-PK-03"].geometry, shapely.Polygon(SQUARE), tolerance=1e-9)


def test_gcj02_file_is_moved_to_wgs84(layers, tmp_path):
    wgs = shapely.Polygon(SQUARE)
    gcj = geometry_gcj02_from_wgs84(wgs)
    coords = [list(c) for c in gcj.exterior.coords]
    # declared by the file (the web map over Amap tiles exports frame GCJ-02)
    plan = plan_import(
        sketch(tmp_path, coords, frame="GCJ-02", fid="TT-PK-03", name_zh="高德草图"), layer="parks", layers_dir=layers
    )
    got = plan.result.set_index("fid").loc["TT-PK-03"].geometry
    assert plan.frame == "GCJ-02" and shapely.hausdorff_distance(got, wgs) < 2e-6
    # or named on the command line for a file that only says "lon/lat"
    doc = json.loads((tmp_path / "sketch.geojson").read_text(encoding="utf-8"))
    del doc["frame"]
    plain = tmp_path / "plain.geojson"
    plain.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    plan = plan_import(plain, layer="parks", layers_dir=layers, from_crs="gcj02")
    assert shapely.hausdorff_distance(plan.result.set_index("fid").loc["TT-PK-03"].geometry, wgs) < 2e-6
    # read as WGS-84 it would sit ~500 m off: a different polygon
    plan = plan_import(plain, layer="parks", layers_dir=layers)
    assert shapely.hausdorff_distance(plan.result.set_index("fid").loc["TT-PK-03"].geometry, wgs) > 0.003


def test_conflicting_frame_outside_district_and_fid_clash(layers, tmp_path):
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    with pytest.raises(InputError, match="declares its frame as EPSG:4547, but from_crs= says EPSG:4326"):
        plan_import(gpkg, layer="parks", layers_dir=layers, from_crs="wgs84")
    far = [[x + 0.2, y] for x, y in SQUARE]  # 20 km east: beyond the 20 km test district's eastern edge
    with pytest.raises(InputError, match=r"only 0\.0 % of it lies inside district 440307"):
        plan_import(
            sketch(tmp_path, far, fid="TT-PK-03", name_zh="区外", district="440307"), layer="parks", layers_dir=layers
        )
    with pytest.raises(InputError, match="fid TT-CZ-01 is already used in layer consolidation_zones"):
        plan_import(sketch(tmp_path, SQUARE, fid="TT-CZ-01", name_zh="重名"), layer="parks", layers_dir=layers)
    with pytest.raises(InputError, match="from_crs= 'mars' is not understood"):
        plan_import(gpkg, layer="parks", layers_dir=layers, from_crs="mars")


def test_replace_lists_removed_features_but_keeps_what_targets_name(layers, tmp_path):
    with pytest.raises(InputError) as err:
        plan_import(
            sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="唯一"), layer="parks", layers_dir=layers, replace=True
        )
    for target in ("TT-11", "TT-12"):  # both targets on TT-PK-01 are named
        assert f"target {target} names fid TT-PK-01, which the import removes" in str(err.value)
    parks = read_layer(layers / "parks.geojson", layer="parks")
    keep = parks[parks["fid"] == "TT-PK-01"]  # the one park the targets name
    path = tmp_path / "only.geojson"
    keep.drop(columns="layer").to_file(path, driver="GeoJSON")
    plan = plan_import(path, layer="parks", layers_dir=layers, replace=True)
    assert plan.added == [] and plan.removed == ["TT-PK-02"]


def test_import_cli_dry_run_writes_nothing(layers, tmp_path):
    before = (layers / "parks.geojson").read_bytes()
    path = sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="草图公园")
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(path), "--layer", "parks", "--layers", str(layers), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "added    TT-PK-03  草图公园" in result.output and "dry run: nothing written" in result.output
    assert (layers / "parks.geojson").read_bytes() == before
    result = runner.invoke(cli, ["import", str(path), "--layer", "parks", "--layers", str(layers)])
    assert result.exit_code == 0 and "wrote" in result.output
    assert (layers / "parks.geojson").read_bytes() != before
    result = runner.invoke(
        cli, ["import", str(tmp_path / "missing.geojson"), "--layer", "parks", "--layers", str(layers)]
    )
    assert result.exit_code == 2 and "no such file to import" in result.output and "Traceback" not in result.output


def test_shapefile_comes_back_without_losing_cut_text(layers, tmp_path):
    shp = tmp_path / "all.shp"
    export(run_check(layers_dir=layers), shp)  # all layers, with a layer field
    notes: list[str] = []
    plan = plan_import(shp, layer="parks", layers_dir=layers)
    assert plan.frame == "EPSG:4547" and (plan.added, plan.changed, plan.removed) == ([], [], [])
    plan = plan_import(shp, layer="consolidation_zones", layers_dir=layers)
    # the .dbf cut TT-CZ-01's long location_basis to 254 bytes: the layer's full text is kept
    assert plan.changed == [] and "1 text value(s) cut to the Shapefile's 254 bytes were kept in full" in " ".join(
        plan.notes
    )
    assert plan.result.set_index("fid").loc["TT-CZ-01", "location_basis"] == LONG_BASIS
    assert apply_import(plan) is None  # nothing changed: the file is not rewritten
    del notes


def test_feature_added_in_qgis_is_imported(layers, tmp_path):
    """A feature added in QGIS to the exported GeoPackage has an empty 'layer' and no computed fields."""
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    parks = pyogrio.read_dataframe(gpkg, layer="parks")
    new = parks.iloc[[0]].copy()
    new["feature_id"], new["name_zh"], new["layer"], new["status"] = "TT-PK-09", "新公园", None, None
    # TT-PK-01 (100 m square) copied 2.5 km north and shrunk to 80 m: clear of every test feature
    new["geometry"] = [shapely.affinity.translate(g, 0, 2500).buffer(-10, join_style="mitre") for g in new.geometry]
    new["location_confidence"] = None
    pyogrio.write_dataframe(pd.concat([parks, new], ignore_index=True), tmp_path / "edited.gpkg", layer="parks")
    plan = plan_import(tmp_path / "edited.gpkg", layer="parks", layers_dir=layers)
    assert plan.added == ["TT-PK-09"] and plan.changed == []
    assert plan.result.set_index("fid").loc["TT-PK-09", "name_zh"] == "新公园"


def test_file_saved_by_qgis_keeps_provenance(layers, tmp_path):
    """QGIS's 'Save Features As' writes the row id as fid and cuts long names its own way."""
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    parks = pyogrio.read_dataframe(gpkg, layer="parks", fid_as_index=True).reset_index()  # the integer fid column
    cut = {
        "geodesic_ha": "geodesic_h",
        "source_file": "source_fil",
        "location_basis": "location_b",
        "location_confidence": "location_c",
    }
    parks = parks.rename(columns=cut).drop(columns=["method"])  # and one field left out entirely
    path = tmp_path / "saved.geojson"
    parks.to_crs(4326).to_file(path, driver="GeoJSON")
    plan = plan_import(path, layer="parks", layers_dir=layers)
    assert (plan.added, plan.changed, plan.removed) == ([], [], [])  # nothing wiped, nothing re-defaulted
    result = plan.result.set_index("fid")
    assert result.loc["TT-PK-01", "location_confidence"] == "stated"  # read from the cut field name
    assert result.loc["TT-PK-01", "method"] == "generated by tests/data/make_data.py"  # kept, not re-defaulted


def test_frames_declared_by_the_file_are_respected(layers, tmp_path):
    wgs = sketch(tmp_path, SQUARE, frame="WGS-84", fid="TT-PK-03", name_zh="草图")
    with pytest.raises(InputError, match="declares its frame as EPSG:4326, but from_crs= says GCJ-02"):
        plan_import(wgs, layer="parks", layers_dir=layers, from_crs="gcj02")
    with pytest.raises(InputError, match="declares the frame 'BD-09'"):
        plan_import(
            sketch(tmp_path, SQUARE, frame="BD-09", fid="TT-PK-03", name_zh="草图"), layer="parks", layers_dir=layers
        )
    gcj = geometry_gcj02_from_wgs84(shapely.Polygon(SQUARE))
    path = sketch(tmp_path, [list(c) for c in gcj.exterior.coords], frame="GCJ-02", fid="TT-PK-03", name_zh="草图")
    bom = tmp_path / "bom.geojson"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # saved by Notepad
    plan = plan_import(bom, layer="parks", layers_dir=layers)
    assert plan.frame == "GCJ-02"
    assert (
        shapely.hausdorff_distance(plan.result.set_index("fid").loc["TT-PK-03"].geometry, shapely.Polygon(SQUARE))
        < 2e-6
    )


def test_gbk_shapefile_without_cpg_needs_encoding(layers, tmp_path):
    shp = tmp_path / "gbk.shp"
    export(run_check(layers_dir=layers), shp, encoding="gbk", layer="parks")
    (tmp_path / "gbk.cpg").unlink()
    with pytest.raises(InputError, match=r"has no \.cpg file"):
        plan_import(shp, layer="parks", layers_dir=layers)
    plan = plan_import(shp, layer="parks", layers_dir=layers, encoding="gbk")
    assert plan.result.set_index("fid").loc["TT-PK-01", "name_zh"] == "测试公园" and plan.changed == []


def test_the_maps_export_with_its_review_figures_imports_unchanged(layers, tmp_path):
    figures = {
        "proposed_as": "parks",
        "review_area_ha": 9.0,
        "review_district": "440307",
        "review_district_name": "龙岗区",
        "review_overlaps": "",
        "review_classes": "",
        "review_conflicts": "",
        "review_targets": "TT-09 36.0000 -> 36.0000 ha (met -> met)",
        "review_tool": "gis web map 0.1.0",
        "reviewed": "2026-11-30T12:00:00Z",
    }
    path = sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="草图公园", **figures)
    result = CliRunner().invoke(cli, ["import", str(path), "--layer", "parks", "--layers", str(layers), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "added    TT-PK-03  草图公园" in result.stdout
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    review_notes = [n for n in notes if "review figures" in n]
    assert len(review_notes) == 1 and "review_area_ha" in review_notes[0] and "reviewed" in review_notes[0]
    assert any("proposed_as (parks) is the layer imported into" in n for n in notes)
    assert not any("not in the data model" in n and "review_" in n for n in notes)
    # proposed as a part of the layer: the feature takes that part
    path = sketch(tmp_path, SQUARE, fid="TT-CZ-09", name_zh="整备", proposed_as="consolidation_zones.consolidation")
    plan = plan_import(path, layer="consolidation_zones", layers_dir=layers)
    assert plan.result.set_index("fid").loc["TT-CZ-09", "part"] == "consolidation"


def test_a_sketch_proposed_as_another_layer_is_refused(layers, tmp_path):
    path = sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="草图", proposed_as="industrial_land.site")
    result = CliRunner().invoke(cli, ["import", str(path), "--layer", "parks", "--layers", str(layers)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        "feature TT-PK-03: proposed_as is 'industrial_land.site', not layer parks. Import it with --layer industrial_land"
        in result.stderr
    )
    path = sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="草图", proposed_as="landuse:industrial")
    with pytest.raises(InputError, match="gis review for a land-use or control-line proposal"):
        plan_import(path, layer="parks", layers_dir=layers)
    path = sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="草图", proposed_as="")
    assert plan_import(path, layer="parks", layers_dir=layers).added == ["TT-PK-03"]


def test_an_unknown_category_is_refused_by_feature_and_field(layers, tmp_path):
    """The category drop-down of the exported GeoPackage (QGIS) has a fixed list; a value typed past it comes back refused."""
    path = sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="草图公园", category="parkk")
    with pytest.raises(InputError) as err:
        plan_import(path, layer="parks", layers_dir=layers)
    assert "feature TT-PK-03" in str(err.value) and "field category is 'parkk', not one of consolidation_zone" in str(
        err.value
    )
    plan = plan_import(
        sketch(tmp_path, SQUARE, fid="TT-PK-03", name_zh="草图公园", category="park"), layer="parks", layers_dir=layers
    )
    assert plan.added == ["TT-PK-03"]


def test_an_unedited_export_imports_unchanged_and_numbers_stay_numbers(layers, tmp_path):
    """Position fields are numbers in a layer file (1000) and in a GeoPackage (1000.0): the same value, written as a number."""
    path = layers / "parks.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for f in doc["features"]:
        f["properties"].update(position_error_m=1000, position_lon=114.207, position_lat=22.655)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    plan = plan_import(gpkg, layer="parks", layers_dir=layers)
    assert (plan.added, plan.changed, plan.removed) == ([], [], []) and plan.unchanged == len(doc["features"])
    parks = pyogrio.read_dataframe(gpkg, layer="parks")
    parks.loc[parks["feature_id"] == "TT-PK-01", "name_zh"] = "改名公园"  # the GeoPackage's text id
    edited = tmp_path / "edited.gpkg"
    pyogrio.write_dataframe(parks, edited, layer="parks")
    plan = plan_import(edited, layer="parks", layers_dir=layers)
    assert [(c[0], c[3]) for c in plan.changed] == [("TT-PK-01", ["name_zh"])]
    apply_import(plan)
    props = {f["properties"]["fid"]: f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]}
    assert props["TT-PK-01"]["name_zh"] == "改名公园"
    assert all(
        (p["position_error_m"], p["position_lon"], p["position_lat"]) == (1000, 114.207, 22.655) for p in props.values()
    )
    assert all(isinstance(p["position_error_m"], int) for p in props.values())  # written as a JSON number, not "1000.0"
