"""Read stage: the thematic layers, the districts and the targets table, validated.

Every reader collects all problems of its input and raises one
:class:`~gis.errors.InputError` that lists them, so a user fixes everything in
one pass. Each problem names the file, the layer, the feature or row and the
field, and says how to fix it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import pyogrio.raw
import shapely

from gis import settings
from gis.crs import AREA_CRS, LAYER_CRS
from gis.errors import InputError, InputFileError
from gis.findings import ERROR, WARNING, Finding, errors
from gis.parallel import map_chunks

log = logging.getLogger(__name__)


def _require_file(path: Path, *, what: str) -> None:
    """Refuse a path that is missing, a folder, empty or not readable, with a message that says which."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputFileError(
            f"{path}: no such file ({what}). Check the path, or pass --layers/--targets to point at it."
        ) from None
    except PermissionError as exc:  # a folder on the way that may not be entered
        raise _no_permission(path, what) from exc
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a file ({what}).")
    if st.st_size == 0:
        raise InputFileError(
            f"{path}: the file is empty (0 bytes; {what}). Restore it (e.g. git checkout -- {path.name}) or export it again."
        )
    try:
        with path.open("rb"):
            pass
    except PermissionError as exc:
        raise _no_permission(path, what) from exc
    except OSError as exc:
        raise InputFileError(
            f"cannot read {path}: {exc.strerror or exc} ({what}). Check the file and the disk, and run again."
        ) from exc


def _no_permission(path: Path, what: str) -> InputFileError:
    return InputFileError(
        f"cannot read {path}: permission denied ({what}); give your user read permission on the file and its "
        f"folders (e.g. chmod a+r {path.name}), or ask its owner for a copy."
    )


def unknown_encoding(encoding: str | None) -> InputError:
    """Return the error for an ``--encoding`` Python does not know."""
    return InputError(f"--encoding {encoding!r} is not an encoding Python knows; use gbk, gb18030 or utf-8.")


def _is_utf8(path: Path) -> bool:
    """Return whether a text file decodes as UTF-8."""
    try:
        path.read_bytes().decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _decodes_as_gbk(path: Path) -> str | None:
    """Return a sample of the file's first non-ASCII text when it reads as GBK (GB18030) but not as UTF-8."""
    raw = path.read_bytes()[:1_000_000]
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        start = exc.start
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return None
    where = len(raw[:start].decode("gb18030", errors="replace"))
    return text[where : where + 12]


def _unreadable(path: Path, what: str, exc: Exception) -> InputFileError:
    """Explain why a vector file cannot be read: HTML, cut-off JSON, not a GeoPackage, or GDAL's reason."""
    head = path.read_bytes()[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = path.suffix.lower()
    if head[:1] == b"<":
        return InputFileError(
            f"{path}: {what} is an HTML or XML page, not {'a GeoPackage' if suffix == '.gpkg' else 'GeoJSON'} "
            "(a web page or login page saved in place of the data?). Download or export the layer again."
        )
    if suffix == ".gpkg":
        if not head.startswith(b"SQLite format 3\x00"):
            return InputFileError(
                f"{path}: {what} is not a GeoPackage (it is no SQLite database: a renamed file?). Export it again."
            )
        reason = str(exc).split(";")[-1].strip()[:200]
        if "locked" in reason:
            return InputFileError(
                f"{path}: {what} is locked by another program writing to it ({reason}). "
                "Save or discard its edits there (e.g. QGIS: stop editing), then run the command again."
            )
        return InputFileError(
            f"{path}: {what} is a damaged GeoPackage ({reason}). Restore it from a backup or export it again."
        )
    if suffix in (".geojson", ".json"):
        data = path.read_bytes()
        deep = _too_deep(data)
        if deep is not None:
            line, column = deep
            return InputFileError(
                f"{path}: {what} is nested too deeply to be a layer: more than {_MAX_NESTING} levels of [ and {{ "
                f"at line {line}, column {column} (a layer's GeoJSON is about 6 levels deep; GDAL reads "
                "about 1000). A property holds deeply nested data, or the file is not a layer: remove that "
                "value, or export the layer again."
            )
        try:
            json.loads(data)
        except json.JSONDecodeError as jexc:
            cut = jexc.pos >= len(jexc.doc.rstrip()) - 1
            why = "the file ends in the middle of the data (cut off?)" if cut else "a JSON syntax error"
            return InputFileError(
                f"{path}: {what} is not complete JSON: {why} at line {jexc.lineno}, column {jexc.colno} "
                f"({jexc.msg}). {'Save or download it again.' if cut else 'Correct the file there, or export it again.'}"
            )
        except (UnicodeDecodeError, ValueError, RecursionError):
            pass
    return InputFileError(
        f"{path}: {what} cannot be read ({type(exc).__name__}: {exc}). "
        "Check that the file is complete, valid UTF-8 GeoJSON or a GeoPackage."
    )


#: Deeper JSON than this is not a layer (a FeatureCollection's coordinates are 6 levels deep);
#: the diagnosis of an unreadable file says so instead of parsing it (Python's parser recurses).
_MAX_NESTING = 200
_JSON_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]')


def _too_deep(data: bytes) -> tuple[int, int] | None:
    """Return the line and column where JSON text nests deeper than :data:`_MAX_NESTING`, or None.

    A loop over the brackets outside strings: no recursion, however deep the file.
    """
    depth = 0
    for match in _JSON_TOKENS.finditer(data):
        token = match.group()[:1]
        if token in (b"[", b"{"):
            depth += 1
            if depth > _MAX_NESTING:
                start = match.start()
                line_start = data.rfind(b"\n", 0, start) + 1
                column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
                return data.count(b"\n", 0, start) + 1, column
        elif token in (b"]", b"}"):
            depth -= 1
    return None


def _ogr_read(
    path: Path, *, layer: str, container_layer: str | None, encoding: str | None
) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """Read a vector layer: its metadata, its fields and its geometries as WKB (not yet parsed).

    The Arrow reader is used (fast, no per-feature Python); a non-UTF-8 ``encoding`` needs
    pyogrio's classic reader.
    """
    what = f"layer {layer}"
    if encoding is not None and (path.suffix.lower() == ".gpkg" or _is_utf8(path)):
        encoding = None  # --encoding is for the files that need it; a GeoPackage's text is always UTF-8
    try:
        with warnings.catch_warnings():  # GDAL warns of unclosed rings; they are reported per feature
            warnings.simplefilter("ignore", RuntimeWarning)
            if encoding is None or encoding.lower().replace("-", "") in ("utf8", "utf8sig"):
                meta, table = pyogrio.read_arrow(path, layer=container_layer)
                geom_col = meta.get("geometry_name") or "wkb_geometry"
                if geom_col not in table.column_names:
                    raise InputError(f"{path}: {what} has no geometry. Save the layer with its polygons.")
                try:
                    table.validate(full=True)  # GDAL passes bytes through: text that is not UTF-8 fails here
                except pa.ArrowInvalid as exc:
                    raise UnicodeDecodeError("utf-8", b"", 0, 1, str(exc)) from exc
                wkb = table.column(geom_col).to_numpy(zero_copy_only=False)
                fields = table.drop_columns([geom_col]).to_pandas()
            else:
                meta, _fids, wkb, values = pyogrio.raw.read(path, layer=container_layer, encoding=encoding)
                if wkb is None:
                    raise InputError(f"{path}: {what} has no geometry. Save the layer with its polygons.")
                fields = pd.DataFrame(dict(zip(meta["fields"], values, strict=True)))
    except UnicodeDecodeError as exc:
        sample = _decodes_as_gbk(path)
        if sample is not None:
            raise InputFileError(
                f"{path}: {what}: the text is GBK-encoded, not UTF-8 (it reads as {sample!r} in GBK). "
                "Pass --encoding gbk, or save the file as UTF-8."
            ) from exc
        raise InputFileError(
            f"{path}: {what}: the text is not UTF-8 ({exc.reason} at byte {exc.start}). "
            "Pass --encoding with the file's encoding, or save it as UTF-8."
        ) from exc
    except LookupError as exc:
        raise unknown_encoding(encoding) from exc
    except InputError:
        raise
    except Exception as exc:  # pyogrio/GDAL raise several types for unreadable files
        raise _unreadable(path, what, exc) from exc
    return meta, fields, np.asarray(wkb, dtype=object)


def _parse_wkb(wkb: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """Parse WKB; a geometry GEOS refuses (an unclosed ring) becomes its repaired form, with a note."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        notes: list[str | None] = [None] * len(wkb)
        missing = shapely.is_missing(geoms)
        bad = np.flatnonzero(missing & ~pd.isna(wkb)) if missing.any() else np.array([], dtype=np.int64)
        if len(bad):
            fixed = shapely.from_wkb(wkb[bad], on_invalid="fix")
            for i, geom in zip(bad, fixed, strict=True):
                geoms[i] = None
                if geom is not None and not geom.is_empty:
                    x, y = shapely.get_coordinates(geom)[0]
                    notes[i] = f"a ring is not closed (its last point is not its first, near {x:.6f}, {y:.6f})"
                else:
                    notes[i] = "the geometry cannot be parsed"
    return geoms, notes


def _read_vector(
    path: Path, *, layer: str, encoding: str | None = None, container_layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read one layer (a GeoJSON file, or ``container_layer`` of a GeoPackage) into EPSG:4326.

    File-level problems (missing, empty, HTML, cut off, wrong encoding, no CRS) raise
    :class:`InputFileError`; feature-level ones are left to :func:`check_layer`: a geometry
    GEOS cannot parse is None with its reason in the ``_geometry_note`` column, and the frame's
    ``attrs`` keep the source CRS and the features that had heights.
    """
    _require_file(path, what=f"layer {layer}")
    meta, fields, wkb = _ogr_read(path, layer=layer, container_layer=container_layer, encoding=encoding)
    if meta.get("crs") is None:
        raise InputError(
            f"{path}: layer {layer} has no CRS. Save it with one: RFC 7946 GeoJSON (EPSG:4326, lon/lat), "
            "or a GeoPackage layer with its CRS set."
        )
    geoms, notes = _parse_wkb(wkb)
    gdf = gpd.GeoDataFrame(fields, geometry=geoms, crs=meta["crs"])
    if any(notes):
        gdf["_geometry_note"] = notes
    source_crs = gdf.crs
    has_z = shapely.has_z(gdf.geometry.array)
    if has_z.any():  # heights (x, y, z) from CAD or GPS exports: areas are planar
        log.info("%s: layer %s has 3D coordinates; their heights are dropped", path, layer)
        gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.array), crs=gdf.crs)
    if not gdf.crs.equals(LAYER_CRS):
        log.info("%s: reprojecting layer %s from %s to %s", path, layer, gdf.crs.to_string(), LAYER_CRS)
        with np.errstate(invalid="ignore", over="ignore"):
            gdf = gdf.to_crs(LAYER_CRS)
    gdf.attrs["source_crs"] = source_crs.to_string()
    gdf.attrs["has_z"] = has_z
    return gdf


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


def _text_column(values: pd.Series) -> pd.Series:
    """Return a column as stripped text with None where empty, control characters read as spaces."""
    return _text_column_controls(values)[0]


def _text_column_controls(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Return a column as stripped text with None where empty, and the rows that held control characters.

    A column of text is handled in Arrow: only the values that begin or end with whitespace or
    hold a control character (:data:`_CONTROL`, read as a space) are cleaned in Python, so a
    million names cost no Python call each; a column of few distinct values (district codes,
    parts) is cleaned once per distinct value. Other columns (numbers typed as numbers, mixed
    values) go cell by cell.
    """
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        try:
            arr = pa.array(values, from_pandas=True)  # no copy for Arrow-backed text (pandas' str)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed values
            arr = None
        if arr is not None and pa.types.is_null(arr.type):
            return pd.Series([None] * len(values), dtype=object), np.array([], dtype=np.int64)
        if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            head = arr.slice(0, _SAMPLE)
            if len(arr) > _SAMPLE and pc.count_distinct(head, mode="all").as_py() < _SAMPLE // 2:
                # few distinct values (codes, parts, sources): each is cleaned and made a Python str once
                coded = pc.dictionary_encode(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr)
                distinct = coded.dictionary.to_pylist()
                uniques = np.array([*(_clean_text(v) for v in distinct), None], dtype=object)
                codes = coded.indices.fill_null(len(uniques) - 1).to_numpy()
                bad = [i for i, v in enumerate(distinct) if _has_control(v)]
                return (
                    pd.Series(uniques[codes], dtype=object),
                    np.flatnonzero(np.isin(codes, bad)) if bad else np.array([], dtype=np.int64),
                )
            out = arr.to_numpy(zero_copy_only=False)
            # one pass over the text finds what needs cleaning: whitespace at either end, control characters
            dirty = pc.match_substring_regex(arr, f"^{_EDGE_SPACE}|{_EDGE_SPACE}$|{_CONTROL}").fill_null(False)
            control = []
            for i in np.flatnonzero(dirty.to_numpy(zero_copy_only=False)):
                if _has_control(out[i]):
                    control.append(i)
                out[i] = _clean_text(out[i])
            out[out == ""] = None
            return pd.Series(out, dtype=object), np.array(control, dtype=np.int64)
    return (
        pd.Series([_clean_text(v) for v in values], dtype=object),
        np.array([i for i, v in enumerate(values) if _has_control(v)], dtype=np.int64),
    )


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


def read_layer(path: Path, *, layer: str, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read and validate one thematic layer.

    Parameters
    ----------
    path
        GeoJSON file of the layer.
    layer
        The layer's name (one of :data:`gis.settings.LAYER_NAMES`), used in messages.
    encoding
        Text encoding when the file is not UTF-8 (e.g. ``gbk``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature, every field of :data:`gis.settings.FEATURE_FIELDS` as text
        (None where empty), a ``layer`` column, geometry in EPSG:4326.
    """
    path = Path(path)
    return validate_layer(_read_vector(path, layer=layer, encoding=encoding), source=str(path), layer=layer)


def feature_frame(gdf: gpd.GeoDataFrame, *, layer: str) -> gpd.GeoDataFrame:
    """Return a layer in the toolkit's form: ``layer``, the data model's fields as text, geometry."""
    return _feature_frame(gdf, layer=layer)[0]


def _feature_frame(gdf: gpd.GeoDataFrame, *, layer: str) -> tuple[gpd.GeoDataFrame, dict[str, np.ndarray]]:
    """Return :func:`feature_frame` and, per field, the rows whose text held control characters."""
    columns = {}
    controls = {}
    for f in settings.FEATURE_FIELDS:
        if f in gdf.columns:
            columns[f], rows = _text_column_controls(gdf[f])
            if len(rows):
                controls[f] = rows
        else:
            columns[f] = pd.Series([None] * len(gdf), dtype=object)
    out = gpd.GeoDataFrame(columns, geometry=gdf.geometry.values, crs=gdf.crs)
    out.insert(0, "layer", layer)
    return out, controls


def check_layer(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> tuple[list[Finding], gpd.GeoDataFrame]:
    """Check a layer's features against the data model; return the findings and the layer in the toolkit's form.

    One finding per problem.

    Errors: missing fields, empty required values, unknown district or part, unknown parent,
    missing or duplicate fids, and geometries that are missing, empty, not polygons, unclosed,
    not finite, outside the three districts (swapped axes, metres labelled as degrees) or invalid
    (with GEOS's reason and location). Warnings: 3D coordinates (heights dropped), control characters
    in text (read as spaces).
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
    out, controls = _feature_frame(gdf, layer=layer)
    fids = out["fid"].to_numpy()
    labels = np.array([f if f is not None else f"#{i + 1}" for i, f in enumerate(fids)], dtype=object)
    findings: list[Finding] = []
    for field, rows in controls.items():
        findings += control_findings(gdf[field], out[field], rows, labels, source=source, layer=layer, field=field)

    def add(i: Any, check: str, message: str, field: str, severity: str = ERROR) -> None:
        findings.append(Finding(severity, check, message, source=source, layer=layer, fid=labels[i], field=field))

    for field in settings.REQUIRED_FEATURE_FIELDS:
        for i in np.flatnonzero(out[field].isna().to_numpy()):
            add(i, "missing_fid" if field == "fid" else "empty_field", f"field {field} is empty. Fill it in.", field)
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
    dup = out["fid"][out["fid"].notna() & out["fid"].duplicated(keep=False)]
    for fid in sorted(set(dup)):
        findings.append(
            Finding(
                ERROR,
                "duplicate_fid",
                f"fid {fid} is used by {int((dup == fid).sum())} features. Give each its own fid.",
                source=source,
                layer=layer,
                field="fid",
            )
        )
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


def validate_layer(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> gpd.GeoDataFrame:
    """Check a layer's features against the data model; return them in the toolkit's form.

    ``source`` names the file in messages. Raises :class:`InputError` listing every error of
    :func:`check_layer` (warnings are logged).
    """
    findings, out = check_layer(gdf, source=source, layer=layer)
    for f in findings:
        if f.severity != ERROR:
            log.warning("%s", f.text())
    if errors(findings):
        raise InputError([f.text() for f in errors(findings)])
    return out


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


#: The GeoPackage field that holds the feature id (``fid`` is the GeoPackage's own integer row id).
GPKG_FID_FIELD = "feature_id"


def _container_layers(path: Path) -> list[str]:
    """Return the layer names of a GeoPackage, explaining why it cannot be opened."""
    _require_file(path, what="GeoPackage of layers")
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise _unreadable(path, "the file", exc) from exc


def read_source_layer(source: Path, name: str, *, encoding: str | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Read one layer, unvalidated, from a folder of GeoJSON files or a GeoPackage; return it and its file."""
    source = Path(source)
    if source.suffix.lower() == ".gpkg":
        names = _container_layers(source)
        if name not in names:
            raise InputFileError(
                f"{source}: has no layer {name!r} (its layers: {', '.join(names) or 'none'}). "
                f"A GeoPackage of layers holds {', '.join((*settings.LAYER_NAMES, 'districts'))}, as gis export writes."
            )
        gdf = _read_vector(source, layer=name, encoding=encoding, container_layer=name)
        if GPKG_FID_FIELD in gdf.columns:
            gdf = gdf.drop(columns=[c for c in ("fid",) if c in gdf.columns]).rename(columns={GPKG_FID_FIELD: "fid"})
        return gdf, str(source)
    path = source / f"{name}.geojson"
    return _read_vector(path, layer=name, encoding=encoding), str(path)


def read_districts(path: Path, *, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read the district boundaries (``district``, ``name_zh``, ``name_en``, geometry in EPSG:4326).

    ``path`` is ``districts.geojson``, a folder holding it, or a GeoPackage with a ``districts`` layer.
    """
    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".gpkg":
        gdf, where = read_source_layer(path, "districts", encoding=encoding)
    else:
        gdf, where = _read_vector(path, layer="districts", encoding=encoding), str(path)
    if "district" not in gdf.columns:
        raise InputError(
            f"{where}: layer districts lacks the field district. Rebuild it with scripts/build_districts.py."
        )
    gdf["district"] = pd.Series([_text(v) for v in gdf["district"]], index=gdf.index, dtype=object)
    return gdf


def _check_source(source: Path) -> None:
    if source.suffix.lower() == ".gpkg" or source.is_dir():
        return
    raise InputFileError(
        f"{source}: no such folder of layers. Pass --layers DIR pointing at a folder like layers/, "
        "or a GeoPackage of the layers (as gis export writes)."
    )


def read_layers(source: Path, *, encoding: str | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Read every thematic layer of a folder or a GeoPackage and check fids are unique across layers.

    Parameters
    ----------
    source
        A folder with ``parks.geojson``, ``industrial.geojson``, ... and ``districts.geojson``,
        or a GeoPackage with layers of those names (feature ids in field ``feature_id``).
    encoding
        Text encoding of the files when not UTF-8 (e.g. ``gbk``).

    Returns
    -------
    dict
        Layer name -> GeoDataFrame from :func:`validate_layer`, plus ``"districts"``.
    """
    source = Path(source)
    _check_source(source)
    if source.suffix.lower() == ".gpkg":
        absent = [n for n in (*settings.LAYER_NAMES, "districts") if n not in _container_layers(source)]
        if absent:
            raise InputFileError(
                f"{source}: has no layer(s) {', '.join(absent)}. A GeoPackage of layers holds "
                f"{', '.join((*settings.LAYER_NAMES, 'districts'))}, as gis export writes."
            )
    problems: list[str] = []
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in settings.LAYER_NAMES:
        try:
            gdf, where = read_source_layer(source, name, encoding=encoding)
            layers[name] = validate_layer(gdf, source=where, layer=name)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    fids = pd.concat([gdf["fid"] for gdf in layers.values()], ignore_index=True)
    names = np.repeat(list(layers), [len(gdf) for gdf in layers.values()])
    for i in np.flatnonzero(fids.duplicated().to_numpy()):  # unique within each layer: a repeat is in two layers
        first = names[(fids == fids[i]).to_numpy().argmax()]
        problems.append(
            f"{source}: fid {fids[i]} is used in both {first} and {names[i]}. fids must be unique across layers."
        )
    if problems:
        raise InputError(problems)
    layers["districts"] = read_districts(source, encoding=encoding)
    return layers


def _decimals(text: str) -> int:
    """Return the number of decimals a figure is stated with ("703" -> 0, "0.4555" -> 4)."""
    mantissa = text.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _read_table(path: Path, *, encoding: str | None = None) -> pd.DataFrame:
    _require_file(path, what="targets table")
    suffix = path.suffix.lower()
    if encoding is not None and _is_utf8(path):
        encoding = None
    try:
        if suffix == ".csv":
            text = path.read_bytes().decode(encoding or "utf-8-sig")
            _check_csv_whole(path, text)
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        if suffix in (".xlsx", ".xlsm"):
            texts = _xlsx_value_texts(path)  # first: it says which sheet is empty
            table = pd.read_excel(path, dtype=str, keep_default_na=False, sheet_name=0)
            if "value" in table.columns and len(texts) == len(table):
                table["value"] = [t if t is not None else v for t, v in zip(texts, table["value"], strict=True)]
            return table
    except UnicodeDecodeError as exc:
        sample = _decodes_as_gbk(path)
        if sample is not None:
            raise InputFileError(
                f"{path}: the targets table is GBK-encoded, not UTF-8 (it reads as {sample!r} in GBK). "
                "Pass --encoding gbk, or save it as UTF-8 CSV."
            ) from exc
        raise InputFileError(
            f"{path}: the targets table is not {encoding or 'UTF-8'} ({exc.reason} at byte {exc.start}). "
            "Pass --encoding with the file's encoding, or save it as UTF-8 CSV."
        ) from exc
    except LookupError as exc:
        raise unknown_encoding(encoding) from exc
    except InputError:
        raise
    except Exception as exc:
        raise InputFileError(
            f"{path}: the targets table cannot be read ({type(exc).__name__}: {exc}). "
            "Save it as an .xlsx workbook (not .xls, not a renamed CSV) or as UTF-8 CSV."
        ) from exc
    raise InputFileError(f"{path}: unknown targets format {suffix!r}. Use .csv or .xlsx.")


def _expected_header() -> str:
    return f"expected a header row ({','.join(settings.TARGET_COLUMNS)}) and one row per target"


def _check_csv_whole(path: Path, text: str) -> None:
    """Refuse a targets CSV that is blank, or whose last row looks cut off.

    A file cut off in its last row (a copy or download that stopped) would be read as a shorter,
    complete table. When the file does not end with a line break, its last row must have every
    column and must not stop inside a quoted field or in the middle of its last field's text:
    else the error names the line and what looks cut off. A complete row is confirmed by ending
    the file with a line break.
    """
    if not text.strip():
        raise InputFileError(f"{path}: the targets table is blank (no header row); {_expected_header()}.")
    if text.endswith(("\n", "\r")):
        return
    in_quote, start = False, 0
    for match in re.finditer(r'["\n]', text):  # the last record starts after the last line break outside quotes
        if match.group() == '"':
            in_quote = not in_quote
        elif not in_quote:
            start = match.end()
    if start == 0:
        return  # a header only: no row to be cut
    header = next(csv.reader(io.StringIO(text)))
    cells = next(csv.reader(io.StringIO(text[start:])), [])
    line = text.count("\n", 0, start) + 1
    column = header[len(cells) - 1] if 0 < len(cells) <= len(header) else "?"
    target = f", target {cells[0].strip()}" if cells and cells[0].strip() else ""
    where = f"{path}: line {line} (the last row{target})"
    fix = f"Restore the whole file (save it again from the spreadsheet, or git checkout -- {path.name})"
    if in_quote:
        raise InputFileError(
            f'{where} looks cut off: the file ends inside the quoted text of field {column} (a " that never '
            f"closes), with no line break after it. {fix}; if the row is complete, close the quote and end the "
            "file with a line break."
        )
    if len(cells) < len(header):
        raise InputFileError(
            f"{where} looks cut off: it has {len(cells)} of the {len(header)} columns, stopping in field {column} "
            f"({cells[-1] if cells else ''!r}), and the file ends without a line break. {fix}; if the row is "
            "complete, fill in its missing columns and end the file with a line break."
        )
    last = text[start:].rstrip(" \t")
    if len(cells) == len(header) and cells[-1].strip() and not last.endswith('"'):
        raise InputFileError(
            f"{where} may be cut off: the file ends without a line break in the middle of field {column} "
            f"({cells[-1]!r}). {fix}; if the row is complete, end the file with a line break (Enter after the "
            "last row)."
        )


_FIXED_FORMAT = re.compile(r"^[#,]*0(?:\.(0+))?$")


def _xlsx_value_texts(path: Path) -> list[str | None]:
    """Return the ``value`` column of the first sheet as text, keeping the decimals a cell shows.

    A spreadsheet stores 4.0 as the number 4; a cell formatted ``0.0`` still states the figure to one
    decimal, which matters for "met at the precision the plan states". Cells without a fixed-decimal
    format give their plain number.
    """
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = wb.worksheets[0]
        rows = sheet.iter_rows()
        header = [str(c.value).strip() if c.value is not None else "" for c in next(rows, ())]
        if not any(header):
            raise InputFileError(
                f"{path}: sheet {sheet.title!r} is empty (its first row is blank); {_expected_header()}. "
                "The targets are read from the workbook's first sheet: put them there."
            )
        if "value" not in header:
            return []
        col = header.index("value")
        out: list[str | None] = []
        for row in rows:
            cell = row[col] if col < len(row) else None
            value = getattr(cell, "value", None)
            if isinstance(value, bool) or not isinstance(value, int | float):
                out.append(None)
                continue
            match = _FIXED_FORMAT.match(str(getattr(cell, "number_format", "") or ""))
            decimals = len(match.group(1) or "") if match else None
            out.append(f"{value:.{decimals}f}" if decimals is not None else repr(float(value)).removesuffix(".0"))
        return out
    finally:
        wb.close()


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


def read_targets(path: Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read and validate the targets table (``.csv`` or ``.xlsx``; ``encoding`` for a CSV not in UTF-8).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`gis.settings.TARGET_COLUMNS` as text (None where empty), with
        ``value`` and ``tolerance_pct`` as floats, plus ``value_decimals`` (decimals stated)
        and ``row`` (the row number in the file, header = 1).
    """
    path = Path(path)
    raw = _read_table(path, encoding=encoding)
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
