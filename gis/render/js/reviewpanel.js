/* gis web map, the sketch review panel (top right, collapsible): for the selected sketch (the one
 * just drawn, edited or clicked) its number, name and proposed use, which a planner sets, and the
 * review's figures (review.js, reviewtargets.js), recomputed as its outline changes, vertex by
 * vertex while editing. Only the panel is made at page load; the review runs on the first sketch. */

function addReviewPanel(app) {
  var control = L.control({ position: "topright" });
  control.onAdd = function onAdd() {
    var div = L.DomUtil.create("div", "gis-review");
    div.innerHTML = '<details><summary><b>草图审查 Sketch review</b> <span class="gis-review-head gis-muted">画一个多边形 draw a polygon</span></summary>' +
      '<div class="gis-review-form"></div><div class="gis-review-figures"></div><div class="gis-review-result"></div></details>';
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  control.addTo(app.map);
  app.review = { div: control.getContainer(), count: 0, selected: null, timer: null };
  app.review.div.querySelector("details").addEventListener("toggle", function onToggle(e) { makeRoom(app, e.target.open); });
  watchSketches(app);
}

function watchSketches(app) {
  var map = app.map;
  map.on(L.Draw.Event.CREATED, function onCreated(e) { newSketch(app, e.layer); });
  map.on(L.Draw.Event.EDITED, function onEdited(e) { e.layers.eachLayer(function edited(l) { sketchChanged(app, l, false); }); });
  map.on("draw:editvertex", function onVertex(e) { sketchChanged(app, e.poly, true); });
  map.on("draw:editmove draw:editresize", function onReshape(e) { sketchChanged(app, e.layer, true); });
  map.on("draw:editstop", function onEditStop() { // a cancelled edit puts the outlines back
    app.drawn.eachLayer(function forget(l) { if (l.gisSketch) l.gisSketch.base = l.gisSketch.error = null; });
    showReview(app);
  });
  map.on(L.Draw.Event.DELETED, function onDeleted() {
    if (app.review.selected && !app.drawn.hasLayer(app.review.selected)) app.review.selected = app.drawn.getLayers().slice(-1)[0] || null;
    showReview(app);
  });
}

/* A new sketch gets its number (its default fid DRAWN-n), is selected, and is selected again by a click. */
function newSketch(app, layer) {
  var n = ++app.review.count;
  layer.gisSketch = { n: n, fid: "DRAWN-" + n, name_zh: "", proposed_as: "", base: null, error: null };
  layer.options.bubblingMouseEvents = false; // a click on a sketch selects it, and opens no parcel's popup under it
  layer.on("click", function onSketchClick() { selectSketch(app, layer); });
  selectSketch(app, layer);
}

function selectSketch(app, layer) {
  app.review.selected = layer;
  var details = app.review.div.querySelector("details");
  if (!details.open) details.open = true; // its toggle event makes room for it
  showForm(app, layer);
  showReview(app);
}

/* While the panel is open the layer list folds to its button and the legend to its title; they
 * open again when the panel is folded (or by a click on them). */
function makeRoom(app, open) {
  var legend = document.querySelector(".gis-legend details");
  if (legend) legend.open = !open;
  if (!app.control) return;
  if (open) app.control.collapse();
  else app.control.expand();
}

/* The outline changed: its figures are recomputed, at once or (while a vertex is dragged) a moment later. */
function sketchChanged(app, layer, live) {
  if (!layer || !layer.gisSketch) return;
  layer.gisSketch.base = layer.gisSketch.error = null;
  if (app.review.selected !== layer) { selectSketch(app, layer); return; }
  clearTimeout(app.review.timer);
  if (live) app.review.timer = setTimeout(function later() { showReview(app); }, 120);
  else showReview(app);
}

/* The review of a sketch, computed when first asked for after a change; an error is kept as text. */
function sketchBase(app, layer) {
  var s = layer.gisSketch;
  if (!s.base && !s.error) {
    var t0 = performance.now();
    try {
      s.base = reviewBase(app, layer);
      s.base.ms = performance.now() - t0;
    } catch (err) {
      s.error = (err && err.message) || String(err);
    }
  }
  return s.base;
}

/* The inputs: number (fid), name and proposed use, kept on the sketch as they are typed. */
function showForm(app, layer) {
  var s = layer.gisSketch, form = app.review.div.querySelector(".gis-review-form");
  var options = proposalChoices(app.data).map(function option(o) {
    return '<option value="' + esc(o[0]) + '"' + (o[0] === s.proposed_as ? " selected" : "") + ">" + esc(o[1]) + "</option>";
  }).join("");
  form.innerHTML = '<label>编号 fid <input name="fid" value="' + esc(s.fid) + '"></label> ' +
    '<label>名称 name <input name="name_zh" value="' + esc(s.name_zh) + '"></label><br>' +
    '<label>方案用途 proposed as <select name="proposed_as">' + options + "</select></label>";
  form.querySelectorAll("input").forEach(function watch(input) {
    input.addEventListener("input", function onType() { s[input.name] = input.value; showHead(app, layer); });
  });
  form.querySelector("select").addEventListener("change", function onPropose(e) {
    s.proposed_as = e.target.value;
    showResult(app, layer);
  });
}

function showHead(app, layer) {
  var s = layer.gisSketch, base = s.base;
  app.review.div.querySelector(".gis-review-head").textContent = s.fid + (s.name_zh ? " " + s.name_zh : "") + (base ? " · " + ha4(base.area_ha) + " ha" : "");
}

/* The selected sketch's figures, or a hint when there is none, or what went wrong. */
function showReview(app) {
  var layer = app.review.selected, div = app.review.div, figures = div.querySelector(".gis-review-figures");
  if (!layer || !app.drawn.hasLayer(layer)) {
    div.querySelector(".gis-review-head").textContent = "画一个多边形 draw a polygon";
    div.querySelector(".gis-review-form").innerHTML = figures.innerHTML = div.querySelector(".gis-review-result").innerHTML = "";
    return;
  }
  var base = sketchBase(app, layer);
  showHead(app, layer);
  if (!base) {
    figures.innerHTML = '<p class="gis-fail gis-review-error">无法计算 cannot review this outline: ' + esc(layer.gisSketch.error) +
      " (重画 redraw it: its edges may cross or it may have no area)</p>";
    div.querySelector(".gis-review-result").innerHTML = "";
    return;
  }
  figures.innerHTML = [summaryHtml(app.data, base), overlapsHtml(app.data, base), classesHtml(app, base), controlHtml(app.data, base)]
    .map(function section(html) { return '<div class="gis-review-section">' + html + "</div>"; }).join("");
  showResult(app, layer);
}

/* The district totals for the sketch's proposal (recomputed alone when the proposal changes). */
function showResult(app, layer) {
  var out = app.review.div.querySelector(".gis-review-result"), base = sketchBase(app, layer);
  if (!base) return;
  try {
    out.innerHTML = totalsHtml(app, reviewTotals(app, base, layer.gisSketch.proposed_as)) +
      '<p class="gis-muted gis-review-ms" data-ms="' + esc(base.ms) + '">EPSG:4547 · ' + esc(fmt(base.ms, 0)) + " ms · 与 gis review 同一规则 the rules of gis review</p>";
  } catch (err) {
    out.innerHTML = '<p class="gis-fail gis-review-error">无法计算 cannot compute the totals: ' + esc((err && err.message) || String(err)) + "</p>";
  }
}

/* A sketch's exported properties: what the planner set, and the review's figures (flat). */
function sketchProperties(app, layer, i) {
  var s = layer.gisSketch || { fid: "DRAWN-" + (i + 1), name_zh: "", proposed_as: "" };
  var props = { fid: s.fid, name_zh: s.name_zh, note: "sketched in the web map", proposed_as: s.proposed_as };
  if (!layer.gisSketch) return props;
  var base = sketchBase(app, layer);
  if (!base) {
    props[app.data.review.prefix + "error"] = s.error;
    return props;
  }
  try {
    return Object.assign(props, reviewProperties(app, base, reviewTotals(app, base, s.proposed_as)));
  } catch (err) {
    props[app.data.review.prefix + "error"] = (err && err.message) || String(err);
    return props;
  }
}
