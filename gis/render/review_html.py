"""The review of sketches (:mod:`gis.review`) as ONE offline HTML file a planner can attach to an email.

No script, no stylesheet, font or image from anywhere: every sketch is drawn as inline SVG (in
EPSG:4547, north up) over the thematic features it overlaps, the control lines and the district
outlines in view, with a scale bar; its figures follow as tables. All data text is escaped.
"""

from __future__ import annotations

import html
import math
from typing import Any

import shapely

from gis import __version__, settings, style
from gis.errors import render
from gis.render.review import NO_CONTROL_TEXT, NO_LANDUSE_TEXT, NOT_REVIEWED_TEXT
from gis.review import OUTSIDE_TEXT, Review, clean
from gis.review_drawing import Drawing

#: Width of a sketch's drawing in the page (px); its height follows the view's shape, at most :data:`MAX_H`.
WIDTH = 640
MAX_H = 480
#: The sketch: a black outline over a dark blue fill, colours no layer or control line uses.
SKETCH_LINE = "#000000"
SKETCH_FILL = "#1f3fbf"
#: Where the sketch overlaps a conflict kind (ecological red line, permanent farmland).
CONFLICT_FILL = "#e7298a"
CONFLICT_LINE = "#7a0177"


def _e(value: Any) -> str:
    return "-" if value is None else html.escape(str(value))


def _n(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _path(geom: shapely.Geometry, x0: float, y1: float, k: float) -> str:
    """Return an SVG path of a polygon's rings (or a line's parts), in page pixels (y down)."""
    out = []
    for part in shapely.get_parts(geom):
        rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
        for ring in rings:
            xy = shapely.get_coordinates(ring)
            if not len(xy):
                continue
            pts = " L".join(f"{(x - x0) * k:.1f} {(y1 - y) * k:.1f}" for x, y in xy)
            out.append(f"M{pts}" + ("Z" if part.geom_type == "Polygon" else ""))
    return " ".join(out)


def _scale_bar(width_m: float, k: float, h: float) -> str:
    """Return a scale bar of a round length (1, 2 or 5 x 10^n m) about a quarter of the drawing wide."""
    target = width_m / 4
    base = 10 ** math.floor(math.log10(target))
    length = max(m * base for m in (1, 2, 5) if m * base <= target)
    px = length * k
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    y = h - 14
    return (
        f'<g class="scale"><rect x="10" y="{y - 14}" width="{px + 60:.1f}" height="24" fill="#ffffff" fill-opacity="0.8"/>'
        f'<path d="M14 {y - 4} V{y + 4} H{14 + px:.1f} V{y - 4}" fill="none" stroke="#252525" stroke-width="2"/>'
        f'<text x="{20 + px:.1f}" y="{y + 4}" font-size="11">{label}</text></g>'
    )


def drawing_svg(d: Drawing, title: str, clip_id: str = "view") -> str:
    """Return the inline SVG of one sketch: districts, features, control lines, the sketch, its conflicts, a scale bar.

    The view is ``d.box`` (around the sketch); what lies beyond it is clipped (``clip_id`` names the clip).
    """
    x0, y0, x1, y1 = d.box
    w_m, h_m = x1 - x0, y1 - y0
    k = min(WIDTH / w_m, MAX_H / h_m)
    w, h = w_m * k, h_m * k
    parts = [f'<rect width="{w:.0f}" height="{h:.0f}" fill="#ffffff"/>']
    ds = style.DISTRICT_STYLE
    for code, g in d.districts:
        parts.append(
            f'<path d="{_path(g, x0, y1, k)}" fill="{ds.fill_color}" fill-opacity="{ds.fill_opacity}" '
            f'stroke="{ds.line_color}" stroke-width="{ds.weight}" fill-rule="evenodd"><title>{_e(code)}</title></path>'
        )
    for layer, part, fid, g in d.features:
        s = style.style_for(layer, part)
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(
            f'<path d="{_path(g, x0, y1, k)}" fill="{s.fill_color}" fill-opacity="{max(s.fill_opacity, 0.25)}" '
            f'stroke="{s.line_color}" stroke-width="{s.weight}"{dash} fill-rule="evenodd"><title>{_e(fid)}</title></path>'
        )
    for kind, g in d.control:
        s = style.CONTROL_STYLES[kind]
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(
            f'<path d="{_path(g, x0, y1, k)}" fill="none" stroke="{s.line_color}" stroke-width="{s.weight}"{dash}>'
            f"<title>{_e(s.title_zh)}</title></path>"
        )
    parts.append(
        f'<path d="{_path(d.sketch, x0, y1, k)}" fill="{SKETCH_FILL}" fill-opacity="0.25" stroke="{SKETCH_LINE}" '
        f'stroke-width="2.5" fill-rule="evenodd"><title>{_e(title)}</title></path>'
    )
    for kind, g in d.conflicts:
        parts.append(
            f'<path class="conflict-area" d="{_path(g, x0, y1, k)}" fill="{CONFLICT_FILL}" fill-opacity="0.7" '
            f'stroke="{CONFLICT_LINE}" stroke-width="1.5" fill-rule="evenodd"><title>冲突 conflict: {_e(kind)}</title></path>'
        )
    parts.append(_scale_bar(w_m, k, h))
    parts.append(f'<text x="{w - 18:.0f}" y="20" font-size="14" font-weight="bold">N</text>')
    parts.append(f'<path d="M{w - 13:.0f} 24 l-5 12 h10 z" fill="#252525"/>')
    clip = f'<clipPath id="{_e(clip_id)}"><rect width="{w:.0f}" height="{h:.0f}"/></clipPath>'
    return (
        f'<svg width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" '
        f'role="img" aria-label="{_e(title)}"><defs>{clip}</defs>'
        f'<g clip-path="url(#{_e(clip_id)})">{"".join(parts)}</g></svg>'
    )


def _swatch(fill: str, line: str, text: str, *, dash: str | None = None, opacity: float = 0.35) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<span class="key"><svg width="18" height="12"><rect x="1" y="1" width="16" height="10" fill="{fill}" '
        f'fill-opacity="{opacity}" stroke="{line}" stroke-width="1.5"{dashed}/></svg>{_e(text)}</span>'
    )


def legend(d: Drawing) -> str:
    """Return the legend of a drawing: the sketch, the layers' parts and the control kinds it shows."""
    keys = [_swatch(SKETCH_FILL, SKETCH_LINE, "草图 Sketch", opacity=0.25)]
    if d.conflicts:
        keys.append(_swatch(CONFLICT_FILL, CONFLICT_LINE, "冲突 conflict", opacity=0.7))
    for layer, part in dict.fromkeys((layer, part) for layer, part, _, _ in d.features):
        s = style.style_for(layer, part)
        keys.append(_swatch(s.fill_color, s.line_color, f"{s.title_zh} {s.title_en}", dash=s.dash))
    for kind in dict.fromkeys(kind for kind, _ in d.control):
        s = style.CONTROL_STYLES[kind]
        keys.append(_swatch("#ffffff", s.line_color, f"{s.title_zh} {s.title_en}", dash=s.dash, opacity=0.0))
    ds = style.DISTRICT_STYLE
    keys.append(_swatch(ds.fill_color, ds.line_color, f"{ds.title_zh} {ds.title_en}"))
    return f'<p class="legend">{"".join(keys)}</p>'


def _table(head: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return ""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _status(status: str) -> str:
    color = style.STATUS_COLORS.get(status, "#bdbdbd")
    return f'<span style="border-left:6px solid {color};padding-left:4px">{_e(status)}</span>'


def _section(s: dict[str, Any], d: Drawing, clip_id: str = "view") -> str:
    """Return one sketch's section: the drawing, the facts and the tables."""
    title = f"{s['fid']} {s['name_zh'] or ''}".strip()
    proposal = f"proposed as {s['proposed_as']}" if s["proposed_as"] else "no proposal"
    flag = ' <span class="conflict">CONFLICT 冲突</span>' if s["conflict"] else ""
    facts = [
        ["面积 Area", f"{_n(s['area_ha'])} ha (EPSG:4547); geodesic {_n(s['geodesic_ha'])} ha"],
        [
            "行政区 District",
            f"none: {_e(OUTSIDE_TEXT)}"
            if s["district"] is None
            else f"{_e(s['district'])} {_e(s['district_name'])}; outside the three {_n(s['outside_ha'])} ha",
        ],
        ["街道 Street", f"{_e(s['street'])} (from overlapped feature {_e(s['street_from'])})" if s["street"] else "-"],
    ]
    if s.get("stated_area_ha") is not None:
        facts.insert(1, ["表载面积 Stated", f"{_n(s['stated_area_ha'])} ha"])
    parts = [
        f"<section><h2>{_e(title)} <small>({_e(proposal)})</small>{flag}</h2>",
        drawing_svg(d, title, clip_id),
        legend(d),
    ]
    parts.append(_table(["", ""], [[_e(a), b] for a, b in facts]))
    parts.append(
        _table(
            ["District", "名称", "ha", "% of sketch"],
            [[_e(x["district"]), _e(x["name_zh"]), _n(x["ha"]), _n(x["share_pct"], 1)] for x in s["districts"]],
        )
    )
    parts.append("<h3>重叠要素 Overlapping features</h3>")
    parts.append(
        _table(
            ["layer", "part", "fid", "名称", "ha", "% of sketch", "% of feature"],
            [
                [
                    _e(o["layer"]),
                    _e(o["part"]),
                    _e(o["fid"]),
                    _e(o["name_zh"]),
                    _n(o["overlap_ha"]),
                    _n(o["share_of_sketch_pct"], 1),
                    _n(o["share_of_feature_pct"], 1),
                ]
                for o in s["overlaps"]
            ],
        )
        or "<p>none</p>"
    )
    parts.append("<h3>用地分类 Land classes</h3>")
    land = s["land"]
    if land is None:
        parts.append(f"<p>{NO_LANDUSE_TEXT}</p>")
    else:
        rows = [
            [
                _e(c["class"]),
                _e(c["name_zh"]),
                _n(c["ha"]),
                _n(c["share_pct"], 1),
                _e(c["parcels"]),
                _e("; ".join(f"{k['code']} {k['name_zh'] or ''} {k['ha']:.4f} ha" for k in c["codes"])),
            ]
            for c in land["classes"]
        ]
        rows.append(["no parcel", "", _n(land["no_parcel_ha"]), "", "", ""])
        parts.append(_table(["class", "名称", "ha", "% of sketch", "parcels", "codes"], rows))
    parts.append("<h3>管控线 Control lines</h3>")
    control = s["control"]
    if control is None:
        parts.append(f"<p>{NO_CONTROL_TEXT}</p>")
    else:
        rows = []
        for c in control["conflicts"]:
            verdict = "CONFLICT" if c["conflict"] else ("no overlap" if c["in_layer"] else "not in the layer")
            rows.append([_e(c["kind"]), _e(c["name_zh"]), _n(c["ha"]), "", verdict])
        for b in control["boundaries"]:
            rows.append(
                [
                    _e(b["kind"]),
                    _e(b["name_zh"]),
                    _n(b["inside_ha"]),
                    _n(b["outside_ha"]),
                    "" if b["in_layer"] else "not in the layer",
                ]
            )
        r = control["retention_zone"]
        rows.append(
            [_e(r["kind"]), _e(r["name_zh"]), _n(r["inside_ha"]), "", "" if r["in_layer"] else "not in the layer"]
        )
        parts.append(_table(["kind", "名称", "inside / overlap ha", "outside ha", ""], rows))
    parts.append("<h3>区级目标 District totals</h3>")
    parts.append(
        _table(
            ["target", "名称", "planned ha", "before ha", "after ha", "delta ha", "status", "effect", "出处 source"],
            [
                [
                    _e(t["target_id"]),
                    _e(t["name_zh"]),
                    f"{_e(t['comparator'])} {_n(t['planned_ha'])}",
                    _n(t["before_ha"]),
                    _n(t["after_ha"]),
                    _n(t["delta_ha"]),
                    f"{_status(t['status_before'])} → {_status(t['status_after'])}",
                    _e(t["effect"]),
                    f"{_e(t['source'])} {_e(t['source_ref'])}",
                ]
                for t in s["targets"]
                if t["district"] == s["district"]
            ],
        )
        or (
            f"<p>{_e(OUTSIDE_TEXT)}</p>"
            if s["district"] is None
            else "<p>no aggregate area target in this district</p>"
        )
    )
    return "".join(parts) + "</section>"


def review_html(review: Review) -> str:
    """Return the review as one self-contained HTML page (inline SVG and CSS, no script, no link out)."""
    sketches = [clean(s) for s in review.sketches]
    sections = "".join(
        _section(s, d, f"view-{i}") for i, (s, d) in enumerate(zip(sketches, review.drawings, strict=True), 1)
    )
    meta = review.meta
    notes = "".join(f"<li>{_e(render(n))}</li>" for n in review.notes)
    conflicts = [str(s["fid"]) for s in sketches if s["conflict"]]
    if conflicts:
        verdict = f'<p class="conflict">冲突 Conflict with a control line: {_e(", ".join(conflicts))}</p>'
    elif not review.control_lines_reviewed:
        verdict = f"<p>{_e(NOT_REVIEWED_TEXT)}.</p>"
    else:
        verdict = "<p>无管控线冲突 No conflict with a control line.</p>"
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>草图审查 Sketch review</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; margin: 1.5em; color: #252525; font-size: 13px; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; border-bottom: 2px solid #525252; margin-top: 1.6em; }} h3 {{ font-size: 14px; }}
table {{ border-collapse: collapse; margin: .5em 0; }} th, td {{ border-bottom: 1px solid #d9d9d9; padding: 3px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }} svg {{ border: 1px solid #bdbdbd; display: block; margin: .5em 0; }}
.conflict {{ color: #d7191c; font-weight: bold; }} .key {{ margin-right: 1em; white-space: nowrap; }} .key svg {{ display: inline; border: 0; margin: 0 .3em 0 0; vertical-align: middle; }}
@media print {{ section {{ break-before: page; }} section:first-of-type {{ break-before: auto; }} tr {{ break-inside: avoid; }} }}
</style></head><body>
<h1>草图审查 Sketch review</h1>
<p>{len(sketches)} sketch(es) against {_e(meta["layers_dir"])} and {_e(meta["targets_file"])}; areas planar in {_e(meta["area_crs"])};
reviewed {_e(meta["reviewed_at"])} with {_e(meta["toolkit"])}. Overlaps under {settings.REVIEW_MIN_M2:g} m² are not listed.</p>
{verdict}
<ul>{notes}</ul>
{sections}
<p><small>gis {__version__}</small></p>
</body></html>
"""
