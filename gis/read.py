"""Read stage: the thematic layers, the districts and the targets table, validated.

Every reader collects all problems of its input and raises one
:class:`~gis.errors.InputError` that lists them, so a user fixes everything in
one pass. Each problem names the file, the layer, the feature or row and the
field, and says how to fix it.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import settings
from gis.crs import LAYER_CRS
from gis.errors import InputError, InputFileError

log = logging.getLogger(__name__)


def _require_file(path: Path, *, what: str) -> None:
    if not path.exists():
        raise InputFileError(
            f"{path}: no such file ({what}). Check the path, or pass --layers/--targets to point at it."
        )
    if not path.is_file():
        raise InputFileError(f"{path}: is a folder, not a file ({what}).")


def _read_vector(path: Path, *, layer: str) -> gpd.GeoDataFrame:
    _require_file(path, what=f"layer {layer}")
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputFileError(
            f"{path}: layer {layer} cannot be read as GeoJSON ({type(exc).__name__}: {exc}). "
            "Check that the file is complete, valid UTF-8 GeoJSON."
        ) from exc
    if gdf.crs is None:
        raise InputError(f"{path}: layer {layer} has no CRS. Save it as RFC 7946 GeoJSON (EPSG:4326, lon/lat).")
    if not gdf.crs.equals(LAYER_CRS):
        log.info("%s: reprojecting layer %s from %s to %s", path, layer, gdf.crs.to_string(), LAYER_CRS)
        gdf = gdf.to_crs(LAYER_CRS)
    if gdf.geometry.has_z.any():  # heights (x, y, z) from CAD or GPS exports: areas are planar
        log.info("%s: layer %s has 3D coordinates; their heights are dropped", path, layer)
        gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.array), crs=gdf.crs)
    return gdf


def _text(value: object) -> str | None:
    """Return a cell as stripped text, or None when empty/missing."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    return text or None


def read_layer(path: Path, *, layer: str) -> gpd.GeoDataFrame:
    """Read and validate one thematic layer.

    Parameters
    ----------
    path
        GeoJSON file of the layer.
    layer
        The layer's name (one of :data:`gis.settings.LAYER_NAMES`), used in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature, every field of :data:`gis.settings.FEATURE_FIELDS` as text
        (None where empty), a ``layer`` column, geometry in EPSG:4326.
    """
    path = Path(path)
    return validate_layer(_read_vector(path, layer=layer), source=str(path), layer=layer)


def validate_layer(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> gpd.GeoDataFrame:
    """Check a layer's features against the data model; return them in the toolkit's form.

    ``source`` names the file in messages. Raises :class:`InputError` listing every problem.
    """
    path = source
    problems: list[str] = []
    missing = [f for f in settings.REQUIRED_FEATURE_FIELDS if f not in gdf.columns]
    if missing:
        raise InputError(
            f"{path}: layer {layer} lacks the field(s) {', '.join(missing)}. "
            "Add them to every feature (see layers/README.md for the data model)."
        )
    columns = {
        f: pd.Series([_text(v) for v in gdf[f]] if f in gdf.columns else [None] * len(gdf), dtype=object)
        for f in settings.FEATURE_FIELDS
    }
    out = gpd.GeoDataFrame(columns, geometry=gdf.geometry.values, crs=gdf.crs)
    out.insert(0, "layer", layer)
    geoms = list(out.geometry.array)
    for i, row in enumerate(out.drop(columns="geometry").itertuples(index=False)):
        fid = row.fid or f"#{i + 1}"
        where = f"{path}: layer {layer}, feature {fid}"
        for field in settings.REQUIRED_FEATURE_FIELDS:
            if getattr(row, field) is None:
                problems.append(f"{where}: field {field} is empty. Fill it in.")
        if row.district is not None and row.district not in settings.DISTRICTS:
            problems.append(
                f"{where}: field district is {row.district!r}, not one of {', '.join(settings.DISTRICTS)}. "
                "Use the district code as text."
            )
        if row.part is not None and row.part not in settings.PARTS:
            problems.append(f"{where}: field part is {row.part!r}; use one of {', '.join(settings.PARTS)}.")
        problems.extend(_geometry_problems(geoms[i], where=where))
    dup = out["fid"][out["fid"].notna() & out["fid"].duplicated(keep=False)]
    for fid in sorted(set(dup)):
        problems.append(
            f"{path}: layer {layer}: fid {fid} is used by {int((dup == fid).sum())} features. Give each its own fid."
        )
    known = set(out["fid"].dropna())
    for _, row in out[out["parent"].notna()].iterrows():
        if row["parent"] not in known:
            problems.append(
                f"{path}: layer {layer}, feature {row['fid']}: field parent is {row['parent']!r}, "
                "which is no fid of this layer. Correct the parent or add that feature."
            )
    if problems:
        raise InputError(problems)
    return out


def _geometry_problems(geom: shapely.Geometry | None, *, where: str) -> list[str]:
    """Return what is wrong with one feature's geometry (nothing for a valid lon/lat polygon here)."""
    if geom is None or shapely.is_missing(geom) or geom.is_empty:
        return [f"{where}: geometry is missing or empty. Draw the polygon or remove the feature."]
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return [f"{where}: geometry is a {geom.geom_type}; areas need a Polygon."]
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        return [f"{where}: geometry has NaN or infinite coordinates. Redraw or re-export the feature."]
    minx, miny, maxx, maxy = settings.LONLAT_BOUNDS
    x0, y0, x1, y1 = geom.bounds
    if x0 < minx or x1 > maxx or y0 < miny or y1 > maxy:
        hint = (
            "The numbers look like metres: save the layer as EPSG:4326 longitude/latitude."
            if max(abs(x0), abs(y1)) > 360
            else "Longitude and latitude may be swapped, or the feature is not in Longgang, Longhua or Pingshan."
        )
        return [
            f"{where}: geometry lies outside lon {minx}..{maxx}, lat {miny}..{maxy} "
            f"(its bounds are {x0:.4f}, {y0:.4f}, {x1:.4f}, {y1:.4f}). {hint}"
        ]
    if not geom.is_valid:
        return [
            f"{where}: geometry is invalid ({shapely.is_valid_reason(geom)}). Redraw the outline so that it does not cross itself."
        ]
    return []


def read_districts(path: Path) -> gpd.GeoDataFrame:
    """Read the district boundaries (``district``, ``name_zh``, ``name_en``, geometry in EPSG:4326)."""
    path = Path(path)
    gdf = _read_vector(path, layer="districts")
    if "district" not in gdf.columns:
        raise InputError(
            f"{path}: layer districts lacks the field district. Rebuild it with scripts/build_districts.py."
        )
    gdf["district"] = pd.Series([_text(v) for v in gdf["district"]], index=gdf.index, dtype=object)
    return gdf


def read_layers(layers_dir: Path) -> dict[str, gpd.GeoDataFrame]:
    """Read every thematic layer of a folder and check fids are unique across layers.

    Returns
    -------
    dict
        Layer name -> GeoDataFrame from :func:`read_layer`, plus ``"districts"``.
    """
    layers_dir = Path(layers_dir)
    if not layers_dir.is_dir():
        raise InputFileError(
            f"{layers_dir}: no such folder of layers. Pass --layers DIR pointing at a folder like layers/."
        )
    problems: list[str] = []
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in settings.LAYER_NAMES:
        try:
            layers[name] = read_layer(layers_dir / f"{name}.geojson", layer=name)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    seen: dict[str, str] = {}
    for name, gdf in layers.items():
        for fid in gdf["fid"]:
            if fid in seen:
                problems.append(
                    f"{layers_dir}: fid {fid} is used in both {seen[fid]} and {name}. fids must be unique across layers."
                )
            seen[fid] = name
    if problems:
        raise InputError(problems)
    layers["districts"] = read_districts(layers_dir / "districts.geojson")
    return layers


def _decimals(text: str) -> int:
    """Return the number of decimals a figure is stated with ("703" -> 0, "0.4555" -> 4)."""
    mantissa = text.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _read_table(path: Path) -> pd.DataFrame:
    _require_file(path, what="targets table")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if suffix in (".xlsx", ".xlsm"):
            table = pd.read_excel(path, dtype=str, keep_default_na=False, sheet_name=0)
            texts = _xlsx_value_texts(path)
            if "value" in table.columns and len(texts) == len(table):
                table["value"] = [t if t is not None else v for t, v in zip(texts, table["value"], strict=True)]
            return table
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path}: the targets table is not UTF-8 ({exc.reason} at byte {exc.start}). Save it as UTF-8 CSV."
        ) from exc
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
        problems.append(f"{where}: field {field} is {text!r}, not a number. Write a plain number such as 12.5.")
        return None
    if not math.isfinite(value):
        problems.append(f"{where}: field {field} is {text!r}; give a finite number.")
        return None
    return value


def read_targets(path: Path) -> pd.DataFrame:
    """Read and validate the targets table (``.csv`` or ``.xlsx``).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`gis.settings.TARGET_COLUMNS` as text (None where empty), with
        ``value`` and ``tolerance_pct`` as floats, plus ``value_decimals`` (decimals stated)
        and ``row`` (the row number in the file, header = 1).
    """
    path = Path(path)
    raw = _read_table(path)
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
