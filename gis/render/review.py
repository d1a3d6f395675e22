"""The review of sketches (:mod:`gis.review`) as text for the terminal, JSON and CSV.

``table``: one block per sketch (area, district, street, overlaps, land classes, control lines,
the targets of its district before -> after); data text through :func:`gis.escape.terminal_text`
when printed. ``json``: :meth:`gis.review.Review.to_dict`. ``csv``: one table with a ``kind``
column (``sketch``, ``district``, ``overlap``, ``class``, ``control``, ``target``), for spreadsheets.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from gis.errors import render
from gis.escape import spreadsheet_csv, terminal_text
from gis.render.tables import _clip
from gis.review import OUTSIDE_TEXT, Review, clean

#: What a sketch's block says without the optional layers (the web map's panel says the same).
NO_LANDUSE_TEXT = "no land-use layer"
NO_CONTROL_TEXT = "no control-line layer: not reviewed"
#: The review's summary without a control-line layer (no conflict can be found, none is claimed).
NOT_REVIEWED_TEXT = "管控线未审查 control lines not reviewed: no control-line layer"


def verdict(review: Review) -> tuple[list[str], str]:
    """Return the sketches in conflict and the summary line: conflicts, none found, or control lines not reviewed."""
    conflicts = [str(s["fid"]) for s in review.sketches if s["conflict"]]
    if conflicts:
        return conflicts, f"conflict with a control line: {', '.join(conflicts)}"
    if not review.control_lines_reviewed:
        return conflicts, NOT_REVIEWED_TEXT
    return conflicts, "no conflict with a control line"


def format_review_json(review: Review) -> str:
    """Return the whole review as JSON (UTF-8 text, Chinese as it is)."""
    data = clean(review.to_dict())
    data["notes"] = [render(n) for n in data["notes"]]
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def _t(value: Any) -> str:
    return "-" if value is None else terminal_text(str(value))


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4f}"


def _block(s: dict[str, Any]) -> list[str]:
    """Return the lines of one sketch's block."""
    proposal = f"proposed as {_t(s['proposed_as'])}" if s["proposed_as"] else "no proposal"
    name = f" {_t(s['name_zh'])}" if s["name_zh"] else ""
    lines = [f"Sketch {_t(s['fid'])}{name} ({proposal})" + ("  ** CONFLICT **" if s["conflict"] else "")]
    diff = f" ({s['geodesic_diff_pct']:+.4f} %)" if s["geodesic_diff_pct"] is not None else ""
    lines.append(
        f"  area       {_num(s['area_ha'])} ha (planar, EPSG:4547); geodesic {_num(s['geodesic_ha'])} ha{diff}"
    )
    if s.get("stated_area_ha") is not None:
        lines.append(f"  stated     {_num(s['stated_area_ha'])} ha (the table's own figure)")
    shares = "; ".join(
        f"{_t(d['district'])} {_t(d['name_zh'])} {_num(d['ha'])} ha ({d['share_pct']:.1f} %)" for d in s["districts"]
    )
    if s["district"] is None:
        lines.append(f"  district   none: {OUTSIDE_TEXT} ({_num(s['outside_ha'])} ha outside)")
    else:
        lines.append(f"  district   {_t(s['district'])} {_t(s['district_name'])} (the largest part)")
        lines.append(f"             {shares}; outside the three districts {_num(s['outside_ha'])} ha")
    street = f"{_t(s['street'])} (from overlapped feature {_t(s['street_from'])})" if s["street"] else "-"
    lines.append(f"  street     {street}")
    if not s["overlaps"]:
        lines.append("  overlaps   none")
    for i, o in enumerate(s["overlaps"]):
        head = "  overlaps   " if i == 0 else "             "
        lines.append(
            f"{head}{_t(o['layer'])}/{_t(o['part'])} {_t(o['fid'])} {_clip(_t(o['name_zh']), 24)}: {_num(o['overlap_ha'])} ha, "
            f"{o['share_of_sketch_pct']:.1f} % of the sketch, {o['share_of_feature_pct']:.1f} % of the feature"
        )
    lines.extend(_land_lines(s["land"]))
    lines.extend(_control_lines(s["control"]))
    lines.extend(_target_lines(s))
    return lines


def _land_lines(land: dict[str, Any] | None) -> list[str]:
    if land is None:
        return [f"  land use   {NO_LANDUSE_TEXT}"]
    out = []
    for i, c in enumerate(land["classes"]):
        codes = ", ".join(
            f"{_t(k['code'])} {_t(k['name_zh'] or '')} {_num(k['ha'])} ha".replace("  ", " ") for k in c["codes"]
        )
        head = "  land use   " if i == 0 else "             "
        out.append(
            f"{head}{_t(c['class'])} {_t(c['name_zh'])}: {_num(c['ha'])} ha ({c['share_pct']:.1f} %), {c['parcels']} parcel(s); {codes}"
        )
    head = "  land use   " if not out else "             "
    return [*out, f"{head}no parcel: {_num(land['no_parcel_ha'])} ha"]


def _control_lines(control: dict[str, Any] | None) -> list[str]:
    if control is None:
        return [f"  control    {NO_CONTROL_TEXT}"]
    out = []
    for c in control["conflicts"]:
        if not c["in_layer"]:
            text = "not in the control-line layer: not reviewed"
        elif c["conflict"]:
            text = f"CONFLICT {_num(c['ha'])} ha ({c['share_pct']:.1f} % of the sketch)"
        else:
            text = "no overlap"
        out.append(f"{c['kind']} {c['name_zh']}: {text}")
    for b in control["boundaries"]:
        text = (
            f"inside {_num(b['inside_ha'])} ha, outside {_num(b['outside_ha'])} ha"
            if b["in_layer"]
            else "not in the control-line layer: not reviewed"
        )
        out.append(f"{b['kind']} {b['name_zh']}: {text}")
    r = control["retention_zone"]
    out.append(
        f"retention_zone {r['name_zh']}: "
        + (f"inside {_num(r['inside_ha'])} ha" if r["in_layer"] else "not in the layer")
    )
    return [("  control    " if i == 0 else "             ") + line for i, line in enumerate(out)]


def _target_lines(s: dict[str, Any]) -> list[str]:
    rows = [t for t in s["targets"] if t["district"] == s["district"]]
    others = len(s["targets"]) - len(rows)
    if not s["targets"]:
        return ["  targets    no aggregate area target to move"]
    if s["district"] is None:
        return [f"  targets    {OUTSIDE_TEXT}: all {len(s['targets'])} unchanged"]
    out = []
    for i, t in enumerate(rows):
        head = "  targets    " if i == 0 else "             "
        planned = (
            f"{head}{_t(t['target_id'])} {_clip(_t(t['name_zh']), 30)} {t['comparator']} {_num(t['planned_ha'])} ha: "
        )
        if t["before_ha"] is None and t["after_ha"] is None:  # not measured: the status says why, once
            moved = f"{_t(t['effect'])}; "
        else:
            moved = (
                f"{_num(t['before_ha'])} -> {_num(t['after_ha'])} ha ({_signed(t['delta_ha'])}); "
                f"{t['status_before']} -> {t['status_after']}; {_t(t['effect'])}; "
            )
        out.append(f"{planned}{moved}{_t(t['source'])} {_t(t['source_ref'])}")
    if others:
        out.append(f"  targets    {others} of other districts: unchanged (a sketch counts toward its own district)")
    return out


def format_review_table(review: Review) -> str:
    """Return the review as readable text: one block per sketch, then the notes."""
    blocks = ["\n".join(_block(clean(s))) for s in review.sketches]
    meta = review.meta
    head = (
        f"{len(review.sketches)} sketch(es) reviewed against {terminal_text(str(meta['layers_dir']))} "
        f"and {terminal_text(str(meta['targets_file']))}; areas planar in EPSG:4547"
    )
    tail = terminal_text(verdict(review)[1])
    return "\n\n".join([head, *blocks, tail]) + "\n"


def review_rows(review: Review) -> pd.DataFrame:
    """Return the review as one flat table: a row per sketch, district, overlap, class, control kind and target."""
    rows: list[dict[str, Any]] = []
    for s in (clean(x) for x in review.sketches):
        base = {"sketch_fid": s["fid"], "sketch_name": s["name_zh"]}
        rows.append(
            {
                **base,
                "kind": "sketch",
                "id": s["district"],
                "name_zh": s["district_name"],
                "ha": s["area_ha"],
                "note": f"geodesic {s['geodesic_ha']:.4f} ha; outside {s['outside_ha']:.4f} ha; conflict {s['conflict']}",
            }
        )
        for d in s["districts"]:
            rows.append(
                {
                    **base,
                    "kind": "district",
                    "id": d["district"],
                    "name_zh": d["name_zh"],
                    "ha": d["ha"],
                    "share_pct": d["share_pct"],
                }
            )
        for o in s["overlaps"]:
            rows.append(
                {
                    **base,
                    "kind": "overlap",
                    "id": o["fid"],
                    "name_zh": o["name_zh"],
                    "layer": o["layer"],
                    "part": o["part"],
                    "ha": o["overlap_ha"],
                    "share_pct": o["share_of_sketch_pct"],
                    "note": f"{o['share_of_feature_pct']:.2f} % of the feature",
                }
            )
        for c in (s["land"] or {}).get("classes", []):
            rows.append(
                {
                    **base,
                    "kind": "class",
                    "id": c["class"],
                    "name_zh": c["name_zh"],
                    "ha": c["ha"],
                    "share_pct": c["share_pct"],
                    "note": f"{c['parcels']} parcel(s)",
                }
            )
        control = s["control"] or {}
        for c in control.get("conflicts", []):
            rows.append(
                {
                    **base,
                    "kind": "control",
                    "id": c["kind"],
                    "name_zh": c["name_zh"],
                    "ha": c["ha"],
                    "share_pct": c["share_pct"],
                    "note": "CONFLICT" if c["conflict"] else ("" if c["in_layer"] else "not in the layer"),
                }
            )
        for b in control.get("boundaries", []):
            rows.append(
                {
                    **base,
                    "kind": "control",
                    "id": b["kind"],
                    "name_zh": b["name_zh"],
                    "ha": b["inside_ha"],
                    "note": f"inside; outside {b['outside_ha']}" if b["in_layer"] else "not in the layer",
                }
            )
        for t in s["targets"]:
            rows.append(
                {
                    **base,
                    "kind": "target",
                    "id": t["target_id"],
                    "name_zh": t["name_zh"],
                    "layer": t["layer"],
                    "part": t["part"],
                    "ha": t["after_ha"],
                    "before_ha": t["before_ha"],
                    "delta_ha": t["delta_ha"],
                    "status_before": t["status_before"],
                    "status_after": t["status_after"],
                    "note": t["effect"],
                    "source": t["source"],
                    "source_ref": t["source_ref"],
                }
            )
    columns = [
        "sketch_fid",
        "sketch_name",
        "kind",
        "id",
        "name_zh",
        "layer",
        "part",
        "ha",
        "share_pct",
        "before_ha",
        "delta_ha",
        "status_before",
        "status_after",
        "note",
        "source",
        "source_ref",
    ]
    return pd.DataFrame(rows, columns=columns)


def format_review_csv(review: Review) -> str:
    """Return :func:`review_rows` as CSV for spreadsheets (no cell is a formula)."""
    return spreadsheet_csv(review_rows(review))
