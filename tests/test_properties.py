"""Property-based tests (hypothesis): GCJ-02 round trips, area invariants, comparator semantics.

Runs derandomized and without an example database, so CI sees the same examples every time.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer
from shapely.geometry import Polygon

from gis import settings as gis_settings
from gis.crs import gcj02_from_wgs84, wgs84_from_gcj02
from gis.evaluate import compare
from gis.measure import measure_areas

PROFILE = settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
GEOD = Geod(ellps="WGS84")
WEST, SOUTH, EAST, NORTH = gis_settings.LONLAT_BOUNDS  # the three districts, with a margin
TO_4547 = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)

lons = st.floats(WEST, EAST, allow_nan=False)
lats = st.floats(SOUTH, NORTH, allow_nan=False)


def metres(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --- (a) GCJ-02 ---------------------------------------------------------------------------------


@PROFILE
@given(lons, lats)
def test_gcj02_round_trip_is_under_a_metre(lon, lat):
    glon, glat = gcj02_from_wgs84(lon, lat)
    back_lon, back_lat = wgs84_from_gcj02(glon, glat)
    assert metres(back_lon, back_lat, lon, lat) < 1.0
    assert 50 < metres(glon, glat, lon, lat) < 1000  # and it is a real shift (hundreds of metres here)


@PROFILE
@given(lons, lats)
def test_gcj02_inverse_then_forward_is_under_a_metre(lon, lat):
    wlon, wlat = wgs84_from_gcj02(lon, lat)
    again_lon, again_lat = gcj02_from_wgs84(wlon, wlat)
    assert metres(again_lon, again_lat, lon, lat) < 1.0


# --- (b) areas ----------------------------------------------------------------------------------


@st.composite
def star_polygons(draw) -> Polygon:
    """A simple polygon in EPSG:4547 metres: vertices at increasing angles round a centre in the districts.

    50 m to 2 km across; a vertex per angle and every angle between neighbours under 180 degrees
    (at most 2*pi / 2.5 with these gaps), so the ring never crosses itself.
    """
    x0, y0 = TO_4547.transform(draw(lons), draw(lats))
    n = draw(st.integers(4, 24))
    gaps = draw(st.lists(st.floats(0.5, 1.0), min_size=n, max_size=n))
    angles = np.cumsum(gaps) / sum(gaps) * 2 * math.pi
    radii = draw(st.lists(st.floats(25.0, 1000.0), min_size=n, max_size=n))
    ring = [(x0 + r * math.cos(a), y0 + r * math.sin(a)) for r, a in zip(radii, angles, strict=True)]
    poly = Polygon(ring)
    assert poly.is_valid and poly.area > 0
    return poly


def area_ha(poly: Polygon, crs: str = "EPSG:4547") -> float:
    return float(measure_areas(gpd.GeoSeries([poly], crs=crs)).iloc[0])


# Rotation and reversal change only the order of the shoelace sum: a few ulps of the terms,
# which are ~1e5 times the area at most (coordinates ~2.5e6 m against 25 m radii) -> 1e-9.
SAME_ORDER_REL = 1e-9
# Reprojection moves each vertex by pyproj's round-trip error (< 1e-6 m for these CRS); the area
# changes by at most that times the perimeter (< 13 km), against at least ~1e3 m^2 -> 1e-6 is safe.
REPROJECT_REL = 1e-6


@PROFILE
@given(star_polygons(), st.integers(0, 100))
def test_area_unchanged_by_vertex_rotation(poly, shift):
    ring = list(poly.exterior.coords)[:-1]
    k = shift % len(ring)
    rotated = Polygon(ring[k:] + ring[:k])
    assert area_ha(rotated) == pytest.approx(area_ha(poly), rel=SAME_ORDER_REL)


@PROFILE
@given(star_polygons())
def test_area_unchanged_by_ring_orientation(poly):
    reversed_ring = Polygon(list(poly.exterior.coords)[::-1])
    assert reversed_ring.exterior.is_ccw != poly.exterior.is_ccw
    assert area_ha(reversed_ring) == pytest.approx(area_ha(poly), rel=SAME_ORDER_REL)
    assert area_ha(poly) > 0


@PROFILE
@given(star_polygons(), st.sampled_from(["EPSG:4326", "EPSG:4490"]), st.sampled_from(["EPSG:4326", "EPSG:4490"]))
def test_area_unchanged_by_reprojection(poly, first, second):
    planar = area_ha(poly)
    assert planar == pytest.approx(poly.area / 10_000.0, rel=1e-12)  # EPSG:4547 input: measured as it is
    geographic = gpd.GeoSeries([poly], crs="EPSG:4547").to_crs(first)
    assert float(measure_areas(geographic).iloc[0]) == pytest.approx(planar, rel=REPROJECT_REL)
    # between the two geographic frames (CGCS2000 and WGS-84 coincide at this accuracy) and back
    again = geographic.to_crs(second).to_crs("EPSG:4547").to_crs(first)
    assert float(measure_areas(again).iloc[0]) == pytest.approx(planar, rel=REPROJECT_REL)


# --- (c) comparator semantics of the target evaluator --------------------------------------------

planned_values = st.floats(0.01, 1e5, allow_nan=False)
tolerances = st.sampled_from([0.0, 1.0, 5.0, 10.0, 20.0])
fractions = st.floats(0.0, 1.0, allow_nan=False)
RANK = {gis_settings.SHORT: 0, gis_settings.WITHIN: 1, gis_settings.MET: 2}


@PROFILE
@given(planned_values, tolerances, st.floats(1e-6, 10.0))
def test_at_least_met_when_not_below(planned, tol, rel):
    assert compare("at_least", planned, planned, tolerance_pct=tol) == gis_settings.MET
    assert compare("at_least", planned, planned * (1 + rel), tolerance_pct=tol) == gis_settings.MET


@PROFILE
@given(planned_values, tolerances, fractions)
def test_at_least_below_is_within_tolerance_or_short(planned, tol, f):
    # f spreads the measured value over (0, planned): within the tolerance band, or beyond it
    measured = planned * (1 - 1e-6 - f * 0.999)
    miss_pct = (planned - measured) / planned * 100
    status = compare("at_least", planned, measured, tolerance_pct=tol)
    if tol > 0 and miss_pct <= tol * (1 - 1e-9):
        assert status == gis_settings.WITHIN
    elif miss_pct > tol * (1 + 1e-9):
        assert status == gis_settings.SHORT


@PROFILE
@given(planned_values, tolerances, fractions)
def test_at_most_mirrors_at_least(planned, tol, f):
    below = planned * (1 - f * 0.999)
    assert compare("at_most", planned, below, tolerance_pct=tol) == gis_settings.MET
    above = planned * (1 + 1e-6 + f * 2)
    status = compare("at_most", planned, above, tolerance_pct=tol)
    miss_pct = (above - planned) / planned * 100
    if tol > 0 and miss_pct <= tol * (1 - 1e-9):
        assert status == gis_settings.WITHIN
    elif miss_pct > tol * (1 + 1e-9):
        assert status == gis_settings.OVER
    # the mirror image: as far above under at_most as below under at_least, the same verdict
    mirror = compare("at_least", planned, 2 * planned - above, tolerance_pct=tol)
    if abs(miss_pct - tol) > 1e-6:
        assert mirror == {gis_settings.OVER: gis_settings.SHORT, gis_settings.WITHIN: gis_settings.WITHIN}[status]


@PROFILE
@given(planned_values, tolerances)
def test_more_than_is_strict(planned, tol):
    assert compare("more_than", planned, planned * (1 + 1e-6), tolerance_pct=tol) == gis_settings.MET
    equal = compare("more_than", planned, planned, tolerance_pct=tol)
    assert equal == (gis_settings.WITHIN if tol > 0 else gis_settings.SHORT)


@PROFILE
@given(
    st.sampled_from(["at_least", "more_than", "at_most"]),
    planned_values,
    tolerances,
    st.lists(st.floats(0.0, 3.0), min_size=2, max_size=12),
)
def test_status_is_monotonic_in_the_measured_value(comparator, planned, tol, ratios):
    statuses = [compare(comparator, planned, planned * r, tolerance_pct=tol) for r in sorted(ratios)]
    if comparator == "at_most":  # better as the value falls
        statuses = statuses[::-1]
        ranks = [{gis_settings.OVER: 0, gis_settings.WITHIN: 1, gis_settings.MET: 2}[s] for s in statuses]
    else:
        ranks = [RANK[s] for s in statuses]
    assert ranks == sorted(ranks)


@PROFILE
@given(st.integers(1, 100_000), st.integers(0, 3), st.floats(-0.999, 0.999), tolerances)
def test_approx_is_met_at_the_precision_the_plan_states(units, decimals, u, tol):
    planned = units / 10**decimals  # a figure stated with `decimals` decimals
    half = 0.5 * 10.0**-decimals
    measured = planned + u * half  # rounds to the stated figure at that precision
    assert round(measured, decimals) == pytest.approx(planned) or abs(abs(u) - 1) < 1e-3
    miss_pct = abs(measured - planned) / planned * 100
    status = compare("approx", planned, measured, tolerance_pct=tol, half_step=half)
    if tol <= 0 or miss_pct <= tol * (1 - 1e-9):
        assert status == gis_settings.MET
    elif miss_pct > tol * (1 + 1e-9):  # a figure stated as "4" is not met by 4.47 with 10 %
        assert status == (gis_settings.SHORT if u < 0 else gis_settings.OVER)


@PROFILE
@given(st.integers(1, 100_000), st.integers(0, 3), st.floats(1.001, 50.0), st.sampled_from([-1, 1]), tolerances)
def test_approx_beyond_the_stated_precision_is_not_met(units, decimals, k, sign, tol):
    planned = units / 10**decimals
    half = 0.5 * 10.0**-decimals
    measured = planned + sign * k * half
    if measured <= 0:
        return
    miss_pct = abs(measured - planned) / planned * 100
    status = compare("approx", planned, measured, tolerance_pct=tol, half_step=half)
    assert status != gis_settings.MET
    if tol > 0 and miss_pct <= tol * (1 - 1e-9):
        assert status == gis_settings.WITHIN
    elif miss_pct > tol * (1 + 1e-9):
        assert status == (gis_settings.SHORT if sign < 0 else gis_settings.OVER)


@PROFILE
@given(st.sampled_from(gis_settings.COMPARATORS), planned_values, st.floats(0.0, 3.0), tolerances, st.integers(0, 3))
def test_every_status_is_one_the_evaluator_defines(comparator, planned, ratio, tol, decimals):
    status = compare(comparator, planned, planned * ratio, tolerance_pct=tol, half_step=0.5 * 10.0**-decimals)
    assert status in (gis_settings.MET, gis_settings.WITHIN, gis_settings.SHORT, gis_settings.OVER)
    if comparator == "at_least" or comparator == "more_than":
        assert status != gis_settings.OVER
    if comparator == "at_most":
        assert status != gis_settings.SHORT
