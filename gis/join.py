"""Join stage: targets matched to measured features by fid and part, every misfit reported at once."""

from __future__ import annotations

import difflib

import geopandas as gpd
import pandas as pd

from gis.errors import InputError


class FeatureIndex:
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
        """Return the feature ``fid``."""
        return self.features.loc[self.by_fid[fid]]

    def resolve(self, fid: str, part: str | None) -> pd.Series | None:
        """Return the feature ``fid`` if it is that part, else its descendant of that part."""
        row = self.row(fid)
        if part is None or part == row["part"] or (part == "extent" and row["part"] == "extent"):
            return row
        matches = self.descendants_with_part(fid, part)
        return matches[0] if len(matches) == 1 else None

    def descendants_with_part(self, fid: str, part: str) -> list[pd.Series]:
        """Return the features below ``fid`` (children, their children ...) that are ``part``."""
        out = []
        stack = list(self.children.get(fid, []))
        while stack:
            child = self.row(stack.pop(0))
            if child["part"] == part:
                out.append(child)
            stack.extend(self.children.get(child["fid"], []))
        return out


def _fid_hint(fid: str, index: FeatureIndex) -> str:
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
    index = FeatureIndex(features)
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
