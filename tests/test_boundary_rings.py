"""Polygons from boundary points (``gis.io.boundary_rings``): the X/Y order, rings, holes and parts.

The points are written here as a table gives them (X the northing, Y the easting, EPSG:4547); the
expected polygons are built with shapely from the same numbers.
"""

from __future__ import annotations

import pytest
import shapely

from gis.errors import InputError
from gis.io.boundary_rings import Parcel, Point, axis_order, parcel_geometry

E0, N0 = 526_000.0, 2_513_000.0


def square(tag: str, e: float, n: float, size: float, ring: str | None = None) -> list[Point]:
    """A square ring written anticlockwise from its south-west corner, closed by repeating its first number."""
    corners = [(e, n), (e + size, n), (e + size, n + size), (e, n + size), (e, n)]
    return [Point(f"{tag}{i % 4 + 1}", ring, y, x, f"line {i + 1}") for i, (x, y) in enumerate(corners)]


def build(points: list[Point]) -> tuple[object, list[str], list[str], dict[str, int]]:
    notes: list[str] = []
    problems: list[str] = []
    closed: dict[str, int] = {}
    geom = parcel_geometry(Parcel("P1", None, None, "line 1", points), True, notes, problems, closed)
    return geom, notes, problems, closed


def test_outer_hole_island_and_separate_part():
    """Nesting decides: a ring in the outer ring is a hole, a ring in the hole an island, one apart a part."""
    rings = square("A", E0, N0, 300) + square("B", E0 + 50, N0 + 50, 200) + square("C", E0 + 100, N0 + 100, 100)
    rings += square("D", E0 + 1000, N0, 10)
    geom, notes, problems, closed = build(rings)
    assert problems == []
    box = shapely.box
    want = shapely.MultiPolygon(
        [
            shapely.Polygon(
                box(E0, N0, E0 + 300, N0 + 300).exterior, [box(E0 + 50, N0 + 50, E0 + 250, N0 + 250).exterior]
            ),
            box(E0 + 100, N0 + 100, E0 + 200, N0 + 200),
            box(E0 + 1000, N0, E0 + 1010, N0 + 10),
        ]
    )
    assert geom.equals(want)
    assert geom.area == pytest.approx(300**2 - 200**2 + 100**2 + 10**2, abs=1e-6)
    assert closed == {"number": 4}
    assert "P1" in notes[0] and "3 parts" in notes[0]


def test_ring_numbers_separate_rings_and_close_them_implicitly():
    outer = [p for p in square("A", E0, N0, 100, "1")[:4]]
    hole = [p for p in square("H", E0 + 10, N0 + 10, 20, "2")[:4]]
    geom, _, problems, closed = build(outer + hole)
    assert problems == [] and closed == {"end": 2}
    assert geom.equals(
        shapely.Polygon(
            shapely.box(E0, N0, E0 + 100, N0 + 100).exterior, [shapely.box(E0 + 10, N0 + 10, E0 + 30, N0 + 30).exterior]
        )
    )


def test_collinear_points_refused():
    points = [Point(str(i), None, N0, E0 + 10 * i, f"line {i}") for i in range(1, 5)]
    _, _, problems, _ = build(points)
    assert len(problems) == 1 and "lie on one line" in problems[0]


def test_axis_order_from_magnitudes_and_names():
    points = square("A", E0, N0, 10)
    assert axis_order("t.csv", points, ("X", "Y"), None)[0] is True
    swapped = [Point(p.label, p.ring, p.second, p.first, p.where) for p in points]
    order, note = axis_order("t.csv", swapped, ("X", "Y"), None)
    assert order is False and "X is the easting" in note
    lonlat = [Point("1", None, 22.7, 114.25, "line 1"), Point("2", None, 22.71, 114.25, "line 2")]
    assert axis_order("t.csv", lonlat, ("X", "Y"), None) == (
        True,
        "X is the latitude and Y the longitude, told by their magnitudes",
    )
    with pytest.raises(InputError, match="Swap the two column names"):
        axis_order("t.csv", swapped, ("northing", "easting"), True)
    local = [Point("1", None, 30_000.0, 20_000.0, "line 1")]
    with pytest.raises(InputError, match="深圳独立坐标系"):
        axis_order("t.csv", local, ("X", "Y"), None)
    assert axis_order("t.csv", local, ("easting", "northing"), False)[0] is False  # named: taken as named
