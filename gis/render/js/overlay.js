/* gis web map, the canvas overlay: one overlay (a layer's part) drawn as a single path on
 * Leaflet's canvas renderer: all its features are painted in one pass, hit-tested for clicks and
 * tooltips, and counted as drawn. Ten thousand L.Polygon layers would cost ten thousand Leaflet
 * objects; this costs one. Features come from decodeUnits (decode.js). */
var GisOverlay = L.Path.extend({
  initialize: function (features, props, style, colorOf) {
    L.setOptions(this, { interactive: true }); // events bubble to the map: the draw and measure tools listen there
    this._features = features;
    this.props = props;
    this.gisStyle = style;
    this._colorOf = colorOf;
    this.drawn = 0;
    var b = L.latLngBounds([]);
    features.forEach(function extend(f) { b.extend(f.bounds); });
    this._llBounds = b;
  },
  getBounds: function () { return this._llBounds; },
  featureBounds: function (i) { return this._features[i].bounds; },
  _project: function () {
    var map = this._map, scale = map.options.crs.scale(map.getZoom()), origin = map.getPixelOrigin();
    var pad = this.gisStyle.weight + 2, n = this._features.length, pb;
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    this._px = new Array(n);
    this._pb = pb = new Float64Array(4 * n);
    for (var f = 0; f < n; f++) {
      this._projectFeature(f, scale, origin);
      if (pb[4 * f] < minX) minX = pb[4 * f];
      if (pb[4 * f + 1] < minY) minY = pb[4 * f + 1];
      if (pb[4 * f + 2] > maxX) maxX = pb[4 * f + 2];
      if (pb[4 * f + 3] > maxY) maxY = pb[4 * f + 3];
    }
    this._pxBounds = n ? L.bounds([minX - pad, minY - pad], [maxX + pad, maxY + pad]) : null;
  },
  /* Feature f in layer pixels (this._px[f], one array per ring) and its pixel box (this._pb). */
  _projectFeature: function (f, scale, origin) {
    var rings = this._features[f].rings, out = new Array(rings.length);
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
    var drawn = 0;
    ctx.setLineDash(st.dash ? st.dash.split(" ").map(Number) : []);
    for (var f = 0; f < this._px.length; f++) {
      if (!this._meets(f, view)) continue;
      drawn++;
      if (this._meets(f, clip)) this._paint(ctx, f, st);
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    this.drawn = drawn;
  },
  /* Add feature f's rings (layer pixels) to the canvas path: every overlay's paint starts here. */
  _trace: function (ctx, f) {
    var rings = this._px[f];
    for (var r = 0; r < rings.length; r++) {
      var pts = rings[r];
      ctx.moveTo(pts[0], pts[1]);
      for (var k = 2; k < pts.length; k += 2) ctx.lineTo(pts[k], pts[k + 1]);
      ctx.closePath();
    }
  },
  /* Fill feature f in the layer's style; outline it in the colour of its check status. */
  _paint: function (ctx, f, st) {
    ctx.beginPath();
    this._trace(ctx, f);
    ctx.globalAlpha = st.fill_opacity;
    ctx.fillStyle = st.fill_color;
    ctx.fill("evenodd");
    var stroke = this._colorOf(this.props[f]);
    ctx.globalAlpha = 1;
    ctx.lineWidth = stroke.weight;
    ctx.strokeStyle = stroke.color;
    ctx.stroke();
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
