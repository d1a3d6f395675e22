"""The land-use and control-line layers of a gis export brought back with gis import (gis/land_edits.py).

A 控规-like delivery (SYNTHETIC, in the test district) is imported, the layers exported, the
GeoPackage edited (here with SQL, as any tool may; tests/test_forms.py edits it in QGIS) and imported
back.
"""

from __future__ import annotations

import shutil
import sqlite3

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from gis.cli import cli
from gis.export import export
from gis.pipeline import run_check
from tests.conftest import DATA
from tests.test_landuse import rect, write_control

#: plot id, 深圳 code, rectangle in the test district, 用地面积 (m²), 容积率; XX9 is no code of the standard.
PLOTS = [
    ("LG-01", "M1", rect(0, 0, 1000, 500), 500_010.0, 2.5),
    ("LG-02", "W1", rect(1000, 0, 500, 400), 200_000.0, 1.0),
    ("LG-03", "G1", rect(0, 1000, 500, 200), 100_000.0, None),
    ("LG-04", "XX9", rect(3000, 0, 100, 100), 10_000.0, 0.5),
]


def run(*args):
    result = CliRunner().invoke(cli, [*map(str, args)])
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def layers(tmp_path):
    """The test layers with the plots imported as the land-use layer (schema kongui)."""
    dest = tmp_path / "layers"
    shutil.copytree(DATA / "layers", dest)
    delivery = tmp_path / "kongui.gpkg"
    gpd.GeoDataFrame(
        {
            "DKBH": [p[0] for p in PLOTS],
            "YDXZ": [p[1] for p in PLOTS],
            "YDMJ": [p[3] for p in PLOTS],
            "RJL": [p[4] for p in PLOTS],
        },
        geometry=[p[2] for p in PLOTS],
        crs="EPSG:4547",
    ).to_file(delivery, engine="pyogrio")
    assert run("import", delivery, "--layer", "landuse", "--layers", dest).exit_code == 0
    return dest


def exported(layers, tmp_path):
    path = tmp_path / "planning.gpkg"
    export(run_check(layers_dir=layers), path)
    return path


def stored(layers) -> gpd.GeoDataFrame:
    return gpd.read_parquet(layers / "landuse.parquet").set_index("parcel_id")


def edit(path, sql: str, *params) -> None:
    """Change attributes of a GeoPackage with SQL; its R-tree triggers (GDAL's) name functions SQLite lacks."""

    def untouched(_geom: bytes) -> float:
        raise AssertionError("the edit changed a geometry")

    with sqlite3.connect(path) as db:
        db.create_function("ST_IsEmpty", 1, lambda _geom: 0)  # evaluated by the triggers' conditions only
        for name in ("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            db.create_function(name, 1, untouched)
        assert db.execute(sql, params).rowcount == 1


def test_an_exported_landuse_layer_comes_back_unchanged(layers, tmp_path):
    before = stored(layers)
    path = exported(layers, tmp_path)
    result = run("import", path, "--layer", "landuse", "--layers", layers)  # its landuse layer, of several
    assert result.exit_code == 0, result.output
    assert "the landuse layer of a gis export" in result.stderr
    after = stored(layers)
    assert list(after.columns) == list(before.columns)  # the delivery's RJL too
    pd.testing.assert_frame_equal(
        after.drop(columns=["geometry", "official_m2"]), before.drop(columns=["geometry", "official_m2"])
    )
    assert after["official_m2"].to_numpy() == pytest.approx(before["official_m2"].to_numpy())
    assert after["schema"].tolist() == ["kongui"] * 4 and set(after["source_file"]) == {"kongui.gpkg"}
    assert after.geometry.geom_equals(before.geometry).all()  # as MultiPolygons: the export promotes them


def test_an_edited_code_of_the_system_is_taken_with_its_name_from_the_list(layers, tmp_path):
    path = exported(layers, tmp_path)
    edit(path, "UPDATE landuse SET code = 'M0' WHERE parcel_id = 'LG-02'")
    assert run("import", path, "--layer", "landuse", "--layers", layers).exit_code == 0
    after = stored(layers)
    assert after.loc["LG-02", "code"] == "M0" and pd.isna(after.loc["LG-02", "code_name"])
    assert after.loc["LG-02", "RJL"] == 1.0 and after.loc["LG-02", "official_kind"] == "planar"
    assert after.loc["LG-04", "code"] == "XX9"  # unknown in the delivery already: kept (the QA warns)
    land = run_check(layers_dir=layers).landuse
    assert land is not None and land.parcels.set_index("parcel_id").loc["LG-02", "land_class"] == "industrial"


def test_an_edited_code_the_system_lacks_is_refused(layers, tmp_path):
    path = exported(layers, tmp_path)
    edit(path, "UPDATE landuse SET code = 'M9' WHERE parcel_id = 'LG-01'")
    before = (layers / "landuse.parquet").read_bytes()
    result = run("import", path, "--layer", "landuse", "--layers", layers)
    assert result.exit_code == 2
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"{path}: layer landuse, field code: 1 parcel(s)" in error and "no code of shenzhen" in error
    assert "parcel LG-01 ('M9')" in error and "landuse_code_shenzhen" in error
    assert (layers / "landuse.parquet").read_bytes() == before


def test_without_a_stored_layer_every_unknown_code_is_refused(layers, tmp_path):
    path = exported(layers, tmp_path)
    (layers / "landuse.parquet").unlink()
    result = run("import", path, "--layer", "landuse", "--layers", layers, "--dry-run")
    assert result.exit_code == 2 and "parcel LG-04 ('XX9')" in result.stderr


def test_a_code_system_edited_apart_is_refused(layers, tmp_path):
    path = exported(layers, tmp_path)
    edit(path, "UPDATE landuse SET code_system = 'yongdi' WHERE parcel_id = 'LG-03'")
    result = run("import", path, "--layer", "landuse", "--layers", layers, "--dry-run")
    assert result.exit_code == 2
    assert "layer landuse, field code_system: holds 'shenzhen', 'yongdi'" in result.stderr


def test_exported_control_lines_come_back_and_an_unknown_kind_is_named(layers, tmp_path):
    write_control(layers)  # as other tools write it: no name_zh
    path = exported(layers, tmp_path)
    result = run("import", path, "--layer", "control_lines", "--layers", layers, "--dry-run")
    assert result.exit_code == 0, result.output
    edit(path, "UPDATE control_lines SET kind = NULL WHERE line_id = 'BL1'")
    result = run("import", path, "--layer", "control_lines", "--layers", layers, "--dry-run")
    assert result.exit_code == 2
    assert f"{path}: layer control_lines, field kind: 1 feature(s) of no known kind: BL1 ('(empty)')" in result.stderr
