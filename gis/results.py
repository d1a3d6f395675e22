"""The results table of a check: its columns, which rows are derived checks, statuses per feature, counts.

:func:`gis.evaluate.check_targets` makes the table (one row per target, plus the derived
consistency checks); every stage after it (render, export, report, the CLI) reads it through
these functions, so a rule about results (is this row a derived check, which status is worst,
when does ``gis check`` exit 1) is written once.
"""

from __future__ import annotations

import pandas as pd

from gis import settings

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


#: Derived checks (not plan figures): a failure is a warning on the feature, never its status.
DERIVED_METRICS: tuple[str, ...] = ("within_parent", "within_district", "planned_le_parent")


def is_derived(results: pd.DataFrame) -> pd.Series:
    """Return, per result row, whether it is a derived consistency check rather than a figure of the plans.

    The one test of it (the web map reads the same :data:`DERIVED_METRICS` from its data).

    Examples
    --------
    >>> import pandas as pd
    >>> is_derived(pd.DataFrame({"metric": ["area", "within_parent", "plot_ratio"]})).tolist()
    [False, True, False]
    """
    return results["metric"].isin(DERIVED_METRICS)


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
        derived = group[is_derived(group) & (group["status"] != settings.MET)]
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
