"""The web map's sketch review panel in a real headless Chromium with every network request blocked.

A polygon is drawn with the mouse (clicks at the pixel positions of known points of tests/data) and
the panel's figures are compared with figures computed here, independently, with shapely and pyproj
from the vertices the page recorded and the layers' own geometry: area within 0.01 ha, overlaps
within 0.05 ha (the page keeps outlines to 1e-6 degree). Then the proposal, the naming and the
export; the same over Amap tiles (GCJ-02); a page with control lines showing a conflict.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer

from gis import settings
from gis.cli import cli
from gis.crs import gcj02_from_wgs84, wgs84_from_gcj02
from gis.evaluate import compare
from gis.pipeline import run_check
from gis.render.webmap import build_map, write_map
from tests.conftest import DATA
from tests.test_browser import SCREENSHOTS, Page, browser  # noqa: F401  (the module's Chromium, as test_browser.py starts it)
from tests.test_landuse import LAND_TARGETS, add_targets, write_landuse

X0, Y0 = 520_000.0, 2_505_000.0  # tests/data/make_data.py: the test district's south-west corner (EPSG:4547)
TO_LONLAT = Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True)
TO_4547 = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
#: A pentagon over the zone TT-CZ-01 (its consolidation scope) and the renewal unit TT-RU-01 (m from X0, Y0).
PENTAGON = [(1500, 800), (3200, 800), (3200, 1300), (2400, 1600), (1500, 1300)]


def lonlats(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [TO_LONLAT.transform(X0 + x, Y0 + y) for x, y in points]


def draw_polygon(page: Page, ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Draw a polygon with the mouse through points (lon, lat in the page's frame); return its vertices as drawn.

    The view is fitted so the polygon lies clear of the title bar, the tools, the district panel
    (left) and the layer list and review panel (right).
    """
    lons, lats = zip(*ring, strict=True)
    page.js(
        "([b]) => window.gis.map.fitBounds(b, {animate: false, paddingTopLeft: [520, 120], paddingBottomRight: [540, 380]})",
        [[[min(lats), min(lons)], [max(lats), max(lons)]]],
    )
    before = page.js("window.gis.drawn.getLayers().length")
    xy = page.js(
        "(pts) => { const m = window.gis.map, r = m.getContainer().getBoundingClientRect();"
        " return pts.map(([lng, lat]) => { const p = m.latLngToContainerPoint([lat, lng]); return [p.x + r.left, p.y + r.top]; }); }",
        ring,
    )
    page.page.click(".leaflet-draw-draw-polygon")
    vertices = "n => document.querySelectorAll('.leaflet-marker-pane .leaflet-editing-icon').length === n"
    for n, point in enumerate(xy, start=1):  # generous deadlines: a busy 2-core machine is slow
        page.click_until(point, f"({vertices})({n})", deadline_s=30)
    page.click_until(xy[0], f"window.gis.drawn.getLayers().length === {before + 1}", deadline_s=30)  # close it
    page.page.wait_for_selector(".gis-review-area")
    return [
        tuple(c)
        for c in page.js("window.gis.drawn.getLayers().slice(-1)[0].getLatLngs()[0].map(ll => [ll.lng, ll.lat])")
    ]


def projected(ring: list[tuple[float, float]], *, gcj: bool = False) -> shapely.Polygon:
    """The drawn polygon in EPSG:4547, computed here (GCJ-02 moved back to WGS-84 first)."""
    wgs = [wgs84_from_gcj02(lon, lat) for lon, lat in ring] if gcj else ring
    return shapely.Polygon([TO_4547.transform(lon, lat) for lon, lat in wgs])


def panel(page: Page) -> dict:
    """The panel's figures, read from the DOM (data- attributes hold them at full precision)."""
    return page.js(
        """() => {
          const q = s => [...document.querySelectorAll(s)];
          return {
            area: +document.querySelector('.gis-review-area').dataset.ha,
            head: document.querySelector('.gis-review-head').textContent,
            districts: q('.gis-review-district').map(d => [d.dataset.code, +d.dataset.ha]),
            overlaps: Object.fromEntries(q('.gis-review-overlaps tr[data-fid]').map(r => [r.dataset.fid, +r.dataset.ha])),
            classes: Object.fromEntries(q('.gis-review-classes tr[data-class]').map(r => [r.dataset.class, +r.dataset.ha])),
            control: Object.fromEntries(q('.gis-review-control tr[data-kind]').map(r => [r.dataset.kind, r.dataset.ha || r.dataset.inside])),
            conflict: q('.gis-review-conflict').length > 0,
            totals: Object.fromEntries(q('.gis-review-totals tr[data-target]').map(r =>
              [r.dataset.target, {before: r.dataset.before === '' ? null : +r.dataset.before, after: r.dataset.after === '' ? null : +r.dataset.after, status: r.dataset.status}])),
            text: document.querySelector('.gis-review').innerText,
          };
        }"""
    )


def expected_overlaps(run, sketch: shapely.Polygon) -> dict[str, float]:
    feats = run.features.to_crs("EPSG:4547")
    out = {fid: sketch.intersection(g).area / 1e4 for fid, g in zip(feats["fid"], feats.geometry, strict=True)}
    return {fid: ha for fid, ha in out.items() if ha * 1e4 >= 1.0}


def union_overlap_ha(run, sketch: shapely.Polygon, layer: str, part: str | None, district: str) -> float:
    feats = run.features.to_crs("EPSG:4547")
    sel = (feats["layer"] == layer) & (feats["district"] == district) & ((feats["part"] == part) if part else True)
    return shapely.union_all(feats.geometry[sel].to_numpy()).intersection(sketch).area / 1e4


def status_of(run, tid: str, after: float) -> str:
    """The status gis check's own compare gives a total's value (tests/data/layers/targets.csv)."""
    from gis.evaluate import half_step_ha
    from gis.read import read_targets

    t = read_targets(Path(run.targets_path)).set_index("target_id").loc[tid]
    planned = float(t["value"]) * settings.AREA_UNITS_HA[t["unit"]]
    return compare(t["comparator"], planned, after, tolerance_pct=float(t["tolerance_pct"]), half_step=half_step_ha(t))


def gis_review(path: Path, layers: Path) -> dict:
    """``gis review FILE -f json`` on an exported sketch file: the CLI's review of its one sketch."""
    result = CliRunner().invoke(cli, ["review", str(path), "--layers", str(layers), "-f", "json"])
    assert result.exit_code in (0, 1), result.output  # 1: a conflict
    (sketch,) = json.loads(result.stdout)["sketches"]
    return sketch


def assert_same_review(got: dict, cli: dict) -> None:
    """The panel's figures and gis review's on the exported file: the same, within the page's precision."""
    assert got["area"] == pytest.approx(cli["area_ha"], abs=0.01)
    assert got["districts"][0][0] == cli["district"]
    assert got["overlaps"] == pytest.approx({o["fid"]: o["overlap_ha"] for o in cli["overlaps"]}, abs=0.05)
    for row in cli["targets"]:
        if row["target_id"] not in got["totals"]:  # a district map shows its district's totals: the others stay
            assert row["district"] != cli["district"], row["target_id"]
            assert row["effect"] == "unchanged" or row["effect"].startswith("not measured: "), row["target_id"]
            continue
        mine = got["totals"][row["target_id"]]
        assert mine["status"] == row["status_after"], row["target_id"]
        assert (mine["after"] is None) == (row["after_ha"] is None), row["target_id"]
        if row["after_ha"] is not None:
            assert mine["after"] == pytest.approx(row["after_ha"], abs=0.05), row["target_id"]
    assert set(got["totals"]) <= {row["target_id"] for row in cli["targets"]}


@pytest.fixture(scope="module")
def run():
    return run_check(layers_dir=DATA / "layers")


def test_panel_reviews_a_polygon_drawn_with_the_mouse(browser, run, test_layers, tmp_path):  # noqa: F811
    path = tmp_path / "index.html"
    write_map(build_map(run), path)
    page = Page(browser, path)
    try:
        assert page.page.locator(".gis-review").count() == 1  # made at load, folded, computing nothing
        # nothing projected or clipped yet: the review's libraries run on the first sketch
        assert page.js("typeof proj4 === 'undefined' && typeof polygonClipping === 'undefined'")
        assert page.js("!document.querySelector('.gis-review details').open")
        ring = draw_polygon(page, lonlats(PENTAGON))
        sketch = projected(ring)
        intended = shapely.Polygon([(X0 + x, Y0 + y) for x, y in PENTAGON])
        assert sketch.symmetric_difference(intended).area < 0.02 * intended.area  # drawn where meant (pixels)
        got = panel(page)
        assert got["area"] == pytest.approx(sketch.area / 1e4, abs=0.01)
        assert got["districts"][0][0] == "440307" and got["districts"][0][1] == pytest.approx(
            sketch.area / 1e4, abs=0.01
        )
        want = expected_overlaps(run, sketch)
        assert set(got["overlaps"]) == set(want) == {"TT-CZ-01", "TT-CZ-01-C", "TT-RU-01", "TT-RU-01-D"}
        for fid, ha in want.items():
            assert got["overlaps"][fid] == pytest.approx(ha, abs=0.05), fid
        assert "无土地利用图层 no land-use layer" in got["text"]
        assert "无控制线图层 no control-line layer: not reviewed" in got["text"]
        # the district totals, each counted as its own kind: TT-09 (consolidation scope, at least 30 ha)
        tt09 = 36 + sketch.area / 1e4 - union_overlap_ha(run, sketch, "consolidation_zones", "consolidation", "440307")
        assert got["totals"]["TT-09"]["before"] == 36 and got["totals"]["TT-09"]["after"] == pytest.approx(
            tt09, abs=0.05
        )
        assert got["totals"]["TT-09"]["status"] == status_of(run, "TT-09", tt09)
        assert got["totals"]["TT-10"] == {"before": None, "after": None, "status": "no polygon"}  # 440309: not moved
        tt14 = 4.4 + sketch.area / 1e4 - union_overlap_ha(run, sketch, "industrial_land", None, "440307")
        assert got["totals"]["TT-14"]["after"] == pytest.approx(tt14, abs=0.05)
        # proposed as industrial land: the industrial total moves, the consolidation total does not
        page.page.select_option(".gis-review select[name=proposed_as]", "industrial_land")
        page.page.wait_for_function(
            "document.querySelector('.gis-review-totals tr[data-target=\"TT-09\"]').dataset.after === '36'"
        )
        got = panel(page)
        assert got["totals"]["TT-14"]["after"] == pytest.approx(tt14, abs=0.05)
        assert got["totals"]["TT-14"]["status"] == status_of(run, "TT-14", tt14) == "met"
        assert "counted as industrial_land" in got["text"] and "unchanged" in got["text"]
        # named and exported: what the planner set, and the review's figures as flat properties
        page.page.fill(".gis-review input[name=fid]", "TT-SK-01")
        page.page.fill(".gis-review input[name=name_zh]", "草图一号")
        assert "TT-SK-01 草图一号" in page.page.inner_text(".gis-review-head")
        with page.page.expect_download() as dl:
            page.page.click(".gis-export a")
        out = tmp_path / "sketch.geojson"
        dl.value.save_as(out)
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert doc["frame"] == "WGS-84" and len(doc["features"]) == 1
        (feature,) = doc["features"]
        props = feature["properties"]
        assert (props["fid"], props["name_zh"], props["proposed_as"]) == ("TT-SK-01", "草图一号", "industrial_land")
        assert props["note"] == "sketched in the web map"
        assert props["review_area_ha"] == pytest.approx(sketch.area / 1e4, abs=0.01)
        assert (props["review_district"], props["review_district_name"]) == ("440307", "龙岗区")
        assert props["review_overlaps"].startswith("TT-CZ-01 测试整备片区 ")  # the largest overlap first
        assert (
            f"TT-14 4.4000 -> {got['totals']['TT-14']['after']:.4f} ha (within tolerance -> met)"
            in props["review_targets"]
        )
        assert props["review_classes"] == "" and props["review_conflicts"] == ""
        assert props["review_tool"].startswith("gis web map ") and props["reviewed"].endswith("Z")
        assert all(not isinstance(v, dict | list) for v in props.values())  # flat scalars
        exported = projected([tuple(c) for c in feature["geometry"]["coordinates"][0]])
        assert exported.area / 1e4 == pytest.approx(got["area"], abs=0.01)
        # gis review on the exported file (its proposed_as: industrial_land) gives the same figures
        cli_review = gis_review(out, DATA / "layers")
        assert cli_review["proposed_as"] == "industrial_land"
        assert_same_review(got, cli_review)
        # and gis import takes it as it is, into the layer it is proposed as (its review figures ignored)
        result = CliRunner().invoke(
            cli, ["import", str(out), "--layer", "industrial_land", "--layers", str(test_layers), "--dry-run"]
        )
        assert result.exit_code == 0, result.output
        assert "TT-SK-01" in result.output and "review" in result.output
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()


def test_panel_follows_a_vertex_dragged_while_editing(browser, run, tmp_path):  # noqa: F811
    path = tmp_path / "index.html"
    write_map(build_map(run), path)
    page = Page(browser, path)
    try:
        ring = draw_polygon(page, lonlats([(1500, 800), (2500, 800), (2500, 1300), (1500, 1300)]))
        first = panel(page)["area"]
        assert first == pytest.approx(projected(ring).area / 1e4, abs=0.01)
        page.page.click(".leaflet-draw-edit-edit")
        corner = page.js(
            "(() => { const m = window.gis.map, l = window.gis.drawn.getLayers()[0], ll = l.getLatLngs()[0][2],"
            " p = m.latLngToContainerPoint(ll), r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; })()"
        )
        page.page.mouse.move(*corner)
        page.page.mouse.down()
        page.page.mouse.move(corner[0] + 60, corner[1] - 40, steps=6)
        page.page.mouse.up()
        # recomputed while editing, before the edit is saved
        page.page.wait_for_function(f"+document.querySelector('.gis-review-area').dataset.ha > {first + 1}")
        moved = [
            tuple(c) for c in page.js("window.gis.drawn.getLayers()[0].getLatLngs()[0].map(ll => [ll.lng, ll.lat])")
        ]
        assert panel(page)["area"] == pytest.approx(projected(moved).area / 1e4, abs=0.01)
        page.page.click(".leaflet-draw-actions a[title='Save changes']")
        assert panel(page)["area"] == pytest.approx(projected(moved).area / 1e4, abs=0.01)
        assert page.errors == []
    finally:
        page.close()


def test_panel_over_amap_tiles_converts_the_sketch_from_gcj02(browser, run, tmp_path):  # noqa: F811
    """Over Amap tiles the page is GCJ-02: the sketch is moved back to WGS-84 before it is projected."""
    amap, wgs = tmp_path / "amap.html", tmp_path / "wgs.html"
    write_map(build_map(run, basemap="amap"), amap)
    write_map(build_map(run), wgs)
    page = Page(browser, amap)
    try:
        ring = draw_polygon(page, [gcj02_from_wgs84(lon, lat) for lon, lat in lonlats(PENTAGON)])
        sketch = projected(ring, gcj=True)
        got = panel(page)
        assert got["area"] == pytest.approx(sketch.area / 1e4, abs=0.01)
        want = expected_overlaps(run, sketch)  # 500 m off without the conversion: other overlaps
        assert set(got["overlaps"]) == set(want)
        for fid, ha in want.items():
            assert got["overlaps"][fid] == pytest.approx(ha, abs=0.05), fid
        doc = page.js("window.gis.drawnGeoJSON()")
        assert doc["frame"] == "WGS-84" and doc["frame_shown"] == "GCJ-02"
        exported = [tuple(c) for c in doc["features"][0]["geometry"]["coordinates"][0]]
        assert doc["features"][0]["properties"]["review_area_ha"] == pytest.approx(got["area"], abs=1e-4)
    finally:
        page.close()
    # the same outline (as exported, WGS-84) on the WGS-84 map: the same area within 0.01 ha
    page = Page(browser, wgs)
    try:
        page.js(
            "(ring) => window.gis.map.fire(L.Draw.Event.CREATED, {layer: L.polygon(ring.map(c => [c[1], c[0]])), layerType: 'polygon'})",
            exported,
        )
        assert panel(page)["area"] == pytest.approx(got["area"], abs=0.01)
        assert panel(page)["overlaps"].keys() == got["overlaps"].keys()
    finally:
        page.close()


def control_lines_file(path: Path, kind: str, boxes: list[tuple[float, float, float, float]]) -> Path:
    """A GeoJSON of control lines (EPSG:4326) from boxes in m from X0, Y0."""
    gpd.GeoDataFrame(
        {"line_id": [f"{kind}-{i}" for i in range(len(boxes))]},
        geometry=[shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes],
        crs="EPSG:4547",
    ).to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def test_panel_shows_a_control_line_conflict(browser, test_layers, tmp_path):  # noqa: F811
    """Control lines imported with gis import: a red line under the sketch is a conflict; the block line inside/outside."""
    runner = CliRunner()
    for kind, boxes in {
        "eco_redline": [(2800, 700, 3300, 1000)],  # under the pentagon's south-east corner
        "block_line_1": [(1400, 700, 2000, 1400)],
        "retention_zone": [(1000, 1400, 1900, 2200)],  # under the pentagon's north-west side
    }.items():
        src = control_lines_file(tmp_path / f"{kind}.geojson", kind, boxes)
        result = runner.invoke(
            cli, ["import", str(src), "--layer", "control_lines", "--kind", kind, "--layers", str(test_layers)]
        )
        assert result.exit_code == 0, result.output
    write_landuse(test_layers)  # parcels from x 1000, y 1000: P1 (industrial) under the pentagon
    add_targets(test_layers, LAND_TARGETS[:5])  # land-use totals (classes, a code, inside/outside) and CL-01
    checked = run_check(layers_dir=test_layers)
    path = tmp_path / "control.html"
    write_map(build_map(checked, district="440307"), path)
    page = Page(browser, path)
    try:
        assert set(page.js("Object.keys(window.gis.controlLines)")) == {"eco_redline", "block_line_1", "retention_zone"}
        ring = draw_polygon(page, lonlats(PENTAGON))
        sketch = projected(ring)
        got = panel(page)
        lines = checked.control
        red = shapely.union_all(lines.geometry[lines["kind"] == "eco_redline"].to_numpy())
        block = shapely.union_all(lines.geometry[lines["kind"] == "block_line_1"].to_numpy())
        assert got["conflict"] and "冲突 CONFLICT" in got["text"]
        assert float(got["control"]["eco_redline"]) == pytest.approx(sketch.intersection(red).area / 1e4, abs=0.05)
        assert float(got["control"]["block_line"]) == pytest.approx(sketch.intersection(block).area / 1e4, abs=0.05)
        assert "图层无此类 none in the layer: not reviewed" in got["text"]  # no permanent farmland in the layer
        parcels = checked.landuse.parcels
        industrial = shapely.union_all(parcels.geometry[parcels["land_class"] == "industrial"].to_numpy())
        assert got["classes"]["industrial"] == pytest.approx(sketch.intersection(industrial).area / 1e4, abs=0.05)
        covered = shapely.union_all(parcels.geometry.to_numpy()).intersection(sketch).area
        assert got["classes"][""] == pytest.approx((sketch.area - covered) / 1e4, abs=0.05)  # no parcel
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.page.screenshot(path=str(SCREENSHOTS / "review-control-lines.png"))
        doc = page.js("window.gis.drawnGeoJSON()")
        props = doc["features"][0]["properties"]
        assert props["review_conflicts"].startswith("生态保护红线 ")
        assert props["review_classes"].startswith("industrial 工业用地 ")
        # gis review on the exported file: the same figures, conflict and land classes included
        out = tmp_path / "sketch.geojson"
        out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        cli_review = gis_review(out, test_layers)
        assert_same_review(got, cli_review)
        assert cli_review["conflict"] and got["conflict"]
        for c in cli_review["land"]["classes"]:
            assert got["classes"][c["class"]] == pytest.approx(c["ha"], abs=0.05), c["class"]
        assert got["classes"][""] == pytest.approx(cli_review["land"]["no_parcel_ha"], abs=0.05)
        # every rule, both sides; consolidation_zones alone is its extent: the consolidation scope's TT-09 stays
        for proposal in ("landuse:park_green", "parks", "consolidation_zones", "control_lines:retention_zone"):
            page.page.select_option(".gis-review select[name=proposed_as]", proposal)
            doc = page.js("window.gis.drawnGeoJSON()")
            out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            assert_same_review(panel(page), gis_review(out, test_layers))
        page.page.select_option(".gis-review select[name=proposed_as]", "consolidation_zones")
        assert panel(page)["totals"]["TT-09"]["after"] == 36
        labels = page.js(
            "[...document.querySelectorAll('.gis-review select[name=proposed_as] option')].map(o => [o.value, o.text])"
        )
        labels = dict(labels)
        assert labels["consolidation_zones"] == "consolidation_zones 土地整备片区（范围 extent）"
        assert labels["consolidation_zones"] != labels["consolidation_zones.consolidation"]
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()


def test_panel_lists_totals_it_cannot_measure(browser, test_layers, tmp_path):  # noqa: F811
    """No land-use or control-line layer (as shipped): their totals are listed, not measured, as gis review lists them."""
    with (test_layers / "targets.csv").open("a", encoding="utf-8") as f:
        f.write("LU-NM,aggregate,,industrial,440307,landuse,area,at_least,60,km2,10,2025,test,row,test\n")
        f.write("CL-NM,aggregate,,retention_zone,440307,control_lines,area,more_than,25,km2,10,2025,test,row,test\n")
    path = tmp_path / "index.html"
    write_map(build_map(run_check(layers_dir=test_layers)), path)
    page = Page(browser, path)
    try:
        draw_polygon(page, lonlats(PENTAGON))
        got = panel(page)
        assert got["totals"]["LU-NM"] == {"before": None, "after": None, "status": "no land-use layer"}
        assert got["totals"]["CL-NM"] == {"before": None, "after": None, "status": "no control-line layer"}
        assert "not measured: no land-use layer" in got["text"] and "not measured: no control-line layer" in got["text"]
        doc = page.js("window.gis.drawnGeoJSON()")
        assert "LU-NM not measured: no land-use layer" in doc["features"][0]["properties"]["review_targets"]
        out = tmp_path / "sketch.geojson"
        out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        cli_review = gis_review(out, test_layers)
        assert_same_review(got, cli_review)
        assert {t["target_id"]: t["effect"] for t in cli_review["targets"]}[
            "CL-NM"
        ] == "not measured: no control-line layer"
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()


def test_a_degenerate_outline_says_so_in_the_panel(browser, run, tmp_path):  # noqa: F811
    path = tmp_path / "index.html"
    write_map(build_map(run), path)
    page = Page(browser, path)
    try:
        line = lonlats([(1500, 800), (2500, 800), (3500, 800)])  # three vertices on one line: no area
        page.js(
            "(ring) => window.gis.map.fire(L.Draw.Event.CREATED, {layer: L.polygon(ring.map(c => [c[1], c[0]])), layerType: 'polygon'})",
            line,
        )
        assert "无法计算 cannot review this outline" in page.page.inner_text(".gis-review")
        props = page.js("window.gis.drawnGeoJSON()")["features"][0]["properties"]
        assert props["fid"] == "DRAWN-1" and props["review_error"]
        assert page.errors == [] and page.js("window.gis.drawnCount()") == len(run.features)  # the map goes on
    finally:
        page.close()


def test_panel_shows_hostile_names_as_text(browser, test_layers, tmp_path):  # noqa: F811
    """A feature's name and street holding markup show in the panel as text; the fid typed goes out as typed."""
    from tests.test_webmap import HOSTILE, hostile_layers

    path = tmp_path / "hostile.html"
    write_map(build_map(run_check(layers_dir=hostile_layers(test_layers))), path)
    page = Page(browser, path)
    try:
        draw_polygon(page, lonlats([(4950, 950), (5150, 950), (5150, 1150), (4950, 1150)]))  # over TT-PK-01
        page.page.fill(".gis-review input[name=fid]", HOSTILE)
        text = page.page.inner_text(".gis-review")
        assert "公园" + HOSTILE in text and f"{HOSTILE} (据重叠图斑 from overlapped feature TT-PK-01)" in text
        assert HOSTILE in page.page.inner_text(".gis-review-head")
        assert page.js("window.__xss === undefined") and page.errors == []
        assert page.js("window.gis.drawnGeoJSON()")["features"][0]["properties"]["fid"] == HOSTILE
    finally:
        page.close()


def test_page_projects_as_proj_does(browser, run, tmp_path):  # noqa: F811
    """proj4js in the page, with the document's EPSG:4547 string, gives PROJ's coordinates to a micrometre.

    Its tmerc is the exact (Poder/Engsager) algorithm unless +approx is given (lib/projections/etmerc.js
    of proj4js 2.22.0); within 0.7 degree of the central meridian both agree to nanometres anyway.
    """
    path = tmp_path / "index.html"
    write_map(build_map(run), path)
    page = Page(browser, path)
    try:
        points = [(113.75, 22.45), (114.0, 22.5), (114.2, 22.7), (114.65, 22.85), (114.5, 22.6)]
        got = page.js(
            "(pts) => { runReviewLibraries(); proj4.defs('TEST:4547', window.gis.data.review.area_proj4);"
            " const f = proj4('WGS84', 'TEST:4547').forward; return pts.map(p => f(p)); }",
            points,
        )
        for (lon, lat), (x, y) in zip(points, got, strict=True):
            assert (x, y) == pytest.approx(TO_4547.transform(lon, lat), abs=1e-6)
    finally:
        page.close()


def test_a_click_on_a_sketch_selects_it(browser, run, tmp_path):  # noqa: F811
    path = tmp_path / "index.html"
    write_map(build_map(run), path)
    page = Page(browser, path)
    try:
        drawn = draw_polygon(page, lonlats([(1500, 800), (2500, 800), (2500, 1300), (1500, 1300)]))  # about 50 ha
        page.js(  # a second sketch, 1 ha, added as the draw tool adds one: it is selected
            "(ring) => window.gis.map.fire(L.Draw.Event.CREATED, {layer: L.polygon(ring.map(c => [c[1], c[0]])), layerType: 'polygon'})",
            lonlats([(4000, 800), (4100, 800), (4100, 900), (4000, 900)]),
        )
        assert page.page.inner_text(".gis-review-head").startswith("DRAWN-2 · 1.0000 ha")
        xy = page.js(
            "(([lng, lat]) => { const m = window.gis.map, p = m.latLngToContainerPoint([lat, lng]),"
            " r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; })",
            TO_LONLAT.transform(X0 + 1700, Y0 + 1000),
        )
        page.page.mouse.click(*xy)
        page.page.wait_for_function("document.querySelector('.gis-review-head').textContent.startsWith('DRAWN-1')")
        assert panel(page)["area"] == pytest.approx(projected(drawn).area / 1e4, abs=0.01)
        assert page.page.locator(".leaflet-popup").count() == 0  # the click selected the sketch, nothing under it
        assert page.errors == []
    finally:
        page.close()


def test_an_outline_crossing_itself_cannot_be_drawn(browser, run, tmp_path):  # noqa: F811
    """The draw tool refuses a crossing edge (gis review and gis import would refuse the sketch): a bow-tie stays undrawn."""
    path = tmp_path / "index.html"
    write_map(build_map(run), path)
    page = Page(browser, path)
    try:
        bowtie = lonlats([(1500, 800), (3200, 1600), (3200, 800), (1500, 1600)])
        lons, lats = zip(*bowtie, strict=True)
        page.js(
            "([b]) => window.gis.map.fitBounds(b, {animate: false, paddingTopLeft: [520, 120], paddingBottomRight: [540, 380]})",
            [[[min(lats), min(lons)], [max(lats), max(lons)]]],
        )
        xy = page.js(
            "(pts) => { const m = window.gis.map, r = m.getContainer().getBoundingClientRect();"
            " return pts.map(([lng, lat]) => { const p = m.latLngToContainerPoint([lat, lng]); return [p.x + r.left, p.y + r.top]; }); }",
            bowtie,
        )
        page.page.click(".leaflet-draw-draw-polygon")
        vertices = "n => document.querySelectorAll('.leaflet-marker-pane .leaflet-editing-icon').length === n"
        for n, point in enumerate(xy[:3], start=1):
            page.click_until(point, f"({vertices})({n})", deadline_s=30)
        # its edge would cross the first: refused with Leaflet.draw's error, no fourth vertex
        page.click_until(xy[3], "document.querySelector('.leaflet-error-draw-tooltip') !== null", deadline_s=30)
        assert page.js(f"({vertices})(3)") and page.js("window.gis.drawn.getLayers().length") == 0
    finally:
        page.close()


def test_a_district_map_says_when_a_sketch_reaches_another_district(browser, run, tmp_path):  # noqa: F811
    """A district map holds its district's features only: the panel says overlaps beyond it are not listed."""
    path = tmp_path / "longgang.html"
    write_map(build_map(run, district="440307"), path)
    page = Page(browser, path)
    try:
        across = {"districts": [{"district": "440307", "ha": 60.0}, {"district": "440310", "ha": 40.0}]}
        note = page.js("(base) => otherDistrictNote(window.gis.data, base)", across)
        assert "this map holds 龙岗区 Longgang's features only; overlaps in 坪山区 Pingshan are not listed" in note
        assert (
            page.js("(base) => otherDistrictNote(window.gis.data, base)", {"districts": across["districts"][:1]}) == ""
        )
    finally:
        page.close()
    path = tmp_path / "index.html"  # the all-district map holds every district: no note
    write_map(build_map(run), path)
    page = Page(browser, path)
    try:
        assert page.js("(base) => otherDistrictNote(window.gis.data, base)", across) == ""
    finally:
        page.close()
