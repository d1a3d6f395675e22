/* gis web map, controls: the layer switcher, the legend, the title bar and the panel of
 * district targets, the scale and the full-screen button. */

/* A control showing html in a div of the given class; clicks (and, if asked, scrolls) stay in it. */
function addHtmlControl(map, position, className, html, keepScroll) {
  var control = L.control({ position: position });
  control.onAdd = function onAdd() {
    var div = L.DomUtil.create("div", className);
    div.innerHTML = html;
    L.DomEvent.disableClickPropagation(div);
    if (keepScroll) L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  return control.addTo(map);
}

/* A raster background can be hidden like any overlay. */
function addBackgroundToggle(app) {
  app.map.eachLayer(function addBackground(l) {
    if (l instanceof L.ImageOverlay) app.overlays["背景影像 Background"] = l;
  });
}

function addLayerControl(app, baseLayers) {
  app.control = L.control.layers(baseLayers, app.overlays, { collapsed: false, position: "topright" }).addTo(app.map);
}

/* Legend: fill by layer and part, outline by check status (folds while a sketch is reviewed). */
function legendHtml(data) {
  var html = "<details open><summary><b>图例 Legend</b></summary>" + landUseLegendHtml(data) + controlLegendHtml(data);
  data.layers.forEach(function addLayer(layer) {
    var st = layer.style;
    if (!layer.count) return;
    html += '<i style="background:' + esc(st.fill_color) + ";opacity:" + esc(Math.min(1, st.fill_opacity + 0.35)) + '"></i>' + esc(st.title_zh) + " " + esc(st.title_en) + "<br>";
  });
  html += "<b>轮廓 = 核查状态 Outline = status</b><br>";
  ["met", "within tolerance", "short", "over"].forEach(function addStatus(s) {
    html += '<i class="gis-line" style="border-color:' + esc(data.status_colors[s]) + '"></i>' + esc(data.status_zh[s]) + " " + esc(s) + "<br>";
  });
  return html + '<i class="gis-line" style="border-color:' + NO_TARGET_COLOR + '"></i>无目标 no target</details>';
}

/* Title bar: the map's title, its frame, the schematic warning and the links to the other maps. */
function titleHtml(data, links) {
  var anchors = "";
  Object.keys(links || {}).forEach(function addLink(text) {
    anchors += '<a href="' + esc(links[text]) + '">' + esc(text) + "</a> ";
  });
  var meta = data.meta;
  return "<b>" + esc(meta.title) + "</b><br>" +
    '<span class="gis-frame">坐标系 Frame: ' + esc(meta.frame) + (meta.frame === "GCJ-02" ? "（已转换以配合 GCJ-02 底图 moved to match the GCJ-02 tiles）" : "") + "</span> · " +
    '<span class="gis-muted">示意图斑，据规划文本手绘 schematic, hand-digitized from plan text · ' + esc(meta.toolkit) + " · " + esc(meta.built) + "</span>" +
    (anchors ? '<div class="gis-links">' + anchors + "</div>" : "");
}

var COMPARATOR_SIGNS = { approx: "≈", at_most: "≤", more_than: ">" };

/* A district target: planned against digitized, and its citation row. */
function aggregateRow(data, a) {
  var unit = unitText(a.unit);
  return "<tr><td>" + esc(a.name_zh) + " <span class=\"gis-muted\">" + esc(a.target_id) + " " + esc(a.metric === "area" ? "" : a.metric) + "</span></td><td>" +
    esc(COMPARATOR_SIGNS[a.comparator] || "≥") + " " + esc(fmt(a.planned, 1)) + " " + esc(unit) + "</td><td>" +
    esc(fmt(a.measured, 1)) + (a.measured === null ? "" : " " + esc(unit)) + "</td><td>" + statusBadge(data, a.status) + "</td></tr>" +
    '<tr class="gis-cite"><td colspan="4">' + esc(a.source) + " · " + esc(a.source_ref) + (a.horizon ? " · " + esc(a.horizon) : "") +
    (a.note ? '<br><span class="gis-note">' + esc(a.note) + "</span>" : "") + "</td></tr>";
}

/* Panel: the district aggregate targets, open on screens tall enough. */
function panelHtml(data) {
  var html = "<details" + (window.innerHeight >= 900 ? " open" : "") + "><summary><b>区级总量目标 District targets</b> (" + data.aggregates.length + ")</summary>";
  if (!data.aggregates.length) return html + '<p class="gis-muted">无 none</p></details>';
  html += '<table class="gis-targets"><tr><th>区 · 目标</th><th>规划 planned</th><th>图斑 digitized</th><th>状态 status</th></tr>';
  data.aggregates.forEach(function addRow(a) { html += aggregateRow(data, a); });
  return html + "</table></details>";
}

function addScaleAndFullScreen(map) {
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  new L.Control.FullScreen({ position: "topleft", title: "全屏 Full screen", titleCancel: "退出全屏 Exit full screen" }).addTo(map);
}
