"""Reading a boundary-point table (界址点坐标表) into parcels in EPSG:4547.

Formats:

- the exchange TXT of land surveys (勘测定界 / 建设用地报批 电子报盘格式): a ``[属性描述]`` section
  of ``key=value`` lines (坐标系, 几度分带, 带号, 计量单位 ...) and a ``[地块坐标]`` section where a
  line ``界址点数,地块面积,地块编号,地块名称,图形属性,...,@`` starts each parcel and lines
  ``点号,圈号,X,Y`` follow. 地块面积 is in hectares (公顷): so say the format's published
  requirements, e.g. 建设项目用地红线坐标文件内容要求 ("地块面积:地块的面积,单位为公顷") and the
  format's write-ups (DKMJ 地块面积(公顷); 圈号 1 the outer ring, 2 and up inner rings);
- CSV (UTF-8, with or without BOM, or GBK: detected) and XLSX with a header row naming the point
  number (点号, 界址点号, 点名), X and Y (纵坐标X/横坐标Y, 北坐标/东坐标, or easting/northing,
  longitude/latitude named in English), and optionally the ring (圈号), parcel (地块号, 地块编号,
  宗地号), parcel name (地块名称) and area (面积, its unit from the header: 公顷, 平方米, 亩). Without
  a parcel column, parcels are separated by blank rows or a repeated header. Every sheet of a
  workbook with such a header is read;
- a plain TXT (or CSV) without header: ``点号,X,Y`` (commas, tabs or spaces), ``点号,圈号,X,Y`` (a
  small whole number after the point number is its ring), ``点号,编码,Y,X,H`` (CASS: a text code
  is skipped, a column after the coordinates ignored); a blank line or a line of one word (the
  parcel's name) starts another parcel.

X and Y: which is the northing is told by the magnitudes (:func:`gis.io.boundary_rings.axis_order`;
Chinese surveys write X for the northing), unless the columns are named in English. The frame is
the one ``[属性描述]`` declares (2000国家大地坐标系 with 带号 38: EPSG:4526 when the eastings carry the
zone prefix 38, else EPSG:4547; Xian 1980 and Beijing 1954 are refused with the ``--from-crs``
that would read them), else detected from the coordinates as for imports
(:func:`gis.io.delivery.choose_frame`). Rings, holes and parts: :func:`gis.io.boundary_rings.parcel_geometry`.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gis.crs import AREA_CRS
from gis.errors import InputError, InputFileError
from gis.io.boundary_rings import Parcel, axis_order, parcel_geometry
from gis.io.boundary_tables import Table, csv_rows, read_area, read_point, read_table, read_xlsx, txt_rows
from gis.io.delivery import Delivery, choose_frame, to_area_crs
from gis.io.vector import _decodes_as_gbk, _is_utf8, _require_file, unknown_encoding

log = logging.getLogger(__name__)

#: The suffixes of boundary-point tables.
BOUNDARY_POINT_SUFFIXES = (".csv", ".xlsx", ".txt")
#: Problems listed in one error, at most.
MAX_PROBLEMS = 20
#: Old frames [属性描述] may name: (words, name, EPSG of 3-degree CM 114E, of zone 38 with the prefix).
_OLD_DATUMS = (
    (("西安", "XIAN", "80"), ("Xian 1980 (西安80)", 2383, 2362)),
    (("北京", "BEIJING", "54"), ("Beijing 1954 (北京54)", 2435, 2414)),
)
_HA_PER = {"ha": 1.0, "m2": 1e-4, "mu": 1 / 15}  # 1 亩 = 10000/15 m²


def _decode(path: Path, encoding: str | None, notes: list[str]) -> tuple[str, str]:
    """Return a text file's text and the encoding used: UTF-8 (BOM or not), else GBK, or ``encoding``."""
    raw = path.read_bytes()
    if _is_utf8(path):
        if encoding is not None and encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
            notes.append(f"{{p:encoding}} {encoding} ignored: the file is UTF-8")
        elif not raw.isascii():
            notes.append("encoding UTF-8" + (" (with a byte-order mark)" if raw.startswith(b"\xef\xbb\xbf") else ""))
        return raw.decode("utf-8-sig"), "UTF-8"
    if encoding is not None:
        try:
            text = raw.decode(encoding)
        except LookupError as exc:
            raise unknown_encoding(encoding) from exc
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{path}: the text is not {encoding} ({exc.reason} at byte {exc.start}). "
                "Pass {p:encoding} with the file's encoding (gbk, utf-8), or save it as UTF-8."
            ) from exc
        notes.append(f"text read as {encoding}, as {{p:encoding}} says")
        return text, encoding
    sample = _decodes_as_gbk(path)
    try:
        text = raw.decode("gb18030") if sample is not None else ""
    except UnicodeDecodeError:
        sample = None
    if sample is None:
        raise InputFileError(
            f"{path}: the text is neither UTF-8 nor GBK. Pass {{p:encoding}} with its encoding (e.g. big5), "
            "or save the table as UTF-8."
        )
    notes.append(
        f"encoding GBK (read as GB18030), detected: the text is not UTF-8 and reads as {sample!r} in GBK; "
        "pass {p:encoding} if the names look wrong"
    )
    return text, "GB18030"


def _exchange(path: Path, lines: list[str], problems: list[str], notes: list[str]) -> tuple[Table, dict[str, str]]:
    """Read the exchange TXT: the ``[属性描述]`` pairs, and parcels with their points from ``[地块坐标]``."""
    table = Table(fields=["界址点数", "地块面积", "地块编号", "地块名称", "图形属性", "点号", "圈号", "X", "Y"])
    attrs: dict[str, str] = {}
    counts: list[str] = []
    section = None
    for i, raw in enumerate(lines, 1):
        line, where = raw.strip().replace("，", ","), f"line {i}"
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == "属性描述":
            key, eq, value = line.partition("=")
            if eq:
                attrs[key.strip()] = value.strip()
            continue
        if section != "地块坐标":
            continue
        cells = [c.strip() for c in line.split(",")]
        if cells[-1] == "@":
            if len(cells) < 5:
                problems.append(
                    f"{path}: {where}: a parcel line has 界址点数,地块面积,地块编号,地块名称,图形属性,... ending in @; "
                    f"this one has {len(cells) - 1} field(s). Complete it."
                )
                continue
            if cells[4] not in ("", "面"):
                problems.append(
                    f"{path}: {where}: parcel {cells[2]} is recorded as {cells[4]!r} (图形属性), not 面 (an area): "
                    "only an area has an outline. Remove the parcel or record it as 面."
                )
            table.parcels.append(
                Parcel(cells[2] or None, cells[3] or None, read_area(path, where, cells[1], problems), where)
            )
            counts.append(cells[0])
        elif not table.parcels:
            problems.append(
                f"{path}: {where}: a point before any parcel line (界址点数,地块面积,地块编号,...,@). Add the parcel's line."
            )
        elif len(cells) < 4:
            problems.append(f"{path}: {where}: expected 点号,圈号,X,Y; found {line!r}. Complete the point's line.")
        else:
            point = read_point(path, where, cells[0], cells[1] or None, (cells[2], cells[3]), table, problems)
            if point is not None:
                table.parcels[-1].points.append(point)
    for parcel, count in zip(table.parcels, counts, strict=True):
        if count.isdigit() and int(count) != len(parcel.points):
            notes.append(f"{parcel}: 界址点数 says {count} points, {len(parcel.points)} follow")
    return table, attrs


def _declaration(path: Path, attrs: dict[str, str], eastings: np.ndarray) -> tuple[str | None, str]:
    """Return the frame ``[属性描述]`` declares (None when it names no coordinate system) and a note."""
    system = attrs.get("坐标系", "").strip()
    unit = attrs.get("计量单位", "").strip().lower()
    if unit not in ("", "米", "m", "meter", "metre"):
        raise InputError(f"{path}: [属性描述] 计量单位={unit}: the coordinates must be in metres (米). Convert them.")
    if not system:
        return None, "[属性描述] names no 坐标系"
    key = system.upper().replace(" ", "")
    if not any(w in key for w in ("2000", "CGCS")):
        old = next((o for words, o in _OLD_DATUMS if any(w in key for w in words)), None)
        if old is None:
            raise InputError(
                f"{path}: [属性描述] 坐标系={system} is no frame the toolkit knows (2000国家大地坐标系 is). "
                "Pass {p:from_crs} with the table's frame (EPSG:N)."
            )
        raise InputError(
            f"{path}: [属性描述] 坐标系={system}: the table is in {old[0]}, not CGCS2000, and PROJ has no datum shift "
            "between them (positions would be off by metres or more). Ask for the table in 2000国家大地坐标系, or "
            f"pass {{p:from_crs}} EPSG:{old[1]} (EPSG:{old[2]} when the eastings carry the zone prefix 38) to read it "
            "approximately."
        )
    band = attrs.get("几度分带", "").strip() or "3"
    zone_text = attrs.get("带号", "").strip()
    prefixed = bool(len(eastings)) and bool((eastings >= 1e7).all())
    prefix = int(eastings.min() // 1e6) if prefixed else None
    if band not in ("3", "6") or (zone_text and not zone_text.isdigit()):
        raise InputError(
            f"{path}: [属性描述] 几度分带={band}, 带号={zone_text}: expected 3 (or 6) and a zone number. Correct them."
        )
    zone = int(zone_text) if zone_text else prefix
    if prefix is not None and zone != prefix:
        raise InputError(
            f"{path}: [属性描述] says 带号={zone}, but the eastings carry the zone number {prefix} "
            f"(e.g. {eastings.min():,.3f}). Correct one of them."
        )
    if zone is None:
        return None, f"[属性描述] names {system} but no 带号, and the eastings carry no zone prefix"
    first, low = ((4513, 25) if prefixed else (4534, 25)) if band == "3" else ((4491, 13) if prefixed else (4502, 13))
    if not 0 <= zone - low <= (20 if band == "3" else 10):
        raise InputError(f"{path}: [属性描述] 带号={zone} is no {band}-degree zone of China. Correct it.")
    return f"EPSG:{first + zone - low}", f"[属性描述] declares {system}, {band}-degree zone {zone}"


def _stated_ha(parcel: Parcel, computed: float, notes: list[str]) -> float:
    """Return the area a parcel states in ha (NaN when none), noting a unit guessed and a mismatch over 1 %."""
    if parcel.stated is None:
        return math.nan

    def close(ha: float) -> bool:
        return abs(ha - computed) <= 0.01 * computed

    factor = _HA_PER.get(parcel.unit or "")
    if factor is None:  # unnamed: hectares, as the exchange format states it, unless it matches as m²
        factor = 1e-4 if not close(parcel.stated) and close(parcel.stated * 1e-4) else 1.0
        if factor != 1.0:
            notes.append(
                f"{parcel}: its stated area {parcel.stated:g} read as m² (it matches the outline in m², not in ha)"
            )
    ha = parcel.stated * factor
    if not close(ha):
        notes.append(
            f"{parcel}: the table states {ha:.4f} ha, the outline measures {computed:.4f} ha "
            f"({(ha - computed) / computed:+.1%}); the outline's area is used"
        )
    return ha


def read_boundary_points(path: Path, *, from_crs: str | None = None, encoding: str | None = None) -> Delivery:
    """Read a boundary-point table into one polygon per parcel in EPSG:4547 (see the module's docstring).

    The ``gdf`` has ``fid`` (the parcel's number as text, else its place: "1", "2" ...), ``name_zh``
    (its name or None), ``stated_area_ha`` (the area the table states, in ha; NaN when none) and
    the geometry; ``notes`` say the encoding, X/Y order, frame, how rings closed and stated areas
    that differ from the outline's by more than 1 %.

    Raises
    ------
    InputError
        One message per problem, naming the file, the line or row, the point and how to fix it.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in BOUNDARY_POINT_SUFFIXES:
        raise InputError(f"{path}: is no boundary-point table the toolkit reads; save it as .csv, .xlsx or .txt.")
    if not path.exists():
        raise InputFileError(f"{path}: no such file (boundary-point table). Check the path.")
    _require_file(path, what="boundary-point table")
    notes: list[str] = []
    problems: list[str] = []
    attrs: dict[str, str] = {}
    used: str | None = None
    if suffix == ".xlsx":
        if encoding is not None:
            notes.append(f"{{p:encoding}} {encoding} ignored: a workbook's text is Unicode")
        kind, table = "XLSX", read_xlsx(path, problems, notes)
    else:
        text, used = _decode(path, encoding, notes)
        lines = text.splitlines()
        if suffix == ".txt" and any(line.strip() == "[地块坐标]" for line in lines):
            kind, (table, attrs) = "TXT 报部格式", _exchange(path, lines, problems, notes)
        else:
            kind = suffix[1:].upper()
            table = read_table(path, csv_rows(text) if suffix == ".csv" else txt_rows(lines), problems, notes)
    _raise(problems)
    points = [p for parcel in table.parcels for p in parcel.points]
    if not points:
        raise InputError(f"{path}: holds no boundary point (点号, X, Y). Check that it is the right file.")
    northing_first, why = axis_order(str(path), points, table.names, table.named)
    notes.append(f"X/Y: {why}")
    xy = np.array([(p.second, p.first) if northing_first else (p.first, p.second) for p in points])
    declared = None
    if attrs:
        try:
            declared, said = _declaration(path, attrs, xy[:, 0])
        except InputError:
            if not from_crs:
                raise
            declared, said = (
                None,
                f"[属性描述] 坐标系={attrs.get('坐标系', '')} set aside: {{p:from_crs}} says the frame",
            )
        notes.append(said)
    bounds = (float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max()))
    frame, why = choose_frame(path, declared, declared is not None, bounds, from_crs)
    notes.append(why)
    closed: dict[str, int] = {}
    found: list[str] = []
    geoms = [parcel_geometry(p, northing_first, notes, found, closed) for p in table.parcels]
    problems += [f"{path}: {m}" for m in found]
    fids = [p.number or str(i) for i, p in enumerate(table.parcels, 1)]
    for fid in sorted(f for f, n in Counter(fids).items() if n > 1):
        problems.append(
            f"{path}: parcel number {fid} is used by several parcels "
            f"({', '.join(p.where for p, f in zip(table.parcels, fids, strict=True) if f == fid)}). Number them apart."
        )
    _raise(problems)
    ways = {
        "number": "by repeating the first point's number",
        "coordinates": "by repeating its coordinates",
        "end": "implicitly at the end",
    }
    notes.append("rings closed: " + "; ".join(f"{n} {ways[w]}" for w, n in closed.items()))
    moved = to_area_crs(np.array(geoms, dtype=object), frame)
    computed = shapely.area(moved) / 10_000
    stated = [_stated_ha(p, float(c), notes) for p, c in zip(table.parcels, computed, strict=True)]
    gdf = gpd.GeoDataFrame(
        {"fid": fids, "name_zh": [p.name for p in table.parcels], "stated_area_ha": np.array(stated, dtype=float)},
        geometry=moved,
        crs=AREA_CRS,
    )
    log.info("%s: %d parcel(s) from %d points, read in %s", path, len(gdf), len(points), frame)
    return Delivery(path, gdf, f"boundary-point table ({kind})", frame, encoding=used, fields=table.fields, notes=notes)


def _raise(problems: list[str]) -> None:
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [f"... and {len(problems) - MAX_PROBLEMS} more problem(s) of the same file"]
    if problems:
        raise InputError(problems)
