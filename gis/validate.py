"""Validation: every data-model and geometry rule of the layers and the targets table, as findings.

Every reader (a folder of layers, a GeoPackage, a partitioned folder, ``gis import``) calls these
functions, so a rule is written once. Findings name the file, the layer, the feature and the
field and say how to fix the input; :func:`validate_layer` and :func:`validate_targets` raise one
:class:`~gis.errors.InputError` listing every error, so a user fixes everything in one pass.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from gis import settings
from gis.crs import AREA_CRS, LAYER_CRS
from gis.errors import InputError
from gis.model import ERROR, WARNING, Finding, errors
from gis.parallel import map_chunks

log = logging.getLogger(__name__)


def _text(value: object) -> str | None:
    """Return a cell as stripped text, or None when empty/missing."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    return text or None


#: A character class (RE2, as Arrow's regex functions use) of every character ``str.strip()``
#: removes (``str.isspace()``: ASCII whitespace, the separators \x1c-\x1f, NEL and Unicode's Z
#: classes, e.g. the ideographic space U+3000), so text that does not match needs no strip.
_EDGE_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f\x85\pZ]"


#: A text column whose first this many values hold fewer than half as many distinct ones is
#: converted through Arrow's dictionary encoding.
_SAMPLE = 10_000


#: A character of the range single-byte code pages decode bytes 0x80-0xFF to (Latin-1's, most of
#: Windows-1252's): text holding none cannot be mojibake (RE2 syntax for Arrow, also valid in Python).
_HIGH_LATIN = r"[\x{80}-\x{ff}]"
_HIGH_LATIN_RE = re.compile("[\x80-\xff]")


#: C0 control characters other than tab, line feed and carriage return (the same in RE2, as
#: Arrow uses, and Python): XML, and so a spreadsheet, cannot hold them. Word's line and page
#: breaks (vertical tab, form feed) pasted into a name are the usual ones. The reader reads each
#: as a space and says so (a ``control_character`` warning, :func:`control_findings`).
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_CONTROL_RE = re.compile(_CONTROL)
_CONTROL_NAMES = {
    "\x0b": "a vertical tab, Word's line break",
    "\x0c": "a form feed, Word's page break",
    "\x00": "a NUL byte",
}


def _clean_text(value: object) -> str | None:
    """Return a cell as :func:`_text` does, with every control character (:data:`_CONTROL`) read as a space."""
    text = _text(value)
    if text is not None and _CONTROL_RE.search(text):
        text = _text(_CONTROL_RE.sub(" ", text))
    return text


def _has_control(value: object) -> bool:
    return isinstance(value, str) and _CONTROL_RE.search(value) is not None


def _text_column(values: pd.Series, suspects: list[int] | None = None, controls: list[int] | None = None) -> pd.Series:
    """Return a column as stripped text with None where empty, control characters read as spaces.

    A column of text is handled in Arrow: only the values that begin or end with whitespace, hold
    a control character (:data:`_CONTROL`) or a character of the range U+0080-U+00FF are looked at
    in Python (one pass finds them), so a million names cost no Python call each; a column of few
    distinct values (district codes, parts) is cleaned once per distinct value. Other columns
    (numbers typed as numbers, mixed values) go cell by cell.

    ``suspects``, when given, gets the positions of the values holding characters of the range
    U+0080-U+00FF, the candidates for :func:`undo_mojibake`; ``controls`` those that held control
    characters (:func:`control_findings`).
    """
    found: list[int] = []
    control: list[int] = []
    out = _clean_column(values, found, control)
    if suspects is not None:
        suspects.extend(found)
    if controls is not None:
        controls.extend(control)
    return out


def _high(text: str | None) -> bool:
    return text is not None and _HIGH_LATIN_RE.search(text) is not None


def _clean_column(values: pd.Series, suspects: list[int], controls: list[int]) -> pd.Series:
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        try:
            arr = pa.array(values, from_pandas=True)  # no copy for Arrow-backed text (pandas' str)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed values
            arr = None
        if arr is not None and pa.types.is_null(arr.type):
            return pd.Series([None] * len(values), dtype=object)
        if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            head = arr.slice(0, _SAMPLE)
            if len(arr) > _SAMPLE and pc.count_distinct(head, mode="all").as_py() < _SAMPLE // 2:
                # few distinct values (codes, parts, sources): each is cleaned and made a Python str once
                coded = pc.dictionary_encode(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr)
                distinct = coded.dictionary.to_pylist()
                uniques = np.array([*(_clean_text(v) for v in distinct), None], dtype=object)
                codes = coded.indices.fill_null(len(uniques) - 1).to_numpy()
                high = [k for k, v in enumerate(uniques) if _high(v)]
                suspects.extend(np.flatnonzero(np.isin(codes, high)).tolist() if high else [])
                bad = [k for k, v in enumerate(distinct) if _has_control(v)]
                controls.extend(np.flatnonzero(np.isin(codes, bad)).tolist() if bad else [])
                return pd.Series(uniques[codes], dtype=object)
            out = arr.to_numpy(zero_copy_only=False)
            # one pass over the text finds what needs a look: whitespace at either end, control
            # characters, characters of mojibake; the rest needs no Python
            pattern = f"^{_EDGE_SPACE}|{_EDGE_SPACE}$|{_CONTROL}|{_HIGH_LATIN}"
            marked = pc.match_substring_regex(arr, pattern).fill_null(False)
            for i in np.flatnonzero(marked.to_numpy(zero_copy_only=False)):
                if _has_control(out[i]):
                    controls.append(int(i))
                out[i] = _clean_text(out[i])
                if _high(out[i]):
                    suspects.append(int(i))
            out[out == ""] = None
            return pd.Series(out, dtype=object)
    cells = [_clean_text(v) for v in values]
    suspects.extend(i for i, v in enumerate(cells) if _high(v))
    controls.extend(i for i, v in enumerate(values) if _has_control(v))
    return pd.Series(cells, dtype=object)


def control_findings(
    raw: pd.Series, cleaned: pd.Series, rows: np.ndarray, labels: np.ndarray, *, source: str, layer: str, field: str
) -> list[Finding]:
    """Return a ``control_character`` warning for each row of ``rows``: which character, and the text as read."""
    return [
        Finding(
            WARNING,
            "control_character",
            _control_message(str(raw.iloc[i]), cleaned.iloc[i], field),
            source=source,
            layer=layer,
            fid=labels[i],
            field=field,
        )
        for i in rows
    ]


def _control_message(raw: str, cleaned: str | None, field: str) -> str:
    chars = sorted(set(_CONTROL_RE.findall(raw)))
    named = ", ".join(
        f"U+{ord(c):04X} ({_CONTROL_NAMES[c]})" if c in _CONTROL_NAMES else f"U+{ord(c):04X}" for c in chars
    )
    which, read = ("a control character", "it is") if len(chars) == 1 else ("control characters", "each is")
    return (
        f"field {field} holds {which} {named}, which spreadsheets and XML cannot hold; {read} read as a "
        f"space: {cleaned!r}. Retype the text without it (pasted from Word?)."
    )


#: Windows-1252's characters for the bytes 0x80-0x9F (where Latin-1 has control characters)
_CP1252_BYTES = {bytes([b]).decode("cp1252"): b for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def undo_mojibake(text: str) -> tuple[str, str] | None:
    r"""Return what garbled text probably was and how it was garbled; None when it does not look garbled.

    Text is garbled (mojibake) when a program read UTF-8 or GBK bytes as Latin-1 or Windows-1252 and
    saved the characters it saw: '龙岗' in GBK read as Latin-1 is 'Áú¸Ú', in UTF-8 'é¾\x99å²\x97'.
    The characters are turned back into those bytes and decoded again: as UTF-8, whose byte patterns
    real Latin-1 text practically never forms; else as GBK, accepted only when at least three
    quarters of the characters come back as pairs of high bytes of GB2312 (the common Chinese
    characters), most ideographs of its first level, so that 'Pokémon', 'São' or 'ação' stay as they are.

    Examples
    --------
    >>> undo_mojibake("Áú¸Ú")
    ('龙岗', 'GBK text read as Latin-1')
    >>> undo_mojibake("é¾\x99å²\x97")
    ('龙岗', 'UTF-8 text read as Latin-1')
    >>> print(undo_mojibake("Café"))
    None
    """
    raw = bytearray()
    reader = "Latin-1"
    for ch in text:
        code = ord(ch)
        if code < 0x100:
            raw.append(code)
        elif ch in _CP1252_BYTES:
            raw.append(_CP1252_BYTES[ch])
            reader = "Windows-1252"
        else:
            return None  # a character no single-byte code page gives: not read that way
    if max(raw, default=0) < 0x80:
        return None
    try:
        return raw.decode("utf-8"), f"UTF-8 text read as {reader}"
    except UnicodeDecodeError:
        pass
    try:
        fixed = raw.decode("gbk")
    except UnicodeDecodeError:
        return None
    pairs = [c.encode("gbk") for c in fixed if ord(c) >= 0x80]
    gb2312 = [b for b in pairs if len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1]
    ideographs = [b for b in gb2312 if b[0] >= 0xB0]
    common = [b for b in ideographs if b[0] <= 0xD7]
    if not ideographs or 4 * len(gb2312) < 3 * len(pairs) or 2 * len(common) < len(ideographs):
        return None
    return fixed, f"GBK text read as {reader}"


def feature_frame(
    gdf: gpd.GeoDataFrame,
    *,
    layer: str,
    suspects: dict[str, list[int]] | None = None,
    controls: dict[str, list[int]] | None = None,
) -> gpd.GeoDataFrame:
    """Return a layer in the toolkit's form: ``layer``, the data model's fields as text, geometry.

    ``suspects``, when given, gets for each field the positions of the values that may be
    mojibake, ``controls`` those that held control characters (see :func:`_text_column`).
    """
    found: dict[str, list[int]] = suspects if suspects is not None else {}
    held: dict[str, list[int]] = controls if controls is not None else {}
    columns = {
        f: _text_column(gdf[f], found.setdefault(f, []), held.setdefault(f, []))
        if f in gdf.columns
        else pd.Series([None] * len(gdf), dtype=object)
        for f in settings.FEATURE_FIELDS
    }
    out = gpd.GeoDataFrame(columns, geometry=gdf.geometry.values, crs=gdf.crs)
    out.insert(0, "layer", layer)
    return out


def check_layer(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> tuple[list[Finding], gpd.GeoDataFrame]:
    """Check a layer's features against the data model; return the findings and the layer in the toolkit's form.

    One finding per problem.

    Errors: missing fields, empty required values, unknown district or part, unknown parent,
    missing or duplicate fids, garbled text (:func:`undo_mojibake`), and geometries that are
    missing, empty, not polygons, unclosed, not finite, outside the three districts (swapped axes,
    metres labelled as degrees) or invalid (with GEOS's reason and location). Warnings: 3D
    coordinates (heights dropped), control characters in text (read as spaces).

    Columns a reader or the importer may add: ``_geometry_note`` (why a geometry could not be
    parsed), ``_feature_no`` (a feature's number in its file, which names a feature without fid;
    default: its row), ``_district_awaits_geometry`` (true for a new feature whose district is to
    come from its geometry, which is unusable: its empty district is not reported, the geometry is).
    """
    missing = [f for f in settings.REQUIRED_FEATURE_FIELDS if f not in gdf.columns]
    if missing:
        return (
            [
                Finding(
                    ERROR,
                    "missing_field",
                    f"lacks the field(s) {', '.join(missing)}. Add them to every feature (see layers/README.md for the data model).",
                    source=source,
                    layer=layer,
                    field=missing[0],
                )
            ],
            feature_frame(gdf, layer=layer),
        )
    suspects: dict[str, list[int]] = {}
    controls: dict[str, list[int]] = {}
    out = feature_frame(gdf, layer=layer, suspects=suspects, controls=controls)
    fids = out["fid"].to_numpy()
    numbers = _private_column(gdf, "_feature_no", np.arange(1, len(gdf) + 1))
    labels = np.array([f if f is not None else f"#{int(n)}" for f, n in zip(fids, numbers, strict=True)], dtype=object)
    findings: list[Finding] = []
    for field, rows in controls.items():
        findings += control_findings(
            gdf[field], out[field], np.asarray(rows, dtype=np.int64), labels, source=source, layer=layer, field=field
        )

    def add(i: Any, check: str, message: str, field: str, severity: str = ERROR) -> None:
        findings.append(Finding(severity, check, message, source=source, layer=layer, fid=labels[i], field=field))

    awaiting = _private_column(gdf, "_district_awaits_geometry", np.zeros(len(gdf), dtype=bool)).astype(bool)
    for field in settings.REQUIRED_FEATURE_FIELDS:
        empty = out[field].isna().to_numpy() & ~(awaiting & (field == "district"))
        for i in np.flatnonzero(empty):
            add(i, "missing_fid" if field == "fid" else "empty_field", f"field {field} is empty. Fill it in.", field)
    for field, rows in suspects.items():
        for row in rows:
            garbled = out[field].iloc[row]
            undone = undo_mojibake(garbled)
            if undone is None:
                continue
            text, how = undone
            encoding = how.split()[0]
            add(
                row,
                "mojibake",
                f"field {field} is {garbled!r}: garbled text ({how}), probably {text!r}. Export the file "
                f"again from the original data as UTF-8; if the file itself is {encoding} (e.g. a Shapefile "
                f"whose .cpg says otherwise), read it with {{p:encoding}} {encoding.lower()}.",
                field,
            )
    for field, allowed, hint in (
        ("district", settings.DISTRICTS, "Use the district code as text."),
        ("part", settings.PARTS, ""),
    ):
        values = out[field]
        for i in np.flatnonzero((values.notna() & ~values.isin(list(allowed))).to_numpy()):
            add(
                i,
                f"bad_{field}",
                f"field {field} is {values.iloc[i]!r}, not one of {', '.join(allowed)}. {hint}".rstrip(),
                field,
            )
    findings.extend(_geometry_findings(gdf, labels, source=source, layer=layer))
    findings.extend(duplicate_fids(out[["layer", "fid"]].assign(source=source), within_layers=True))
    known = set(out["fid"].dropna())
    parents = out["parent"]
    for i in np.flatnonzero((parents.notna() & ~parents.isin(list(known))).to_numpy()):
        add(
            i,
            "unknown_parent",
            f"field parent is {parents.iloc[i]!r}, which is no fid of this layer. Correct the parent or add that feature.",
            "parent",
        )
    return findings, out


def duplicate_fids(features: pd.DataFrame, *, within_layers: bool = False) -> list[Finding]:
    """Return a finding for every fid that more than one feature of ``features`` uses.

    ``features`` holds the columns ``layer``, ``fid`` and ``source`` (the file, for messages) of
    every layer. A fid used in two layers is always an error (``fid_in_two_layers``); a fid used
    twice within one layer only with ``within_layers`` (:func:`check_layer` finds those layer by
    layer; a layer split into partitions needs it over all of them).

    Examples
    --------
    >>> stacked = pd.DataFrame({"layer": ["parks", "renewal_units", "parks"], "fid": ["A", "A", "B"], "source": ""})
    >>> [f.text() for f in duplicate_fids(stacked)]
    ['layer parks, feature A: fid A is used in layers parks, renewal_units. fids must be unique across layers: rename one.']
    """
    rows = features[features["fid"].notna()]
    if not within_layers:
        rows = rows.drop_duplicates(["layer", "fid"])
    dup = rows[rows["fid"].duplicated(keep=False)]
    findings = []
    for fid, group in dup.groupby("fid", sort=True):
        layers = list(dict.fromkeys(group["layer"].tolist()))
        source = str(group["source"].iloc[0])
        if len(layers) == 1:
            findings.append(
                Finding(
                    ERROR,
                    "duplicate_fid",
                    f"fid {fid} is used by {len(group)} features. Give each its own fid.",
                    source=source,
                    layer=layers[0],
                    field="fid",
                )
            )
        else:
            findings.append(
                Finding(
                    ERROR,
                    "fid_in_two_layers",
                    f"fid {fid} is used in layers {', '.join(layers)}. fids must be unique across layers: rename one.",
                    source=source,
                    layer=layers[0],
                    fid=str(fid),
                    field="fid",
                    other_layer=layers[1],
                    other_fid=str(fid),
                )
            )
    return findings


def _private_column(gdf: gpd.GeoDataFrame, name: str, default: np.ndarray) -> np.ndarray:
    """Return a column a reader or the importer added (see :func:`check_layer`), ``default`` where it has none."""
    if name not in gdf.columns:
        return default
    values = gdf[name].to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    values[missing] = default[missing]
    return values


def validate_layer(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> gpd.GeoDataFrame:
    """Check a layer's features against the data model; return them in the toolkit's form.

    ``source`` names the file in messages. Raises :class:`InputError` listing every error of
    :func:`check_layer` (warnings are logged).
    """
    findings, out = check_layer(gdf, source=source, layer=layer)
    raise_errors(findings)
    return out


def raise_errors(findings: list[Finding]) -> None:
    """Log the warnings among ``findings``; raise one :class:`InputError` listing the errors, if any."""
    for f in findings:
        if f.severity != ERROR:
            log.warning("%s", f.text())
    if errors(findings):
        raise InputError([f.text() for f in errors(findings)])


def _geometry_findings(gdf: gpd.GeoDataFrame, labels: np.ndarray, *, source: str, layer: str) -> list[Finding]:
    """Return what is wrong with each feature's geometry, vectorized (only the failures cost Python)."""
    geoms = gdf.geometry.array
    arr = np.asarray(geoms, dtype=object)
    notes = gdf["_geometry_note"].to_numpy() if "_geometry_note" in gdf.columns else np.full(len(gdf), None)
    findings: list[Finding] = []

    def add(
        i: Any,
        check: str,
        message: str,
        geometry: shapely.Geometry | None = None,
        severity: str = ERROR,
        area_m2: float | None = None,
    ) -> None:
        findings.append(
            Finding(
                severity,
                check,
                message,
                source=source,
                layer=layer,
                fid=labels[i],
                field="geometry",
                geometry=geometry,
                area_m2=area_m2,
            )
        )

    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    type_ids = shapely.get_type_id(arr)
    is_polygon = np.isin(type_ids, (3, 6))
    # GEOS's validity test fails every polygon with a NaN or infinite coordinate ("Invalid
    # Coordinate"): one test on every core, and the coordinates of the failures only are looked at
    polygons = np.flatnonzero(~missing & is_polygon)
    failed = np.zeros(len(arr), dtype=bool)
    failed[polygons] = ~map_chunks(shapely.is_valid, arr[polygons])
    nonfinite = np.zeros(len(arr), dtype=bool)
    for i in np.flatnonzero(failed):
        nonfinite[i] = not np.isfinite(shapely.get_coordinates(arr[i])).all()
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(arr)
    minx, miny, maxx, maxy = settings.LONLAT_BOUNDS
    outside = (
        ~missing
        & is_polygon
        & ~nonfinite
        & ((bounds[:, 0] < minx) | (bounds[:, 2] > maxx) | (bounds[:, 1] < miny) | (bounds[:, 3] > maxy))
    )
    invalid = failed & ~nonfinite & ~outside
    source_crs = gdf.attrs.get("source_crs", "EPSG:4326")
    for i in np.flatnonzero(missing | ~is_polygon | nonfinite | outside | invalid):
        if isinstance(notes[i], str):
            add(
                i,
                "unclosed_ring" if "not closed" in notes[i] else "unreadable_geometry",
                f"geometry: {notes[i]}. Close the ring (end it on its first point) or redraw the outline.",
            )
        elif missing[i]:
            add(
                i,
                "empty_geometry",
                "geometry is missing or empty (or GDAL could not read it, e.g. a coordinate that is not a number). "
                "Draw the polygon or remove the feature.",
            )
        elif not is_polygon[i]:
            add(
                i,
                "not_polygon",
                f"geometry is a {arr[i].geom_type}; areas need a Polygon. Redraw it as a polygon.",
                arr[i].representative_point() if arr[i].geom_type != "GeometryCollection" else None,
            )
        elif nonfinite[i]:
            add(
                i, "nonfinite_coordinates", "geometry has NaN or infinite coordinates. Redraw or re-export the feature."
            )
        elif outside[i]:
            x0, y0, x1, y1 = bounds[i]
            swapped = minx <= y0 and y1 <= maxx and miny <= x0 and x1 <= maxy
            metres = max(abs(x0), abs(x1), abs(y0), abs(y1)) > 360
            if swapped:
                check, hint = (
                    "swapped_axes",
                    "Longitude and latitude are swapped: save it with x = longitude, y = latitude.",
                )
            elif metres:
                check, hint = (
                    "metres_as_degrees",
                    "The numbers look like metres labelled as degrees: declare the layer's projected CRS (e.g. EPSG:4547) or save it as EPSG:4326 longitude/latitude.",
                )
            else:
                check, hint = (
                    "outside_area",
                    f"It is not in Longgang, Longhua or Pingshan: check the layer's CRS ({source_crs}) or the feature's position.",
                )
            add(
                i,
                check,
                f"geometry lies outside lon {minx}..{maxx}, lat {miny}..{maxy} "
                f"(its bounds are {x0:.4f}, {y0:.4f}, {x1:.4f}, {y1:.4f}). {hint}",
            )
        else:
            reason = shapely.is_valid_reason(arr[i])
            location = _reason_point(reason)
            repaired = polygonal(shapely.make_valid(arr[i]))
            before, after = _areas_m2([arr[i], repaired])
            add(
                i,
                "invalid_geometry",
                f"geometry is invalid ({reason}). Redraw the outline so that it does not cross itself; "
                f"repaired as drawn it would measure {after / 1e4:.4f} ha instead of {before / 1e4:.4f} ha "
                f"({(after - before) / 1e4:+.4f} ha).",
                location,
                area_m2=round(float(after - before), 2),
            )
    has_z = gdf.attrs.get("has_z")
    if has_z is not None:
        for i in np.flatnonzero(has_z):
            add(
                i,
                "3d_coordinates",
                "geometry has heights (x, y, z); they are dropped and areas are planar.",
                severity=WARNING,
            )
    return findings


def _reason_point(reason: str) -> shapely.Geometry | None:
    """Return the point GEOS names in a validity reason ("Self-intersection[114.2 22.7]")."""
    match = re.search(r"\[([-\d.eE+]+) ([-\d.eE+]+)\]", reason)
    return shapely.Point(float(match.group(1)), float(match.group(2))) if match else None


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep the polygons of a geometry (make_valid and intersections may add lines and points); empty if none."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _areas_m2(geoms: list[shapely.Geometry]) -> np.ndarray:
    """Return planar areas in square metres in EPSG:4547 of lon/lat geometries."""
    return gpd.GeoSeries(geoms, crs=LAYER_CRS).to_crs(AREA_CRS).area.to_numpy()


def _decimals(text: str) -> int:
    """Return the number of decimals a figure is stated with ("703" -> 0, "0.4555" -> 4)."""
    mantissa = text.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _number(text: str | None, *, where: str, field: str, problems: list[str]) -> float | None:
    if text is None:
        return None
    try:
        if "_" in text:
            raise ValueError(text)
        value = float(text)
    except ValueError:
        problems.append(f"{where}: field {field} is {text!r}, not a number. {_number_hint(text)}")
        return None
    if not math.isfinite(value):
        problems.append(f"{where}: field {field} is {text!r}; give a finite number.")
        return None
    return value


def _number_hint(text: str) -> str:
    """Say how to write a figure typed the way people write numbers in text ("约29", "18,5", "1,200")."""
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
        return f"Write it without the thousands separator: {text.replace(',', '')}."
    if re.fullmatch(r"\d+,\d+", text):
        return f"Use a point for decimals: {text.replace(',', '.')}."
    figure = re.search(r"\d+(\.\d+)?", text)
    if figure and figure.group(0) != text:
        return (
            f"Write the figure alone, e.g. {figure.group(0)}, and put words such as 约/about or units "
            "in field note or field unit."
        )
    return "Write a plain number such as 12.5."


def validate_targets(raw: pd.DataFrame, *, path: Path) -> pd.DataFrame:
    """Check a targets table read as text (:func:`gis.io.targets.read_table`); return it typed.

    Raises :class:`InputError` listing every problem (``path`` names the file in messages).
    Returns the columns of :data:`gis.settings.TARGET_COLUMNS` as text (None where empty), with
    ``value`` and ``tolerance_pct`` as floats, ``value_decimals`` (decimals stated) and ``row``
    (the row number in the file, header = 1).
    """
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in settings.TARGET_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path}: the targets table lacks the column(s) {', '.join(missing)}. "
            f"The header must be: {','.join(settings.TARGET_COLUMNS)}"
        )
    df = pd.DataFrame({c: [_clean_text(v) for v in raw[c]] for c in settings.TARGET_COLUMNS}, dtype=object)
    df["row"] = range(2, len(df) + 2)
    for c in settings.TARGET_COLUMNS:  # control characters are read as spaces, as in the layers
        for i in (i for i, v in enumerate(raw[c]) if _has_control(v)):
            log.warning(
                "%s: row %d, target %s: %s",
                path,
                i + 2,
                df["target_id"].iloc[i] or "(no id)",
                _control_message(raw[c].iloc[i], df[c].iloc[i], c),
            )
    problems: list[str] = []
    values: list[float | None] = []
    tolerances: list[float | None] = []
    decimals: list[int] = []
    for _, r in df.iterrows():
        where = f"{path}: row {r['row']}, target {r['target_id'] or '(no id)'}"
        if r["target_id"] is None:
            problems.append(f"{where}: field target_id is empty. Give every row an id.")
        checks = (
            ("scope", settings.SCOPES),
            ("metric", settings.METRICS),
            ("comparator", settings.COMPARATORS),
        )
        for field, allowed in checks:
            if r[field] not in allowed:
                problems.append(f"{where}: field {field} is {r[field]!r}; use one of {', '.join(allowed)}.")
        if r["part"] is not None and r["part"] not in settings.PARTS:
            problems.append(
                f"{where}: field part is {r['part']!r}; use one of {', '.join(settings.PARTS)}, or leave it empty."
            )
        units = settings.RATIO_UNITS if r["metric"] == "plot_ratio" else tuple(settings.AREA_UNITS_HA)
        if r["metric"] in settings.METRICS and r["unit"] not in units:
            problems.append(
                f"{where}: field unit is {r['unit']!r} for metric {r['metric']}; use one of {', '.join(units)}."
            )
        if r["layer"] is not None and r["layer"] not in settings.LAYER_NAMES:
            problems.append(f"{where}: field layer is {r['layer']!r}; use one of {', '.join(settings.LAYER_NAMES)}.")
        if r["district"] is not None and r["district"] not in settings.DISTRICTS:
            problems.append(
                f"{where}: field district is {r['district']!r}; use one of {', '.join(settings.DISTRICTS)}."
            )
        if r["scope"] == "aggregate":
            if r["district"] is None or r["layer"] is None:
                problems.append(f"{where}: an aggregate target needs district and layer. Fill them in.")
            if r["fid"] is not None:
                problems.append(
                    f"{where}: an aggregate target has no fid (it sums a layer); clear field fid or use scope feature."
                )
        elif r["scope"] == "consistency" and r["fid"] is None:
            problems.append(f"{where}: a consistency target needs a fid. Fill in the feature's fid.")
        value = _number(r["value"], where=where, field="value", problems=problems)
        if r["value"] is None:
            problems.append(f"{where}: field value is empty. Give the planned figure.")
        elif value is not None and value <= 0:
            problems.append(f"{where}: field value is {r['value']}; a planned figure is larger than 0.")
        values.append(value)
        decimals.append(_decimals(r["value"]) if r["value"] else 0)
        tol = _number(r["tolerance_pct"], where=where, field="tolerance_pct", problems=problems)
        if tol is not None and tol < 0:
            problems.append(f"{where}: field tolerance_pct is negative; give a percentage of 0 or more.")
        tolerances.append(tol)
    dup = df["target_id"][df["target_id"].notna() & df["target_id"].duplicated(keep=False)]
    for tid in sorted(set(dup)):
        rows = ", ".join(str(x) for x in df.loc[df["target_id"] == tid, "row"])
        problems.append(f"{path}: target_id {tid} is used on rows {rows}. Give each row its own id.")
    if problems:
        raise InputError(problems)
    df["value"] = pd.Series(values, dtype="float64")
    df["tolerance_pct"] = pd.Series([t if t is not None else 0.0 for t in tolerances], dtype="float64")
    df["value_decimals"] = decimals
    return df
