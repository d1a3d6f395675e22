"""Audit where the shipped features sit: per feature, its distance to its reference point and its shape.

    python scripts/place_audit.py [layers_dir] [--metro ../shared/reference/metro_stations.csv]

Prints, per feature: the distance (m, EPSG:4547) from the outline to the reference point
(``position_lon``, ``position_lat``; 0 inside), the stated ``position_error_m``, ``FAR`` when the
distance is larger, the area (ha), the vertex count and the mean vertex spacing (m). With
``--metro``, also the nearest station of a station list (name, distance from the outline): a
reference read here to measure against, never copied into the layers. Worst first.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

LAYERS = ("parks", "industrial_land", "consolidation_zones", "renewal_units")


def _number(value: object) -> float:
    try:
        return float(str(value)) if value is not None else float("nan")
    except ValueError:
        return float("nan")


def audit(layers_dir: Path, metro: Path | None) -> list[dict[str, object]]:
    """Return one row per feature of the four thematic layers."""
    stations: list[tuple[str, shapely.Point]] = []
    if metro is not None:
        with metro.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        pts = gpd.GeoSeries(
            gpd.points_from_xy([float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows]), crs=4326
        )
        stations = list(zip([r["name_zh"] for r in rows], pts.to_crs(4547), strict=True))
    out: list[dict[str, object]] = []
    for name in LAYERS:
        gdf = gpd.read_file(layers_dir / f"{name}.geojson")
        proj = gdf.to_crs(4547)
        lon = np.array([_number(v) for v in gdf.get("position_lon", [None] * len(gdf))])
        lat = np.array([_number(v) for v in gdf.get("position_lat", [None] * len(gdf))])
        ref = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(4547)
        for i, row in gdf.iterrows():
            geom = proj.geometry.iloc[i]
            ring = shapely.get_exterior_ring(shapely.get_parts(geom)[0])
            n = shapely.get_num_coordinates(ring) - 1
            item: dict[str, object] = {
                "fid": row["fid"],
                "name": row["name_zh"],
                "dist_m": float(geom.distance(ref.iloc[i])) if np.isfinite(lon[i]) else float("nan"),
                "error_m": _number(row.get("position_error_m")),
                "area_ha": geom.area / 1e4,
                "vertices": n,
                "spacing_m": ring.length / max(n, 1),
            }
            if stations:
                s_name, s_pt = min(stations, key=lambda s: geom.distance(s[1]))
                item["station"] = f"{s_name} {geom.distance(s_pt):.0f} m"
            out.append(item)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layers_dir", nargs="?", default="layers", type=Path)
    parser.add_argument("--metro", type=Path, default=None)
    args = parser.parse_args()
    rows = audit(args.layers_dir, args.metro)
    rows.sort(key=lambda r: -float(r["dist_m"]) if np.isfinite(float(r["dist_m"])) else -1e12)  # type: ignore[arg-type]
    for r in rows:
        far = "FAR" if float(r["dist_m"]) > float(r["error_m"]) else "   "  # type: ignore[arg-type]
        print(
            f"{r['fid']:<15} {far} dist {float(r['dist_m']):7.0f} m  err {float(r['error_m']):6.0f} m  "  # type: ignore[arg-type]
            f"{float(r['area_ha']):9.2f} ha  {r['vertices']:4d} v  {float(r['spacing_m']):5.0f} m/v  "  # type: ignore[arg-type]
            f"{r.get('station', '')}  {r['name']}"
        )
    errors = np.array([float(r["error_m"]) for r in rows])  # type: ignore[arg-type]
    errors = errors[np.isfinite(errors)]
    if errors.size:
        q = np.percentile(errors, [50, 90])
        print(f"\n{errors.size} errors stated: median {q[0]:.0f} m, 90 % {q[1]:.0f} m, max {errors.max():.0f} m")


if __name__ == "__main__":
    main()
