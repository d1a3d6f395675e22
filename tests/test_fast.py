"""The speed-ups of gis._fast, each against the plain geopandas/shapely result it replaces."""

from __future__ import annotations

import geopandas as gpd
import pytest


def _stars(n: int, seed: int = 3) -> gpd.GeoSeries:
    """n star-shaped polygons (5-60 vertices, 10 m to 3 km across) round Longgang, in EPSG:4326."""
    import numpy as np
    from shapely import Polygon

    rng = np.random.default_rng(seed)
    polys = []
    for _ in range(n):
        k = int(rng.integers(5, 61))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radii = rng.uniform(0.3, 1.0, k) * rng.choice([5.0, 50.0, 500.0, 1500.0])
        x0, y0 = rng.uniform(510_000, 560_000), rng.uniform(2_490_000, 2_530_000)
        polys.append(Polygon(np.column_stack([x0 + radii * np.cos(angles), y0 + radii * np.sin(angles)])))
    return gpd.GeoSeries(polys, crs="EPSG:4547").to_crs("EPSG:4326")


def test_ring_measures_agree_with_geos_on_reprojected_polygons():
    """Areas and bounds from reprojected coordinates (numpy) equal GEOS's on the reprojected polygons, bit for bit."""
    import numpy as np
    import shapely

    from gis.measure import measure_geometries, project

    stars = _stars(3000)
    measured = measure_geometries(stars)
    assert measured.projected.tolist() == [None] * len(stars)  # no polygon was built
    projected = project(stars)
    np.testing.assert_array_equal(measured.area_m2, shapely.area(projected))  # bit for bit
    np.testing.assert_array_equal(measured.bounds, shapely.bounds(projected))


def test_ring_measures_do_not_depend_on_batches(monkeypatch):
    """Batches run in threads; the measures are the same whatever the batch size."""
    import functools

    import numpy as np

    import gis._fast.rings
    import gis.measure
    from gis.parallel import map_batches

    stars = _stars(500, seed=5)
    whole = gis.measure.measure_geometries(stars)
    monkeypatch.setattr(gis._fast.rings, "map_batches", functools.partial(map_batches, batch=37))
    split = gis.measure.measure_geometries(stars)
    np.testing.assert_array_equal(whole.area_m2, split.area_m2)
    np.testing.assert_array_equal(whole.bounds, split.bounds)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("EPSG:4326", "EPSG:4547"),
        ("EPSG:4547", "EPSG:4326"),
        ("EPSG:4490", "EPSG:4547"),
        ("EPSG:4547", "EPSG:4490"),
        ("EPSG:3857", "EPSG:4547"),
    ],
)
def test_transformer_gives_the_always_xy_results_bit_for_bit(src, dst):
    """The direct PROJ pipeline is used only where it reproduces pyproj's always_xy transformer exactly."""
    import numpy as np
    from pyproj import Transformer

    from gis._fast.proj import transformer

    lon, lat = np.meshgrid(np.linspace(113.9, 114.65, 200), np.linspace(22.45, 22.9, 200))
    x, y = Transformer.from_crs("EPSG:4326", src, always_xy=True).transform(lon.ravel(), lat.ravel())
    fast = transformer(src, dst, x, y)
    if "EPSG:4326" in (src, dst):
        assert "axisswap" not in fast.to_proj4()  # the direct pipeline was chosen
    got = fast.transform(x, y)
    want = Transformer.from_crs(src, dst, always_xy=True).transform(x, y)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_the_operation_is_searched_once_per_crs_pair(monkeypatch):
    """PROJ's database is searched once per CRS pair (about 0.1 s for WGS 84 -> CGCS2000), even by threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from pyproj import Transformer

    import gis._fast.proj as proj

    monkeypatch.setattr(proj, "_OPERATIONS", {})
    monkeypatch.setattr(proj, "_VERIFIED", set())
    proj._direct_pipeline.cache_clear()
    searches = []
    group = proj.TransformerGroup
    monkeypatch.setattr(proj, "TransformerGroup", lambda *a, **k: searches.append(a) or group(*a, **k))

    def from_crs(*args, **kwargs):
        raise AssertionError("searched again")

    monkeypatch.setattr(Transformer, "from_crs", from_crs)
    lon, lat = np.linspace(113.9, 114.65, 2000), np.linspace(22.45, 22.9, 2000)
    with ThreadPoolExecutor(4) as pool:
        found = list(
            pool.map(lambda _: proj.transformer("EPSG:4326", "EPSG:4547", lon, lat).transform(lon, lat), range(8))
        )
    proj._direct_pipeline.cache_clear()  # its pipelines came from this test's searches
    assert len(searches) == 1
    assert all(np.array_equal(f[0], found[0][0]) and np.array_equal(f[1], found[0][1]) for f in found)


def test_ring_areas_equal_geos_for_long_and_odd_rings():
    """Rings of 4 to 3000 points, repeated points and a zero-area ring: GEOS's areas, bit for bit."""
    import numpy as np
    import shapely
    from shapely import Polygon

    from gis.measure import measure_geometries, project

    rng = np.random.default_rng(11)
    polys = []
    for k in (3, 4, 7, 150, 999, 3000):
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(200, 900, k)
        polys.append(Polygon(np.column_stack([530000 + r * np.cos(angles), 2510000 + r * np.sin(angles)])))
    ring = list(polys[3].exterior.coords)[:-1]
    polys.append(Polygon(ring[:5] + [ring[5]] * 3 + ring[6:]))  # repeated points
    polys.append(Polygon([(530000, 2510000), (530100, 2510000), (530200, 2510000), (530000, 2510000)]))  # no area
    geoms = gpd.GeoSeries(polys, crs="EPSG:4547").to_crs("EPSG:4326")
    measured = measure_geometries(geoms)
    np.testing.assert_array_equal(measured.area_m2, shapely.area(project(geoms)))
    assert measured.area_m2[-1] < 1e-6


@pytest.mark.parametrize("half", [3.0, 60.0, 700.0])
def test_boxes_found_inside_are_inside(half):
    """A box boxes_inside finds inside lies properly inside (GEOS); most boxes that do are found.

    Boxes of up to 2 * half metres all over a district (a detailed boundary) and a polygon of two
    parts, one with a hole, plus boxes with NaN bounds and a box on the boundary."""
    import numpy as np
    import shapely

    from gis import settings
    from gis._fast.inside import boxes_inside
    from gis.measure import project
    from gis.read import read_districts

    districts = project(read_districts(settings.default_layers_dir()).geometry)
    holed = shapely.MultiPolygon(
        [
            shapely.Polygon(
                [(500_000, 2_500_000), (510_000, 2_500_000), (510_000, 2_510_000), (500_000, 2_510_000)],
                [[(503_000, 2_503_000), (507_000, 2_503_000), (505_000, 2_507_000)]],
            ),
            shapely.box(512_000, 2_500_000, 515_000, 2_501_000),
        ]
    )
    rng = np.random.default_rng(int(half))
    for polygon in [districts[1], holed]:
        x0, y0, x1, y1 = polygon.bounds
        n = 20_000
        cx, cy = rng.uniform(x0 - 500, x1 + 500, n), rng.uniform(y0 - 500, y1 + 500, n)
        h = rng.uniform(0.1, 1.0, (n, 4)) * half
        bounds = np.column_stack([cx - h[:, 0], cy - h[:, 1], cx + h[:, 2], cy + h[:, 3]])
        bounds[:5] = np.nan
        bounds[5] = [x0 - 1, y0 - 1, x0 + 1, y1]  # across the boundary
        found = boxes_inside(polygon, bounds)
        exact = np.zeros(n, dtype=bool)
        exact[5:] = shapely.contains_properly(polygon, shapely.box(*bounds[5:].T))
        assert not (found & ~exact).any()
        assert found.sum() > 0.5 * exact.sum() > 0  # those within about a box of the boundary are not
    # a millimetre box: no grid of millimetre cells along 90 km of boundary, the box left to GEOS
    x, y = shapely.get_coordinates(shapely.point_on_surface(districts[1]))[0]
    assert boxes_inside(districts[1], np.array([[x, y, x + 0.001, y + 0.001]])).tolist() == [False]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_pairs_equal_the_strtree_pairs(seed):
    """The grid gives exactly the STRtree's pairs: parcels, duplicates, touching and zero-size boxes,
    a few large boxes, empty ones, three groups; uneven boxes fall back to the tree."""
    import numpy as np

    from gis._fast.pairs import grid_pairs
    from gis.spatial import tree_pairs

    rng = np.random.default_rng(seed)
    n = 3000
    x0, y0 = rng.uniform(0, 5000, n).round(), rng.uniform(0, 5000, n).round()
    w, h = rng.uniform(0, 120, n).round(), rng.uniform(0, 120, n).round()
    w[:20], h[:20] = 0, 0  # points
    w[20:30], h[20:30] = rng.uniform(400, 900, 10), rng.uniform(400, 900, 10)  # large
    bounds = np.column_stack([x0, y0, x0 + w, y0 + h])
    bounds[30:40] = bounds[40:50]  # duplicates
    bounds[50:55] = np.nan  # empty geometries
    bounds[60] = [*bounds[61, 2:], *(bounds[61, 2:] + 50)]  # touching at a corner
    codes = rng.integers(0, 3, n)
    codes[60] = codes[61]
    want = {tuple(p) for p in tree_pairs(bounds, codes).T.tolist()}
    got = grid_pairs(bounds, codes)
    assert got is not None
    assert [tuple(p) for p in got.T.tolist()] == sorted(want)
    assert (60, 61) in want
    uneven = bounds.copy()
    uneven[:, 2:] += rng.uniform(0, 4000, (n, 1))  # huge boxes: over 8 cells each on average
    assert grid_pairs(uneven, codes) is None


def test_reprojected_wkb_is_shapelys_wkb_of_the_reprojected_geometries():
    """WKB written from reprojected coordinates equals shapely.to_wkb(transform_geometries(...)) byte for
    byte: batches of plain polygons (numpy), and batches holding a hole or a multipolygon (GEOS)."""
    import numpy as np
    import shapely
    from shapely import MultiPolygon, Polygon, box

    from gis._fast.wkb import reprojected_wkb
    from gis.parallel import transform_geometries

    rng = np.random.default_rng(7)
    plain = []
    for _ in range(300):
        k = int(rng.integers(4, 40))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(10, 300, k)
        x0, y0 = rng.uniform(114.0, 114.6), rng.uniform(22.5, 22.85)
        plain.append(Polygon(np.column_stack([x0 + r * np.cos(angles) / 1e5, y0 + r * np.sin(angles) / 1e5])))
    holed = Polygon(
        box(114.2, 22.7, 114.21, 22.71).exterior.coords, [box(114.202, 22.702, 114.203, 22.703).exterior.coords]
    )
    multi = MultiPolygon([box(114.3, 22.7, 114.301, 22.701), box(114.31, 22.7, 114.311, 22.701)])
    geoms = np.array([*plain[:150], holed, multi, *plain[150:]], dtype=object)
    parts = list(reprojected_wkb(geoms, "EPSG:4326", "EPSG:4547", batch=100))  # 4 batches, 2 of plain polygons
    assert len(parts) == 4
    got = [b for p in parts for b in p.to_pylist()]
    assert got == shapely.to_wkb(transform_geometries(geoms, "EPSG:4326", "EPSG:4547")).tolist()


def test_reprojected_wkb_of_empty_3d_and_unprojected_polygons():
    """Empty and 3D polygons, and a reprojection to the same CRS, give shapely's bytes too."""
    import numpy as np
    import shapely
    from shapely import Polygon, box

    from gis._fast.wkb import reprojected_wkb
    from gis.parallel import transform_geometries

    geoms = np.array(
        [
            box(114.2, 22.7, 114.21, 22.71),
            Polygon(),
            Polygon([(114.2, 22.7, 5), (114.21, 22.7, 6), (114.21, 22.71, 7)]),
        ],
        dtype=object,
    )
    for dst in ("EPSG:4547", "EPSG:4326"):
        got = [b for part in reprojected_wkb(geoms, "EPSG:4326", dst) for b in part.to_pylist()]
        assert got == shapely.to_wkb(transform_geometries(geoms, "EPSG:4326", dst)).tolist(), dst
    plain = geoms[:1]
    got = [b for part in reprojected_wkb(plain, "EPSG:4326", "EPSG:4326") for b in part.to_pylist()]
    assert got == shapely.to_wkb(plain).tolist()


def _holed_and_multi(n: int, seed: int = 11) -> list:
    """Polygons with holes and multipolygons (parts with holes too) round Longgang, in EPSG:4547, with a few None."""
    import numpy as np
    import shapely

    stars = list(_stars(3 * n, seed).to_crs("EPSG:4547"))
    out: list = []
    for i in range(n):
        a, b, c = stars[3 * i : 3 * i + 3]
        holed = a.difference(shapely.buffer(a.centroid, np.sqrt(a.area) / 5)) if a.is_valid else a
        if i % 3 == 0:
            out.append(holed)
        elif i % 3 == 1:
            out.append(shapely.MultiPolygon([g for g in (holed, b, c) if isinstance(g, shapely.Polygon)]))
        else:
            out.append(shapely.box(500_000.0 + i, 2_500_000.0, 500_030.5 + i, 2_500_017.25))
    out[5], out[7] = None, shapely.MultiPolygon()
    return out


@pytest.mark.parametrize(("interleaved", "piece"), [(False, 65_536), (True, 65_536), (False, 37)])
def test_geoarrow_areas_agree_with_shapely_on_holes_and_multipolygons(monkeypatch, interleaved, piece):
    """Areas from the GeoArrow coordinate arrays equal shapely.area (1e-9 relative); the polygons built equal the input."""
    import numpy as np
    import pyarrow as pa
    import shapely

    import gis._fast.geoarrow
    from gis._fast.geoarrow import polygon_areas, to_geometries

    monkeypatch.setattr(gis._fast.geoarrow, "PIECE", piece)  # measured in pieces (and threads): the same areas

    geoms = _holed_and_multi(600)
    series = gpd.GeoSeries(geoms, crs="EPSG:4547")
    assert (series.geom_type == "Polygon").any() and (shapely.get_num_interior_rings(series.to_numpy()) > 0).any()
    whole = pa.table({"g": series.to_arrow(geometry_encoding="geoarrow", interleaved=interleaved)}).column("g")
    column = pa.chunked_array([whole.chunk(0).slice(0, 301), whole.chunk(0).slice(301)])  # 2 chunks, one sliced
    area, points = polygon_areas(column, "multipolygon")
    expected = shapely.area(series.to_numpy())
    missing = series.isna().to_numpy()
    np.testing.assert_allclose(area[~missing], expected[~missing], rtol=1e-9, atol=0)
    assert np.isnan(area[missing]).all()
    assert ((points == 0) == (missing | series.is_empty.to_numpy())).all()
    built = to_geometries(column, "multipolygon")
    present = ~missing
    assert shapely.equals(built[present], series.to_numpy()[present]).all()
    assert all(g is None for g in built[missing])


def test_geoarrow_layer_reads_polygons_without_building_them(tmp_path):
    """A GeoArrow-encoded GeoParquet file of polygons: areas as shapely's, text as categories, ids kept plain."""
    import numpy as np
    import shapely

    from gis._fast.geoarrow import polygon_areas, read_geoarrow, to_frame

    geoms = [g for g in _holed_and_multi(150) if isinstance(g, shapely.Polygon)][:60]
    gdf = gpd.GeoDataFrame(
        {"parcel_id": [f" P{i} " for i in range(len(geoms))], "code": [" 1001", "1101 ", "1001"] * 20},
        geometry=geoms,
        crs="EPSG:4547",
    )
    gdf.to_parquet(tmp_path / "landuse.parquet", geometry_encoding="geoarrow")
    layer = read_geoarrow(tmp_path / "landuse.parquet", "landuse", plain=("parcel_id",))
    assert layer is not None and layer.encoding == "polygon"
    area, _ = polygon_areas(layer.geometry, layer.encoding)
    np.testing.assert_allclose(area, shapely.area(gdf.geometry.to_numpy()), rtol=1e-9, atol=0)
    frame = to_frame(layer.table, stripped=("parcel_id", "code"))
    assert frame["code"].dtype == "category" and sorted(frame["code"].cat.categories) == ["1001", "1101"]
    assert frame["parcel_id"].tolist() == [f"P{i}" for i in range(len(geoms))]
    gdf.to_parquet(tmp_path / "wkb.parquet")  # WKB: the plain way
    assert read_geoarrow(tmp_path / "wkb.parquet", "landuse") is None
    gdf.to_crs("EPSG:4326").to_parquet(tmp_path / "wgs.parquet", geometry_encoding="geoarrow")  # another frame
    assert read_geoarrow(tmp_path / "wgs.parquet", "landuse") is None


@pytest.mark.parametrize(
    "ids",
    [["A", "B", "C"], ["C", "B", "A"], ["A", "B", "A"], ["A", None, "B"], ["A", None, None], ["B", "B"], ["A"], []],
)
def test_no_repeats_agrees_with_pandas(ids):
    """Strictly increasing ids are seen in one pass; any other order is hashed: the answer is pandas'."""
    import pandas as pd

    from gis._fast.geoarrow import no_repeats

    for series in (pd.Series(ids, dtype="str"), pd.Series(ids, dtype=object)):
        assert no_repeats(series) == (not series[series.notna()].duplicated().any())


@pytest.mark.parametrize("cells", [10_000_000, 0])  # counted, or sorted
def test_category_sums_agree_with_pandas_groupby(monkeypatch, cells):
    """Counts, sums (NaN where a group has no value) and the distinct values listed: pandas' groupby's table."""
    import numpy as np
    import pandas as pd

    import gis._fast.groups
    from gis._fast.groups import category_sums

    monkeypatch.setattr(gis._fast.groups, "MAX_CELLS", cells)
    rng = np.random.default_rng(4)
    n = 5000
    district = pd.Categorical(rng.choice(["440307", "440309", "440310", None], n, p=[0.4, 0.3, 0.29, 0.01]))
    code = pd.Categorical(rng.choice(["1001", "100101", "1101", "0601", "9999"], n))
    klass = pd.Categorical(np.where(np.isin(code.astype(str), ["1001", "100101"]), "industrial", "other"))
    area = rng.uniform(1, 1e4, n)
    official = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(1, 1e4, n))
    official[np.asarray(code) == "0601"] = np.nan  # a group with no official area at all
    frame = pd.DataFrame({"district": district, "class": klass, "code": code, "area": area, "official": official})
    for keys in (["district", "class"], ["district", "code", "class"]):
        got = category_sums({k: frame[k].array for k in keys}, {"area": area, "official": official}, code)
        grouped = frame.groupby(keys, observed=True)
        want = grouped.agg(n=("area", "size"), area=("area", "sum"))
        want["official"] = grouped["official"].sum(min_count=1)
        combos = frame.groupby([*dict.fromkeys([*keys, "code"])], observed=True).size().reset_index()
        want["listed"] = combos.groupby(keys, observed=True)["code"].agg(lambda s: ",".join(sorted(map(str, s))))
        want = want.reset_index()
        for k in [*keys, "listed"]:
            want[k] = want[k].astype(object)
        got = got.sort_values(keys).reset_index(drop=True)
        want = want.sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want[list(got.columns)], check_dtype=False, rtol=1e-12)
        assert got["official"].isna().any() == ("code" in keys)
