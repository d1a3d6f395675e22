from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gis import settings
from gis.cli import cli
from gis.crs import AREA_CRS
from gis.errors import InputError, OutputError, OutputExistsError
from gis.export import EXPORT_FIELDS, TARGETS_TABLE, export, feature_table
from gis.pipeline import run_check
from tests.conftest import DATA, REPO
from tests.data.make_data import LONG_BASIS
from tests.test_landuse import write_control, write_landuse

QGIS_PYTHON = os.environ.get("GIS_QGIS_PYTHON", "/usr/bin/python3")


@pytest.fixture(scope="module")
def run():
    return run_check(layers_dir=DATA / "layers")


@pytest.fixture(scope="module")
def gpkg(run, tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "planning.gpkg"
    export(run, path)
    return path


def test_gpkg_passes_gdal_validator(gpkg):
    try:
        from osgeo_utils.samples import validate_gpkg as validate
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("gdal-utils is missing; scripts/test.sh installs it (pip install --no-deps gdal-utils)")
        pytest.skip("gdal-utils (GDAL's validate_gpkg.py) is not installed")
    assert validate.main(["validate_gpkg", "-k", str(gpkg)], output_in_string=True) == 0


def test_gpkg_passes_gdal_validator_with_geometry_checks(gpkg):
    """The validator checks geometry blobs only where GDAL's Python bindings import (Debian's python3-gdal)."""
    try:
        from osgeo_utils.samples import validate_gpkg
    except ImportError:
        pytest.skip("gdal-utils is not installed")
    probe = subprocess.run([QGIS_PYTHON, "-c", "from osgeo import gdal"], capture_output=True)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("Debian's python3-gdal is missing (it comes with python3-qgis, which scripts/test.sh installs)")
        pytest.skip("Debian's python3-gdal is not installed")
    result = subprocess.run([QGIS_PYTHON, validate_gpkg.__file__, "-k", str(gpkg)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ogrinfo_lists_layers_and_counts(gpkg, run):
    if not shutil.which("ogrinfo"):
        pytest.fail("ogrinfo not found: install the Debian package gdal-bin (scripts/test.sh does)")
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-q", str(gpkg)], capture_output=True, text=True, check=True).stdout
    for name in ("consolidation_zones", "renewal_units", "industrial_land", "parks", "districts", TARGETS_TABLE):
        assert name in out
    for name in ("parks", "industrial_land"):
        detail = subprocess.run(
            ["ogrinfo", "-ro", "-so", str(gpkg), name], capture_output=True, text=True, check=True
        ).stdout
        assert f"Feature Count: {int((run.features['layer'] == name).sum())}" in detail
        assert (
            'ID["EPSG",4547]' in detail or "EPSG:4547" in detail or "CGCS2000 / 3-degree Gauss-Kruger CM 114E" in detail
        )


def test_gpkg_round_trip_without_loss(gpkg, run):
    original = feature_table(run).set_index("feature_id")
    for name in ("consolidation_zones", "renewal_units", "industrial_land", "parks"):
        back = pyogrio.read_dataframe(gpkg, layer=name).set_index("feature_id")
        assert back.crs.to_epsg() == 4547
        mine = original[original["layer"] == name]
        assert sorted(back.index) == sorted(mine.index)
        for col in EXPORT_FIELDS[1:]:
            for fid in mine.index:
                a, b = mine.at[fid, col], back.at[fid, col]
                assert (pd.isna(a) and pd.isna(b)) or a == b, (name, fid, col, a, b)  # Chinese text too
        projected = mine.geometry.to_crs(AREA_CRS)
        for fid in mine.index:
            assert shapely.hausdorff_distance(projected[fid], back.geometry[fid]) < 0.001  # 1 mm
    targets = pyogrio.read_dataframe(gpkg, layer=TARGETS_TABLE, read_geometry=False)
    assert len(targets) == len(run.results)
    assert set(targets["target_id"]) == set(run.results["target_id"])


def test_layer_styles_and_metadata(gpkg):
    with sqlite3.connect(gpkg) as db:
        styles = db.execute(
            "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, useAsDefault, styleQML, styleSLD FROM layer_styles"
        ).fetchall()
        geometry_columns = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        metadata = db.execute("SELECT metadata FROM gpkg_metadata").fetchall()
        contents = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
    assert {s[2] for s in styles} == {"consolidation_zones", "renewal_units", "industrial_land", "parks", "districts"}
    for catalog, schema, table, geom_col, default, qml, sld in styles:
        assert schema == "" and catalog == ""  # '' not NULL: QGIS applies the style only then
        assert geom_col == geometry_columns[table]
        assert default == 1 and qml.startswith("<!DOCTYPE qgis")
        if table != "districts":
            assert "量测面积（公顷）" in qml and "RuleRenderer" in qml and sld.startswith("<?xml")
    text = " ".join(m[0] for m in metadata)
    assert "龙岗区工业发展“十四五”规划" in text and "gis 0.1.0" in text and "build_date" in text and "EPSG:4547" in text
    assert contents[TARGETS_TABLE] == "attributes" and contents["parks"] == "features"


def test_qgis_opens_every_layer_styled(gpkg, tmp_path):
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("QGIS's Python (Debian python3-qgis) is missing; scripts/test.sh installs it")
        pytest.skip("QGIS's Python (Debian python3-qgis) is not installed")
    png = tmp_path / "qgis.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [QGIS_PYTHON, str(REPO / "tests" / "qgis" / "check_styles.py"), str(gpkg), str(png)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    ).stdout
    layers = json.loads(out.strip().splitlines()[-1])
    assert layers["districts"]["renderer"] == "singleSymbol" and layers["districts"]["label_field"] == "name_zh"
    for name in ("consolidation_zones", "renewal_units", "industrial_land", "parks"):
        info = layers[name]
        assert info["valid"] and info["renderer"] == "RuleRenderer" and info["rules"] >= 5, (name, info)
        assert info["labels"] and info["label_field"] == "name_zh"
        assert info["alias_area_ha"] == "量测面积（公顷）" and info["crs"] == "EPSG:4547"
        assert info["unrendered"] == [], (name, info["unrendered"])  # every feature is drawn
    assert png.stat().st_size > 10_000
    screenshots = Path(os.environ.get("GIS_SCREENSHOTS", REPO / "out" / "screenshots"))
    screenshots.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, screenshots / "qgis-planning-gpkg.png")


@pytest.mark.parametrize(("suffix", "epsg"), [(".geojson", 4326), (".fgb", 4547), (".parquet", 4547), (".shp", 4547)])
def test_round_trip_other_formats(run, tmp_path, suffix, epsg):
    path = tmp_path / f"layers{suffix}"
    report = export(run, path)
    assert report.crs == f"EPSG:{epsg}"
    back = gpd.read_parquet(path) if suffix == ".parquet" else pyogrio.read_dataframe(path)
    if suffix == ".shp":
        mapping = pd.read_csv(tmp_path / "layers.fields.csv")
        back = back.rename(columns=dict(zip(mapping["shapefile_field"], mapping["field"], strict=True)))
        assert (tmp_path / "layers.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
    assert back.crs.to_epsg() == epsg
    original = feature_table(run).to_crs(epsg).set_index("feature_id")
    back = back.set_index("feature_id")
    assert sorted(back.index) == sorted(original.index)
    assert (back.loc[original.index, "name_zh"] == original["name_zh"]).all()
    assert back.loc["TT-PK-01", "name_zh"] == "测试公园"
    basis = back.loc["TT-CZ-01", "location_basis"]
    if suffix == ".shp":  # a .dbf text field holds 254 bytes: the long citation is cut, never garbled
        assert len(basis.encode("utf-8")) <= 254 and LONG_BASIS.startswith(basis) and len(basis) > 50
    else:
        assert basis == LONG_BASIS
    # GeoJSON (RFC 7946) keeps 7 decimals: each coordinate within 5e-8 degree, a vertex within 7.1e-8
    tol = 7.1e-8 if epsg == 4326 else 0.001
    for fid in original.index:
        assert shapely.hausdorff_distance(original.geometry[fid], back.geometry[fid]) < tol


def test_shapefile_gbk_and_field_map(run, tmp_path):
    path = tmp_path / "gbk.shp"
    report = export(run, path, encoding="gbk")
    assert (tmp_path / "gbk.cpg").read_text().strip().upper() in ("GBK", "936", "CP936")
    assert report.renamed_fields["location_basis"] == "loc_basis"
    # long text is cut, and said so: TT-CZ-01's citation is 372 bytes in GBK
    assert "loc_basis: 1 values longer than 254 bytes (GBK) are cut" in report.notes
    back = pyogrio.read_dataframe(path, encoding="gbk").set_index("feature_id")
    assert back.loc["TT-PK-01", "name_zh"] == "测试公园"
    assert (tmp_path / "gbk.dbf").read_bytes().count("测试公园".encode("gbk")) == 1
    assert LONG_BASIS.startswith(back.loc["TT-CZ-01", "loc_basis"])  # cut between characters, not inside one


def test_refuses_to_overwrite_and_keeps_old_file(run, tmp_path):
    path = tmp_path / "planning.gpkg"
    path.write_bytes(b"old contents")
    with pytest.raises(OutputExistsError, match="Pass overwrite=True"):
        export(run, path)
    assert path.read_bytes() == b"old contents"


def test_failing_export_leaves_old_file_intact(run, tmp_path, monkeypatch):
    path = tmp_path / "planning.gpkg"
    export(run, path)
    before = path.read_bytes()
    calls = {"n": 0}
    real = pyogrio.write_dataframe

    def fail_on_third_layer(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", fail_on_third_layer)
    with pytest.raises(RuntimeError, match="simulated"):
        export(run, path, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planning.gpkg"]  # no temporary file left


def test_a_corrupt_existing_gpkg_is_not_touched_without_overwrite(run, tmp_path):
    path = tmp_path / "planning.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)  # a corrupt GeoPackage
    with pytest.raises(OutputExistsError):
        export(run, path)
    assert path.read_bytes().startswith(b"SQLite format 3")
    export(run, path, overwrite=True)  # replaced whole, never opened for update
    assert "parks" in [n for n, _ in pyogrio.list_layers(path)]


def test_bad_options(run, tmp_path):
    with pytest.raises(InputError, match="cannot tell the format"):
        export(run, tmp_path / "x.xyz")
    with pytest.raises(InputError, match="GeoJSON is always longitude/latitude"):
        export(run, tmp_path / "x.geojson", crs="EPSG:4547")
    with pytest.raises(InputError, match="driver= 'kml' is not supported"):
        export(run, tmp_path / "x.gpkg", driver="kml")


def test_export_cli(tmp_path):
    out = tmp_path / "p.gpkg"
    runner = CliRunner()
    layers = ["--layers", str(DATA / "layers")]
    result = runner.invoke(cli, ["export", *layers, "-o", str(out), "--crs", "EPSG:4490"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "EPSG:4490" in result.output
    assert pyogrio.read_info(out, layer="parks")["crs"] == "EPSG:4490"
    result = runner.invoke(cli, ["export", *layers, "-o", str(out)])
    assert result.exit_code == 2 and "Pass --overwrite" in result.output
    result = runner.invoke(cli, ["export", *layers, "-o", str(tmp_path / "x.shp"), "--layer", "parks"])
    assert result.exit_code == 0 and "x 2" in result.output  # TT-PK-01 and TT-PK-02


def test_gpkg_open_in_another_program_is_not_replaced(run, tmp_path):
    path = tmp_path / "planning.gpkg"
    export(run, path)
    before = path.read_bytes()
    (tmp_path / "planning.gpkg-wal").write_bytes(b"")  # as SQLite leaves it while a session has the file open
    with pytest.raises(OutputError, match="is open in another program"):
        export(run, path, overwrite=True)
    assert path.read_bytes() == before


def test_shapefile_overwrite_removes_stale_index_and_rolls_back(run, tmp_path, monkeypatch):
    path = tmp_path / "s.shp"
    export(run, path, layer="industrial_land")
    (tmp_path / "s.qix").write_bytes(b"stale spatial index")
    report = export(run, path, layer="parks", overwrite=True)
    assert not (tmp_path / "s.qix").exists() and any("s.qix" in n for n in report.notes)
    assert pyogrio.read_dataframe(path)["feature_id"].tolist() == ["TT-PK-01", "TT-PK-02"]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = os.replace
    calls = {"n": 0}

    def fail_third(src, dst):
        calls["n"] += 1
        if calls["n"] == 9:  # among the new members, after the old set was moved aside
            raise PermissionError(13, "Permission denied (simulated lock)")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", fail_third)
    with pytest.raises(OutputError, match="previous files were left as they were"):
        export(run, path, layer="industrial_land", overwrite=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # the old set, whole


def test_disk_full_gives_exit_2_and_keeps_the_old_file(tmp_path):
    out = tmp_path / "planning.gpkg"
    gis = [sys.executable, "-c", "from gis.cli import main; main()"]
    layers = str(DATA / "layers")
    subprocess.run([*gis, "export", "--layers", layers, "-o", str(out)], check=True, capture_output=True, cwd=REPO)
    before = out.read_bytes()
    assert len(before) > 100_000  # so the limit below cuts the new file short
    limit = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000)); "
        f"sys.argv = ['gis', 'export', '--layers', {layers!r}, '-o', {str(out)!r}, '--overwrite']; "
        "from gis.cli import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", limit], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2, result.stderr
    assert "writing failed" in result.stderr and "Traceback" not in result.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planning.gpkg"]


def test_encodings_and_driver_names_are_checked(run, tmp_path):
    with pytest.raises(InputError, match=r"cannot be written in (LATIN-1|ISO8859-1)"):
        export(run, tmp_path / "o.shp", encoding="latin1")
    with pytest.raises(InputError, match="is not an encoding Python knows"):
        export(run, tmp_path / "o.shp", encoding="klingon")
    with pytest.raises(InputError, match=r"must end in \.shp"):
        export(run, tmp_path / "out.dat", driver="shp")
    with pytest.raises(InputError, match="a GeoPackage holds every layer"):
        export(run, tmp_path / "x.gpkg", layer="parks")
    assert list(tmp_path.iterdir()) == []


def test_gpkg_layers_written_through_arrow_read_back_equal(tmp_path, run):
    """The GeoPackage's thematic layers (written from reprojected coordinates through GDAL's Arrow
    interface) hold the features of the table reprojected by GEOS, field by field."""
    import numpy as np
    import shapely

    from gis.export import feature_table
    from gis.parallel import transform_geometries

    path = tmp_path / "x.gpkg"
    export(run, path)
    table = feature_table(run)
    for name in settings.LAYER_NAMES:
        back = pyogrio.read_dataframe(path, layer=name)
        want = table[table["layer"] == name].reset_index(drop=True)
        assert back["feature_id"].tolist() == want["feature_id"].tolist()
        np.testing.assert_array_equal(back["area_ha"].to_numpy(), want["area_ha"].to_numpy())
        expected = transform_geometries(np.asarray(want.geometry.array), want.crs, "EPSG:4547")
        assert shapely.equals_exact(np.asarray(back.geometry.array), expected, tolerance=0).all(), name


def test_a_batch_failing_while_gdal_writes_raises_its_own_error(run, tmp_path, monkeypatch):
    """An error computing a WKB batch (GDAL pulls them while writing) reaches the caller as itself,
    not as GDAL's "Error while accessing batch"; the old file is kept and no temporary is left."""
    from gis.export import gpkg as export_gpkg  # (gis.export is the function: the public API)

    path = tmp_path / "planning.gpkg"
    export(run, path)
    before = path.read_bytes()
    real = export_gpkg.reprojected_wkb

    def fail_after_one(*args, **kwargs):
        stream = real(*args, **kwargs)
        yield next(stream)
        raise MemoryError("no room for the next batch (simulated)")

    monkeypatch.setattr(export_gpkg, "reprojected_wkb", fail_after_one)
    with pytest.raises(MemoryError, match="simulated"):
        export(run, path, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planning.gpkg"]


@pytest.fixture(scope="module")
def landuse_gpkg(tmp_path_factory):
    """A GeoPackage exported from the test layers with test_landuse's land-use layer and control lines."""
    folder = tmp_path_factory.mktemp("landuse_layers") / "layers"
    shutil.copytree(DATA / "layers", folder)
    write_landuse(folder)
    write_control(folder)
    run = run_check(layers_dir=folder)
    path = folder.parent / "planning.gpkg"
    report = export(run, path)
    return path, run, report


def test_landuse_and_control_layers_in_the_gpkg(landuse_gpkg):
    path, _, report = landuse_gpkg
    assert report.layers["landuse"] == 6 and report.layers["control_lines"] == 3
    detail = subprocess.run(["ogrinfo", "-ro", "-so", str(path), "landuse"], capture_output=True, text=True, check=True)
    out = detail.stdout
    assert "Feature Count: 6" in out and "Multi Polygon" in out
    assert 'ID["EPSG",4547]' in out or "CGCS2000 / 3-degree Gauss-Kruger CM 114E" in out  # the export's frame
    for field in (
        "parcel_id",
        "code",
        "code_system",
        "code_name",
        "land_class",
        "class_zh",
        "district",
        "area_ha",
        "official_ha",
    ):
        assert f"{field}: " in out, field
    rows = pyogrio.read_dataframe(path, layer="landuse").set_index("parcel_id")
    assert rows.loc["P1", "area_ha"] == pytest.approx(50.0) and rows.loc["P1", "official_ha"] == pytest.approx(50.001)
    assert pd.isna(rows.loc["P2", "official_ha"])
    assert rows.loc["P1", "land_class"] == "industrial" and rows.loc["P1", "class_zh"] == "工业用地"
    assert rows.loc["P1", "code_name"] == "一类工业用地" and rows.loc["P1", "code_system"] == "yongdi"
    assert rows.loc["P4", "land_class"] == "unclassified" and rows.loc["P5", "class_zh"] == "未知代码"
    assert rows.crs.equals(AREA_CRS)
    lines = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(path), "control_lines"], capture_output=True, text=True, check=True
    )
    assert "Feature Count: 3" in lines.stdout and "kind: String" in lines.stdout


def test_landuse_styles_categorized_by_class(landuse_gpkg):
    path, _, _ = landuse_gpkg
    out = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(path), "-sql", "SELECT f_table_name, styleQML FROM layer_styles"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "f_table_name (String) = landuse" in out and "f_table_name (String) = control_lines" in out
    with sqlite3.connect(path) as db:
        qml = dict(db.execute("SELECT f_table_name, styleQML FROM layer_styles").fetchall())
    landuse = qml["landuse"]
    assert 'type="categorizedSymbol" attr="land_class"' in landuse
    assert 'value="industrial" label="工业用地 Industrial"' in landuse
    assert 'value="unknown code" label="未知代码 Unknown code"' in landuse
    assert "187,150,116," in landuse and "245,248,220," in landuse  # 工业用地, 耕地 of 附录B
    assert 'name="量测面积（公顷）"' in landuse
    assert 'attr="kind"' in qml["control_lines"] and "一级工业区块线" in qml["control_lines"]


def test_no_landuse_layer_no_landuse_table(gpkg):
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert "landuse" not in layers and "control_lines" not in layers


def test_qgis_draws_the_landuse_layer_by_class(landuse_gpkg, tmp_path):
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("QGIS's Python (Debian python3-qgis) is missing; scripts/test.sh installs it")
        pytest.skip("QGIS's Python (Debian python3-qgis) is not installed")
    path, _, _ = landuse_gpkg
    png = tmp_path / "qgis-landuse.png"
    out = subprocess.run(
        [QGIS_PYTHON, str(REPO / "tests" / "qgis" / "check_styles.py"), str(path), str(png)],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=True,
        timeout=300,
    ).stdout
    layers = json.loads(out.strip().splitlines()[-1])
    landuse = layers["landuse"]
    assert landuse["valid"] and landuse["features"] == 6 and landuse["crs"] == "EPSG:4547"
    assert landuse["renderer"] == "categorizedSymbol" and landuse["class_attribute"] == "land_class"
    colors = {c["value"]: c["color"] for c in landuse["categories"]}
    assert colors["industrial"] == "#bb9674" and colors["park_green"] == "#00ff00"
    assert {c["label"] for c in landuse["categories"]} >= {
        "工业用地 Industrial",
        "未归类 Unclassified (code spans classes)",
    }
    assert landuse["unrendered"] == []  # every parcel has a category, the unclassified and unknown ones too
    assert layers["control_lines"]["renderer"] == "categorizedSymbol" and layers["control_lines"]["unrendered"] == []
    assert png.stat().st_size > 10_000
