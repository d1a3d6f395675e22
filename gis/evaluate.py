"""Evaluate stage: targets against measured features, one status per target.

Statuses (see :data:`gis.settings.STATUSES`):

- ``met``: the measured value satisfies the comparator; for ``approx``, it equals the
  planned figure at the precision the plan states it (703 -> within +/-0.5 ha), and
  misses by no more than the tolerance (a figure stated as "4" is not met by 4.47).
- ``within tolerance``: not met, but within ``tolerance_pct`` of the planned figure.
- ``short`` / ``over``: below / above the planned figure by more than the tolerance.
- ``no polygon``: no feature or part carries the figure.
- ``not checkable by area``: a building floor area, which no polygon's area can check.

Besides the rows of the targets table, two consistency checks are derived from the
layers: every part lies inside its parent (``within_parent``) and every part's planned
figure is not larger than its parent's (``planned_le_parent``).
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import settings
from gis.codes import parse_part
from gis.join import FeatureIndex
from gis.landuse import LandUse
from gis.landuse_targets import LandMeasure
from gis.measure import measure_geometries
from gis.progress import tracked
from gis.results import RESULT_COLUMNS
from gis.spatial import Shapes, union_ha

log = logging.getLogger(__name__)


def compare(comparator: str, planned: float, measured: float, *, tolerance_pct: float, half_step: float = 0.0) -> str:
    """Return the status of ``measured`` against ``planned`` under ``comparator``.

    Parameters
    ----------
    comparator
        ``approx``, ``at_least``, ``more_than`` or ``at_most``.
    planned, measured
        The two values, in one unit.
    tolerance_pct
        How far (per cent of ``planned``) a value may miss and still be ``within tolerance``.
    half_step
        For ``approx``: half a unit of the last decimal the plan states; a value this close is ``met``.

    Examples
    --------
    >>> compare("approx", 703, 703.4, tolerance_pct=10, half_step=0.5)
    'met'
    >>> compare("approx", 703, 650, tolerance_pct=10, half_step=0.5)
    'within tolerance'
    >>> compare("approx", 4, 4.47, tolerance_pct=10, half_step=0.5)
    'over'
    >>> compare("at_least", 400, 380, tolerance_pct=10)
    'within tolerance'
    >>> compare("more_than", 6000, 6000, tolerance_pct=0)
    'short'
    """
    delta = measured - planned
    miss_pct = abs(delta) / planned * 100.0 if planned else math.inf
    eps = 1e-9 * max(1.0, abs(planned))
    if comparator == "approx":
        # met: equal at the precision the plan states, and never a larger miss than the tolerance
        if abs(delta) <= half_step + eps and (tolerance_pct <= 0 or miss_pct <= tolerance_pct + 1e-9):
            return settings.MET
        if tolerance_pct > 0 and miss_pct <= tolerance_pct + 1e-9:
            return settings.WITHIN
        return settings.SHORT if delta < 0 else settings.OVER
    if comparator == "at_least":
        ok = measured >= planned - eps
    elif comparator == "more_than":
        ok = measured > planned + eps
    elif comparator == "at_most":
        ok = measured <= planned + eps
    else:
        raise ValueError(f"unknown comparator {comparator!r}; use one of {', '.join(settings.COMPARATORS)}")
    if ok:
        return settings.MET
    if tolerance_pct > 0 and miss_pct <= tolerance_pct + 1e-9:
        return settings.WITHIN
    return settings.OVER if comparator == "at_most" else settings.SHORT


def _half_step(decimals: int, factor: float) -> float:
    return 0.5 * 10.0 ** (-decimals) * factor


def half_step_ha(target: pd.Series) -> float:
    """Return half a unit of the last decimal an area target states, in ha (the ``approx`` rounding).

    Examples
    --------
    >>> half_step_ha(pd.Series({"value_decimals": 1, "unit": "km2"}))
    5.0
    """
    return _half_step(int(target["value_decimals"]), settings.AREA_UNITS_HA[target["unit"]])


def _preferred(rows: pd.DataFrame) -> pd.Series:
    """Return the row stating the figure itself (``approx``) if any, else the first."""
    approx = rows[rows["comparator"] == "approx"]
    return (approx if not approx.empty else rows).iloc[0]


def _aggregate_names(t: pd.Series) -> tuple[str | None, str | None]:
    if t["scope"] != "aggregate" or t["district"] not in settings.DISTRICTS or t["layer"] not in settings.LAYER_TITLES:
        return None, None
    d_zh, d_en = settings.DISTRICTS[t["district"]]
    if t["layer"] == settings.LANDUSE_LAYER:
        zh, en = parse_part(t["part"]).label()
        return f"{d_zh}{zh}", f"{d_en}: {en}"
    if t["layer"] == settings.CONTROL_LAYER:
        zh, en = settings.CONTROL_KINDS.get(t["part"], ("工业区块线", "industrial block line"))
        return f"{d_zh}{zh}", f"{d_en}: {en.lower()}"
    l_zh, l_en = settings.LAYER_TITLES[t["layer"]]
    part = f" ({t['part']})" if t["part"] else ""
    return f"{d_zh}{l_zh}{part}", f"{d_en}: {l_en.lower()}{part}"


def _base(t: pd.Series, feat: pd.Series | None) -> dict[str, object]:
    agg_zh, agg_en = _aggregate_names(t)
    return {
        "target_id": t["target_id"],
        "scope": t["scope"],
        "fid": t["fid"],
        "part": t["part"],
        "name_zh": feat["name_zh"] if feat is not None else agg_zh,
        "name_en": feat["name_en"] if feat is not None else agg_en,
        "district": t["district"] if t["district"] is not None else (feat["district"] if feat is not None else None),
        "layer": t["layer"] if t["layer"] is not None else (feat["layer"] if feat is not None else None),
        "metric": t["metric"],
        "comparator": t["comparator"],
        "tolerance_pct": t["tolerance_pct"],
        "horizon": t["horizon"],
        "source_file": t["source_file"],
        "source_ref": t["source_ref"],
        "note": t["note"],
    }


def _with_values(rec: dict[str, object], planned: float, measured: float | None, unit: str, status: str) -> None:
    rec.setdefault("feature_fid", None)
    rec["planned"] = planned
    rec["measured"] = measured
    rec["unit"] = unit
    if measured is None or status in (settings.NO_POLYGON, settings.NOT_CHECKABLE):
        rec["delta"] = None
        rec["delta_pct"] = None
    else:
        rec["delta"] = measured - planned
        rec["delta_pct"] = (measured - planned) / planned * 100.0 if planned else None
    rec["status"] = status


def check_targets(
    features: gpd.GeoDataFrame | pd.DataFrame,
    targets: pd.DataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    shapes: Shapes | None = None,
    landuse: LandUse | None = None,
    control: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Evaluate every target against the measured features, plus the derived consistency checks.

    Parameters
    ----------
    features
        Output of :func:`gis.measure.measure_features`.
    targets
        Output of :func:`gis.read.read_targets`, already checked by :func:`validate_join`.
    districts
        District boundaries; when given, every feature is also checked to lie inside its district.
    shapes
        The geometries in EPSG:4547 as the checks need them; by default reprojected from
        ``features`` (which must then be a GeoDataFrame). The dask engine passes them.
    landuse, control
        The land-use layer and the control lines (:mod:`gis.landuse`), for the targets on layers
        ``landuse`` and ``control_lines``; without them those targets are ``no land-use layer``
        (``no control-line layer``), and their note says how to add the layer.

    Returns
    -------
    pandas.DataFrame
        One row per target with the columns of :data:`RESULT_COLUMNS`. Areas are in hectares.
    """
    features = features.reset_index(drop=True)
    if shapes is None:
        shapes = Shapes.of(measure_geometries(features.geometry), features, districts)
    index = FeatureIndex(features)
    land = LandMeasure(landuse, control, districts)
    records: list[dict[str, object]] = []
    planned_ha_by_fid: dict[str, tuple[float, str]] = {}  # resolved feature fid -> (planned ha, target id)
    part_rows: list[tuple[pd.Series, str, float]] = []
    size = len(features) + (landuse.count if landuse is not None else 0)  # the features the targets measure
    for _, t in tracked(targets.iterrows(), "checking targets", total=len(targets), size=size, unit="targets"):
        fid = t["fid"]
        if fid is not None and fid not in index.by_fid:  # allowed only by validate_join(missing_ok=True)
            rec = _base(t, None)
            if t["metric"] == "area":  # a land area is in ha on every row, whatever unit the plan used
                _with_values(
                    rec, float(t["value"]) * settings.AREA_UNITS_HA[t["unit"]], None, "ha", settings.NO_POLYGON
                )
            else:
                _with_values(rec, float(t["value"]), None, t["unit"], settings.NO_POLYGON)
            records.append(rec)
            continue
        feat = index.row(fid) if fid is not None else None
        rec = _base(t, feat)
        metric = t["metric"]
        value = float(t["value"])
        if metric == "floor_area":
            floor_feat = index.resolve(fid, t["part"]) if fid is not None else None
            rec["feature_fid"] = floor_feat["fid"] if floor_feat is not None else None
            _with_values(rec, value, None, t["unit"], settings.NOT_CHECKABLE)
        elif metric == "plot_ratio":
            same = targets[targets["fid"] == fid]
            floor = _preferred(same[same["metric"] == "floor_area"])
            area = _preferred(same[(same["metric"] == "area") & (same["part"] == t["part"])])
            floor_ha = float(floor["value"]) * settings.AREA_UNITS_HA[floor["unit"]]
            area_ha = float(area["value"]) * settings.AREA_UNITS_HA[area["unit"]]
            ratio = floor_ha / area_ha
            status = compare(
                t["comparator"],
                value,
                ratio,
                tolerance_pct=float(t["tolerance_pct"]),
                half_step=_half_step(int(t["value_decimals"]), 1.0),
            )
            _with_values(rec, value, ratio, "ratio", status)
            part_feat = index.resolve(fid, t["part"])
            rec["feature_fid"] = part_feat["fid"] if part_feat is not None else None
            extra = f"computed from the plan's figures: {floor['target_id']} / {area['target_id']} = {ratio:.3f}"
            if part_feat is not None:
                extra += f"; with the digitized {t['part']} ({part_feat['area_ha']:.1f} ha): {floor_ha / part_feat['area_ha']:.3f}"
            rec["note"] = f"{t['note']}; {extra}" if t["note"] else extra
        else:
            factor = settings.AREA_UNITS_HA[t["unit"]]
            planned = value * factor
            half = half_step_ha(t)
            if t["layer"] in (settings.LANDUSE_LAYER, settings.CONTROL_LAYER):
                measured, status, extra = land.measure(t)
                if measured is not None:
                    status = compare(
                        t["comparator"], planned, measured, tolerance_pct=float(t["tolerance_pct"]), half_step=half
                    )
                _with_values(rec, planned, measured, "ha", status)
                if extra:
                    rec["note"] = f"{t['note']}; {extra}" if t["note"] else extra
            elif t["scope"] == "aggregate":
                sel = features[(features["layer"] == t["layer"]) & (features["district"] == t["district"])]
                if t["part"] is not None:
                    sel = sel[sel["part"] == t["part"]]
                if sel.empty:
                    _with_values(rec, planned, None, "ha", settings.NO_POLYGON)
                else:
                    measured = union_ha(sel, shapes)
                    status = compare(
                        t["comparator"], planned, measured, tolerance_pct=float(t["tolerance_pct"]), half_step=half
                    )
                    _with_values(rec, planned, measured, "ha", status)
            elif fid is None:  # a rule or figure that names no feature
                _with_values(rec, planned, None, "ha", settings.NO_POLYGON)
            else:
                target_feat = index.resolve(fid, t["part"])
                if target_feat is None:
                    _with_values(rec, planned, None, "ha", settings.NO_POLYGON)
                else:
                    rec["feature_fid"] = target_feat["fid"]
                    measured = float(target_feat["area_ha"])
                    status = compare(
                        t["comparator"], planned, measured, tolerance_pct=float(t["tolerance_pct"]), half_step=half
                    )
                    _with_values(rec, planned, measured, "ha", status)
                    planned_ha_by_fid.setdefault(target_feat["fid"], (planned, t["target_id"]))
                if t["part"] not in (None, "extent") and (target_feat is None or target_feat["fid"] != fid):
                    part_rows.append((t, target_feat["fid"] if target_feat is not None else "", planned))
                elif target_feat is not None and target_feat["parent"]:
                    part_rows.append((t, target_feat["fid"], planned))
        records.append(rec)
    records.extend(_planned_le_parent(index, part_rows, planned_ha_by_fid))
    records.extend(_within_parent(features, index, shapes.projected))
    if shapes.shares is not None:
        records.extend(_within_district(features, pd.Series(shapes.shares, index=features.index)))
    out = pd.DataFrame.from_records(records)
    return out.reindex(columns=list(RESULT_COLUMNS))


def _planned_le_parent(
    index: FeatureIndex, part_rows: list[tuple[pd.Series, str, float]], planned_ha_by_fid: dict[str, tuple[float, str]]
) -> list[dict[str, object]]:
    """Check that a part's planned figure does not exceed its parent's (e.g. 整备规模 <= 片区规模)."""
    records: list[dict[str, object]] = []
    for t, part_fid, planned in part_rows:
        # a part with no polygon of its own: its parent is the feature the row names
        parent_fid = index.row(part_fid)["parent"] if part_fid else t["fid"]
        if not parent_fid or parent_fid not in planned_ha_by_fid:
            continue
        parent_planned, parent_tid = planned_ha_by_fid[parent_fid]
        feat = index.row(t["fid"])
        rec = _base(t, feat)
        rec.update(
            target_id=f"{t['target_id']}:planned_le_parent",
            feature_fid=part_fid or None,
            scope="consistency",
            metric="planned_le_parent",
            comparator="at_most",
            tolerance_pct=0.0,
            note=f"the planned {t['part']} ({t['target_id']}) is not larger than its parent's figure ({parent_tid})",
        )
        status = compare("at_most", parent_planned, planned, tolerance_pct=0.0)
        _with_values(rec, parent_planned, planned, "ha", status)
        records.append(rec)
    return records


def _share_record(row: pd.Series, metric: str, share: float, note: str) -> dict[str, object]:
    """Return a derived containment check of one feature: the share of its area inside its container."""
    rec: dict[str, object] = {
        "target_id": f"{row['fid']}:{metric}",
        "scope": "consistency",
        "fid": row["fid"],
        "part": row["part"],
        "feature_fid": row["fid"],
        "name_zh": row["name_zh"],
        "name_en": row["name_en"],
        "district": row["district"],
        "layer": row["layer"],
        "metric": metric,
        "comparator": "at_least",
        "tolerance_pct": 0.0,
        "horizon": None,
        "source_file": row["source_file"],
        "source_ref": row["source_ref"],
        "note": note,
    }
    status = settings.MET if share >= settings.WITHIN_PARENT_PCT else settings.SHORT
    _with_values(rec, 100.0, share, "%", status)
    return rec


def _within_parent(features: pd.DataFrame, index: FeatureIndex, projected: np.ndarray) -> list[dict[str, object]]:
    """Check that every part lies inside its parent: the share of its area inside the parent, in per cent."""
    parts = features[features["parent"].notna()]
    if parts.empty:
        return []
    records = []
    for pos in np.flatnonzero(features["parent"].notna().to_numpy()):
        row = features.iloc[pos]
        parent = index.by_fid[row["parent"]]
        geom = projected[pos]
        share = float(geom.intersection(projected[parent]).area / geom.area * 100.0) if geom.area else 0.0
        records.append(
            _share_record(row, "within_parent", share, f"share of {row['fid']} inside its parent {row['parent']}")
        )
    return records


def _within_district(features: pd.DataFrame, shares: pd.Series) -> list[dict[str, object]]:
    """Check that every feature lies inside its district: only features that stick out are listed."""
    records = []
    out = (shares < settings.WITHIN_PARENT_PCT).to_numpy()
    for (_, row), share in zip(features[out].iterrows(), shares[out].tolist(), strict=True):
        note = (
            f"share of {row['fid']} inside district {row['district']}; "
            "redraw it inside its district or correct field district"
        )
        records.append(_share_record(row, "within_district", share, note))
    return records
