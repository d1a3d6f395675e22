/* gis web map, QA findings (gis qa): a point each, red for errors, orange for warnings. */

function findingHtml(q) {
  return "<b>" + esc(q.s === "error" ? "错误 error" : "警告 warning") + ": " + esc(q.c) + "</b><br>" +
    esc(q.l || "") + " " + esc(q.f || "") + (q.o ? " / " + esc(q.o) : "") +
    (q.a !== null && q.a !== undefined ? "<br>" + esc(q.a.toLocaleString()) + " m²" : "") +
    "<br>" + esc(q.m);
}

function addQaFindings(app) {
  var findings = app.data.qa;
  if (!findings || !findings.length) return;
  var group = L.layerGroup();
  findings.forEach(function addFinding(q) {
    var color = q.s === "error" ? "#c0392b" : "#e67e22";
    L.circleMarker(q.xy, { radius: 7, color: "#ffffff", weight: 2, fillColor: color, fillOpacity: 0.95, className: "gis-qa" })
      .bindPopup(findingHtml(q), { maxWidth: 360 })
      .addTo(group);
  });
  group.addTo(app.map);
  app.overlays["检查发现 QA findings (" + findings.length + ")"] = group;
}
