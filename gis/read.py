"""Read stage: the thematic layers, the districts and the targets table, validated.

Every reader collects all problems of its input and raises one
:class:`~gis.errors.InputError` that lists them, so a user fixes everything in
one pass. Each problem names the file, the layer, the feature or row and the
field, and says how to fix it.
"""

from __future__ import annotations

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
import pyproj
import shapely

from gis import settings
from gis.crs import AREA_CRS, LAYER_CRS
from gis.errors import InputError, InputFileError
from gis.findings import ERROR, WARNING, Finding, errors
from gis.parallel import map_chunks

log = logging.getLogger(__name__)


def _require_file(path: Path, *, what: str) -> None:
    if not path.exists():
        raise InputFileError(
            f"{path}: no such file ({what}). Check the path, or pass --layers/--targets to point at it."
        )
    if not path.is_file():
        raise InputFileError(f"{path}: is a folder, not a file ({what}).")
    if path.stat().st_size == 0:
        raise InputFileError(
            f"{path}: the file is empty (0 bytes; {what}). Restore it (e.g. git checkout -- {path.name}) or export it again."
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
        try:
            json.loads(path.read_bytes())
        except json.JSONDecodeError as jexc:
            cut = jexc.pos >= len(jexc.doc.rstrip()) - 1
            why = "the file ends in the middle of the data (cut off?)" if cut else "a JSON syntax error"
            return InputFileError(
                f"{path}: {what} is not complete JSON: {why} at line {jexc.lineno}, column {jexc.colno} "
                f"({jexc.msg}). {'Save or download it again.' if cut else 'Correct the file there, or export it again.'}"
            )
        except (UnicodeDecodeError, ValueError):
            pass
    return InputFileError(
        f"{path}: {what} cannot be read ({type(exc).__name__}: {exc}). "
        "Check that the file is complete, valid UTF-8 GeoJSON or a GeoPackage."
    )


def _ogr_read(
    path: Path, *, layer: str, container_layer: str | None, encoding: str | None
) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """Read a vector layer: its metadata, its fields and its geometries as WKB (not yet parsed).

    The Arrow reader is used (fast, no per-feature Python); a non-UTF-8 ``encoding`` needs
    pyogrio's classic reader.
    """
    what = f"layer {layer}"
    text_file = path.with_suffix(".dbf") if path.suffix.lower() == ".shp" else path  # a Shapefile's text is in its .dbf
    if encoding is not None and (path.suffix.lower() == ".gpkg" or _is_utf8(text_file)):
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
        sample = _decodes_as_gbk(text_file)
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


def read_vector(
    path: Path, *, layer: str, encoding: str | None = None, container_layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read one layer (a GeoJSON or Shapefile, or ``container_layer`` of a GeoPackage) as it is stored.

    The frame has the file's fields and its own CRS: None when it declares none, or when a GeoJSON's
    legacy ``crs`` member names a CRS GDAL does not know (``attrs["crs_note"]`` says so; GDAL
    would read it as EPSG:4326). File-level problems (missing, empty, HTML, cut off, wrong
    encoding) raise :class:`InputFileError`; feature-level ones are left to :func:`check_layer`: a
    geometry GEOS cannot parse is None with its reason in the ``_geometry_note`` column, heights
    are dropped and ``attrs["has_z"]`` keeps the features that had them.
    """
    _require_file(path, what=f"layer {layer}")
    meta, fields, wkb = _ogr_read(path, layer=layer, container_layer=container_layer, encoding=encoding)
    unknown = unknown_crs_member(path, meta.get("crs"))
    geoms, notes = _parse_wkb(wkb)
    gdf = gpd.GeoDataFrame(fields, geometry=geoms, crs=None if unknown else meta.get("crs"))
    if any(notes):
        gdf["_geometry_note"] = notes
    has_z = shapely.has_z(gdf.geometry.array)
    if has_z.any():  # heights (x, y, z) from CAD or GPS exports: areas are planar
        log.info("%s: layer %s has 3D coordinates; their heights are dropped", path, layer)
        gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.array), crs=gdf.crs)
    gdf.attrs["has_z"] = has_z
    if unknown:
        gdf.attrs["crs_note"] = f"its crs member names {unknown!r}, a CRS GDAL does not know"
    return gdf


def _read_vector(
    path: Path, *, layer: str, encoding: str | None = None, container_layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read one layer with :func:`read_vector` into EPSG:4326; a layer without a CRS is refused.

    The frame's ``attrs`` keep the source CRS and the features that had heights.
    """
    gdf = read_vector(path, layer=layer, encoding=encoding, container_layer=container_layer)
    has_z = gdf.attrs["has_z"]
    if gdf.crs is None:
        if "crs_note" in gdf.attrs:
            raise InputFileError(
                f"{path}: layer {layer}: {gdf.attrs['crs_note']}. Name it as GDAL reads it (e.g. "
                '"urn:ogc:def:crs:EPSG::4547" for CGCS2000 / 3-degree Gauss-Kruger CM 114E), '
                "or save the layer as RFC 7946 GeoJSON (EPSG:4326, lon/lat)."
            )
        raise InputError(
            f"{path}: layer {layer} has no CRS. Save it with one: RFC 7946 GeoJSON (EPSG:4326, lon/lat), "
            "or a GeoPackage layer with its CRS set."
        )
    source_crs = gdf.crs
    if not gdf.crs.equals(LAYER_CRS):
        log.info("%s: reprojecting layer %s from %s to %s", path, layer, gdf.crs.to_string(), LAYER_CRS)
        with np.errstate(invalid="ignore", over="ignore"):
            gdf = gdf.to_crs(LAYER_CRS)
    gdf.attrs["source_crs"] = source_crs.to_string()
    gdf.attrs["has_z"] = has_z
    return gdf


#: A GeoJSON file up to this size is searched whole for a ``crs`` member written after its features.
_CRS_SEARCH_BYTES = 32 << 20


def geojson_crs_member(path: Path) -> Any:
    """Return the legacy ``crs`` member of a GeoJSON file, or None when it has none.

    RFC 7946 dropped the member, but desktop tools still write it, before the features
    (``"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}}``), and GDAL
    reads it. The start of the file is read; a file of up to 32 MB is parsed whole when the member
    is not before the features but the file holds the word.
    """
    with open(path, "rb") as f:
        head = f.read(1 << 16)
        text = head.decode("utf-8", errors="replace")
        features = text.find('"features"')
        match = re.search(r'"crs"\s*:\s*', text if features < 0 else text[:features])
        if match is not None:
            try:
                return json.JSONDecoder().raw_decode(text, match.end())[0]
            except ValueError:
                return None
        data = head + f.read(_CRS_SEARCH_BYTES)
    if b'"crs"' not in data or len(data) > _CRS_SEARCH_BYTES:
        return None
    try:
        doc = json.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except (ValueError, UnicodeDecodeError):
        return None
    return doc.get("crs") if isinstance(doc, dict) else None


def unknown_crs_member(path: Path, crs: Any) -> str | None:
    """Return what a GeoJSON's ``crs`` member names when GDAL did not understand it, else None.

    GDAL reads a member it does not know (a name such as ``CGCS2000_3_Degree_GK_CM_114E``, a
    link) as EPSG:4326 without a word; a member naming EPSG:4326 or OGC's CRS84 is understood.
    """
    if Path(path).suffix.lower() not in (".geojson", ".json") or crs is None:
        return None
    if not pyproj.CRS.from_user_input(crs).equals("EPSG:4326"):
        return None  # GDAL took its CRS from the member
    member = geojson_crs_member(Path(path))
    if member is None:
        return None
    props = member.get("properties") if isinstance(member, dict) else None
    props = props if isinstance(props, dict) else {}
    if isinstance(member, dict) and str(member.get("type", "")).upper() == "EPSG" and "code" in props:
        name = f"EPSG:{props['code']}"
    else:
        name = str(props.get("name") or props.get("href") or json.dumps(member, ensure_ascii=False))
    try:
        if pyproj.CRS.from_user_input(name).equals("EPSG:4326", ignore_axis_order=True):
            return None
    except pyproj.exceptions.CRSError:
        pass
    return name


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


def _text_column(values: pd.Series, suspects: list[int] | None = None) -> pd.Series:
    """Return a column as stripped text with None where empty.

    A column of text is handled in Arrow: only the values that begin or end with whitespace are
    stripped in Python, so a million names cost no Python call each; a column of few distinct
    values (district codes, parts) is cleaned once per distinct value. Other columns (numbers typed
    as numbers, mixed values) go cell by cell through :func:`_text`.

    ``suspects``, when given, gets the positions of the values holding characters of the range
    U+0080-U+00FF, the candidates for :func:`undo_mojibake` (found in the same pass).
    """
    found: list[int] = []
    out = _clean_column(values, found)
    if suspects is not None:
        suspects.extend(found)
    return out


def _clean_column(values: pd.Series, suspects: list[int]) -> pd.Series:
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
                uniques = np.array([*(_text(v) for v in coded.dictionary.to_pylist()), None], dtype=object)
                codes = coded.indices.fill_null(len(uniques) - 1).to_numpy()
                high = [k for k, v in enumerate(uniques) if v is not None and _HIGH_LATIN_RE.search(v)]
                suspects.extend(np.flatnonzero(np.isin(codes, high)).tolist() if high else [])
                return pd.Series(uniques[codes], dtype=object)
            out = arr.to_numpy(zero_copy_only=False)
            pattern = f"^{_EDGE_SPACE}|{_EDGE_SPACE}$|{_HIGH_LATIN}"  # one pass for both: the rest needs no Python
            marked = pc.match_substring_regex(arr, pattern).fill_null(False)
            for i in np.flatnonzero(marked.to_numpy(zero_copy_only=False)):
                out[i] = out[i].strip()
                if _HIGH_LATIN_RE.search(out[i]):
                    suspects.append(int(i))
            out[out == ""] = None
            return pd.Series(out, dtype=object)
    cells = [_text(v) for v in values]
    suspects.extend(i for i, v in enumerate(cells) if v is not None and _HIGH_LATIN_RE.search(v))
    return pd.Series(cells, dtype=object)


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


def feature_frame(
    gdf: gpd.GeoDataFrame, *, layer: str, suspects: dict[str, list[int]] | None = None
) -> gpd.GeoDataFrame:
    """Return a layer in the toolkit's form: ``layer``, the data model's fields as text, geometry.

    ``suspects``, when given, gets for each field the positions of the values that may be
    mojibake (see :func:`_text_column`).
    """
    found: dict[str, list[int]] = suspects if suspects is not None else {}
    columns = {
        f: _text_column(gdf[f], found.setdefault(f, []))
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
    metres labelled as degrees) or invalid (with GEOS's reason and location). Warning: 3D
    coordinates (heights dropped).

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
    out = feature_frame(gdf, layer=layer, suspects=suspects)
    fids = out["fid"].to_numpy()
    numbers = _private_column(gdf, "_feature_no", np.arange(1, len(gdf) + 1))
    labels = np.array([f if f is not None else f"#{int(n)}" for f, n in zip(fids, numbers, strict=True)], dtype=object)
    findings: list[Finding] = []

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
                f"whose .cpg says otherwise), read it with --encoding {encoding.lower()}.",
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
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding or "utf-8-sig")
        if suffix in (".xlsx", ".xlsm"):
            table = pd.read_excel(path, dtype=str, keep_default_na=False, sheet_name=0)
            texts = _xlsx_value_texts(path)
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
    except Exception as exc:
        raise InputFileError(
            f"{path}: the targets table cannot be read ({type(exc).__name__}: {exc}). "
            "Save it as an .xlsx workbook (not .xls, not a renamed CSV) or as UTF-8 CSV."
        ) from exc
    raise InputFileError(f"{path}: unknown targets format {suffix!r}. Use .csv or .xlsx.")


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
        rows = wb.worksheets[0].iter_rows()
        header = [str(c.value).strip() if c.value is not None else "" for c in next(rows)]
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
    df = pd.DataFrame({c: [_text(v) for v in raw[c]] for c in settings.TARGET_COLUMNS}, dtype=object)
    df["row"] = range(2, len(df) + 2)
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
