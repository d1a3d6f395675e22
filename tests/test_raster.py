from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from gis.cli import cli
from gis.crs import AREA_CRS
from gis.errors import OutputExistsError
from gis.pipeline import run_check
from gis.raster import class_areas, is_categorical, rasterize_land_use, write_land_use, zonal_statistics
from gis.raster import north_up as from_origin_xy
from tests.data.make_data import X0, Y0


def write_raster(path: Path, data: np.ndarray, *, crs: str, transform, colormap=None, nodata=None) -> Path:
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": data.dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        if colormap:
            dst.write_colormap(1, colormap)
    return path


def test_class_areas_within_1_percent_on_known_squares(test_layers):
    run = run_check(layers_dir=test_layers)
    grid, transform, classes = rasterize_land_use(run.features, resolution=10)
    table = class_areas(run.features, grid, transform, classes).set_index("part")
    # the test squares are whole multiples of 10 m: exact. Zone 100 ha holds consolidation 36 ha holds reserve 4 ha
    assert table.loc["reserve", "raster_ha"] == pytest.approx(4, abs=1e-9)
    cz = table[table["layer"] == "consolidation_zones"]
    assert cz["raster_ha"].tolist() == pytest.approx(
        [64, 32, 4], abs=0.01
    )  # each class where no higher class covers it
    assert (table["delta_pct"].abs() < 0.01).all()


def test_polygons_off_the_grid_within_1_percent(test_layers):
    """Edges at an angle to the pixels, as digitized ones are: the test rectangles turned by 17 degrees.

    At 10 m every class of 1 ha or more is within 1 % of its polygons' area (the small site class,
    0.65 ha or 65 pixels, within 2 %); at 5 m every class is within 1 %.
    """
    run = run_check(layers_dir=test_layers)
    features = run.features.to_crs(AREA_CRS)
    features["geometry"] = features.geometry.rotate(17, origin=(X0 + 10_000, Y0 + 10_000))
    for resolution, small_pct in ((10, 2), (5, 1)):
        grid, transform, classes = rasterize_land_use(features, resolution=resolution)
        table = class_areas(features, grid, transform, classes).set_index(["layer", "part"])
        assert len(table) == 8  # every (layer, part) of the test data
        # turning keeps the areas: zone 100 ha holds consolidation 36 ha holds reserve 4 ha
        cz = table.loc["consolidation_zones"]
        assert cz.loc[["extent", "consolidation", "reserve"], "polygon_ha"].tolist() == pytest.approx([64, 32, 4])
        assert table.loc[("industrial_land", "site"), "polygon_ha"] == pytest.approx(0.65)  # 0.25 + 0.4 ha
        assert (table["delta_pct"].abs() > 1e-3).any()  # off the grid, the pixels only approximate the polygons
        large = table["polygon_ha"] >= 1
        assert (table.loc[large, "delta_pct"].abs() < 1).all(), (resolution, table)
        assert (table.loc[~large, "delta_pct"].abs() < small_pct).all(), (resolution, table)


def test_geotiff_read_by_rasterio_and_gdalinfo(test_layers, tmp_path):
    run = run_check(layers_dir=test_layers)
    grid, transform, classes = rasterize_land_use(run.features, resolution=20)
    path = tmp_path / "landuse.tif"
    write_land_use(path, grid, transform, classes, crs="EPSG:4547", overwrite=False)
    with pytest.raises(OutputExistsError):
        write_land_use(path, grid, transform, classes, crs="EPSG:4547", overwrite=False)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4547 and src.nodata == 0 and src.overviews(1) == [2, 4, 8, 16]
        assert src.colormap(1)[6][:3] == (63, 0, 125) and src.tags()["CLASS_6"].startswith(
            "consolidation_zones.reserve 预计收储产业用地"
        )
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert is_categorical(src)
    if not shutil.which("gdalinfo"):
        pytest.fail("gdalinfo not found: install the Debian package gdal-bin (scripts/test.sh does)")
    info = json.loads(
        subprocess.run(["gdalinfo", "-json", str(path)], capture_output=True, text=True, check=True).stdout
    )
    band = info["bands"][0]
    assert 'ID["EPSG",4547]' in info["coordinateSystem"]["wkt"]
    assert band["colorInterpretation"] == "Palette" and band["noDataValue"] == 0 and len(band["overviews"]) == 4
    assert info["metadata"][""]["CLASS_1"].startswith("industrial_land.extent")
    assert info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"] == "DEFLATE"


def test_zonal_statistics_weighted_by_coverage_in_4547(test_layers, tmp_path):
    # 10 m pixels; the left half of the test zone TT-CZ-01 (1000 m square at X0+1000) is 1, the right half 3
    data = np.ones((300, 300), dtype="float32")
    data[:, 160:] = 3.0
    transform = from_origin_xy(X0 + 500, Y0 + 2500, 10)  # covers x 500..3500, y 0..2500 of the test district
    path = write_raster(tmp_path / "dem.tif", data, crs="EPSG:4547", transform=transform)
    features = run_check(layers_dir=test_layers).features
    row = zonal_statistics(path, features[features["fid"] == "TT-CZ-01"]).set_index("fid").loc["TT-CZ-01"]
    # the zone spans x 1000..2000 (columns 50..150): all of it is left of the split at column 160
    assert row["min"] == 1 and row["max"] == 1 and row["pixels"] == pytest.approx(10_000)
    data[:, 100:] = 3.0  # now x >= 1500 is 3: half the zone
    path = write_raster(tmp_path / "dem2.tif", data, crs="EPSG:4547", transform=transform)
    row = zonal_statistics(path, features[features["fid"] == "TT-CZ-01"]).set_index("fid").loc["TT-CZ-01"]
    assert row["mean"] == pytest.approx(2.0, abs=1e-6) and row["min"] == 1 and row["max"] == 3
    # a half-pixel shift: edge pixels half covered count half
    shifted = from_origin_xy(X0 + 505, Y0 + 2500, 10)
    path = write_raster(tmp_path / "dem3.tif", np.ones((300, 300), dtype="float32"), crs="EPSG:4547", transform=shifted)
    row = zonal_statistics(path, features[features["fid"] == "TT-CZ-01"]).set_index("fid").loc["TT-CZ-01"]
    assert row["pixels"] == pytest.approx(10_000, rel=1e-6)  # 100 ha / 100 m2: partial pixels add up exactly


def test_zonal_statistics_of_a_categorical_raster_in_4326(test_layers, tmp_path):
    # a lon/lat land-cover grid of 0.0005 degree: class 5 west of the zone's middle, class 9 east of it
    features = run_check(layers_dir=test_layers).features
    zone = features.set_index("fid").loc["TT-CZ-01"].geometry
    minx, miny, maxx, maxy = zone.bounds
    mid = (minx + maxx) / 2
    res = 0.0005
    west, north = np.floor((minx - 0.01) / res) * res, np.ceil((maxy + 0.01) / res) * res
    width, height = int((maxx + 0.01 - west) / res) + 1, int((north - miny + 0.01) / res) + 1
    xs = west + (np.arange(width) + 0.5) * res
    data = np.where(xs < mid, 5, 9).astype("uint8")[None, :].repeat(height, axis=0)
    path = write_raster(
        tmp_path / "cover.tif",
        data,
        crs="EPSG:4326",
        transform=from_origin_xy(west, north, res),
        colormap={5: (0, 200, 0, 255), 9: (200, 0, 0, 255)},
    )
    stats = zonal_statistics(path, features[features["fid"] == "TT-CZ-01"]).set_index("fid")
    shares = dict(s.split(": ") for s in stats.loc["TT-CZ-01", "class_shares"].split("; "))
    assert abs(float(shares["5"].rstrip(" %")) - 50) < 3 and abs(float(shares["9"].rstrip(" %")) - 50) < 3


def test_cli_rasterize_and_zonal(test_layers, tmp_path):
    runner = CliRunner()
    out = tmp_path / "lu.tif"
    result = runner.invoke(cli, ["rasterize", "--layers", str(test_layers), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "预计收储产业用地" in result.output and "+0.000 %" in result.output
    result = runner.invoke(cli, ["rasterize", "--layers", str(test_layers), "-o", str(out)])
    assert result.exit_code == 2 and "Pass --overwrite" in result.output
    result = runner.invoke(cli, ["zonal", str(out), "--layers", str(test_layers), "--layer", "parks", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {d["fid"] for d in doc} == {"TT-PK-01", "TT-PK-02"} and all("class_shares" in d for d in doc)
    result = runner.invoke(cli, ["zonal", str(tmp_path / "missing.tif"), "--layers", str(test_layers)])
    assert result.exit_code == 2 and "no such raster" in result.output


def _png_pixels(data_uri: str) -> np.ndarray:
    import base64
    import warnings

    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile(base64.b64decode(data_uri.split(",", 1)[1])) as mem, mem.open() as png:
            return png.read()


def test_background_with_amap_tiles_moves_every_pixel(tmp_path):
    from pyproj import Transformer

    from gis.crs import gcj02_from_wgs84
    from gis.raster import background_png

    # a 40 km raster of 100 m pixels with one bright pixel near its north-east corner
    data = np.zeros((400, 400), dtype="uint8")
    data[20, 380] = 255
    path = write_raster(
        tmp_path / "dot.tif", data, crs="EPSG:4547", transform=from_origin_xy(500000, 2530000, 100), nodata=None
    )
    x, y = 500000 + 380.5 * 100, 2530000 - 20.5 * 100
    lon, lat = Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True).transform(x, y)
    glon, glat = (float(v) for v in gcj02_from_wgs84(lon, lat))
    uri, ((s, w), (n, e)) = background_png(path, frame="GCJ-02", max_size=800)
    rgba = _png_pixels(uri)
    rows, cols = np.nonzero(rgba[0] > 128)
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (x0, x1), (y0, y1) = to_merc.transform([w, e], [s, n])
    px = x0 + (cols.mean() + 0.5) * (x1 - x0) / rgba.shape[2]
    py = y1 - (rows.mean() + 0.5) * (y1 - y0) / rgba.shape[1]
    gx, gy = to_merc.transform(glon, glat)
    pixel = (x1 - x0) / rgba.shape[2]
    assert abs(px - gx) < 1.5 * pixel and abs(py - gy) < 1.5 * pixel  # where GCJ-02 puts it, not 10-25 m off


def test_background_transparency_from_alpha_mask_and_nan(tmp_path):
    from gis.raster import background_png

    rgba_src = np.full((4, 50, 50), 200, dtype="uint8")
    rgba_src[3, :, :25] = 0  # alpha: the west half is transparent
    path = tmp_path / "rgba.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=50,
        width=50,
        count=4,
        dtype="uint8",
        crs="EPSG:4547",
        transform=from_origin_xy(520000, 2510000, 100),
    ) as dst:
        dst.write(rgba_src)
        dst.colorinterp = [
            rasterio.enums.ColorInterp.red,
            rasterio.enums.ColorInterp.green,
            rasterio.enums.ColorInterp.blue,
            rasterio.enums.ColorInterp.alpha,
        ]
    out = _png_pixels(background_png(path)[0])
    assert (out[3] == 0).mean() > 0.4 and (out[3] == 255).mean() > 0.4
    dem = np.linspace(0, 100, 2500, dtype="float32").reshape(50, 50)
    dem[:10] = np.nan
    path = write_raster(
        tmp_path / "dem.tif", dem, crs="EPSG:4547", transform=from_origin_xy(520000, 2510000, 100), nodata=float("nan")
    )
    out = _png_pixels(background_png(path)[0])
    assert (
        0.1 < (out[3] == 0).mean() < 0.5 and len(np.unique(out[0][out[3] == 255])) > 50
    )  # NaN clear, the rest stretched


def test_zonal_bands_kinds_and_overlap(test_layers, tmp_path):
    from gis.errors import InputError

    features = run_check(layers_dir=test_layers).features
    three = np.stack([np.full((300, 300), v, dtype="float32") for v in (1, 2, 3)])
    path = tmp_path / "three.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=300,
        width=300,
        count=3,
        dtype="float32",
        crs="EPSG:4547",
        transform=from_origin_xy(X0 + 500, Y0 + 2500, 10),
    ) as dst:
        dst.write(three)
    row = zonal_statistics(path, features[features["fid"] == "TT-CZ-01"], band=2).iloc[0]
    assert row["mean"] == pytest.approx(2) and row["pixels"] == pytest.approx(10_000)
    with pytest.raises(InputError, match="band= 4 is not one of them"):
        zonal_statistics(path, features, band=4)
    with pytest.raises(InputError, match="holds float32 values, not classes"):
        zonal_statistics(path, features, categorical=True)
    far = write_raster(
        tmp_path / "far.tif",
        np.ones((10, 10), dtype="float32"),
        crs="EPSG:4547",
        transform=from_origin_xy(400000, 2400000, 10),
    )
    with pytest.raises(InputError, match="covers none of the"):
        zonal_statistics(far, features)


def test_rasterize_resolution_limits(test_layers, tmp_path):
    from gis.errors import InputError

    features = run_check(layers_dir=test_layers).features
    for bad in (float("nan"), float("inf"), 0.0, -5.0):
        with pytest.raises(InputError, match="must be a positive number of metres"):
            rasterize_land_use(features, resolution=bad)
    grid, transform, classes = rasterize_land_use(features, resolution=5000)  # a grid of a few pixels
    write_land_use(tmp_path / "coarse.tif", grid, transform, classes, crs="EPSG:4547", overwrite=False)
    assert (tmp_path / "coarse.tif").stat().st_size > 0
