/* gis web map, sketching and measuring: planners draw outlines and export them as GeoJSON
 * (always WGS-84) for GIS staff; the measure tool gives lengths and areas. */

/* Measure tool (workaround for Leaflet >= 1.8: the capture marker must not auto-pan). */
function addMeasureTool(map) {
  L.Control.Measure.include({
    _setCaptureMarkerIcon: function _setCaptureMarkerIcon() {
      this._captureMarker.options.autoPanOnFocus = false;
      this._captureMarker.setIcon(L.divIcon({ iconSize: this._map.getSize().multiplyBy(2) }));
    },
  });
  L.control.measure({ position: "topleft", primaryLengthUnit: "meters", secondaryLengthUnit: "kilometers", primaryAreaUnit: "hectares", secondaryAreaUnit: "sqmeters", localization: "cn" }).addTo(map);
}

function addDrawTool(app) {
  var drawn = new L.FeatureGroup().addTo(app.map);
  app.map.addControl(new L.Control.Draw({
    position: "topleft",
    // an outline may not cross itself, drawn or edited: gis review and gis import refuse such a sketch
    edit: { featureGroup: drawn, poly: { allowIntersection: false } },
    draw: { polyline: false, circle: false, circlemarker: false, marker: false, polygon: { showArea: true, metric: true, allowIntersection: false, shapeOptions: { poly: { allowIntersection: false } } }, rectangle: true },
  }));
  app.map.on(L.Draw.Event.CREATED, function onCreated(e) { drawn.addLayer(e.layer); });
  app.drawn = drawn;
}

/* The sketches as a GeoJSON FeatureCollection in WGS-84 (moved back from GCJ-02 over Amap tiles),
 * each with what the planner named it and its review's figures (reviewpanel.js). */
function drawnGeoJSON(app) {
  var layers = app.drawn.getLayers(); // full precision; rounded once below, after any conversion
  var fc = { type: "FeatureCollection", features: layers.map(function asFeature(l) { return l.toGeoJSON(false); }) };
  var toWgs84 = app.data.meta.frame === "GCJ-02" ? wgs84FromGcj02 : function same(c) { return c; };
  fc.features.forEach(function toExported(f) {
    f.geometry.coordinates = mapCoords(f.geometry.coordinates, function rounded(c) {
      var w = toWgs84(c);
      return [Math.round(w[0] * 1e7) / 1e7, Math.round(w[1] * 1e7) / 1e7];
    });
  });
  if (app.data.meta.frame === "GCJ-02") fc.frame_shown = "GCJ-02"; // drawn over Amap tiles: exported in WGS-84, as GeoJSON requires
  fc.features.forEach(function describe(f, i) { f.properties = sketchProperties(app, layers[i], i); });
  fc.frame = "WGS-84";
  fc.exported = new Date().toISOString();
  return fc;
}

function download(text, name, type) {
  var link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: type }));
  link.download = name;
  document.body.appendChild(link);
  link.click();
  setTimeout(function release() { URL.revokeObjectURL(link.href); link.remove(); }, 0);
}

/* The ⇩ button: the sketches as sketch-wgs84.geojson. */
function addExportButton(app) {
  var exporter = L.control({ position: "topleft" });
  exporter.onAdd = function onAdd() {
    var div = L.DomUtil.create("div", "leaflet-bar gis-export");
    var a = L.DomUtil.create("a", "", div);
    a.href = "#";
    a.title = "导出草图为 GeoJSON / Export sketches as GeoJSON";
    a.textContent = "⇩";
    L.DomEvent.on(a, "click", function onExport(ev) {
      L.DomEvent.preventDefault(ev);
      download(JSON.stringify(drawnGeoJSON(app)), "sketch-wgs84.geojson", "application/geo+json");
    });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  exporter.addTo(app.map);
}
