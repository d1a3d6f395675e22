"""Benchmark: the toolkit's web map against ``GeoDataFrame.explore()`` on one synthetic layer.

Both pages show the same 10,000 polygons (20-60 vertices, Chinese names) over the three
districts. Reported side by side in one run, as medians of several runs and ratios:

- page size in bytes;
- build time (frame in memory -> HTML file on disk; for gis map the frame is the checked layer,
  as in ``gis build``, which checks once and renders four maps: the check is timed apart);
- draw time in headless Chromium: from navigation start to the animation frame in which every
  polygon is drawn, recorded by the page itself (performance.now()), with the network blocked. explore() loads Leaflet and its other assets from CDNs, so it is given local
  copies (Leaflet from gis/_vendor; the styling assets it also asks for answered empty) so
  that it can draw at all.

Targets (issue: web maps): size <= 25 %, build time <= 20 %, draw time <= 50 % of explore's.

Usage::

    python scripts/bench_map.py [--n 10000] [--runs 5] [-o out/bench_map]

Two versions of the map side by side (a change's cost in load time): write the page of the
synthetic layer with each version of the toolkit, then time the pages in turn, in one browser,
alternating (load time: navigation start to every polygon drawn, and to the end of ``gisMap``)::

    python scripts/bench_map.py --write-page before.html      # with the other version on PYTHONPATH
    python scripts/bench_map.py --write-page after.html
    python scripts/bench_map.py --pages before.html after.html --runs 9
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.measure import measure_features
from gis.model import CheckRun
from gis.read import read_districts
from gis.render.webmap import build_map, write_map
from gis.results import RESULT_COLUMNS

REPO = Path(__file__).resolve().parents[1]
STREETS = [
    "坂田街道",
    "平湖街道",
    "横岗街道",
    "龙城街道",
    "宝龙街道",
    "坪地街道",
    "观澜街道",
    "民治街道",
    "坑梓街道",
    "石井街道",
]


def synthetic_layer(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """n star-shaped polygons of 20-60 vertices, 50-300 m across, inside the three districts."""
    rng = np.random.default_rng(seed)
    districts = read_districts(REPO / "layers" / "districts.geojson").to_crs("EPSG:4547")
    union = shapely.union_all(districts.geometry.to_numpy())
    minx, miny, maxx, maxy = union.bounds
    centres: list[tuple[float, float]] = []
    prepared = shapely.prepared.prep(union)
    while len(centres) < n:
        xs = rng.uniform(minx, maxx, n)
        ys = rng.uniform(miny, maxy, n)
        centres.extend((x, y) for x, y in zip(xs, ys, strict=True) if prepared.contains(shapely.Point(x, y)))
    centres = centres[:n]
    geoms = []
    for x, y in centres:
        k = int(rng.integers(20, 61))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radii = rng.uniform(25, 150) * rng.uniform(0.7, 1.0, k)
        geoms.append(shapely.Polygon(np.column_stack([x + radii * np.cos(angles), y + radii * np.sin(angles)])))
    district_of = districts.iloc[shapely.STRtree(districts.geometry.to_numpy()).nearest(shapely.points(centres))][
        "district"
    ].to_numpy()
    gdf = gpd.GeoDataFrame(
        {
            "fid": [f"BM-{i:05d}" for i in range(n)],
            "name_zh": [f"{STREETS[i % len(STREETS)][:2]}地块{i:05d}号" for i in range(n)],
            "name_en": [f"Parcel {i:05d}" for i in range(n)],
            "district": district_of,
            "street": [STREETS[i % len(STREETS)] for i in range(n)],
            "part": "site",
            "parent": None,
            "category": "project_site",
            "source_file": "synthetic",
            "source_ref": "scripts/bench_map.py",
            "location_basis": "synthetic",
            "location_confidence": "stated",
            "accuracy": "synthetic",
            "method": "generated",
            "position_ref": None,  # the position fields (optional) every measured layer carries
            "position_error_m": None,
            "position_lon": None,
            "position_lat": None,
        },
        geometry=geoms,
        crs="EPSG:4547",
    ).to_crs("EPSG:4326")
    gdf.insert(0, "layer", "industrial_land")
    return gdf


def check_run(gdf: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> tuple[CheckRun, float]:
    """The measured layer the map renders (the check stage, timed apart: it is not map building)."""
    t0 = time.perf_counter()
    features = measure_features({"industrial_land": gdf})
    run = CheckRun(Path("bench"), Path("bench.csv"), features, districts, pd.DataFrame(columns=list(RESULT_COLUMNS)))
    return run, time.perf_counter() - t0


def build_ours(run: CheckRun, path: Path) -> float:
    """Checked frame -> HTML file on disk."""
    t0 = time.perf_counter()
    write_map(build_map(run), path)
    return time.perf_counter() - t0


def build_explore(gdf: gpd.GeoDataFrame, path: Path) -> float:
    t0 = time.perf_counter()
    m = gdf.drop(columns=["layer"]).explore(tooltip="name_zh", popup=True, tiles=None)
    m.save(str(path))
    return time.perf_counter() - t0


def draw_times(paths: dict[str, Path], n: int, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    leaflet_js = (resources.files("gis") / "_vendor" / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    leaflet_css = (resources.files("gis") / "_vendor" / "leaflet" / "leaflet.css").read_text(encoding="utf-8")
    chromium = os.environ.get("GIS_CHROMIUM") or shutil.which("chromium") or "chromium"
    done = {
        "ours": f"window.gis && window.gis.drawnCount() >= {n}",
        "explore": f"document.querySelectorAll('path.leaflet-interactive').length >= {n}",
    }
    out: dict[str, list[float]] = {k: [] for k in paths}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        for _ in range(runs):
            for name, path in paths.items():
                page = browser.new_page(viewport={"width": 1400, "height": 900})

                def route(r):  # local assets for explore; nothing leaves the machine
                    url = r.request.url
                    if url.startswith(("file:", "data:", "blob:")):
                        return r.continue_()
                    if url.endswith("leaflet.js"):
                        return r.fulfill(body=leaflet_js, content_type="application/javascript")
                    if url.endswith("leaflet.css"):
                        return r.fulfill(body=leaflet_css, content_type="text/css")
                    ctype = "text/css" if url.endswith(".css") else "application/javascript"
                    return r.fulfill(body="", content_type=ctype)

                page.route("**/*", route)
                # the page itself records when every polygon is drawn (checked on every animation
                # frame), in milliseconds since navigation started: no browser-driver overhead
                page.add_init_script(
                    "(() => { const done = () => { try { return " + done[name] + "; } catch (e) { return false; } };"
                    " const tick = () => { if (done()) { window.__drawnAt = performance.now(); } else { requestAnimationFrame(tick); } };"
                    " requestAnimationFrame(tick); })();"
                )
                page.goto(path.as_uri(), timeout=300_000)
                page.wait_for_function("window.__drawnAt !== undefined", timeout=300_000, polling=100)
                out[name].append(page.evaluate("window.__drawnAt") / 1000.0)
                page.close()
        browser.close()
    return out


def load_times(pages: list[Path], n: int, runs: int) -> dict[Path, list[tuple[float, float]]]:
    """Load each gis page ``runs`` times, in turn: (seconds to every polygon drawn, to the end of gisMap) per load."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("GIS_CHROMIUM") or shutil.which("chromium") or "chromium"
    out: dict[Path, list[tuple[float, float]]] = {p: [] for p in pages}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        for _ in range(runs):
            for path in pages:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.route(
                    "**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort()
                )
                page.add_init_script(
                    "(() => { const tick = () => { if (window.gis && window.gis.drawnCount() >= " + str(n) + ")"
                    " { window.__drawnAt = performance.now(); } else { requestAnimationFrame(tick); } };"
                    " requestAnimationFrame(tick); })();"
                )
                page.goto(path.as_uri(), timeout=300_000)
                page.wait_for_function("window.__drawnAt !== undefined", timeout=300_000, polling=100)
                end = page.evaluate("performance.getEntriesByName('gis:end')[0].startTime")
                out[path].append((page.evaluate("window.__drawnAt") / 1000.0, end / 1000.0))
                page.close()
        browser.close()
    return out


def compare_pages(pages: list[Path], n: int, runs: int) -> None:
    """Print each page's size and load times against the first page's: the ratio of the medians, the
    median of the ratios within a round (a busy spell falls on both pages of a round) and of the
    fastest loads (the least disturbed by other work)."""
    load0 = os.getloadavg()[0]
    times = load_times(pages, n, runs)
    base = [t for t, _ in times[pages[0]]]
    print(
        f"{n} polygons, {runs} rounds loading each page in turn; load average {load0:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    for path in pages:
        drawn, ends = [t for t, _ in times[path]], [e for _, e in times[path]]
        rounds = statistics.median(d / b for d, b in zip(drawn, base, strict=True))
        print(
            f"{path.name}: {path.stat().st_size / 1e6:.2f} MB; every polygon drawn: median {statistics.median(drawn):.3f} s"
            f" ({min(drawn):.3f}-{max(drawn):.3f}); to the first page: {statistics.median(drawn) / statistics.median(base):.3f}x"
            f" (medians), {rounds:.3f}x (median within rounds), {min(drawn) / min(base):.3f}x (fastest);"
            f" gisMap done: median {statistics.median(ends):.3f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("-o", "--output", type=Path, default=REPO / "out" / "bench_map")
    parser.add_argument("--write-page", type=Path, help="only write the gis page of the synthetic layer there")
    parser.add_argument("--pages", type=Path, nargs="+", help="only time these gis pages of --n polygons, in turn")
    args = parser.parse_args()
    if args.pages:
        compare_pages(args.pages, args.n, args.runs)
        return
    if args.write_page:
        run, _ = check_run(synthetic_layer(args.n), read_districts(REPO / "layers" / "districts.geojson"))
        build_ours(run, args.write_page)
        return
    gdf = synthetic_layer(args.n)
    districts = read_districts(REPO / "layers" / "districts.geojson")
    tmp = Path(tempfile.mkdtemp(prefix="bench_map_"))
    paths = {"ours": tmp / "ours.html", "explore": tmp / "explore.html"}
    builds: dict[str, list[float]] = {"ours": [], "explore": []}
    checks: list[float] = []
    for _ in range(args.runs):
        run, seconds = check_run(gdf, districts)
        checks.append(seconds)
        builds["ours"].append(build_ours(run, paths["ours"]))
        builds["explore"].append(build_explore(gdf, paths["explore"]))
    sizes = {k: p.stat().st_size for k, p in paths.items()}
    draws = draw_times(paths, args.n, args.runs)
    med = {
        k: {"build_s": statistics.median(builds[k]), "draw_s": statistics.median(draws[k]), "size_bytes": sizes[k]}
        for k in paths
    }
    ratios = {m: med["ours"][m] / med["explore"][m] for m in ("size_bytes", "build_s", "draw_s")}
    targets = {"size_bytes": 0.25, "build_s": 0.20, "draw_s": 0.50}
    result = {
        "polygons": args.n,
        "runs": args.runs,
        "medians": med,
        "ratios": ratios,
        "targets": targets,
        "met": {m: ratios[m] <= targets[m] for m in targets},
        "check_s_not_in_build": statistics.median(checks),
        "machine": f"{os.cpu_count()} cores",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    rows = [
        "| measure | gis map | explore() | ratio | target | met |",
        "|---|---:|---:|---:|---:|---|",
        f"| page size | {sizes['ours'] / 1e6:.2f} MB | {sizes['explore'] / 1e6:.2f} MB | {ratios['size_bytes']:.1%} | <= 25 % | {'yes' if result['met']['size_bytes'] else 'no'} |",
        f"| build time | {med['ours']['build_s']:.2f} s | {med['explore']['build_s']:.2f} s | {ratios['build_s']:.1%} | <= 20 % | {'yes' if result['met']['build_s'] else 'no'} |",
        f"| draw time (Chromium) | {med['ours']['draw_s']:.2f} s | {med['explore']['draw_s']:.2f} s | {ratios['draw_s']:.1%} | <= 50 % | {'yes' if result['met']['draw_s'] else 'no'} |",
    ]
    table = (
        f"{args.n} synthetic polygons, medians of {args.runs} runs. Build time: frame in memory to HTML on disk; "
        "for gis map the frame is the checked layer, as in gis build (the check itself, areas with the geodesic "
        f"cross-check, took {statistics.median(checks):.2f} s and is timed apart).\n\n" + "\n".join(rows) + "\n"
    )
    args.output.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
