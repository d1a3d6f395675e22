"""Rules of the targets table: ids, vocabularies, numbers as plans write them, aggregate and consistency rows."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import pandas as pd

from gis import settings
from gis.codes import control_kinds, parse_part
from gis.errors import InputError
from gis.validate.text import _clean_text, _control_message, _has_control

log = logging.getLogger(__name__)


def _decimals(text: str) -> int:
    """Return the number of decimals a figure is stated with ("703" -> 0, "0.4555" -> 4)."""
    mantissa = text.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _number(text: str | None, *, where: str, field: str, problems: list[str]) -> float | None:
    if text is None:
        return None
    try:
        if "_" in text:
            raise ValueError(text)
        value = float(text)
    except ValueError:
        problems.append(f"{where}: field {field} is {text!r}, not a number. {_number_hint(text)}")
        return None
    if not math.isfinite(value):
        problems.append(f"{where}: field {field} is {text!r}; give a finite number.")
        return None
    return value


def _number_hint(text: str) -> str:
    """Say how to write a figure typed the way people write numbers in text ("约29", "18,5", "1,200")."""
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
        return f"Write it without the thousands separator: {text.replace(',', '')}."
    if re.fullmatch(r"\d+,\d+", text):
        return f"Use a point for decimals: {text.replace(',', '.')}."
    figure = re.search(r"\d+(\.\d+)?", text)
    if figure and figure.group(0) != text:
        return (
            f"Write the figure alone, e.g. {figure.group(0)}, and put words such as 约/about or units "
            "in field note or field unit."
        )
    return "Write a plain number such as 12.5."


def _check_land_target(r: pd.Series, where: str, problems: list[str]) -> None:
    """Check a target on the land-use or control-line layer: an area per district, with a part it can count."""
    if r["scope"] != "aggregate" or r["metric"] != "area":
        problems.append(
            f"{where}: a target on layer {r['layer']} is a district total: use scope aggregate and metric area."
        )
    if r["part"] is None:
        what = "a land class (industrial)" if r["layer"] == settings.LANDUSE_LAYER else "a kind of control line"
        problems.append(f"{where}: field part is empty; name {what}.")
        return
    try:
        if r["layer"] == settings.LANDUSE_LAYER:
            parse_part(r["part"])
        else:
            control_kinds(r["part"])
    except ValueError as exc:
        problems.append(f"{where}: field part: {exc}.")


def validate_targets(raw: pd.DataFrame, *, path: Path) -> pd.DataFrame:
    """Check a targets table read as text (:func:`gis.io.targets.read_table`); return it typed.

    Raises :class:`InputError` listing every problem (``path`` names the file in messages).
    Returns the columns of :data:`gis.settings.TARGET_COLUMNS` as text (None where empty), with
    ``value`` and ``tolerance_pct`` as floats, ``value_decimals`` (decimals stated) and ``row``
    (the row number in the file, header = 1).
    """
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in settings.TARGET_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path}: the targets table lacks the column(s) {', '.join(missing)}. "
            f"The header must be: {','.join(settings.TARGET_COLUMNS)}"
        )
    df = pd.DataFrame({c: [_clean_text(v) for v in raw[c]] for c in settings.TARGET_COLUMNS}, dtype=object)
    df["row"] = range(2, len(df) + 2)
    for c in settings.TARGET_COLUMNS:  # control characters are read as spaces, as in the layers
        for i in (i for i, v in enumerate(raw[c]) if _has_control(v)):
            log.warning(
                "%s: row %d, target %s: %s",
                path,
                i + 2,
                df["target_id"].iloc[i] or "(no id)",
                _control_message(raw[c].iloc[i], df[c].iloc[i], c),
            )
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
        if r["layer"] in (settings.LANDUSE_LAYER, settings.CONTROL_LAYER):
            _check_land_target(r, where, problems)
        elif r["part"] is not None and r["part"] not in settings.PARTS:
            problems.append(
                f"{where}: field part is {r['part']!r}; use one of {', '.join(settings.PARTS)}, or leave it empty."
            )
        units = settings.RATIO_UNITS if r["metric"] == "plot_ratio" else tuple(settings.AREA_UNITS_HA)
        if r["metric"] in settings.METRICS and r["unit"] not in units:
            problems.append(
                f"{where}: field unit is {r['unit']!r} for metric {r['metric']}; use one of {', '.join(units)}."
            )
        if r["layer"] is not None and r["layer"] not in settings.TARGET_LAYERS:
            problems.append(f"{where}: field layer is {r['layer']!r}; use one of {', '.join(settings.TARGET_LAYERS)}.")
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
