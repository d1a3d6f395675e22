"""Local raster tiles: MBTiles (TMS rows) and folders read over the map's bounds, zoom levels chosen under a size.

The helpers make tiles of a colour that says which tile they are (:func:`tile_colour`), so a test
in Chromium can tell from one pixel that the right tile is drawn in the right place.
"""

from __future__ import annotations

import io
import random
import sqlite3
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

from gis.errors import InputError
from gis.render.tiles import (
    MBTiles,
    TileFolder,
    choose_levels,
    embed,
    fit_zoom,
    image_type,
    page_bytes,
    range_bounds,
    tile_range,
    tile_xy,
)

#: The bounds of the maps of tests/data/layers: (south, west, north, east).
TEST_BOUNDS = (22.6517713042, 114.2043125237, 22.6609044057, 114.2733898021)


def tile_colour(z: int, x: int, y: int, source: int = 0) -> tuple[int, int, int]:
    """A colour per tile (rows from the north) and source: neighbours and zoom levels differ."""
    return ((x * 67 + z * 31) % 160 + 40, (y * 89 + z * 17) % 160 + 40, (source * 97 + z * 13 + x + y) % 160 + 40)


@cache
def png(colour: tuple[int, int, int], noise: int = 0) -> bytes:
    """A 256 px PNG tile of one colour (``noise`` columns of random pixels: about 0.8 kB each in the file)."""
    image = Image.new("RGB", (256, 256), colour)
    if noise:
        image.paste(Image.frombytes("RGB", (noise, 256), random.Random(repr(colour)).randbytes(noise * 256 * 3)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def tiles_over(bounds, zooms, *, pad: int = 0):
    """Yield (z, x, y) of the tiles covering ``bounds`` at each zoom, ``pad`` tiles around them."""
    for z in zooms:
        _, x0, x1, y0, y1 = tile_range(bounds, z)
        for x in range(x0 - pad, x1 + pad + 1):
            for y in range(y0 - pad, y1 + pad + 1):
                yield z, x, y


def write_mbtiles(path: Path, zooms, *, bounds=TEST_BOUNDS, source: int = 0, noise: int = 0, meta=None) -> Path:
    """An MBTiles file (TMS rows, as the specification says) of coloured tiles over ``bounds``."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    meta = {"name": "测试底图 Test tiles", "format": "png"} | (meta or {})
    db.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
    rows = [
        (z, x, 2**z - 1 - y, png(tile_colour(z, x, y, source), noise)) for z, x, y in tiles_over(bounds, zooms, pad=1)
    ]
    db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    return path


def write_tile_folder(folder: Path, zooms, *, bounds=TEST_BOUNDS, source: int = 0, tms: bool = False) -> Path:
    """A folder ZOOM/X/Y.png of coloured tiles (rows from the south, with gdal2tiles' xml, when ``tms``)."""
    for z, x, y in tiles_over(bounds, zooms, pad=1):
        row = 2**z - 1 - y if tms else y
        (folder / str(z) / str(x)).mkdir(parents=True, exist_ok=True)
        (folder / str(z) / str(x) / f"{row}.png").write_bytes(png(tile_colour(z, x, y, source)))
    if tms:
        (folder / "tilemapresource.xml").write_text("<TileMap/>", encoding="utf-8")
    return folder


def test_tile_arithmetic():
    assert fit_zoom(TEST_BOUNDS) == 14  # 7 km in 1024 px
    _, x0, x1, y0, y1 = tile_range(TEST_BOUNDS, 14)
    assert (x1 - x0, y1 - y0) == (3, 1)  # 4 x 2 tiles
    south, west, north, east = range_bounds((14, x0, x1, y0, y1))
    assert south <= TEST_BOUNDS[0] and north >= TEST_BOUNDS[2] and west <= TEST_BOUNDS[1] and east >= TEST_BOUNDS[3]
    assert tile_xy(west, north, 14) == pytest.approx((x0, y0))


def test_image_types_by_their_first_bytes():
    assert image_type(png((1, 2, 3))) == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_type(b"\x1f\x8b\x08gzipped pbf") is None


def test_mbtiles_rows_are_turned_from_tms(tmp_path):
    source = MBTiles(write_mbtiles(tmp_path / "t.mbtiles", [13, 14]))
    try:
        assert source.name == "测试底图 Test tiles" and source.tms and source.zooms() == [13, 14]
        rng = tile_range(TEST_BOUNDS, 14)
        tiles = dict(((x, y), data) for x, y, data in source.read(rng))
        assert len(tiles) == source.sizes(rng)[0] == 8
        for (x, y), data in tiles.items():
            assert data == png(tile_colour(14, x, y))  # the tile of XYZ row y, stored at TMS row 2^z-1-y
    finally:
        source.close()


def test_levels_from_the_lowest_useful_up_to_the_limit(tmp_path):
    source = MBTiles(write_mbtiles(tmp_path / "t.mbtiles", range(10, 19)))
    try:
        every = choose_levels([source], TEST_BOUNDS, 10**9)[0]
        # from the highest level at or below the zoom the map opens at (14) to the source's highest
        assert [r[0] for r in every.ranges] == [14, 15, 16, 17, 18]
        sizes = [source.sizes(r)[1] for r in every.ranges]
        assert every.sizes == sizes and every.counts == [source.sizes(r)[0] for r in every.ranges]
        some = choose_levels([source], TEST_BOUNDS, sum(sizes[:3]) + 1)[0]
        assert [r[0] for r in some.ranges] == [14, 15, 16]  # the most detailed levels left out first
        tiles = embed(some)
        assert len(tiles) == sum(some.counts)
        assert all(uri.startswith("data:image/png;base64,") for uri in tiles.values())
        assert sum(len(k) + len(v) + 6 for k, v in tiles.items()) <= sum(some.sizes)  # the estimate is an upper bound
        with pytest.raises(InputError) as err:
            choose_levels([source], TEST_BOUNDS, sizes[0] - 1)
        message = str(err.value)
        assert "basemap_max_mb=" in message and "at zoom 14 (8 tiles)" in message and "t.mbtiles" in message
    finally:
        source.close()


def test_levels_across_two_sources_share_the_limit(tmp_path):
    a = MBTiles(write_mbtiles(tmp_path / "a.mbtiles", range(12, 17)))
    b = TileFolder(write_tile_folder(tmp_path / "b", range(14, 17), source=1))
    try:
        size = {(s, z): s.sizes(tile_range(TEST_BOUNDS, z))[1] for s in (a, b) for z in (14, 15, 16)}
        limit = size[a, 14] + size[b, 14] + size[a, 15] + size[b, 15]
        la, lb = choose_levels([a, b], TEST_BOUNDS, limit)
        assert [r[0] for r in la.ranges] == [14, 15] and [r[0] for r in lb.ranges] == [14, 15]
    finally:
        a.close()


def test_a_source_below_the_opening_zoom_and_sparse_levels(tmp_path):
    # only zooms 11 and 12: the map opens at 14, so the highest below it is where it starts
    source = TileFolder(write_tile_folder(tmp_path / "low", [11, 12]))
    assert [r[0] for r in choose_levels([source], TEST_BOUNDS, 10**9)[0].ranges] == [12]
    # a level with no tile over the map is skipped; no level at all is refused with the bounds
    far = (30.0, 100.0, 30.01, 100.01)
    source = TileFolder(write_tile_folder(tmp_path / "far", [14], bounds=far))
    with pytest.raises(InputError, match="no tile covers the map's area"):
        choose_levels([source], TEST_BOUNDS, 10**9)


def test_folder_rows_from_the_north_or_tms_with_gdal2tiles_xml(tmp_path):
    for tms in (False, True):
        source = TileFolder(write_tile_folder(tmp_path / f"f{tms}", [14], tms=tms))
        assert source.tms is tms and source.name == f"f{tms}"
        for x, y, data in source.read(tile_range(TEST_BOUNDS, 14)):
            assert data == png(tile_colour(14, x, y))


def test_bad_sources_are_refused_by_name(tmp_path):
    with pytest.raises(InputError, match="no such MBTiles file"):
        MBTiles(tmp_path / "missing.mbtiles")
    (tmp_path / "text.mbtiles").write_text("not sqlite", encoding="utf-8")
    with pytest.raises(InputError, match="not an MBTiles file"):
        MBTiles(tmp_path / "text.mbtiles")
    with pytest.raises(InputError, match="vector tiles"):
        MBTiles(write_mbtiles(tmp_path / "v.mbtiles", [14], meta={"format": "pbf"}))
    with pytest.raises(InputError, match="no such folder"):
        TileFolder(tmp_path / "nothing")
    folder = write_tile_folder(tmp_path / "bad", [14])
    _, x0, _, y0, _ = tile_range(TEST_BOUNDS, 14)
    (folder / "14" / str(x0) / f"{y0}.png").write_bytes(b"<html>404</html>")  # a server's error page saved as a tile
    source = TileFolder(folder)
    with pytest.raises(InputError, match="is not a png, jpg or webp image"):
        embed(choose_levels([source], TEST_BOUNDS, 10**9)[0])


def test_page_bytes_is_base64_and_a_key():
    assert page_bytes(3000, 1) == 4002 + 48
    assert page_bytes(0, 0) == 0
