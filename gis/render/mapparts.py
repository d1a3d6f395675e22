"""Parts of a web map's embedded document; :mod:`gis.render.mapdata` describes every key.

The land-use parcels, the control lines, the other districts' outlines, the QA findings, and what
the page's sketch review needs to recompute a district total (each aggregate's rule, the review's
constants).
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import settings, style
from gis.codes import code_list, control_kinds, parse_part
from gis.crs import AREA_CRS, LAYER_CRS
from gis.evaluate import half_step_ha
from gis.landuse import LandUse, code_names
from gis.model import CheckRun
from gis.parallel import transform_geometries
from gis.read import read_targets
from gis.render.encoding import SCALE, Strings, encode_geometries, rounded
from gis.validate import text_or_none

log = logging.getLogger(__name__)

#: EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E) as a proj string, for proj4js in the page:
#: its ``tmerc`` is the exact (Poder/Engsager) algorithm, as PROJ's (tests/test_webmap.py compares).
AREA_PROJ4 = "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"

#: Tolerance of the land-use parcels' and control lines' simplification (degrees): half the document's precision.
LANDUSE_SIMPLIFY_DEG = 0.5 / SCALE


def landuse_table(
    landuse: LandUse, district: str | None, strings: Strings, in_frame: Any, title: str
) -> dict[str, Any] | None:
    """Return the land-use parcels (of ``district``, or all) as a table with geometry, grouped by class; None if too many."""
    count = len(landuse.table) if district is None else int((landuse.table["district"] == district).sum())
    if count > settings.MAP_LANDUSE_MAX:  # tens of megabytes: QGIS or gis landuse serve them better
        log.warning(f"{title}: {count:,} land-use parcels, over {settings.MAP_LANDUSE_MAX:,}: overlay left out")
        return None
    p = landuse.parcels.assign(code_name=code_names(landuse))
    if district is not None:
        p = p[(p["district"] == district).to_numpy()]
    order = {c: i for i, c in enumerate(style.LAND_CLASS_COLORS)}
    p = p.iloc[np.argsort(p["land_class"].map(order).to_numpy(), kind="stable")]
    lonlat = transform_geometries(p.geometry.to_numpy(), p.crs, LAYER_CRS)
    geoms = shapely.simplify(in_frame(lonlat), LANDUSE_SIMPLIFY_DEG, preserve_topology=True)
    area = p["area_m2"].to_numpy(dtype=float)
    classes = []
    for key, group in p.groupby("land_class", sort=False):
        zh, en = style.land_class_title(str(key))
        classes.append(
            {
                "key": key,
                "title_zh": zh,
                "title_en": en,
                "color": style.LAND_CLASS_COLORS[str(key)],
                "count": len(group),
                "area_ha": round(float(group["area_m2"].sum()) / 1e4, 4),
            }
        )
    return {
        "system": landuse.system,
        "fill_opacity": style.LANDUSE_FILL_OPACITY,
        "line_color": style.LANDUSE_LINE_COLOR,
        "classes": classes,
        "count": len(p),
        "columns": {
            "parcel_id": [str(v) for v in p["parcel_id"].tolist()],
            "area_m2": np.round(area).astype(np.int64).tolist(),
        },
        "coded_columns": {
            "code": strings.codes(p["code"]),
            "code_name": strings.codes(p["code_name"]),
            "land_class": strings.codes(p["land_class"]),
            "district": strings.codes(p["district"]),
        },
        "geometry": encode_geometries(geoms),
    }


def control_table(
    control: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, strings: Strings, in_frame: Any
) -> dict[str, Any]:
    """Return the control lines meeting ``districts`` (all of them when it has no outline) as a table with geometry."""
    c = control.reset_index(drop=True)
    if len(districts):
        area = shapely.union_all(districts.to_crs(AREA_CRS).geometry.to_numpy())
        c = c[shapely.intersects(c.geometry.to_numpy(), area)]
    lonlat = transform_geometries(c.geometry.to_numpy(), c.crs, LAYER_CRS)
    ids = c["line_id"].tolist() if "line_id" in c.columns else [None] * len(c)
    present = set(c["kind"])
    kinds = []
    for kind in settings.CONTROL_KINDS:
        if kind in present:
            st = style.CONTROL_STYLES[kind]
            kinds.append({"key": kind, "count": int((c["kind"] == kind).sum()), "style": st.to_dict()})
    return {
        "kinds": kinds,
        "count": len(c),
        "columns": {"line_id": [text_or_none(v) for v in ids]},
        "coded_columns": {"kind": strings.codes(c["kind"])},
        "geometry": encode_geometries(shapely.simplify(in_frame(lonlat), LANDUSE_SIMPLIFY_DEG, preserve_topology=True)),
    }


def other_districts(run: CheckRun, district: str | None, in_frame: Any) -> dict[str, Any]:
    """Return the outlines of the districts a district map does not draw (none on the all-district map)."""
    d = run.districts[run.districts["district"] != district] if district is not None else run.districts.iloc[:0]
    return {
        "count": len(d),
        "columns": {"district": [str(v) for v in d["district"]]},
        "coded_columns": {},
        "geometry": encode_geometries(in_frame(d.geometry.array)),
    }


def review_constants() -> dict[str, Any]:
    """Return the shared rules' constants (:mod:`gis.settings`) the page's sketch review reads."""
    return {
        "area_proj4": AREA_PROJ4,
        "min_m2": settings.REVIEW_MIN_M2,
        "conflict_kinds": list(settings.CONFLICT_KINDS),
        "boundary_kinds": list(settings.BOUNDARY_KINDS),
        "control_groups": {k: list(v) for k, v in settings.CONTROL_GROUPS.items()},
        "control_kinds": {k: list(v) for k, v in settings.CONTROL_KINDS.items()},
        "proposal_land_class": dict(settings.PROPOSAL_LAND_CLASS),
        "proposal_part": [settings.PROPOSAL_PART, settings.PART_TITLES_ZH[settings.PROPOSAL_PART]],
        "land_classes": {k: list(v) for k, v in settings.LAND_CLASSES.items()},
        "layer_titles": {k: list(settings.LAYER_TITLES[k]) for k in settings.LAYER_NAMES},
        "prefix": settings.REVIEW_PREFIX,
    }


def _rule(layer: str, part: str | None) -> dict[str, Any] | None:
    """Return what a land-use or control-line total counts, as the review moves it; None for a thematic one."""
    if layer == settings.CONTROL_LAYER and part:
        return {"classes": [], "codes": None, "relation": None, "control": list(control_kinds(part))}
    if layer != settings.LANDUSE_LAYER or not part:
        return None
    p = parse_part(part)
    classes, codes = list(p.classes), None
    if p.code is not None and p.system is not None:
        table = code_list(p.system).table
        codes = code_list(p.system).descendants(p.code)
        cls = text_or_none(table["land_class"].get(p.code))
        classes = [cls] if cls else []
    return {"classes": classes, "codes": codes, "relation": p.relation, "control": list(p.control)}


def aggregate_rules(run: CheckRun, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Return, per aggregate row, the fields the review needs to recompute its status (module docstring of mapdata)."""
    area_ids = set(rows["target_id"][(rows["metric"] == "area") & (rows["unit"] == "ha")])
    targets = run.targets if run.targets is not None or not area_ids else read_targets(run.targets_path)
    half: dict[str, float] = {}
    if targets is not None:
        half = {str(t["target_id"]): half_step_ha(t) for _, t in targets.iterrows() if t["target_id"] in area_ids}
    out = []
    for r in rows.itertuples(index=False):
        tid = str(r.target_id)
        is_area = tid in half
        out.append(
            {
                "layer": r.layer,
                "part": text_or_none(r.part),
                "tolerance_pct": rounded(r.tolerance_pct),
                "half_step": rounded(half[tid], 6) if is_area else None,
                "planned_ha": rounded(r.planned) if is_area else None,
                "measured_ha": rounded(r.measured) if is_area else None,
                "rule": _rule(str(r.layer), text_or_none(r.part)) if is_area else None,
            }
        )
    return out


def qa_findings(run: CheckRun, shown: set[str] | None, in_frame: Any) -> list[dict[str, Any]]:
    """Return the QA findings that have a place (of the shown features only, for a district map)."""
    if run.qa is None:
        return []
    frame = run.qa.frame()
    keep = frame.geometry.notna() & (frame["fid"].isin(list(shown)) if shown is not None else True)
    frame = frame[keep]
    points = in_frame(frame.geometry.array)
    return [
        {
            "severity": r.severity,
            "check": r.check,
            "layer": text_or_none(r.layer),
            "fid": text_or_none(r.fid),
            "other_fid": text_or_none(r.other_fid),
            "area_m2": rounded(r.area_m2, 1),
            "message": r.message,
            "latlng": [round(float(pt.y), 6), round(float(pt.x), 6)],
        }
        for r, pt in zip(frame.itertuples(index=False), points, strict=True)
    ]
