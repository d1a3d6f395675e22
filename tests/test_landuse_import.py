"""gis import --layer landuse / control_lines on deliveries the tests generate.

Every fixture here is SYNTHETIC: it imitates a real delivery (a 三调 DLTB Shapefile in GBK without
.cpg, a 控规 GeoPackage, a 用地用海 FileGDB) and says so in a field (SYNTHETIC = 1, and NOTE).
Parcels are rectangles of exactly known area, laid on a grid inside the three districts of the
shipped layers/districts.geojson, so each parcel's district is known.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gis._fast.geoarrow import geoarrow_encoding
from gis.cli import cli
from gis.io.delivery import dbf_encoding, frame_of_coordinates
from gis.io.schemas import load_schema, parse_schema
from gis.land_import import plan_landuse_import
from tests.conftest import REPO

NOTE = "synthetic test fixture imitating a {what}; not real data"
#: 三调 codes and names the fixture uses (1001 railway, 0601 industrial: the cases that matter).
SANDIAO = [("0601", "工业用地"), ("1001", "铁路用地"), ("0101", "水田"), ("0301", "乔木林地"), ("0701", "城镇住宅用地")]


@pytest.fixture
def layers(tmp_path):
    """A layers folder with the shipped three districts (the land-use import needs only them)."""
    dest = tmp_path / "layers"
    dest.mkdir()
    shutil.copy(REPO / "layers" / "districts.geojson", dest / "districts.geojson")
    return dest


def grid(per_district: int = 4) -> gpd.GeoDataFrame:
    """Rectangles in EPSG:4547 wholly inside each district, of exactly known area (w x h whole metres)."""
    districts = gpd.read_file(REPO / "layers" / "districts.geojson").to_crs("EPSG:4547")
    rows = []
    for code, polygon in zip(districts["district"], districts.geometry, strict=True):
        x0, y0, x1, y1 = polygon.bounds
        cx, cy = round((x0 + x1) / 2, -2), round((y0 + y1) / 2, -2)
        found = 0
        for i in range(-40, 40):
            for j in range(-40, 40):
                w, h = 100 + 10 * (found % 5), 60
                box = shapely.box(cx + 300 * i, cy + 300 * j, cx + 300 * i + w, cy + 300 * j + h)
                if found < per_district and polygon.contains_properly(box):
                    rows.append({"district": code, "area": float(w * h), "geometry": box})
                    found += 1
    return gpd.GeoDataFrame(rows, crs="EPSG:4547")


def sandiao_shp(folder, *, prj=True, mismatch=True):
    """SYNTHETIC 三调 DLTB: GBK Shapefile without .cpg, EPSG:4526 (eastings with the zone prefix 38)."""
    g = grid()
    n = len(g)
    codes = [SANDIAO[i % len(SANDIAO)] for i in range(n)]
    admin = [f"{d}0010010000000" for d in g["district"]]
    if mismatch:  # the first Longhua parcel says it is in Longgang
        k = int(np.flatnonzero(g["district"] == "440309")[0])
        admin[k] = "4403070010010000000"
    gdf = gpd.GeoDataFrame(
        {
            "BSM": [f"44030020190000{i:04d}" for i in range(n)],
            "DLBM": [c for c, _ in codes],
            "DLMC": [m for _, m in codes],
            "ZLDWDM": admin,
            "TBMJ": g["area"] * 0.9999,  # ellipsoidal: a little smaller than the plane's
            "KCMJ": 0.0,
            "TBDLMJ": g["area"] * 0.9999,
            "SYNTHETIC": 1,
            "NOTE": NOTE.format(what="三调 DLTB delivery"),
        },
        geometry=shapely.transform(g.geometry.to_numpy(), lambda xy: xy + np.array([38_000_000, 0])),
        crs="EPSG:4526",
    )
    folder.mkdir(exist_ok=True)
    path = folder / "DLTB.shp"
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    if not prj:
        path.with_suffix(".prj").unlink()
    return path, g, gdf


def kongui_gpkg(folder):
    """SYNTHETIC 控规 plots: GeoPackage in EPSG:4547 with Shenzhen codes."""
    g = grid(2)
    codes = ["M1", "M0", "W1", "G1", "R2", "M1"]
    gdf = gpd.GeoDataFrame(
        {
            "DKBH": [f"LG-01-{i:02d}" for i in range(len(g))],
            "YDXZ": codes[: len(g)],
            "YDMJ": g["area"],
            "RJL": 3.5,
            "SYNTHETIC": 1,
            "NOTE": NOTE.format(what="控规 plot delivery"),
        },
        geometry=g.geometry,
        crs="EPSG:4547",
    )
    path = folder / "kongui.gpkg"
    pyogrio.write_dataframe(gdf, path, layer="plots")
    return path, g


def yongdi_gdb(folder):
    """SYNTHETIC 用地用海 plan parcels: FileGDB (GDAL OpenFileGDB) in EPSG:4547, no BSM."""
    g = grid(2)
    codes = [("100101", "一类工业用地"), ("0701", "城镇住宅用地"), ("1401", "公园绿地")]
    gdf = gpd.GeoDataFrame(
        {
            "YDYHFLDM": [codes[i % 3][0] for i in range(len(g))],
            "YDYHFLMC": [codes[i % 3][1] for i in range(len(g))],
            "SYNTHETIC": np.ones(len(g), dtype=np.int32),  # FileGDB has no 64-bit integers before ArcGIS Pro 3.2
            "NOTE": NOTE.format(what="用地用海 plan delivery"),
        },
        geometry=g.geometry,
        crs="EPSG:4547",
    )
    path = folder / "plan.gdb"
    pyogrio.write_dataframe(gdf, path, layer="YDYH", driver="OpenFileGDB")
    return path, g


def run(*args):
    result = CliRunner().invoke(cli, ["import", *map(str, args)])
    assert "Traceback" not in result.output
    return result


def stored(layers):
    """The imported layer, whose polygons are GeoArrow-encoded (read_landuse measures them without building them)."""
    assert geoarrow_encoding(layers / "landuse.parquet") is not None
    return gpd.read_parquet(layers / "landuse.parquet").set_index("parcel_id")


def test_sandiao_gbk_shapefile_without_cpg(layers, tmp_path):
    path, g, src = sandiao_shp(tmp_path / "delivery")
    result = run(path, "--layer", "landuse", "--layers", layers)
    assert result.exit_code == 0, result.output
    assert "schema sandiao" in result.stderr
    assert "GBK" in result.stderr and "detected" in result.stderr
    assert "frame EPSG:4526" in result.stderr
    assert result.stdout.startswith("wrote ") and len(result.stdout.splitlines()) == 1
    out = stored(layers)
    assert out.crs.to_epsg() == 4547 and len(out) == len(g)
    ids = src["BSM"].tolist()
    assert out.loc[ids, "code_name"].tolist() == src["DLMC"].tolist()  # no mojibake
    assert out.loc[ids, "code"].tolist() == src["DLBM"].tolist()  # 0601 keeps its zero
    assert out.loc[ids].area.to_numpy() == pytest.approx(g["area"].to_numpy(), abs=1e-6)
    assert out.loc[ids, "district"].tolist() == g["district"].tolist()
    railway = out[out["code"] == "1001"]
    assert len(railway) and (railway["code_system"] == "sandiao").all()
    assert out["official_m2"].to_numpy() == pytest.approx(src.set_index("BSM").loc[out.index, "TBMJ"].to_numpy())
    assert set(out["official_kind"]) == {"ellipsoidal"} and set(out["schema"]) == {"sandiao"}
    assert set(out["source_file"]) == {"DLTB.shp"} and out["synthetic"].all()
    assert {"KCMJ", "TBDLMJ"} <= set(out.columns)
    # the admin code that disagrees with the place is warned of, by parcel
    k = int(np.flatnonzero(g["district"] == "440309")[0])
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "1 parcel(s)" in warning and ids[k] in warning and "ZLDWDM" in warning


def test_frame_detected_without_prj(layers, tmp_path):
    path, g, _ = sandiao_shp(tmp_path / "delivery", prj=False, mismatch=False)
    result = run(path, "--layer", "landuse", "--layers", layers)
    assert result.exit_code == 0, result.output
    assert "frame EPSG:4526 detected" in result.stderr and "38,xxx,xxx" in result.stderr
    assert "warning" not in result.stderr
    assert stored(layers).area.sum() == pytest.approx(g["area"].sum())


def test_kongui_geopackage_shenzhen_codes(layers, tmp_path):
    path, g = kongui_gpkg(tmp_path)
    result = run(path, "--layer", "landuse", "--layers", layers)
    assert result.exit_code == 0, result.output
    assert "schema kongui" in result.stderr and "frame EPSG:4547, as the file declares" in result.stderr
    out = stored(layers)
    assert sorted(out["code"]) == sorted(["M1", "M0", "W1", "G1", "R2", "M1"])
    assert set(out["code_system"]) == {"shenzhen"} and set(out["official_kind"]) == {"planar"}
    assert out.loc["LG-01-00", "official_m2"] == g["area"].iloc[0] and "RJL" in out.columns


def test_yongdi_filegdb_ids_generated(layers, tmp_path):
    path, g = yongdi_gdb(tmp_path)
    result = run(path, "--layer", "landuse", "--layers", layers)
    assert result.exit_code == 0, result.output
    assert "schema yongdi" in result.stderr and "ids generated" in result.stderr
    out = stored(layers)
    assert set(out["code_system"]) == {"yongdi"} and "100101" in set(out["code"])
    assert out.index.is_unique and out.index[0] == "yongdi-0000001"
    assert out["official_m2"].isna().all()
    assert sorted(out["district"]) == sorted(g["district"])


def _refused(result, *words):
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0]


def test_refused_imports_leave_the_layer_alone(layers, tmp_path):
    good, _, src = sandiao_shp(tmp_path / "good")
    assert run(good, "--layer", "landuse", "--layers", layers).exit_code == 0
    before = (layers / "landuse.parquet").read_bytes()

    # ambiguous frame: no .prj, coordinates of a local frame
    local = src.copy()
    local["geometry"] = shapely.transform(src.geometry.to_numpy(), lambda xy: xy - (38_500_000, 2_500_000))
    path = tmp_path / "local" / "DLTB.shp"
    path.parent.mkdir()
    pyogrio.write_dataframe(local, path, encoding="GBK")
    path.with_suffix(".prj").unlink()
    _refused(run(path, "--layer", "landuse", "--layers", layers), "declares no frame", "--from-crs")

    # a .prj of EPSG:4547 on eastings with the zone prefix
    path = tmp_path / "wrongprj" / "DLTB.shp"
    path.parent.mkdir()
    pyogrio.write_dataframe(src.set_crs("EPSG:4547", allow_override=True), path, encoding="GBK")
    _refused(run(path, "--layer", "landuse", "--layers", layers), "EPSG:4547", "--from-crs EPSG:4526")
    # ... which --from-crs overrides
    result = run(path, "--layer", "landuse", "--layers", layers, "--from-crs", "EPSG:4526", "--dry-run")
    assert result.exit_code == 0 and "as --from-crs says; the file declares EPSG:4547" in result.stderr

    # no schema matches
    path = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(src[["BSM", "geometry"]].rename(columns={"BSM": "CODE_X"}), path)
    _refused(run(path, "--layer", "landuse", "--layers", layers), "no schema matches", "CODE_X", "--schema")

    # duplicate ids
    dup = src.copy()
    dup.loc[3, "BSM"] = dup.loc[1, "BSM"]
    path = tmp_path / "dup.gpkg"
    pyogrio.write_dataframe(dup, path)
    _refused(run(path, "--layer", "landuse", "--layers", layers), "BSM", dup.loc[1, "BSM"], "rows 2, 4")

    # a numeric code field: 0601 became 601
    num = src.copy()
    num["DLBM"] = num["DLBM"].astype(int)
    path = tmp_path / "num.gpkg"
    pyogrio.write_dataframe(num, path)
    _refused(run(path, "--layer", "landuse", "--layers", layers), "leading zero", "601", "text field")

    # two schemas match
    both = src.assign(YDXZ="M1")
    path = tmp_path / "both.gpkg"
    pyogrio.write_dataframe(both, path)
    _refused(run(path, "--layer", "landuse", "--layers", layers), "several schemas", "--schema")

    assert (layers / "landuse.parquet").read_bytes() == before


def test_dry_run_writes_nothing(layers, tmp_path):
    path, _, _ = sandiao_shp(tmp_path / "delivery")
    result = run(path, "--layer", "landuse", "--layers", layers, "--dry-run")
    assert result.exit_code == 0, result.output
    assert not (layers / "landuse.parquet").exists()
    assert "schema sandiao" in result.stdout and "frame EPSG:4526" in result.stdout and "GB18030" in result.stdout
    for code in ("440307", "440309", "440310"):
        assert f"  {code} " in result.stdout
    assert "nothing written" in result.stdout


def test_invalid_polygon_repaired_and_outside_left_out(layers, tmp_path):
    g = grid(2)
    x, y = g.geometry.iloc[0].bounds[:2]
    bowtie = shapely.Polygon([(x, y), (x + 50, y + 50), (x + 50, y), (x, y + 50)])
    far = shapely.box(480_000, 2_490_000, 480_100, 2_490_100)  # in Nanshan: in Shenzhen, outside the three districts
    gdf = gpd.GeoDataFrame(
        {"DKBH": ["A", "B", "C"], "YDXZ": ["M1", "M0", "G1"], "SYNTHETIC": 1},
        geometry=[bowtie, g.geometry.iloc[1], far],
        crs="EPSG:4547",
    )
    path = tmp_path / "plots.geojson"
    pyogrio.write_dataframe(gdf.to_crs("EPSG:4326"), path)
    result = run(path, "--layer", "landuse", "--layers", layers, "--schema", "kongui")
    assert result.exit_code == 0, result.output
    assert "frame EPSG:4326 detected" in result.stderr and "--from-crs gcj02" in result.stderr
    assert "1 invalid polygon(s) made valid" in result.stderr and ": A;" in result.stderr
    assert "1 parcel(s) outside Longgang, Longhua and Pingshan left out: C" in result.stderr
    out = stored(layers)
    assert sorted(out.index) == ["A", "B"] and out.is_valid.all()
    assert out.loc["A"].geometry.area == pytest.approx(2 * 625, rel=1e-6)


def test_user_schema_validated(layers, tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('code_system = "gb2017"\ncolour = "red"\n[fields]\nid = "ID"\n', encoding="utf-8")
    path, _, _ = sandiao_shp(tmp_path / "delivery")
    result = run(path, "--layer", "landuse", "--layers", layers, "--schema", bad)
    assert result.exit_code == 2
    assert "unknown key 'colour'" in result.stderr and "no code field" in result.stderr
    assert "code_system 'gb2017'" in result.stderr and "Traceback" not in result.stderr
    good = tmp_path / "dltb.toml"
    good.write_text('code_system = "sandiao"\n[fields]\nid = "BSM"\ncode = "DLBM"\nname = "DLMC"\n', encoding="utf-8")
    result = run(path, "--layer", "landuse", "--layers", layers, "--schema", good)
    assert result.exit_code == 0, result.output
    assert set(stored(layers)["schema"]) == {"dltb"}


def test_control_lines_replace_only_their_kind(layers, tmp_path):
    g = grid(2)
    block = gpd.GeoDataFrame({"SYNTHETIC": [1, 1]}, geometry=g.geometry.iloc[:2].to_numpy(), crs="EPSG:4547")
    path = tmp_path / "block.gpkg"
    pyogrio.write_dataframe(block, path)
    assert run(path, "--layer", "control_lines", "--kind", "block_line_1", "--layers", layers).exit_code == 0
    red = gpd.GeoDataFrame(
        {"kind": ["eco_redline"], "line_id": ["RL-1"]}, geometry=g.geometry.iloc[2:3].to_numpy(), crs="EPSG:4547"
    )
    path = tmp_path / "red.gpkg"
    pyogrio.write_dataframe(red, path)
    result = run(path, "--layer", "control_lines", "--layers", layers)
    assert result.exit_code == 0, result.output
    assert "2 of other kinds kept" in result.stdout
    again = tmp_path / "block2.gpkg"
    pyogrio.write_dataframe(block.iloc[:1], again)
    result = run(again, "--layer", "control_lines", "--kind", "block_line_1", "--layers", layers)
    assert result.exit_code == 0 and "2 stored control line(s) of kind block_line_1 replaced" in result.stderr
    out = gpd.read_parquet(layers / "control_lines.parquet")
    assert sorted(out["kind"]) == ["block_line_1", "eco_redline"] and out.crs.to_epsg() == 4547
    assert out.set_index("line_id").loc["RL-1", "name_zh"] == "生态保护红线"
    no_kind = run(path.with_name("block.gpkg"), "--layer", "control_lines", "--layers", layers)
    assert no_kind.exit_code == 2 and "--kind" in no_kind.stderr


def test_encoding_and_frame_detection(tmp_path):
    path, _, _ = sandiao_shp(tmp_path / "d")
    assert dbf_encoding(path.with_suffix(".dbf")) == "GB18030"
    frame = frame_of_coordinates((520_000.0, 2_505_000.0, 530_000.0, 2_515_000.0))
    assert frame is not None and frame[0] == "EPSG:4547"
    assert frame_of_coordinates((520_000.0, 2_505_000.0, 38_530_000.0, 2_515_000.0)) is None  # mixed: ambiguous


def test_shipped_schemas_load():
    for name in ("sandiao", "kongui", "yongdi"):
        assert load_schema(name).name == name
    with pytest.raises(ValueError, match="optional names 'admin'"):
        parse_schema(
            {"code_system": "yongdi", "fields": {"code": "A"}, "optional": ["admin"]}, where="x.toml", default_name="x"
        )


def test_plan_keeps_the_api_usable(layers, tmp_path):
    path, g, _ = sandiao_shp(tmp_path / "delivery", mismatch=False)
    plan = plan_landuse_import(path, layers_dir=layers)
    assert plan.per_district() == g["district"].value_counts().to_dict()
    assert plan.schema == "sandiao" and plan.delivery.encoding == "GB18030" and plan.warnings == []
