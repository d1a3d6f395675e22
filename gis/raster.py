"""Raster outputs and inputs: a land-use GeoTIFF, zonal statistics, and raster backgrounds.

Classes are the layer parts of :mod:`gis.style`, coded 1, 2, ... in its drawing order (parts
of other names follow); 0 is nodata. Where polygons of different classes overlap, the class
later in that order wins: parts over their extents (a land reserve over its consolidation
scope over its zone), renewal units over consolidation zones over parks over industrial land.
"""

from __future__ import annotations

import base64
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.enums import ColorInterp, Resampling
from rasterio.features import rasterize
from rasterio.io import MemoryFile
from rasterio.warp import calculate_default_transform, transform_bounds

from gis import __version__, style
from gis._atomic import check_output, write_bytes_atomic
from gis.crs import AREA_CRS, gcj02_from_wgs84, wgs84_from_gcj02
from gis.errors import InputError, InputFileError
from gis.io.vector import not_a_file

log = logging.getLogger(__name__)

NODATA = 0


@dataclass(frozen=True)
class LandUseClass:
    """One class of the land-use raster."""

    code: int
    layer: str
    part: str
    name_zh: str
    name_en: str
    color: str


def land_use_classes(features: gpd.GeoDataFrame) -> list[LandUseClass]:
    """Return the classes, in priority order (later wins), for the parts that occur in ``features``."""
    present = list(dict.fromkeys(zip(features["layer"], features["part"], strict=True)))
    pairs = [p for p in style.STYLES if p in present] + sorted(p for p in present if p not in style.STYLES)
    out = []
    for i, (layer, part) in enumerate(pairs, start=1):
        st = style.style_for(layer, part)
        suffix = "" if (layer, part) in style.STYLES else f" ({part})"
        out.append(LandUseClass(i, layer, part, st.title_zh + suffix, st.title_en + suffix, st.fill_color))
    return out


def north_up(west: float, north: float, size: float) -> rasterio.Affine:
    """Return the transform of a north-up grid of square pixels.

    As rasterio's ``from_origin``, without the deprecated Affine ``*`` it still uses.
    """
    return rasterio.Affine(size, 0.0, west, 0.0, -size, north)


def _grid(geoms: gpd.GeoSeries, resolution: float) -> tuple[rasterio.Affine, int, int]:
    minx, miny, maxx, maxy = geoms.total_bounds
    x0, y1 = np.floor(minx / resolution) * resolution, np.ceil(maxy / resolution) * resolution
    width = int(np.ceil((maxx - x0) / resolution))
    height = int(np.ceil((y1 - miny) / resolution))
    return north_up(x0, y1, resolution), width, height


def rasterize_land_use(
    features: gpd.GeoDataFrame, *, resolution: float = 10.0, crs: str = AREA_CRS
) -> tuple[np.ndarray, rasterio.Affine, list[LandUseClass]]:
    """Burn the features into a class grid (uint8), a pixel's class decided at its centre."""
    if not np.isfinite(resolution) or resolution <= 0:
        raise InputError(f"{{p:resolution}} {resolution} must be a positive number of metres.")
    projected = features.to_crs(crs)
    classes = land_use_classes(projected)
    transform, width, height = _grid(projected.geometry, resolution)
    if width * height > 400_000_000:
        raise InputError(f"a {width} x {height} grid at {resolution} is too large; choose a coarser {{p:resolution}}.")
    code = {(c.layer, c.part): c.code for c in classes}
    order = sorted(range(len(projected)), key=lambda i: code[(projected["layer"].iloc[i], projected["part"].iloc[i])])
    shapes = [
        (projected.geometry.iloc[i], code[(projected["layer"].iloc[i], projected["part"].iloc[i])]) for i in order
    ]
    grid = rasterize(shapes, out_shape=(height, width), transform=transform, fill=NODATA, dtype="uint8")
    return grid, transform, classes


def class_areas(
    features: gpd.GeoDataFrame,
    grid: np.ndarray,
    transform: rasterio.Affine,
    classes: list[LandUseClass],
    *,
    crs: str = AREA_CRS,
) -> pd.DataFrame:
    """Compare each class's pixel area with its polygons' area (less what higher classes cover), in hectares."""
    projected = features.to_crs(crs)
    pixel_ha = abs(transform.a * transform.e) / 10_000.0 if crs == AREA_CRS else float("nan")
    rows = []
    above = shapely.GeometryCollection()
    for c in reversed(classes):  # highest priority first
        geoms = projected[(projected["layer"] == c.layer) & (projected["part"] == c.part)].geometry
        own = shapely.union_all(geoms.to_numpy())
        visible = own.difference(above)
        above = shapely.union(above, own)
        pixels = int((grid == c.code).sum())
        polygon_ha = visible.area / 10_000.0 if crs == AREA_CRS else float("nan")
        raster_ha = pixels * pixel_ha
        rows.append(
            {
                "code": c.code,
                "layer": c.layer,
                "part": c.part,
                "name_zh": c.name_zh,
                "pixels": pixels,
                "raster_ha": raster_ha,
                "polygon_ha": polygon_ha,
                "delta_pct": (raster_ha - polygon_ha) / polygon_ha * 100.0 if polygon_ha else float("nan"),
            }
        )
    return pd.DataFrame(rows[::-1])


def write_land_use(
    path: Path, grid: np.ndarray, transform: rasterio.Affine, classes: list[LandUseClass], *, crs: str, overwrite: bool
) -> None:
    """Write a tiled, compressed, categorical GeoTIFF with a colour table, class names and overviews."""
    path = Path(path)
    check_output(path, overwrite=overwrite)
    profile = {
        "driver": "GTiff",
        "height": grid.shape[0],
        "width": grid.shape[1],
        "count": 1,
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    colormap = {NODATA: (0, 0, 0, 0)}
    for c in classes:
        h = c.color.lstrip("#")
        colormap[c.code] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    # GDAL writes into memory, Python writes the file: GDAL's GeoTIFF driver only logs a failed
    # write (a full disk), which would leave a cut file; Python raises, and nothing is replaced.
    with MemoryFile() as mem:
        _write_land_use(mem, grid, profile, colormap, classes)
        data = mem.read()
    write_bytes_atomic(path, data)


def _write_land_use(
    mem: MemoryFile,
    grid: np.ndarray,
    profile: dict,
    colormap: Mapping[int, tuple[int, ...]],
    classes: list[LandUseClass],
) -> None:
    with mem.open(**profile) as dst:
        dst.write(grid, 1)
        levels = [f for f in (2, 4, 8, 16) if min(grid.shape) // f >= 1]
        if levels:  # before the palette: GDAL warns otherwise
            dst.build_overviews(levels, Resampling.mode)
        dst.update_tags(ns="rio_overview", resampling="mode")
        dst.write_colormap(1, colormap)
        dst.colorinterp = [ColorInterp.palette]
        dst.set_band_description(1, "land-use class (gis); 0 = none")
        dst.update_tags(
            TOOLKIT=f"gis {__version__}",
            CLASSES="; ".join(f"{c.code}={c.layer}.{c.part}" for c in classes),
            PRIORITY="where classes overlap, the higher code wins",
            ACCURACY="schematic: the polygons are hand-digitized from plan text",
            **{f"CLASS_{c.code}": f"{c.layer}.{c.part} {c.name_zh} {c.name_en}" for c in classes},
        )


def _open_raster(path: Path) -> rasterio.DatasetReader:
    path = Path(path)
    kind = not_a_file(path)
    if kind is not None:
        raise InputFileError(f"{path}: is {kind}, not a regular file (raster). Pass the path of a GeoTIFF.")
    if not path.is_file():
        raise InputFileError(f"{path}: no such raster. Check the path.")
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(f"{path}: cannot be read as a raster ({exc}).") from exc


def is_categorical(src: rasterio.DatasetReader) -> bool:
    """Tell whether a raster holds classes: a single integer band with a colour table (land cover, land use)."""
    if src.count != 1 or not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
        return False
    try:
        src.colormap(1)
        return True
    except ValueError:
        return False


def zonal_statistics(
    raster: Path, features: gpd.GeoDataFrame, *, categorical: bool | None = None, band: int = 1
) -> pd.DataFrame:
    """Statistics of one band of a raster per feature; partial pixels on edges weighted by the share they cover.

    Uses exactextract (exact pixel coverage). For a continuous raster: mean, min, max and the
    covered pixel count; for a categorical one (integer classes) each class's share of the feature,
    with the class names a land-use GeoTIFF of this toolkit carries. The features are moved to the
    raster's CRS first, so rasters in any CRS are handled.
    """
    from exactextract import exact_extract
    from exactextract.raster import RasterioRasterSource

    with _open_raster(raster) as src:
        if src.crs is None:
            raise InputError(f"{raster}: the raster has no CRS. Assign one (gdal_edit.py -a_srs EPSG:N) first.")
        if not 1 <= band <= src.count:
            raise InputError(f"{raster}: has {src.count} band(s); {{p:band}} {band} is not one of them.")
        is_int = np.issubdtype(np.dtype(src.dtypes[band - 1]), np.integer)
        categorical = (is_categorical(src) and band == 1) if categorical is None else categorical
        if categorical and not is_int:
            raise InputError(
                f"{raster}: band {band} holds {src.dtypes[band - 1]} values, not classes; drop {{p:categorical=True}}."
            )
        names = {int(k[6:]): v for k, v in src.tags().items() if k.startswith("CLASS_") and k[6:].isdigit()}
        nodata = src.nodata
        moved = features.to_crs(src.crs)[["fid", "layer", "name_zh", "geometry"]].reset_index(drop=True)
        ops = ["count"] + (["unique", "frac"] if categorical else ["mean", "min", "max"])
        table = exact_extract(
            RasterioRasterSource(src, band), moved, ops, include_cols=["fid", "layer", "name_zh"], output="pandas"
        )
    table = table.rename(columns={"count": "pixels"})
    if len(table) and not (table["pixels"] > 0).any():
        raise InputError(
            f"{raster}: covers none of the {len(table)} features (or only nodata there). "
            "Check the raster's CRS and extent (gdalinfo)."
        )
    if categorical:
        shares = []
        for values, fracs in zip(table["unique"], table["frac"], strict=True):
            pairs = sorted(
                ((int(v), float(f)) for v, f in zip(values, fracs, strict=True) if v != nodata), key=lambda p: -p[1]
            )
            shares.append(
                "; ".join(f"{v} {names.get(v, '').split(' ')[0]}: {f * 100:.1f} %".replace(" :", ":") for v, f in pairs)
            )
        table["class_shares"] = shares
        table = table.drop(columns=["unique", "frac"])
    return table


def background_png(raster: Path, *, max_size: int = 2048, frame: str = "WGS-84") -> tuple[str, list[list[float]]]:
    """Reproject a local GeoTIFF to Web Mercator; return it as a PNG data URI with its lat/lon bounds.

    Transparent where the raster has no data (its nodata value, NaN, alpha band or mask) and outside
    it. With ``frame="GCJ-02"`` (Amap tiles) every pixel is moved by the GCJ-02 offset at its own
    position, as the layers are.
    """
    with _open_raster(raster) as src:
        if src.crs is None:
            raise InputError(f"{raster}: the raster has no CRS; a background must be georeferenced.")
        dst_crs = "EPSG:3857"
        transform, width, height = calculate_default_transform(src.crs, dst_crs, src.width, src.height, *src.bounds)
        scale = max(width, height) / max_size
        if scale > 1:
            transform = transform @ rasterio.Affine.scale(scale, scale)
            width, height = int(width / scale), int(height / scale)
        west, south, east, north = transform_bounds(
            dst_crs, "EPSG:4326", *rasterio.transform.array_bounds(height, width, transform)
        )
        if frame == "GCJ-02":
            (gw, ge), (gs, gn) = gcj02_from_wgs84([west, east], [south, north])
            west, east, south, north = float(gw), float(ge), float(gs), float(gn)
            transform = _mercator_transform(west, south, east, north, width, height)
        rgba = _sample_rgba(src, transform, width, height, frame=frame, crs=dst_crs)
    with warnings.catch_warnings():  # a plain picture: no geotransform by design
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile() as mem, mem.open(driver="PNG", width=width, height=height, count=4, dtype="uint8") as png:
            png.write(rgba)
            png.close()
            data_uri = "data:image/png;base64," + base64.b64encode(mem.read()).decode("ascii")
    return data_uri, [[south, west], [north, east]]


def background_rgba(
    raster: Path, *, crs: str, bounds: tuple[float, float, float, float], width: int, height: int
) -> np.ndarray:
    """Return a local GeoTIFF resampled onto a north-up grid of ``crs`` over ``bounds`` (west, south, east, north).

    RGBA, shape (4, height, width), uint8; transparent where the raster has no data and outside it.
    Nearest pixel, so a scan or a class grid keeps its values; colours as :func:`background_png`.
    """
    with _open_raster(raster) as src:
        if src.crs is None:
            raise InputError(f"{raster}: the raster has no CRS; a background must be georeferenced.")
        transform = rasterio.transform.from_bounds(*bounds, width, height)
        return _sample_rgba(src, transform, width, height, frame="WGS-84", crs=crs)


def _sample_rgba(
    src: rasterio.DatasetReader, transform: rasterio.Affine, width: int, height: int, *, frame: str, crs: str
) -> np.ndarray:
    """RGBA of the source pixel nearest each output pixel's centre (output grid ``transform`` in ``crs``)."""
    colormap = None
    if src.count == 1:
        try:
            colormap = src.colormap(1)
        except ValueError:
            colormap = None
    bands = [1] if colormap or src.count < 3 else [1, 2, 3]
    rows, cols = _source_pixels(src, transform, width, height, frame, crs=crs)
    inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
    r, c = np.clip(rows, 0, src.height - 1), np.clip(cols, 0, src.width - 1)
    data = np.stack([src.read(b)[r, c] for b in bands])  # nearest pixel: a scan or a class grid keeps its values
    valid = inside & (src.dataset_mask()[r, c] > 0)
    if np.issubdtype(data.dtype, np.floating):
        valid &= np.all(np.isfinite(data), axis=0)
    return _to_rgba(data, colormap, valid)


def _mercator_transform(
    west: float, south: float, east: float, north: float, width: int, height: int
) -> rasterio.Affine:
    (x0, x1), (y0, y1) = _to_mercator([west, east], [south, north])
    return rasterio.Affine((x1 - x0) / width, 0.0, x0, 0.0, -(y1 - y0) / height, y1)


def _to_mercator(lon: list[float], lat: list[float]) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)  # type: ignore[no-any-return]


def _source_pixels(
    src: rasterio.DatasetReader,
    transform: rasterio.Affine,
    width: int,
    height: int,
    frame: str,
    *,
    crs: str = "EPSG:3857",
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column in the source raster of each output pixel's centre (nearest-neighbour warp; output in ``crs``)."""
    from pyproj import Transformer

    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    x = transform.c + cols * transform.a
    y = transform.f + rows * transform.e
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    if frame == "GCJ-02":  # the output shows GCJ-02: the source point is where GCJ-02 maps it back
        lon, lat = wgs84_from_gcj02(lon, lat)
    sx, sy = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True).transform(lon, lat)
    inverse = ~src.transform
    scol = inverse.a * sx + inverse.b * sy + inverse.c
    srow = inverse.d * sx + inverse.e * sy + inverse.f
    return np.floor(srow).astype(np.int64), np.floor(scol).astype(np.int64)


def _to_rgba(data: np.ndarray, colormap: dict[int, tuple[int, ...]] | None, valid: np.ndarray) -> np.ndarray:
    bands, height, width = data.shape
    rgba = np.zeros((4, height, width), dtype=np.uint8)
    if colormap is not None:
        lut = np.zeros((256, 4), dtype=np.uint8)
        for value, color in colormap.items():
            if 0 <= value < 256:
                lut[value] = color[:4] if len(color) >= 4 else (*color[:3], 255)
        rgba = np.moveaxis(lut[np.clip(data[0], 0, 255).astype(np.uint8)], -1, 0)
    elif bands >= 3:
        rgba[:3] = [_stretch(data[i], valid) for i in range(3)]
        rgba[3] = 255
    else:
        gray = _stretch(data[0], valid)
        rgba[:3] = gray
        rgba[3] = 255
    rgba[3][~valid] = 0
    return rgba


def _stretch(band: np.ndarray, valid: np.ndarray) -> np.ndarray:
    values = band[valid].astype(float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.zeros(band.shape, dtype=np.uint8)
    lo, hi = np.percentile(values, [2, 98]) if band.dtype != np.uint8 else (0, 255)
    scaled = (np.nan_to_num(band.astype(float), nan=lo) - lo) / (hi - lo if hi > lo else 1) * 255
    return np.clip(scaled, 0, 255).astype(np.uint8)
