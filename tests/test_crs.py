from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from gis.crs import gcj02_from_wgs84, geometry_gcj02_from_wgs84, geometry_wgs84_from_gcj02, wgs84_from_gcj02

GEOD = Geod(ellps="WGS84")

# Published pairs: googollee/eviltransform's test table (wgsLat, wgsLng, gcjLat, gcjLng)
# and wandergis/coordtransform's README example.
PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
    (39.915, 116.404, 39.91640428150164, 116.41024449916938),  # coordtransform example
]


def metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), PAIRS)
def test_forward_matches_published_pairs(wlat, wlon, glat, glon):
    lon, lat = gcj02_from_wgs84(wlon, wlat)
    assert metres(lon, lat, glon, glat) < 0.01


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), PAIRS)
def test_inverse_matches_published_pairs(wlat, wlon, glat, glon):
    lon, lat = wgs84_from_gcj02(glon, glat)
    assert metres(lon, lat, wlon, wlat) < 0.01


def test_round_trip_over_the_three_districts_under_1mm():
    lon, lat = np.meshgrid(np.linspace(113.95, 114.65, 71), np.linspace(22.43, 22.83, 41))
    glon, glat = gcj02_from_wgs84(lon, lat)
    back_lon, back_lat = wgs84_from_gcj02(glon, glat)
    err = metres(back_lon.ravel(), back_lat.ravel(), lon.ravel(), lat.ravel())
    assert np.max(err) < 0.001
    # and the shift itself is the several hundred metres GCJ-02 is known for in Shenzhen
    shift = metres(glon.ravel(), glat.ravel(), lon.ravel(), lat.ravel())
    assert shift.min() > 200 and shift.max() < 800


def test_geometry_helpers_round_trip():
    poly = shapely.Polygon([(114.25, 22.72), (114.26, 22.72), (114.26, 22.73), (114.25, 22.72)])
    back = geometry_wgs84_from_gcj02(geometry_gcj02_from_wgs84(poly))
    assert shapely.equals_exact(back, poly, tolerance=1e-9)
    assert not shapely.equals_exact(geometry_gcj02_from_wgs84(poly), poly, tolerance=1e-4)
