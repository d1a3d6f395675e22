"""The land-use layer and control lines of a layers folder: classes, district totals, overlays, targets.

Every parcel is a rectangle in EPSG:4547 inside the test district (440307, a 20 km square from
x 520 km, y 2505 km), so every total is known exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from gis.cli import cli
from gis.codes import parse_part
from gis.errors import InputError
from gis.landuse import read_landuse, summarize_landuse
from gis.partitioned import write_partitioned
from gis.pipeline import run_check
from gis.read import read_districts, read_layers, read_targets

X0, Y0 = 521_000.0, 2_506_000.0


def rect(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


#: parcel id, 用地用海 code, rectangle (offsets from X0, Y0 in m), official area (m²)
PARCELS = [
    ("P1", "100101", rect(0, 0, 1000, 500), 500_010.0),  # 50 ha industrial (level 3)
    ("P2", "1001", rect(1000, 0, 500, 400), None),  # 20 ha industrial (level 2)
    ("P3", "1101", rect(0, 1000, 500, 200), None),  # 10 ha logistics
    ("P4", "10", rect(2000, 0, 500, 100), None),  # 5 ha 工矿用地: spans industrial and mining
    ("P5", "9999", rect(3000, 0, 100, 100), None),  # 1 ha, no such code
    ("P6", "1401", rect(0, 2000, 400, 200), None),  # 8 ha park
]


def write_landuse(
    folder: Path,
    parcels: list = PARCELS,
    *,
    system: str = "yongdi",
    name: str = "landuse.parquet",
    encoding: str = "geoarrow",
) -> Path:
    gdf = gpd.GeoDataFrame(
        {
            "parcel_id": [p[0] for p in parcels],
            "code": [p[1] for p in parcels],
            "code_system": system,
            "district": "440307",
            "official_m2": [p[3] for p in parcels],
        },
        geometry=[p[2] for p in parcels],
        crs="EPSG:4547",
    )
    path = folder / name
    if path.suffix == ".parquet":  # GeoArrow-encoded, as gis import writes it (or WKB, as other tools do)
        gdf.to_parquet(path, geometry_encoding=encoding)
    elif path.suffix == ".shp":  # field names of 10 characters at most, as GDAL would cut them
        gdf.rename(columns=lambda c: c[:10]).to_file(path, engine="pyogrio")
    elif path.suffix == ".gdb":  # a FileGDB folder whose one feature class has another name
        gdf.to_file(path, driver="OpenFileGDB", layer="YDYH_parcels", engine="pyogrio")
    else:
        gdf.to_file(path, engine="pyogrio")
    return path


def write_control(folder: Path) -> None:
    rows = [
        ("BL1", "block_line_1", rect(-10, -10, 1260, 520)),  # P1 whole and P2's western half (x 1000-1250)
        ("BL2", "block_line_2", rect(1200, -10, 50, 520)),  # overlaps BL1: the union counts it once
        # 2 km x 1 km, half of it west of the district's edge (x 520 km): 100 ha inside
        ("RZ1", "retention_zone", shapely.box(519_000.0, 2_510_000.0, 521_000.0, 2_511_000.0)),
    ]
    gpd.GeoDataFrame(
        {"line_id": [r[0] for r in rows], "kind": [r[1] for r in rows], "district": "440307"},
        geometry=[r[2] for r in rows],
        crs="EPSG:4547",
    ).to_parquet(folder / "control_lines.parquet")


LAND_TARGETS = [
    ("LU-01", "industrial", "at_least", "70", "ha"),  # 50 + 20: met exactly
    ("LU-02", "yongdi:1001", "approx", "70", "ha"),  # 1001 holds 100101
    ("LU-03", "industrial+logistics", "at_least", "0.9", "km2"),  # 80 ha: short
    ("LU-04", "industrial inside block_line", "at_least", "60", "ha"),  # 50 + 10 (P2 x 1000-1250)
    ("LU-05", "industrial outside block_line", "approx", "10", "ha"),
    ("LU-06", "sandiao:0601", "at_least", "1", "ha"),  # another code system
]


def add_targets(folder: Path, rows: list = LAND_TARGETS, *, control: bool = True) -> None:
    lines = [
        f"{tid},aggregate,,{part},440307,landuse,area,{cmp},{value},{unit},0,2025,test,row,test"
        for tid, part, cmp, value, unit in rows
    ]
    if control:
        lines.append("CL-01,aggregate,,retention_zone,440307,control_lines,area,approx,100,ha,0,2025,test,row,test")
    with (folder / "targets.csv").open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def results(folder: Path) -> pd.DataFrame:
    return run_check(layers_dir=folder).results.set_index("target_id")


def test_classes_follow_the_code_system_and_the_hierarchy(test_layers: Path) -> None:
    write_landuse(test_layers)
    landuse = read_landuse(test_layers)
    assert landuse is not None and landuse.system == "yongdi"
    classes = dict(zip(landuse.parcels["parcel_id"], landuse.parcels["land_class"], strict=True))
    assert classes == {
        "P1": "industrial",
        "P2": "industrial",
        "P3": "logistics",
        "P4": "unclassified",
        "P5": "unknown code",
        "P6": "park_green",
    }


def test_sandiao_1001_is_railway_never_industrial(test_layers: Path) -> None:
    write_landuse(
        test_layers,
        [("S1", "1001", rect(0, 0, 100, 100), None), ("S2", "0601", rect(200, 0, 100, 100), None)],
        system="sandiao",
    )
    landuse = read_landuse(test_layers)
    assert landuse is not None
    assert landuse.parcels["land_class"].tolist() == ["transport", "industrial"]
    add_targets(test_layers, [("LU-S", "industrial", "at_least", "1", "ha")], control=False)
    row = results(test_layers).loc["LU-S"]
    assert row["measured"] == pytest.approx(1.0) and row["status"] == "met"


def test_summary_per_district_and_class(test_layers: Path) -> None:
    write_landuse(test_layers)
    landuse = read_landuse(test_layers)
    assert landuse is not None
    table = summarize_landuse(landuse, read_districts(test_layers)).set_index("class")
    assert table.loc["industrial", "area_ha"] == pytest.approx(70.0)
    assert table.loc["industrial", "n"] == 2
    assert table.loc["industrial", "codes"] == "1001,100101"
    assert table.loc["industrial", "share_pct"] == pytest.approx(70.0 / 40_000.0 * 100.0)
    assert table.loc["industrial", "official_ha"] == pytest.approx(50.001)  # P2 has none: the sum of those there
    assert pd.isna(table.loc["logistics", "official_ha"])
    assert list(table.index) == ["industrial", "logistics", "park_green", "unclassified", "unknown code"]
    by_code = summarize_landuse(landuse, by="code").set_index("codes")
    assert by_code.loc["100101", "name_zh"] == "一类工业用地" and by_code.loc["100101", "class"] == "industrial"


def test_targets_on_land_classes_codes_and_control_lines(test_layers: Path) -> None:
    write_landuse(test_layers)
    write_control(test_layers)
    add_targets(test_layers)
    res = results(test_layers)
    expected = {"LU-01": 70.0, "LU-02": 70.0, "LU-03": 80.0, "LU-04": 60.0, "LU-05": 10.0, "CL-01": 100.0}
    for tid, ha in expected.items():
        assert res.loc[tid, "measured"] == pytest.approx(ha), tid
        assert res.loc[tid, "unit"] == "ha"
    assert res.loc["LU-03", "planned"] == pytest.approx(90.0) and res.loc["LU-03", "status"] == "short"
    assert set(res.loc[["LU-01", "LU-02", "LU-04", "LU-05", "CL-01"], "status"]) == {"met"}
    assert res.loc["LU-01", "name_zh"].startswith("龙岗区")
    # a code of another system is not guessed at: no measure, and the note says why
    assert res.loc["LU-06", "status"] == "no land-use layer"
    assert "coded in yongdi" in res.loc["LU-06", "note"]


def test_without_the_layers_the_status_says_what_is_missing(test_layers: Path) -> None:
    add_targets(test_layers)
    res = results(test_layers)
    assert set(res.loc[[t[0] for t in LAND_TARGETS], "status"]) == {"no land-use layer"}
    assert "gis import FILE --layer landuse" in res.loc["LU-01", "note"]
    assert res.loc["CL-01", "status"] == "no control-line layer"
    write_landuse(test_layers)
    res = results(test_layers)
    assert res.loc["LU-04", "status"] == "no control-line layer"  # the overlay needs the block line
    assert res.loc["LU-01", "status"] == "met"


def test_a_geopackage_landuse_layer_in_another_frame_reads_the_same(test_layers: Path) -> None:
    path = write_landuse(test_layers, name="landuse.gpkg")
    gdf = gpd.read_file(path).to_crs("EPSG:4326")
    path.unlink()
    gdf.to_file(path, engine="pyogrio")
    landuse = read_landuse(test_layers)
    assert landuse is not None
    assert landuse.parcels.loc[landuse.parcels["parcel_id"] == "P1", "area_m2"].iloc[0] == pytest.approx(
        500_000.0, rel=1e-9
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.drop(columns=["code_system"]), "lacks the field(s) code_system"),
        (lambda g: g.assign(code_system=["yongdi"] * 5 + ["sandiao"]), "a layer has one code system"),
        (lambda g: g.assign(parcel_id=["P1"] * 6), "field parcel_id repeats on parcels P1, P1, P1, P1, P1 and 1 more"),
        (lambda g: g.assign(district=["440307"] * 5 + ["440304"]), "field district is not one of"),
        (
            lambda g: g.assign(parcel_id=["P1", None, " P3 ", "P4", "P3", "P6"]),
            "field parcel_id is empty on 1 parcel(s) (rows 2)",
        ),
        (
            lambda g: g.assign(parcel_id=["P1", "P2", " P3 ", "P4", "P3", "P6"]),
            "field parcel_id repeats on parcels P3, P3",
        ),
        (lambda g: g.assign(code=[" 1001", None, "1101", "10", "9999", "1401"]), "field code is empty on 1 parcel(s)"),
        (lambda g: g.assign(geometry=[*g.geometry[:4], shapely.Polygon(), None]), "parcels P5, P6 have no geometry"),
        (lambda g: g.set_crs(None, allow_override=True), "declares no coordinate reference system"),
    ],
)
@pytest.mark.parametrize("encoding", ["geoarrow", "WKB"])
def test_a_bad_landuse_layer_is_refused_naming_the_field(test_layers: Path, change, message: str, encoding) -> None:
    """Read with pyarrow (GeoArrow) or geopandas (WKB), a bad layer is refused with the same message."""
    path = write_landuse(test_layers, encoding=encoding)
    change(gpd.read_parquet(path)).to_parquet(path, geometry_encoding=encoding)
    with pytest.raises(InputError) as exc:
        read_landuse(test_layers)
    assert message in str(exc.value) and "landuse.parquet" in str(exc.value)


@pytest.mark.parametrize("encoding", ["geoarrow", "WKB"])
def test_both_geoparquet_encodings_read_the_same(test_layers: Path, encoding: str) -> None:
    """A WKB-encoded landuse.parquet (geopandas' default) reads as the GeoArrow one gis import writes."""
    write_landuse(test_layers, encoding=encoding)
    landuse = read_landuse(test_layers)
    assert landuse is not None
    assert isinstance(landuse.table, gpd.GeoDataFrame) == (encoding == "WKB")  # GeoArrow: no geometry built yet
    frame = landuse.parcels.drop(columns="geometry").astype(object)
    write_landuse(test_layers, encoding="WKB")
    plain = read_landuse(test_layers)
    assert plain is not None and isinstance(plain.table, gpd.GeoDataFrame)
    pd.testing.assert_frame_equal(frame, plain.parcels.drop(columns="geometry").astype(object))
    assert shapely.equals_exact(landuse.parcels.geometry.to_numpy(), plain.parcels.geometry.to_numpy(), 0).all()
    assert landuse.parcels.crs.equals(plain.parcels.crs)


def test_two_files_of_the_layer_are_refused(test_layers: Path) -> None:
    write_landuse(test_layers)
    write_landuse(test_layers, name="landuse.gpkg")
    with pytest.raises(InputError, match="there 2 times"):
        read_landuse(test_layers)


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ("industry", "'industry' in 'industry' is no land class"),
        ("yongdi:9999", "'9999' is no code of yongdi"),
        ("industrial inside red_line", "'red_line' is no kind of control line"),
        ("guobiao:0601", "'guobiao' is no code system"),
    ],
)
def test_a_land_target_naming_nothing_is_refused(test_layers: Path, part: str, message: str) -> None:
    add_targets(test_layers, [("LU-X", part, "at_least", "1", "ha")], control=False)
    with pytest.raises(InputError) as exc:
        read_targets(test_layers / "targets.csv")
    assert message in str(exc.value) and "target LU-X" in str(exc.value)


def test_parse_part_labels() -> None:
    assert parse_part("industrial inside block_line").label() == (
        "工业用地（工业区块线内）",
        "industrial inside block_line",
    )
    assert parse_part("yongdi:1001").label()[0] == "1001 工业用地"


def test_cli_landuse(test_layers: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["landuse", "--layers", str(test_layers)])
    assert result.exit_code == 2 and "no land-use layer" in result.output and "gis import" in result.output
    write_landuse(test_layers)
    result = runner.invoke(cli, ["landuse", "--layers", str(test_layers)])
    assert result.exit_code == 0, result.output
    assert "工业用地" in result.output and "龙岗区 440307" in result.output and "合计" in result.output
    out = tmp_path / "lu.json"
    result = runner.invoke(cli, ["landuse", "--layers", str(test_layers), "--by", "code", "-f", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["code_system"] == "yongdi" and doc["area_crs"] == "EPSG:4547"
    row = next(r for r in doc["rows"] if r["codes"] == ["100101"])
    assert {k: row[k] for k in ("district", "class", "code_system", "n", "area_ha", "official_ha")} == {
        "district": "440307",
        "class": "industrial",
        "code_system": "yongdi",
        "n": 1,
        "area_ha": 50.0,
        "official_ha": 50.001,
    }


def test_cli_check_lists_the_district_totals_with_their_citation(test_layers: Path) -> None:
    add_targets(test_layers)
    runner = CliRunner()
    result = runner.invoke(cli, ["check", "--layers", str(test_layers)])
    assert "6 target(s) need a land-use layer: gis import FILE --layer landuse (LU-01" in result.output
    assert "1 target(s) need a control-line layer" in result.output
    write_landuse(test_layers)
    write_control(test_layers)
    result = runner.invoke(cli, ["check", "--layers", str(test_layers)])
    assert "District totals on land use and control lines (land use: sums of parcel areas" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("  LU-04"))
    assert line.strip() == (
        "LU-04 龙岗区工业用地（工业区块线内）: at_least 60.0 ha (0.60 km²), measured 60.0 ha (0.60 km²): met. test, row"
    )
    # the target naming a 三调 code on a layer coded in 用地用海 is told so, not to import a layer
    assert "need a land-use layer" not in result.output
    assert "1 target(s) name a code of another code system than the land-use layer's" in result.output


@pytest.mark.parametrize("name", ["landuse.shp", "landuse.geojson", "landuse.gdb", "landuse.gpkg"])
def test_the_layer_reads_from_every_format(test_layers: Path, name: str) -> None:
    write_landuse(test_layers, name=name)
    landuse = read_landuse(test_layers)
    assert landuse is not None and landuse.source.endswith(name)
    table = summarize_landuse(landuse).set_index("class")
    assert table.loc["industrial", "area_ha"] == pytest.approx(70.0, rel=1e-9)
    assert table.loc["industrial", "official_ha"] == pytest.approx(50.001)


def test_the_dask_engine_reads_the_landuse_layer_beside_the_partitions(test_layers: Path, tmp_path: Path) -> None:
    pytest.importorskip("dask_geopandas")
    write_landuse(test_layers)
    write_control(test_layers)
    add_targets(test_layers)
    folder = tmp_path / "parts"
    write_partitioned(read_layers(test_layers), folder, targets=test_layers / "targets.csv", rows_per_partition=2)
    for name in ("landuse.parquet", "control_lines.parquet"):
        shutil.copy(test_layers / name, folder / name)
    default = run_check(layers_dir=test_layers).results
    dask = run_check(layers_dir=folder, engine="dask").results
    pd.testing.assert_frame_equal(dask, default, check_exact=True)
    assert dask.set_index("target_id").loc["LU-04", "measured"] == pytest.approx(60.0)


def test_the_sample_delivery_goes_through_import_landuse_and_check(test_layers: Path, tmp_path: Path) -> None:
    """The README's three commands on scripts/sample_delivery.py's synthetic delivery, with its block line."""
    repo = Path(__file__).resolve().parents[1]
    delivery = tmp_path / "delivery"
    subprocess.run(
        [
            sys.executable,
            str(repo / "scripts" / "sample_delivery.py"),
            "--parcels",
            "300",
            "-o",
            str(delivery),
            "--layers",
            str(test_layers),
        ],
        check=True,
        capture_output=True,
    )
    assert not (delivery / "DLTB.cpg").exists()  # GBK without .cpg, eastings with the zone-38 prefix
    assert gpd.read_file(delivery / "DLTB.shp", encoding="gbk").total_bounds[0] > 38_000_000
    runner = CliRunner()
    for args in (
        ["DLTB.shp", "--layer", "landuse"],
        ["GYQKX.shp", "--layer", "control_lines", "--kind", "block_line_1"],
    ):
        result = runner.invoke(cli, ["import", str(delivery / args[0]), *args[1:], "--layers", str(test_layers)])
        assert result.exit_code == 0, result.output
    add_targets(
        test_layers,
        [
            ("LU-IN", "industrial inside block_line", "at_least", "1", "ha"),
            ("LU-ALL", "industrial", "at_least", "1", "ha"),
        ],
        control=False,
    )
    res = results(test_layers)
    parcels = gpd.read_parquet(test_layers / "landuse.parquet")
    industrial = parcels[parcels["code"] == "0601"]
    blocks = gpd.read_parquet(test_layers / "control_lines.parquet")
    touched = industrial.geometry.intersects(blocks.geometry.union_all())
    # every block is a square around whole industrial parcels: the parcels it touches lie wholly inside
    assert res.loc["LU-IN", "measured"] == pytest.approx(industrial.area[touched].sum() / 1e4, rel=1e-9)
    assert res.loc["LU-ALL", "measured"] == pytest.approx(industrial.area.sum() / 1e4, rel=1e-9)
    assert 0 < res.loc["LU-IN", "measured"] < res.loc["LU-ALL", "measured"]
    assert "SYNTHETIC" in res.loc["LU-IN", "note"]
    # 三调 1001 (railway) is never industrial land
    assert not parcels.loc[parcels["code"] == "1001"].index.isin(industrial.index).any()
    result = runner.invoke(cli, ["landuse", "--layers", str(test_layers)])
    assert result.exit_code == 0 and "SYNTHETIC" in result.output and "工业用地" in result.output
    # the files say it too: the GeoPackage's parcels and the report
    gpkg, html = tmp_path / "lu.gpkg", tmp_path / "report.html"
    assert runner.invoke(cli, ["export", "--layers", str(test_layers), "-o", str(gpkg)]).exit_code == 0
    exported = gpd.read_file(gpkg, layer="landuse")
    assert exported["synthetic"].astype(bool).all() and set(exported["source_file"]) == {"DLTB.shp"}
    assert runner.invoke(cli, ["report", "--layers", str(test_layers), "-o", str(html)]).exit_code == 0
    assert "合成数据 SYNTHETIC" in html.read_text(encoding="utf-8")


def test_landuse_files_say_synthetic_and_take_their_format_from_the_name(test_layers: Path, tmp_path: Path) -> None:
    path = write_landuse(test_layers)
    gpd.read_parquet(path).assign(synthetic=True).to_parquet(path)
    runner = CliRunner()
    out = tmp_path / "totals.json"
    result = runner.invoke(cli, ["landuse", "--layers", str(test_layers), "-o", str(out)])
    assert result.exit_code == 0 and "SYNTHETIC" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))  # JSON without -f json: the name says it
    assert doc["synthetic"] is True and all(r["synthetic"] for r in doc["rows"])
    csv = tmp_path / "totals.csv"
    assert runner.invoke(cli, ["landuse", "--layers", str(test_layers), "-o", str(csv)]).exit_code == 0
    table = pd.read_csv(csv, encoding="utf-8-sig")
    assert table["synthetic"].all()
    assert (
        table.loc[table["class"] == "industrial", "share_pct"].astype(str).iloc[0] == "0.175"
    )  # rounded, no float noise


def test_gis_build_says_how_much_overlapping_parcels_count_twice(test_layers: Path, tmp_path: Path) -> None:
    twice = [*PARCELS, ("P7", "100101", rect(900, 0, 200, 100), None)]  # 2 ha: 1 ha of it on P1, 1 ha on P2
    write_landuse(test_layers, twice)
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--layers",
            str(test_layers),
            "--out-dir",
            str(tmp_path / "out"),
            "--maps-dir",
            str(tmp_path / "maps"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "warning: the land-use parcels overlap in 2 places (2.00 ha)" in result.output
