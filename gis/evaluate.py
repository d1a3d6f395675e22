"""Join and evaluate stage: targets against measured features, one status per target.

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

import difflib
import functools
import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import settings
from gis.crs import AREA_CRS
from gis.errors import InputError
from gis.measure import GEODESIC_EXACT_M, Measured, measure_geometries, project
from gis.parallel import map_chunks, transform_geometries

log = logging.getLogger(__name__)

RESULT_COLUMNS: tuple[str, ...] = (
    "target_id",
    "scope",
    "fid",
    "part",
    "feature_fid",
    "name_zh",
    "name_en",
    "district",
    "layer",
    "metric",
    "comparator",
    "planned",
    "measured",
    "unit",
    "delta",
    "delta_pct",
    "tolerance_pct",
    "status",
    "horizon",
    "source_file",
    "source_ref",
    "note",
)


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


class _Index:
    """Look-ups over the measured features: by fid, children, and (fid, part) resolution."""

    def __init__(self, features: gpd.GeoDataFrame) -> None:
        self.features = features
        self.by_fid = dict(zip(features["fid"].tolist(), features.index.tolist(), strict=True))
        self.children: dict[str, list[str]] = {}
        has_parent = features["parent"].notna().to_numpy()
        for fid, parent in zip(features["fid"][has_parent], features["parent"][has_parent], strict=True):
            if parent:
                self.children.setdefault(parent, []).append(fid)

    def row(self, fid: str) -> pd.Series:
        return self.features.loc[self.by_fid[fid]]

    def resolve(self, fid: str, part: str | None) -> pd.Series | None:
        """Return the feature ``fid`` if it is that part, else its descendant of that part."""
        row = self.row(fid)
        if part is None or part == row["part"] or (part == "extent" and row["part"] == "extent"):
            return row
        matches = self.descendants_with_part(fid, part)
        return matches[0] if len(matches) == 1 else None

    def descendants_with_part(self, fid: str, part: str) -> list[pd.Series]:
        out = []
        stack = list(self.children.get(fid, []))
        while stack:
            child = self.row(stack.pop(0))
            if child["part"] == part:
                out.append(child)
            stack.extend(self.children.get(child["fid"], []))
        return out


def _half_step(decimals: int, factor: float) -> float:
    return 0.5 * 10.0 ** (-decimals) * factor


def _fid_hint(fid: str, index: _Index) -> str:
    """Suggest the fid meant ("001" for "1", a near spelling), or say how to fix an unknown fid."""
    known = list(index.by_fid)
    same_number = [k for k in known if fid.isdigit() and k.isdigit() and int(k) == int(fid)]
    close = same_number or difflib.get_close_matches(fid, known, n=1, cutoff=0.8)
    if close:
        return f"Did you mean {close[0]!r}? Correct the fid (ids are text: keep leading zeros)."
    return "Correct the fid, or add the feature to its layer."


def validate_join(
    features: gpd.GeoDataFrame, targets: pd.DataFrame, *, targets_path: str = "targets", missing_ok: bool = False
) -> list[str]:
    """Check that targets and features fit together; raise :class:`InputError` listing every misfit.

    Returns
    -------
    list of str
        Notes that are not errors: features that no target refers to.
    """
    index = _Index(features)
    problems: list[str] = []
    used: set[str] = set()
    for _, t in targets.iterrows():
        where = f"{targets_path}: row {t['row']}, target {t['target_id']}"
        fid = t["fid"]
        if fid is None:
            continue
        if fid not in index.by_fid:
            if missing_ok:  # comparing versions: a deleted feature's targets have no polygon
                continue
            problems.append(f"{where}: field fid is {fid!r}, which is no feature of any layer. {_fid_hint(fid, index)}")
            continue
        feat = index.row(fid)
        used.add(fid)
        part = t["part"]
        if part not in (None, feat["part"]) and len(index.descendants_with_part(fid, part)) > 1:
            fids = ", ".join(r["fid"] for r in index.descendants_with_part(fid, part))
            problems.append(
                f"{where}: fid {fid} with part {part} matches several features ({fids}). "
                "Name the one feature the figure belongs to in field fid."
            )
            continue
        resolved = index.resolve(fid, part)
        if resolved is not None:
            used.add(resolved["fid"])
        for field in ("layer", "district"):
            if t[field] is not None and t[field] != feat[field]:
                problems.append(
                    f"{where}: field {field} is {t[field]!r} but feature {fid} is in {field} {feat[field]!r}. "
                    "Correct one of them."
                )
        if t["metric"] == "plot_ratio":
            same = targets[(targets["fid"] == fid) & (targets["target_id"] != t["target_id"])]
            if same[same["metric"] == "floor_area"].empty:
                problems.append(f"{where}: a plot_ratio needs a floor_area row for fid {fid}. Add it.")
            if same[(same["metric"] == "area") & (same["part"] == t["part"])].empty:
                problems.append(f"{where}: a plot_ratio needs an area row for fid {fid}, part {t['part']}. Add it.")
    if problems:
        raise InputError(problems)
    unused = ~features["fid"].isin(used).to_numpy()
    return [
        f"layer {layer}, feature {fid} ({name}): no target refers to it (the plans give it no figure)"
        for layer, fid, name in zip(
            features["layer"].to_numpy()[unused].tolist(),
            features["fid"].to_numpy()[unused].tolist(),
            features["name_zh"].to_numpy()[unused].tolist(),
            strict=True,
        )
    ]


def _preferred(rows: pd.DataFrame) -> pd.Series:
    """Return the row stating the figure itself (``approx``) if any, else the first."""
    approx = rows[rows["comparator"] == "approx"]
    return (approx if not approx.empty else rows).iloc[0]


def _aggregate_names(t: pd.Series) -> tuple[str | None, str | None]:
    if t["scope"] != "aggregate" or t["district"] not in settings.DISTRICTS or t["layer"] not in settings.LAYER_TITLES:
        return None, None
    d_zh, d_en = settings.DISTRICTS[t["district"]]
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


@dataclass
class Shapes:
    """What the checks need of the features' geometries, aligned with the features' rows.

    Parameters
    ----------
    projected
        Geometries in EPSG:4547; None where no check needs it (a part, a parent, a feature whose
        bounds meet another's in its layer and district): see :func:`needed_geometries`.
    bounds
        x0, y0, x1, y1 of every feature in EPSG:4547, shape (n, 4).
    shares
        Per cent of every feature's area inside its own district (:func:`district_shares`), or None
        when no districts are checked.
    """

    projected: np.ndarray
    bounds: np.ndarray
    shares: np.ndarray | None = None
    #: The pairs of features of one layer and district whose bounds meet (:func:`candidate_pairs`), if known.
    pairs: np.ndarray | None = None

    @classmethod
    def of(cls, measured: Measured, features: pd.DataFrame, districts: gpd.GeoDataFrame | None) -> Shapes:
        """Return the shapes of measured features: the geometries the checks need are reprojected now."""
        shares = None if districts is None else district_shares(features, districts, measured=measured).to_numpy()
        pairs = candidate_pairs(features, measured.bounds)
        need = needed_geometries(features, measured.bounds, pairs=pairs)
        projected = np.full(len(features), None, dtype=object)
        projected[need] = measured.geometries(need)
        return cls(projected, measured.bounds, shares, pairs)


def overlap_candidates(bounds: np.ndarray, groups: pd.Series | np.ndarray) -> np.ndarray:
    """Return the pairs (i, j), i < j, of features of one group whose bounds intersect (shape (2, k)).

    ``groups`` holds a label or an integer code per feature. Touching bounds count; a feature
    without bounds (empty) has no pair. Bounds are hashed to a grid of cells twice the median
    feature's size, and only boxes sharing a cell are compared (numpy, no geometry built); when
    the boxes are too uneven for a grid (over 8 cells a box on average), an STRtree of boxes
    is queried instead. Both give the same pairs (tests/test_evaluate.py).
    """
    bounds = np.asarray(bounds, dtype=float)
    codes = groups if isinstance(groups, np.ndarray) and groups.dtype.kind == "i" else pd.factorize(groups)[0]
    found = _grid_pairs(bounds, np.asarray(codes, dtype=np.int64))
    if found is None:
        found = _tree_pairs(bounds, np.asarray(codes, dtype=np.int64))
    return found


def _tree_pairs(bounds: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """:func:`overlap_candidates` with an STRtree of the boxes (a box is its own envelope)."""
    finite = np.isfinite(bounds).all(axis=1)
    boxes = np.full(len(bounds), None, dtype=object)
    boxes[finite] = shapely.box(*bounds[finite].T)
    i, j = shapely.STRtree(boxes).query(boxes)
    keep = (i < j) & (codes[i] == codes[j])
    return np.vstack([i[keep], j[keep]])


def _grid_pairs(bounds: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """:func:`overlap_candidates` by a grid of cells, or None when the boxes are too uneven for one."""
    rows = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    if len(rows) < 2:
        return np.zeros((2, 0), dtype=np.int64)
    b, code = bounds[rows], codes[rows]
    size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    cell = 2.0 * float(np.median(size))
    if not cell > 0:
        cell = float(size.max()) or 1.0
    gx0, gy0 = np.floor((b[:, 0] - b[:, 0].min()) / cell), np.floor((b[:, 1] - b[:, 1].min()) / cell)
    gx1, gy1 = np.floor((b[:, 2] - b[:, 0].min()) / cell), np.floor((b[:, 3] - b[:, 1].min()) / cell)
    nx, ny = (gx1 - gx0 + 1).astype(np.int64), (gy1 - gy0 + 1).astype(np.int64)
    cells = nx * ny
    if cells.sum() > 8 * len(rows):
        return None
    owner = np.repeat(np.arange(len(rows)), cells)  # one entry per box and cell it covers
    k = np.arange(len(owner)) - np.repeat(np.cumsum(cells) - cells, cells)
    cx, cy = gx0[owner].astype(np.int64) + k % nx[owner], gy0[owner].astype(np.int64) + k // nx[owner]
    order = np.lexsort((cy, cx, code[owner]))
    owner, key = owner[order], np.column_stack([code[owner], cx, cy])[order]
    start = np.r_[True, (key[1:] != key[:-1]).any(axis=1)]  # runs of boxes in one cell of one group
    run = np.cumsum(start) - 1
    first_of_run = np.flatnonzero(start)
    length = np.diff(np.r_[first_of_run, len(owner)])
    later = length[run] - (np.arange(len(owner)) - first_of_run[run]) - 1  # members after each in its run
    if later.sum() > 50 * len(rows):
        return None
    a = np.repeat(np.arange(len(owner)), later)
    step = np.arange(len(a)) - np.repeat(np.cumsum(later) - later, later) + 1
    i, j = owner[a], owner[a + step]
    meet = (b[i, 0] <= b[j, 2]) & (b[j, 0] <= b[i, 2]) & (b[i, 1] <= b[j, 3]) & (b[j, 1] <= b[i, 3])
    lo, hi = np.minimum(i[meet], j[meet]), np.maximum(i[meet], j[meet])
    pair = np.unique(lo * len(rows) + hi)  # a pair sharing several cells once
    return np.vstack([rows[pair // len(rows)], rows[pair % len(rows)]])


def candidate_pairs(features: pd.DataFrame, bounds: np.ndarray) -> np.ndarray:
    """Return the pairs of features of one layer and district whose bounds meet (see :func:`overlap_candidates`)."""
    layer = pd.factorize(features["layer"])[0].astype(np.int64)
    district = pd.factorize(features["district"])[0].astype(np.int64)  # -1 where missing: a group of its own
    return overlap_candidates(bounds, layer * (int(district.max(initial=0)) + 2) + district)


def needed_geometries(features: pd.DataFrame, bounds: np.ndarray, *, pairs: np.ndarray | None = None) -> np.ndarray:
    """Return a mask of the features whose geometry the checks need beyond their measures.

    Parts and their parents (``within_parent``) and features whose bounds meet another's in the
    same layer and district (an aggregate's union counts an overlap once). Every other feature is
    checked from its area, bounds and district share alone.
    """
    need = features["parent"].notna().to_numpy() | features["fid"].isin(set(features["parent"].dropna())).to_numpy()
    if pairs is None:
        pairs = candidate_pairs(features, bounds)
    need[pairs.ravel()] = True
    return need


def _union_ha(sel: pd.DataFrame, shapes: Shapes) -> float:
    """Return the area (ha) of the union of the selected features: overlaps counted once.

    Features whose interiors meet no other selected feature's count with their own area; those
    that overlap are unioned cluster by cluster. The sum is exact (:func:`math.fsum`), so it does
    not depend on the order of the features.
    """
    rows = sel.index.to_numpy()
    area = sel["area_ha"].to_numpy(dtype=float)
    if shapes.pairs is not None:  # the pairs of the whole layer and district, those of the selection kept
        local = np.full(len(shapes.bounds), -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        i, j = local[shapes.pairs]
        keep = (i >= 0) & (j >= 0)
        i, j = i[keep], j[keep]
    else:
        i, j = overlap_candidates(shapes.bounds[rows], sel["layer"])  # one layer and district: one group
    if len(i):
        geoms = shapes.projected[rows]
        meet = shapely.relate_pattern(geoms[i], geoms[j], "T********")
        i, j = i[meet], j[meet]
    root = list(range(len(rows)))

    def find(a: int) -> int:
        while root[a] != a:
            root[a] = root[root[a]]
            a = root[a]
        return a

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        root[find(a)] = find(b)
    clusters: dict[int, list[int]] = {}
    for a in set(i.tolist()) | set(j.tolist()):
        clusters.setdefault(find(a), []).append(a)
    single = np.ones(len(rows), dtype=bool)
    parts = []
    for members in clusters.values():
        single[members] = False
        parts.append(float(shapely.union_all(shapes.projected[rows[members]]).area) / 10_000.0)
    return math.fsum([*area[single].tolist(), *parts])


def check_targets(
    features: gpd.GeoDataFrame | pd.DataFrame,
    targets: pd.DataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    shapes: Shapes | None = None,
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

    Returns
    -------
    pandas.DataFrame
        One row per target with the columns of :data:`RESULT_COLUMNS`. Areas are in hectares.
    """
    features = features.reset_index(drop=True)
    if shapes is None:
        shapes = Shapes.of(measure_geometries(features.geometry), features, districts)
    index = _Index(features)
    records: list[dict[str, object]] = []
    planned_ha_by_fid: dict[str, tuple[float, str]] = {}  # resolved feature fid -> (planned ha, target id)
    part_rows: list[tuple[pd.Series, str, float]] = []
    for _, t in targets.iterrows():
        fid = t["fid"]
        if fid is not None and fid not in index.by_fid:  # allowed only by validate_join(missing_ok=True)
            rec = _base(t, None)
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
            half = _half_step(int(t["value_decimals"]), factor)
            if t["scope"] == "aggregate":
                sel = features[(features["layer"] == t["layer"]) & (features["district"] == t["district"])]
                if t["part"] is not None:
                    sel = sel[sel["part"] == t["part"]]
                if sel.empty:
                    _with_values(rec, planned, None, "ha", settings.NO_POLYGON)
                else:
                    measured = _union_ha(sel, shapes)
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
    index: _Index, part_rows: list[tuple[pd.Series, str, float]], planned_ha_by_fid: dict[str, tuple[float, str]]
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


def _within_parent(features: pd.DataFrame, index: _Index, projected: np.ndarray) -> list[dict[str, object]]:
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


#: A feature (under 1 km across) properly inside its district shrunk by this many metres, tested
#: in lon/lat, is inside the district in EPSG:4547 too: between the two frames a straight edge of
#: 1.4 km bends by a few centimetres, the district's edges are cut to 500 m first.
INNER_MARGIN_M = 10.0


def district_shares(
    features: gpd.GeoDataFrame | pd.DataFrame,
    districts: gpd.GeoDataFrame,
    *,
    measured: Measured | None = None,
) -> pd.Series:
    """Return the percentage of each feature's area (EPSG:4547) that lies inside its own district.

    The result is indexed like ``features``; it is NaN where the district is not in ``districts``
    or the feature has no area. A feature properly inside its district is 100; only the others
    are intersected. The test runs on every core against the prepared boundary: first in the
    features' lon/lat against the district shrunk by :data:`INNER_MARGIN_M` (no feature needs
    reprojecting for it), then in EPSG:4547 for the features near the boundary or outside it.

    Parameters
    ----------
    features
        Features with a ``district`` field (and a geometry unless ``measured`` has them).
    districts
        District boundaries.
    measured
        The features' measures in EPSG:4547 (:func:`gis.measure.measure_geometries`), if
        already computed (else from ``features``).
    """
    if measured is None:
        measured = measure_geometries(features.geometry)
    lonlat = measured.features.geometry
    near_test = lonlat.crs is not None and lonlat.crs.is_geographic
    geoms = np.asarray(lonlat.array, dtype=object)
    boundary = dict(zip(districts["district"], project(districts.geometry), strict=True))
    shares = np.full(len(features), math.nan)
    areas = measured.area_m2
    x0, y0, x1, y1 = measured.bounds.T
    with np.errstate(invalid="ignore"):
        small = np.hypot(x1 - x0, y1 - y0) <= GEODESIC_EXACT_M
    codes = features["district"].to_numpy(dtype=object)
    for name, district in boundary.items():
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero((codes == name) & (areas > 0))
        if not len(rows):
            continue
        inside = np.zeros(len(rows), dtype=bool)
        if near_test and small[rows].any():
            inner = shapely.segmentize(district.buffer(-INNER_MARGIN_M), 500.0)
            inner = transform_geometries(np.array([inner], dtype=object), AREA_CRS, lonlat.crs)[0]
            test = small[rows]
            inside[test] = map_chunks(functools.partial(_contains_properly, inner), geoms[rows[test]])
        rest = rows[~inside]
        if len(rest):
            projected = measured.geometries(rest)
            within = map_chunks(functools.partial(_contains_properly, district), projected)
            inside[~inside] = within
            cut = rest[~within]
            shares[cut] = shapely.area(shapely.intersection(projected[~within], district)) / areas[cut] * 100.0
        shares[rows[inside]] = 100.0
    return pd.Series(shares, index=features.index, dtype=float)


def _contains_properly(container: shapely.Geometry, geoms: np.ndarray) -> np.ndarray:
    """Return which geometries lie properly inside ``container``, against a prepared copy of it.

    A prepared geometry builds its index on first use and must not be shared between threads:
    each call (one per thread in :func:`gis.parallel.map_chunks`) prepares its own copy.
    """
    own = shapely.from_wkb(shapely.to_wkb(container))
    shapely.prepare(own)
    return shapely.contains_properly(own, geoms)  # type: ignore[no-any-return]


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


#: Derived checks (not plan figures): a failure is a warning on the feature, never its status.
DERIVED_METRICS: tuple[str, ...] = ("within_parent", "within_district", "planned_le_parent")


def feature_status(results: pd.DataFrame) -> pd.DataFrame:
    """Return, per measured feature, its status and the derived checks it fails.

    The status is the worst of the feature's own plan figures (area targets); a feature the
    plans give no figure has none, whatever its derived checks say. ``checks_failed`` lists the
    derived checks (``within_parent`` ...) that are not met, joined by ``;``.
    """
    rows = results[results["feature_fid"].notna()]
    out: dict[str, dict[str, object]] = {}
    for fid, group in rows.groupby("feature_fid", sort=False):
        plan = group[group["metric"] == "area"]
        derived = group[group["metric"].isin(DERIVED_METRICS) & (group["status"] != settings.MET)]
        out[str(fid)] = {
            "status": worst_status(list(plan["status"])),
            "checks_failed": ";".join(f"{m}" for m in derived["metric"]) or None,
        }
    return pd.DataFrame.from_dict(out, orient="index", columns=["status", "checks_failed"])


def worst_status(statuses: list[str]) -> str | None:
    """Return the worst checkable status, or None when none is checkable.

    Examples
    --------
    >>> worst_status(["met", "short", "within tolerance"])
    'short'
    >>> worst_status(["not checkable by area"]) is None
    True
    """
    for status in settings.STATUS_RANK:
        if status in statuses:
            return status
    return None


def summarize(results: pd.DataFrame) -> dict[str, int]:
    """Count targets per status, in the order of :data:`gis.settings.STATUSES`."""
    counts = results["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in settings.STATUSES}


def exit_code(results: pd.DataFrame) -> int:
    """0 when every checkable target is met or within tolerance, 1 when any is short or over."""
    return 1 if results["status"].isin([settings.SHORT, settings.OVER]).any() else 0
