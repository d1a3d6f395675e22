"""Review of a sketch (``gis review``): what a proposed outline lies on and what it does to the plan's totals.

The contract (the same rules as the web map's live sketch panel, which a test compares with this
module; constants in :mod:`gis.settings`). A *sketch* S is one polygon (a MultiPolygon's parts
together), in EPSG:4547 (:func:`gis.io.sketches.read_sketches`). Areas are planar in EPSG:4547, in
ha. An overlap under :data:`gis.settings.REVIEW_MIN_M2` (1 m²) is where outlines touch: not listed.

1. ``area_ha``: the planar area; ``geodesic_ha``: ``pyproj.Geod(ellps="GRS80")`` on the outline in
   lon/lat (EPSG:4490); ``geodesic_diff_pct`` = 100 (area - geodesic) / geodesic.
2. ``district``: the district holding the largest part of S; ``districts``: each district S
   overlaps, with ha and share of S (%); ``outside_ha``: the area outside the three. A sketch in
   none of them (but in Shenzhen: the reader's frame check refuses the rest) is reviewed with
   ``district`` null and every target row unchanged (it has no district total to move), and a note.
   ``street``: no street layer exists: the ``street`` of the overlapped thematic feature with the
   largest overlap (``street_from`` names it; null when that feature has none), else null.
3. ``overlaps``: every thematic feature F with area(S ∩ F) >= 1 m²: layer, part, fid, name_zh,
   overlap_ha, share_of_sketch_pct (100 overlap / area(S)), share_of_feature_pct (100 overlap /
   area(F)); by overlap_ha descending (ties: layer order, then fid).
4. ``land`` (null without a land-use layer: "no land-use layer"): per land class under S, from the
   parcels overlapping S by >= 1 m² (those under it count neither in ha nor in parcels): ha, share of
   S (%), parcels, its codes with their ha (top 5, largest first); classes by ha descending.
   ``no_parcel_ha``: the area of S covered by no parcel (area(S) - area(S ∩ union(parcels))).
5. ``control`` (null without a control-line layer: "no control-line layer: not reviewed"): for each
   kind of :data:`gis.settings.CONFLICT_KINDS` its overlap with S (ha, share of S) and ``conflict``
   when >= 1 m²; for each kind or group of :data:`gis.settings.BOUNDARY_KINDS` (``block_line`` is
   both levels) ``inside_ha`` and ``outside_ha`` (their sum is area_ha); ``retention_zone``:
   inside_ha. A kind the layer does not hold has ``in_layer`` false and null figures (not reviewed,
   never a conflict). ``conflict`` of the sketch: any conflict kind >= 1 m².
6. ``targets``: the effect on every aggregate area target (:mod:`gis.review_targets`, rules a/b/c).

``proposed_as`` (the sketch's property) or ``review(..., proposed_as=KIND)`` (``gis review --as``,
which wins over the property) says what the sketch would become. Exit code of ``gis review``
(:meth:`Review.exit_code`): 0 no conflict found, 1 a conflict in any sketch; bad input raises
InputError. Without a control-line layer no conflict can be found: ``control_lines_reviewed`` is
false, every ``conflict`` false, and the summaries say that control lines were not reviewed.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from gis import __version__, settings
from gis.codes import code_list, control_kinds
from gis.crs import AREA_CRS, LAYER_CRS
from gis.errors import InputError
from gis.landuse import SYNTHETIC_NOTE
from gis.measure import project
from gis.model import CheckRun
from gis.parallel import transform_geometries
from gis.review_drawing import Drawing, sketch_drawing
from gis.review_targets import Proposal, SketchShapes, TargetRules, parse_proposal

log = logging.getLogger(__name__)

_GEOD = Geod(ellps="GRS80")
#: Degrees added around a sketch's lon/lat bounds when looking for the features it may overlap.
_MARGIN_DEG = 0.002
#: What a review says of a sketch in none of the three districts.
OUTSIDE_TEXT = "outside Longgang, Longhua and Pingshan: no district total moves"


@dataclass
class Review:
    """The review of every sketch of a file: one dict per sketch (:meth:`to_dict` is the JSON)."""

    sketches: list[dict[str, Any]]
    meta: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    drawings: list[Drawing] = field(default_factory=list)

    @property
    def control_lines_reviewed(self) -> bool:
        """Whether a control-line layer was there to review the sketches against (else no conflict can be found)."""
        return bool(self.meta.get("control_lines"))

    @property
    def conflict(self) -> bool:
        """Whether any sketch overlaps a conflict kind (ecological red line, permanent farmland)."""
        return any(s["conflict"] for s in self.sketches)

    def exit_code(self) -> int:
        """0 when no conflict was found (none can be without a control-line layer), 1 when a sketch is in conflict."""
        return 1 if self.conflict else 0

    def to_dict(self) -> dict[str, Any]:
        """Return the review as plain JSON-able data: ``meta``, ``control_lines_reviewed``, ``notes``, ``sketches``."""
        data = {
            "meta": self.meta,
            "control_lines_reviewed": self.control_lines_reviewed,
            "notes": self.notes,
            "sketches": self.sketches,
        }
        return clean(data)  # type: ignore[no-any-return]


def clean(value: Any) -> Any:
    """Return ``value`` with NaN as None and numpy numbers as Python's, recursively (JSON-able)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _ha(m2: float) -> float:
    return float(m2) / 1e4


def _pct(part: float, whole: float) -> float:
    return float(part) / float(whole) * 100.0 if whole else 0.0


class _Layers:
    """The check's layers as the review queries them, built once for all sketches (trees, projected shapes)."""

    def __init__(self, run: CheckRun):
        self.run = run
        d = run.districts.to_crs(AREA_CRS)
        self.districts = dict(zip(d["district"].astype(str), d.geometry.to_numpy(), strict=True))
        names = run.districts["name_zh"] if "name_zh" in run.districts.columns else run.districts["district"]
        self.district_names = dict(zip(run.districts["district"].astype(str), names.astype(str), strict=True))
        f = run.features
        self.features = f
        self.feature_tree = shapely.STRtree(f.geometry.to_numpy())
        self.projected = np.full(len(f), None, dtype=object)
        self.parcel_tree: shapely.STRtree | None = None
        if run.landuse is not None:
            table = run.landuse.table
            self.parcel_geoms = run.landuse.parcels.geometry.to_numpy()
            self.parcel_tree = shapely.STRtree(self.parcel_geoms)
            self.parcel_class = table["land_class"].astype(str).to_numpy()
            self.parcel_code = table["code"].astype(str).to_numpy()
        self.control_tree: shapely.STRtree | None = None
        if run.control is not None:
            self.control_geoms = run.control.geometry.to_numpy()
            self.control_kind = run.control["kind"].astype(str).to_numpy()
            self.control_tree = shapely.STRtree(self.control_geoms)
        self.rules = TargetRules(run)

    def name(self, code: str) -> str:
        """Return a district's Chinese name (the toolkit's, else the districts layer's)."""
        return settings.DISTRICTS[code][0] if code in settings.DISTRICTS else self.district_names.get(code, code)

    def feature_shapes(self, rows: np.ndarray) -> np.ndarray:
        """Return features' geometries in EPSG:4547, projecting those not yet projected."""
        todo = rows[shapely.is_missing(self.projected[rows])]
        if len(todo):
            self.projected[todo] = project(self.features.geometry.iloc[todo])
        return self.projected[rows]  # type: ignore[no-any-return]


def review(sketches: gpd.GeoDataFrame, run: CheckRun, *, proposed_as: str | None = None) -> Review:
    """Review every sketch against the check's layers and targets (see the module's docstring).

    Parameters
    ----------
    sketches
        Sketches in EPSG:4547 (:func:`gis.io.sketches.read_sketches`): fid, name_zh, proposed_as, geometry.
    run
        The check (:func:`gis.pipeline.run_check`): its features, districts, results, land use and control lines.
    proposed_as
        What every sketch would become, over each sketch's own ``proposed_as``.

    Raises
    ------
    InputError
        A proposal that names no kind (which kinds there are is said; the file named when the sketches say it).
    """
    if sketches.crs is None:
        raise ValueError("the sketches have no CRS: read them with gis.io.sketches.read_sketches")
    source = sketches.attrs.get("source")
    sketches = sketches.to_crs(AREA_CRS) if not sketches.crs.equals(AREA_CRS) else sketches
    notes: list[str] = []
    proposals = _proposals(sketches, proposed_as, notes, f"{source}: " if source else "")
    ctx = _Layers(run)
    out, drawings = [], []
    for (_, row), proposal in zip(sketches.iterrows(), proposals, strict=True):
        found, drawing = _review_one(ctx, row, proposal)
        out.append(found)
        drawings.append(drawing)
        if found["district"] is None:
            notes.append(f"sketch {found['fid']}: {OUTSIDE_TEXT}")
    lu = run.landuse
    meta: dict[str, Any] = {
        "toolkit": f"gis {__version__}",
        "reviewed_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "layers_dir": Path(run.layers_dir).name,
        "targets_file": Path(run.targets_path).name,
        "area_crs": AREA_CRS,
        "landuse": None
        if lu is None
        else {"file": Path(lu.source).name, "code_system": lu.system, "synthetic": lu.synthetic},
        "control_lines": run.control is not None,
    }
    if lu is not None and lu.synthetic:
        notes.append(f"land use: {SYNTHETIC_NOTE}")
    return Review(out, meta, notes, drawings)


def _proposals(
    sketches: gpd.GeoDataFrame, proposed_as: str | None, notes: list[str], where: str = ""
) -> list[Proposal | None]:
    """Return each sketch's proposal: ``proposed_as`` for all, else its property; every bad one refused at once."""
    if proposed_as is not None:
        try:
            given = parse_proposal(proposed_as)
        except ValueError as exc:
            raise InputError(f"{{p:proposed_as}}: {exc}.") from exc
        own = [p for p in sketches.get("proposed_as", pd.Series(dtype=object)).dropna() if p != given.text]
        if own:
            notes.append(
                f"{len(own)} sketch(es) say another proposed_as: counted as {given.text}, as {{p:proposed_as}} says"
            )
        return [given] * len(sketches)
    out: list[Proposal | None] = []
    problems = []
    texts = sketches["proposed_as"] if "proposed_as" in sketches.columns else pd.Series([None] * len(sketches))
    for fid, text in zip(sketches["fid"], texts, strict=True):
        if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
            out.append(None)
            continue
        try:
            out.append(parse_proposal(str(text)))
        except ValueError as exc:
            problems.append(f"{where}sketch {fid}: property proposed_as: {exc}; or leave it empty.")
    if problems:
        raise InputError(problems)
    return out


def _review_one(ctx: _Layers, row: pd.Series, proposal: Proposal | None) -> tuple[dict[str, Any], Drawing]:
    """Return the figures of one sketch (items 1-6 of the module's docstring) and what its drawing shows."""
    geom = row.geometry
    shapely.prepare(geom)
    area = float(geom.area)
    lonlat = transform_geometries(np.array([geom], dtype=object), AREA_CRS, "EPSG:4490")[0]
    geodesic = abs(_GEOD.geometry_area_perimeter(lonlat)[0])
    # 2. districts
    in_district = {code: float(shapely.intersection(geom, d).area) for code, d in ctx.districts.items()}
    listed = {c: a for c, a in in_district.items() if a >= settings.REVIEW_MIN_M2}
    district = max(listed, key=lambda c: listed[c]) if listed else None
    # 3. thematic features: candidates by the sketch's lon/lat bounds, cut in EPSG:4547
    x0, y0, x1, y1 = shapely.bounds(transform_geometries(np.array([geom]), AREA_CRS, LAYER_CRS)[0])
    box = shapely.box(x0 - _MARGIN_DEG, y0 - _MARGIN_DEG, x1 + _MARGIN_DEG, y1 + _MARGIN_DEG)
    cand = np.sort(ctx.feature_tree.query(box))
    pieces = shapely.intersection(ctx.feature_shapes(cand), geom) if len(cand) else np.zeros(0, dtype=object)
    piece_m2 = shapely.area(pieces) if len(cand) else np.zeros(0)
    touch = piece_m2 > 0
    feats = ctx.features
    order = {name: i for i, name in enumerate(settings.LAYER_NAMES)}
    overlaps = []
    for pos, m2 in zip(cand.tolist(), piece_m2.tolist(), strict=True):
        if m2 < settings.REVIEW_MIN_M2:
            continue
        f = feats.iloc[pos]
        overlaps.append(
            {
                "layer": f["layer"],
                "part": f["part"],
                "fid": f["fid"],
                "name_zh": f["name_zh"],
                "overlap_ha": _ha(m2),
                "share_of_sketch_pct": _pct(m2, area),
                "share_of_feature_pct": _pct(_ha(m2), float(f["area_ha"])),
                "_street": f["street"] if "street" in feats.columns else None,
            }
        )
    overlaps.sort(key=lambda o: (-o["overlap_ha"], order.get(o["layer"], 99), str(o["fid"])))
    street = overlaps[0].pop("_street") if overlaps else None
    for o in overlaps:
        o.pop("_street", None)
    shapes = SketchShapes(area, district, in_district, cand[touch], pieces[touch])
    shapes.district_shape = ctx.districts.__getitem__
    land = _land(ctx, geom, area, shapes) if ctx.parcel_tree is not None else None
    control = _control(ctx, geom, area, shapes) if ctx.control_tree is not None else None
    found: dict[str, Any] = {
        "fid": row["fid"],
        "name_zh": row.get("name_zh"),
        "note": row.get("note"),
        "proposed_as": proposal.text if proposal is not None else None,
        "area_ha": _ha(area),
        "geodesic_ha": _ha(geodesic),
        "geodesic_diff_pct": (area - geodesic) / geodesic * 100.0 if geodesic else None,
        "stated_area_ha": None if pd.isna(row.get("stated_area_ha", np.nan)) else float(row["stated_area_ha"]),
        "district": district,
        "district_name": ctx.name(district) if district is not None else None,
        "districts": [
            {"district": c, "name_zh": ctx.name(c), "ha": _ha(a), "share_pct": _pct(a, area)}
            for c, a in sorted(listed.items(), key=lambda kv: -kv[1])
        ],
        "outside_ha": max(_ha(area - sum(in_district.values())), 0.0),
        "street": street if isinstance(street, str) and street.strip() else None,
        "street_from": overlaps[0]["fid"] if overlaps else None,
        "overlaps": overlaps,
        "land": land,
        "control": control,
        "conflict": bool(control and any(c["conflict"] for c in control["conflicts"])),
        "targets": ctx.rules.effects(shapes, proposal),
    }
    lines = None if ctx.control_tree is None else (ctx.control_tree, ctx.control_geoms, ctx.control_kind)
    rows = cand[touch]
    return found, sketch_drawing(geom, feats.iloc[rows], ctx.projected[rows], shapes, lines, ctx.districts)


def _land(ctx: _Layers, geom: shapely.Geometry, area: float, shapes: SketchShapes) -> dict[str, Any]:
    """Return the land classes under a sketch (item 4) and keep the parcels' pieces for the target rules."""
    assert ctx.parcel_tree is not None and ctx.run.landuse is not None
    cand = np.sort(ctx.parcel_tree.query(geom, predicate="intersects"))
    pieces = shapely.intersection(ctx.parcel_geoms[cand], geom)
    m2 = shapely.area(pieces)
    keep = m2 > 0
    shapes.parcels, shapes.parcel_pieces, shapes.parcel_m2 = cand[keep], pieces[keep], m2[keep]
    covered = float(shapely.union_all(pieces[keep]).area) if keep.any() else 0.0
    counted = m2 >= settings.REVIEW_MIN_M2
    frame = pd.DataFrame(
        {"class": ctx.parcel_class[cand[counted]], "code": ctx.parcel_code[cand[counted]], "m2": m2[counted]}
    )
    names = code_list(ctx.run.landuse.system).table["name_zh"]
    classes: list[dict[str, Any]] = []
    for cls, group in frame.groupby("class", sort=False):
        by_code = group.groupby("code")["m2"].sum().sort_values(ascending=False, kind="stable")
        zh = settings.LAND_CLASSES.get(str(cls), (str(cls), ""))[0]
        classes.append(
            {
                "class": cls,
                "name_zh": zh,
                "ha": _ha(group["m2"].sum()),
                "share_pct": _pct(group["m2"].sum(), area),
                "parcels": len(group),
                "codes": [{"code": c, "name_zh": names.get(c), "ha": _ha(v)} for c, v in by_code.head(5).items()],
            }
        )
    classes.sort(key=lambda c: (-float(c["ha"]), str(c["class"])))
    return {"classes": classes, "no_parcel_ha": max(_ha(area - covered), 0.0)}


def _control(ctx: _Layers, geom: shapely.Geometry, area: float, shapes: SketchShapes) -> dict[str, Any]:
    """Return the control lines a sketch meets (item 5); S ∩ each kind's union is kept for the target rules."""
    assert ctx.control_tree is not None
    cand = ctx.control_tree.query(geom, predicate="intersects")
    cache: dict[tuple[str, ...], shapely.Geometry | None] = {}

    def inside(kinds: tuple[str, ...]) -> shapely.Geometry | None:
        if kinds not in cache:
            mine = cand[np.isin(ctx.control_kind[cand], kinds)]
            cache[kinds] = shapely.union_all(shapely.intersection(ctx.control_geoms[mine], geom)) if len(mine) else None
        return cache[kinds]

    shapes.control = inside
    held = set(ctx.control_kind.tolist())

    def figures(kind: str) -> tuple[bool, float | None]:
        kinds = control_kinds(kind)
        if not held & set(kinds):
            return False, None
        piece = inside(kinds)
        return True, 0.0 if piece is None else float(piece.area)

    conflicts, boundaries = [], []
    for kind in settings.CONFLICT_KINDS:
        present, m2 = figures(kind)
        conflicts.append(
            {
                "kind": kind,
                "name_zh": settings.CONTROL_KINDS[kind][0],
                "in_layer": present,
                "ha": None if m2 is None else _ha(m2),
                "share_pct": None if m2 is None else _pct(m2, area),
                "conflict": m2 is not None and m2 >= settings.REVIEW_MIN_M2,
            }
        )
    for kind in settings.BOUNDARY_KINDS:
        present, m2 = figures(kind)
        zh = "工业区块线" if kind in settings.CONTROL_GROUPS else settings.CONTROL_KINDS[kind][0]
        boundaries.append(
            {
                "kind": kind,
                "name_zh": zh,
                "in_layer": present,
                "inside_ha": None if m2 is None else _ha(m2),
                "outside_ha": None if m2 is None else _ha(area - m2),
            }
        )
    present, m2 = figures("retention_zone")
    retention = {"kind": "retention_zone", "name_zh": settings.CONTROL_KINDS["retention_zone"][0], "in_layer": present}
    retention["inside_ha"] = None if m2 is None else _ha(m2)
    return {"conflicts": conflicts, "boundaries": boundaries, "retention_zone": retention}
