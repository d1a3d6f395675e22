"""Tables of results and QA findings: an aligned terminal table (Chinese-aware), CSV and JSON."""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

import pandas as pd

from gis import settings
from gis.errors import render
from gis.escape import spreadsheet_csv, terminal_text
from gis.model import QaReport
from gis.results import RESULT_COLUMNS, summarize

FORMATS: tuple[str, ...] = ("table", "csv", "json")

_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("target_id", "target"),
    ("fid", "fid"),
    ("part", "part"),
    ("name_zh", "name"),
    ("metric", "metric"),
    ("comparator", "cmp"),
    ("planned", "planned"),
    ("measured", "measured"),
    ("unit", "unit"),
    ("delta_pct", "delta %"),
    ("status", "status"),
)
_NAME_WIDTH = 24


def display_width(text: str) -> int:
    """Return the number of terminal columns ``text`` takes (CJK characters take two).

    Examples
    --------
    >>> display_width("龙岗 ok")
    7
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out = ""
    for ch in text:
        if display_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * (width - display_width(text))
    return fill + text if right else text + fill


def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column in ("planned", "measured"):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if column == "delta_pct":
        return f"{value:+.1f}"
    if column == "name_zh":
        return _clip(terminal_text(str(value)), _NAME_WIDTH)
    return terminal_text(str(value))


def format_table(results: pd.DataFrame) -> str:
    """Return the results as an aligned table with a status summary below it."""
    header = [title for _, title in _TABLE_COLUMNS]
    rows = [[_cell(r[col], col) for col, _ in _TABLE_COLUMNS] for _, r in results.iterrows()]
    widths = [max([display_width(h)] + [display_width(row[i]) for row in rows]) for i, h in enumerate(header)]
    numeric = {"planned", "measured", "delta_pct"}
    lines = []
    for cells in [header, *rows]:
        lines.append(
            "  ".join(
                _pad(cell, widths[i], right=_TABLE_COLUMNS[i][0] in numeric) for i, cell in enumerate(cells)
            ).rstrip()
        )
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for code, (zh, en) in settings.DISTRICTS.items():
        part = results[results["district"] == code]
        if len(part) and len(part) < len(results):
            lines.append(f"{zh} {en} {code}: {_summary_line(part)}")
    lines.append(f"all: {_summary_line(results)}")
    lines.extend(_land_totals(results))
    lines.extend(needs_own_data(results))
    return "\n".join(lines) + "\n"


def _land_totals(results: pd.DataFrame) -> list[str]:
    """List the district totals on the office's own data (land use, control lines), each with its citation."""
    rows = results[results["layer"].isin([settings.LANDUSE_LAYER, settings.CONTROL_LAYER])]
    if rows.empty:
        return []
    lines = [
        "",
        "District totals on land use and control lines (land use: sums of parcel areas; gis qa finds overlaps):",
    ]
    for _, r in rows.iterrows():
        measured = "not measured"
        if r["measured"] is not None and r["measured"] == r["measured"]:
            measured = f"measured {_ha_km2(float(r['measured']))}"
            if "SYNTHETIC" in str(r["note"]):
                measured += " on SYNTHETIC parcels"
        file = str(r["source_file"])
        source = f"{settings.SOURCES[file]} ({file})" if file in settings.SOURCES else file
        lines.append(
            f"  {r['target_id']} {terminal_text(str(r['name_zh']))}: {r['comparator']} {_ha_km2(float(r['planned']))}, "
            f"{measured}: {r['status']}. {terminal_text(source)}, {terminal_text(str(r['source_ref']))}"
        )
    return lines


def _ha_km2(ha: float) -> str:
    return f"{ha:,.1f} ha ({ha / 100:,.2f} km²)"


def needs_own_data(results: pd.DataFrame) -> list[str]:
    """Say which targets wait for the office's own data (a land-use or control-line layer) and how to add it."""
    how = {
        settings.NO_LANDUSE: "a land-use layer: gis import FILE --layer landuse",
        settings.NO_CONTROL: "a control-line layer: gis import FILE --layer control_lines --kind KIND",
    }
    other_system = results["note"].astype(str).str.contains("the land-use layer is coded in", regex=False)
    lines = []
    for status, text in how.items():
        ids = results.loc[(results["status"] == status) & ~other_system, "target_id"].tolist()
        if ids:
            lines.append(f"{len(ids)} target(s) need {text} ({', '.join(map(str, ids))})")
    ids = results.loc[(results["status"] == settings.NO_LANDUSE) & other_system, "target_id"].tolist()
    if ids:
        lines.append(
            f"{len(ids)} target(s) name a code of another code system than the land-use layer's: "
            f"name a land class instead, or import a layer in that system ({', '.join(map(str, ids))})"
        )
    return lines


def _summary_line(results: pd.DataFrame) -> str:
    counts = summarize(results)
    return f"{len(results)} targets: " + ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def format_json(results: pd.DataFrame, *, meta: dict[str, Any] | None = None, notes: list[str] | None = None) -> str:
    """Return the results as JSON: ``summary``, one object per target in ``targets``, ``notes``."""
    targets = [{c: _clean(r[c]) for c in RESULT_COLUMNS} for _, r in results.iterrows()]
    doc: dict[str, Any] = dict(meta or {})
    doc["summary"] = summarize(results)
    doc["targets"] = targets
    doc["notes"] = notes or []
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def format_csv(results: pd.DataFrame) -> str:
    """Return the results as CSV with the columns of :data:`gis.results.RESULT_COLUMNS`.

    Meant for spreadsheets: a text cell that would start a formula gets a leading ``'``
    (:func:`gis.escape.spreadsheet_csv`); numbers are written as numbers.
    """
    return spreadsheet_csv(results.reindex(columns=list(RESULT_COLUMNS)), float_format="%.6f")


#: Columns of the features table: the data model's fields (no geometry) and the measured areas.
FEATURE_COLUMNS: tuple[str, ...] = (
    "layer",
    *settings.FEATURE_FIELDS,
    "area_ha",
    "geodesic_ha",
    "geodesic_diff_pct",
)


def format_features_csv(features: pd.DataFrame) -> str:
    """Return the measured features (no geometry) as CSV: planar and geodesic hectares side by side.

    Text cells that would start a formula get a leading ``'``, as in :func:`format_csv`.
    """
    return spreadsheet_csv(features.reindex(columns=list(FEATURE_COLUMNS)), float_format="%.6f")


def format_results(results: pd.DataFrame, fmt: str, **kwargs: Any) -> str:
    """Dispatch to :func:`format_table`, :func:`format_csv` or :func:`format_json`."""
    if fmt == "table":
        return format_table(results)
    if fmt == "csv":
        return format_csv(results)
    if fmt == "json":
        return format_json(results, **kwargs)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def qa_summary(report: QaReport) -> str:
    """Return "N features, E errors, W warnings" with the checks that found them."""
    counts = pd.Series([f.check for f in report.findings], dtype=object).value_counts()
    detail = ", ".join(f"{check} {n}" for check, n in counts.items())
    return f"{report.features} features checked: {len(report.errors)} errors, {len(report.warnings)} warnings" + (
        f" ({detail})" if detail else ""
    )


_QA_TABLE = (("severity", 8), ("check", 26), ("layer", 19), ("fid", 14), ("other_fid", 14), ("area_m2", 12))


def format_qa_table(report: QaReport, *, message_width: int = 0) -> str:
    """Return the findings as an aligned table (Chinese-aware), each followed by its message, and a summary."""
    lines = []
    if report.findings:
        # a parcel's id (三调 BSM: 18 digits) is shown whole, up to 26 characters
        ids = [len(str(v)) for f in report.findings for v in (f.fid, f.other_fid) if v is not None]
        fid_width = min(max([14, *ids]), 26)
        table = [(c, fid_width if c in ("fid", "other_fid") else w) for c, w in _QA_TABLE]
        header = "  ".join(_pad(title, w, right=title == "area_m2") for title, w in table)
        lines += [header.rstrip(), "  ".join("-" * w for _, w in table)]
        for f in report.findings:
            cells = []
            for column, width in table:
                value = getattr(f, column)
                text = "-" if value is None else (f"{value:,.1f}" if column == "area_m2" else terminal_text(str(value)))
                cells.append(_pad(_clip(text, width), width, right=column == "area_m2"))
            lines.append("  ".join(cells).rstrip())
            message = terminal_text(render(f.message))
            message = message if not message_width else _clip(message, message_width)
            lines.append(f"    {message}")
        lines.append("")
    lines.append(qa_summary(report))
    return "\n".join(lines) + "\n"


def format_qa_csv(report: QaReport) -> str:
    """Return the findings as CSV with the columns of :data:`gis.model.FINDING_COLUMNS`.

    Text cells that would start a formula get a leading ``'`` (:func:`gis.escape.spreadsheet_csv`).
    """
    return spreadsheet_csv(report.table())


def format_qa_json(report: QaReport, *, meta: dict[str, Any] | None = None) -> str:
    """Return the findings as JSON: counts by severity and check, then one object per finding."""
    table = report.table().astype(object).where(report.table().notna(), None)
    doc: dict[str, Any] = dict(meta or {})
    doc["summary"] = {
        "features": report.features,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "checks": pd.Series([f.check for f in report.findings], dtype=object).value_counts().to_dict(),
    }
    doc["findings"] = table.to_dict(orient="records")
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def format_qa(report: QaReport, fmt: str, **kwargs: Any) -> str:
    """Dispatch to :func:`format_qa_table`, :func:`format_qa_csv` or :func:`format_qa_json`."""
    if fmt == "table":
        return format_qa_table(report)
    if fmt == "csv":
        return format_qa_csv(report)
    if fmt == "json":
        return format_qa_json(report, **kwargs)
    raise ValueError(f"unknown format {fmt!r}; use table, csv or json")


def _land_cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "n":
        return f"{int(value):,}"
    if column in ("area_ha", "official_ha"):
        return f"{value:,.2f}"
    if column == "share_pct":
        return f"{value:.1f}"
    if column == "codes":
        return _clip(terminal_text(str(value)), 28)
    return terminal_text(str(value))


_LAND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("district", "district"),
    ("class", "class"),
    ("name_zh", "name"),
    ("codes", "codes"),
    ("n", "parcels"),
    ("area_ha", "area ha"),
    ("share_pct", "% of district"),
    ("official_ha", "official ha"),
)


def format_landuse(table: pd.DataFrame, fmt: str, *, meta: dict[str, Any] | None = None) -> str:
    """Return a land-use summary (:func:`gis.landuse.summarize_landuse`) as an aligned table, CSV or JSON.

    The table adds a total per district; CSV and JSON carry the rows as they are (JSON ``codes`` as a list).
    """
    if fmt == "json":
        docs = [{c: _clean(r[c]) for c in table.columns} for _, r in table.iterrows()]
        for doc in docs:
            doc["codes"] = doc["codes"].split(",") if doc["codes"] else []
        return json.dumps({**(meta or {}), "rows": docs}, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":  # hectares to the square metre, shares to 1e-4 %: no float noise in a spreadsheet
        return spreadsheet_csv(table.round({"area_ha": 4, "official_ha": 4, "share_pct": 4}))
    numeric = {"n", "area_ha", "share_pct", "official_ha"}
    rows: list[list[str]] = []
    for code, group in table.groupby("district", sort=False):
        zh = settings.DISTRICTS.get(str(code), (str(code), ""))[0]
        for _, r in group.iterrows():
            rows.append([f"{zh} {code}" if c == "district" else _land_cell(r[c], c) for c, _ in _LAND_COLUMNS])
        total = {
            "district": f"{zh} {code}",
            "class": "all",
            "name_zh": "合计",
            "codes": "",
            "n": f"{int(group['n'].sum()):,}",
            "area_ha": _land_cell(float(group["area_ha"].sum()), "area_ha"),
            "share_pct": _land_cell(float(group["share_pct"].sum(min_count=1)), "share_pct"),
            "official_ha": _land_cell(float(group["official_ha"].sum(min_count=1)), "official_ha"),
        }
        rows.append([total[c] for c, _ in _LAND_COLUMNS])
    header = [title for _, title in _LAND_COLUMNS]
    widths = [max([display_width(h)] + [display_width(row[i]) for row in rows]) for i, h in enumerate(header)]
    lines = [
        "  ".join(_pad(cell, widths[i], right=_LAND_COLUMNS[i][0] in numeric) for i, cell in enumerate(cells)).rstrip()
        for cells in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
