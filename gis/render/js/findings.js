/* gis web map, QA findings (gis qa): a point each, red for errors, orange for warnings. */

function findingHtml(q) {
  return "<b>" + esc(q.severity === "error" ? "错误 error" : "警告 warning") + ": " + esc(q.check) + "</b><br>" +
    esc(q.layer || "") + " " + esc(q.fid || "") + (q.other_fid ? " / " + esc(q.other_fid) : "") +
    (q.area_m2 !== null && q.area_m2 !== undefined ? "<br>" + esc(q.area_m2.toLocaleString()) + " m²" : "") +
    "<br>" + esc(q.message);
}

function addQaFindings(app) {
  var findings = app.data.qa_findings;
  if (!findings || !findings.length) return;
  var group = L.layerGroup();
  findings.forEach(function addFinding(q) {
    var color = q.severity === "error" ? "#c0392b" : "#e67e22";
    L.circleMarker(q.latlng, { radius: 7, color: "#ffffff", weight: 2, fillColor: color, fillOpacity: 0.95, className: "gis-qa" })
      .bindPopup(findingHtml(q), { maxWidth: 360 })
      .addTo(group);
  });
  group.addTo(app.map);
  app.overlays["检查发现 QA findings (" + findings.length + ")"] = group;
}
