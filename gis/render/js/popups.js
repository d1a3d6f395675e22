/* gis web map, popups: a feature's properties, its targets (planned against measured, each with
 * its citation) and its consistency checks, as HTML; every value escaped. */

/* Is a target row a derived consistency check (not a plan figure)? */
function isDerived(data, t) {
  return data.derived_metrics.indexOf(t.metric) >= 0;
}

/* One consistency check in words: inside its parent or district, or planned within the parent's. */
function consistencyText(t) {
  return t.metric === "within_parent" ? "位于上级图斑内 inside its parent: " + fmt(t.measured, 1) + " %"
    : t.metric === "within_district" ? "位于所属行政区内 inside its district: " + fmt(t.measured, 1) + " %"
    : "规划面积不大于上级 planned " + fmt(t.measured, 4) + " ha ≤ parent's " + fmt(t.planned, 4) + " ha";
}

function consistencyRows(data, rows) {
  var checks = rows.filter(function derived(t) { return isDerived(data, t); });
  if (!checks.length) return "";
  var html = '<p class="gis-checks"><b>一致性检查 Consistency</b><br>';
  checks.forEach(function addCheck(t) {
    var ok = t.status === "met", mark = ok ? "✓" : "✗";
    html += '<span class="' + (ok ? "gis-ok" : "gis-fail") + '">' + esc(mark + " " + consistencyText(t)) + "</span><br>";
  });
  return html + "</p>";
}

/* A target's row (id, planned, measured, difference, status) and its citation row. */
function targetRow(data, t) {
  var unit = unitText(t.unit), delta = t.delta_pct;
  var metric = t.metric === "area" ? "" : " (" + t.metric + ")";
  return "<tr><td>" + esc(t.target_id) + esc(metric) + "</td><td>" + esc(fmt(t.planned, 4)) + " " + esc(unit) + "</td><td>" +
    esc(fmt(t.measured, 2)) + (t.measured === null ? "" : " " + esc(unit)) + "</td><td>" + esc(delta === null ? "–" : (delta > 0 ? "+" : "") + fmt(delta, 1)) +
    "</td><td>" + statusBadge(data, t.status) + "</td></tr>" +
    '<tr class="gis-cite"><td colspan="5">' + esc(t.source) + " · " + esc(t.source_ref) + "</td></tr>";
}

function targetRows(data, allRows) {
  var rows = allRows.filter(function isOwn(t) { return !isDerived(data, t); });
  if (!rows.length) return '<p class="gis-muted">规划未给出此图斑的数值 / the plans give this feature no figure</p>' + consistencyRows(data, allRows);
  var html = '<table class="gis-targets"><tr><th>目标 target</th><th>规划 planned</th><th>量测 measured</th><th>差 Δ%</th><th>状态 status</th></tr>';
  rows.forEach(function addRow(t) { html += targetRow(data, t); });
  return html + "</table>" + consistencyRows(data, allRows);
}

/* The table of a feature's own properties. */
function propertyRows(data, p) {
  var district = data.district_names[p.district] || ["", ""];
  return '<table class="gis-props">' +
    "<tr><th>编号 fid</th><td>" + esc(p.fid) + "</td></tr>" +
    "<tr><th>行政区 district</th><td>" + esc(district[0]) + " " + esc(district[1]) + " (" + esc(p.district) + ")</td></tr>" +
    "<tr><th>街道 street</th><td>" + esc(p.street || "–") + "</td></tr>" +
    "<tr><th>部分 part</th><td>" + esc(p.part) + (p.parent ? " ⊂ " + esc(p.parent) : "") + "</td></tr>" +
    "<tr><th>量测面积 measured</th><td><b>" + esc(fmt(p.area_ha, 2)) + " ha</b> (EPSG:4547)</td></tr>" +
    "<tr><th>核查 status</th><td>" + (p.status ? statusBadge(data, p.status) : '<span class="gis-muted">无规划数值 no plan figure</span>') +
      (p.checks_failed ? ' <span class="gis-fail">✗ ' + esc(p.checks_failed) + "</span>" : "") + "</td></tr>" +
    "<tr><th>精度 accuracy</th><td>" + esc(p.accuracy) + " · " + esc(p.location_confidence) + "</td></tr>" +
    "<tr><th>定位 placed on</th><td>" + esc(p.position_ref || "–") +
      (p.position_error_m === null || p.position_error_m === undefined ? "" : " (± " + esc(fmt(p.position_error_m, 0)) + " m)") + "</td></tr>" +
    "<tr><th>出处 source</th><td>" + esc(p.source) + " · " + esc(p.source_ref) + "</td></tr>" +
    "</table>";
}

/* A feature's popup; others are the other features under the same point. */
function popupHtml(data, p, others) {
  return '<div class="gis-popup"><h3>' + esc(p.name_zh) + "</h3><p class=\"gis-en\">" + esc(p.name_en) + "</p>" +
    propertyRows(data, p) + targetRows(data, p.targets) +
    '<p class="gis-basis">' + esc(p.location_basis) + "</p>" +
    (others && others.length ? '<p class="gis-muted">此处还有 Also here: ' + others.map(function nameOf(o) { return esc(o.name_zh + " (" + o.fid + ")"); }).join("; ") + "</p>" : "") +
    "</div>";
}

/* Popups as large as the window allows, panned clear of the title bar. */
function popupOptions() {
  var top = document.querySelector(".gis-title");
  return {
    maxWidth: 460, minWidth: 280, maxHeight: Math.max(220, Math.round(window.innerHeight * 0.6)),
    autoPanPaddingTopLeft: [60, (top ? top.offsetHeight : 60) + 20], autoPanPaddingBottomRight: [20, 20],
  };
}
