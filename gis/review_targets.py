"""What a sketch would do to the district totals (``gis review``, :mod:`gis.review`): proposals and target effects.

A sketch's *proposal* (its property ``proposed_as``, or ``gis review --as KIND``) says what it would
become (:func:`parse_proposal`):

- a thematic layer, alone or with a part: ``parks``, ``consolidation_zones.consolidation`` (a part
  the layer draws, :data:`LAYER_PARTS`; the layer alone is its part ``extent``,
  :data:`gis.settings.PROPOSAL_PART`, as ``gis import --layer L`` stores the sketch);
- a land class: ``landuse:industrial`` (a key of :data:`gis.settings.LAND_CLASSES`);
- a control-line kind: ``control_lines:retention_zone`` (a kind of :data:`gis.settings.CONTROL_KINDS`,
  or the group ``block_line``).

Every aggregate area target of the check (scope ``aggregate``, metric ``area``) gets one row per
sketch (:meth:`TargetRules.effects`); one the check could not measure (``no land-use layer``, ``no
control-line layer``, a ``no polygon`` target the sketch does not move) has before and after null
and the effect ``not measured: <status>``. A sketch counts
toward ONE district, its own (the district holding its largest part): a target of another
district is ``unchanged``, whatever the rule. For target t (layer L, part P, district D):

a) thematic (L one of the four layers): moves when the proposal is L and P is empty or the
   proposal's part (``L`` alone: ``extent``): after = before + area(S) - area(S ∩ union(features of L[.P] in D)); a ``no polygon``
   target's after is area(S).
b) land use (L = ``landuse``, part C, optionally ``C inside K`` / ``C outside K``): the parcels of D
   (by their ``district`` field) under S take the proposal's class X (``landuse:X``, or
   :data:`gis.settings.PROPOSAL_LAND_CLASS` of a thematic proposal; no class: unchanged).
   removed = Σ area(p ∩ S [∩ K]) over the parcels of D counted by C; added = Σ area(p ∩ S [∩ K])
   over every parcel of D when X counts in C, else 0; after = before - removed + added. For
   ``outside K``, area(p ∩ S) - area(p ∩ S ∩ K). A code part (``yongdi:1001``) counts X when X is
   the land class of that code.
c) control line (L = ``control_lines``, kind K): moves with the proposal ``control_lines:K`` (or a
   kind K stands for: ``block_line_1`` moves a ``block_line`` target): after =
   area((union(K) ∪ S) ∩ D) = before + area(S ∩ D) - area(S ∩ union(K) ∩ D).

Without a proposal, each row is computed as if the sketch were proposed as that target's own kind
(thematic ``L.P``; land use the first class of C, a code part its code; control K), and the row
says ``if counted as <kind>``; with one, the rows it does not move say ``unchanged`` (after =
before). ``status_after`` is :func:`gis.evaluate.compare` with the target's tolerance and
:func:`gis.evaluate.half_step_ha`: the rule and rounding of the check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from gis import settings
from gis.codes import LandPart, code_list, control_kinds, parse_part
from gis.evaluate import compare, half_step_ha
from gis.landuse import LandUse
from gis.model import CheckRun
from gis.read import read_targets

#: The parts a sketch may be proposed as, per thematic layer (:data:`gis.settings.LAYER_PARTS`).
LAYER_PARTS = settings.LAYER_PARTS
#: What ``proposed_as`` / ``--as`` may say, for the messages.
PROPOSAL_HELP = (
    f"a thematic layer alone (its part {settings.PROPOSAL_PART}) or with a part "
    f"({'; '.join(layer + '.' + '|'.join(parts) for layer, parts in LAYER_PARTS.items())}); "
    f"landuse:CLASS ({', '.join(settings.LAND_CLASSES)}); "
    f"control_lines:KIND ({', '.join((*settings.CONTROL_KINDS, *settings.CONTROL_GROUPS))})"
)


@dataclass(frozen=True)
class Proposal:
    """What a sketch would become: a thematic layer (and part), a land class or a control-line kind."""

    text: str
    layer: str
    part: str | None = None
    land_class: str | None = None
    control: str | None = None

    @property
    def land(self) -> str | None:
        """The land class the sketch's parcels would take (None: the land use does not change)."""
        return self.land_class or settings.PROPOSAL_LAND_CLASS.get(self.layer)


def parse_proposal(text: str) -> Proposal:
    """Return the proposal a ``proposed_as`` text names; raise ValueError naming the kinds there are.

    Examples
    --------
    >>> parse_proposal("consolidation_zones.consolidation").part, parse_proposal("consolidation_zones").part
    ('consolidation', 'extent')
    >>> parse_proposal("parks").land, parse_proposal("landuse:industrial").land
    ('park_green', 'industrial')
    >>> parse_proposal("control_lines:block_line_1").control
    'block_line_1'
    """
    word = text.strip()
    bad = ValueError(f"{text!r} is no kind a sketch can be proposed as; use {PROPOSAL_HELP}")
    if ":" in word:
        layer, _, what = word.partition(":")
        if layer == settings.LANDUSE_LAYER and what in settings.LAND_CLASSES:
            return Proposal(word, layer, land_class=what)
        if layer == settings.CONTROL_LAYER and (what in settings.CONTROL_KINDS or what in settings.CONTROL_GROUPS):
            return Proposal(word, layer, control=what)
        raise bad
    layer, _, part = word.partition(".")
    if layer not in settings.LAYER_NAMES:
        raise bad
    if part and part not in LAYER_PARTS[layer]:
        raise ValueError(f"{text!r}: layer {layer} takes the parts {', '.join(LAYER_PARTS[layer])}, not {part!r}")
    return Proposal(word, layer, part=part or settings.PROPOSAL_PART)


@dataclass
class SketchShapes:
    """What the target rules need of one sketch, in EPSG:4547 (m²), computed once by :mod:`gis.review`."""

    area_m2: float
    district: str | None
    #: Area of S inside each district it overlaps.
    district_m2: dict[str, float]
    #: Positions (in ``run.features``) of the features S overlaps, and S ∩ each.
    features: np.ndarray
    feature_pieces: np.ndarray
    #: Positions (in the land-use table) of the parcels under S, S ∩ each, and its area.
    parcels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    parcel_pieces: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    parcel_m2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: S ∩ the union of the control lines of some kinds (None: no such line under S).
    control: Callable[[tuple[str, ...]], shapely.Geometry | None] = lambda kinds: None
    #: A district's polygon (EPSG:4547).
    district_shape: Callable[[str], shapely.Geometry] = lambda code: shapely.Polygon()


class TargetRules:
    """The aggregate area targets of a check, and the rules of what a sketch does to them."""

    def __init__(self, run: CheckRun):
        self.run = run
        res = run.results
        rows = res[(res["scope"] == "aggregate") & (res["metric"] == "area") & res["planned"].notna()]
        targets = read_targets(run.targets_path).set_index("target_id")
        self.rows = rows.reset_index(drop=True)
        self.half = {tid: half_step_ha(targets.loc[tid]) for tid in self.rows["target_id"]}
        self._masks: dict[str, np.ndarray] = {}
        self._districts = None if run.landuse is None else run.landuse.table["district"].astype(str).to_numpy()

    def _counted(self, tid: str, part: LandPart, district: str, landuse: LandUse) -> np.ndarray:
        if tid not in self._masks:
            self._masks[tid] = landuse.mask(part, district)
        return self._masks[tid]

    def own_kind(self, t: pd.Series) -> Proposal:
        """Return the proposal a target counts a sketch as when none is given (its own kind)."""
        if t["layer"] == settings.LANDUSE_LAYER:
            land = parse_part(t["part"])
            what = land.classes[0] if land.classes else f"{land.system}:{land.code}"
            return Proposal(f"landuse:{what}", t["layer"], land_class=land.classes[0] if land.classes else None)
        if t["layer"] == settings.CONTROL_LAYER:
            return Proposal(f"control_lines:{t['part']}", t["layer"], control=t["part"])
        part = t["part"] if isinstance(t["part"], str) else None
        return Proposal(f"{t['layer']}.{part}" if part else t["layer"], t["layer"], part=part)

    def effects(self, s: SketchShapes, proposal: Proposal | None) -> list[dict[str, object]]:
        """Return one row per target: before -> after, statuses, what the sketch was counted as."""
        out = []
        for _, t in self.rows.iterrows():
            own = proposal is None
            prop = proposal if proposal is not None else self.own_kind(t)
            before = None if pd.isna(t["measured"]) else float(t["measured"])
            after = self._after(t, s, prop, own, before) if s.district == t["district"] else None
            moved = after is not None
            status_after = t["status"]
            if after is not None:
                status_after = compare(
                    t["comparator"],
                    float(t["planned"]),
                    after,
                    tolerance_pct=float(t["tolerance_pct"]),
                    half_step=self.half[t["target_id"]],
                )
            else:
                after = before
            unmeasured = after is None
            source = settings.SOURCES.get(str(t["source_file"]), t["source_file"])
            out.append(
                {
                    "target_id": t["target_id"],
                    "district": t["district"],
                    "name_zh": t["name_zh"],
                    "layer": t["layer"],
                    "part": t["part"] if isinstance(t["part"], str) else None,
                    "comparator": t["comparator"],
                    "planned_ha": float(t["planned"]),
                    "before_ha": before,
                    "after_ha": after,
                    "delta_ha": None
                    if unmeasured
                    else (after - (before or 0.0))
                    if moved and after is not None
                    else 0.0,
                    "status_before": t["status"],
                    "status_after": status_after,
                    "counted_as": prop.text if moved else None,
                    "effect": f"not measured: {t['status']}"
                    if unmeasured
                    else (f"if counted as {prop.text}" if own else f"counted as {prop.text}")
                    if moved
                    else "unchanged",
                    "source": source,
                    "source_ref": t["source_ref"],
                }
            )
        return out

    def _after(self, t: pd.Series, s: SketchShapes, prop: Proposal, own: bool, before: float | None) -> float | None:
        """Return the target's value with the sketch counted as ``prop``; None when the rule does not move it."""
        layer, part = t["layer"], t["part"] if isinstance(t["part"], str) else None
        if before is None and not (layer in settings.LAYER_NAMES and t["status"] == settings.NO_POLYGON):
            return None  # not measured (no land-use or control-line layer): nothing to move
        if layer in settings.LAYER_NAMES:  # rule a
            if prop.layer != layer or (part and prop.part != part):
                return None
            feats = self.run.features.iloc[s.features]
            sel = (feats["layer"] == layer) & (feats["district"] == t["district"])
            if part:
                sel &= feats["part"] == part
            sel = sel.to_numpy(dtype=bool)
            shared = float(shapely.union_all(s.feature_pieces[sel]).area) if sel.any() else 0.0
            return (before or 0.0) + (s.area_m2 - shared) / 1e4
        if layer == settings.CONTROL_LAYER:  # rule c
            if prop.control is None or not set(control_kinds(prop.control)) <= set(control_kinds(part or "")):
                return None
            d = s.district_shape(t["district"])
            inside = s.control(control_kinds(part or ""))
            both = 0.0 if inside is None else float(shapely.intersection(inside, d).area)
            return (before or 0.0) + (s.district_m2.get(t["district"], 0.0) - both) / 1e4
        landuse = self.run.landuse  # rule b
        if landuse is None or before is None or part is None:
            return None
        land = parse_part(part)
        if not own and prop.land is None:
            return None
        amounts = self._amounts(s, land)
        counted = self._counted(t["target_id"], land, t["district"], landuse)[s.parcels]
        assert self._districts is not None
        in_district = self._districts[s.parcels] == t["district"]
        removed = float(amounts[counted].sum())
        added = float(amounts[in_district].sum()) if own or _counts(land, prop.land, landuse) else 0.0
        return before + (added - removed) / 1e4

    @staticmethod
    def _amounts(s: SketchShapes, land: LandPart) -> np.ndarray:
        """Return the area (m²) of each parcel under S that a part counts: inside / outside K, or all of it."""
        if land.relation is None or not len(s.parcels):
            return s.parcel_m2
        zone = s.control(land.control)
        inside = np.zeros(len(s.parcels)) if zone is None else shapely.area(shapely.intersection(s.parcel_pieces, zone))
        return inside if land.relation == "inside" else s.parcel_m2 - inside  # type: ignore[no-any-return]


def _counts(land: LandPart, land_class: str | None, landuse: LandUse) -> bool:
    """Tell whether land of ``land_class`` counts in a land-use part (a code part: the class of its code)."""
    if land_class is None:
        return False
    if land.code is not None:
        return bool(code_list(land.system or landuse.system).table["land_class"].get(land.code) == land_class)
    return land_class in land.classes
