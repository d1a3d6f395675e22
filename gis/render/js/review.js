/* gis web map, the review of a sketch by the rules gis review follows (the same figures): its area
 * in EPSG:4547, its district, the features it overlaps, the land classes under it and the control
 * lines it crosses. The district totals before and after are in reviewtargets.js. */

/* Every figure of a sketch that does not depend on what it is proposed as (kept until it changes). */
function reviewBase(app, layer) {
  var sketch = sketchShape(app, layer), min = app.data.review.min_m2;
  var base = { sketch: sketch, area_ha: sketch.m2 / 1e4, computed: new Date().toISOString() };
  base.districts = districtShares(app, sketch);
  base.district = base.districts.length ? base.districts[0].district : null;
  base.outside_ha = Math.max(0, base.area_ha - base.districts.reduce(function add(s, d) { return s + d.ha; }, 0));
  base.pieces = featurePieces(app, sketch);
  base.overlaps = base.pieces.filter(function large(o) { return o.m2 >= min; });
  var top = base.overlaps[0]; // the street of the feature overlapped most (none when it has none)
  base.street = top && top.street ? { name: top.street, fid: top.fid } : null;
  base.parcels = parcelPieces(app, sketch);
  base.classes = base.parcels ? landClasses(app, base) : null;
  base.control = app.data.control_lines ? controlFigures(app, sketch) : null;
  return base;
}

/* The districts the sketch overlaps (the map's own and the others' outlines), largest part first. */
function districtShares(app, sketch) {
  var out = [], min = app.data.review.min_m2;
  [["districts", app.data.districts], ["other_districts", app.data.other_districts]].forEach(function eachTable(t) {
    if (!t[1] || !t[1].count) return;
    var index = geoIndex(app, t[0], t[1]);
    rowsMeeting(index, sketch).forEach(function eachRow(f) {
      var part = overlap(sketch, rowShape(index, f));
      if (part.m2 >= min) out.push({ district: t[1].columns.district[f], ha: part.m2 / 1e4, share: (100 * part.m2) / sketch.m2, mp: part.mp });
    });
  });
  return out.sort(function bySize(a, b) { return b.ha - a.ha; });
}

/* The sketch's part in every thematic feature it meets (any size; the panel lists those of 1 m² and more). */
function featurePieces(app, sketch) {
  var out = [], strings = app.data.strings;
  app.data.layers.forEach(function eachLayer(layer) {
    if (!layer.count) return;
    var index = geoIndex(app, "layer:" + layer.key, layer);
    rowsMeeting(index, sketch).forEach(function eachRow(f) {
      var part = overlap(sketch, rowShape(index, f));
      if (!(part.m2 > 0)) return;
      var cc = layer.coded_columns, area = layer.columns.area_ha[f];
      out.push({
        layer: layer.layer, part: layer.part, fid: layer.columns.fid[f], name_zh: layer.columns.name_zh[f], m2: part.m2, mp: part.mp,
        overlap_ha: part.m2 / 1e4, share_of_sketch_pct: (100 * part.m2) / sketch.m2, share_of_feature_pct: area ? part.m2 / 1e4 / area * 100 : null,
        district: strings[cc.district[f]], street: cc.street[f] === null ? null : strings[cc.street[f]],
      });
    });
  });
  var order = Object.keys(app.data.review.layer_titles); // ties: the layers' order, then the fid
  return out.sort(function bySize(a, b) {
    return b.m2 - a.m2 || order.indexOf(a.layer) - order.indexOf(b.layer) || (a.fid < b.fid ? -1 : a.fid > b.fid ? 1 : 0);
  });
}

/* The sketch's part in every land-use parcel it meets; null without a land-use layer. */
function parcelPieces(app, sketch) {
  var lu = app.data.landuse;
  if (!lu) return null;
  var index = geoIndex(app, "landuse", lu), cc = lu.coded_columns, strings = app.data.strings, out = [];
  rowsMeeting(index, sketch).forEach(function eachRow(f) {
    var part = overlap(sketch, rowShape(index, f));
    if (!(part.m2 > 0)) return;
    out.push({ f: f, m2: part.m2, mp: part.mp, cls: strings[cc.land_class[f]], code: strings[cc.code[f]], district: strings[cc.district[f]] });
  });
  return out;
}

/* Per land class under the sketch, from the parcels it overlaps by 1 m² or more: ha, share,
 * parcels, its codes (top 5); and the area no parcel covers. */
function landClasses(app, base) {
  var by = {}, min = app.data.review.min_m2, m2 = base.sketch.m2;
  base.parcels.forEach(function addParcel(p) {
    if (p.m2 < min) return; // where outlines touch: neither in the class's area nor its parcels
    var c = by[p.cls] = by[p.cls] || { key: p.cls, m2: 0, parcels: 0, codes: {} };
    c.m2 += p.m2;
    c.parcels += 1;
    c.codes[p.code] = (c.codes[p.code] || 0) + p.m2;
  });
  var rows = Object.keys(by).map(function asRow(k) {
    var c = by[k], codes = Object.keys(c.codes).map(function code(k2) { return { code: k2, ha: c.codes[k2] / 1e4 }; });
    codes.sort(function bySize(a, b) { return b.ha - a.ha; });
    return { key: k, ha: c.m2 / 1e4, share: (100 * c.m2) / m2, parcels: c.parcels, codes: codes.slice(0, 5) };
  });
  rows.sort(function bySize(a, b) { return b.ha - a.ha || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0); });
  var covered = unionM2(base.parcels.map(function piece(p) { return p.mp; }));
  return { rows: rows, no_parcel_ha: Math.max(0, m2 - covered) / 1e4 };
}

/* The kinds a kind or group of control lines stands for (block_line: both levels). */
function controlKindsOf(review, kind) {
  return review.control_groups[kind] || [kind];
}

/* The sketch's part inside the control lines of each kind present (their union, as one MultiPolygon). */
function controlPieces(app, sketch) {
  var cl = app.data.control_lines, index = geoIndex(app, "control_lines", cl), byKind = {};
  rowsMeeting(index, sketch).forEach(function eachRow(f) {
    var part = overlap(sketch, rowShape(index, f)), kind = app.data.strings[cl.coded_columns.kind[f]];
    if (part.m2 > 0) (byKind[kind] = byKind[kind] || []).push(part.mp);
  });
  return byKind;
}

/* The part (MultiPolygon) of the sketch inside the union of the control lines of some kinds. */
function insideKinds(byKind, kinds) {
  var mps = [];
  kinds.forEach(function addKind(k) { mps = mps.concat(byKind[k] || []); });
  if (mps.length <= 1) return mps[0] || [];
  return polygonClipping.union.apply(null, mps);
}

/* Conflicts (overlap with a conflict kind of 1 m² or more), inside/outside of the boundary kinds, the
 * retention zone; a kind the layer does not hold is not reviewed (no figures, never a conflict). */
function controlFigures(app, sketch) {
  var review = app.data.review, byKind = controlPieces(app, sketch), present = {};
  app.data.control_lines.kinds.forEach(function seen(k) { present[k.key] = true; });
  function has(kind) { return controlKindsOf(review, kind).some(function known(k) { return present[k]; }); }
  var conflicts = review.conflict_kinds.map(function conflictOf(kind) {
    if (!has(kind)) return { kind: kind, ha: null, share: null, conflict: false, present: false }; // not reviewed
    var m2 = mpArea(insideKinds(byKind, controlKindsOf(review, kind)));
    return { kind: kind, ha: m2 / 1e4, share: (100 * m2) / sketch.m2, conflict: m2 >= review.min_m2, present: true };
  });
  var boundaries = review.boundary_kinds.concat(["retention_zone"]).map(function boundaryOf(kind) {
    if (!has(kind)) return { kind: kind, inside_ha: null, outside_ha: null, present: false };
    var m2 = mpArea(insideKinds(byKind, controlKindsOf(review, kind)));
    return { kind: kind, inside_ha: m2 / 1e4, outside_ha: (sketch.m2 - m2) / 1e4, present: true };
  });
  var conflict = conflicts.some(function isConflict(c) { return c.conflict; });
  return { byKind: byKind, conflicts: conflicts, boundaries: boundaries, conflict: conflict };
}
