/* gis web map, the sketch review as HTML (every value escaped; figures also in data- attributes
 * at full precision) and as the flat review_* properties of the exported sketch. */

function ha4(v) {
  return v === null || v === undefined ? "none" : Number(v).toFixed(4);
}

function districtName(data, code) {
  var n = data.district_names[code];
  return n ? n[0] + " " + n[1] : code || "";
}

function controlTitle(data, kind) {
  var n = data.review.control_kinds[kind];
  return n ? n[0] + " " + n[1] : kind === "block_line" ? "工业区块线 Industrial block line" : kind;
}

/* Area, district (every one overlapped, and outside the three) and street. */
function summaryHtml(data, base) {
  var ds = base.districts.map(function one(d) {
    return '<span class="gis-review-district" data-code="' + esc(d.district) + '" data-ha="' + esc(d.ha) + '">' + esc(districtName(data, d.district)) +
      " (" + esc(d.district) + ") " + esc(fmt(d.ha, 4)) + " ha, " + esc(fmt(d.share, 1)) + " %</span>";
  }).join("<br>");
  var street = base.street ? esc(base.street.name) + ' <span class="gis-muted">(据重叠图斑 from overlapped feature ' + esc(base.street.fid) + ")</span>" : "–";
  return '<table class="gis-props">' +
    '<tr><th>面积 area</th><td><b class="gis-review-area" data-ha="' + esc(base.area_ha) + '">' + esc(ha4(base.area_ha)) + " ha</b> (EPSG:4547 平面 planar)</td></tr>" +
    "<tr><th>行政区 district</th><td>" + (ds || "–") + (base.outside_ha > 0 ? '<br><span class="gis-review-outside" data-ha="' + esc(base.outside_ha) + '">三区以外 outside the districts ' + esc(ha4(base.outside_ha)) + " ha</span>" : "") + "</td></tr>" +
    "<tr><th>街道 street</th><td>" + street + "</td></tr></table>" + otherDistrictNote(data, base);
}

/* A district map holds only its district's features, parcels and totals: say so when the sketch reaches beyond it. */
function otherDistrictNote(data, base) {
  var own = data.meta.district;
  var others = own === null ? [] : base.districts.filter(function other(d) { return d.district !== own; });
  if (!others.length) return "";
  var names = others.map(function name(d) { return districtName(data, d.district); }).join("、");
  return '<p class="gis-review-note gis-review-other-district">本图只含' + esc(districtName(data, own)) + "的图斑：" + esc(names) +
    " 境内的重叠未列出 — this map holds " + esc(districtName(data, own)) + "'s features only; overlaps in " + esc(names) +
    " are not listed: use the all-district map (全部 All) or gis review on the export.</p>";
}

function overlapsHtml(data, base) {
  var html = "<b>重叠图斑 Overlapping features</b> (≥ " + esc(data.review.min_m2) + " m²)";
  if (!base.overlaps.length) return html + '<p class="gis-muted">无 none</p>';
  html += '<table class="gis-targets gis-review-overlaps"><tr><th>图层 layer</th><th>图斑 feature</th><th>ha</th><th>占草图 of sketch</th><th>占图斑 of feature</th></tr>';
  base.overlaps.forEach(function addRow(o) {
    var title = (data.review.layer_titles[o.layer] || [o.layer])[0];
    html += '<tr data-fid="' + esc(o.fid) + '" data-ha="' + esc(o.overlap_ha) + '"><td>' + esc(title + " " + o.part) + "</td><td>" + esc(o.fid) + " " + esc(o.name_zh) +
      "</td><td>" + esc(ha4(o.overlap_ha)) + "</td><td>" + esc(fmt(o.share_of_sketch_pct, 1)) + " %</td><td>" + esc(fmt(o.share_of_feature_pct, 1)) + " %</td></tr>";
  });
  return html + "</table>";
}

function classesHtml(app, base) {
  var html = "<b>地类 Land classes</b>";
  if (!base.classes) return html + ' <span class="gis-muted">无土地利用图层 no land-use layer</span>';
  var classes = app.data.landuse.classes, names = {};
  classes.forEach(function name(c) { names[c.key] = c.title_zh + " " + c.title_en; });
  html += '<table class="gis-targets gis-review-classes"><tr><th>地类 class</th><th>ha</th><th>占草图 share</th><th>图斑 parcels</th><th>代码 codes (ha)</th></tr>';
  base.classes.rows.forEach(function addRow(c) {
    var codes = c.codes.map(function code(k) { return k.code + " " + ha4(k.ha); }).join(", ");
    html += '<tr data-class="' + esc(c.key) + '" data-ha="' + esc(c.ha) + '"><td>' + esc(names[c.key] || c.key) + "</td><td>" + esc(ha4(c.ha)) + "</td><td>" +
      esc(fmt(c.share, 1)) + " %</td><td>" + esc(c.parcels) + "</td><td>" + esc(codes) + "</td></tr>";
  });
  var none = base.classes.no_parcel_ha;
  return html + '<tr data-class="" data-ha="' + esc(none) + '"><td>无图斑 no parcel</td><td>' + esc(ha4(none)) + "</td><td colspan=\"3\"></td></tr></table>";
}

var NOT_IN_LAYER = '<span class="gis-muted">图层无此类 none in the layer: not reviewed</span>';

function controlHtml(data, base) {
  var html = "<b>管控线 Control lines</b>", c = base.control;
  if (!c) return html + ' <span class="gis-muted gis-review-nocontrol">无控制线图层 no control-line layer: not reviewed</span>';
  html += c.conflict ? ' <b class="gis-fail gis-review-conflict">冲突 CONFLICT</b>' : ' <span class="gis-ok">无冲突 no conflict</span>';
  html += '<table class="gis-targets gis-review-control">';
  c.conflicts.forEach(function addConflict(k) {
    html += '<tr data-kind="' + esc(k.kind) + '" data-ha="' + esc(k.ha) + '"><td>' + esc(controlTitle(data, k.kind)) + '</td><td class="' + (k.conflict ? "gis-fail" : "") + '">' +
      (k.present ? esc(ha4(k.ha)) + " ha, " + esc(fmt(k.share, 1)) + " %" : NOT_IN_LAYER) + "</td></tr>";
  });
  c.boundaries.forEach(function addBoundary(k) {
    html += '<tr data-kind="' + esc(k.kind) + '" data-inside="' + esc(k.inside_ha) + '"><td>' + esc(controlTitle(data, k.kind)) + "</td><td>" +
      (k.present ? "内 inside " + esc(ha4(k.inside_ha)) + " ha · 外 outside " + esc(ha4(k.outside_ha)) + " ha" : NOT_IN_LAYER) + "</td></tr>";
  });
  return html + "</table>";
}

/* The district totals before and after, with their status, for the sketch's proposal. */
function totalsHtml(app, rows) {
  var data = app.data, html = "<b>区级总量 District totals</b>";
  if (!rows.length) return html + ' <span class="gis-muted">无 none</span>';
  html += '<table class="gis-targets gis-review-totals"><tr><th>目标 total</th><th>规划 planned</th><th>前 → 后 before → after</th><th>状态 status</th></tr>';
  rows.forEach(function addRow(r) {
    html += '<tr data-target="' + esc(r.target_id) + '" data-before="' + esc(r.before_ha) + '" data-after="' + esc(r.after_ha) + '" data-status="' + esc(r.status_after) + '"><td>' +
      esc(r.name_zh) + ' <span class="gis-muted">' + esc(r.target_id) + "</span></td><td>" + esc(fmt(r.planned_ha, 1)) + " ha</td><td>" +
      esc(fmt(r.before_ha, 2)) + " → <b>" + esc(fmt(r.after_ha, 2)) + "</b> ha</td><td>" + statusBadge(data, r.status_before) + " → " + statusBadge(data, r.status_after) + "</td></tr>" +
      '<tr class="gis-cite"><td colspan="4">' + esc(r.counted_as) + " · " + esc(r.source) + " · " + esc(r.source_ref) + "</td></tr>";
  });
  return html + "</table>";
}

/* The review's figures as the exported sketch's flat properties (the spec's review_* list). */
function reviewProperties(app, base, rows) {
  var data = app.data, pre = data.review.prefix, p = {};
  p[pre + "area_ha"] = Math.round(base.area_ha * 1e4) / 1e4;
  p[pre + "district"] = base.district || "";
  p[pre + "district_name"] = base.district ? (data.district_names[base.district] || [""])[0] : "";
  p[pre + "overlaps"] = base.overlaps.map(function text(o) { return o.fid + " " + (o.name_zh || "") + " " + ha4(o.overlap_ha) + " ha"; }).join("; ");
  p[pre + "classes"] = base.classes ? base.classes.rows.map(function text(c) {
    return c.key + " " + ((data.review.land_classes[c.key] || [""])[0]) + " " + ha4(c.ha) + " ha";
  }).join("; ") : "";
  p[pre + "conflicts"] = base.control ? base.control.conflicts.filter(function isConflict(k) { return k.conflict; }).map(function text(k) {
    return (data.review.control_kinds[k.kind] || [k.kind])[0] + " " + ha4(k.ha) + " ha";
  }).join("; ") : "";
  p[pre + "targets"] = rows.map(function text(r) {
    if (r.before_ha === null && r.after_ha === null) return r.target_id + " " + r.counted_as; // not measured: its status
    return r.target_id + " " + ha4(r.before_ha) + " -> " + ha4(r.after_ha) + " ha (" + r.status_before + " -> " + r.status_after + ")";
  }).join("; ");
  p[pre + "tool"] = "gis web map " + data.meta.toolkit.replace(/^gis /, "");
  p.reviewed = base.computed;
  return p;
}
