/* gis web map, the sketch review's geometry: outlines in EPSG:4547 (proj4js from WGS-84; a page
 * over Amap tiles moves GCJ-02 back to WGS-84 first, crs.js), planar areas by the shoelace
 * formula, and the part of a shape inside each row of a table (polygon-clipping), looked for only
 * among the rows whose bounds meet it. Built on first use and kept: nothing runs at page load. */

/* The review's libraries (proj4js, polygon-clipping), held in the page as text: run on the first
 * review (an inline script runs as it is added), once. */
function runReviewLibraries() {
  ["gis-lib-proj4", "gis-lib-polygon-clipping"].forEach(function run(id) {
    var holder = document.getElementById(id);
    if (!holder || holder.getAttribute("data-ran")) return;
    var script = document.createElement("script");
    script.textContent = holder.textContent;
    document.head.appendChild(script);
    holder.setAttribute("data-ran", "1");
  });
}

/* The projection and the tables' indexes, made on the first review. */
function reviewGeo(app) {
  if (app.reviewGeo) return app.reviewGeo;
  runReviewLibraries();
  proj4.defs("GIS:AREA", app.data.review.area_proj4);
  var forward = proj4("WGS84", "GIS:AREA").forward, gcj = app.data.meta.frame === "GCJ-02";
  app.reviewGeo = {
    tables: {},
    project: function project(lng, lat) { return forward(gcj ? wgs84FromGcj02([lng, lat]) : [lng, lat]); },
  };
  return app.reviewGeo;
}

/* A table's vertices in absolute micro-degrees (page frame) and each row's bounds, once. */
function geoIndex(app, key, table) {
  var geo = reviewGeo(app);
  if (geo.tables[key]) return geo.tables[key];
  var g = table.geometry, c = unpackVarints(g.coords), n = g.geoms.length - 1, box = new Float64Array(4 * n);
  for (var f = 0; f < n; f++) {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (var r = g.polys[g.geoms[f]]; r < g.polys[g.geoms[f + 1]]; r++) {
      var x = 0, y = 0;
      for (var v = g.rings[r]; v < g.rings[r + 1]; v++) {
        x += c[2 * v]; y += c[2 * v + 1];
        c[2 * v] = x; c[2 * v + 1] = y;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    box[4 * f] = x0; box[4 * f + 1] = y0; box[4 * f + 2] = x1; box[4 * f + 3] = y1;
  }
  geo.tables[key] = { app: app, table: table, c: c, box: box, n: n, shapes: new Array(n) };
  return geo.tables[key];
}

/* The rows of an index whose bounds meet a shape's bounds (micro-degrees, page frame). */
function rowsMeeting(index, shape) {
  var b = index.box, d = shape.dbox, out = [];
  for (var f = 0; f < index.n; f++) {
    if (b[4 * f + 2] >= d[0] && b[4 * f] <= d[2] && b[4 * f + 3] >= d[1] && b[4 * f + 1] <= d[3]) out.push(f);
  }
  return out;
}

/* Row f as a shape in EPSG:4547, projected once. */
function rowShape(index, f) {
  if (index.shapes[f]) return index.shapes[f];
  var g = index.table.geometry, c = index.c, project = reviewGeo(index.app).project, mp = [];
  for (var p = g.geoms[f]; p < g.geoms[f + 1]; p++) {
    var polygon = [];
    for (var r = g.polys[p]; r < g.polys[p + 1]; r++) {
      var ring = [];
      for (var v = g.rings[r]; v < g.rings[r + 1]; v++) ring.push(project(c[2 * v] / 1e6, c[2 * v + 1] / 1e6));
      polygon.push(ring);
    }
    mp.push(polygon);
  }
  var shape = shapeOf(mp, [index.box[4 * f], index.box[4 * f + 1], index.box[4 * f + 2], index.box[4 * f + 3]]), cols = index.table.columns;
  // a row wholly inside a sketch counts its area as measured from its own outline, not the page's rounded copy
  if (cols.area_m2) shape.m2 = cols.area_m2[f];
  else if (cols.area_ha) shape.m2 = cols.area_ha[f] * 1e4;
  index.shapes[f] = shape;
  return shape;
}

/* A MultiPolygon (polygon-clipping's nesting) with its area (m²), bounds in metres and in
 * micro-degrees of the page frame (dbox, for the row search), and every edge's bounds. */
function shapeOf(mp, dbox) {
  var box = [Infinity, Infinity, -Infinity, -Infinity], edges = [];
  mp.forEach(function eachPolygon(polygon) {
    polygon.forEach(function eachRing(ring) {
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var a = ring[j], b = ring[i];
        edges.push([Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])]);
        box = [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[0]), Math.max(box[3], b[1])];
      }
    });
  });
  return { mp: mp, m2: mpArea(mp), box: box, dbox: dbox, edges: edges };
}

/* Twice the signed area of a ring (shoelace, relative to its first vertex for precision). */
function ringArea2(ring) {
  var s = 0, x0 = ring[0][0], y0 = ring[0][1];
  for (var i = 1; i + 1 < ring.length; i++) {
    s += (ring[i][0] - x0) * (ring[i + 1][1] - y0) - (ring[i + 1][0] - x0) * (ring[i][1] - y0);
  }
  return s;
}

/* The planar area (m²) of a MultiPolygon: each polygon's outer ring less its holes. */
function mpArea(mp) {
  var a = 0;
  mp.forEach(function eachPolygon(polygon) {
    polygon.forEach(function eachRing(ring, k) { a += (k === 0 ? 1 : -1) * Math.abs(ringArea2(ring)) / 2; });
  });
  return a;
}

function boxesMeet(a, b) {
  return a[2] >= b[0] && a[0] <= b[2] && a[3] >= b[1] && a[1] <= b[3];
}

/* Does any edge of the shape come into the box (by the edges' bounds: may say yes for a near miss)? */
function edgesMeet(shape, box) {
  for (var i = 0; i < shape.edges.length; i++) if (boxesMeet(shape.edges[i], box)) return true;
  return false;
}

function pointInShape(shape, pt) {
  var inside = false;
  shape.mp.forEach(function eachPolygon(polygon) {
    polygon.forEach(function eachRing(ring) {
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var a = ring[i], b = ring[j];
        if ((a[1] > pt[1]) !== (b[1] > pt[1]) && pt[0] < ((b[0] - a[0]) * (pt[1] - a[1])) / (b[1] - a[1]) + a[0]) inside = !inside;
      }
    });
  });
  return inside;
}

/* The part of shape a inside shape b: { m2, mp }. When neither outline comes into the other's
 * bounds, one lies wholly inside the other or they are apart: no clipping is needed. */
function overlap(a, b) {
  var none = { m2: 0, mp: [] };
  if (!boxesMeet(a.box, b.box)) return none;
  if (!edgesMeet(a, b.box)) return pointInShape(a, b.mp[0][0][0]) ? { m2: b.m2, mp: b.mp } : none;
  if (!edgesMeet(b, a.box)) return pointInShape(b, a.mp[0][0][0]) ? { m2: a.m2, mp: a.mp } : none;
  var mp = polygonClipping.intersection(a.mp, b.mp);
  return { m2: mpArea(mp), mp: mp };
}

/* The area (m²) of the union of MultiPolygons (an overlap of two counted once). */
function unionM2(mps) {
  var parts = mps.filter(function nonEmpty(mp) { return mp.length; });
  if (!parts.length) return 0;
  return parts.length === 1 ? mpArea(parts[0]) : mpArea(polygonClipping.union.apply(null, parts));
}

/* A sketch (a Leaflet polygon or rectangle of the draw tool) as a shape in EPSG:4547; its
 * crossing edges resolved (polygon-clipping's union). Throws for an outline with no area. */
function sketchShape(app, layer) {
  var project = reviewGeo(app).project, rings = layer.getLatLngs(), d = [Infinity, Infinity, -Infinity, -Infinity];
  if (!L.LineUtil.isFlat(rings[0])) rings = rings[0]; // a polygon's rings; the first is the outline
  var polygon = rings.map(function eachRing(ring) {
    return ring.map(function eachVertex(ll) {
      d = [Math.min(d[0], ll.lng * 1e6), Math.min(d[1], ll.lat * 1e6), Math.max(d[2], ll.lng * 1e6), Math.max(d[3], ll.lat * 1e6)];
      return project(ll.lng, ll.lat);
    });
  });
  var mp = polygonClipping.union([polygon]), shape = shapeOf(mp, d);
  if (!mp.length || !(shape.m2 > 0)) throw new Error("the outline has no area");
  return shape;
}
