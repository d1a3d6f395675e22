"""Local raster tiles embedded in a web map: an MBTiles file or a folder of ``z/x/y`` tiles.

Only the tiles covering the map's bounds are read, and only as many zoom levels as stay under a
size: the levels are added from the lowest useful one (the highest level at or below the zoom the
map opens at) upwards, one zoom at a time across every embedded basemap, until the next would pass
the limit; so the most detailed levels are the ones left out. The size counted is what the tiles
add to the page: base64 (4/3 of the files) and about 48 bytes a tile for its key.

Tiles are in Web Mercator (EPSG:3857), rows counted from the north as XYZ servers do; an MBTiles
file counts them from the south (TMS, as its specification says; a file whose metadata says
``scheme=xyz`` is read as XYZ), and so does a folder written by gdal2tiles without ``--xyz`` (it
has a ``tilemapresource.xml``).
"""

from __future__ import annotations

import base64
import math
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gis.errors import InputError, InputFileError

#: The map's highest zoom (js/main.js sets it): levels above it are never shown.
MAX_ZOOM = 19
#: The view the lowest useful zoom is reckoned for (a laptop screen's map, in pixels).
FIT_VIEW = (1024, 768)
#: Bytes a tile's key, quotes and data-URI prefix add in the page, at most.
TILE_OVERHEAD = 48
#: Image types by their first bytes (png, jpg, webp): the only ones a browser draws as tiles.
_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"RIFF", "image/webp"))
_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp"}

#: (south, west, north, east) in degrees.
Bounds = tuple[float, float, float, float]
#: A range of tiles at one zoom: (zoom, x0, x1, y0, y1), inclusive, rows from the north.
TileRange = tuple[int, int, int, int, int]


def tile_xy(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    """Return the fractional tile column and row (from the north) of a point at a zoom.

    Examples
    --------
    >>> tile_xy(0.0, 0.0, 1)
    (1.0, 1.0)
    >>> [int(v) for v in tile_xy(114.25, 22.65, 12)]
    [3347, 1783]
    """
    lat = max(min(lat, 85.0511287798), -85.0511287798)
    n = 2**zoom
    s = math.sin(math.radians(lat))
    return (lon + 180.0) / 360.0 * n, (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n


def tile_range(bounds: Bounds, zoom: int) -> TileRange:
    """Return the tiles covering ``bounds`` (south, west, north, east) at ``zoom``."""
    south, west, north, east = bounds
    x0, y0 = tile_xy(west, north, zoom)
    x1, y1 = tile_xy(east, south, zoom)
    last = 2**zoom - 1
    return zoom, max(0, int(x0)), min(last, int(x1)), max(0, int(y0)), min(last, int(y1))


def range_bounds(rng: TileRange) -> Bounds:
    """Return the (south, west, north, east) the tiles of a range cover."""
    zoom, x0, x1, y0, y1 = rng
    n = 2**zoom

    def lat(y: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))

    return lat(y1 + 1), x0 / n * 360.0 - 180.0, lat(y0), (x1 + 1) / n * 360.0 - 180.0


def fit_zoom(bounds: Bounds, view: tuple[int, int] = FIT_VIEW) -> int:
    """Return the highest zoom at which ``bounds`` fit in a view of ``view`` pixels (the zoom the map opens at).

    Examples
    --------
    >>> fit_zoom((22.6518, 114.2043, 22.6609, 114.2734))  # 7 km by 1 km
    14
    """
    south, west, north, east = bounds
    x0, y0 = tile_xy(west, north, 0)
    x1, y1 = tile_xy(east, south, 0)
    span = max((x1 - x0) * 256 / view[0], (y1 - y0) * 256 / view[1], 1e-12)
    return max(0, min(MAX_ZOOM, math.floor(-math.log2(span))))


def image_type(data: bytes) -> str | None:
    """Return the MIME type of a tile by its first bytes (png, jpeg, webp), or None for anything else."""
    for magic, mime in _MAGIC:
        if data.startswith(magic) and (mime != "image/webp" or data[8:12] == b"WEBP"):
            return mime
    return None


def page_bytes(file_bytes: int, count: int) -> int:
    """Return what ``count`` tiles of ``file_bytes`` bytes in all add to the page, at most."""
    return (file_bytes + 2 * count) * 4 // 3 + TILE_OVERHEAD * count


@dataclass(eq=False)
class TileSource:
    """A local set of raster tiles: its zoom levels, their sizes over a range, the tiles themselves."""

    path: Path
    name: str
    attribution: str = ""
    _sizes: dict[TileRange, tuple[int, int]] = field(default_factory=dict, repr=False)

    def zooms(self) -> list[int]:
        """Return the zoom levels that hold tiles, lowest first."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file (an MBTiles database)."""

    def sizes(self, rng: TileRange) -> tuple[int, int]:
        """Return the number of tiles in ``rng`` and what they add to the page (bytes)."""
        if rng not in self._sizes:
            self._sizes[rng] = self._sizes_of(rng)
        return self._sizes[rng]

    def _sizes_of(self, rng: TileRange) -> tuple[int, int]:
        raise NotImplementedError

    def read(self, rng: TileRange) -> Iterator[tuple[int, int, bytes]]:
        """Yield (x, y, bytes) of every tile in ``rng``, rows from the north."""
        raise NotImplementedError


class MBTiles(TileSource):
    """An MBTiles file (SQLite: ``metadata`` and ``tiles``), opened read-only."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"{path}: no such MBTiles file (mbtiles:FILE names an .mbtiles file).")
        self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            meta = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            self._db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            self._db.close()
            raise InputFileError(
                f"{path}: not an MBTiles file ({exc}): it needs the tables metadata and tiles."
            ) from exc
        fmt = str(meta.get("format", "")).lower()
        if fmt in ("pbf", "mvt"):
            self._db.close()
            raise InputError(
                f"{path}: holds vector tiles ({fmt}); only raster tiles (png, jpg, webp) can be drawn in the map."
            )
        super().__init__(path, str(meta.get("name") or path.stem), str(meta.get("attribution") or ""))
        self.tms = str(meta.get("scheme", "tms")).lower() != "xyz"

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def zooms(self) -> list[int]:
        """Return the zoom levels that hold tiles, lowest first."""
        rows = self._db.execute("SELECT DISTINCT zoom_level FROM tiles ORDER BY zoom_level").fetchall()
        return [int(z) for (z,) in rows]

    def _where(self, rng: TileRange) -> tuple[str, tuple[int, ...]]:
        zoom, x0, x1, y0, y1 = rng
        if self.tms:
            y0, y1 = 2**zoom - 1 - y1, 2**zoom - 1 - y0
        sql = "zoom_level = ? AND tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?"
        return sql, (zoom, x0, x1, y0, y1)

    def _sizes_of(self, rng: TileRange) -> tuple[int, int]:
        where, args = self._where(rng)
        count, total = self._db.execute(
            f"SELECT count(*), sum(length(tile_data)) FROM tiles WHERE {where}", args
        ).fetchone()
        return int(count), page_bytes(int(total or 0), int(count))

    def read(self, rng: TileRange) -> Iterator[tuple[int, int, bytes]]:
        """Yield (x, y, bytes) of every tile in ``rng``, rows from the north."""
        where, args = self._where(rng)
        for x, y, data in self._db.execute(f"SELECT tile_column, tile_row, tile_data FROM tiles WHERE {where}", args):
            yield int(x), (2 ** rng[0] - 1 - int(y)) if self.tms else int(y), bytes(data)


class TileFolder(TileSource):
    """A folder of tiles ``ZOOM/X/Y.png`` (or ``.jpg``, ``.jpeg``, ``.webp``); TMS rows when gdal2tiles wrote it."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        if not path.is_dir():
            raise InputFileError(f"{path}: no such folder (dir:FOLDER names a folder of ZOOM/X/Y.png tiles).")
        super().__init__(path, path.resolve().name)
        self.tms = (path / "tilemapresource.xml").is_file()

    def zooms(self) -> list[int]:
        """Return the zoom levels that hold tiles, lowest first (folders named by a number)."""
        return sorted(int(p.name) for p in self.path.iterdir() if p.name.isdigit() and p.is_dir())

    def _files(self, rng: TileRange) -> Iterator[tuple[int, int, os.DirEntry[str]]]:
        zoom, x0, x1, y0, y1 = rng
        level = self.path / str(zoom)
        for x in range(x0, x1 + 1):
            column = level / str(x)
            if not column.is_dir():
                continue
            with os.scandir(column) as entries:
                for entry in entries:
                    stem, ext = os.path.splitext(entry.name)
                    if ext.lower() not in _EXTENSIONS or not stem.isdigit():
                        continue
                    y = 2**zoom - 1 - int(stem) if self.tms else int(stem)
                    if y0 <= y <= y1 and entry.is_file():
                        yield x, y, entry

    def _sizes_of(self, rng: TileRange) -> tuple[int, int]:
        sizes = [entry.stat().st_size for _, _, entry in self._files(rng)]
        return len(sizes), page_bytes(sum(sizes), len(sizes))

    def read(self, rng: TileRange) -> Iterator[tuple[int, int, bytes]]:
        """Yield (x, y, bytes) of every tile in ``rng``, rows from the north."""
        for x, y, entry in self._files(rng):
            yield x, y, Path(entry.path).read_bytes()


@dataclass
class Levels:
    """The zoom levels of a source to embed, lowest first, with the tiles and bytes of each."""

    source: TileSource
    ranges: list[TileRange]
    counts: list[int]
    sizes: list[int]


def _useful(source: TileSource, bounds: Bounds) -> list[TileRange]:
    """Return the ranges of the levels worth embedding: from the highest at or below the opening zoom up."""
    opening = fit_zoom(bounds)
    ranges = [tile_range(bounds, z) for z in source.zooms() if z <= MAX_ZOOM]
    ranges = [r for r in ranges if source.sizes(r)[0]]
    if not ranges:
        raise InputError(
            f"{source.path}: no tile covers the map's area (south {bounds[0]:.4f}, west {bounds[1]:.4f}, north "
            f"{bounds[2]:.4f}, east {bounds[3]:.4f}) at any zoom up to {MAX_ZOOM}; tiles in Web Mercator, rows "
            "from the north (a folder) or from the south (MBTiles, or a folder with gdal2tiles' tilemapresource.xml)."
        )
    below = [i for i, r in enumerate(ranges) if r[0] <= opening]
    return ranges[below[-1] if below else 0 :]


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 10_000 else f"{size / 1e3:.1f} kB"


def choose_levels(sources: Sequence[TileSource], bounds: Bounds, max_bytes: int) -> list[Levels]:
    """Choose the levels of each source to embed so that together they stay under ``max_bytes``.

    Each starts with its lowest useful level; then levels are added one zoom at a time, lowest
    zoom first across the sources, while the total stays under the limit. When even the lowest
    useful levels pass it, :class:`~gis.errors.InputError` names the size of each and the flag.
    """
    useful = [_useful(s, bounds) for s in sources]
    chosen = [Levels(s, [u[0]], [s.sizes(u[0])[0]], [s.sizes(u[0])[1]]) for s, u in zip(sources, useful, strict=True)]
    total = sum(c.sizes[0] for c in chosen)
    if total > max_bytes:
        parts = "; ".join(
            f"{c.source.path.name} needs {_mb(c.sizes[0])} at zoom {c.ranges[0][0]} ({c.counts[0]} tiles)"
            for c in chosen
        )
        raise InputError(
            f"the embedded basemap tiles covering the map need more than {{p:basemap_max_mb}} {max_bytes / 1e6:g} MB "
            f"even at the lowest useful zoom (the map opens at zoom {fit_zoom(bounds)}): {parts}. Raise "
            f"{{p:basemap_max_mb}} to {math.ceil(total / 1e6 * 10) / 10:g} or more, or map a smaller area."
        )
    growing = [len(u) > 1 for u in useful]
    while any(growing):
        i = min((i for i, g in enumerate(growing) if g), key=lambda i: useful[i][len(chosen[i].ranges)][0])
        rng = useful[i][len(chosen[i].ranges)]
        count, size = sources[i].sizes(rng)
        if total + size > max_bytes:
            growing[i] = False
            continue
        total += size
        chosen[i].ranges.append(rng)
        chosen[i].counts.append(count)
        chosen[i].sizes.append(size)
        growing[i] = len(chosen[i].ranges) < len(useful[i])
    return chosen


def embed(levels: Levels) -> dict[str, str]:
    """Return the tiles of the chosen levels as ``"z/x/y"`` -> data URI; a file that is no image is refused by name."""
    tiles = {}
    for rng in levels.ranges:
        for x, y, data in levels.source.read(rng):
            mime = image_type(data)
            if mime is None:
                raise InputError(
                    f"{levels.source.path}: tile {rng[0]}/{x}/{y} is not a png, jpg or webp image "
                    f"(it begins {data[:8]!r}); only raster tiles can be drawn in the map."
                )
            tiles[f"{rng[0]}/{x}/{y}"] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return tiles
