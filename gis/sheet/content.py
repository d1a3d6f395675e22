r"""What a map sheet shows, taken from a finished check: no drawing here.

Text from the data (names, citations, notes) and the title are printed as they are, except that
control characters are shown as visible escapes (``\x1b``), as on a terminal.

The features and districts in EPSG:4547 with their style and status, the district totals
(planned against measured), the statuses of the features, the plan documents cited, the
accuracy of the data as the features state it, and the notes the districts carry.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from gis import __version__, settings, style
from gis.crs import AREA_CRS
from gis.errors import InputError
from gis.escape import terminal_text
from gis.model import CheckRun
from gis.results import feature_status

#: Comparators as printed in the totals table.
COMPARATOR_SIGNS: dict[str, str] = {"approx": "≈", "at_least": "≥", "more_than": ">", "at_most": "≤"}

#: What the features' ``accuracy`` says when they are schematic, and the note the sheet then prints.
SCHEMATIC = "schematic"
HAND_DIGITIZED = "hand-digitized from plan text"


@dataclass(frozen=True)
class TotalRow:
    """One district total of the plans: planned against the digitized polygons (ha)."""

    district: str
    layer: str
    item_zh: str
    comparator: str
    planned_ha: float | None
    measured_ha: float | None
    delta_pct: float | None
    status: str
    refs: str


@dataclass
class SheetContent:
    """Everything a sheet shows, ready to draw (geometries in EPSG:4547, metres)."""

    district: str | None
    title: str
    subtitle: str
    district_line: str
    date: str
    version: str
    #: The features shown: ``layer``, ``part``, ``fid``, ``parent``, ``name_zh``, ``area_ha``, ``status``, geometry.
    features: gpd.GeoDataFrame
    #: Every district, with ``shown`` (True for the sheet's own) and ``label`` (its Chinese name).
    districts: gpd.GeoDataFrame
    extent: tuple[float, float, float, float]
    totals: list[TotalRow]
    #: How many shown features have each status (None: the plans give them no figure).
    status_counts: dict[str | None, int]
    #: Plan documents cited (by the features and totals shown): (key, title, file name).
    citations: list[tuple[str, str, str]]
    accuracy: list[str]
    notes: list[str] = field(default_factory=list)

    def legend_parts(self) -> list[tuple[str, str]]:
        """Return the (layer, part) pairs the sheet shows, in drawing order."""
        present = set(zip(self.features["layer"], self.features["part"], strict=True))
        styled = [p for p in style.STYLES if p in present]
        return styled + sorted(p for p in present if p not in style.STYLES)

    def statuses(self) -> list[str | None]:
        """Return the outline statuses the features show, in the legend's order (None last)."""
        order: list[str | None] = [*settings.STATUS_RANK, None]
        return [s for s in order if self.status_counts.get(s)]


def district_names(code: str | None) -> tuple[str, str]:
    """Return the (Chinese, English) name of a district, or of the three together (``None``).

    Examples
    --------
    >>> district_names("440309"), district_names(None)[0]
    (('龙华区', 'Longhua'), '龙岗区、龙华区、坪山区')
    """
    if code is None:
        return "、".join(zh for zh, _ in settings.DISTRICTS.values()), ", ".join(
            en for _, en in settings.DISTRICTS.values()
        )
    return settings.DISTRICTS[code]


def _names(codes: list[str]) -> tuple[str, str]:
    """Return the Chinese and English names of the districts a sheet of several shows, in the settings' order."""
    known = [c for c in settings.DISTRICTS if c in codes]
    return "、".join(settings.DISTRICTS[c][0] for c in known), ", ".join(settings.DISTRICTS[c][1] for c in known)


def total_title(layer: str, part: str) -> str:
    """Return the Chinese name of a district total: the layer, and the part it counts.

    Examples
    --------
    >>> total_title("industrial_land", "site"), total_title("parks", "")
    ('产业用地·项目用地', '公园')
    """
    layer_zh = settings.LAYER_TITLES.get(layer, (layer, layer))[0]
    if not part or part == "extent":
        return layer_zh
    return f"{layer_zh}·{settings.PART_TITLES_ZH.get(part, part)}"


def part_title(layer: str, part: str) -> str:
    """Return the Chinese title of a layer's part: its style's, else the layer's with the part's own name.

    Examples
    --------
    >>> part_title("industrial_land", "site"), part_title("industrial_land", "block_line")
    ('重点项目用地', '产业用地·工业区块线')
    """
    if (layer, part) in style.STYLES:
        return style.STYLES[(layer, part)].title_zh
    layer_zh = settings.LAYER_TITLES.get(layer, (layer, layer))[0]
    part_zh = settings.PART_TITLES_ZH.get(part, part) if part else ""
    return f"{layer_zh}·{part_zh}" if part_zh else layer_zh


def _number(value: object) -> float | None:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _totals(results: pd.DataFrame, keys: dict[str, str]) -> list[TotalRow]:
    """One row per distinct district total; the same figure cited in several places is one row with every place."""
    rows = results[(results["scope"] == "aggregate") & (results["metric"] == "area")]
    order = {name: i for i, name in enumerate(settings.LAYER_NAMES)}
    groups: dict[tuple[object, ...], list[pd.Series]] = {}
    for _, r in rows.iterrows():
        key = (r["district"], r["layer"], r["part"], r["comparator"], _number(r["planned"]), _number(r["measured"]))
        groups.setdefault(key, []).append(r)
    out = []
    for (district, layer, part, comparator, planned, measured), group in groups.items():
        refs = []
        for r in group:
            cite = keys.get(str(r["source_file"]), "")
            ref = terminal_text(r["source_ref"]) if isinstance(r["source_ref"], str) else ""
            refs.append(f"{cite} {ref}".strip())
        out.append(
            TotalRow(
                district=str(district),
                layer=str(layer),
                item_zh=total_title(str(layer), str(part) if isinstance(part, str) else ""),
                comparator=COMPARATOR_SIGNS.get(str(comparator), str(comparator)),
                planned_ha=_number(planned),
                measured_ha=_number(measured),
                delta_pct=_number(group[0]["delta_pct"]),
                status=str(group[0]["status"]),
                refs="; ".join(dict.fromkeys(refs)),
            )
        )
    return sorted(out, key=lambda t: (t.district, order.get(t.layer, len(order))))


def _citations(files: list[object]) -> list[tuple[str, str, str]]:
    names = [str(f) for f in dict.fromkeys(files) if isinstance(f, str) and f]
    ordered = [f for f in settings.SOURCES if f in names] + sorted(f for f in names if f not in settings.SOURCES)
    return [
        (f"[{i}]", terminal_text(settings.SOURCES.get(f, f)), terminal_text(f)) for i, f in enumerate(ordered, start=1)
    ]


def _accuracy(features: pd.DataFrame) -> list[str]:
    """Lines that say how accurate the shown features are, from their own ``accuracy`` and ``method`` fields."""
    if features.empty:
        return []
    accuracy = features["accuracy"].fillna("").astype(str)
    schematic = accuracy == SCHEMATIC
    lines = []
    if schematic.any():
        methods = features.loc[schematic, "method"].fillna("").astype(str)
        hand = methods.str.startswith(HAND_DIGITIZED)
        what = "据规划文本手工数字化 / hand-digitized from plan text" if hand.all() else "; ".join(sorted(set(methods)))
        what = terminal_text(what)
        share = "全部" if schematic.all() else f"{int(schematic.sum())}/{len(features)}"
        lines.append(
            f"示意图 Schematic: {share}图斑{what}，位置可能偏差数百米 / positions may be off by hundreds of m."
        )
    others = sorted(set(accuracy[~schematic]) - {""})
    if others:
        lines.append("精度 Accuracy: " + terminal_text("; ".join(others)))
    inferred = int((features.get("location_confidence", pd.Series(dtype=object)) == "inferred").sum())
    if inferred:
        lines.append(f"{inferred} 个图斑的位置为推断 / {inferred} placed by inference (the plan names no place).")
    return lines


def sheet_content(run: CheckRun, *, district: str | None = None, title: str | None = None) -> SheetContent:
    """Return what the sheet of one district (or of the three, ``district=None``) shows.

    Raises
    ------
    InputError
        When the districts layer has no boundary of ``district``.
    """
    districts = run.districts.to_crs(AREA_CRS)
    codes = districts["district"].astype(str)
    if district is not None and district not in set(codes):
        raise InputError(
            f"{{p:district}} {district}: the districts layer of {run.layers_dir.name} has no boundary of it "
            f"(it has {', '.join(sorted(set(codes))) or 'none'}); choose one of those or add the boundary."
        )
    shown = codes == district if district is not None else codes.isin(list(settings.DISTRICTS))
    districts = districts.assign(
        shown=shown.to_numpy(),
        label=[
            settings.DISTRICTS.get(c, (None, None))[0] or (terminal_text(n) if isinstance(n, str) else None)
            for c, n in zip(codes, _column(districts, "name_zh"), strict=True)
        ],
    )
    if not shown.any():
        raise InputError(
            f"{run.layers_dir.name}: the districts layer has none of the districts {', '.join(settings.DISTRICTS)}."
        )
    feats = run.features
    feats = (
        feats[feats["district"] == district]
        if district is not None
        else feats[feats["district"].isin(list(codes[shown]))]
    )
    own = run.results[run.results["feature_fid"].isin(list(feats["fid"]))]
    status = feature_status(own)["status"]
    feats = feats.to_crs(AREA_CRS).assign(
        status=[status.get(f) if f in status.index else None for f in feats["fid"]],
        name_zh=[terminal_text(n) if isinstance(n, str) else None for n in feats["name_zh"]],
    )
    results = run.results if district is None else run.results[run.results["district"] == district]
    totals_rows = results[(results["scope"] == "aggregate") & (results["metric"] == "area")]
    citations = _citations([*totals_rows["source_file"], *feats["source_file"]])
    keys = {file: key for key, _, file in citations}
    counts: dict[str | None, int] = {}
    for s in feats["status"]:
        counts[s if isinstance(s, str) else None] = counts.get(s if isinstance(s, str) else None, 0) + 1
    zh, en = district_names(district) if district is not None else _names(list(codes[shown]))
    notes = [
        f"行政区界线 Boundaries: {terminal_text(str(n))}"
        for n in dict.fromkeys(_column(districts[shown], "source"))
        if n
    ]
    if bool(_column(districts[shown], "includes_dapeng").fillna(False).astype(bool).any()):
        notes.append(
            "龙岗区界线（高德）含大鹏新区；龙岗规划不覆盖大鹏 / the Longgang boundary includes Dapeng New Area, which the Longgang plans do not cover."
        )
    return SheetContent(
        district=district,
        title=terminal_text(title) if title else f"{zh}规划图层核查图",
        subtitle="" if title else f"{en}: planning layers checked against the plans",
        district_line=f"行政区 District: {zh} {en}" + (f" ({district})" if district else ""),
        date=dt.date.today().isoformat(),
        version=f"gis {__version__}",
        features=feats[["layer", "part", "fid", "parent", "name_zh", "area_ha", "status", "geometry"]],
        districts=districts,
        extent=tuple(float(v) for v in districts[shown].total_bounds),  # type: ignore[arg-type]
        totals=_totals(totals_rows, keys),
        status_counts=counts,
        citations=citations,
        accuracy=_accuracy(feats),
        notes=list(dict.fromkeys(notes)),
    )


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Return a column, or one of None where the frame has no such field (the test layers' districts have few)."""
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index, dtype=object)
