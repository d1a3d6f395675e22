/* gis web map: draws the embedded layers, check results and district aggregates.
 * Everything shown is escaped with esc(); the data comes from one JSON document
 * (the script element with id gis-data), so nothing is duplicated in the page.
 */

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

/* Unpack the base64 zigzag varints of gis/render/mapdata.py:pack_varints into an Int32Array. */
function unpackVarints(text) {
  var bin = atob(text), n = bin.length, out = new Int32Array(n), count = 0, acc = 0, shift = 0;
  for (var i = 0; i < n; i++) {
    var b = bin.charCodeAt(i);
    acc |= (b & 0x7f) << shift; // the values fit in 31 bits: micro-degrees and their differences
    if (b & 0x80) { shift += 7; continue; }
    out[count++] = (acc >>> 1) ^ -(acc & 1);
    acc = 0; shift = 0;
  }
  return out.subarray(0, count);
}

/* Decode a layer stored by columns (see gis/render/mapdata.py) into Leaflet latlng arrays and properties. */
function decodeRings(geom) {
  var c = unpackVarints(geom.coords), rings = geom.rings, polys = geom.polys, geoms = geom.geoms, out = [];
  for (var f = 0; f + 1 < geoms.length; f++) {
    var parts = [];
    for (var p = geoms[f]; p < geoms[f + 1]; p++) {
      var part = [];
      for (var r = polys[p]; r < polys[p + 1]; r++) {
        var x = 0, y = 0, ring = new Array(rings[r + 1] - rings[r]);
        for (var v = rings[r], k = 0; v < rings[r + 1]; v++, k++) {
          x += c[2 * v]; y += c[2 * v + 1];
          ring[k] = [y / 1e6, x / 1e6];
        }
        part.push(ring);
      }
      parts.push(part);
    }
    out.push(parts.length === 1 ? parts[0] : parts);
  }
  return out;
}

/* GCJ-02 <-> WGS-84, as gis/crs.py: the published forward transform and its fixed-point inverse. */
function gcj02Offsets(lon, lat) {
  var x = lon - 105, y = lat - 35, pi = Math.PI, sx = Math.sqrt(Math.abs(x));
  var d = ((20 * Math.sin(6 * x * pi) + 20 * Math.sin(2 * x * pi)) * 2) / 3;
  var dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + d;
  dlat += ((20 * Math.sin(y * pi) + 40 * Math.sin((y / 3) * pi)) * 2) / 3;
  dlat += ((160 * Math.sin((y / 12) * pi) + 320 * Math.sin((y * pi) / 30)) * 2) / 3;
  var dlon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + d;
  dlon += ((20 * Math.sin(x * pi) + 40 * Math.sin((x / 3) * pi)) * 2) / 3;
  dlon += ((150 * Math.sin((x / 12) * pi) + 300 * Math.sin((x / 30) * pi)) * 2) / 3;
  var a = 6378245.0, ee = 0.00669342162296594323, rad = (lat / 180) * pi;
  var magic = 1 - ee * Math.sin(rad) * Math.sin(rad), sm = Math.sqrt(magic);
  return [(dlon * 180) / ((a / sm) * Math.cos(rad) * pi), (dlat * 180) / (((a * (1 - ee)) / (magic * sm)) * pi)];
}
function wgs84FromGcj02(c) {
  var lon = c[0], lat = c[1];
  for (var i = 0; i < 30; i++) {
    var o = gcj02Offsets(lon, lat), elon = lon + o[0] - c[0], elat = lat + o[1] - c[1];
    lon -= elon; lat -= elat;
    if (Math.abs(elon) < 1e-10 && Math.abs(elat) < 1e-10) break;
  }
  return [lon, lat];
}
function mapCoords(coords, fn) {
  return typeof coords[0] === "number" ? fn(coords) : coords.map(function (c) { return mapCoords(c, fn); });
}

var CODED = ["d", "s", "c", "lc", "lb", "acc", "src", "ref", "st", "p"];

function decodeProps(cols, strings, i) {
  var p = {};
  Object.keys(cols).forEach(function (k) {
    var v = cols[k][i];
    p[k] = CODED.indexOf(k) >= 0 && v !== null && v !== undefined ? strings[v] : v;
  });
  return p;
}

/* Decode a layer's geometry into Web Mercator unit coordinates (0..1, as Leaflet's EPSG:3857
 * before its zoom scale), one Float64Array [x0, y0, x1, y1, ...] per ring, with each feature's
 * bounds. Projecting to pixels is then one multiply and one subtract per vertex. */
function decodeUnits(geom) {
  var c = unpackVarints(geom.coords), rings = geom.rings, polys = geom.polys, geoms = geom.geoms, out = [];
  var maxLat = 85.0511287798, rad = Math.PI / 180, twoPi = 2 * Math.PI;
  for (var f = 0; f + 1 < geoms.length; f++) {
    var feature = { rings: [], minLng: Infinity, minLat: Infinity, maxLng: -Infinity, maxLat: -Infinity };
    for (var p = geoms[f]; p < geoms[f + 1]; p++) {
      for (var r = polys[p]; r < polys[p + 1]; r++) {
        var n = rings[r + 1] - rings[r], a = new Float64Array(2 * n), x = 0, y = 0, phi0 = 0, y0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (var v = rings[r], k = 0; v < rings[r + 1]; v++, k += 2) {
          x += c[2 * v]; y += c[2 * v + 1];
          var lng = x / 1e6, lat = Math.max(Math.min(y / 1e6, maxLat), -maxLat);
          if (lng < feature.minLng) feature.minLng = lng;
          if (lng > feature.maxLng) feature.maxLng = lng;
          if (lat < feature.minLat) feature.minLat = lat;
          if (lat > feature.maxLat) feature.maxLat = lat;
          a[k] = lng / 360 + 0.5;
          var phi = lat * rad;
          if (k === 0) {
            // Mercator y = ln(tan(pi/4 + phi/2)) exactly at the ring's first vertex, then its Taylor
            // series to third order: within 1e-9 px at zoom 18 for rings a few kilometres across
            phi0 = phi; y0 = Math.log(Math.tan(Math.PI / 4 + phi / 2));
            var sec = 1 / Math.cos(phi), tan = Math.tan(phi);
            s1 = sec; s2 = (sec * tan) / 2; s3 = (sec * (tan * tan + sec * sec)) / 6;
          }
          var d = phi - phi0;
          a[k + 1] = 0.5 - (y0 + d * (s1 + d * (s2 + d * s3))) / twoPi;
        }
        feature.rings.push(a);
      }
    }
    feature.bounds = L.latLngBounds([feature.minLat, feature.minLng], [feature.maxLat, feature.maxLng]);
    out.push(feature);
  }
  return out;
}

/* One overlay (a layer's part) drawn as a single path on Leaflet's canvas renderer: all its
 * features are painted in one pass, hit-tested for clicks and tooltips, and counted as drawn.
 * Ten thousand L.Polygon layers would cost ten thousand Leaflet objects; this costs one. */
var GisOverlay = L.Path.extend({
  initialize: function (features, props, style, colorOf) {
    L.setOptions(this, { interactive: true }); // events bubble to the map: the draw and measure tools listen there
    this._features = features;
    this.props = props;
    this.gisStyle = style;
    this._colorOf = colorOf;
    this.drawn = 0;
    var b = L.latLngBounds([]);
    features.forEach(function (f) { b.extend(f.bounds); });
    this._llBounds = b;
  },
  getBounds: function () { return this._llBounds; },
  featureBounds: function (i) { return this._features[i].bounds; },
  _project: function () {
    var map = this._map, scale = map.options.crs.scale(map.getZoom()), origin = map.getPixelOrigin();
    var pad = this.gisStyle.weight + 2, feats = this._features;
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    this._px = new Array(feats.length);
    this._pb = new Float64Array(4 * feats.length);
    for (var f = 0; f < feats.length; f++) {
      var rings = feats[f].rings, out = new Array(rings.length);
      var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (var r = 0; r < rings.length; r++) {
        // like Leaflet's smoothFactor: a vertex within 0.75 px of the last one kept adds nothing visible
        var u = rings[r], px = new Float64Array(u.length), m = 0, lx = NaN, ly = NaN;
        for (var k = 0; k < u.length; k += 2) {
          var x = u[k] * scale - origin.x, y = u[k + 1] * scale - origin.y;
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
          if ((x - lx) * (x - lx) + (y - ly) * (y - ly) < 0.5625 && k + 2 < u.length && m >= 2) continue;
          px[m++] = x; px[m++] = y; lx = x; ly = y;
        }
        out[r] = px.subarray(0, m);
      }
      this._px[f] = out;
      this._pb[4 * f] = x0; this._pb[4 * f + 1] = y0; this._pb[4 * f + 2] = x1; this._pb[4 * f + 3] = y1;
      if (x0 < minX) minX = x0;
      if (y0 < minY) minY = y0;
      if (x1 > maxX) maxX = x1;
      if (y1 > maxY) maxY = y1;
    }
    this._pxBounds = feats.length ? L.bounds([minX - pad, minY - pad], [maxX + pad, maxY + pad]) : null;
  },
  _update: function () { if (this._map) this._updatePath(); },
  _empty: function () { return !this._features.length; },
  _meets: function (f, b) {
    var pb = this._pb;
    return pb[4 * f + 2] >= b.min.x && pb[4 * f] <= b.max.x && pb[4 * f + 3] >= b.min.y && pb[4 * f + 1] <= b.max.y;
  },
  _updatePath: function () {
    var renderer = this._renderer;
    if (!renderer._drawing) return;
    var ctx = renderer._ctx, st = this.gisStyle, view = renderer._bounds, clip = renderer._redrawBounds || view;
    var dash = st.dash ? st.dash.split(" ").map(Number) : [];
    var drawn = 0;
    ctx.setLineDash(dash);
    for (var f = 0; f < this._px.length; f++) {
      if (!this._meets(f, view)) continue;
      drawn++;
      if (!this._meets(f, clip)) continue;
      ctx.beginPath();
      var rings = this._px[f];
      for (var r = 0; r < rings.length; r++) {
        var pts = rings[r];
        ctx.moveTo(pts[0], pts[1]);
        for (var k = 2; k < pts.length; k += 2) ctx.lineTo(pts[k], pts[k + 1]);
        ctx.closePath();
      }
      ctx.globalAlpha = st.fill_opacity;
      ctx.fillStyle = st.fill_color;
      ctx.fill("evenodd");
      var stroke = this._colorOf(this.props[f]);
      ctx.globalAlpha = 1;
      ctx.lineWidth = stroke.weight;
      ctx.strokeStyle = stroke.color;
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    this.drawn = drawn;
  },
  hitsAt: function (pt) { // every feature under a layer point, topmost first
    var out = [];
    if (!this._px || !this._pxBounds || !this._pxBounds.contains(pt)) return out;
    var b = { min: pt, max: pt };
    for (var f = this._px.length - 1; f >= 0; f--) {
      if (this._meets(f, b) && this._inside(f, pt)) out.push(f);
    }
    return out;
  },
  _inside: function (f, pt) {
    var inside = false, rings = this._px[f];
    for (var r = 0; r < rings.length; r++) {
      var a = rings[r], n = a.length;
      for (var i = 0, j = n - 2; i < n; j = i, i += 2) {
        if ((a[i + 1] > pt.y) !== (a[j + 1] > pt.y) &&
            pt.x < ((a[j] - a[i]) * (pt.y - a[i + 1])) / (a[j + 1] - a[i + 1]) + a[i]) inside = !inside;
      }
    }
    return inside;
  },
  _containsPoint: function (pt) {
    var hits = this.hitsAt(pt);
    if (hits.length) this.hit = hits[0];
    return hits.length > 0;
  },
});

function gisMap(map, data, options) {
  performance.mark("gis:start");
  map.setMaxZoom(19); // without tiles nothing else bounds the zoom
  var statusColors = data.statusColors;
  var statusZh = data.statusZh;
  var noTargetColor = "#525252";
  var overlays = {};
  var byId = {};

  function statusBadge(status) {
    if (!status) return "";
    var color = statusColors[status] || noTargetColor;
    return '<span class="gis-badge" style="border-color:' + esc(color) + '">' + esc(statusZh[status] || "") + " " + esc(status) + "</span>";
  }

  var DERIVED = { within_parent: 1, within_district: 1, planned_le_parent: 1 };
  function consistencyRows(rows) {
    var checks = rows.filter(function (t) { return DERIVED[t[1]]; });
    if (!checks.length) return "";
    var html = '<p class="gis-checks"><b>一致性检查 Consistency</b><br>';
    checks.forEach(function (t) {
      var ok = t[7] === "met", mark = ok ? "✓" : "✗";
      var text = t[1] === "within_parent" ? "位于上级图斑内 inside its parent: " + fmt(t[4], 1) + " %"
        : t[1] === "within_district" ? "位于所属行政区内 inside its district: " + fmt(t[4], 1) + " %"
        : "规划面积不大于上级 planned " + fmt(t[4], 4) + " ha ≤ parent's " + fmt(t[3], 4) + " ha";
      html += '<span class="' + (ok ? "gis-ok" : "gis-fail") + '">' + esc(mark + " " + text) + "</span><br>";
    });
    return html + "</p>";
  }

  function targetRows(allRows) {
    var rows = allRows.filter(function (t) { return !DERIVED[t[1]]; });
    if (!rows.length) return '<p class="gis-muted">规划未给出此图斑的数值 / the plans give this feature no figure</p>' + consistencyRows(allRows);
    var html = '<table class="gis-targets"><tr><th>目标 target</th><th>规划 planned</th><th>量测 measured</th><th>差 Δ%</th><th>状态 status</th></tr>';
    rows.forEach(function (t) {
      var unit = t[5] === "万m2" ? "万m²" : t[5];
      var metric = t[1] === "area" ? "" : " (" + t[1] + ")";
      html += "<tr><td>" + esc(t[0]) + esc(metric) + "</td><td>" + esc(fmt(t[3], 4)) + " " + esc(unit) + "</td><td>" +
        esc(fmt(t[4], 2)) + (t[4] === null ? "" : " " + esc(unit)) + "</td><td>" + esc(t[6] === null ? "–" : (t[6] > 0 ? "+" : "") + fmt(t[6], 1)) +
        "</td><td>" + statusBadge(t[7]) + "</td></tr>" +
        '<tr class="gis-cite"><td colspan="5">' + esc(t[8]) + " · " + esc(t[9]) + "</td></tr>";
    });
    return html + "</table>" + consistencyRows(allRows);
  }

  function popupHtml(p, others) {
    var district = data.districtNames[p.d] || ["", ""];
    return '<div class="gis-popup"><h3>' + esc(p.n) + "</h3><p class=\"gis-en\">" + esc(p.e) + "</p>" +
      '<table class="gis-props">' +
      "<tr><th>编号 fid</th><td>" + esc(p.i) + "</td></tr>" +
      "<tr><th>行政区 district</th><td>" + esc(district[0]) + " " + esc(district[1]) + " (" + esc(p.d) + ")</td></tr>" +
      "<tr><th>街道 street</th><td>" + esc(p.s || "–") + "</td></tr>" +
      "<tr><th>部分 part</th><td>" + esc(p.p) + (p.pa ? " ⊂ " + esc(p.pa) : "") + "</td></tr>" +
      "<tr><th>量测面积 measured</th><td><b>" + esc(fmt(p.a, 2)) + " ha</b> (EPSG:4547)</td></tr>" +
      "<tr><th>核查 status</th><td>" + (p.st ? statusBadge(p.st) : '<span class="gis-muted">无规划数值 no plan figure</span>') +
        (p.cf ? ' <span class="gis-fail">✗ ' + esc(p.cf) + "</span>" : "") + "</td></tr>" +
      "<tr><th>精度 accuracy</th><td>" + esc(p.acc) + " · " + esc(p.lc) + "</td></tr>" +
      "<tr><th>出处 source</th><td>" + esc(p.src) + " · " + esc(p.ref) + "</td></tr>" +
      "</table>" + targetRows(p.t) +
      '<p class="gis-basis">' + esc(p.lb) + "</p>" +
      (others && others.length ? '<p class="gis-muted">此处还有 Also here: ' + others.map(function (o) { return esc(o.n + " (" + o.i + ")"); }).join("; ") + "</p>" : "") +
      "</div>";
  }

  // background: the districts
  var ds = data.districtStyle;
  var districtRings = decodeRings(data.districts.geom);
  map.createPane("gisDistricts").style.zIndex = 340; // the background, under the overlays' canvas (350)
  var districtRenderer = L.svg({ pane: "gisDistricts" });
  function districtGroup(styleOptions) {
    return L.featureGroup(districtRings.map(function (latlngs) { return L.polygon(latlngs, styleOptions); }));
  }
  // with tiles the districts are an outline only: their fill would wash out the basemap
  var districtFill = (options.basemap && options.basemap !== "none") || options.background ? 0 : ds.fill_opacity;
  var districtLayer = districtGroup({ interactive: false, renderer: districtRenderer, color: ds.line_color, weight: ds.weight, fillColor: ds.fill_color, fillOpacity: districtFill }).addTo(map);

  // one overlay per layer and part, drawn in the style definition's order
  // the overlays' canvas sits below the overlay pane: sketches and measurements (SVG, above)
  // stay clickable, and the SVG root lets every other click through to the canvas
  map.createPane("gisOverlays").style.zIndex = 350;
  var renderer = L.canvas({ padding: 0.2, tolerance: 2, pane: "gisOverlays" });
  var tooltip = L.tooltip({ sticky: true, direction: "top", offset: [0, -6] });
  var allOverlays = [];
  function colorOf(st) {
    return function (p) {
      return { color: p.st ? statusColors[p.st] : noTargetColor, weight: p.st ? st.weight + 1 : st.weight };
    };
  }
  function popupOptions() {
    var top = document.querySelector(".gis-title");
    return {
      maxWidth: 460, minWidth: 280, maxHeight: Math.max(220, Math.round(window.innerHeight * 0.6)),
      autoPanPaddingTopLeft: [60, (top ? top.offsetHeight : 60) + 20], autoPanPaddingBottomRight: [20, 20],
    };
  }
  function openPopup(overlay, i, latlng, others) {
    L.popup(popupOptions()).setLatLng(latlng).setContent(popupHtml(overlay.props[i], others)).openOn(map);
  }
  // every feature under a point in the visible overlays, smallest first: a small site inside a
  // large zone of another layer is what the click means, and the others are listed
  function featuresAt(latlng) {
    var pt = map.latLngToLayerPoint(latlng), out = [];
    allOverlays.forEach(function (o) {
      if (!map.hasLayer(o)) return;
      o.hitsAt(pt).forEach(function (i) { out.push({ overlay: o, index: i, p: o.props[i] }); });
    });
    return out.sort(function (a, b) { return (a.p.a || 0) - (b.p.a || 0); });
  }
  var busy = false; // drawing, editing or measuring: clicks place vertices, not popups
  map.on("draw:drawstart draw:editstart draw:deletestart measurestart", function () { busy = true; });
  // the click that ends a drawing arrives after its stop event: stay busy until it has passed
  map.on("draw:drawstop draw:editstop draw:deletestop measurefinish", function () { setTimeout(function () { busy = false; }, 100); });
  function clickAt(latlng) {
    if (busy) return;
    var hits = featuresAt(latlng);
    if (!hits.length) return;
    openPopup(hits[0].overlay, hits[0].index, latlng, hits.slice(1).map(function (h) { return h.p; }));
  }
  data.layers.forEach(function (layer) {
    var st = layer.style;
    var props = [];
    for (var i = 0; i < layer.n; i++) {
      var p = decodeProps(layer.cols, data.strings, i);
      p.t = data.targets[p.i] || [];
      props.push(p);
    }
    var overlay = new GisOverlay(decodeUnits(layer.geom), props, st, colorOf(st));
    overlay.options.renderer = renderer;
    overlay.on("click", function (e) { clickAt(e.latlng); });
    overlay.on("mousemove", function (e) {
      var hits = busy ? [] : featuresAt(e.latlng);
      if (!hits.length) return;
      tooltip.setLatLng(e.latlng).setContent(esc(hits[0].p.n));
      if (!map.hasLayer(tooltip)) map.openTooltip(tooltip);
    });
    overlay.on("mouseout", function () { map.closeTooltip(tooltip); });
    props.forEach(function (p, i) { byId[p.i] = { overlay: overlay, index: i }; });
    if (layer.n) {
      overlay.addTo(map);
      overlays[st.title_zh + " " + st.title_en + " (" + layer.n + ")"] = overlay;
      allOverlays.push(overlay);
    }
    layer.group = overlay;
  });

  performance.mark("gis:layers");
  // district names, and the note that Longgang's outline also holds Dapeng
  data.districts.cols.d.forEach(function (code, i) {
    var rings = districtRings[i], b = L.latLngBounds(Array.isArray(rings[0][0][0]) ? rings[0][0] : rings[0]);
    var label = data.districts.cols.n[i] + (code === "440307" ? "（界线含大鹏新区 outline includes Dapeng）" : "");
    L.tooltip({ permanent: true, direction: "center", className: "gis-district-label", interactive: false })
      .setLatLng(b.getCenter()).setContent(esc(label)).addTo(map);
  });
  var baseLayers = {};
  map.eachLayer(function (l) {
    if (l instanceof L.TileLayer) {
      baseLayers[l.options.attribution ? l.options.attribution.replace(/<[^>]*>|&copy;/g, "").trim() : "tiles"] = l;
    }
  });
  if (Object.keys(baseLayers).length) baseLayers["无底图 No tiles"] = L.layerGroup();
  map.eachLayer(function (l) { // a raster background can be hidden like any overlay
    if (l instanceof L.ImageOverlay) overlays["背景影像 Background"] = l;
  });
  if (data.qa && data.qa.length) { // QA findings: a point each, red for errors, orange for warnings
    var qaGroup = L.layerGroup();
    data.qa.forEach(function (q) {
      var color = q.s === "error" ? "#c0392b" : "#e67e22";
      L.circleMarker(q.xy, { radius: 7, color: "#ffffff", weight: 2, fillColor: color, fillOpacity: 0.95, className: "gis-qa" })
        .bindPopup("<b>" + esc(q.s === "error" ? "错误 error" : "警告 warning") + ": " + esc(q.c) + "</b><br>" +
          esc(q.l || "") + " " + esc(q.f || "") + (q.o ? " / " + esc(q.o) : "") +
          (q.a !== null && q.a !== undefined ? "<br>" + esc(q.a.toLocaleString()) + " m²" : "") +
          "<br>" + esc(q.m), { maxWidth: 360 })
        .addTo(qaGroup);
    });
    qaGroup.addTo(map);
    overlays["检查发现 QA findings (" + data.qa.length + ")"] = qaGroup;
  }
  var control = L.control.layers(baseLayers, overlays, { collapsed: false, position: "topright" }).addTo(map);

  // legend: fill by layer and part, outline by check status
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "gis-legend");
    var html = "<b>图例 Legend</b><br>";
    data.layers.forEach(function (layer) {
      var st = layer.style;
      if (!layer.n) return;
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
    var html = "<details" + (window.innerHeight >= 900 ? " open" : "") + "><summary><b>区级总量目标 District targets</b> (" + data.aggregates.length + ")</summary>";
    if (!data.aggregates.length) html += '<p class="gis-muted">无 none</p>';
    else {
      html += '<table class="gis-targets"><tr><th>区 · 目标</th><th>规划 planned</th><th>图斑 digitized</th><th>状态 status</th></tr>';
      data.aggregates.forEach(function (a) {
        var unit = a.unit === "万m2" ? "万m²" : a.unit;
        html += "<tr><td>" + esc(a.n) + " <span class=\"gis-muted\">" + esc(a.id) + " " + esc(a.metric === "area" ? "" : a.metric) + "</span></td><td>" +
          esc(a.cmp === "approx" ? "≈" : a.cmp === "at_most" ? "≤" : a.cmp === "more_than" ? ">" : "≥") + " " + esc(fmt(a.planned, 1)) + " " + esc(unit) + "</td><td>" +
          esc(fmt(a.measured, 1)) + (a.measured === null ? "" : " " + esc(unit)) + "</td><td>" + statusBadge(a.status) + "</td></tr>" +
          '<tr class="gis-cite"><td colspan="4">' + esc(a.src) + " · " + esc(a.ref) + (a.h ? " · " + esc(a.h) : "") +
          (a.note ? '<br><span class="gis-note">' + esc(a.note) + "</span>" : "") + "</td></tr>";
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
  var miniLayer = districtGroup({ interactive: false, color: ds.line_color, weight: 1, fillColor: ds.fill_color, fillOpacity: 0.8 });
  new L.Control.MiniMap(miniLayer, { toggleDisplay: true, position: "bottomright", width: 160, height: 130, zoomLevelOffset: -4 }).addTo(map);

  // search by name (Chinese, English or fid)
  function find(title) {
    for (var fid in byId) {
      var hit = byId[fid], p = hit.overlay.props[hit.index];
      if (p.n + " " + (p.e || "") + " " + p.i === title) return hit;
    }
    return null;
  }
  var search = new L.Control.Search({
    sourceData: function (text, callResponse) {
      var records = [];
      Object.keys(byId).forEach(function (fid) {
        var hit = byId[fid], p = hit.overlay.props[hit.index];
        records.push({ title: p.n + " " + (p.e || "") + " " + p.i, loc: hit.overlay.featureBounds(hit.index).getCenter() });
      });
      callResponse(records);
      return { abort: function () {} };
    },
    buildTip: function (text) { // the plugin would insert the text as HTML
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
    moveToLocation: function (latlng, title, m) {
      var hit = find(title);
      if (hit) {
        m.fitBounds(hit.overlay.featureBounds(hit.index), { maxZoom: 15, animate: false });
        openPopup(hit.overlay, hit.index, hit.overlay.featureBounds(hit.index).getCenter(), []);
      } else m.setView(latlng, 14);
    },
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
    var fc = drawn.toGeoJSON(false); // full precision; rounded once below, after any conversion
    var toWgs84 = data.meta.frame === "GCJ-02" ? wgs84FromGcj02 : function (c) { return c; };
    fc.features.forEach(function (f) {
      f.geometry.coordinates = mapCoords(f.geometry.coordinates, function (c) {
        var w = toWgs84(c);
        return [Math.round(w[0] * 1e7) / 1e7, Math.round(w[1] * 1e7) / 1e7];
      });
    });
    if (data.meta.frame === "GCJ-02") fc.frame_shown = "GCJ-02"; // drawn over Amap tiles: exported in WGS-84, as GeoJSON requires
    fc.features.forEach(function (f, i) {
      f.properties = { fid: "DRAWN-" + (i + 1), name_zh: "", note: "sketched in the web map" };
    });
    fc.frame = "WGS-84";
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
      link.download = "sketch-wgs84.geojson";
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  exporter.addTo(map);

  performance.mark("gis:end");
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
      allOverlays.forEach(function (o) { if (map.hasLayer(o)) n += o.drawn; });
      return n;
    },
  };
}
