"""Basemaps: what --basemap accepts, frames, names and credits, gis map and gis build, and the maps in Chromium.

In Chromium: tiles from a tile server on 127.0.0.1 (XYZ, TMS rows, WMTS; every other host blocked)
and tiles embedded from an MBTiles file or a folder (the network blocked), each checked by the
colour of the pixel at the centre of a known tile (:func:`tests.test_tiles.tile_colour`).
"""

from __future__ import annotations

import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from PIL import Image

from gis.cli import cli
from gis.crs import gcj02_from_wgs84
from gis.errors import InputError
from gis.pipeline import run_check
from gis.render.basemaps import page_basemaps, parse_basemap, parse_basemaps, split_basemaps
from gis.render.tiles import range_bounds, tile_range
from gis.render.webmap import build_map, render_map, write_map
from tests.conftest import DATA
from tests.test_browser import Page, browser  # noqa: F401  (the fixture)
from tests.test_tiles import TEST_BOUNDS, png, tile_colour, tiles_over, write_mbtiles, write_tile_folder
from tests.test_webmap import page_data

OPTIONS_RE = re.compile(r"getElementById\(\"gis-data\"\)\.textContent\), (\{.*\})\);")


def page_options(html: str) -> dict:
    return json.loads(OPTIONS_RE.search(html).group(1))


@pytest.fixture(scope="module")
def run():
    return run_check(layers_dir=DATA / "layers")


# --- what --basemap accepts ---------------------------------------------------------------------------


def test_named_and_server_basemaps():
    assert parse_basemap("none") is None
    osm = parse_basemap("OSM")
    assert (osm.kind, osm.name, osm.frame, osm.url) == (
        "named",
        "OpenStreetMap",
        "WGS-84",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    )
    assert parse_basemap("amap").frame == "GCJ-02"
    assert "tk=K" in parse_basemap("tianditu", tianditu_key="K").url
    with pytest.raises(InputError, match="needs a key"):
        parse_basemap("tianditu")
    xyz = parse_basemap("https://{s}.tiles.lg.gov/{z}/{x}/{-y}.png")
    assert (xyz.kind, xyz.name, xyz.attribution, xyz.subdomains) == (
        "xyz",
        "tiles.lg.gov",
        "底图 Tiles: .tiles.lg.gov",
        "abc",
    )
    wmts = parse_basemap("wmts:http://t0.tianditu.gov.cn/img_w/wmts?tk=K", name="影像 Imagery", attribution="© 天地图")
    assert (wmts.kind, wmts.name, wmts.attribution, wmts.frame) == ("wmts", "影像 Imagery", "© 天地图", "WGS-84")
    with pytest.raises(InputError, match="not a basemap name"):
        parse_basemap("openstreetmap")


def test_frames_prefix_flag_and_one_frame_per_page():
    assert parse_basemap("gcj02:https://t.lg.gov/{z}/{x}/{y}.png").frame == "GCJ-02"
    assert parse_basemap("GCJ02:wmts:https://t.lg.gov/wmts?layer=a").frame == "GCJ-02"
    assert parse_basemap("https://t.lg.gov/{z}/{x}/{y}.png", frame="gcj02").frame == "GCJ-02"
    assert parse_basemap("wgs84:https://t.lg.gov/{z}/{x}/{y}.png", frame="gcj02").frame == "WGS-84"  # its own wins
    with pytest.raises(InputError, match="unknown frame 'bd09'"):
        parse_basemap("https://t.lg.gov/{z}/{x}/{y}.png", frame="bd09")
    with pytest.raises(InputError, match="OpenStreetMap has its own frame, WGS-84: drop the gcj02: prefix"):
        parse_basemap("gcj02:osm")
    assert parse_basemap("gcj02:amap").frame == parse_basemap("wgs84:osm").frame.replace("WGS-84", "GCJ-02")
    with pytest.raises(InputError, match="own frame"):
        parse_basemaps(["osm"], frames=["gcj02"])
    with pytest.raises(InputError, match=re.escape("different frames: 高德 Amap (GCJ-02), t.lg.gov (WGS-84)")):
        parse_basemaps(["amap", "https://t.lg.gov/{z}/{x}/{y}.png"])
    both = parse_basemaps(["amap", "https://t.lg.gov/{z}/{x}/{y}.png"], frames=["gcj02"])  # once: all but the named
    assert [b.frame for b in both] == ["GCJ-02", "GCJ-02"]


def test_options_once_or_once_per_basemap():
    urls = ["https://a.lg.gov/{z}/{x}/{y}.png", "osm", "https://{s}.b.lg.gov/{z}/{x}/{y}.png"]
    once = parse_basemaps(urls, attributions=["© 龙岗区规划和自然资源局"], subdomains=["123"])
    assert [b.attribution for b in once] == [
        "© 龙岗区规划和自然资源局",
        "© OpenStreetMap contributors",
        "© 龙岗区规划和自然资源局",
    ]
    assert [b.subdomains for b in once] == ["", "", "123"]  # only where there is an {s}
    each = parse_basemaps(urls, names=["甲 A", "", "乙 B"])
    assert [b.name for b in each] == ["甲 A", "OpenStreetMap", "乙 B"]
    with pytest.raises(InputError, match="given 2 times for 3 basemaps"):
        parse_basemaps(urls, names=["a", "b"])
    same = parse_basemaps(["https://a.lg.gov/{z}/{x}/{y}.png", "https://a.lg.gov/{z}/{x}/{y}.jpg"])
    assert [b.name for b in same] == ["a.lg.gov", "a.lg.gov 2"]  # unique in the layer control
    assert parse_basemaps(["none"]) == [] and parse_basemaps(["none", "osm"])[0].name == "OpenStreetMap"
    assert split_basemaps("osm|\n mbtiles:a b.mbtiles |dir:tiles\n") == ["osm", "mbtiles:a b.mbtiles", "dir:tiles"]


def test_local_tiles_name_and_credit(tmp_path):
    meta = {"attribution": '<a href="https://lg.gov">&copy; 龙岗区</a> <b>2024</b>'}
    mb = parse_basemap(f"mbtiles:{write_mbtiles(tmp_path / 'office.mbtiles', [14], meta=meta)}")
    assert (mb.kind, mb.name, mb.attribution) == ("mbtiles", "测试底图 Test tiles", "© 龙岗区 2024")  # tags dropped
    folder = parse_basemap(f"dir:{write_tile_folder(tmp_path / 'ortho2024', [14])}")
    assert (folder.kind, folder.name, folder.attribution) == ("dir", "ortho2024", "底图 Tiles: ortho2024")
    with pytest.raises(InputError, match="no such MBTiles file"):
        parse_basemap(f"mbtiles:{tmp_path / 'nope.mbtiles'}")
    with pytest.raises(InputError, match="needs a path"):
        parse_basemap("dir:")


def test_page_carries_basemaps_and_escapes_their_text(run, tmp_path):
    hostile = "</script><script>window.__x=1</script><b>"
    basemaps = parse_basemaps(
        ["https://t.lg.gov/{z}/{x}/{y}.png?a=</script>", f"mbtiles:{write_mbtiles(tmp_path / 't.mbtiles', [14, 15])}"],
        names=[hostile, ""],
        attributions=[hostile, ""],
    )
    html = render_map(build_map(run, basemap=basemaps))
    assert "</script><script>window.__x=1" not in html  # the options cannot end their script
    options = page_options(html)
    server, embedded = options["basemaps"]
    assert server["name"] == hostile  # escaped by the page's script (esc) where it shows it
    assert server["attribution"] == "&lt;/script&gt;&lt;script&gt;window.__x=1&lt;/script&gt;&lt;b&gt;"
    assert server["url"].endswith("?a=</script>") and options["basemap"] == "xyz"
    # the tiles of the file the page needs: over the districts it draws, which hold the features and more
    minx, miny, maxx, maxy = run.districts.total_bounds
    page = (min(miny, TEST_BOUNDS[0]), min(minx, TEST_BOUNDS[1]), max(maxy, TEST_BOUNDS[2]), max(maxx, TEST_BOUNDS[3]))
    assert page != TEST_BOUNDS  # the district reaches beyond the features
    wanted = {(z, x, y) for z in (14, 15) for x, y in _tiles_in(tile_range(page, z))}
    count = len(wanted & set(tiles_over(TEST_BOUNDS, [14, 15], pad=1)))
    assert (embedded["embedded"], embedded["min_zoom"], embedded["max_zoom"], embedded["tiles"]) == (
        "gis-basemap-1",
        14,
        15,
        count,
    )
    tiles = json.loads(re.search(r'<script type="application/json" id="gis-basemap-1">(.*?)</script>', html).group(1))
    assert len(tiles) == count and all(v.startswith("data:image/png;base64,") for v in tiles.values())


def test_embedded_tiles_follow_the_pages_frame(run, tmp_path):
    basemaps = parse_basemaps([f"gcj02:dir:{write_tile_folder(tmp_path / 'g', [15])}"])
    data = page_data(render_map(build_map(run, basemap=basemaps)))
    assert data["meta"]["frame"] == "GCJ-02"
    (south, west), (north, east) = data["meta"]["bounds"]
    assert west > TEST_BOUNDS[1] + 0.004  # moved east by the GCJ-02 offset: the tiles embedded cover these bounds
    options, _ = page_basemaps(basemaps, (south, west, north, east))
    assert options[0]["tiles"] == len(_tiles_in(tile_range((south, west, north, east), 15)))


def _tiles_in(rng):
    _, x0, x1, y0, y1 = rng
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


# --- gis map and gis build ----------------------------------------------------------------------------


def test_gis_map_refuses_tiles_above_the_size_and_writes_nothing(test_layers, tmp_path):
    tiles = write_mbtiles(tmp_path / "big.mbtiles", [13, 14, 15], noise=64)
    out = tmp_path / "m.html"
    args = ["map", "--layers", str(test_layers), "-o", str(out), "--basemap", f"mbtiles:{tiles}"]
    result = CliRunner().invoke(cli, [*args, "--basemap-max-mb", "0.05"])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert line.startswith("error: the embedded basemap tiles covering the map need more than --basemap-max-mb 0.05 MB")
    assert re.search(
        r"big\.mbtiles needs 0\.5\d MB at zoom 13 \(8 tiles\)\. Raise --basemap-max-mb to 0\.6 or more", line
    )
    assert not out.exists()
    result = CliRunner().invoke(cli, [*args, "--basemap-max-mb", "2"])
    assert result.exit_code == 0, result.output
    option = page_options(out.read_text(encoding="utf-8"))["basemaps"][0]
    # the page covers its 20 km district (opening at zoom 12): 13 and 14 fit in 2 MB, 15 (the most detailed) is dropped
    assert (option["min_zoom"], option["max_zoom"]) == (13, 14)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--basemap", "ftp://t.lg.gov/{z}/{x}/{y}.png"], "error: --basemap 'ftp://t.lg.gov/{z}/{x}/{y}.png': not a"),
        (["--basemap", "https://t.lg.gov/{z}/{x}.png"], "lacks {y}"),
        (["--basemap", "wmts:https://t.lg.gov/wmts"], "the WMTS layer is missing: wmts:URL?layer=NAME"),
        (["--basemap", "amap", "--basemap", "osm"], "different frames"),
        (["--basemap", "osm", "--basemap-name", "a", "--basemap-name", "b"], "--basemap-name is given 2 times"),
        (["--basemap", "https://t.lg.gov/{z}/{x}/{y}.png", "--basemap-frame", "bd09"], "--basemap-frame is wgs84"),
        (["--basemap", "mbtiles:nothing.mbtiles"], "no such MBTiles file"),
        (["--basemap", "https://t.lg.gov/{z}/{x}/{y}.png", "--basemap-subdomains", "abc"], "no {s}"),
    ],
)
def test_gis_map_explains_a_bad_basemap(test_layers, tmp_path, args, message):
    out = tmp_path / "m.html"
    result = CliRunner().invoke(cli, ["map", "--layers", str(test_layers), "-o", str(out), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()


def test_gis_build_takes_the_basemaps_from_gis_basemap(test_layers, tmp_path):
    folder = write_tile_folder(tmp_path / "ortho", [14])
    env = {"GIS_BASEMAP": f"gcj02:dir:{folder} | gcj02:https://t{{s}}.lg.gov/{{z}}/{{x}}/{{y}}.png"}
    args = [
        "build",
        "--layers",
        str(test_layers),
        "--out-dir",
        str(tmp_path / "out"),
        "--maps-dir",
        str(tmp_path / "maps"),
    ]
    result = CliRunner().invoke(cli, [*args, "--basemap-subdomains", "12"], env=env)
    assert result.exit_code == 0, result.output
    for name in ("index.html", "longgang.html"):
        html = (tmp_path / "maps" / name).read_text(encoding="utf-8")
        options = page_options(html)
        assert [(b["name"], b["kind"]) for b in options["basemaps"]] == [("ortho", "dir"), ("lg.gov", "xyz")]
        assert options["basemaps"][1]["subdomains"] == "12" and page_data(html)["meta"]["frame"] == "GCJ-02"
    # --basemap wins over the variable
    result = CliRunner().invoke(cli, [*args, "--basemap", "osm"], env=env)
    assert result.exit_code == 0, result.output
    assert page_options((tmp_path / "maps" / "index.html").read_text(encoding="utf-8"))["basemap"] == "osm"


# --- in Chromium ------------------------------------------------------------------------------------


class TileHandler(BaseHTTPRequestHandler):
    """Coloured PNG tiles: /xyz/Z/X/Y.png (source 1), /tms/Z/X/Y.png (rows from the south, source 2) and a
    WMTS GetTile in KVP form, /wmts?... (source 3); every request is recorded."""

    requests: ClassVar[list[str]] = []

    def do_GET(self):
        self.requests.append(self.path)
        parts = urlsplit(self.path)
        found = re.fullmatch(r"/(xyz|tms)/(\d+)/(\d+)/(\d+)\.png", parts.path)
        if found:
            kind, z, x, y = found[1], int(found[2]), int(found[3]), int(found[4])
            tile = (z, x, 2**z - 1 - y, 2) if kind == "tms" else (z, x, y, 1)
        elif parts.path == "/wmts":
            q = {k.upper(): v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            assert (q["SERVICE"], q["REQUEST"], q["LAYER"], q["TILEMATRIXSET"]) == (
                "WMTS",
                "GetTile",
                "base",
                "GoogleMapsCompatible",
            )
            tile = (int(q["TILEMATRIX"]), int(q["TILECOL"]), int(q["TILEROW"]), 3)
        else:
            self.send_error(404)
            return
        body = png(tile_colour(*tile))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def tile_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), TileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


#: A tile inside the test layers' bounds, and the zoom the tests look at.
ZOOM = 15


def look_at_tile(page: Page, zoom: int = ZOOM) -> tuple[int, int]:
    """Hide everything but the tiles, centre the map on a tile at ``zoom``, wait for the tiles; return (x, y) of the tile."""
    _, x0, _, y0, _ = tile_range(TEST_BOUNDS, zoom)
    south, west, north, east = range_bounds((zoom, x0 + 1, x0 + 1, y0, y0))
    page.js(
        "([lat, lng, z]) => { document.querySelectorAll('.leaflet-pane:not(.leaflet-map-pane):not(.leaflet-tile-pane),"
        " .leaflet-control-container').forEach(e => { e.style.display = 'none'; });"
        " window.gis.map.setView([lat, lng], z, {animate: false}); }",
        [(south + north) / 2, (west + east) / 2, zoom],
    )
    page.page.wait_for_function(
        "() => { const shown = window.gis.basemaps.filter(l => window.gis.map.hasLayer(l));"
        " return shown.length === 1 && !shown[0].isLoading() && Array.from(shown[0].getContainer().querySelectorAll("
        " 'img')).every(i => i.complete && i.naturalWidth > 0 && getComputedStyle(i).opacity === '1'); }"
    )
    return x0 + 1, y0


def centre_colour(page: Page) -> tuple[int, int, int]:
    """The colour of the pixel at the centre of the map, from a screenshot."""
    box = page.page.locator("#" + page.js("window.gis.map.getContainer().id")).bounding_box()
    shot = Image.open(io.BytesIO(page.page.screenshot())).convert("RGB")
    return shot.getpixel((int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2)))


def test_tiles_from_a_local_xyz_server_are_drawn(browser, run, tile_server, tmp_path):  # noqa: F811
    path = tmp_path / "xyz.html"
    write_map(build_map(run, basemap=f"{tile_server}/xyz/{{z}}/{{x}}/{{y}}.png"), path)
    TileHandler.requests.clear()
    page = Page(browser, path, allow=(tile_server + "/",))
    try:
        x, y = look_at_tile(page)
        assert f"/xyz/{ZOOM}/{x}/{y}.png" in TileHandler.requests
        assert page.js("document.querySelectorAll('.leaflet-tile-loaded').length") > 0
        assert centre_colour(page) == tile_colour(ZOOM, x, y, 1)
        assert page.blocked == [] and page.failed == [] and page.errors == []
    finally:
        page.close()


@pytest.mark.parametrize("kind", ["mbtiles", "dir"])
def test_embedded_tiles_draw_with_the_network_blocked(browser, run, tmp_path, kind):  # noqa: F811
    source = (
        write_mbtiles(tmp_path / "t.mbtiles", range(12, 17))
        if kind == "mbtiles"
        else write_tile_folder(tmp_path / "tiles", range(12, 17))
    )
    path = tmp_path / f"{kind}.html"
    write_map(build_map(run, basemap=f"{kind}:{source}"), path)
    page = Page(browser, path)
    try:
        assert page.js("window.gis.drawnCount()") == len(run.features)  # the layers drawn over the tiles
        x, y = look_at_tile(page)
        assert centre_colour(page) == tile_colour(ZOOM, x, y)
        x, y = look_at_tile(page, 16)  # the next level, embedded too
        assert centre_colour(page) == tile_colour(16, x, y)
        assert page.blocked == [] and page.failed == [] and page.errors == []  # no request at all
    finally:
        page.close()


def test_several_basemaps_switch_in_the_layer_control(browser, run, tile_server, tmp_path):  # noqa: F811
    basemaps = parse_basemaps(
        [
            f"{tile_server}/xyz/{{z}}/{{x}}/{{y}}.png",
            f"{tile_server}/tms/{{z}}/{{x}}/{{-y}}.png",
            f"wmts:{tile_server}/wmts?layer=base",
            f"mbtiles:{write_mbtiles(tmp_path / 't.mbtiles', [14, 15, 16], source=4)}",
        ],
        names=["街道 Streets", "TMS", "WMTS", ""],
    )
    path = tmp_path / "several.html"
    write_map(build_map(run, basemap=basemaps), path)
    page = Page(browser, path, allow=(tile_server + "/",))
    try:
        labels = page.page.locator(".leaflet-control-layers-base label")
        names = ["街道 Streets", "TMS", "WMTS", "测试底图 Test tiles", "无底图 No tiles"]
        assert [t.strip() for t in labels.all_inner_texts()] == names
        assert page.page.locator(".leaflet-control-layers-base input:checked + span").inner_text().strip() == names[0]
        for i, source in enumerate((1, 2, 3, 4)):
            labels.nth(i).click()
            x, y = look_at_tile(page)
            assert centre_colour(page) == tile_colour(ZOOM, x, y, source), names[i]
            page.js("document.querySelector('.leaflet-control-container').style.display = ''")
        assert page.blocked == [] and page.failed == [] and page.errors == []
    finally:
        page.close()


def vertex_pixel(page: Page, fid: str) -> tuple[float, float]:
    """Where the first vertex of a feature is drawn, in the map's pixels, at one fixed view."""
    page.js("() => window.gis.map.setView([22.656, 114.24], 15, {animate: false})")
    return tuple(
        page.js(
            "(fid) => { const h = window.gis.byId[fid], p = h.overlay._px[h.index][0];"
            " const c = window.gis.map.layerPointToContainerPoint([p[0], p[1]]); return [c.x, c.y]; }",
            fid,
        )
    )


def test_a_gcj02_basemap_moves_the_overlays_as_amap_does(browser, run, tile_server, tmp_path):  # noqa: F811
    fid = run.features["fid"].iloc[0]
    pixels = {}
    for name, basemap in (
        ("wgs84", f"{tile_server}/xyz/{{z}}/{{x}}/{{y}}.png"),
        ("gcj02", f"gcj02:{tile_server}/xyz/{{z}}/{{x}}/{{y}}.png"),
        ("amap", "amap"),
    ):
        path = tmp_path / f"{name}.html"
        write_map(build_map(run, basemap=basemap), path)
        page = Page(browser, path, allow=(tile_server + "/",))
        try:
            pixels[name] = vertex_pixel(page, fid)
            if name == "wgs84":
                lng, lat = page.js(
                    "([x, y]) => { const l = window.gis.map.containerPointToLatLng([x, y]); return [l.lng, l.lat]; }",
                    list(pixels[name]),
                )
                glng, glat = gcj02_from_wgs84(lng, lat)
                expected = page.js(
                    "([lat, lng]) => { const p = window.gis.map.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }",
                    [float(glat), float(glng)],
                )
            assert page.errors == [] or name == "amap"  # Amap's tiles are blocked: their loads fail
        finally:
            page.close()
    assert pixels["gcj02"] == pytest.approx(pixels["amap"], abs=0.01)  # moved exactly as for Amap
    assert pixels["gcj02"] == pytest.approx(expected, abs=1.0)  # by the GCJ-02 offset at that place
    assert abs(pixels["gcj02"][0] - pixels["wgs84"][0]) > 50  # about 500 m east at zoom 15: ~ 110 px


def test_an_mbtiles_attribution_drops_its_script_text(tmp_path):
    tiles = write_mbtiles(
        tmp_path / "a.mbtiles", [14], meta={"attribution": "<b>© 测试局</b><script>alert(1)</script> &amp; 测绘院"}
    )
    [basemap] = parse_basemaps([f"mbtiles:{tiles}"])
    assert basemap.attribution == "© 测试局 & 测绘院"
