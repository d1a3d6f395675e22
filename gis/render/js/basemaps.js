/* gis web map, basemaps: the tile layers of options.basemaps (gis/render/basemaps.py), the first
 * shown, each a choice in the layer control with "no tiles". A basemap comes from a tile server
 * (an XYZ or WMTS GetTile template) or is embedded in the page (an MBTiles file or a folder of
 * tiles: a script element of JSON, "z/x/y" -> data URI), which makes no request. */

var BLANK_TILE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";

/* A tile layer drawing the tiles embedded in the page; a tile it lacks is blank, none is fetched. */
var EmbeddedTiles = L.TileLayer.extend({
  initialize: function initialize(tiles, options) {
    this._gisTiles = tiles;
    L.TileLayer.prototype.initialize.call(this, "", options);
  },
  getTileUrl: function getTileUrl(coords) {
    return this._gisTiles[coords.z + "/" + coords.x + "/" + coords.y] || BLANK_TILE;
  },
});

/* The Leaflet layer of one basemap: embedded tiles only within their bounds and zooms (Leaflet
 * scales the nearest level above, and below down to two zooms under the lowest: further out the
 * tiles would be specks, and Leaflet would walk millions of tile places), a server's up to its
 * highest zoom. */
function basemapLayer(b) {
  var options = { attribution: b.attribution, maxZoom: 19, maxNativeZoom: b.max_zoom };
  if (b.embedded) {
    options.minNativeZoom = b.min_zoom;
    options.minZoom = Math.max(0, b.min_zoom - 2);
    options.bounds = b.bounds;
    return new EmbeddedTiles(JSON.parse(document.getElementById(b.embedded).textContent), options);
  }
  options.subdomains = b.subdomains;
  return L.tileLayer(b.url, options);
}

/* The basemaps by name (escaped: the layer control shows names as HTML), the first on the map. */
function addBasemaps(app) {
  var baseLayers = {};
  app.basemaps = (app.options.basemaps || []).map(function addBasemap(b, i) {
    var layer = basemapLayer(b);
    if (i === 0) layer.addTo(app.map);
    baseLayers[esc(b.name)] = layer;
    return layer;
  });
  if (app.basemaps.length) baseLayers["无底图 No tiles"] = L.layerGroup();
  return baseLayers;
}
