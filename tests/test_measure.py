from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis.measure import geodesic_areas, measure_areas, measure_features
from gis.read import read_layers


def test_measure_areas_in_hectares_in_epsg4547():
    squares = gpd.GeoSeries([box(500000, 2500000, 500100, 2500100), box(0, 0, 1000, 1000)], crs="EPSG:4547")
    assert list(measure_areas(squares)) == [1.0, 100.0]


def test_measure_areas_reprojects_lonlat_input():
    sq = gpd.GeoSeries([box(520000, 2505000, 521000, 2506000)], crs="EPSG:4547").to_crs("EPSG:4326")
    assert measure_areas(sq).iloc[0] == pytest.approx(100.0, rel=1e-6)


def test_measure_areas_refuses_missing_crs():
    with pytest.raises(ValueError, match="no CRS"):
        measure_areas(gpd.GeoSeries([box(0, 0, 1, 1)]))


def test_web_mercator_would_overstate_and_we_do_not():
    sq = gpd.GeoSeries([box(520000, 2505000, 521000, 2506000)], crs="EPSG:4547")
    mercator_ha = sq.to_crs("EPSG:3857").area.iloc[0] / 1e4
    assert mercator_ha > 115  # Web Mercator overstates area here by ~18 %
    assert measure_areas(sq.to_crs("EPSG:3857")).iloc[0] == pytest.approx(100.0, rel=1e-6)


def test_geodesic_cross_check_agrees(test_layers):
    features = measure_features(read_layers(test_layers))
    assert (features["geodesic_diff_pct"].abs() < 0.01).all()
    expected = {
        "TT-CZ-01": 100,
        "TT-CZ-01-C": 36,
        "TT-CZ-01-R": 4,
        "TT-RU-01": 25,
        "TT-RU-01-D": 9,
        "TT-PK-01": 1,
        "TT-IL-01-01": 0.25,
        "TT-IL-02": 0.4,
    }
    got = dict(zip(features["fid"], features["area_ha"], strict=True))
    for fid, ha in expected.items():
        assert got[fid] == pytest.approx(ha, rel=1e-6)
    assert geodesic_areas(features).iloc[0] == pytest.approx(100, rel=1e-4)


def test_geodesic_area_of_small_features_matches_geod():
    """Below 1 km across, planar area / areal scale factor agrees with pyproj.Geod to 1e-8 or 0.001 m2."""
    import numpy as np
    import shapely
    from pyproj import Geod

    from gis.measure import GEODESIC_EXACT_M

    centres = [(420000, 2490000), (500000, 2520000), (560000, 2510000)]
    sizes = [40, 200, 600, GEODESIC_EXACT_M / 1.5, 3000]  # the last one is measured with Geod itself
    geoms = [shapely.Point(x, y).buffer(s / 2, 16) for x, y in centres for s in sizes]
    series = gpd.GeoSeries(geoms, crs="EPSG:4547").to_crs("EPSG:4326")
    geod = Geod(ellps="GRS80")
    exact = np.array([abs(geod.geometry_area_perimeter(g)[0]) / 1e4 for g in series.to_crs("EPSG:4490")])
    got = geodesic_areas(series).to_numpy()
    assert np.allclose(got, exact, rtol=1e-8, atol=1e-7)  # ha; Geod's own rounding is ~1e-4 m2


def test_parallel_reprojection_equals_to_crs(monkeypatch):
    import numpy as np
    import shapely

    from gis import parallel

    monkeypatch.setattr(parallel, "MIN_CHUNK", 10)
    monkeypatch.setenv("GIS_THREADS", "2")
    rng = np.random.default_rng(1)
    geoms = gpd.GeoSeries(
        [box(x, y, x + 50, y + 80) for x, y in rng.uniform([430000, 2490000], [560000, 2530000], (100, 2))],
        crs="EPSG:4547",
    ).to_crs("EPSG:4326")
    got = parallel.transform_geometries(np.asarray(geoms.array), geoms.crs, "EPSG:4547")
    assert shapely.equals_exact(got, np.asarray(geoms.to_crs("EPSG:4547").array), tolerance=0).all()


def test_district_shares_in_threads_match_one_thread(monkeypatch):
    """Each thread prepares its own copy of a district (a shared prepared geometry crashes GEOS)."""
    import numpy as np

    from gis import parallel
    from gis.spatial import district_shares
    from tests.conftest import wavy_districts

    districts = wavy_districts()  # three districts over the area of the random squares below
    rng = np.random.default_rng(2)
    xy = rng.uniform([440000, 2490000], [560000, 2530000], (400, 2))
    feats = gpd.GeoDataFrame(
        {"district": rng.choice(["440307", "440309", "440310"], len(xy))},
        geometry=[box(x, y, x + 300, y + 300) for x, y in xy],
        crs="EPSG:4547",
    ).to_crs("EPSG:4326")
    monkeypatch.setenv("GIS_THREADS", "1")
    one = district_shares(feats, districts)
    monkeypatch.setattr(parallel, "MIN_CHUNK", 10)
    monkeypatch.setenv("GIS_THREADS", "2")
    for _ in range(5):
        assert district_shares(feats, districts).equals(one)


def test_measure_geometries_mixed_kinds_and_lazy_geometries():
    """Holes, several parts, empty and missing geometries go through GEOS; geometries() builds on demand."""
    import numpy as np
    import shapely
    from shapely import MultiPolygon, Polygon

    from gis.measure import measure_geometries, project

    outer = box(520000, 2505000, 521000, 2506000)
    holed = Polygon(outer.exterior.coords, [box(520100, 2505100, 520200, 2505200).exterior.coords])
    multi = MultiPolygon([box(530000, 2505000, 530100, 2505100), box(530200, 2505000, 530300, 2505100)])
    geoms = gpd.GeoSeries([outer, holed, multi, Polygon(), None, outer], crs="EPSG:4547").to_crs("EPSG:4326")
    measured = measure_geometries(geoms)
    np.testing.assert_allclose(measured.area_m2[:3], [1e6, 1e6 - 1e4, 2e4], rtol=1e-7)
    assert measured.area_m2[5] == pytest.approx(1e6, rel=1e-7)
    assert measured.area_m2[3] == 0 and np.isnan(measured.area_m2[4])
    assert measured.projected[0] is None and measured.projected[1] is not None  # holes: built at once
    got = measured.geometries(np.array([0, 5]))
    assert shapely.equals_exact(got, project(geoms.iloc[[0, 5]]), tolerance=0).all()
    assert measured.projected[0] is got[0]  # kept for the next call


def test_iter_parts_keeps_order_while_computing_ahead(monkeypatch):
    """Results come in the order of the batches however long each takes; every value is computed once."""
    import random
    import time

    import numpy as np

    from gis.parallel import iter_parts

    monkeypatch.setenv("GIS_THREADS", "2")
    seen = []

    def slow(part):
        time.sleep(random.Random(int(part[0])).uniform(0, 0.02))
        seen.extend(part.tolist())
        return part * 2

    out = list(iter_parts(slow, np.arange(1000), batch=37))
    assert len(out) == 28
    assert np.concatenate(out).tolist() == [2 * v for v in range(1000)]
    assert sorted(seen) == list(range(1000))


def test_measure_frame_leaves_its_input_alone(test_layers):
    from gis.measure import measure_frame

    layer = read_layers(test_layers)["parks"]
    before = list(layer.columns)
    measured = measure_frame(layer)
    assert list(layer.columns) == before  # no area columns added to the caller's frame
    assert {"area_ha", "geodesic_ha", "geodesic_diff_pct"} <= set(measured.features.columns)
    assert measured.features["area_ha"].tolist() == pytest.approx([1.0, 1.0])
