/* gis web map: gisMap(map, data, options) draws the embedded document (the script element with
 * id gis-data, written by gis/render/mapdata.py) on a Folium map. The parts, in the order they
 * are added: the districts, the land-use parcels and control lines (when the check has them),
 * the feature overlays, the district names, the QA findings, the controls, the measure tool, the minimap,
 * search, the draw tool with its export, and the sketch review panel. */

function gisMap(map, data, options) {
  performance.mark("gis:start");
  map.setMaxZoom(19); // without tiles nothing else bounds the zoom
  var app = { map: map, data: data, options: options, overlays: {}, byId: {}, shown: [] };
  addDistricts(app);
  addLandUse(app);
  addControlLines(app);
  addOverlays(app);
  performance.mark("gis:layers");
  addDistrictLabels(app);
  var baseLayers = addBasemaps(app);
  addBackgroundToggle(app);
  addQaFindings(app);
  addLayerControl(app, baseLayers);
  addHtmlControl(map, "bottomright", "gis-legend", legendHtml(data));
  addHtmlControl(map, "topleft", "gis-title", titleHtml(data, options.links));
  addHtmlControl(map, "bottomleft", "gis-panel", panelHtml(data), true);
  addScaleAndFullScreen(map);
  addMeasureTool(map);
  addMiniMap(app);
  addSearch(app);
  addDrawTool(app);
  addExportButton(app);
  addReviewPanel(app);
  performance.mark("gis:end");
  window.gis = publicApi(app); // for tests and power users
}

function publicApi(app) {
  return {
    map: app.map,
    data: app.data,
    overlays: app.overlays,
    control: app.control,
    byId: app.byId,
    drawn: app.drawn,
    drawnGeoJSON: function () { return drawnGeoJSON(app); },
    districtLayer: app.districtLayer,
    basemaps: app.basemaps,
    landuse: app.landuse,
    controlLines: app.controlLines,
    sketchProperties: function (layer) { return sketchProperties(app, layer, 0); },
    drawnCount: function () {
      var n = 0;
      app.shown.forEach(function count(o) { if (app.map.hasLayer(o)) n += o.drawn; });
      return n;
    },
  };
}
