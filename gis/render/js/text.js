/* gis web map, text: everything a page shows goes through esc(); numbers through fmt(). */

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

/* The outline of a feature no plan figure applies to. */
var NO_TARGET_COLOR = "#525252";

/* A unit as targets.csv writes it, as a page shows it. */
function unitText(unit) {
  return unit === "万m2" ? "万m²" : unit;
}

/* A check status as a badge in its outline colour, with its Chinese name. */
function statusBadge(data, status) {
  if (!status) return "";
  var color = data.status_colors[status] || NO_TARGET_COLOR;
  return '<span class="gis-badge" style="border-color:' + esc(color) + '">' + esc(data.status_zh[status] || "") + " " + esc(status) + "</span>";
}
