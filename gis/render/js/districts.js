/* gis web map, the districts: the background under the overlays, their names, the minimap. */

function districtGroup(rings, styleOptions) {
  return L.featureGroup(rings.map(function districtPolygon(latlngs) { return L.polygon(latlngs, styleOptions); }));
}

/* The districts as the background (SVG, under the overlays' canvas). */
function addDistricts(app) {
  var ds = app.data.district_style, options = app.options;
  app.districtRings = decodeRings(app.data.districts.geometry);
  app.map.createPane("gisDistricts").style.zIndex = 340; // the background, under the overlays' canvas (350)
  var renderer = L.svg({ pane: "gisDistricts" });
  // with tiles the districts are an outline only: their fill would wash out the basemap
  var fill = (options.basemap && options.basemap !== "none") || options.background ? 0 : ds.fill_opacity;
  app.districtLayer = districtGroup(app.districtRings, {
    interactive: false, renderer: renderer, color: ds.line_color, weight: ds.weight, fillColor: ds.fill_color, fillOpacity: fill,
  }).addTo(app.map);
}

/* District names, and the note that Longgang's outline also holds Dapeng. */
function addDistrictLabels(app) {
  tableRows(app.data.districts, app.data.strings).forEach(function addLabel(d, i) {
    var rings = app.districtRings[i], b = L.latLngBounds(Array.isArray(rings[0][0][0]) ? rings[0][0] : rings[0]);
    var label = d.name_zh + (d.district === "440307" ? "（界线含大鹏新区 outline includes Dapeng）" : "");
    L.tooltip({ permanent: true, direction: "center", className: "gis-district-label", interactive: false })
      .setLatLng(b.getCenter()).setContent(esc(label)).addTo(app.map);
  });
}

function addMiniMap(app) {
  var ds = app.data.district_style;
  var layer = districtGroup(app.districtRings, { interactive: false, color: ds.line_color, weight: 1, fillColor: ds.fill_color, fillOpacity: 0.8 });
  new L.Control.MiniMap(layer, { toggleDisplay: true, position: "bottomright", width: 160, height: 130, zoomLevelOffset: -4 }).addTo(app.map);
}
