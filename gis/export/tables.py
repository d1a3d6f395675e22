"""The tables an export writes: every feature with its computed fields, and the target results."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import settings, style
from gis.landuse import code_names
from gis.model import CheckRun
from gis.results import RESULT_COLUMNS, feature_status
from gis.settings import COMPUTED_FIELDS

log = logging.getLogger(__name__)


#: The exported feature fields, in order (ASCII snake_case; Chinese aliases in settings): the data
#: model's fields (the text id as ``feature_id``: ``fid`` is a GeoPackage's row id), the computed ones
#: after the descriptive ones, provenance last.
EXPORT_FIELDS: tuple[str, ...] = (
    "feature_id",
    "layer",
    *settings.FEATURE_FIELDS[1:8],  # name_zh ... category
    *COMPUTED_FIELDS,
    *settings.FEATURE_FIELDS[8:],  # source_file ... method
)


def feature_table(run: CheckRun) -> gpd.GeoDataFrame:
    """Return every feature with its computed fields (planned, delta, status, citation), EPSG:4326.

    Built by columns: the computed fields are filled in at the rows of the (few) features that
    have targets, text stays in object columns (None where empty), so a million parcels take
    about a second.
    """
    f = run.features
    results = run.results
    n = len(f)
    fids = f["fid"].to_numpy(dtype=object)
    at = pd.Index(fids)
    area = results[(results["metric"] == "area") & results["feature_fid"].notna()]
    planned, delta, delta_pct = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    target_ids = np.full(n, None, dtype=object)
    cite_file = f["source_file"].to_numpy(dtype=object).copy()
    cite_ref = f["source_ref"].to_numpy(dtype=object).copy()
    for fid, rows in area.groupby("feature_fid", sort=False):
        i = at.get_indexer([fid])[0]
        if i < 0:
            continue
        primary = rows[rows["comparator"] == "approx"] if (rows["comparator"] == "approx").any() else rows
        first = primary.iloc[0]
        for column, key in ((planned, "planned"), (delta, "delta"), (delta_pct, "delta_pct")):
            value = _float(first[key])
            column[i] = np.nan if value is None else value
        target_ids[i] = ";".join(rows["target_id"]) or None
        cite_file[i], cite_ref[i] = first["source_file"], first["source_ref"]
    status, checks_failed = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    st = feature_status(results)
    rows_at = at.get_indexer(st.index)
    found = rows_at >= 0
    status[rows_at[found]] = st["status"].to_numpy(dtype=object)[found]
    checks_failed[rows_at[found]] = st["checks_failed"].to_numpy(dtype=object)[found]
    memo: dict[tuple[object, object], str | None] = {}  # a citation per distinct (file, place)

    def cite(cf: object, cr: object) -> str | None:
        return f"{settings.SOURCES.get(str(cf), cf)} · {cr}" if cf else None

    citation = [
        memo[k] if (k := (cf, cr)) in memo else memo.setdefault(k, cite(cf, cr))
        for cf, cr in zip(cite_file, cite_ref, strict=True)
    ]

    def text(values: object) -> pd.Series:
        out = np.array(values, dtype=object)
        out[pd.isna(out)] = None
        return pd.Series(out, dtype=object)

    columns = {
        "feature_id": text(fids),
        "layer": text(f["layer"].to_numpy(dtype=object)),
        **{col: text(f[col].to_numpy(dtype=object)) for col in settings.FEATURE_FIELDS[1:8]},
        "area_ha": [round(v, 6) for v in f["area_ha"].to_numpy(dtype=float).tolist()],
        "geodesic_ha": [round(v, 6) for v in f["geodesic_ha"].to_numpy(dtype=float).tolist()],
        "planned_ha": planned,
        "delta_ha": delta,
        "delta_pct": delta_pct,
        "status": text(status),
        "checks_failed": text(checks_failed),
        "target_ids": text(target_ids),
        "citation": text(np.array(citation, dtype=object)),
        **{col: text(f[col].to_numpy(dtype=object)) for col in settings.FEATURE_FIELDS[8:]},
    }
    table = pd.DataFrame({k: np.asarray(v, dtype=float) if k in _FLOAT_FIELDS else v for k, v in columns.items()})
    return gpd.GeoDataFrame(table[list(EXPORT_FIELDS)], geometry=f.geometry.array, crs=f.crs)


_FLOAT_FIELDS = ("area_ha", "geodesic_ha", "planned_ha", "delta_ha", "delta_pct", *settings.NUMBER_FIELDS)


def _float(value: object) -> float | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return round(float(value), 6)  # type: ignore[arg-type]


def target_table(run: CheckRun) -> pd.DataFrame:
    """Return every target result as a plain table (the non-spatial layer of the GeoPackage)."""
    table = run.results.reindex(columns=list(RESULT_COLUMNS)).rename(
        columns={"fid": "feature_id", "feature_fid": "measured_feature_id"}  # "fid" is the GeoPackage's row id
    )
    for col in table.columns:
        if table[col].dtype == object or str(table[col].dtype).startswith("str"):
            table[col] = table[col].astype(object).where(table[col].notna(), None)
    return table


#: Fields of the exported land-use layer, in order.
LANDUSE_EXPORT_FIELDS: tuple[str, ...] = (
    "parcel_id",
    "code",
    "code_system",
    "code_name",
    "land_class",
    "class_zh",
    "district",
    "area_ha",
    "official_ha",
    "source_file",
    "synthetic",
)


def landuse_table(run: CheckRun) -> gpd.GeoDataFrame | None:
    """Return the land-use parcels with the fields of :data:`LANDUSE_EXPORT_FIELDS` (EPSG:4547), or None without a layer.

    ``code_name`` is the name the file gave the code, else the code list's; ``class_zh`` the land
    class in Chinese (未归类, 未知代码 for the two that are none); ``area_ha`` planar in EPSG:4547,
    ``official_ha`` the file's official area (empty where it has none); ``source_file`` the delivery
    it was imported from, ``synthetic`` true for a generated sample (scripts/sample_delivery.py).
    """
    if run.landuse is None:
        return None
    p = run.landuse.parcels
    code_name = code_names(run.landuse)
    classes = p["land_class"].astype(object)
    zh = {k: style.land_class_title(k)[0] for k in style.LAND_CLASS_COLORS}
    table = pd.DataFrame(
        {
            "parcel_id": p["parcel_id"].astype(object).to_numpy(),
            "code": p["code"].astype(object).to_numpy(),
            "code_system": run.landuse.system,
            "code_name": code_name.to_numpy(),
            "land_class": classes.to_numpy(),
            "class_zh": classes.map(zh).to_numpy(),
            "district": p["district"].astype(object).to_numpy(),
            "area_ha": np.round(p["area_m2"].to_numpy(dtype=float) / 1e4, 6),
            "official_ha": np.round(pd.to_numeric(p["official_m2"], errors="coerce").to_numpy(dtype=float) / 1e4, 6),
            "source_file": p["source_file"].astype(object).to_numpy() if "source_file" in p.columns else None,
            "synthetic": p["synthetic"].fillna(False).astype(bool).to_numpy() if "synthetic" in p.columns else False,
        }
    )
    return gpd.GeoDataFrame(table, geometry=p.geometry.array, crs=p.crs)


def control_table(run: CheckRun) -> gpd.GeoDataFrame | None:
    """Return the control lines (``line_id``, ``kind``, ``name_zh``, ``district``; EPSG:4547), or None without them."""
    if run.control is None:
        return None
    c = run.control
    columns = {
        k: (c[k].astype(object).where(c[k].notna(), None).to_numpy() if k in c.columns else None)
        for k in ("line_id", "kind", "name_zh", "district")
    }
    return gpd.GeoDataFrame(pd.DataFrame(columns, index=range(len(c))), geometry=c.geometry.array, crs=c.crs)
