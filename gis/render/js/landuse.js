/* gis web map, the land-use parcels (data.landuse, only when the check has a land-use layer):
 * one canvas overlay under the thematic ones, filled by land class in one path per class (a
 * hundred thousand parcels are a few fills, not a hundred thousand), outlined once the parcels
 * are large enough on screen to tell apart. A click or hover where no thematic feature is gives
 * the parcel's id, code, name, class and area. */

var GisLandUse = GisOverlay.extend({
  initialize: function (features, landuse, strings) {
    GisOverlay.prototype.initialize.call(this, features, [], { weight: 1 }, null);
    L.setOptions(this, { interactive: false }); // the map's own click and hover handlers hit-test it
    this.landuse = landuse;
    var codes = landuse.coded_columns.land_class, byKey = {};
    landuse.classes.forEach(function indexClass(c, k) { byKey[c.key] = k; });
    this._classOf = new Int32Array(features.length);
    for (var f = 0; f < features.length; f++) this._classOf[f] = byKey[strings[codes[f]]];
  },
  _updatePath: function () {
    var renderer = this._renderer;
    if (!renderer._drawing) return;
    var ctx = renderer._ctx, view = renderer._bounds, clip = renderer._redrawBounds || view, lu = this.landuse;
    var n = this._px.length, visible = [], drawn = 0;
    for (var f = 0; f < n; f++) {
      if (!this._meets(f, view)) continue;
      drawn++;
      if (this._meets(f, clip)) visible.push(f);
    }
    this.drawn = drawn;
    ctx.globalAlpha = lu.fill_opacity;
    for (var k = 0; k < lu.classes.length; k++) this._fillClass(ctx, visible, k);
    ctx.globalAlpha = 1;
    this._outline(ctx, visible);
  },
  /* The visible parcels of class k, filled a few hundred to a path: one path of thousands of
   * rings costs the rasterizer far more than its parts do apart. */
  _fillClass: function (ctx, visible, k) {
    var chunk = 256, m = 0;
    ctx.fillStyle = this.landuse.classes[k].color;
    ctx.beginPath();
    for (var i = 0; i < visible.length; i++) {
      if (this._classOf[visible[i]] !== k) continue;
      this._trace(ctx, visible[i]);
      if (++m % chunk === 0) { ctx.fill("evenodd"); ctx.beginPath(); }
    }
    ctx.fill("evenodd");
  },
  /* The parcels at least 6 px across, outlined in one stroke: smaller ones would be all outline. */
  _outline: function (ctx, visible) {
    var pb = this._pb;
    ctx.beginPath();
    for (var i = 0; i < visible.length; i++) {
      var f = visible[i];
      if (pb[4 * f + 2] - pb[4 * f] >= 6 || pb[4 * f + 3] - pb[4 * f + 1] >= 6) this._trace(ctx, f);
    }
    ctx.lineWidth = 0.6;
    ctx.strokeStyle = this.landuse.line_color;
    ctx.stroke();
  },
  _containsPoint: function () { return false; },
});

/* The overlay, its legend entry and its click and hover handlers; nothing without data.landuse. */
function addLandUse(app) {
  var lu = app.data.landuse;
  if (!lu) return;
  app.map.createPane("gisLandUse").style.zIndex = 345; // over the districts (340), under the thematic overlays (350)
  var overlay = new GisLandUse(decodeUnits(lu.geometry), lu, app.data.strings);
  overlay.options.renderer = L.canvas({ padding: 0.2, pane: "gisLandUse" });
  overlay.addTo(app.map);
  app.landuse = overlay;
  app.overlays["土地利用 Land use (" + lu.count + ")"] = overlay;
  app.map.on("click", function onLandUseClick(e) { landUseClick(app, e.latlng); });
  app.map.on("mousemove", function onLandUseMove(e) { landUseHover(app, e.latlng); });
}

/* The topmost parcel under a point, or -1 (none, or the overlay is hidden). */
function parcelAt(app, latlng) {
  var o = app.landuse;
  if (!o || !app.map.hasLayer(o) || !o._px) return -1;
  var hits = o.hitsAt(app.map.latLngToLayerPoint(latlng));
  return hits.length ? hits[0] : -1;
}

/* A thematic feature under the point takes the click and the hover. */
function landUseFree(app, latlng) {
  return !app.busy && !featuresAt(app, latlng).length;
}

function parcelProps(app, i) {
  var p = tableRow(app.data.landuse, app.data.strings, i), c = app.landuse.landuse.classes[app.landuse._classOf[i]];
  p.cls = c;
  return p;
}

function landUseClick(app, latlng) {
  if (!landUseFree(app, latlng)) return;
  var i = parcelAt(app, latlng);
  if (i < 0) return;
  L.popup(popupOptions()).setLatLng(latlng).setContent(parcelPopupHtml(app.data, parcelProps(app, i))).openOn(app.map);
}

function landUseHover(app, latlng) {
  var i = landUseFree(app, latlng) ? parcelAt(app, latlng) : -1;
  if (i < 0) {
    if (app.tooltipParcel) app.map.closeTooltip(app.tooltip);
    app.tooltipParcel = false;
    return;
  }
  var p = parcelProps(app, i);
  app.tooltip.setLatLng(latlng).setContent(esc(p.parcel_id + " · " + p.code + " " + (p.code_name || "") + " · " + p.cls.title_zh));
  if (!app.map.hasLayer(app.tooltip)) app.map.openTooltip(app.tooltip);
  app.tooltipParcel = true;
}

function parcelPopupHtml(data, p) {
  var district = data.district_names[p.district] || ["", ""], lu = data.landuse;
  return '<div class="gis-popup"><h3>' + esc(p.code + " " + (p.code_name || "")) + "</h3>" +
    '<table class="gis-props">' +
    "<tr><th>图斑编号 parcel</th><td>" + esc(p.parcel_id) + "</td></tr>" +
    "<tr><th>用地代码 code</th><td>" + esc(p.code) + " (" + esc(lu.system) + ")</td></tr>" +
    "<tr><th>用地名称 name</th><td>" + esc(p.code_name || "–") + "</td></tr>" +
    '<tr><th>地类 class</th><td><i class="gis-swatch" style="background:' + esc(p.cls.color) + '"></i>' + esc(p.cls.title_zh) + " " + esc(p.cls.title_en) + "</td></tr>" +
    "<tr><th>面积 area</th><td><b>" + esc(fmt(p.area_m2 / 1e4, 4)) + " ha</b> (EPSG:4547)</td></tr>" +
    "<tr><th>行政区 district</th><td>" + esc(district[0]) + " " + esc(district[1]) + "</td></tr>" +
    "</table></div>";
}

/* The legend's land-use entries: each class present, in its colour, with its parcels and area. */
function landUseLegendHtml(data) {
  var lu = data.landuse;
  if (!lu) return "";
  var html = '<b>土地利用 Land use</b><br>';
  lu.classes.forEach(function addClass(c) {
    html += '<i style="background:' + esc(c.color) + ";opacity:" + esc(lu.fill_opacity) + '"></i>' + esc(c.title_zh) + " " + esc(c.title_en) +
      ' <span class="gis-muted">' + esc(fmt(c.area_ha, 1)) + " ha</span><br>";
  });
  return html + '<span class="gis-muted">配色 colours: 市级国土空间总体规划制图规范 附录B</span><br>';
}
