"""Polygons from the points of a boundary-point table (界址点): X/Y order, rings, holes and parts.

:mod:`gis.io.boundary_points` reads the table into :class:`Parcel` s of :class:`Point` s as
written (the two coordinates in the table's column order); this module decides which coordinate is
the northing (:func:`axis_order`, from their magnitudes) and makes each parcel's polygon
(:func:`parcel_geometry`). Every problem is said with the parcel, the point and its line or row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from gis.errors import InputError

#: How far (in metres; in degrees for lon/lat) a closing point may lie from the ring's first point.
CLOSE_M = 0.05
CLOSE_DEG = 5e-7


@dataclass
class Point:
    """A boundary point as written: its number, its ring number, its two coordinates in column order, where it is."""

    label: str
    ring: str | None
    first: float  # the first coordinate column (X in the survey convention)
    second: float
    where: str  # "line 12", "sheet 'Sheet1' row 12"


@dataclass
class Parcel:
    """A parcel (地块) as written: number, name, the area it states (and the unit the table names), its points."""

    number: str | None
    name: str | None
    stated: float | None
    where: str
    points: list[Point] = field(default_factory=list)
    unit: str | None = None  # "ha", "m2" or "mu" when the table names the area's unit

    def __str__(self) -> str:
        own = f" {self.number}" if self.number else ""
        name = f" ({self.name})" if self.name else ""
        return f"parcel{own}{name} from {self.where}"


def _kind(v: float) -> str:
    """Say what a coordinate looks like by its size: N(orthing), E(asting), lat, lon, or ? (none of them)."""
    a = abs(v)
    if 1e6 <= a < 1e7:
        return "N"  # 7 digits before the point: a northing in China (2,400,000-2,600,000 in Shenzhen)
    if 1e5 <= a < 1e6 or 1e7 <= a < 1e8:
        return "E"  # 6 digits, or 8 with the zone number prefixed (38,xxx,xxx in Shenzhen)
    if 0 < a <= 90:
        return "lat"
    return "lon" if 90 < a <= 180 else "?"


_NORTH_FIRST = {("N", "E"), ("lat", "lon")}
_EAST_FIRST = {("E", "N"), ("lon", "lat")}


def axis_order(source: str, points: list[Point], names: tuple[str, str], named: bool | None) -> tuple[bool, str]:
    """Return whether the first coordinate column is the northing (or latitude), and the note that says why.

    Decided from the magnitudes: a northing has 7 digits before the decimal point, an easting 6, or
    8 with the zone number prefixed (a latitude is under 90, a longitude over it, as in Shenzhen).
    ``named`` is what the columns' English names say (True: northing first), None when they say
    nothing; the names are followed, but refused when every point says the opposite.

    Raises
    ------
    InputError
        Points that do not fit the order of the others (named with line and point), or
        coordinates whose order their magnitudes do not tell and no column name says.
    """
    kinds = [(_kind(p.first), _kind(p.second)) for p in points]
    north = sum(k in _NORTH_FIRST for k in kinds)
    east = sum(k in _EAST_FIRST for k in kinds)
    x, y = names
    if named is not None:
        if (east if named else north) == len(points) > 0:
            said, held = ("northing", "eastings") if named else ("easting", "northings")
            raise InputError(
                f"{source}: the column named {x} ({said}) holds {held} and {y} the other, by their magnitudes "
                f"(e.g. point {points[0].label}: {x}={points[0].first:,.3f}, {y}={points[0].second:,.3f}). "
                "Swap the two column names."
            )
        order = named
        why = "as the columns' names say"
    elif north == east == 0:
        xs, ys = [p.first for p in points], [p.second for p in points]
        raise InputError(
            f"{source}: its coordinates ({x} {min(xs):,.3f} to {max(xs):,.3f}, {y} {min(ys):,.3f} to {max(ys):,.3f}) "
            "are neither "
            "CGCS2000 Gauss-Kruger metres (a northing of 7 digits before the decimal point, an easting of 6, or 8 "
            "with the zone number 38 prefixed) nor longitude/latitude. A local grid (e.g. 深圳独立坐标系) must be "
            "converted to CGCS2000 first; a table whose columns are named easting and northing is read as named."
        )
    else:
        order = north >= east
        why = "told by their magnitudes (northings have 7 digits before the decimal point, eastings 6, or 8 with the zone prefix)"
    wrong = [p for p, k in zip(points, kinds, strict=True) if k not in (_NORTH_FIRST if order else _EAST_FIRST)]
    if wrong and (north if order else east) > 0:  # named columns none of whose points tell: taken as named
        shown = "; ".join(f"point {p.label} ({p.where}): {x}={p.first:,.3f}, {y}={p.second:,.3f}" for p in wrong[:5])
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        first, second = ("northing", "easting") if order else ("easting", "northing")
        raise InputError(
            f"{source}: {len(wrong)} point(s) do not read as a {first} ({x}) and an {second} ({y}) like the table's others: "
            f"{shown}{more}. Check their digits (a northing has 7 before the decimal point, an easting 6, or 8 with "
            "the zone number 38)."
        )
    lonlat = all(k in (("lat", "lon"), ("lon", "lat")) for k in kinds)
    if not lonlat:
        _same_prefix(source, points, order, names)
        a, b, convention = "northing", "easting", " (the Chinese survey convention)"
    else:
        a, b, convention = "latitude", "longitude", ""
        why = why if named is not None else "told by their magnitudes"
    if order:
        text = f"{x} is the {a} and {y} the {b}{convention}"
    else:
        text = f"{x} is the {b} and {y} the {a}" + (" (the survey convention's X and Y swapped)" if convention else "")
    return order, f"{text}, {why}"


def _same_prefix(source: str, points: list[Point], northing_first: bool, names: tuple[str, str]) -> None:
    """Refuse eastings of which some carry the zone number and others not, naming the odd ones out."""
    column = names[1] if northing_first else names[0]
    prefixed = [abs(p.second if northing_first else p.first) >= 1e7 for p in points]
    if all(prefixed) or not any(prefixed):
        return
    most = sum(prefixed) * 2 >= len(points)
    odd = [p for p, flag in zip(points, prefixed, strict=True) if flag != most]
    shown = "; ".join(
        f"point {p.label} ({p.where}): {column}={p.second if northing_first else p.first:,.3f}" for p in odd[:5]
    )
    more = f" and {len(odd) - 5} more" if len(odd) > 5 else ""
    raise InputError(
        f"{source}: {len(odd)} point(s) have an easting {'without' if most else 'with'} the zone number 38 in front, "
        f"the table's others {'with' if most else 'without'} it: {shown}{more}. Write all the eastings the same way."
    )


def _xy(p: Point, northing_first: bool) -> tuple[float, float]:
    return (p.second, p.first) if northing_first else (p.first, p.second)


def _split(points: list[Point]) -> list[tuple[list[Point], bool]]:
    """Return a parcel's rings as written, each with whether it was closed by repeating its first point number.

    A ring ends where its first point's number comes again (that point closes it; the next point
    starts another ring), where the ring number (圈号) changes, or at the parcel's end.
    """
    rings: list[tuple[list[Point], bool]] = []
    current: list[Point] = []
    for p in points:
        if current and p.ring != current[0].ring:
            rings.append((current, False))
            current = []
        if len(current) >= 2 and p.label and p.label == current[0].label:
            rings.append(([*current, p], True))
            current = []
            continue
        current.append(p)
    if current:
        rings.append((current, False))
    return rings


def _crossing(xy: np.ndarray) -> tuple[int, int] | None:
    """Return the first two edges of a ring (edge i runs from point i to the next) that cross or double back."""
    n = len(xy)
    edges = shapely.linestrings(np.stack([xy, np.roll(xy, -1, axis=0)], axis=1))
    left, right = shapely.STRtree(edges).query(edges, predicate="intersects")
    for i, j in sorted(zip(left.tolist(), right.tolist(), strict=True)):
        if i >= j:
            continue
        if j == i + 1 or (i == 0 and j == n - 1):  # neighbours share a point; only an overlap is wrong
            if shapely.intersection(edges[i], edges[j]).length > 0:
                return i, j
            continue
        return i, j
    return None


def _ring(
    parcel: Parcel, points: list[Point], by_number: bool, northing_first: bool, notes: list[str], problems: list[str]
) -> tuple[np.ndarray | None, str]:
    """Return a ring's coordinates (open: the first point not repeated) and how it closed; None on a problem."""
    xy = np.array([_xy(p, northing_first) for p in points], dtype=float)
    tol = CLOSE_DEG if np.abs(xy).max() < 1000 else CLOSE_M
    unit = "degrees" if tol == CLOSE_DEG else "m"
    first, last = points[0], points[-1]
    gap = math.dist(xy[0], xy[-1])
    if by_number:
        if gap > tol:
            problems.append(
                f"{parcel}: point {last.label} ({last.where}) repeats the number of the ring's first point "
                f"({first.where}) to close the ring, but lies {gap:.3g} {unit} from it. Correct its coordinates, "
                "or give it a number of its own."
            )
            return None, ""
        if gap > 0:
            notes.append(
                f"{parcel}: ring closed on point {first.label}; its repeat at {last.where} is {gap:.3g} {unit} off"
            )
        how, keep = "number", xy[:-1]
    elif len(xy) > 1 and gap <= tol:
        how, keep = "coordinates", xy[:-1]
    else:
        how, keep = "end", xy
    kept = [0]
    for i in range(1, len(keep)):
        if (keep[i] == keep[kept[-1]]).all():
            notes.append(
                f"{parcel}: point {points[i].label} ({points[i].where}) dropped: "
                f"the same coordinates as point {points[kept[-1]].label} before it"
            )
        else:
            kept.append(i)
    if len(kept) > 1 and (keep[kept[-1]] == keep[0]).all():
        kept.pop()  # the last point repeats the first under another number
    ring = keep[kept]
    named = [points[i] for i in kept]
    span = f"{first.where} to {last.where}" if len(points) > 1 else first.where
    if len(ring) < 3:
        problems.append(
            f"{parcel}: its ring at {span} has {len(ring)} distinct point(s)"
            f"{' (' + ', '.join(p.label for p in named) + ')' if all(p.label for p in named) else ''}; "
            "a ring needs at least 3. Add its missing points."
        )
        return None, how
    if shapely.area(shapely.convex_hull(shapely.multipoints(ring))) == 0:
        problems.append(f"{parcel}: the points of its ring at {span} lie on one line (no area). Check the coordinates.")
        return None, how
    crossing = _crossing(ring)
    if crossing is not None:
        i, j = crossing
        a, b = named[i], named[(i + 1) % len(named)]
        c, d = named[j], named[(j + 1) % len(named)]
        problems.append(
            f"{parcel}: its ring crosses itself: the edge {a.label}-{b.label} ({a.where}) and the edge "
            f"{c.label}-{d.label} ({c.where}) cross or overlap. Check the order and the coordinates of these points."
        )
        return None, how
    return ring, how


def parcel_geometry(
    parcel: Parcel, northing_first: bool, notes: list[str], problems: list[str], closed: dict[str, int]
) -> Polygon | MultiPolygon | None:
    """Return a parcel's polygon, in the table's frame; None when it has a problem (appended to ``problems``).

    Rings: a ring ends where its first point's number comes again, where the ring number (圈号)
    changes, or at the end of the parcel; a last point on the first point's coordinates closes it
    too, and a ring with neither is closed implicitly (``closed`` counts each way). A point on the
    coordinates of the point before it is dropped, with a note.

    Holes and parts, by nesting: a ring inside another ring of the same parcel is a hole in it, a
    ring inside that hole an island (another part), and a ring outside every other ring another part
    (the parcel is then a MultiPolygon). The exchange format numbers the outer ring 1 and the inner
    rings (holes) 2 and up, which this rule reads as such; a ring numbered 2 that lies outside ring
    1 (some offices number a parcel's separate pieces so) is read as another part, and the notes
    say how many parts and holes a parcel has. Rings whose insides overlap are refused, as is a
    ring with fewer than 3 distinct points, with no area or crossing itself.
    """
    if not parcel.points:
        problems.append(f"{parcel}: has no points. Add its points after its line, or remove it.")
        return None
    rings: list[np.ndarray] = []
    spans: list[str] = []
    written = _split(parcel.points)
    for points, by_number in written:
        ring, how = _ring(parcel, points, by_number, northing_first, notes, problems)
        if how:
            closed[how] = closed.get(how, 0) + 1
        if ring is not None:
            rings.append(ring)
            label = f"ring {points[0].ring} " if points[0].ring else "ring "
            spans.append(f"{label}at {points[0].where}")
    if len(rings) != len(written):
        return None
    polys = [Polygon(r) for r in rings]
    inside = [[j for j in range(len(polys)) if j != i and polys[j].contains(polys[i])] for i in range(len(polys))]
    for i in range(len(polys)):
        for j in range(i + 1, len(polys)):
            same = j in inside[i] and i in inside[j]
            if same or (i not in inside[j] and j not in inside[i] and polys[i].relate_pattern(polys[j], "T********")):
                problems.append(
                    f"{parcel}: its {spans[i]} and {spans[j]} overlap without one lying inside the other. "
                    "A ring inside another is a hole, one apart another part: check their points."
                )
                return None
    depth = [len(c) for c in inside]
    parts = []
    for i, ring in enumerate(rings):
        if depth[i] % 2 == 0:
            holes = [rings[h] for h in range(len(rings)) if depth[h] == depth[i] + 1 and i in inside[h]]
            parts.append(Polygon(ring, holes))
    geom: Polygon | MultiPolygon = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    if not shapely.is_valid(geom):
        problems.append(
            f"{parcel}: its rings do not make a valid outline ({shapely.is_valid_reason(geom)}). "
            "Check the points where its rings meet."
        )
        return None
    if len(parts) > 1:
        notes.append(f"{parcel}: {len(parts)} parts (rings lying apart)")
    holes_n = sum(len(p.interiors) for p in parts)
    if holes_n:
        notes.append(f"{parcel}: {holes_n} hole(s) (rings inside its outer ring)")
    return geom
