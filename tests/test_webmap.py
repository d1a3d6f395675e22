from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import jsonschema
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

import gis.render
from gis import settings
from gis.cli import cli
from gis.crs import gcj02_from_wgs84
from gis.pipeline import run_check, run_qa
from gis.render import mapdata
from gis.render.encoding import decode_geometries, encode_geometries, unpack_varints
from gis.render.mapdata import count_features, decode_layer, decode_table, map_data
from gis.render.webmap import MAP_FILES, SCRIPTS, build_map, render_map, write_maps
from tests.data.make_data import feature, rect

DATA_RE = re.compile(r'<script type="application/json" id="gis-data">(.*?)</script>', re.S)
RENDER = Path(gis.render.__file__).parent
JS = RENDER / "js"
SCHEMA = json.loads((RENDER / "mapdata.schema.json").read_text(encoding="utf-8"))


def page_data(html: str) -> dict:
    return json.loads(DATA_RE.search(html).group(1))


def features_of(data: dict) -> list[dict]:
    return [f for layer in data["layers"] for f in decode_layer(layer, data["strings"])]


def props_by_fid(data: dict) -> dict[str, dict]:
    return {f["properties"]["fid"]: f["properties"] for f in features_of(data)}


def targets_of(data: dict, fid: str) -> list[dict]:
    return [t for t in decode_table(data["targets"], data["strings"]) if t["fid"] == fid]


def add_features(layers_dir: Path, name: str, features: list[dict]) -> None:
    """Append features (tests/data/make_data.py's) to a layer of a copy of tests/data/layers."""
    path = layers_dir / f"{name}.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"].extend(features)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def add_longhua(layers_dir: Path) -> None:
    """A second district (code 440309) east of the test district, with one park in it."""
    longhua = {"district": "440309", "name_zh": "第二测试区", "name_en": "Second test district"}
    add_features(
        layers_dir,
        "districts",
        [{"type": "Feature", "properties": longhua, "geometry": rect(20_000, 0, 20_000, 20_000, step=1000)}],
    )
    park = feature("TT-PK-09", "第二区公园", "Park in 440309", "extent", None, "park", rect(25_000, 1000, 100, 100))
    add_features(layers_dir, "parks", [park | {"properties": park["properties"] | {"district": "440309"}}])


def add_overlap(layers_dir: Path) -> None:
    """A park overlapping TT-PK-01 by 50 x 50 m: gis qa warns with the overlap's place."""
    add_features(
        layers_dir,
        "parks",
        [feature("TT-PK-03", "重叠公园", "Overlapping park", "extent", None, "park", rect(5050, 1050, 100, 100))],
    )


@pytest.fixture
def run(test_layers):
    return run_check(layers_dir=test_layers)


def test_geometry_encoding_round_trips_at_6_decimals():
    a = shapely.Polygon(
        [(114.1234567, 22.7), (114.13, 22.7), (114.13, 22.71), (114.1234567, 22.7)],
        [[(114.125, 22.702), (114.126, 22.702), (114.126, 22.703), (114.125, 22.702)]],
    )
    b = shapely.MultiPolygon([shapely.box(114.2, 22.6, 114.21, 22.61), shapely.box(114.3, 22.6, 114.31, 22.61)])
    enc = encode_geometries(np.array([a, b], dtype=object))
    assert enc["geoms"] == [0, 1, 3] and enc["polys"] == [0, 2, 3, 4]
    back = [shapely.geometry.shape(g) for g in decode_geometries(enc)]
    assert shapely.hausdorff_distance(back[0], a) < 1e-6 and len(back[0].geoms[0].interiors) == 1
    assert back[1].equals(b)
    coords = unpack_varints(enc["coords"]).tolist()
    starts = {2 * r for r in enc["rings"][:-1]} | {2 * r + 1 for r in enc["rings"][:-1]}
    deltas = [v for i, v in enumerate(coords) if i not in starts]
    assert max(abs(v) for v in deltas) <= 10_000  # after each ring's first vertex: differences, not absolute values


def test_every_map_file_holds_its_districts_features_in_the_schema(test_layers, tmp_path):
    """Every map gis build writes holds its district's features (and the index all), in the schema."""
    add_longhua(test_layers)
    run = run_check(layers_dir=test_layers)
    write_maps(run, tmp_path)
    expected = {None: sorted(run.features["fid"]), "440307": sorted(run.features["fid"][:-1]), "440309": ["TT-PK-09"]}
    assert run.features["fid"].iloc[-1] == "TT-PK-09"  # the one feature of 440309, last in the parks layer
    for code, name in MAP_FILES.items():
        data = page_data((tmp_path / name).read_text(encoding="utf-8"))
        jsonschema.validate(data, SCHEMA)
        feats = {f["properties"]["fid"]: f for f in features_of(data)}
        assert sorted(feats) == expected.get(code, [])  # 440310 (Pingshan) has no test feature
        assert count_features(data) == len(feats)
        for fid, geom in zip(run.features["fid"], run.features.geometry, strict=True):
            if fid in feats:
                assert shapely.hausdorff_distance(shapely.geometry.shape(feats[fid]["geometry"]), geom) < 1e-6


def test_page_makes_no_request(run):
    html = render_map(build_map(run))
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html
    # no url() in the style sheets except inlined data
    for css in re.findall(r"<style>(.*?)</style>", html, re.S):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
            assert url.startswith(("data:", "#")), url


def test_data_once_and_lean(run):
    html = render_map(build_map(run))
    data = page_data(html)
    fids = [f["properties"]["fid"] for f in features_of(data)]
    assert len(fids) == len(set(fids)) == len(run.features) == count_features(data)
    # each fid and each name is written once in the page (no second copy of the data)
    assert html.count('"TT-PK-02"') == 1 and html.count("无目标公园") == 1
    # a feature's fid is written once more, in the strings, however many targets it has
    assert html.count('"TT-RU-01-D"') == 2 and len(targets_of(data, "TT-RU-01-D")) > 2
    # coordinates are integers in micro-degrees: 6 decimals
    assert all(isinstance(layer["geometry"]["coords"], str) for layer in data["layers"])
    # and they decode to the measured features within 1e-6 degree
    feats = {f["properties"]["fid"]: f for f in features_of(data)}
    for fid, geom in zip(run.features["fid"], run.features.geometry, strict=True):
        assert shapely.hausdorff_distance(shapely.geometry.shape(feats[fid]["geometry"]), geom) < 1e-6


def schema_keys(node: object) -> set[str]:
    """Every property name the JSON Schema defines, at any depth."""
    if isinstance(node, dict):
        own = set(node["properties"]) if isinstance(node.get("properties"), dict) else set()
        return own.union(*(schema_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(schema_keys(v) for v in node))
    return set()


def test_map_data_follows_its_documented_schema(test_layers):
    add_overlap(test_layers)
    add_longhua(test_layers)
    run = run_check(layers_dir=test_layers)
    run.qa = run_qa(test_layers)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.check_schema(SCHEMA)
    for district in (None, "440307", "440309", "440310"):
        for frame in ("WGS-84", "GCJ-02"):
            data = json.loads(json.dumps(map_data(run, district=district, frame=frame)))  # as the page holds it
            validator.validate(data)
            assert data["version"] == mapdata.SCHEMA_VERSION == SCHEMA["properties"]["version"]["const"]
            tables = [*data["layers"], data["targets"], data["districts"]]
            for table in tables:  # what a JSON Schema cannot say: every column holds count values
                for column in [*table["columns"].values(), *table["coded_columns"].values()]:
                    assert len(column) == table["count"]
            for layer in [*data["layers"], data["districts"]]:
                assert len(layer["geometry"]["geoms"]) == layer["count"] + 1
    assert data["qa_findings"] == [] and map_data(run)["qa_findings"][0]["check"] == "overlap"
    # every key of the schema is documented in the module docstring
    assert schema_keys(SCHEMA) <= set(re.findall(r"``([a-z0-9_]+)``", mapdata.__doc__))


def test_schema_refuses_an_undocumented_key(run):
    data = map_data(run)
    data["layers"][0]["columns"]["x"] = [0] * data["layers"][0]["count"]
    with pytest.raises(jsonschema.ValidationError, match="'x' was unexpected"):
        jsonschema.validate(data, SCHEMA)


def test_popup_data_carry_targets_and_citations(run):
    data = map_data(run)
    feats = props_by_fid(data)
    reserve = feats["TT-CZ-01-R"]
    rows = targets_of(data, "TT-CZ-01-R")
    # the reserve's figure, given on the zone's fid with part reserve
    (row,) = [t for t in rows if t["target_id"] == "TT-03"]
    assert row["planned"] == 5 and row["unit"] == "ha" and row["part"] == "reserve"
    assert row["measured"] == pytest.approx(reserve["area_ha"], abs=1e-3) and row["source_ref"] == "row 3"
    assert row["status"] == reserve["status"] == "short" and row["delta_pct"] == -20
    assert reserve["street"] == "测试街道" and reserve["accuracy"] == "exact (test data)"
    assert reserve["part"] == "reserve" and reserve["parent"] == "TT-CZ-01-C"
    assert targets_of(data, "TT-PK-02") == [] and feats["TT-PK-02"]["status"] is None
    aggregates = run.results[run.results["scope"] == "aggregate"]
    assert [a["target_id"] for a in data["aggregates"]] == list(aggregates["target_id"]) == ["TT-09", "TT-10", "TT-14"]


def test_district_map_holds_only_its_district(test_layers):
    add_longhua(test_layers)
    run = run_check(layers_dir=test_layers)
    data = map_data(run, district="440309")
    assert [f["properties"]["fid"] for f in features_of(data)] == ["TT-PK-09"]
    assert [a["target_id"] for a in data["aggregates"]] == ["TT-10"]
    assert data["districts"]["columns"]["district"] == ["440309"]
    assert data["targets"]["count"] == 0
    everything = map_data(run)
    assert {f["properties"]["district"] for f in features_of(everything)} == {"440307", "440309"}
    assert everything["districts"]["columns"]["district"] == ["440307", "440309"]


def test_amap_basemap_moves_overlays_to_gcj02(run):
    wgs = map_data(run)
    gcj = page_data(render_map(build_map(run, basemap="amap")))
    assert gcj["meta"]["frame"] == "GCJ-02"
    a = shapely.geometry.shape(features_of(wgs)[0]["geometry"]).geoms[0]
    b = shapely.geometry.shape(features_of(gcj)[0]["geometry"]).geoms[0]
    x, y = a.exterior.coords[0]
    gx, gy = gcj02_from_wgs84(x, y)
    assert b.exterior.coords[0] == pytest.approx((float(gx), float(gy)), abs=2e-6)


def test_basemap_tiles_only_when_asked(run):
    assert "tile.openstreetmap.org" not in render_map(build_map(run))
    assert "tile.openstreetmap.org" in render_map(build_map(run, basemap="osm"))
    assert "tk=KEY123" in render_map(build_map(run, basemap="tianditu", tianditu_key="KEY123"))
    with pytest.raises(ValueError, match="needs a key"):
        build_map(run, basemap="tianditu")


HOSTILE = "<script>window.__xss=1</script>\"'`&<img src=x onerror=window.__xss=2>"


def hostile_layers(test_layers):
    path = test_layers / "parks.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"][0]["properties"]["name_zh"] = "公园" + HOSTILE
    doc["features"][0]["properties"]["street"] = HOSTILE
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return test_layers


def test_hostile_text_cannot_close_the_data_script(test_layers):
    run = run_check(layers_dir=hostile_layers(test_layers))
    html = render_map(build_map(run))
    start = html.index('id="gis-data">')
    payload = html[start : html.index("</script>", start)]
    assert "window.__xss=1<\\/script>" in payload  # "</" escaped: the data cannot end its script early
    assert "<!--" not in payload
    data = page_data(html)
    assert any(f["properties"]["name_zh"] == "公园" + HOSTILE for f in features_of(data))


def test_gis_map_command(test_layers, tmp_path):
    out = tmp_path / "m.html"
    runner = CliRunner()
    result = runner.invoke(cli, ["map", "--layers", str(test_layers), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert page_data(out.read_text(encoding="utf-8"))["meta"]["frame"] == "WGS-84"
    result = runner.invoke(cli, ["map", "--layers", str(test_layers), "-o", str(out)])
    assert result.exit_code == 2 and "Pass --overwrite" in result.output
    result = runner.invoke(
        cli,
        ["map", "--layers", str(test_layers), "-o", str(out), "--basemap", "tianditu"],
        env={"GIS_TIANDITU_KEY": ""},
    )
    assert result.exit_code == 2 and "needs a key" in result.output


def test_every_part_is_drawn_even_without_its_own_style(test_layers):
    path = test_layers / "industrial_land.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    extra = json.loads(json.dumps(doc["features"][2]))
    extra["properties"].update(fid="TT-RZ-01", part="retention_zone")
    extra["geometry"]["coordinates"] = [[[x, y + 0.004] for x, y in extra["geometry"]["coordinates"][0]]]
    doc["features"].append(extra)
    path.write_text(json.dumps(doc), encoding="utf-8")
    run = run_check(layers_dir=test_layers)
    data = map_data(run)
    assert count_features(data) == len(run.features)
    layer = next(lay for lay in data["layers"] if lay["part"] == "retention_zone")
    assert layer["columns"]["fid"] == ["TT-RZ-01"] and "retention_zone" in layer["style"]["title_en"]


def test_3d_coordinates_are_read_as_2d(test_layers):
    path = test_layers / "parks.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    doc["features"][0]["geometry"]["coordinates"] = [[[x, y, 12.5] for x, y in ring]]
    path.write_text(json.dumps(doc), encoding="utf-8")
    run = run_check(layers_dir=test_layers)
    assert not run.features.geometry.has_z.any()
    assert run.features.set_index("fid").loc["TT-PK-01", "area_ha"] == pytest.approx(1, rel=1e-6)
    render_map(build_map(run))  # no longer fails on the third coordinate


def test_status_comes_from_plan_figures_only(test_layers):
    # the site TT-IL-01-01 moved half out of its parent park TT-IL-01: its derived check fails
    path = test_layers / "industrial_land.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    (site,) = [f for f in doc["features"] if f["properties"]["fid"] == "TT-IL-01-01"]
    site["geometry"] = rect(7175, 1050, 50, 50)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    feats = props_by_fid(map_data(run_check(layers_dir=test_layers)))
    assert feats["TT-IL-01"]["status"] is None  # the parent: the plans give it no figure
    assert feats["TT-IL-01-01"]["status"] == "met"  # its own figure: 0.25 ha, met wherever it lies
    assert feats["TT-IL-01-01"]["checks_failed"] == "within_parent"  # shown apart from the status
    assert feats["TT-CZ-01-R"]["status"] == "short" and feats["TT-CZ-01-R"]["checks_failed"] is None


def test_map_options_basemap(run):
    assert '"basemap": "osm"' in render_map(build_map(run, basemap="osm"))


def js_functions(path: Path) -> list[tuple[str, int]]:
    """(name, lines) of every function in a script; a function's last line is the first "}" at its indent."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        for m in re.finditer(r"(\w+)\s*:\s*function\s*\(|function\s+(\w+)\s*\(|function\s*\(", line):
            name = m.group(1) or m.group(2) or f"anonymous at {path.name}:{i + 1}"
            indent = len(line) - len(line.lstrip())
            end = i
            if line.rstrip().endswith("{"):
                end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith(" " * indent + "}"))
            out.append((name, end - i + 1))
    return out


def test_map_scripts_are_small_named_parts_inlined_in_order(test_layers):
    files = sorted(p.name for p in JS.glob("*.js"))
    assert sorted(SCRIPTS) == files and len(set(SCRIPTS)) == len(SCRIPTS)  # every part inlined, once
    for name in files:
        assert len((JS / name).read_text(encoding="utf-8").splitlines()) <= 200, name
        for function, lines in js_functions(JS / name):
            assert not function.startswith("anonymous"), function
            assert lines <= 30, f"{name}: {function} has {lines} lines"
    assert next(f for f, _ in js_functions(JS / "main.js")) == "gisMap"
    html = render_map(build_map(run_check(layers_dir=test_layers)))
    where = [html.index((JS / name).read_text(encoding="utf-8")) for name in SCRIPTS]
    assert where == sorted(where)
    for module in Path(gis.render.__file__).parent.glob("*.py"):
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 400, module.name


#: Codes of the generated land-use layer, one per block of columns: several classes and an unknown code.
GRID_CODES = ("100101", "1101", "1401", "0701", "0901", "01", "0301", "9999")


def write_parcel_grid(folder: Path, n: int, *, cell: float = 25.0, size: float = 20.0) -> gpd.GeoDataFrame:
    """Write landuse.parquet: n square parcels (size m, on a grid of cell m) in the test district.

    The grid is 400 columns wide from x 521 km, y 2506 km (EPSG:4547); each block of 50 columns
    has one code of :data:`GRID_CODES`, so each class covers a solid area at any zoom.
    """
    cols = 400
    i = np.arange(n)
    col, row = i % cols, i // cols
    x0, y0 = 521_000.0 + col * cell, 2_506_000.0 + row * cell
    gdf = gpd.GeoDataFrame(
        {
            "parcel_id": [f"LU{k:06d}" for k in range(n)],
            "code": np.array(GRID_CODES, dtype=object)[(col // 50) % len(GRID_CODES)],
            "code_system": "yongdi",
            "district": "440307",
        },
        geometry=shapely.box(x0, y0, x0 + size, y0 + size),
        crs="EPSG:4547",
    )
    gdf.to_parquet(folder / "landuse.parquet")
    return gdf


def test_landuse_overlay_data_follows_the_schema(test_layers):
    write_parcel_grid(test_layers, 1000)
    run = run_check(layers_dir=test_layers)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for district in (None, "440307", "440309"):
        data = json.loads(json.dumps(map_data(run, district=district)))
        validator.validate(data)
        lu = data["landuse"]
        expected = 1000 if district in (None, "440307") else 0
        assert lu["count"] == expected and len(lu["geometry"]["geoms"]) == expected + 1
        for column in [*lu["columns"].values(), *lu["coded_columns"].values()]:
            assert len(column) == expected
    lu = map_data(run)["landuse"]
    # 2.5 rows of 400: blocks of 50 columns 0-3 have 150 parcels, 4-7 have 100; classes in the palette's order
    counts = {c["key"]: c["count"] for c in lu["classes"]}
    assert list(counts) == [
        "farmland",
        "forest",
        "residential",
        "commercial",
        "industrial",
        "logistics",
        "park_green",
        "unknown code",
    ]
    assert counts == dict(zip(counts, [100, 100, 150, 100, 150, 150, 150, 100], strict=True))
    classes = {c["key"]: c for c in lu["classes"]}
    assert classes["industrial"]["color"] == "#bb9674" and classes["industrial"]["title_zh"] == "工业用地"
    assert sum(c["area_ha"] for c in lu["classes"]) == pytest.approx(1000 * 400 / 1e4)
    rows = decode_table(lu, map_data(run)["strings"])
    assert rows[0]["area_m2"] == 400 and rows[0]["code_name"]
    # the parcels decode to their lon/lat squares within the document's precision (simplified to it)
    geoms = decode_geometries(lu["geometry"])
    lonlat = run.landuse.parcels.set_index("parcel_id").to_crs("EPSG:4326").geometry
    for row, geom in list(zip(rows, geoms, strict=True))[:50]:
        assert shapely.hausdorff_distance(shapely.geometry.shape(geom), lonlat[row["parcel_id"]]) < 2e-6


def test_without_a_landuse_layer_the_page_carries_nothing_of_it(run):
    data = map_data(run)
    assert "landuse" not in data
    html = render_map(build_map(run))
    assert '"landuse"' not in page_data_text(html) and "土地利用 Land use" not in page_data_text(html)


def page_data_text(html: str) -> str:
    return DATA_RE.search(html).group(1)


def test_land_use_targets_reach_the_panel_with_their_status(test_layers):
    """A land-use target without the layer is a district total with status no land-use layer, named and coloured."""
    with (test_layers / "targets.csv").open("a", encoding="utf-8") as f:
        f.write("LU-01,aggregate,,industrial,440307,landuse,area,at_least,70,ha,0,2025,test,row,test\n")
    data = map_data(run_check(layers_dir=test_layers))
    (row,) = [a for a in data["aggregates"] if a["target_id"] == "LU-01"]
    assert row["status"] == "no land-use layer" and row["measured"] is None
    assert data["status_zh"]["no land-use layer"] == "无土地利用图层" and data["status_colors"]["no control-line layer"]


def test_a_map_leaves_out_more_parcels_than_it_can_draw_and_says_so(test_layers, monkeypatch, caplog):
    write_parcel_grid(test_layers, 1000)
    run = run_check(layers_dir=test_layers)
    monkeypatch.setattr(settings, "MAP_LANDUSE_MAX", 999)
    with caplog.at_level("WARNING"):
        data = map_data(run, district="440307")
    assert "landuse" not in data
    assert "1,000 land-use parcels, over 999: overlay left out" in caplog.text
    assert "landuse" in map_data(run, district="440309")  # none there: nothing to leave out


def test_aggregates_carry_what_the_sketch_review_recomputes(test_layers):
    """Each district total says its layer, part, tolerance and the plan's rounding (half_step, as evaluate's)."""
    from gis.evaluate import half_step_ha
    from gis.read import read_targets

    run = run_check(layers_dir=test_layers)
    rows = {a["target_id"]: a for a in map_data(run)["aggregates"]}
    targets = read_targets(test_layers / "targets.csv").set_index("target_id")
    assert set(rows) == {"TT-09", "TT-10", "TT-14"}
    for tid, row in rows.items():
        assert row["half_step"] == pytest.approx(half_step_ha(targets.loc[tid]))
        assert row["tolerance_pct"] == targets.loc[tid, "tolerance_pct"] and row["planned_ha"] == row["planned"]
        assert row["rule"] is None  # thematic totals
    tt09 = rows["TT-09"]
    assert (tt09["layer"], tt09["part"], tt09["half_step"]) == ("consolidation_zones", "consolidation", 0.5)
    assert rows["TT-14"]["part"] is None and rows["TT-14"]["half_step"] == pytest.approx(0.05)
    assert rows["TT-14"]["measured_ha"] == pytest.approx(4.4) and rows["TT-10"]["measured_ha"] is None
    # a run made by hand (no targets table with it) reads the run's targets file for the same figures
    run.targets = None
    assert {a["target_id"]: a for a in map_data(run)["aggregates"]} == rows


def test_control_lines_and_land_use_rules_reach_the_page(test_layers):
    """The control lines are a table with geometry and kind; land-use totals say what they count."""
    from tests.test_landuse import LAND_TARGETS, add_targets, write_control, write_landuse

    write_landuse(test_layers)
    write_control(test_layers)
    add_targets(test_layers, LAND_TARGETS[:5])
    run = run_check(layers_dir=test_layers)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    data = json.loads(json.dumps(map_data(run, district="440307")))
    validator.validate(data)
    cl = data["control_lines"]
    rows = decode_table(cl, data["strings"])
    assert [r["line_id"] for r in rows] == ["BL1", "BL2", "RZ1"]
    assert [r["kind"] for r in rows] == ["block_line_1", "block_line_2", "retention_zone"]
    assert [k["key"] for k in cl["kinds"]] == ["block_line_1", "block_line_2", "retention_zone"]
    lonlat = run.control.to_crs("EPSG:4326").geometry
    for geom, expected in zip(decode_geometries(cl["geometry"]), lonlat, strict=True):
        assert shapely.hausdorff_distance(shapely.geometry.shape(geom), expected) < 2e-6
    rules = {a["target_id"]: a["rule"] for a in data["aggregates"]}
    assert rules["LU-01"] == {"classes": ["industrial"], "codes": None, "relation": None, "control": []}
    assert rules["LU-02"]["codes"][:2] == ["1001", "100101"] and rules["LU-02"]["classes"] == ["industrial"]
    assert rules["LU-04"] == {
        "classes": ["industrial"],
        "codes": None,
        "relation": "inside",
        "control": ["block_line_1", "block_line_2"],
    }
    assert rules["CL-01"]["control"] == ["retention_zone"]
    assert "control_lines" not in map_data(run_check(layers_dir=Path(__file__).parent / "data" / "layers"))


def test_review_constants_and_other_districts(test_layers):
    """The page reads the shared rules' constants, EPSG:4547 as a proj string, and every district's outline."""
    from pyproj import Transformer

    from gis.render.mapparts import AREA_PROJ4

    add_longhua(test_layers)
    run = run_check(layers_dir=test_layers)
    review = map_data(run)["review"]
    assert review["conflict_kinds"] == list(settings.CONFLICT_KINDS) and review["min_m2"] == settings.REVIEW_MIN_M2
    assert review["boundary_kinds"] == list(settings.BOUNDARY_KINDS) and review["prefix"] == settings.REVIEW_PREFIX
    assert review["proposal_land_class"] == settings.PROPOSAL_LAND_CLASS and review["area_proj4"] == AREA_PROJ4
    ours = Transformer.from_crs("EPSG:4326", AREA_PROJ4, always_xy=True)
    epsg = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    for lon, lat in [(113.75, 22.45), (114.2, 22.7), (114.65, 22.85)]:
        assert ours.transform(lon, lat) == pytest.approx(epsg.transform(lon, lat), abs=1e-6)
    assert map_data(run)["other_districts"]["count"] == 0
    longgang = map_data(run, district="440307")
    assert longgang["districts"]["columns"]["district"] == ["440307"]
    assert longgang["other_districts"]["columns"]["district"] == ["440309"]
    (geom,) = decode_geometries(longgang["other_districts"]["geometry"])
    second = run.districts.set_index("district").geometry["440309"]
    assert shapely.hausdorff_distance(shapely.geometry.shape(geom), second) < 1e-6
