/* gis web map, frames: GCJ-02 <-> WGS-84 as gis/crs.py, the published forward transform and
 * its fixed-point inverse (sketches drawn over Amap tiles are exported in WGS-84). */

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

/* Apply fn to every [x, y] of GeoJSON coordinates nested to any depth. */
function mapCoords(coords, fn) {
  return typeof coords[0] === "number" ? fn(coords) : coords.map(function mapNested(c) { return mapCoords(c, fn); });
}
