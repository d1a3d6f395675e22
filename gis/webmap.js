/* gis web map: draws the embedded layers, check results and district aggregates.
 * Everything shown is escaped with esc(); the data comes from one JSON document
 * (the script element with id gis-data), so nothing is duplicated in the page.
 */
"use strict";

function esc(value) {
  if (value === null || value === undefined) return "";
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")
    .replace(/`/g, "&#96;");
}

function fmt(value, digits) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 2 : digits });
}

function gisMap(map, data, options) {
  var statusColors = data.statusColors;
  var statusZh = data.statusZh;
  var noTargetColor = "#525252";
  var overlays = {};
  var byId = {};
  var searchGroup = L.layerGroup();

  function statusBadge(status) {
    if (!status) return "";
    var color = statusColors[status] || noTargetColor;
    return '<span class="gis-badge" style="border-color:' + esc(color) + '">' + esc(statusZh[status] || "") + " " + esc(status) + "</span>";
  }

  function targetRows(rows) {
    if (!rows.length) return '<p class="gis-muted">规划未给出此图斑的数值 / the plans give this feature no figure</p>';
    var html = '<table class="gis-targets"><tr><th>目标 target</th><th>规划 planned</th><th>量测 measured</th><th>差 Δ%</th><th>状态 status</th></tr>';
    rows.forEach(function (t) {
      var unit = t[5] === "万m2" ? "万m²" : t[5];
      var metric = t[1] === "area" ? "" : " (" + t[1] + ")";
      html += "<tr><td>" + esc(t[0]) + esc(metric) + "</td><td>" + esc(fmt(t[3], 4)) + " " + esc(unit) + "</td><td>" +
        esc(fmt(t[4], 2)) + (t[4] === null ? "" : " " + esc(unit)) + "</td><td>" + esc(t[6] === null ? "–" : (t[6] > 0 ? "+" : "") + fmt(t[6], 1)) +
        "</td><td>" + statusBadge(t[7]) + "</td></tr>" +
        '<tr class="gis-cite"><td colspan="5">' + esc(t[8]) + " · " + esc(t[9]) + "</td></tr>";
    });
    return html + "</table>";
  }

  function popupHtml(p) {
    var district = data.districtNames[p.d] || ["", ""];
    return '<div class="gis-popup"><h3>' + esc(p.n) + "</h3><p class=\"gis-en\">" + esc(p.e) + "</p>" +
      '<table class="gis-props">' +
      "<tr><th>编号 fid</th><td>" + esc(p.i) + "</td></tr>" +
      "<tr><th>行政区 district</th><td>" + esc(district[0]) + " " + esc(district[1]) + " (" + esc(p.d) + ")</td></tr>" +
      "<tr><th>街道 street</th><td>" + esc(p.s || "–") + "</td></tr>" +
      "<tr><th>部分 part</th><td>" + esc(p.p) + (p.pa ? " ⊂ " + esc(p.pa) : "") + "</td></tr>" +
      "<tr><th>量测面积 measured</th><td><b>" + esc(fmt(p.a, 2)) + " ha</b> (EPSG:4547)</td></tr>" +
      "<tr><th>核查 status</th><td>" + (p.st ? statusBadge(p.st) : '<span class="gis-muted">无目标 no target</span>') + "</td></tr>" +
      "<tr><th>精度 accuracy</th><td>" + esc(p.acc) + " · " + esc(p.lc) + "</td></tr>" +
      "<tr><th>出处 source</th><td>" + esc(p.src) + " · " + esc(p.ref) + "</td></tr>" +
      "</table>" + targetRows(p.t) +
      '<p class="gis-basis">' + esc(p.lb) + "</p></div>";
  }

  // background: the districts
  var ds = data.districtStyle;
  var districtLayer = L.geoJSON(data.districts, {
    interactive: false,
    style: function () {
      return { color: ds.line_color, weight: ds.weight, fillColor: ds.fill_color, fillOpacity: ds.fill_opacity };
    },
  }).addTo(map);

  // one overlay per layer and part, drawn in the style definition's order
  data.layers.forEach(function (layer) {
    var st = layer.style;
    var group = L.geoJSON(layer.features, {
      style: function (feature) {
        var status = feature.properties.st;
        return {
          color: status ? statusColors[status] : noTargetColor,
          weight: status ? st.weight + 1 : st.weight,
          dashArray: st.dash,
          fillColor: st.fill_color,
          fillOpacity: st.fill_opacity,
        };
      },
      onEachFeature: function (feature, lyr) {
        var p = feature.properties;
        p.q = p.n + " " + (p.e || "") + " " + p.i;
        lyr.bindTooltip(function () { return esc(p.n); }, { sticky: true });
        lyr.bindPopup(function () { return popupHtml(p); }, { maxWidth: 460, minWidth: 300 });
        byId[p.i] = lyr;
        searchGroup.addLayer(lyr);
      },
    });
    if (layer.features.features.length) {
      group.addTo(map);
      overlays[st.title_zh + " " + st.title_en + " (" + layer.features.features.length + ")"] = group;
    }
    layer.group = group;
  });

  var baseLayers = {};
  var control = L.control.layers(baseLayers, overlays, { collapsed: false, position: "topright" }).addTo(map);

  // legend: fill by layer and part, outline by check status
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "gis-legend");
    var html = "<b>图例 Legend</b><br>";
    data.layers.forEach(function (layer) {
      var st = layer.style;
      if (!layer.features.features.length) return;
      html += '<i style="background:' + esc(st.fill_color) + ";opacity:" + esc(Math.min(1, st.fill_opacity + 0.35)) + '"></i>' + esc(st.title_zh) + " " + esc(st.title_en) + "<br>";
    });
    html += "<b>轮廓 = 核查状态 Outline = status</b><br>";
    ["met", "within tolerance", "short", "over"].forEach(function (s) {
      html += '<i class="gis-line" style="border-color:' + esc(statusColors[s]) + '"></i>' + esc(statusZh[s]) + " " + esc(s) + "<br>";
    });
    html += '<i class="gis-line" style="border-color:' + noTargetColor + '"></i>无目标 no target';
    div.innerHTML = html;
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  legend.addTo(map);

  // title bar: the map's title, its frame, the schematic warning and the links to the other maps
  var title = L.control({ position: "topleft" });
  title.onAdd = function () {
    var div = L.DomUtil.create("div", "gis-title");
    var links = "";
    Object.keys(options.links || {}).forEach(function (text) {
      links += '<a href="' + esc(options.links[text]) + '">' + esc(text) + "</a> ";
    });
    div.innerHTML = "<b>" + esc(data.meta.title) + "</b><br>" +
      '<span class="gis-frame">坐标系 Frame: ' + esc(data.meta.frame) + (data.meta.frame === "GCJ-02" ? "（已转换以配合高德底图 moved to match Amap tiles）" : "") + "</span> · " +
      '<span class="gis-muted">示意图斑，据规划文本手绘 schematic, hand-digitized from plan text · ' + esc(data.meta.toolkit) + " · " + esc(data.meta.built) + "</span>" +
      (links ? '<div class="gis-links">' + links + "</div>" : "");
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  title.addTo(map);

  // panel: district aggregate targets, planned against digitized
  var panel = L.control({ position: "bottomleft" });
  panel.onAdd = function () {
    var div = L.DomUtil.create("div", "gis-panel");
    var html = "<details open><summary><b>区级总量目标 District targets</b> (" + data.aggregates.length + ")</summary>";
    if (!data.aggregates.length) html += '<p class="gis-muted">无 none</p>';
    else {
      html += '<table class="gis-targets"><tr><th>区 · 目标</th><th>规划 planned</th><th>图斑 digitized</th><th>状态 status</th></tr>';
      data.aggregates.forEach(function (a) {
        var unit = a.unit === "万m2" ? "万m²" : a.unit;
        html += "<tr><td>" + esc(a.n) + " <span class=\"gis-muted\">" + esc(a.id) + " " + esc(a.metric === "area" ? "" : a.metric) + "</span></td><td>" +
          esc(a.cmp === "approx" ? "≈" : a.cmp === "at_most" ? "≤" : a.cmp === "more_than" ? ">" : "≥") + " " + esc(fmt(a.planned, 1)) + " " + esc(unit) + "</td><td>" +
          esc(fmt(a.measured, 1)) + (a.measured === null ? "" : " " + esc(unit)) + "</td><td>" + statusBadge(a.status) + "</td></tr>" +
          '<tr class="gis-cite"><td colspan="4">' + esc(a.src) + " · " + esc(a.ref) + (a.h ? " · " + esc(a.h) : "") + "</td></tr>";
      });
      html += "</table>";
    }
    div.innerHTML = html + "</details>";
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  panel.addTo(map);

  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  new L.Control.FullScreen({ position: "topleft", title: "全屏 Full screen", titleCancel: "退出全屏 Exit full screen" }).addTo(map);

  // measure tool (workaround for Leaflet >= 1.8: the capture marker must not auto-pan)
  L.Control.Measure.include({
    _setCaptureMarkerIcon: function () {
      this._captureMarker.options.autoPanOnFocus = false;
      this._captureMarker.setIcon(L.divIcon({ iconSize: this._map.getSize().multiplyBy(2) }));
    },
  });
  L.control.measure({ position: "topleft", primaryLengthUnit: "meters", secondaryLengthUnit: "kilometers", primaryAreaUnit: "hectares", secondaryAreaUnit: "sqmeters", localization: "cn" }).addTo(map);

  // minimap of the districts
  var miniLayer = L.geoJSON(data.districts, { interactive: false, style: { color: ds.line_color, weight: 1, fillColor: ds.fill_color, fillOpacity: 0.8 } });
  new L.Control.MiniMap(miniLayer, { toggleDisplay: true, position: "bottomright", width: 160, height: 130, zoomLevelOffset: -4 }).addTo(map);

  // search by name (Chinese, English or fid)
  var search = new L.Control.Search({
    layer: searchGroup,
    propertyName: "q",
    marker: false,
    initial: false,
    collapsed: false,
    zoom: 14,
    textPlaceholder: "搜索名称 Search name…",
    textErr: "未找到 Not found",
    moveToLocation: function (latlng, title, m) {
      var hit = searchGroup.getLayers().filter(function (l) { return l.feature.properties.q === title; })[0];
      if (hit) m.fitBounds(hit.getBounds(), { maxZoom: 15 });
      else m.setView(latlng, 14);
    },
  });
  search.on("search:locationfound", function (e) {
    if (e.layer) e.layer.openPopup();
  });
  map.addControl(search);
  // leaflet-search listens to keyup only: also search on input, so pasted text and Chinese IMEs work
  L.DomEvent.on(search._input, "input", function () { search._handleKeypress({ keyCode: 0 }); });

  // draw tool: planners sketch outlines and export them as GeoJSON for GIS staff
  var drawn = new L.FeatureGroup().addTo(map);
  map.addControl(new L.Control.Draw({
    position: "topleft",
    edit: { featureGroup: drawn },
    draw: { polyline: false, circle: false, circlemarker: false, marker: false, polygon: { showArea: true, metric: true }, rectangle: true },
  }));
  map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); });
  function drawnGeoJSON() {
    var fc = drawn.toGeoJSON();
    fc.features.forEach(function (f, i) {
      f.properties = { fid: "DRAWN-" + (i + 1), name_zh: "", note: "sketched in the web map" };
    });
    fc.frame = data.meta.frame;
    fc.exported = new Date().toISOString();
    return fc;
  }
  var exporter = L.control({ position: "topleft" });
  exporter.onAdd = function () {
    var div = L.DomUtil.create("div", "leaflet-bar gis-export");
    var a = L.DomUtil.create("a", "", div);
    a.href = "#";
    a.title = "导出草图为 GeoJSON / Export sketches as GeoJSON";
    a.textContent = "⇩";
    L.DomEvent.on(a, "click", function (ev) {
      L.DomEvent.preventDefault(ev);
      var text = JSON.stringify(drawnGeoJSON());
      var blob = new Blob([text], { type: "application/geo+json" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "sketch-" + data.meta.frame.toLowerCase() + ".geojson";
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  exporter.addTo(map);

  // for tests and power users
  window.gis = {
    map: map,
    data: data,
    overlays: overlays,
    control: control,
    byId: byId,
    drawn: drawn,
    drawnGeoJSON: drawnGeoJSON,
    districtLayer: districtLayer,
    drawnCount: function () {
      var n = 0;
      data.layers.forEach(function (layer) {
        if (map.hasLayer(layer.group)) layer.group.eachLayer(function (l) { if (map.hasLayer(l) && l._parts && l._parts.length) n += 1; });
      });
      return n;
    },
  };
}
