"""Generate a SYNTHETIC sample of a 三调 地类图斑 (DLTB) delivery, to try ``gis import --layer landuse`` on.

It imitates what analysts receive: a Shapefile DLTB.shp with the survey's fields (BSM, DLBM, DLMC,
ZLDWDM, TBMJ, KCMJ, TBDLMJ), its text in GBK and no .cpg file, coordinates in EPSG:4526 (CGCS2000
3-degree Gauss-Kruger zone 38, eastings with the zone number 38 prefixed). The parcels are
rectangles of a grid laid over the three districts of layers/districts.geojson, each wholly inside
one district; their codes are drawn from the three main classes (农用地, 建设用地, 未利用地),
including 0601 工业用地 and 1001 铁路用地. Nothing in it is real: every parcel carries SYNTHETIC=1
and a note saying so (合成数据), and the folder gets a SYNTHETIC_README.txt.

Usage::

    python scripts/sample_delivery.py [--parcels 3000] [-o delivery] [--layers layers] [--seed 15]
    gis import delivery/DLTB.shp --layer landuse
    gis import delivery/GYQKX.shp --layer control_lines --kind block_line_1

It also writes GYQKX.shp, a SYNTHETIC 工业区块线 (block line): squares around about 60 % of the
industrial parcels, merged, so that the overlay target (industrial land inside the block line)
has something to measure.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gis._fast.inside import boxes_inside  # noqa: E402

#: 三调 codes drawn (code, name, weight): 农用地, 建设用地 (industrial 0601, railway 1001 ...), 未利用地.
CODES: tuple[tuple[str, str, float], ...] = (
    ("0101", "水田", 3),
    ("0103", "旱地", 3),
    ("0201", "果园", 4),
    ("0301", "乔木林地", 14),
    ("0404", "其他草地", 3),
    ("1104", "坑塘水面", 2),
    ("1202", "设施农用地", 1),
    ("0601", "工业用地", 16),
    ("0602", "采矿用地", 1),
    ("0508", "物流仓储用地", 3),
    ("05H1", "商业服务业设施用地", 6),
    ("0701", "城镇住宅用地", 14),
    ("0702", "农村宅基地", 6),
    ("08H1", "机关团体新闻出版用地", 2),
    ("08H2", "科教文卫用地", 4),
    ("1001", "铁路用地", 1),
    ("1003", "公路用地", 3),
    ("1004", "城镇村道路用地", 7),
    ("1101", "河流水面", 2),
    ("1206", "裸土地", 1),
    ("1204", "盐碱地", 0.2),
)
#: Codes of 农用地 that have 田坎 deducted (KCMJ): a few per cent of the parcel.
DEDUCTED = ("0101", "0103", "0201")
#: The 3-degree zone number prefixed to the eastings of EPSG:4526.
ZONE_PREFIX = 38_000_000.0
NOTE = "合成数据 synthetic sample (scripts/sample_delivery.py), not a real 三调 delivery"


def grid_parcels(districts: gpd.GeoDataFrame, n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Return ``n`` rectangles (EPSG:4547), each wholly inside one district, with the district's code."""
    districts = districts.to_crs("EPSG:4547").dissolve("district").reset_index()
    total = float(districts.area.sum())
    cell = math.sqrt(total / n) * 0.9  # a little smaller than needed: the boundary cells are lost
    while True:
        minx, miny, maxx, maxy = districts.total_bounds
        xs = np.arange(math.floor(minx), maxx, cell)
        ys = np.arange(math.floor(miny), maxy, cell)
        x0, y0 = (a.ravel() for a in np.meshgrid(xs, ys))
        # a rectangle of whole metres inside its cell, leaving a gap as a road would
        w = np.floor(cell * 0.9)
        boxes = np.column_stack([np.round(x0), np.round(y0), np.round(x0) + w, np.round(y0) + w])
        code = np.full(len(boxes), None, dtype=object)
        for d, polygon in zip(districts["district"], districts.geometry, strict=True):
            todo = np.flatnonzero(pd.isna(code))
            inside = boxes_inside(polygon, boxes[todo])
            rest = np.flatnonzero(~inside)
            shapely.prepare(polygon)
            inside[rest] = shapely.contains_properly(polygon, shapely.box(*boxes[todo][rest].T))
            code[todo[inside]] = d
        keep = np.flatnonzero(~pd.isna(code))
        if len(keep) >= n:
            break
        cell *= 0.9
    pick = np.sort(rng.choice(keep, size=n, replace=False))
    return gpd.GeoDataFrame({"district": code[pick]}, geometry=shapely.box(*boxes[pick].T), crs="EPSG:4547")


def sample(districts: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    """Return the synthetic 三调 parcels in EPSG:4526 with the survey's fields."""
    rng = np.random.default_rng(seed)
    parcels = grid_parcels(districts, n, rng)
    weights = np.array([w for _, _, w in CODES])
    which = rng.choice(len(CODES), size=n, p=weights / weights.sum())
    codes = np.array([c for c, _, _ in CODES], dtype=object)[which]
    names = np.array([m for _, m, _ in CODES], dtype=object)[which]
    planar = parcels.area.to_numpy()
    # TBMJ is ellipsoidal: the plane of Gauss-Kruger CM 114E stretches by (1 + dx^2 / 2R^2) each way
    dx = shapely.centroid(parcels.geometry.to_numpy())
    k = 1 + (shapely.get_x(dx) - 500_000.0) ** 2 / (2 * 6_371_000.0**2)
    tbmj = np.round(planar / k**2, 2)
    kcmj = np.where(np.isin(codes, DEDUCTED), np.round(tbmj * 0.06, 2), 0.0)
    serial = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(8)
    district = pd.Series(parcels["district"].astype(str).to_numpy())
    street = pd.Series(rng.integers(1, 12, n)).astype(str).str.zfill(3)
    out = pd.DataFrame(
        {
            "BSM": (district + "2019" + serial).to_numpy(),
            "DLBM": codes,
            "DLMC": names,
            "ZLDWDM": (district + street + "0010000000").to_numpy(),
            "TBMJ": tbmj,
            "KCMJ": kcmj,
            "TBDLMJ": np.round(tbmj - kcmj, 2),
            "SYNTHETIC": np.ones(n, dtype=np.int32),
            "BZ": NOTE,
        }
    )
    moved = shapely.transform(parcels.geometry.to_numpy(), lambda xy: xy + np.array([ZONE_PREFIX, 0.0]))
    return gpd.GeoDataFrame(out, geometry=moved, crs="EPSG:4526")


def write_delivery(gdf: gpd.GeoDataFrame, folder: Path) -> Path:
    """Write DLTB.shp in GBK with no .cpg (as many desktop exports come), and a README saying it is synthetic."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "DLTB.shp"
    pyogrio.write_dataframe(gdf, path, encoding="GBK", layer="DLTB")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    (folder / "SYNTHETIC_README.txt").write_text(
        f"{NOTE}.\nDLTB.shp: {len(gdf)} parcels, GBK text without .cpg, EPSG:4526 (zone 38 prefix).\n",
        encoding="utf-8",
    )
    return path


def block_line(parcels: gpd.GeoDataFrame, seed: int, share: float = 0.6) -> gpd.GeoDataFrame:
    """Return a SYNTHETIC 工业区块线 (EPSG:4526): squares around about ``share`` of the industrial parcels (0601), merged."""
    rng = np.random.default_rng(seed + 1)
    industrial = parcels.geometry.to_numpy()[(parcels["DLBM"] == "0601").to_numpy()]
    chosen = industrial[rng.random(len(industrial)) < share]
    merged = shapely.get_parts(shapely.union_all(shapely.buffer(chosen, 5.0, join_style="mitre")))
    return gpd.GeoDataFrame(
        {"QKXBH": [f"GYQKX{i + 1:04d}" for i in range(len(merged))], "SYNTHETIC": 1, "BZ": NOTE},
        geometry=merged,
        crs=parcels.crs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=3000, metavar="N", help="how many parcels (default 3000)")
    parser.add_argument("-o", "--output", type=Path, default=Path("delivery"), metavar="DIR", help="folder to write")
    parser.add_argument("--layers", type=Path, default=REPO / "layers", help="folder with districts.geojson")
    parser.add_argument("--seed", type=int, default=15, help="random seed (the same seed gives the same data)")
    args = parser.parse_args()
    if args.parcels < 1:
        parser.error("--parcels must be at least 1")
    start = time.perf_counter()
    districts = gpd.read_file(args.layers / "districts.geojson")
    parcels = sample(districts, args.parcels, args.seed)
    path = write_delivery(parcels, args.output)
    blocks = block_line(parcels, args.seed)
    pyogrio.write_dataframe(blocks, args.output / "GYQKX.shp", encoding="GBK", layer="GYQKX")
    (args.output / "GYQKX.cpg").unlink(missing_ok=True)
    print(f"wrote {args.output / 'GYQKX.shp'}: {len(blocks):,} SYNTHETIC block-line polygons around industrial parcels")
    print(
        f"wrote {path}: {args.parcels:,} SYNTHETIC 三调-like parcels (GBK, no .cpg, EPSG:4526) "
        f"in {time.perf_counter() - start:.1f} s; not real data"
    )


if __name__ == "__main__":
    main()
