"""Tables of boundary points (界址点) as CSV, XLSX or plain TXT, read into parcels of points as written.

A header row names the columns (:data:`_ROLES`: 点号, X, Y, 圈号, 地块号, 地块名称, 面积 ...; the
title rows above it are skipped); without one, points are read by position (:func:`read_positional`).
:mod:`gis.io.boundary_points` reads the exchange TXT itself and makes the polygons.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook

from gis.errors import InputFileError
from gis.io.boundary_rings import Parcel, Point

#: Header names (lower case, no spaces, no unit in brackets) -> what the column holds.
_ROLES: dict[str, tuple[str, ...]] = {
    "point": ("点号", "界址点号", "界址点名", "点名", "界址点", "jzdh", "point", "pointid", "pointno", "pt"),
    "seq": ("序号", "no", "no."),
    "x": ("x", "x坐标", "坐标x", "纵坐标", "纵坐标x", "x纵坐标", "北坐标", "北坐标x", "x北坐标"),
    "y": ("y", "y坐标", "坐标y", "横坐标", "横坐标y", "y横坐标", "东坐标", "东坐标y", "y东坐标"),
    "northing": ("northing", "north", "n"),
    "easting": ("easting", "east", "e"),
    "lat": ("lat", "latitude", "纬度"),
    "lon": ("lon", "lng", "long", "longitude", "经度"),
    "ring": ("圈号", "地块圈号", "环号", "ring", "ringno"),
    "parcel": (
        "地块号",
        "地块编号",
        "地块编码",
        "地块代码",
        "宗地号",
        "宗地编号",
        "宗地代码",
        "parcel",
        "parcelid",
        "plot",
    ),
    "name": ("地块名称", "地块名", "宗地名称", "名称", "name", "parcelname"),
    "area": ("面积", "地块面积", "宗地面积", "用地面积", "area"),
}
_ROLE = {name: role for role, names in _ROLES.items() for name in names}
#: The coordinate columns a header may have: (first, second, whether the names say the first is the northing).
_PAIRS: tuple[tuple[str, str, bool | None], ...] = (
    ("x", "y", None),
    ("northing", "easting", True),
    ("lat", "lon", True),
)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


@dataclass
class Table:
    """Parcels as read, the names of the two coordinate columns, what the names say, every field."""

    parcels: list[Parcel] = field(default_factory=list)
    names: tuple[str, str] = ("X", "Y")
    named: bool | None = None
    fields: list[str] = field(default_factory=list)


def number(text: str) -> float | None:
    """Return a cell's number (thousands separated by commas or not); None when it is none."""
    text = text.strip().replace(" ", "")
    return float(text.replace(",", "")) if _NUMBER.fullmatch(text) else None


def _key(name: str) -> str:
    key = unicodedata.normalize("NFKC", name).lower()
    key = re.sub(r"\(.*?\)|\[.*?\]|[\s_\-/:]", "", key)
    return key


def _unit(header: str) -> str | None:
    text = unicodedata.normalize("NFKC", header).lower()
    for unit, words in (("ha", ("公顷", "ha", "hm2", "hm²")), ("m2", ("平方米", "m2", "m²", "㎡")), ("mu", ("亩",))):
        if any(w in text for w in words):
            return unit
    return None


def read_point(
    path: Path, where: str, label: str, ring: str | None, cells: tuple[str, str], table: Table, problems: list[str]
) -> Point | None:
    """Return a point from its cells as written; None, with the problem said, when a coordinate is no number."""
    values = [number(c) for c in cells]
    bad = [
        f"{name} {'is empty' if not text.strip() else repr(text.strip()) + ' is not a number'}"
        for name, text, v in zip(table.names, cells, values, strict=True)
        if v is None or not math.isfinite(v)
    ]
    if bad:
        problems.append(
            f"{path}: {where}, point {label or '(no number)'}: {' and '.join(bad)}. Correct the coordinate."
        )
        return None
    return Point(label, ring, values[0] or 0.0, values[1] or 0.0, where)


def read_area(path: Path, where: str, text: str, problems: list[str]) -> float | None:
    """Return a stated area as written (None when empty; with the problem said when it is no number)."""
    if not text.strip():
        return None
    value = number(text)
    if value is None:
        problems.append(f"{path}: {where}: the area {text.strip()!r} is not a number. Correct it or leave it empty.")
    return value


def _header(cells: list[str]) -> tuple[dict[str, int], tuple[str, str, bool | None]] | None:
    """Return a header row's columns by role and its coordinate pair; None when it is no header."""
    cols: dict[str, int] = {}
    for i, cell in enumerate(cells):
        role = _ROLE.get(_key(cell))
        if role is not None and role not in cols:
            cols[role] = i
    pair = next((p for p in _PAIRS if p[0] in cols and p[1] in cols), None)
    if pair is None:
        return None
    if "point" not in cols and "seq" in cols:
        cols["point"] = cols["seq"]
    return cols, pair


def read_table(path: Path, rows: list[tuple[str, list[str]]], problems: list[str], notes: list[str]) -> Table:
    """Read a table of points with a header row (else by position: :func:`read_positional`)."""
    found = next(((i, h) for i, (_, cells) in enumerate(rows[:30]) if (h := _header(cells)) is not None), None)
    if found is None:
        return read_positional(path, rows, problems, notes)
    start, (cols, (first, second, named)) = found
    head = rows[start][1]
    table = Table(
        names=(head[cols[first]].strip(), head[cols[second]].strip()), named=named, fields=[c for c in head if c]
    )
    if any(any(c.strip() for c in cells) for _, cells in rows[:start]):
        notes.append(f"{rows[start][0]}: the header; the rows above it skipped (a title)")
    unit = _unit(head[cols["area"]]) if "area" in cols else None
    if "point" not in cols:
        notes.append("no point-number column (点号): a ring closes where its first point's coordinates come again")
    by_number: dict[str, Parcel] = {}
    current: Parcel | None = None
    skipped: list[str] = []
    for where, cells in rows[start + 1 :]:

        def get(role: str, cells: list[str] = cells) -> str:
            return cells[cols[role]].strip() if role in cols and cols[role] < len(cells) else ""

        if not any(c.strip() for c in cells) or _header(cells) is not None:  # a blank row or a repeated header
            current = None if "parcel" not in cols else current
            continue
        label, coords = get("point"), (get(first), get(second))
        if not any(coords):
            if label:
                problems.append(
                    f"{path}: {where}, point {label}: no coordinates. Fill them in; a parcel's title goes in a "
                    "地块号 column, or on a line of its own after a blank row."
                )
            else:
                skipped.append(where)
            continue
        number, name = get("parcel"), get("name")
        if "parcel" in cols:
            number = number or (current.number if current else "") or ""
            current = by_number.get(number)
        elif current is not None and name and current.name and name != current.name:
            current = None
        if current is None:
            current = Parcel(number or None, name or None, None, where, unit=unit)
            table.parcels.append(current)
            by_number[number] = current
        current.name = current.name or name or None
        if current.stated is None:
            current.stated = read_area(path, where, get("area"), problems)
        ring = get("ring") or (current.points[-1].ring if current.points else None)
        point = read_point(path, where, label, ring, coords, table, problems)
        if point is not None:
            current.points.append(point)
    if skipped:
        notes.append(f"{len(skipped)} row(s) without coordinates skipped (e.g. {skipped[0]})")
    return table


def read_positional(path: Path, rows: list[tuple[str, list[str]]], problems: list[str], notes: list[str]) -> Table:
    """Read points by position: ``点号,X,Y``, ``点号,圈号,X,Y`` or ``点号,编码,Y,X,H`` (see the module's docstring)."""
    table = Table(names=("the first coordinate", "the second coordinate"))
    current: Parcel | None = None
    extra = False
    for where, raw in rows:
        cells = [c.strip() for c in raw]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            current = None
            continue
        if len(cells) == 1 and number(cells[0]) is None:
            current = Parcel(None, cells[0], None, where)
            table.parcels.append(current)
            continue
        label, ring, rest = (cells[0], None, cells[1:]) if len(cells) > 2 else ("", None, cells)
        if len(rest) >= 3:
            code = number(rest[0])
            if code is None or (float(code).is_integer() and abs(code) < 1000):
                ring = rest[0] if code is not None else None
                rest = rest[1:]
        extra = extra or len(rest) > 2
        if len(rest) < 2:
            problems.append(f"{path}: {where}: expected 点号,X,Y (or 点号,圈号,X,Y); found {','.join(cells)!r}.")
            continue
        if current is None:
            current = Parcel(None, None, None, where)
            table.parcels.append(current)
        point = read_point(path, where, label, ring, (rest[0], rest[1]), table, problems)
        if point is not None:
            current.points.append(point)
    notes.append(
        "no header row: columns read by position (点号, [圈号,] X, Y)" + ("; later columns ignored" if extra else "")
    )
    return table


def csv_rows(text: str) -> list[tuple[str, list[str]]]:
    """Return a CSV's rows with their line numbers (the delimiter, comma, semicolon or tab, from the first line)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    return [(f"line {reader.line_num}", row) for row in reader]


def txt_rows(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Return a plain TXT's lines split at commas, else tabs, else spaces, with their line numbers."""
    rows = []
    for i, raw in enumerate(lines, 1):
        line = raw.replace("，", ",")
        cells = line.split(",") if "," in line else line.split("\t") if "\t" in line else line.split()
        rows.append((f"line {i}", cells))
    return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def read_xlsx(path: Path, problems: list[str], notes: list[str]) -> Table:
    """Read every sheet of a workbook with a header of points (else its first sheet by position) into one table.

    With several such sheets, a parcel without a name takes its sheet's.
    """
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            sheets = [
                (
                    ws.title,
                    [
                        (f"sheet {ws.title!r} row {i}", [_cell(v) for v in row])
                        for i, row in enumerate(ws.iter_rows(values_only=True), 1)
                    ],
                )
                for ws in wb.worksheets
            ]
        finally:
            wb.close()
    except Exception as exc:  # openpyxl raises several types for files that are no workbook
        raise InputFileError(
            f"{path}: cannot be read as an .xlsx workbook ({type(exc).__name__}: {exc}). "
            "Save it again as .xlsx (not .xls, not a renamed CSV)."
        ) from exc
    with_header = [(t, rows) for t, rows in sheets if any(_header(c) is not None for _, c in rows[:30])]
    if len(with_header) > 1:
        notes.append(f"sheets read: {', '.join(repr(t) for t, _ in with_header)}")
    merged = Table()
    for title, rows in with_header or sheets[:1]:
        table = read_table(path, rows, problems, notes)
        for parcel in table.parcels if len(with_header) > 1 else ():
            parcel.name = parcel.name or title  # a sheet per parcel: the sheet's name is the parcel's
        merged.parcels += table.parcels
        merged.names, merged.named = (table.names, table.named) if not merged.fields else (merged.names, merged.named)
        merged.fields += [f for f in table.fields if f not in merged.fields]
    return merged
