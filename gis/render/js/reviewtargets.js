/* gis web map, how a sketch moves the district totals (the rules gis review follows): each area
 * total before and after, with its status by gis/evaluate.py's compare, for what the sketch is
 * proposed as (a thematic layer[.part], landuse:CLASS, control_lines:KIND) or, with no proposal,
 * as if counted as the total's own kind. */

/* gis.evaluate.compare, the same rules and rounding: a status of measured against planned. */
function compareStatus(comparator, planned, measured, tolerancePct, halfStep) {
  var delta = measured - planned, miss = planned ? (Math.abs(delta) / planned) * 100 : Infinity;
  var eps = 1e-9 * Math.max(1, Math.abs(planned)), within = tolerancePct > 0 && miss <= tolerancePct + 1e-9;
  if (comparator === "approx") {
    if (Math.abs(delta) <= halfStep + eps && (tolerancePct <= 0 || miss <= tolerancePct + 1e-9)) return "met";
    if (within) return "within tolerance";
    return delta < 0 ? "short" : "over";
  }
  var ok = comparator === "at_least" ? measured >= planned - eps : comparator === "more_than" ? measured > planned + eps : measured <= planned + eps;
  if (ok) return "met";
  if (within) return "within tolerance";
  return comparator === "at_most" ? "over" : "short";
}

/* Is a total on a thematic layer, the land use or the control lines? */
function totalKind(data, a) {
  return a.layer === "landuse" ? "landuse" : a.layer === "control_lines" ? "control" : "thematic";
}

/* The kind a total counts a sketch as when the sketch names none (a code part: its code). */
function ownKind(data, a) {
  var kind = totalKind(data, a);
  if (kind === "landuse") return "landuse:" + (a.rule.codes ? a.part.split(" ")[0] : a.rule.classes[0]);
  if (kind === "control") return "control_lines:" + a.part;
  return a.part ? a.layer + "." + a.part : a.layer;
}

/* A proposal's text read: { type: thematic | landuse | control | "", layer, part, value }. */
function parseProposal(text) {
  var t = (text || "").trim(), colon = t.indexOf(":");
  if (!t) return { type: "" };
  if (colon > 0 && t.slice(0, colon) === "landuse") return { type: "landuse", value: t.slice(colon + 1) };
  if (colon > 0 && t.slice(0, colon) === "control_lines") return { type: "control", value: t.slice(colon + 1) };
  var dot = t.indexOf(".");
  return { type: "thematic", layer: dot > 0 ? t.slice(0, dot) : t, part: dot > 0 ? t.slice(dot + 1) : null };
}

/* Every area total: those the check could not measure are listed as such (not measured: status). */
function reviewedTotals(data) {
  return data.aggregates.filter(function reviewed(a) { return a.metric === "area" && a.planned_ha !== null; });
}

/* Rule a: a thematic total of layer L[.P] in district D, after the sketch joins its features. */
function thematicAfter(base, a) {
  var mps = base.pieces.filter(function counted(o) {
    return o.layer === a.layer && (!a.part || o.part === a.part) && o.district === a.district;
  }).map(function piece(o) { return o.mp; });
  if (a.measured_ha === null) return base.area_ha;
  return a.measured_ha + base.area_ha - unionM2(mps) / 1e4;
}

/* Rule b: the parcels of district D under the sketch [inside or outside the control kinds] take
 * class X; with no proposal (own), as if they took a class the total counts. */
function landUseAfter(app, base, a, cls, own) {
  var rule = a.rule, inside = rule.relation ? shapeOf(insideKinds(base.control ? base.control.byKind : {}, rule.control)) : null;
  var counts = rule.codes ? rule.codes : rule.classes, adds = own || rule.classes.indexOf(cls) >= 0, removed = 0, added = 0;
  base.parcels.forEach(function eachParcel(p) {
    if (p.district !== a.district) return;
    var m2 = p.m2;
    if (inside) {
      var piece = shapeOf(p.mp), inner = inside.mp.length && piece.m2 > 0 ? (overlap(piece, inside).m2 / piece.m2) * p.m2 : 0;
      m2 = rule.relation === "inside" ? inner : m2 - inner;
    }
    if (counts.indexOf(rule.codes ? p.code : p.cls) >= 0) removed += m2;
    if (adds) added += m2;
  });
  return a.measured_ha + (added - removed) / 1e4;
}

/* Rule c: the control lines of kind K in district D, after the sketch joins them. */
function controlAfter(app, base, a) {
  var d = base.districts.filter(function ofD(x) { return x.district === a.district; })[0];
  if (!d) return a.measured_ha;
  var inD = shapeOf(d.mp), inside = insideKinds(base.control ? base.control.byKind : {}, a.rule.control);
  var known = inside.length ? overlap(inD, shapeOf(inside)).m2 : 0;
  return a.measured_ha + (inD.m2 - known) / 1e4;
}

/* The total after the sketch counted as p (parsed; own: the total's own kind), or null when the
 * rules do not move it. A sketch counts in one district, its own. */
function ruleAfter(app, base, a, p, own) {
  var type = totalKind(app.data, a), review = app.data.review;
  if (base.district !== a.district) return null;
  if (a.measured_ha === null && !(type === "thematic" && a.status === "no polygon")) return null; // not measured
  if (type === "thematic") { // a layer alone is its part proposal_part (extent), as gis import stores it
    return p.type === "thematic" && p.layer === a.layer && (!a.part || a.part === (p.part || review.proposal_part[0])) ? thematicAfter(base, a) : null;
  }
  if (type === "control") {
    var mine = controlKindsOf(review, a.part), within = p.type === "control" && controlKindsOf(review, p.value).every(function isMine(k) { return mine.indexOf(k) >= 0; });
    return within ? controlAfter(app, base, a) : null;
  }
  var cls = p.type === "landuse" ? p.value : p.type === "thematic" ? review.proposal_land_class[p.layer] : null;
  return own || cls ? landUseAfter(app, base, a, cls, own) : null;
}

/* One total before and after, for a proposal (parsed) or, with none, its own kind. */
function totalRow(app, base, a, proposal) {
  var own = !proposal.type, p = own ? parseProposal(ownKind(app.data, a)) : proposal;
  var after = ruleAfter(app, base, a, p, own), moved = after !== null, before = a.measured_ha;
  if (!moved) after = before;
  var unmeasured = after === null;
  var statusAfter = moved ? compareStatus(a.comparator, a.planned_ha, after, a.tolerance_pct || 0, a.half_step || 0) : a.status;
  return {
    target_id: a.target_id, district: a.district, name_zh: a.name_zh, layer: a.layer, part: a.part, planned_ha: a.planned_ha,
    before_ha: before, after_ha: after, delta_ha: unmeasured ? null : moved ? after - (before || 0) : 0, status_before: a.status, status_after: statusAfter,
    counted_as: unmeasured ? "not measured: " + a.status
      : moved ? (own ? "if counted as " : "counted as ") + (own ? ownKind(app.data, a) : proposal.text) : countedAs(base, a),
    source: a.source, source_ref: a.source_ref,
  };
}

/* Why a row did not move: the sketch lies in another district, or the proposal does not count in it. */
function countedAs(base, a) {
  return base.district !== a.district ? "unchanged: the sketch lies in " + (base.district || "no district") : "unchanged";
}

/* Every reviewed total, for a proposal's text ("" for none). */
function reviewTotals(app, base, proposalText) {
  var p = parseProposal(proposalText);
  p.text = (proposalText || "").trim();
  return reviewedTotals(app.data).map(function rowOf(a) { return totalRow(app, base, a, p); });
}

/* The proposals a planner can choose: the kinds the page's totals name, the thematic layers (a park
 * or an industrial site also changes land use; a layer alone is its extent part), the land classes, none. */
function proposalChoices(data) {
  var seen = {}, out = [["", "— 无 none (每项按其自身类别 each total as its own kind)"]], part = data.review.proposal_part;
  function add(value, label) { if (value && !seen[value]) { seen[value] = true; out.push([value, label]); } }
  function layerLabel(k) { return k + " " + data.review.layer_titles[k][0] + "（" + part[1] + " " + part[0] + "）"; }
  reviewedTotals(data).forEach(function addTotal(a) {
    var kind = totalKind(data, a), names = kind === "control" ? data.review.control_kinds[a.part] : data.review.layer_titles[a.layer];
    if (kind === "thematic" && !a.part) add(a.layer, layerLabel(a.layer));
    else if (kind !== "landuse") add(ownKind(data, a), ownKind(data, a) + " " + (names ? names[0] : ""));
  });
  Object.keys(data.review.layer_titles).forEach(function addLayer(k) { add(k, layerLabel(k)); });
  Object.keys(data.review.land_classes).forEach(function addClass(k) {
    add("landuse:" + k, "landuse:" + k + " " + data.review.land_classes[k][0]);
  });
  return out;
}
