"""Synthetic parcels for the benchmarks: realistic, non-overlapping, vectorized, cached.

``parcels(n, seed)`` returns n star-shaped polygons of 20-60 vertices with Chinese names over
Longgang, Longhua and Pingshan: the three districts are covered by a square grid whose cell
size gives about n cells inside the districts (shrunk by the parcel radius, so every parcel lies
inside its district); each kept cell gets one parcel inscribed in it, so parcels never overlap,
like a cadastre. Every array is built with numpy and shapely's vectorized constructors (no
per-polygon Python), so 1M polygons (about 40M vertices) take seconds.

``dataset(n, seed)`` writes, once, under ``out/bench/n{n}-s{seed}/``:

- ``layers.gpkg``: the four thematic layers and the districts (what ``gis check``, the
  geopandas floor and DuckDB read);
- ``targets.csv``: an aggregate target per district and layer (sum of area) and a few
  feature targets;
- ``parquet/``: the same layers as partitioned GeoParquet folders (for ``--engine dask``).

``landuse_dataset(n, seed)`` writes, once, ``out/bench/landuse-n{n}-s{seed}/landuse.parquet``: a
land-use layer of n rectangles on a square grid (cells of about 30 m, the size that gives n cells
whose centre lies in a district; neighbours share their edges exactly, so the parcels form a clean
coverage), 用地用海 codes of every class, the official area an ellipsoidal one (as 三调 TBMJ), in
the form ``gis import --layer landuse`` writes (GeoParquet, EPSG:4547, GeoArrow-encoded polygons;
beside it ``landuse_wkb.parquet``, the same WKB-encoded, which DuckDB reads). Seeded defects for the
parcel QA, each a known share of the parcels: 0.3 % end 1 m short of their east edge (a gap if
there is a neighbour), 0.3 % reach 2 m past it (an overlap if there is one), 0.1 % have an unknown
code (``9999``), 0.1 % the level-1 code ``10`` (工矿用地, no single class), 0.5 % an official area
3 % off.

Usage (what scripts/bench.py runs, so that the process that starts the workers holds no data)::

    python scripts/bench_data.py N [SEED]           # prints the folder
    python scripts/bench_data.py landuse N [SEED]   # the land-use layer; prints its folder
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "out" / "bench"
STREETS = {
    "440307": ["坂田街道", "布吉街道", "平湖街道", "横岗街道", "龙城街道", "龙岗街道", "宝龙街道", "坪地街道"],
    "440309": ["观澜街道", "民治街道", "龙华街道", "大浪街道", "福城街道", "观湖街道"],
    "440310": ["坑梓街道", "石井街道", "坪山街道", "马峦街道", "碧岭街道", "龙田街道"],
}
#: Share of the parcels in each thematic layer.
LAYER_SHARES = {"industrial_land": 0.5, "parks": 0.2, "consolidation_zones": 0.15, "renewal_units": 0.15}
KINDS = {
    "industrial_land": "工业用地",
    "parks": "公园绿地",
    "consolidation_zones": "整备地块",
    "renewal_units": "更新地块",
}


def districts() -> gpd.GeoDataFrame:
    """Return the shipped district boundaries (EPSG:4326)."""
    return gpd.read_file(REPO / "layers" / "districts.geojson", engine="pyogrio")


def parcels(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """Return n non-overlapping parcels (EPSG:4326) with the data model's fields, in grid order."""
    rng = np.random.default_rng(seed)
    dist = districts().to_crs("EPSG:4547")
    total = float(dist.area.sum())
    cell = np.sqrt(total / n) * 0.98
    while True:
        margin = cell * 0.5
        inner = [shapely.buffer(g, -margin) for g in dist.geometry]
        for g in inner:
            shapely.prepare(g)
        minx, miny, maxx, maxy = dist.total_bounds
        xs = np.arange(minx + cell / 2, maxx, cell)
        ys = np.arange(miny + cell / 2, maxy, cell)
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
        code = np.full(len(gx), -1)
        for i, g in enumerate(inner):
            code[(code < 0) & shapely.contains_xy(g, gx, gy)] = i
        if (code >= 0).sum() >= n:
            break
        cell *= 0.97
    keep = np.sort(rng.choice(np.flatnonzero(code >= 0), n, replace=False))
    cx, cy, code = gx[keep], gy[keep], code[keep]
    # star-shaped rings: k vertices at increasing angles (j + 0.8 u) / k, radius 0.6-1.0 of the half cell
    k = rng.integers(20, 61, n)
    poly = np.repeat(np.arange(n), k)
    start = np.concatenate([[0], np.cumsum(k)[:-1]])
    j = np.arange(len(poly)) - start[poly]
    angle = 2 * np.pi * (j + 0.8 * rng.random(len(poly))) / k[poly] + rng.uniform(0, 2 * np.pi, n)[poly]
    radius = (margin * 0.95 * rng.uniform(0.6, 1.0, n))[poly] * rng.uniform(0.7, 1.0, len(poly))
    x = cx[poly] + radius * np.cos(angle)
    y = cy[poly] + radius * np.sin(angle)
    # close every ring: repeat its first vertex after its last
    ends = np.cumsum(k)
    x = np.insert(x, ends, x[start])
    y = np.insert(y, ends, y[start])
    lon, lat = Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True).transform(x, y)
    ring_off = np.concatenate([[0], np.cumsum(k + 1)])
    geoms = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON, np.column_stack([lon, lat]), (ring_off, np.arange(n + 1))
    )
    codes = dist["district"].to_numpy().astype(str)[code]
    layer = rng.choice(list(LAYER_SHARES), n, p=list(LAYER_SHARES.values()))
    street = np.empty(n, dtype=object)
    for d, names in STREETS.items():
        sel = codes == d
        street[sel] = np.asarray(names, dtype=object)[rng.integers(0, len(names), int(sel.sum()))]
    kind = pd.Series(layer).map(KINDS).to_numpy(dtype=object)
    number = np.arange(1, n + 1)
    fid = [f"P{i:07d}" for i in number]
    name_zh = [f"{s[:2]}{t}{i}号" for s, t, i in zip(street, kind, number, strict=True)]
    gdf = gpd.GeoDataFrame(
        {
            "layer": layer,
            "fid": fid,
            "name_zh": name_zh,
            "name_en": [f"Parcel {i}" for i in number],
            "district": codes,
            "street": street,
            "part": "extent",
            "parent": None,
            "category": "project_site",
            "source_file": "synthetic",
            "source_ref": "scripts/bench_data.py",
            "location_basis": "synthetic parcel",
            "location_confidence": "stated",
            "accuracy": "schematic",
            "method": "generated",
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    gdf["planar_ha"] = (
        shapely.area(
            shapely.from_ragged_array(
                shapely.GeometryType.POLYGON, np.column_stack([x, y]), (ring_off, np.arange(n + 1))
            )
        )
        / 1e4
    )
    return gdf


def targets(gdf: gpd.GeoDataFrame, seed: int = 0) -> pd.DataFrame:
    """Return plan-like targets: an aggregate per district and layer, and ten feature targets."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    sums = gdf.groupby(["district", "layer"])["planar_ha"].sum()
    for i, ((district, layer), ha) in enumerate(sums.items()):
        comparator = ["approx", "at_least", "at_most"][i % 3]
        value = round(float(ha) * rng.uniform(0.92, 1.08), 1)
        rows.append(("aggregate", None, district, layer, comparator, value, 10))
    for i in rng.choice(len(gdf), min(10, len(gdf)), replace=False):
        r = gdf.iloc[int(i)]
        rows.append(("feature", r["fid"], r["district"], r["layer"], "approx", round(r["planar_ha"], 2), 10))
    return pd.DataFrame(
        [
            {
                "target_id": f"T-BM-{i + 1:03d}",
                "scope": scope,
                "fid": fid,
                "part": None,
                "district": district,
                "layer": layer,
                "metric": "area",
                "comparator": comparator,
                "value": value,
                "unit": "ha",
                "tolerance_pct": tol,
                "horizon": "2025",
                "source_file": "synthetic",
                "source_ref": f"item {i + 1}",
                "note": "合成目标 synthetic target",
            }
            for i, (scope, fid, district, layer, comparator, value, tol) in enumerate(rows)
        ]
    )


def dataset(n: int, seed: int = 0, *, partitions: int | None = None) -> Path:
    """Write (once) and return the cached folder of the dataset of n parcels."""
    folder = CACHE / f"n{n}-s{seed}"
    done = folder / "done"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    gdf = parcels(n, seed)
    targets(gdf, seed).to_csv(folder / "targets.csv", index=False, encoding="utf-8")
    gdf = gdf.drop(columns="planar_ha")
    dist = districts()
    gpkg = folder / "layers.gpkg"
    for name in LAYER_SHARES:
        layer = gdf[gdf["layer"] == name].drop(columns="layer").reset_index(drop=True)
        # a GeoPackage's fid is its row id: the text id is feature_id, as gis export writes it
        layer = layer.rename(columns={"fid": "feature_id"})
        pyogrio.write_dataframe(layer, gpkg, layer=name, driver="GPKG", use_arrow=True)
    pyogrio.write_dataframe(dist, gpkg, layer="districts", driver="GPKG", use_arrow=True)
    from gis.partitioned import write_partitioned

    write_partitioned(
        {name: gdf[gdf["layer"] == name].drop(columns="layer") for name in LAYER_SHARES} | {"districts": dist},
        folder / "parquet",
        targets=folder / "targets.csv",
        rows_per_partition=max(1000, -(-n // (partitions or 8))),
    )
    done.write_text("ok\n")
    return folder


#: Shares of the parcels with a seeded defect (see the module's docstring).
#: What the cached land-use folder's ``done`` holds: a folder written in another form is written again.
LANDUSE_FORMAT = "geoarrow landuse.parquet, WKB landuse_wkb.parquet\n"
DEFECTS = {"gap": 0.003, "overlap": 0.003, "unknown": 0.001, "coarse": 0.001, "official": 0.005}


def landuse_parcels(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """Return n grid rectangles (EPSG:4547) of a land-use layer with 用地用海 codes and seeded defects."""
    from gis.codes import code_list
    from gis.qa_parcels import ellipsoidal_m2

    rng = np.random.default_rng(seed)
    dist = districts().to_crs("EPSG:4547")
    cell = 30.0
    while True:
        minx, miny, maxx, maxy = dist.total_bounds
        xe = minx + np.arange(int((maxx - minx) / cell) + 2) * cell  # cell edges: neighbours share them exactly
        ye = miny + np.arange(int((maxy - miny) / cell) + 2) * cell
        ix, iy = (a.ravel() for a in np.meshgrid(np.arange(len(xe) - 1), np.arange(len(ye) - 1)))
        cx, cy = (xe[ix] + xe[ix + 1]) / 2, (ye[iy] + ye[iy + 1]) / 2
        code = np.full(len(cx), -1)
        for i, g in enumerate(dist.geometry):
            shapely.prepare(g)
            code[(code < 0) & shapely.contains_xy(g, cx, cy)] = i
        if (code >= 0).sum() >= n:
            break
        cell *= 0.97
    # each district's share of n: the cells nearest a point inside it, so the parcels form compact blocks
    counts = np.bincount(code[code >= 0], minlength=len(dist))
    quota = np.floor(n * counts / counts.sum()).astype(int)
    quota[np.argmax(counts)] += n - quota.sum()
    keep = []
    for i, g in enumerate(dist.geometry):
        mine = np.flatnonzero(code == i)
        centre = shapely.get_coordinates(shapely.point_on_surface(g))[0]
        near = np.argsort(np.hypot(cx[mine] - centre[0], cy[mine] - centre[1]), kind="stable")[: quota[i]]
        keep.append(np.sort(mine[near]))
    keep = np.concatenate(keep)
    ix, iy, code = ix[keep], iy[keep], code[keep]
    x0, x1, y0, y1 = xe[ix], xe[ix + 1], ye[iy], ye[iy + 1]
    defect = rng.random(n)
    gap = defect < DEFECTS["gap"]
    over = (defect >= DEFECTS["gap"]) & (defect < DEFECTS["gap"] + DEFECTS["overlap"])
    x1 = np.where(gap, x1 - 1.0, np.where(over, x1 + 2.0, x1))
    geoms = shapely.box(x0, y0, x1, y1)
    table = code_list("yongdi").table
    usable = table[(table["level"] == 2) & table["land_class"].notna()]["code"].to_numpy(dtype=object)
    codes = usable[rng.integers(0, len(usable), n)]
    which = rng.random(n)
    codes[which < DEFECTS["unknown"]] = "9999"
    codes[(which >= DEFECTS["unknown"]) & (which < DEFECTS["unknown"] + DEFECTS["coarse"])] = "10"
    official = np.round(ellipsoidal_m2(geoms), 2)
    off = rng.random(n) < DEFECTS["official"]
    official[off] = np.round(official[off] * 1.03, 2)
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"L{i:07d}" for i in range(1, n + 1)],
            "code": codes,
            "code_system": "yongdi",
            "code_name": table["name_zh"].reindex(codes).to_numpy(dtype=object),
            "district": dist["district"].to_numpy().astype(str)[code].astype(object),
            "official_m2": official,
            "official_kind": "ellipsoidal",
            "admin_code": None,
            "schema": "yongdi",
            "source_file": "synthetic",
            "synthetic": True,
        },
        geometry=geoms,
        crs="EPSG:4547",
    )


def landuse_dataset(n: int, seed: int = 0) -> Path:
    """Write (once) and return the cached folder holding the land-use layer of n parcels."""
    folder = CACHE / f"landuse-n{n}-s{seed}"
    if (folder / "done").exists() and (folder / "done").read_text() == LANDUSE_FORMAT:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write_landuse(landuse_parcels(n, seed), folder)
    (folder / "done").write_text(LANDUSE_FORMAT)
    return folder


def write_landuse(gdf: gpd.GeoDataFrame, folder: Path) -> None:
    """Write the land-use layer as ``gis import`` does (GeoArrow-encoded polygons), and WKB-encoded for DuckDB.

    DuckDB 1.5's spatial extension reads no GeoArrow-encoded geometry (``ST_Area`` of the nested
    lists has no overload, nor a cast to GEOMETRY): it reads the same parcels from ``landuse_wkb.parquet``.
    """
    gdf.to_parquet(folder / "landuse.parquet", index=False, geometry_encoding="geoarrow")
    gdf.to_parquet(folder / "landuse_wkb.parquet", index=False)


if __name__ == "__main__":
    if sys.argv[1] == "landuse":
        print(landuse_dataset(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0))
    else:
        print(dataset(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0))
