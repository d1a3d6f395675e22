"""A delivery's columns as the stored layers keep them: text, ids, codes, polygons, each feature's district.

Shared by the land-use and the control-line import; every function works on whole columns (no
Python loop over features). A problem is refused in one line naming the file, the field and the
first few features (by id, or by their row in the file).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import settings
from gis._fast.inside import boxes_inside
from gis.crs import AREA_CRS
from gis.errors import InputError
from gis.io.delivery import Delivery
from gis.io.schemas import Schema, find_column
from gis.parallel import map_chunks
from gis.read import read_districts

#: Text columns: Arrow strings (vectorised string functions), NA where empty.
TEXT = pd.StringDtype("pyarrow")
#: How many ids or rows a message names before it says "and N more".
SHOWN = 5


def listed(items: Sequence[object], total: int | None = None) -> str:
    """Return the first few of ``items`` joined, with how many more there are.

    Examples
    --------
    >>> listed(["a", "b"]), listed(list("abcdefg"))
    ('a, b', 'a, b, c, d, e and 2 more')
    """
    total = len(items) if total is None else total
    shown = ", ".join(str(i) for i in items[:SHOWN])
    return shown + (f" and {total - SHOWN} more" if total > SHOWN else "")


def as_text(values: pd.Series) -> pd.Series:
    """Return a column as text (Arrow strings, NA where empty): integers without ``.0``, text stripped.

    Examples
    --------
    >>> as_text(pd.Series([601.0, None, 12])).tolist(), as_text(pd.Series([" M1", "", None])).tolist()
    (['601', <NA>, '12'], ['M1', <NA>, <NA>])
    """
    if pd.api.types.is_bool_dtype(values):
        out = values.astype(TEXT)
    elif pd.api.types.is_numeric_dtype(values):
        num = pd.to_numeric(values, errors="coerce")
        known = num.dropna()
        integral = bool((known == np.round(known)).all())
        out = num.astype("Int64").astype(TEXT) if integral else num.astype(TEXT)
    else:
        out = values.astype(TEXT).str.strip()
    return out.mask(out == "").reset_index(drop=True)


def row_names(ids: pd.Series | None, mask: np.ndarray) -> list[str]:
    """Name the rows of ``mask``: by id where there is one, else by their place in the file (``row 7``)."""
    rows = np.flatnonzero(mask)[:SHOWN]
    if ids is None:
        return [f"row {i + 1}" for i in rows]
    return [f"row {i + 1}" if pd.isna(ids.iloc[i]) else str(ids.iloc[i]) for i in rows]


def parcel_ids(delivery: Delivery, column: str | None, *, prefix: str, notes: list[str], what: str) -> pd.Series:
    """Return the features' ids as text from ``column``, or generated (said in the notes) when it is None.

    Raises
    ------
    InputError
        Ids missing or used twice, the rows named.
    """
    n = len(delivery.gdf)
    if column is None:
        notes.append(f"ids generated ({prefix}-0000001 ...): the file has no id field")
        return pd.Series(np.arange(1, n + 1)).astype(TEXT).str.zfill(7).radd(f"{prefix}-")
    ids = as_text(delivery.gdf[column])
    problems = []
    missing = ids.isna().to_numpy()
    if missing.any():
        problems.append(
            f"{delivery.path}: field {column}: {int(missing.sum())} {what}(s) have no id "
            f"({listed(row_names(None, missing), int(missing.sum()))}). Give every {what} its id."
        )
    dup = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
    if dup.any():
        values = ids[dup]
        first = values.drop_duplicates().head(SHOWN)
        shown = [f"{v} (rows {', '.join(str(i + 1) for i in values.index[values == v][:3])})" for v in first]
        problems.append(
            f"{delivery.path}: field {column}: {values.nunique()} id(s) used by more than one {what}: "
            f"{listed(shown, int(values.nunique()))}. Give every {what} its own id."
        )
    if problems:
        raise InputError(problems)
    return ids


def land_codes(delivery: Delivery, column: str, ids: pd.Series, schema: Schema) -> pd.Series:
    """Return the codes as text; refuse a numeric code field whose codes lost their leading zeros, and missing codes."""
    raw = delivery.gdf[column].reset_index(drop=True)
    codes = as_text(raw)
    if pd.api.types.is_numeric_dtype(raw):
        odd = (codes.str.len() % 2 == 1).fillna(False).to_numpy(dtype=bool)
        if odd.any():
            first = int(np.flatnonzero(odd)[0])
            raise InputError(
                f"{delivery.path}: field {column} is stored as a number, so {int(odd.sum())} code(s) lost their "
                f"leading zero (parcel {ids.iloc[first]}: {codes.iloc[first]}, which was 0{codes.iloc[first]}). "
                f"Export the delivery with {column} as a text field (in QGIS: a text field from "
                f"lpad(to_string(\"{column}\"), 4, '0') for 4-digit codes), then import it again."
            )
    missing = codes.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"{delivery.path}: field {column}: {int(missing.sum())} parcel(s) have no {schema.code_system} code "
            f"({listed(row_names(ids, missing), int(missing.sum()))}). Code them, or leave them out of the delivery."
        )
    return codes


def clean_geometry(delivery: Delivery, ids: pd.Series, *, what: str, warnings: list[str]) -> np.ndarray:
    """Return the polygons, invalid ones made valid (a warning names them); refuse missing, empty or non-polygons."""
    geoms = delivery.gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kinds = shapely.get_type_id(geoms)
    not_polygon = ~missing & ~np.isin(kinds, (3, 6))  # Polygon, MultiPolygon
    problems = []
    if missing.any():
        problems.append(
            f"{delivery.path}: {int(missing.sum())} {what}(s) have no geometry (null or empty): "
            f"{listed(row_names(ids, missing), int(missing.sum()))}. Draw them or leave them out."
        )
    if not_polygon.any():
        problems.append(
            f"{delivery.path}: {int(not_polygon.sum())} {what}(s) are not polygons: "
            f"{listed(row_names(ids, not_polygon), int(not_polygon.sum()))}. Import polygons only."
        )
    if problems:
        raise InputError(problems)
    invalid = ~map_chunks(shapely.is_valid, geoms).astype(bool)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        gone = shapely.is_empty(fixed)
        if gone.any():
            bad = np.zeros(len(geoms), dtype=bool)
            bad[np.flatnonzero(invalid)[gone]] = True
            raise InputError(
                f"{delivery.path}: {int(gone.sum())} {what}(s) have no area once their invalid outline is repaired: "
                f"{listed(row_names(ids, bad), int(gone.sum()))}. Redraw them."
            )
        geoms = geoms.copy()
        geoms[invalid] = fixed
        warnings.append(
            f"{int(invalid.sum())} invalid polygon(s) made valid (self-intersections, bad rings): "
            f"{listed(row_names(ids, invalid), int(invalid.sum()))}; check them"
        )
    return geoms


def district_of(geoms: np.ndarray, districts: gpd.GeoDataFrame) -> np.ndarray:
    """Return the district (code) each polygon's representative point lies in; None outside all of them.

    Boxes of the points deep inside a district are found by a grid (:func:`gis._fast.inside.boxes_inside`),
    the others by the exact test.
    """
    points = map_chunks(shapely.point_on_surface, geoms)
    x, y = shapely.get_x(points), shapely.get_y(points)
    out = np.full(len(geoms), None, dtype=object)
    for code, polygon in zip(districts["district"], districts.geometry, strict=True):
        todo = np.flatnonzero(pd.isna(out))
        if not len(todo):
            break
        px, py = x[todo], y[todo]
        inside = boxes_inside(polygon, np.column_stack([px, py, px, py]))
        rest = ~inside
        shapely.prepare(polygon)
        inside[rest] = shapely.contains_xy(polygon, px[rest], py[rest])
        out[todo[inside]] = code
    return out


def districts_in_area_crs(layers_dir: Path) -> gpd.GeoDataFrame:
    """Return the districts of a folder of layers in EPSG:4547, each one (multi)polygon."""
    districts = read_districts(Path(layers_dir)).to_crs(AREA_CRS)
    districts["district"] = districts["district"].astype(str)
    merged = districts.dissolve("district").reset_index()
    return merged[merged["district"].isin(settings.DISTRICTS)][["district", "geometry"]]


def keep_inside(
    result: pd.DataFrame, geoms: np.ndarray, layers_dir: Path, *, path: Path, what: str, notes: list[str]
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Give each feature its district; leave out (and count in a note) those outside the three districts."""
    district = district_of(geoms, districts_in_area_crs(layers_dir))
    outside = pd.isna(district)
    if outside.all():
        raise InputError(
            f"{path}: none of its {len(geoms)} {what}s lies in Longgang, Longhua or Pingshan "
            f"(the districts of {layers_dir}). Check the frame ({{p:from_crs}}) or the file."
        )
    result = result.assign(district=district)
    if outside.any():
        notes.append(
            f"{int(outside.sum())} {what}(s) outside Longgang, Longhua and Pingshan left out: "
            f"{listed(result.loc[outside, result.columns[0]].tolist(), int(outside.sum()))}"
        )
    result = result[~outside].reset_index(drop=True)
    result["district"] = result["district"].astype(TEXT)
    return result, geoms[~outside], int(outside.sum())


def synthetic_flags(gdf: pd.DataFrame) -> np.ndarray:
    """Return True for features a field ``synthetic`` marks as generated data (test fixtures, samples)."""
    col = find_column(gdf.columns, "synthetic")
    if col is None:
        return np.zeros(len(gdf), dtype=bool)
    text = as_text(gdf[col]).str.lower()
    return text.isin(("1", "true", "yes", "y", "是")).fillna(False).to_numpy(dtype=bool)
