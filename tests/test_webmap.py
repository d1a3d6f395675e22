from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

import gis.render
from gis.cli import cli
from gis.crs import gcj02_from_wgs84
from gis.pipeline import run_check
from gis.render.mapdata import count_features, decode_geometries, decode_layer, encode_geometries, map_data
from gis.render.webmap import SCRIPTS, build_map, render_map

DATA_RE = re.compile(r'<script type="application/json" id="gis-data">(.*?)</script>', re.S)


def page_data(html: str) -> dict:
    return json.loads(DATA_RE.search(html).group(1))


JS = Path(gis.render.__file__).parent / "js"


def features_of(data: dict) -> list[dict]:
    return [f for layer in data["layers"] for f in decode_layer(layer, data["strings"])]


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
    from gis.render.mapdata import unpack_varints

    coords = unpack_varints(enc["coords"]).tolist()
    starts = {2 * r for r in enc["rings"][:-1]} | {2 * r + 1 for r in enc["rings"][:-1]}
    deltas = [v for i, v in enumerate(coords) if i not in starts]
    assert max(abs(v) for v in deltas) <= 10_000  # after each ring's first vertex: differences, not absolute values


@pytest.fixture(scope="module")
def shipped_run():
    return run_check()


def test_page_makes_no_request(shipped_run):
    html = render_map(build_map(shipped_run))
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html
    # no url() in the style sheets except inlined data
    for css in re.findall(r"<style>(.*?)</style>", html, re.S):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
            assert url.startswith(("data:", "#")), url


def test_data_once_and_lean(shipped_run):
    html = render_map(build_map(shipped_run))
    data = page_data(html)
    assert count_features(data) == len(shipped_run.features)
    fids = [f["properties"]["i"] for f in features_of(data)]
    assert len(fids) == len(set(fids)) == len(shipped_run.features)
    # each fid and each name is written once in the page (no second copy of the data)
    assert html.count('"LG-PK-02"') == 1 and html.count("雪竹径公园") == 1
    # coordinates are integers in micro-degrees: 6 decimals
    assert all(isinstance(layer["geom"]["coords"], str) for layer in data["layers"])
    # and they decode to the measured features within 1e-6 degree
    feats = {f["properties"]["i"]: f for f in features_of(data)}
    for fid, geom in zip(shipped_run.features["fid"], shipped_run.features.geometry, strict=True):
        assert shapely.hausdorff_distance(shapely.geometry.shape(feats[fid]["geometry"]), geom) < 1e-6


def test_popup_data_carry_targets_and_citations(shipped_run):
    data = map_data(shipped_run)
    feats = {f["properties"]["i"]: f["properties"] for f in features_of(data)}
    reserve = feats["LG-CZ-01-R"]
    rows = data["targets"]["LG-CZ-01-R"]
    ids = [t[0] for t in rows]
    assert "T-001-073" in ids  # the reserve's figure, given on the zone's fid with part reserve
    row = rows[ids.index("T-001-073")]
    assert row[3] == 23 and row[4] == pytest.approx(reserve["a"], abs=1e-3) and row[9] == "专栏4-8 第1项"
    assert reserve["st"] in ("met", "within tolerance", "short", "over")
    assert reserve["s"] == "横岗街道" and reserve["acc"] == "schematic"
    assert "LG-PK-02" not in data["targets"] and feats["LG-PK-02"]["st"] is None
    assert len(data["aggregates"]) == 14


def test_district_map_holds_only_its_district(shipped_run):
    data = map_data(shipped_run, district="440309")
    assert {f["properties"]["d"] for f in features_of(data)} == {"440309"}
    assert [a["id"] for a in data["aggregates"]] == ["T-002-001"]
    assert data["districts"]["cols"]["d"] == ["440309"]


def test_amap_basemap_moves_overlays_to_gcj02(shipped_run):
    wgs = map_data(shipped_run)
    gcj = page_data(render_map(build_map(shipped_run, basemap="amap")))
    assert gcj["meta"]["frame"] == "GCJ-02"
    a = shapely.geometry.shape(features_of(wgs)[0]["geometry"]).geoms[0]
    b = shapely.geometry.shape(features_of(gcj)[0]["geometry"]).geoms[0]
    x, y = a.exterior.coords[0]
    gx, gy = gcj02_from_wgs84(x, y)
    assert b.exterior.coords[0] == pytest.approx((float(gx), float(gy)), abs=2e-6)


def test_basemap_tiles_only_when_asked(shipped_run):
    assert "tile.openstreetmap.org" not in render_map(build_map(shipped_run))
    assert "tile.openstreetmap.org" in render_map(build_map(shipped_run, basemap="osm"))
    assert "tk=KEY123" in render_map(build_map(shipped_run, basemap="tianditu", tianditu_key="KEY123"))
    with pytest.raises(ValueError, match="needs a key"):
        build_map(shipped_run, basemap="tianditu")


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
    assert any(f["properties"]["n"] == "公园" + HOSTILE for f in features_of(data))


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
    assert layer["cols"]["i"] == ["TT-RZ-01"] and "retention_zone" in layer["style"]["title_en"]


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


def test_status_comes_from_plan_figures_only(shipped_run):
    data = map_data(shipped_run)
    feats = {f["properties"]["i"]: f["properties"] for f in features_of(data)}
    assert feats["PS-IL-01"]["st"] is None  # inside its parent, but the plans give it no figure
    assert feats["LG-CZ-01-R"]["st"] in ("met", "within tolerance", "short", "over")
    assert all(f["cf"] is None for f in feats.values())  # no derived check fails on the shipped layers


def test_map_options_basemap(shipped_run):
    assert '"basemap": "osm"' in render_map(build_map(shipped_run, basemap="osm"))


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
