from __future__ import annotations

import json
import shutil
from pathlib import Path

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

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def layers(tmp_path):
    dest = tmp_path / "layers"
    shutil.copytree(REPO / "layers", dest)
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


# a small square in Longgang (Henggang), inside no feature of the parks layer
SQUARE = [[114.2050, 22.6600], [114.2080, 22.6600], [114.2080, 22.6625], [114.2050, 22.6625], [114.2050, 22.6600]]


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
    i = parks.index[parks["feature_id"] == "LG-PK-01"][0]
    parks.loc[i, "geometry"] = parks.loc[i, "geometry"].buffer(50, join_style="mitre")  # grown by 50 m in EPSG:4547
    parks.loc[i, "name_en"] = "Xuezhujing Park (edited)"
    edited = tmp_path / "edited.gpkg"
    pyogrio.write_dataframe(parks, edited, layer="parks")
    plan = plan_import(edited, layer="parks", layers_dir=layers)
    [(fid, before, after, fields)] = plan.changed
    assert fid == "LG-PK-01" and fields == ["geometry", "name_en"] and after > before + 5
    other_layers = {n: (layers / f"{n}.geojson").read_bytes() for n in ("industrial_land", "renewal_units")}
    apply_import(plan)
    back = read_layer(layers / "parks.geojson", layer="parks").set_index("fid")
    assert back.loc["LG-PK-01", "name_en"] == "Xuezhujing Park (edited)"
    assert back.loc["LG-PK-01", "name_zh"] == "雪竹径公园" and len(back) == 6
    assert all((layers / f"{n}.geojson").read_bytes() == b for n, b in other_layers.items())
    assert run_check(layers_dir=layers).results is not None  # the project still checks


def test_drawn_sketch_needs_a_name_then_joins_the_layer(layers, tmp_path):
    path = sketch(tmp_path, SQUARE)
    with pytest.raises(InputError, match="feature DRAWN-1: its fid is the web map's placeholder"):
        plan_import(path, layer="parks", layers_dir=layers)
    path = sketch(tmp_path, SQUARE, fid="LG-PK-03")
    with pytest.raises(InputError, match=r"feature LG-PK-03: field name_zh is empty\. Fill it in\."):
        plan_import(path, layer="parks", layers_dir=layers)
    path = sketch(tmp_path, SQUARE, fid="LG-PK-03", name_zh="横岗草图公园")
    plan = plan_import(path, layer="parks", layers_dir=layers)
    assert plan.added == ["LG-PK-03"] and plan.changed == [] and plan.removed == []
    assert any("district 440307 taken from its position" in n for n in plan.notes)
    apply_import(plan)
    back = read_layer(layers / "parks.geojson", layer="parks").set_index("fid")
    assert back.loc["LG-PK-03", "district"] == "440307" and back.loc["LG-PK-03", "accuracy"] == "sketch"
    assert back.loc["LG-PK-03", "name_zh"] == "横岗草图公园"
    assert shapely.equals_exact(back.loc["LG-PK-03"].geometry, shapely.Polygon(SQUARE), tolerance=1e-9)


def test_gcj02_file_is_moved_to_wgs84(layers, tmp_path):
    wgs = shapely.Polygon(SQUARE)
    gcj = geometry_gcj02_from_wgs84(wgs)
    coords = [list(c) for c in gcj.exterior.coords]
    # declared by the file (the web map over Amap tiles exports frame GCJ-02)
    plan = plan_import(
        sketch(tmp_path, coords, frame="GCJ-02", fid="LG-PK-03", name_zh="高德草图"), layer="parks", layers_dir=layers
    )
    got = plan.result.set_index("fid").loc["LG-PK-03"].geometry
    assert plan.frame == "GCJ-02" and shapely.hausdorff_distance(got, wgs) < 2e-6
    # or named on the command line for a file that only says "lon/lat"
    doc = json.loads((tmp_path / "sketch.geojson").read_text(encoding="utf-8"))
    del doc["frame"]
    plain = tmp_path / "plain.geojson"
    plain.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    plan = plan_import(plain, layer="parks", layers_dir=layers, from_crs="gcj02")
    assert shapely.hausdorff_distance(plan.result.set_index("fid").loc["LG-PK-03"].geometry, wgs) < 2e-6
    # read as WGS-84 it would sit ~500 m off: a different polygon
    plan = plan_import(plain, layer="parks", layers_dir=layers)
    assert shapely.hausdorff_distance(plan.result.set_index("fid").loc["LG-PK-03"].geometry, wgs) > 0.003


def test_conflicting_frame_outside_district_and_fid_clash(layers, tmp_path):
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    with pytest.raises(InputError, match="declares its frame as EPSG:4547, but from_crs= says EPSG:4326"):
        plan_import(gpkg, layer="parks", layers_dir=layers, from_crs="wgs84")
    far = [[x + 0.2, y] for x, y in SQUARE]  # 20 km east: in Pingshan, not Longgang
    with pytest.raises(InputError, match=r"only 0\.0 % of it lies inside district 440307"):
        plan_import(
            sketch(tmp_path, far, fid="LG-PK-03", name_zh="海上", district="440307"), layer="parks", layers_dir=layers
        )
    with pytest.raises(InputError, match="fid LG-CZ-01 is already used in layer consolidation_zones"):
        plan_import(sketch(tmp_path, SQUARE, fid="LG-CZ-01", name_zh="重名"), layer="parks", layers_dir=layers)
    with pytest.raises(InputError, match="from_crs= 'mars' is not understood"):
        plan_import(gpkg, layer="parks", layers_dir=layers, from_crs="mars")


def test_replace_lists_removed_features_but_keeps_what_targets_name(layers, tmp_path):
    with pytest.raises(InputError, match="target T-001-118 names fid LG-PK-01, which the import removes"):
        plan_import(
            sketch(tmp_path, SQUARE, fid="LG-PK-03", name_zh="唯一"), layer="parks", layers_dir=layers, replace=True
        )
    parks = read_layer(layers / "parks.geojson", layer="parks")
    keep = parks[parks["fid"] == "LG-PK-01"]  # the one park the targets name
    path = tmp_path / "only.geojson"
    keep.drop(columns="layer").to_file(path, driver="GeoJSON")
    plan = plan_import(path, layer="parks", layers_dir=layers, replace=True)
    assert plan.added == [] and sorted(plan.removed) == ["LG-PK-02", "PS-PK-01", "PS-PK-02", "PS-PK-03", "PS-PK-04"]


def test_import_cli_dry_run_writes_nothing(layers, tmp_path):
    before = (layers / "parks.geojson").read_bytes()
    path = sketch(tmp_path, SQUARE, fid="LG-PK-03", name_zh="横岗草图公园")
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(path), "--layer", "parks", "--layers", str(layers), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "added    LG-PK-03  横岗草图公园" in result.output and "dry run: nothing written" in result.output
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
    assert plan.changed == [] and any("kept in full" in n for n in plan.notes)  # the .dbf cut 254 bytes
    assert apply_import(plan) is None  # nothing changed: the file is not rewritten
    del notes


def test_feature_added_in_qgis_is_imported(layers, tmp_path):
    """A feature added in QGIS to the exported GeoPackage has an empty 'layer' and no computed fields."""
    gpkg = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), gpkg)
    parks = pyogrio.read_dataframe(gpkg, layer="parks")
    new = parks.iloc[[0]].copy()
    new["feature_id"], new["name_zh"], new["layer"], new["status"] = "LG-PK-09", "新公园", None, None
    new["geometry"] = [shapely.affinity.translate(g, 2500, 0).buffer(-100) for g in new.geometry]
    new["location_confidence"] = None
    pyogrio.write_dataframe(pd.concat([parks, new], ignore_index=True), tmp_path / "edited.gpkg", layer="parks")
    plan = plan_import(tmp_path / "edited.gpkg", layer="parks", layers_dir=layers)
    assert plan.added == ["LG-PK-09"] and plan.changed == []


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
    assert result.loc["PS-PK-01", "location_confidence"] == "inferred"
    assert result.loc["PS-PK-01", "method"] == "hand-digitized from plan text"


def test_frames_declared_by_the_file_are_respected(layers, tmp_path):
    wgs = sketch(tmp_path, SQUARE, frame="WGS-84", fid="LG-PK-03", name_zh="草图")
    with pytest.raises(InputError, match="declares its frame as EPSG:4326, but from_crs= says GCJ-02"):
        plan_import(wgs, layer="parks", layers_dir=layers, from_crs="gcj02")
    with pytest.raises(InputError, match="declares the frame 'BD-09'"):
        plan_import(
            sketch(tmp_path, SQUARE, frame="BD-09", fid="LG-PK-03", name_zh="草图"), layer="parks", layers_dir=layers
        )
    gcj = geometry_gcj02_from_wgs84(shapely.Polygon(SQUARE))
    path = sketch(tmp_path, [list(c) for c in gcj.exterior.coords], frame="GCJ-02", fid="LG-PK-03", name_zh="草图")
    bom = tmp_path / "bom.geojson"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # saved by Notepad
    plan = plan_import(bom, layer="parks", layers_dir=layers)
    assert plan.frame == "GCJ-02"
    assert (
        shapely.hausdorff_distance(plan.result.set_index("fid").loc["LG-PK-03"].geometry, shapely.Polygon(SQUARE))
        < 2e-6
    )


def test_gbk_shapefile_without_cpg_needs_encoding(layers, tmp_path):
    shp = tmp_path / "gbk.shp"
    export(run_check(layers_dir=layers), shp, encoding="gbk", layer="parks")
    (tmp_path / "gbk.cpg").unlink()
    with pytest.raises(InputError, match=r"has no \.cpg file"):
        plan_import(shp, layer="parks", layers_dir=layers)
    plan = plan_import(shp, layer="parks", layers_dir=layers, encoding="gbk")
    assert plan.result.set_index("fid").loc["LG-PK-01", "name_zh"] == "雪竹径公园" and plan.changed == []
