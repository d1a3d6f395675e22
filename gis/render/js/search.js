/* gis web map, search: features by Chinese name, English name or fid; the hit is zoomed to and
 * its popup opened. */

function searchTitle(p) {
  return p.name_zh + " " + (p.name_en || "") + " " + p.fid;
}

function findFeature(app, title) {
  for (var fid in app.byId) {
    var hit = app.byId[fid];
    if (searchTitle(hit.overlay.props[hit.index]) === title) return hit;
  }
  return null;
}

function searchRecords(app) {
  return Object.keys(app.byId).map(function record(fid) {
    var hit = app.byId[fid];
    return { title: searchTitle(hit.overlay.props[hit.index]), loc: hit.overlay.featureBounds(hit.index).getCenter() };
  });
}

function moveToFeature(app, latlng, title) {
  var hit = findFeature(app, title);
  if (!hit) return app.map.setView(latlng, 14);
  var bounds = hit.overlay.featureBounds(hit.index);
  app.map.fitBounds(bounds, { maxZoom: 15, animate: false });
  openFeaturePopup(app, hit.overlay, hit.index, bounds.getCenter(), []);
}

function addSearch(app) {
  var search = new L.Control.Search({
    sourceData: function sourceData(text, callResponse) {
      callResponse(searchRecords(app));
      return { abort: function abort() {} };
    },
    buildTip: function buildTip(text) { // the plugin would insert the text as HTML
      var li = L.DomUtil.create("li", "");
      li.textContent = text;
      return li;
    },
    propertyName: "title",
    propertyLoc: "loc",
    marker: false,
    initial: false,
    collapsed: false,
    textPlaceholder: "搜索名称 Search name…",
    textErr: "未找到 Not found",
    moveToLocation: function moveToLocation(latlng, title) { moveToFeature(app, latlng, title); },
  });
  app.map.addControl(search);
  // leaflet-search listens to keyup only: also search on input, so pasted text and Chinese IMEs work
  L.DomEvent.on(search._input, "input", function onInput() { search._handleKeypress({ keyCode: 0 }); });
}
