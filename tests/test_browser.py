"""The web maps in a real headless Chromium with every network request blocked.

The maps are built from tests/data/layers (small, exact test data), but for one smoke test over
the shipped layers. A test waits for conditions on the page, never for a fixed time; screenshots
go to out/screenshots/ (ignored by git) or $GIS_SCREENSHOTS.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import shapely

from gis import style
from gis.pipeline import run_check, run_qa
from gis.raster import north_up
from gis.render.webmap import MAP_FILES, build_map, write_map, write_maps
from tests.conftest import DATA
from tests.data.make_data import feature, rect
from tests.test_webmap import HOSTILE, add_features, add_overlap, hostile_layers, write_parcel_grid

sync_api = pytest.importorskip("playwright.sync_api")
PlaywrightTimeout = sync_api.TimeoutError
REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("GIS_SCREENSHOTS", REPO / "out" / "screenshots"))


def chromium_path() -> str:
    path = os.environ.get("GIS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(
            "Chromium not found: install the Debian package chromium (scripts/test.sh does) or set GIS_CHROMIUM."
        )
    return path


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """The maps of tests/data/layers."""
    run = run_check(layers_dir=DATA / "layers")
    out = tmp_path_factory.mktemp("maps")
    write_maps(run, out)
    return out, run


@pytest.fixture(scope="module")
def shipped_maps(tmp_path_factory):
    """The maps of the shipped layers, as gis build writes them."""
    run = run_check(layers_dir=REPO / "layers")
    out = tmp_path_factory.mktemp("shipped_maps")
    write_maps(run, out)
    return out, run


class Page:
    """A page with the network blocked (but URLs starting with one of ``allow``), recording blocked and
    failed requests and console errors."""

    def __init__(self, browser, path: Path, *, allow: tuple[str, ...] = ()):
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []

        def route(r):
            if r.request.url.startswith(("file:", "data:", "blob:", *allow)):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.gis !== undefined")

    def js(self, expr, arg=None):
        return self.page.evaluate(expr, arg)

    def click_feature(self, geom):
        """Zoom to a feature and click a point inside it, once the overlays are hit-tested at the new view."""
        pt = geom.point_on_surface()
        minx, miny, maxx, maxy = geom.bounds
        self.js(
            "([b]) => { window.gis.map.fitBounds(b, {animate: false, maxZoom: 16}); }", [[[miny, minx], [maxy, maxx]]]
        )
        self.page.wait_for_function(
            "([lat, lng]) => { const m = window.gis.map, p = m.latLngToLayerPoint([lat, lng]);"
            " return Object.values(window.gis.overlays).some(o => o.hitsAt && o.hitsAt(p).length > 0); }",
            arg=[pt.y, pt.x],
        )
        xy = self.js(
            "([lat, lng]) => { const p = window.gis.map.latLngToContainerPoint([lat, lng]); const r = window.gis.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
            [pt.y, pt.x],
        )
        self.page.mouse.click(*xy)
        self.page.wait_for_selector(".leaflet-popup-content")
        return self.page.inner_text(".leaflet-popup-content")

    def click_parcel(self, geom):
        """Zoom to a land-use parcel and click inside it, once the land-use overlay is hit-tested at the new view."""
        pt = geom.point_on_surface()
        minx, miny, maxx, maxy = geom.bounds
        self.js(
            "([b]) => { window.gis.map.fitBounds(b, {animate: false, maxZoom: 18}); }", [[[miny, minx], [maxy, maxx]]]
        )
        self.page.wait_for_function(
            "([lat, lng]) => { const m = window.gis.map, o = window.gis.landuse;"
            " return o._px && o.hitsAt(m.latLngToLayerPoint([lat, lng])).length > 0; }",
            arg=[pt.y, pt.x],
        )
        xy = self.js(
            "([lat, lng]) => { const p = window.gis.map.latLngToContainerPoint([lat, lng]); const r = window.gis.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
            [pt.y, pt.x],
        )
        self.page.mouse.click(*xy)
        self.page.wait_for_selector(".leaflet-popup-content")
        return self.page.inner_text(".leaflet-popup-content")

    def click_until(self, xy, condition, *, deadline_s=10.0):
        """Click at xy until a JS condition holds, within a deadline.

        The draw tool ignores a click in the 50 ms after it placed a vertex (Leaflet.draw's
        _enableNewMarkers); an ignored click changes nothing, so clicking again is safe.
        """
        end = time.monotonic() + deadline_s
        while True:
            self.page.mouse.click(*xy)
            try:
                self.page.wait_for_function(condition, timeout=250)
                return
            except PlaywrightTimeout:
                if time.monotonic() > end:
                    raise

    def close(self):
        self.context.close()


@pytest.mark.parametrize("district", list(MAP_FILES))
def test_shipped_maps_load_offline_and_draw_every_feature(browser, shipped_maps, district):
    """The one browser test over the shipped layers: each map of gis build, as a user opens it."""
    out, run = shipped_maps
    page = Page(browser, out / MAP_FILES[district])
    try:
        expected = len(run.features) if district is None else int((run.features["district"] == district).sum())
        assert page.js("window.gis.drawnCount()") == expected
        assert page.blocked == [] and page.failed == [] and page.errors == []
        assert page.page.title().endswith(("Longgang, Longhua and Pingshan", "Longgang", "Longhua", "Pingshan"))
        # the controls are there: layers, legend, panel, search, measure, fullscreen, minimap, scale, draw, export
        for selector in (
            ".leaflet-control-layers",
            ".gis-legend",
            ".gis-panel",
            ".leaflet-control-search",
            ".leaflet-control-measure",
            ".leaflet-control-zoom-fullscreen",
            ".leaflet-control-minimap",
            ".leaflet-control-scale",
            ".leaflet-draw",
            ".gis-export",
        ):
            assert page.page.locator(selector).count() == 1, selector
        # links to the other maps
        assert page.page.locator(".gis-links a").count() == 4
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.page.screenshot(path=str(SCREENSHOTS / MAP_FILES[district].replace(".html", ".png")))
    finally:
        page.close()


def test_click_opens_popup_with_planned_and_measured(browser, maps):
    out, run = maps
    page = Page(browser, out / "index.html")
    try:
        feats = run.features.set_index("fid")
        reserve = feats.loc["TT-CZ-01-R"]
        text = page.click_feature(reserve.geometry)
        assert "测试收储用地" in text and "TT-CZ-01-R" in text and "Test zone: reserve" in text
        assert "measured\t4 ha (EPSG:4547)" in text and "⊂ TT-CZ-01-C" in text  # measured; the parent
        assert "TT-03" in text and "5 ha" in text and "-20" in text and "short" in text  # planned, Δ%, status
        assert "test · row 3" in text  # citation: source and place
        assert "inside its parent: 100 %" in text  # the consistency check, apart
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()


def test_layer_control_hides_and_shows_a_layer(browser, maps):
    out, run = maps
    page = Page(browser, out / "index.html")
    try:
        total = page.js("window.gis.drawnCount()")
        assert total == len(run.features)
        reserves = int((run.features["part"] == "reserve").sum())
        label = page.page.locator(".leaflet-control-layers-overlays label", has_text="Land reserve")
        label.locator("input").click()
        assert page.js("window.gis.drawnCount()") == total - reserves
        label.locator("input").click()
        assert page.js("window.gis.drawnCount()") == total
    finally:
        page.close()


def test_search_finds_a_park_by_chinese_name(browser, maps):
    out, _ = maps
    page = Page(browser, out / "index.html")
    try:
        page.page.fill(".leaflet-control-search input.search-input", "无目标")
        page.page.wait_for_selector(".search-tip")
        page.page.click(".search-tip")
        page.page.wait_for_selector(".leaflet-popup-content")
        text = page.page.inner_text(".leaflet-popup-content")
        assert "无目标公园" in text and "TT-PK-02" in text and "no figure" in text
    finally:
        page.close()


def test_draw_tool_exports_valid_geojson(browser, maps, tmp_path):
    out, _ = maps
    page = Page(browser, out / "longgang.html")
    try:
        box = page.page.locator("#" + page.js("window.gis.map.getContainer().id")).bounding_box()
        cx, cy = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45
        page.page.click(".leaflet-draw-draw-polygon")
        vertices = "n => document.querySelectorAll('.leaflet-marker-pane .leaflet-editing-icon').length === n"
        for n, (dx, dy) in enumerate([(0, 0), (120, 0), (120, 90), (0, 90)], start=1):
            page.click_until((cx + dx, cy + dy), f"({vertices})({n})")
        page.click_until((cx, cy), "window.gis.drawn.getLayers().length === 1")  # close the ring on the first vertex
        with page.page.expect_download() as dl:
            page.page.click(".gis-export a")
        path = tmp_path / "sketch.geojson"
        dl.value.save_as(path)
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["type"] == "FeatureCollection" and doc["frame"] == "WGS-84"
        geom = shapely.geometry.shape(doc["features"][0]["geometry"])
        assert geom.geom_type == "Polygon" and geom.is_valid and len(geom.exterior.coords) == 5
        assert 113.9 < geom.centroid.x < 114.7 and 22.4 < geom.centroid.y < 22.9
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()


def test_hostile_names_are_shown_as_text(browser, test_layers, tmp_path):
    run = run_check(layers_dir=hostile_layers(test_layers))
    write_maps(run, tmp_path)
    page = Page(browser, tmp_path / "index.html")
    try:
        park = run.features.set_index("fid").loc["TT-PK-01"]
        text = page.click_feature(park.geometry)
        assert HOSTILE in text  # shown literally in the popup
        # the tooltip and the search list show it as text too
        page.page.mouse.move(
            *page.js(
                "(() => { const c = document.querySelector('.leaflet-popup-close-button'); c.click(); return [0, 0]; })()"
            )
        )
        page.page.fill(".leaflet-control-search input.search-input", "公园")
        page.page.wait_for_selector(".search-tip")
        assert HOSTILE in page.page.inner_text(".search-tooltip")
        assert page.js("window.__xss === undefined")
        assert page.errors == []
    finally:
        page.close()


def test_small_feature_under_a_large_one_opens_first(browser, test_layers, tmp_path):
    # a consolidation zone over the stand-alone site TT-IL-02: the zone is drawn above the site
    zone = feature(
        "TT-CZ-02", "覆盖片区", "Zone over a site", "extent", None, "consolidation_zone", rect(7900, 900, 400, 300)
    )
    add_features(test_layers, "consolidation_zones", [zone])
    run = run_check(layers_dir=test_layers)
    write_maps(run, tmp_path)
    page = Page(browser, tmp_path / "index.html")
    try:
        site = run.features.set_index("fid").loc["TT-IL-02"]
        text = page.click_feature(site.geometry)
        assert text.splitlines()[0].startswith("独立项目用地") and "TT-IL-02" in text
        assert "Also here" in text and "覆盖片区 (TT-CZ-02)" in text
    finally:
        page.close()


def test_sketch_can_be_deleted_and_max_zoom(browser, maps):
    out, _ = maps
    page = Page(browser, out / "longgang.html")
    try:
        assert page.js("window.gis.map.getMaxZoom()") == 19
        box = page.page.locator("#" + page.js("window.gis.map.getContainer().id")).bounding_box()
        cx, cy = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
        page.page.click(".leaflet-draw-draw-rectangle")
        page.page.mouse.move(cx, cy)
        page.page.mouse.down()
        page.page.mouse.move(cx + 100, cy + 80, steps=5)
        page.page.mouse.up()
        assert page.js("window.gis.drawn.getLayers().length") == 1
        page.page.click(".leaflet-draw-edit-remove")
        page.page.mouse.click(cx + 50, cy + 40)
        page.page.click(".leaflet-draw-actions a[title='Save changes']")
        assert page.js("window.gis.drawn.getLayers().length") == 0
        assert page.errors == []
    finally:
        page.close()


def test_laptop_screen_keeps_controls_reachable(browser, maps):
    out, _ = maps
    page = Page(browser, out / "index.html")
    try:
        page.page.set_viewport_size({"width": 1366, "height": 768})
        page.page.reload()
        page.page.wait_for_function("window.gis !== undefined")
        b = page.page.locator(".gis-export a").bounding_box()
        top = page.js(
            f"document.elementFromPoint({b['x'] + b['width'] / 2}, {b['y'] + b['height'] / 2}).closest('.gis-export') !== null"
        )
        assert top, "the export button is covered"
    finally:
        page.close()


def test_amap_sketch_is_exported_in_wgs84(browser, tmp_path):
    from gis.crs import wgs84_from_gcj02

    path = tmp_path / "amap.html"
    write_map(build_map(run_check(layers_dir=DATA / "layers"), basemap="amap"), path)
    page = Page(browser, path)
    try:
        box = page.page.locator("#" + page.js("window.gis.map.getContainer().id")).bounding_box()
        cx, cy = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5
        page.page.click(".leaflet-draw-draw-rectangle")
        page.page.mouse.move(cx, cy)
        page.page.mouse.down()
        page.page.mouse.move(cx + 90, cy + 70, steps=5)
        page.page.mouse.up()
        shown = page.js("window.gis.drawn.getLayers()[0].getLatLngs()[0].map(ll => [ll.lng, ll.lat])")
        doc = page.js("window.gis.drawnGeoJSON()")
        assert doc["frame"] == "WGS-84" and doc["frame_shown"] == "GCJ-02"
        exported = doc["features"][0]["geometry"]["coordinates"][0]
        for (glon, glat), (lon, lat) in zip(shown, exported, strict=False):
            wlon, wlat = wgs84_from_gcj02(glon, glat)
            assert abs(wlon - lon) < 2e-7 and abs(wlat - lat) < 2e-7
    finally:
        page.close()


def test_raster_background_draws_offline(browser, tmp_path):
    import numpy as np
    import rasterio

    tif = tmp_path / "scan.tif"
    data = np.zeros((3, 100, 100), dtype="uint8")
    data[0, :, :50] = 200  # a red west half, a blue east half
    data[2, :, 50:] = 200
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        height=100,
        width=100,
        count=3,
        dtype="uint8",
        crs="EPSG:4547",
        transform=north_up(520000, 2515000, 50),
    ) as dst:
        dst.write(data)
    path = tmp_path / "bg.html"
    run = run_check(layers_dir=DATA / "layers")
    write_map(build_map(run, background=tif), path)
    page = Page(browser, path)
    try:
        img = page.page.locator("img.leaflet-image-layer")
        assert img.count() == 1 and img.get_attribute("src").startswith("data:image/png;base64,")
        assert page.js(
            "document.querySelector('img.leaflet-image-layer').complete && document.querySelector('img.leaflet-image-layer').naturalWidth > 0"
        )
        assert page.js("window.gis.drawnCount()") == len(run.features)  # the layers are drawn over it
        assert page.blocked == [] and page.failed == [] and page.errors == []
        assert page.page.locator(".leaflet-control-layers-overlays label", has_text="Background").count() == 1
    finally:
        page.close()


def test_qa_findings_are_shown_and_open_a_popup(browser, test_layers, tmp_path):
    add_overlap(test_layers)
    run = run_check(layers_dir=test_layers)
    run.qa = run_qa(test_layers)
    write_maps(run, tmp_path)
    page = Page(browser, tmp_path / "index.html")
    try:
        placed = [f for f in run.qa.findings if f.geometry is not None]
        assert placed and page.page.locator("path.gis-qa").count() == len(placed)
        assert page.page.locator(".leaflet-control-layers-overlays label", has_text="QA findings").count() == 1
        first = placed[0]
        page.js(
            "([lat, lng]) => window.gis.map.setView([lat, lng], 15, {animate: false})",
            [first.geometry.y, first.geometry.x]
            if first.geometry.geom_type == "Point"
            else [first.geometry.representative_point().y, first.geometry.representative_point().x],
        )
        page.page.locator("path.gis-qa").first.click()
        text = page.page.inner_text(".leaflet-popup-content")
        assert first.check in text and first.fid in text and first.other_fid in text and "warning" in text
        assert "2,500 m²" in text  # the overlap's area
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()


#: RGB of the classes of the generated grid (tests.test_webmap.GRID_CODES) as the style defines them.
GRID_CLASS_COLORS = {
    k: style.LAND_CLASS_COLORS[k]
    for k in (
        "industrial",
        "logistics",
        "park_green",
        "residential",
        "commercial",
        "farmland",
        "forest",
        "unknown code",
    )
}


def test_landuse_overlay_draws_100k_parcels(browser, test_layers, tmp_path):
    """100,000 parcels of eight classes: the page loads offline without errors and paints every class colour.

    The load time and the page's size are printed (run with -s), never asserted: scripts/bench.py times them.
    """
    n = 100_000
    write_parcel_grid(test_layers, n)
    run = run_check(layers_dir=test_layers)
    path = tmp_path / "landuse.html"
    write_map(build_map(run), path)
    page = Page(browser, path)
    try:
        assert page.errors == [] and page.blocked == [] and page.failed == []
        timing = page.js(
            "() => ({ready: performance.getEntriesByName('gis:end')[0].startTime,"
            " layers: performance.getEntriesByName('gis:layers')[0].startTime})"
        )
        print(f"\n100k parcels: page {path.stat().st_size / 1e6:.1f} MB, gisMap done at {timing['ready']:.0f} ms")
        assert page.js("window.gis.landuse.drawn") > 0  # the opening view frames the thematic features
        page.js("() => { window.gis.map.fitBounds(window.gis.landuse.getBounds(), {animate: false}); }")
        page.page.wait_for_function(f"window.gis.landuse.drawn === {n}")  # every parcel, once in view
        assert page.js("window.gis.drawnCount()") == len(run.features)  # the thematic features are all there too
        # the land-use canvas holds each class's colour (a solid block of 50 columns each)
        found = page.js(
            """(colors) => {
              const c = document.querySelector('.leaflet-gisLandUse-pane canvas');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, out = {};
              for (const [k, hex] of Object.entries(colors)) {
                const r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
                let n = 0;
                for (let i = 0; i < d.length; i += 4) {
                  if (d[i + 3] > 100 && Math.abs(d[i] - r) <= 3 && Math.abs(d[i + 1] - g) <= 3 && Math.abs(d[i + 2] - b) <= 3) n++;
                }
                out[k] = n;
              }
              return out;
            }""",
            GRID_CLASS_COLORS,
        )
        assert all(v > 50 for v in found.values()), found
        legend = page.page.inner_text(".gis-legend")
        assert "工业用地 Industrial" in legend and "未知代码 Unknown code" in legend
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.page.screenshot(path=str(SCREENSHOTS / "landuse-100k.png"))
        # a parcel's popup: id, code, name, class and area
        text = page.click_parcel(run.landuse.parcels.to_crs("EPSG:4326").geometry.iloc[110])
        assert "LU000110" in text and "1401" in text and "公园绿地" in text and "绿地与开敞空间用地" in text
        assert "0.04 ha" in text
        # the layer control hides the overlay
        page.page.locator(".leaflet-control-layers-overlays label", has_text="Land use").locator("input").click()
        assert not page.js("window.gis.map.hasLayer(window.gis.landuse)")
    finally:
        page.close()
