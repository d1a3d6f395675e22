/* gis web map, decoding: the tables and varint geometries of the embedded document (described
 * key by key in gis/render/mapdata.py) back into rows, Leaflet latlng rings, and Web Mercator
 * units for the canvas overlays. */

/* Unpack the base64 zigzag varints of gis/render/encoding.py:pack_varints into an Int32Array. */
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

/* Leaflet latlng arrays, one per feature: its rings, or its polygons' rings when it has several. */
function decodeRings(geom) {
  var c = unpackVarints(geom.coords), rings = geom.rings, polys = geom.polys, geoms = geom.geoms, out = [];
  for (var f = 0; f + 1 < geoms.length; f++) {
    var parts = [];
    for (var p = geoms[f]; p < geoms[f + 1]; p++) {
      var part = [];
      for (var r = polys[p]; r < polys[p + 1]; r++) part.push(latLngRing(c, rings[r], rings[r + 1]));
      parts.push(part);
    }
    out.push(parts.length === 1 ? parts[0] : parts);
  }
  return out;
}

/* The [lat, lng] vertices start..end of the delta-coded coordinates c. */
function latLngRing(c, start, end) {
  var x = 0, y = 0, ring = new Array(end - start);
  for (var v = start, k = 0; v < end; v++, k++) {
    x += c[2 * v]; y += c[2 * v + 1];
    ring[k] = [y / 1e6, x / 1e6];
  }
  return ring;
}

/* Decode a layer's geometry into Web Mercator unit coordinates (0..1, as Leaflet's EPSG:3857
 * before its zoom scale), one Float64Array [x0, y0, x1, y1, ...] per ring, with each feature's
 * bounds. Projecting to pixels is then one multiply and one subtract per vertex. */
function decodeUnits(geom) {
  var c = unpackVarints(geom.coords), rings = geom.rings, polys = geom.polys, geoms = geom.geoms, out = [];
  for (var f = 0; f + 1 < geoms.length; f++) {
    var feature = { rings: [], minLng: Infinity, minLat: Infinity, maxLng: -Infinity, maxLat: -Infinity };
    for (var p = geoms[f]; p < geoms[f + 1]; p++) {
      for (var r = polys[p]; r < polys[p + 1]; r++) feature.rings.push(unitRing(c, rings[r], rings[r + 1], feature));
    }
    feature.bounds = L.latLngBounds([feature.minLat, feature.minLng], [feature.maxLat, feature.maxLng]);
    out.push(feature);
  }
  return out;
}

/* The vertices start..end of c in Mercator units, widening the feature's lat/lng bounds. */
function unitRing(c, start, end, feature) {
  var maxLat = 85.0511287798, rad = Math.PI / 180, twoPi = 2 * Math.PI;
  var a = new Float64Array(2 * (end - start)), x = 0, y = 0, phi0 = 0, y0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (var v = start, k = 0; v < end; v++, k += 2) {
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
  return a;
}

/* Row i of a table: its columns as they are, its coded columns looked up in strings. */
function tableRow(table, strings, i) {
  var row = {};
  Object.keys(table.columns).forEach(function copy(k) { row[k] = table.columns[k][i]; });
  Object.keys(table.coded_columns).forEach(function lookUp(k) {
    var code = table.coded_columns[k][i];
    row[k] = code === null || code === undefined ? code : strings[code];
  });
  return row;
}

function tableRows(table, strings) {
  var rows = new Array(table.count);
  for (var i = 0; i < table.count; i++) rows[i] = tableRow(table, strings, i);
  return rows;
}

/* The target rows of every feature, by fid, in the document's order. */
function targetsByFeature(data) {
  var out = Object.create(null);
  tableRows(data.targets, data.strings).forEach(function add(t) { (out[t.fid] = out[t.fid] || []).push(t); });
  return out;
}

/* Every feature's properties of a layer (its part included), each with its target rows. */
function featureProps(layer, data, targets) {
  return tableRows(layer, data.strings).map(function withTargets(p) {
    p.part = layer.part;
    p.targets = targets[p.fid] || [];
    return p;
  });
}
