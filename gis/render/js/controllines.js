/* gis web map, the control lines (data.control_lines, only when the check has a control-line
 * layer): one canvas overlay per kind, outlines only (thin and dashed, in the kind's colour of
 * gis/style.py CONTROL_STYLES), under the thematic overlays and toggled in the layer control. */

/* A kind's style on the map: its colour, a thin line, dashed (its own dash, else 5 3). */
function controlLineStyle(st) {
  return { fill_color: st.line_color, fill_opacity: 0, line_color: st.line_color, weight: Math.min(st.weight, 1.5), dash: st.dash || "5 3" };
}

var GisControlLines = GisOverlay.extend({
  initialize: function (features, style) {
    GisOverlay.prototype.initialize.call(this, features, [], style, null);
    L.setOptions(this, { interactive: false }); // clicks reach the features and parcels under it
  },
  _paint: function (ctx, f, st) {
    ctx.beginPath();
    this._trace(ctx, f);
    ctx.globalAlpha = 1;
    ctx.lineWidth = st.weight;
    ctx.strokeStyle = st.line_color;
    ctx.stroke();
  },
  _containsPoint: function () { return false; },
});

/* One overlay per kind present, in the layer control; nothing without data.control_lines. */
function addControlLines(app) {
  var cl = app.data.control_lines;
  app.controlLines = {};
  if (!cl) return;
  app.map.createPane("gisControlLines").style.zIndex = 348; // over the parcels (345), under the thematic overlays (350)
  var renderer = L.canvas({ padding: 0.2, pane: "gisControlLines" });
  var features = decodeUnits(cl.geometry), kinds = cl.coded_columns.kind, strings = app.data.strings;
  cl.kinds.forEach(function addKind(k) {
    var own = features.filter(function ofKind(f, i) { return strings[kinds[i]] === k.key; });
    var overlay = new GisControlLines(own, controlLineStyle(k.style));
    overlay.options.renderer = renderer;
    overlay.addTo(app.map);
    app.controlLines[k.key] = overlay;
    app.overlays["管控线 " + k.style.title_zh + " " + k.style.title_en + " (" + k.count + ")"] = overlay;
  });
}

/* The legend's control-line entries: a dashed line in each kind's colour. */
function controlLegendHtml(data) {
  var cl = data.control_lines;
  if (!cl || !cl.kinds.length) return "";
  var html = "<b>管控线 Control lines</b><br>";
  cl.kinds.forEach(function addKind(k) {
    html += '<i class="gis-line" style="border-top-style:dashed;border-color:' + esc(k.style.line_color) + '"></i>' + esc(k.style.title_zh) + " " + esc(k.style.title_en) + "<br>";
  });
  return html;
}
