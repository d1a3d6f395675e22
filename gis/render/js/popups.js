/* gis web map, popups: a feature's properties, its targets (planned against measured, each with
 * its citation) and its consistency checks, as HTML; every value escaped. */

var DERIVED = { within_parent: 1, within_district: 1, planned_le_parent: 1 };

/* One consistency check in words: inside its parent or district, or planned within the parent's. */
function consistencyText(t) {
  return t[1] === "within_parent" ? "位于上级图斑内 inside its parent: " + fmt(t[4], 1) + " %"
    : t[1] === "within_district" ? "位于所属行政区内 inside its district: " + fmt(t[4], 1) + " %"
    : "规划面积不大于上级 planned " + fmt(t[4], 4) + " ha ≤ parent's " + fmt(t[3], 4) + " ha";
}

function consistencyRows(rows) {
  var checks = rows.filter(function isDerived(t) { return DERIVED[t[1]]; });
  if (!checks.length) return "";
  var html = '<p class="gis-checks"><b>一致性检查 Consistency</b><br>';
  checks.forEach(function addCheck(t) {
    var ok = t[7] === "met", mark = ok ? "✓" : "✗";
    html += '<span class="' + (ok ? "gis-ok" : "gis-fail") + '">' + esc(mark + " " + consistencyText(t)) + "</span><br>";
  });
  return html + "</p>";
}

/* A target's row (id, planned, measured, difference, status) and its citation row. */
function targetRow(data, t) {
  var unit = unitText(t[5]);
  var metric = t[1] === "area" ? "" : " (" + t[1] + ")";
  return "<tr><td>" + esc(t[0]) + esc(metric) + "</td><td>" + esc(fmt(t[3], 4)) + " " + esc(unit) + "</td><td>" +
    esc(fmt(t[4], 2)) + (t[4] === null ? "" : " " + esc(unit)) + "</td><td>" + esc(t[6] === null ? "–" : (t[6] > 0 ? "+" : "") + fmt(t[6], 1)) +
    "</td><td>" + statusBadge(data, t[7]) + "</td></tr>" +
    '<tr class="gis-cite"><td colspan="5">' + esc(t[8]) + " · " + esc(t[9]) + "</td></tr>";
}

function targetRows(data, allRows) {
  var rows = allRows.filter(function isOwn(t) { return !DERIVED[t[1]]; });
  if (!rows.length) return '<p class="gis-muted">规划未给出此图斑的数值 / the plans give this feature no figure</p>' + consistencyRows(allRows);
  var html = '<table class="gis-targets"><tr><th>目标 target</th><th>规划 planned</th><th>量测 measured</th><th>差 Δ%</th><th>状态 status</th></tr>';
  rows.forEach(function addRow(t) { html += targetRow(data, t); });
  return html + "</table>" + consistencyRows(allRows);
}

/* The table of a feature's own properties. */
function propertyRows(data, p) {
  var district = data.districtNames[p.d] || ["", ""];
  return '<table class="gis-props">' +
    "<tr><th>编号 fid</th><td>" + esc(p.i) + "</td></tr>" +
    "<tr><th>行政区 district</th><td>" + esc(district[0]) + " " + esc(district[1]) + " (" + esc(p.d) + ")</td></tr>" +
    "<tr><th>街道 street</th><td>" + esc(p.s || "–") + "</td></tr>" +
    "<tr><th>部分 part</th><td>" + esc(p.p) + (p.pa ? " ⊂ " + esc(p.pa) : "") + "</td></tr>" +
    "<tr><th>量测面积 measured</th><td><b>" + esc(fmt(p.a, 2)) + " ha</b> (EPSG:4547)</td></tr>" +
    "<tr><th>核查 status</th><td>" + (p.st ? statusBadge(data, p.st) : '<span class="gis-muted">无规划数值 no plan figure</span>') +
      (p.cf ? ' <span class="gis-fail">✗ ' + esc(p.cf) + "</span>" : "") + "</td></tr>" +
    "<tr><th>精度 accuracy</th><td>" + esc(p.acc) + " · " + esc(p.lc) + "</td></tr>" +
    "<tr><th>出处 source</th><td>" + esc(p.src) + " · " + esc(p.ref) + "</td></tr>" +
    "</table>";
}

/* A feature's popup; others are the other features under the same point. */
function popupHtml(data, p, others) {
  return '<div class="gis-popup"><h3>' + esc(p.n) + "</h3><p class=\"gis-en\">" + esc(p.e) + "</p>" +
    propertyRows(data, p) + targetRows(data, p.t) +
    '<p class="gis-basis">' + esc(p.lb) + "</p>" +
    (others && others.length ? '<p class="gis-muted">此处还有 Also here: ' + others.map(function nameOf(o) { return esc(o.n + " (" + o.i + ")"); }).join("; ") + "</p>" : "") +
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
