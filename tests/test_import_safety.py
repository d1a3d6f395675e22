"""Nothing lost, nothing injected by ``gis import``.

- two imports into one layer at the same time keep both features (a lock beside the layer file,
  taken before the layer is read and held until it is replaced); a second writer waits, says so,
  and is refused after ``--wait`` seconds naming the file and the other writer's pid; a writer
  killed while it holds the lock does not block the next one;
- what the incoming file says is honoured or explained: a legacy GeoJSON ``crs`` member, text
  garbled before it reached the toolkit (mojibake), a bowtie sketch (one finding, no follow-on),
  an unclosed ring (named by its feature), ``--encoding`` for a Shapefile without ``.cpg``.

Every file is generated here from the small test layers (tests/data/layers); the imports run as
real ``gis`` subprocesses or through click's runner.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer

from gis.cli import cli
from gis.errors import GisError
from gis.importer import apply_import, plan_import
from tests.data.make_data import rect

REPO = Path(__file__).resolve().parents[1]
GIS = [sys.executable, "-c", "import sys; from gis.cli import main; sys.argv[0] = 'gis'; main()"]
TO_4547 = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)


def sketch(path: Path, fid: str | None, x: float, *, geometry: dict | None = None, **props: object) -> Path:
    """A GeoJSON of one new park, 200 m square, ``x`` metres east in the north of the test district."""
    properties = {"fid": fid, "name_zh": f"草图公园{fid}", **props}
    feature = {"type": "Feature", "properties": properties, "geometry": geometry or rect(x, 18_000, 200, 200)}
    doc: dict[str, object] = {"type": "FeatureCollection", "features": [feature]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def fids(layer_file: Path) -> list[str]:
    return [f["properties"]["fid"] for f in json.loads(layer_file.read_text(encoding="utf-8"))["features"]]


def import_args(path: Path, layers: Path, *more: str) -> list[str]:
    return ["import", str(path), "--layer", "parks", "--layers", str(layers), *more]


def run_gis(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GIS, *args], capture_output=True, text=True, cwd=REPO, timeout=300, check=False)


# --- item 2: concurrent writers -------------------------------------------------------------


def test_two_imports_at_the_same_time_keep_both_features(test_layers, tmp_path):
    parks = test_layers / "parks.geojson"
    expected = set(fids(parks))
    for n in range(3):  # before the lock, each of these rounds lost one of the two features
        files = [
            sketch(tmp_path / f"{side}{n}.geojson", f"TT-PK-{side}{n}", 1000 * n + dx)
            for side, dx in (("A", 0), ("B", 500))
        ]
        procs = [
            subprocess.Popen(
                [*GIS, *import_args(f, test_layers)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            for f in files
        ]
        outputs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outputs, strict=True):
            assert p.returncode == 0 and "wrote" in out, err
        expected |= {f"TT-PK-A{n}", f"TT-PK-B{n}"}
        assert set(fids(parks)) == expected
        assert len(fids(parks)) == len(expected)
    assert not list(test_layers.glob(".*.lock"))  # a lock file is there only while it is held


# A real `gis import` that stops just before it moves the new layer file into place (it holds the lock)
HELD_IMPORT = """
import os, sys, time
real = os.replace
def replace(src, dst):
    if str(dst).endswith("parks.geojson"):
        print("replacing", flush=True)
        time.sleep(300)
    return real(src, dst)
os.replace = replace
from gis.cli import main
sys.argv = ["gis", *sys.argv[1:]]
main()
"""


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()


def test_a_second_writer_waits_is_refused_by_name_and_a_killed_writer_blocks_nothing(test_layers, tmp_path):
    parks = test_layers / "parks.geojson"
    before = parks.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", HELD_IMPORT, *import_args(sketch(tmp_path / "a.geojson", "TT-PK-A", 0), test_layers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    second = sketch(tmp_path / "b.geojson", "TT-PK-B", 500)
    try:
        assert holder.stdout is not None
        while (line := holder.stdout.readline()).strip() != "replacing":  # it printed its plan, then stopped
            assert line, "the first import ended before it replaced the layer file"
        refused = run_gis(import_args(second, test_layers, "--wait", "1"))
        assert refused.returncode == 2, refused.stderr
        assert "Traceback" not in refused.stderr and "wrote" not in refused.stdout
        waiting, error = [line for line in refused.stderr.splitlines() if line.strip()][-2:]
        assert "waiting" in waiting and f"pid {holder.pid}" in waiting  # said on stderr while waiting
        assert error.startswith("error: ") and str(test_layers) in error and f"pid {holder.pid}" in error
        assert "gis import" in error and "--wait" in error
        assert parks.read_bytes() == before
        # a writer that waits long enough gets its turn when the other one ends, here by SIGKILL
        waiter = subprocess.Popen(
            [*GIS, *import_args(second, test_layers, "--wait", "120")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert waiter.stderr is not None
        while "waiting" not in (line := waiter.stderr.readline()):
            assert line, "the waiting writer ended without saying what it waits for"
        kill(holder)
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0 and "wrote" in out, err
    finally:
        if holder.poll() is None:
            kill(holder)
    assert set(fids(parks)) == {*json_fids(before), "TT-PK-B"}  # the killed import wrote nothing
    assert not list(test_layers.glob(".*.lock"))  # the killed holder's lock files were taken over and removed


def json_fids(data: bytes) -> list[str]:
    return [f["properties"]["fid"] for f in json.loads(data)["features"]]


def test_a_plan_made_before_another_write_is_not_applied(test_layers, tmp_path):
    """Library callers: apply_import re-checks, under the lock, that the layers are still as read."""
    first = plan_import(sketch(tmp_path / "a.geojson", "TT-PK-A", 0), layer="parks", layers_dir=test_layers)
    second = plan_import(sketch(tmp_path / "b.geojson", "TT-PK-B", 500), layer="parks", layers_dir=test_layers)
    apply_import(second)
    after_second = (test_layers / "parks.geojson").read_bytes()
    with pytest.raises(GisError, match=r"parks\.geojson.*changed since the import read it"):
        apply_import(first)
    assert (test_layers / "parks.geojson").read_bytes() == after_second  # TT-PK-B is not lost


# --- item 9: what the file says ---------------------------------------------------------------


def projected(geometry: dict) -> dict:
    """The same polygon in EPSG:4547 metres."""
    return shapely.geometry.mapping(shapely.transform(shapely.geometry.shape(geometry), _to_4547))


def _to_4547(xy):
    import numpy as np

    return np.column_stack(TO_4547.transform(xy[:, 0], xy[:, 1]))


def with_crs_member(path: Path, name: str) -> Path:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["crs"] = {"type": "name", "properties": {"name": name}}
    for f in doc["features"]:
        f["geometry"] = projected(f["geometry"])
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_legacy_crs_member_is_honoured_by_import_and_check(test_layers, tmp_path):
    runner = CliRunner()
    path = with_crs_member(
        sketch(tmp_path / "desktop.geojson", "TT-PK-09", 0, district="440307"), "urn:ogc:def:crs:EPSG::4547"
    )
    result = runner.invoke(cli, import_args(path, test_layers))
    assert result.exit_code == 0, result.output
    assert "(EPSG:4547)" in result.output and "added    TT-PK-09" in result.output
    back = gpd.read_file(test_layers / "parks.geojson").set_index("fid")
    expected = shapely.geometry.shape(rect(0, 18_000, 200, 200))
    assert shapely.hausdorff_distance(back.loc["TT-PK-09"].geometry, expected) < 2e-6
    result = runner.invoke(cli, import_args(path, test_layers, "--from-crs", "wgs84"))
    assert result.exit_code == 2 and "declares its frame as EPSG:4547, but --from-crs says EPSG:4326" in result.output
    # the same layer file, now in EPSG:4547 with the member, measures the same in gis check
    plain = runner.invoke(cli, ["check", "--layers", str(test_layers), "-f", "csv"])
    with_crs_member(test_layers / "parks.geojson", "EPSG:4547")
    member = runner.invoke(cli, ["check", "--layers", str(test_layers), "-f", "csv"])
    assert member.exit_code == plain.exit_code == 1
    assert member.stdout == plain.stdout


def test_crs_member_gdal_does_not_know_asks_for_from_crs(test_layers, tmp_path):
    runner = CliRunner()
    name = "CGCS2000_3_Degree_GK_CM_114E"  # a name some desktop tools write; GDAL reads it as nothing
    path = with_crs_member(sketch(tmp_path / "desktop.geojson", "TT-PK-09", 0, district="440307"), name)
    before = (test_layers / "parks.geojson").read_bytes()
    result = runner.invoke(cli, import_args(path, test_layers))
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert str(path) in line and repr(name) in line and "--from-crs" in line and "degrees" not in line
    assert (test_layers / "parks.geojson").read_bytes() == before
    result = runner.invoke(cli, import_args(path, test_layers, "--from-crs", "EPSG:4547"))
    assert result.exit_code == 0 and "added    TT-PK-09" in result.output, result.output
    # gis check on a layer file with that member: one line for the file, not one per feature
    with_crs_member(test_layers / "parks.geojson", name)
    result = runner.invoke(cli, ["check", "--layers", str(test_layers)])
    assert result.exit_code == 2
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert "parks.geojson" in line and repr(name) in line and "metres" not in line


GARBLED = {  # how the text was garbled: (the text, as garbled)
    "GBK read as Latin-1": ("龙岗草图公园", "龙岗草图公园".encode("gbk").decode("latin-1")),  # 'Áú¸Ú²ÝÍ¼¹«Ô°'
    "UTF-8 read as Latin-1": ("龙岗草图公园", "龙岗草图公园".encode().decode("latin-1")),  # 'é¾\x99å²\x97...'
    "UTF-8 read as Windows-1252": ("龙岗公园", "龙岗公园".encode().decode("cp1252")),  # 'é¾™å²—å…¬å›­'
}


@pytest.mark.parametrize("how", list(GARBLED))
def test_mojibake_is_refused_by_import_check_and_qa(how, test_layers, tmp_path):
    text, garbled = GARBLED[how]
    runner = CliRunner()
    path = sketch(tmp_path / "garbled.geojson", "TT-PK-09", 0, name_zh=garbled)
    before = (test_layers / "parks.geojson").read_bytes()
    result = runner.invoke(cli, import_args(path, test_layers))
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert f"{path}: layer parks, feature TT-PK-09: field name_zh is {garbled!r}" in line
    assert repr(text) in line and f"{how.replace(' read', ' text read')}" in line
    assert "UTF-8" in line and "--encoding" in line
    assert (test_layers / "parks.geojson").read_bytes() == before
    # the same text in a layer file: gis check and gis qa say the same
    doc = json.loads(before)
    doc["features"][0]["properties"]["name_en"] = garbled
    (test_layers / "parks.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    fid = doc["features"][0]["properties"]["fid"]
    result = runner.invoke(cli, ["check", "--layers", str(test_layers)])
    assert result.exit_code == 2
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert f"layer parks, feature {fid}: field name_en is {garbled!r}" in line and repr(text) in line
    result = runner.invoke(cli, ["qa", "--layers", str(test_layers), "-f", "csv"])
    assert result.exit_code == 1 and ",mojibake," in result.output


def test_shapefile_read_with_the_wrong_code_page_is_caught_and_fixed_by_encoding(test_layers, tmp_path):
    shp = tmp_path / "sketch.shp"
    new = gpd.read_file(sketch(tmp_path / "s.geojson", "TT-PK-09", 0, name_zh="龙岗草图公园"))
    pyogrio.write_dataframe(new, shp, encoding="gbk")
    (tmp_path / "sketch.cpg").write_text("ISO-8859-1")  # a .cpg that says Latin-1 for GBK text
    runner = CliRunner()
    result = runner.invoke(cli, import_args(shp, test_layers))
    assert result.exit_code == 2 and "field name_zh is 'Áú¸Ú²ÝÍ¼¹«Ô°'" in result.output, result.output
    assert "--encoding gbk" in result.output
    result = runner.invoke(cli, import_args(shp, test_layers, "--encoding", "gbk"))
    assert result.exit_code == 0 and "added    TT-PK-09  龙岗草图公园" in result.output, result.output


def test_mojibake_detection_leaves_real_text_alone():
    from gis.validate import undo_mojibake

    for text in (
        "Pokémon",
        "Café",
        "Ångström",
        "ação",
        "São Paulo",
        "Zürich",
        "naïve",
        "Xuezhujing Park",
        "龙岗",
        "½ ha",
    ):
        assert undo_mojibake(text) is None, text
    assert undo_mojibake("Áú¸Ú")[0] == "龙岗"
    assert undo_mojibake("é¾\x99å²\x97")[0] == "龙岗"


def test_gbk_shapefile_without_cpg_is_imported_with_the_encoding_flag(test_layers, tmp_path):
    shp = tmp_path / "gbk.shp"
    new = gpd.read_file(sketch(tmp_path / "s.geojson", "TT-PK-09", 0, name_zh="龙岗草图公园", street="横岗街道"))
    pyogrio.write_dataframe(new, shp, encoding="gbk")
    (tmp_path / "gbk.cpg").unlink(missing_ok=True)
    assert "龙岗".encode("gbk") in (tmp_path / "gbk.dbf").read_bytes()
    runner = CliRunner()
    result = runner.invoke(cli, import_args(shp, test_layers))
    assert result.exit_code == 2 and "Pass --encoding" in result.output
    result = runner.invoke(cli, import_args(shp, test_layers, "--encoding", "gbk"))
    assert result.exit_code == 0 and "added    TT-PK-09  龙岗草图公园" in result.output, result.output
    back = gpd.read_file(test_layers / "parks.geojson").set_index("fid")
    assert back.loc["TT-PK-09", "name_zh"] == "龙岗草图公园" and back.loc["TT-PK-09", "street"] == "横岗街道"
    # a GeoJSON saved as GBK: detected, and read with the flag too
    gbk = tmp_path / "gbk.geojson"
    gbk.write_bytes(
        sketch(tmp_path / "s.geojson", "TT-PK-10", 500, name_zh="坪山草图").read_text("utf-8").encode("gbk")
    )
    result = runner.invoke(cli, import_args(gbk, test_layers))
    assert result.exit_code == 2 and "GBK-encoded" in result.output and "--encoding gbk" in result.output
    result = runner.invoke(cli, import_args(gbk, test_layers, "--encoding", "gbk"))
    assert result.exit_code == 0 and "added    TT-PK-10  坪山草图" in result.output, result.output


def bowtie(x: float) -> dict:
    ring = rect(x, 18_000, 200, 200, step=1000)["coordinates"][0]  # 4 corners and the first again
    a, b, c, d, _ = ring
    return {"type": "Polygon", "coordinates": [[a, c, b, d, a]]}


def test_bowtie_sketch_gets_one_finding_and_no_follow_on(test_layers, tmp_path):
    path = sketch(tmp_path / "bowtie.geojson", "TT-PK-09", 0, geometry=bowtie(0))  # no district: from its position
    result = CliRunner().invoke(cli, import_args(path, test_layers))
    assert result.exit_code == 2
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert f"{path}: layer parks, feature TT-PK-09: geometry is invalid (Self-intersection" in line
    assert "district" not in result.output


def test_unclosed_ring_in_an_import_names_its_feature(test_layers, tmp_path):
    ring = rect(0, 18_000, 200, 200)["coordinates"][0][:-1]  # the last point is not the first
    runner = CliRunner()
    path = sketch(tmp_path / "open.geojson", "TT-PK-09", 0, geometry={"type": "Polygon", "coordinates": [ring]})
    result = runner.invoke(cli, import_args(path, test_layers))
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert f"{path}: layer parks, feature TT-PK-09: geometry: a ring is not closed" in line
    # without a fid, the feature is named by its place in the file
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"].insert(
        0, json.loads(sketch(tmp_path / "x.geojson", "TT-PK-08", 500).read_text("utf-8"))["features"][0]
    )
    doc["features"][1]["properties"]["fid"] = None
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(cli, import_args(path, test_layers))
    assert result.exit_code == 2
    assert "feature #2: geometry: a ring is not closed" in result.output
    assert "feature #2: field fid is empty" in result.output
