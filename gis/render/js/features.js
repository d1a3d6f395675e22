/* gis web map, the features: one canvas overlay per layer and part, in the style definition's
 * order. A click opens the popup of the smallest feature under it (listing the others), a hover
 * shows its name; while a draw or measure tool is busy, clicks place vertices instead. */

/* The overlays' canvas sits below the overlay pane: sketches and measurements (SVG, above) stay
 * clickable, and the SVG root lets every other click through to the canvas. */
function addOverlays(app) {
  app.map.createPane("gisOverlays").style.zIndex = 350;
  app.renderer = L.canvas({ padding: 0.2, tolerance: 2, pane: "gisOverlays" });
  app.tooltip = L.tooltip({ sticky: true, direction: "top", offset: [0, -6] });
  trackBusyTools(app);
  var targets = targetsByFeature(app.data);
  app.data.layers.forEach(function addLayer(layer) { addOverlay(app, layer, targets); });
}

/* A feature's outline: the colour of its check status, one pixel heavier when it has one. */
function outlineOf(data, st) {
  return function outline(p) {
    return { color: p.status ? data.status_colors[p.status] : NO_TARGET_COLOR, weight: p.status ? st.weight + 1 : st.weight };
  };
}

function addOverlay(app, layer, targets) {
  var st = layer.style, props = featureProps(layer, app.data, targets);
  var overlay = new GisOverlay(decodeUnits(layer.geometry), props, st, outlineOf(app.data, st));
  overlay.options.renderer = app.renderer;
  overlay.on("click", function onClick(e) { clickAt(app, e.latlng); });
  overlay.on("mousemove", function onMove(e) { showName(app, e.latlng); });
  overlay.on("mouseout", function onOut() { app.map.closeTooltip(app.tooltip); });
  props.forEach(function index(p, i) { app.byId[p.fid] = { overlay: overlay, index: i }; });
  if (!layer.count) return;
  overlay.addTo(app.map);
  app.overlays[st.title_zh + " " + st.title_en + " (" + layer.count + ")"] = overlay;
  app.shown.push(overlay);
}

/* Drawing, editing or measuring: clicks place vertices, not popups. */
function trackBusyTools(app) {
  app.busy = false;
  app.map.on("draw:drawstart draw:editstart draw:deletestart measurestart", function onToolStart() { app.busy = true; });
  // the click that ends a drawing arrives after its stop event: stay busy until it has passed
  app.map.on("draw:drawstop draw:editstop draw:deletestop measurefinish", function onToolStop() {
    setTimeout(function notBusy() { app.busy = false; }, 100);
  });
}

/* Every feature under a point in the visible overlays, smallest first: a small site inside a
 * large zone of another layer is what the click means, and the others are listed. */
function featuresAt(app, latlng) {
  var pt = app.map.latLngToLayerPoint(latlng), out = [];
  app.shown.forEach(function hitsOf(o) {
    if (!app.map.hasLayer(o)) return;
    o.hitsAt(pt).forEach(function addHit(i) { out.push({ overlay: o, index: i, p: o.props[i] }); });
  });
  return out.sort(function bySize(a, b) { return (a.p.area_ha || 0) - (b.p.area_ha || 0); });
}

function openFeaturePopup(app, overlay, i, latlng, others) {
  L.popup(popupOptions()).setLatLng(latlng).setContent(popupHtml(app.data, overlay.props[i], others)).openOn(app.map);
}

function clickAt(app, latlng) {
  if (app.busy) return;
  var hits = featuresAt(app, latlng);
  if (!hits.length) return;
  openFeaturePopup(app, hits[0].overlay, hits[0].index, latlng, hits.slice(1).map(function propsOf(h) { return h.p; }));
}

function showName(app, latlng) {
  var hits = app.busy ? [] : featuresAt(app, latlng);
  if (!hits.length) return;
  app.tooltip.setLatLng(latlng).setContent(esc(hits[0].p.name_zh));
  if (!app.map.hasLayer(app.tooltip)) app.map.openTooltip(app.tooltip);
}
