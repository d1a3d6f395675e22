"""Benchmark: gis against the stack's floor and the obvious alternatives, side by side in one run.

Stages (each timed in its own fresh subprocess, which reports its wall time after imports and its
own peak memory; ``--runs`` rounds, each running every tool of a stage once, interleaved; medians
with the range of the runs):

- check: ``gis check`` (read GeoPackage, validate, reproject, areas with the geodesic
  cross-check, aggregates, derived checks, results written) against the geopandas floor (pyogrio
  arrow read + to_crs EPSG:4547 + area + groupby, its frames freed within the time as gis check's
  are before the command returns) and DuckDB's spatial extension (ST_Read +
  ST_Transform + ST_Area + GROUP BY) on the same GeoPackage; ``gis check --engine dask`` on the
  same layers as partitioned GeoParquet is listed for information;
- landuse: the land-use layer (scripts/bench_data.py's grid of ~30 m rectangles with 用地用海 codes,
  GeoParquet in EPSG:4547, polygons GeoArrow-encoded as ``gis import`` writes them) read and
  summed per district and class: ``read_landuse`` + ``summarize_landuse`` against the geopandas
  floor (read_parquet + to_crs + area + code -> class + groupby, on the same file; also without
  the to_crs, which geopandas runs though the file is in EPSG:4547) and DuckDB (read_parquet +
  ST_Area + join on the code list + GROUP BY, on the same parcels WKB-encoded: DuckDB 1.5's
  spatial extension reads no GeoArrow-encoded geometry); the parcel QA (``parcel_findings``)
  timed at the ``--qa-sizes``;
- check also against DuckDB doing the check's own work (ST_IsValid of every polygon, ST_Within
  its district, areas, per district, layer and part), beside the bare query;
- export: gis's GeoPackage export against a raw pyogrio arrow write of the same frames;
- map: the web map against ``GeoDataFrame.explore()`` (size, build time, draw time in headless
  Chromium; scripts/bench_map.py's method).

Synthetic parcels come from scripts/bench_data.py (generated in a subprocess, cached in out/bench/).
Writes out/bench/bench.json and out/bench/bench.md.

Peak memory is the worker's own: ``VmHWM`` of /proc/self/status, read by the worker as it ends
(with its children's ``ru_maxrss``), not its ``ru_maxrss``, which on Linux starts from the
parent's peak (see :func:`peak_rss_mb`). Where GNU time is installed (/usr/bin/time), every
worker also runs under it, and its figure (``time -v``'s maximum resident set size) is kept
beside, as a check.

Usage::

    python scripts/bench.py [--sizes 1k,10k,100k,1M] [--runs 3] [--stages check,landuse,export,map,build] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = REPO / "out" / "bench"
LAYERS = ("consolidation_zones", "renewal_units", "industrial_land", "parks")


def _size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k" if n >= 1000 else str(n)


# ----------------------------------------------------------------------------- workers
def _gis(args: list[str]) -> dict:
    """Run the gis CLI in this process (exit 0 or 1 are results, not failures); return its wall time."""
    from gis.cli import cli

    t0 = time.perf_counter()
    try:
        cli.main(["-q", *args], standalone_mode=False)
    except SystemExit as exc:
        if exc.code not in (0, 1, None):
            raise
    return {"seconds": time.perf_counter() - t0}


def work_check_gis(folder: Path, tmp: Path) -> dict:
    layers, targets = str(folder / "layers.gpkg"), str(folder / "targets.csv")
    return _gis(
        ["check", "--layers", layers, "--targets", targets, "-f", "csv", "-o", str(tmp / "check.csv"), "--overwrite"]
    )


def work_check_dask(folder: Path, tmp: Path) -> dict:
    layers = str(folder / "parquet")
    return _gis(
        ["check", "--engine", "dask", "--layers", layers, "-f", "csv", "-o", str(tmp / "check.csv"), "--overwrite"]
    )


def work_check_floor(folder: Path, tmp: Path) -> dict:
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    t0 = time.perf_counter()
    frames = []
    for name in LAYERS:
        gdf = pyogrio.read_dataframe(folder / "layers.gpkg", layer=name, use_arrow=True)
        gdf["layer"] = name
        frames.append(gdf)
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs).to_crs("EPSG:4547")
    gdf["area_ha"] = gdf.area / 10_000
    groups = len(gdf.groupby(["district", "layer"])["area_ha"].sum())
    del frames, gdf  # freed in the time, as gis check frees its frames before its command returns
    return {"seconds": time.perf_counter() - t0, "groups": groups}


def work_check_duckdb(folder: Path, tmp: Path) -> dict:
    import duckdb
    import duckdb_extension_spatial

    ext = next(Path(duckdb_extension_spatial.__file__).parent.glob("extensions/*/spatial.duckdb_extension"))
    con = duckdb.connect()
    con.execute(f"LOAD '{ext}'")  # from the PyPI package's file: no network
    gpkg = str(folder / "layers.gpkg")
    union = " UNION ALL ".join(
        f"SELECT district, '{name}' AS layer, geom FROM ST_Read('{gpkg}', layer='{name}')" for name in LAYERS
    )
    sql = (
        "SELECT district, layer, sum(ST_Area(ST_Transform(geom, 'EPSG:4326', 'EPSG:4547', always_xy := true))) / 10000"
        f" AS area_ha FROM ({union}) GROUP BY district, layer"
    )
    t0 = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return {
        "seconds": time.perf_counter() - t0,
        "groups": len(rows),
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    }


def _duckdb():
    import duckdb
    import duckdb_extension_spatial

    ext = next(Path(duckdb_extension_spatial.__file__).parent.glob("extensions/*/spatial.duckdb_extension"))
    con = duckdb.connect()
    con.execute(f"LOAD '{ext}'")  # from the PyPI package's file: no network
    return con


def work_check_duckdb_full(folder: Path, tmp: Path) -> dict:
    """DuckDB doing the check's own work: validity of every polygon, containment in its district, area, aggregates."""
    con = _duckdb()
    gpkg = str(folder / "layers.gpkg")
    union = " UNION ALL ".join(
        f"SELECT district, '{name}' AS layer, part, geom FROM ST_Read('{gpkg}', layer='{name}')" for name in LAYERS
    )
    sql = (
        f"WITH f AS ({union}), d AS (SELECT district AS d_code, geom AS d_geom FROM ST_Read('{gpkg}', layer='districts')) "
        "SELECT f.district, f.layer, f.part, count(*) AS n, "
        "sum(ST_Area(ST_Transform(f.geom, 'EPSG:4326', 'EPSG:4547', always_xy := true))) / 10000 AS area_ha, "
        "count_if(NOT ST_IsValid(f.geom)) AS invalid, count_if(d.d_geom IS NULL OR NOT ST_Within(f.geom, d.d_geom)) AS outside "
        "FROM f LEFT JOIN d ON f.district = d.d_code GROUP BY ALL"
    )
    t0 = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return {
        "seconds": time.perf_counter() - t0,
        "groups": len(rows),
        "invalid": sum(r[5] for r in rows),
        "outside": sum(r[6] for r in rows),
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    }


CODES = REPO / "gis" / "data" / "codes" / "yongdi.csv"


def work_landuse_gis(folder: Path, tmp: Path) -> dict:
    """gis: read_landuse (read, validate, classify, areas) + summarize_landuse by district and class."""
    from gis.landuse import read_landuse, summarize_landuse

    t0 = time.perf_counter()
    landuse = read_landuse(folder)
    groups = len(summarize_landuse(landuse))
    del landuse  # freed in the time, as the floor's frame is
    return {"seconds": time.perf_counter() - t0, "groups": groups}


def _landuse_floor(folder: Path, reproject: bool) -> dict:
    import geopandas as gpd
    import pandas as pd
    import pyarrow.dataset  # noqa: F401  imported by read_parquet on first use (0.3-0.7 s): not timed, as no import is

    t0 = time.perf_counter()
    gdf = gpd.read_parquet(folder / "landuse.parquet")
    if reproject:
        gdf = gdf.to_crs("EPSG:4547")
    classes = pd.read_csv(CODES, dtype=str, keep_default_na=False).set_index("code")["land_class"]
    gdf["area_m2"] = gdf.area
    gdf["class"] = gdf["code"].map(classes)
    groups = len(gdf.groupby(["district", "class"], dropna=False)["area_m2"].agg(["size", "sum"]))
    del gdf
    return {"seconds": time.perf_counter() - t0, "groups": groups}


def work_landuse_floor(folder: Path, tmp: Path) -> dict:
    """The geopandas floor: read_parquet + to_crs(EPSG:4547) + area + code -> class + groupby district and class."""
    return _landuse_floor(folder, reproject=True)


def work_landuse_floor_nocrs(folder: Path, tmp: Path) -> dict:
    """The floor without to_crs (the file is in EPSG:4547 already; geopandas reprojects it anyway)."""
    return _landuse_floor(folder, reproject=False)


def work_landuse_duckdb(folder: Path, tmp: Path) -> dict:
    """DuckDB on the same parcels WKB-encoded (its spatial extension reads no GeoArrow-encoded geometry)."""
    con = _duckdb()
    sql = (
        "SELECT p.district, c.land_class, count(*) AS n, sum(ST_Area(p.geometry)) / 10000 AS area_ha "
        f"FROM read_parquet('{folder / 'landuse_wkb.parquet'}') p "
        f"LEFT JOIN read_csv('{CODES}', all_varchar = true) c USING (code) GROUP BY ALL"
    )
    t0 = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return {
        "seconds": time.perf_counter() - t0,
        "groups": len(rows),
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    }


def work_landuse_qa(folder: Path, tmp: Path) -> dict:
    """gis's parcel QA: read_landuse + parcel_findings (coverage, codes, official areas)."""
    from gis.landuse import read_landuse
    from gis.qa_parcels import parcel_findings

    t0 = time.perf_counter()
    landuse = read_landuse(folder)
    findings = parcel_findings(landuse)
    seconds = time.perf_counter() - t0
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.check] = counts.get(f.check, 0) + 1
    return {"seconds": seconds, "findings": len(findings), "checks": counts}


def _checked(folder: Path):
    from gis.pipeline import run_check

    return run_check(layers_dir=folder / "layers.gpkg", targets_path=folder / "targets.csv")


def work_export_gis(folder: Path, tmp: Path) -> dict:
    from gis.export import export

    run = _checked(folder)
    t0 = time.perf_counter()
    export(run, tmp / "gis.gpkg", overwrite=True)
    return {"seconds": time.perf_counter() - t0, "bytes": (tmp / "gis.gpkg").stat().st_size}


def work_export_raw(folder: Path, tmp: Path) -> dict:
    import pyogrio

    from gis.export import feature_table, target_table

    run = _checked(folder)
    table = feature_table(run).to_crs("EPSG:4547")  # the same frames, prepared untimed
    frames = {name: table[table["layer"] == name].reset_index(drop=True) for name in LAYERS}
    districts, targets = run.districts.to_crs("EPSG:4547"), target_table(run)
    districts.attrs = {}
    path = tmp / "raw.gpkg"
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    for name, gdf in frames.items():
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG", use_arrow=True)
    pyogrio.write_dataframe(districts, path, layer="districts", driver="GPKG", use_arrow=True)
    pyogrio.write_dataframe(targets, path, layer="target_results", driver="GPKG", use_arrow=True)
    return {"seconds": time.perf_counter() - t0, "bytes": path.stat().st_size}


def work_alloc(folder: Path, tmp: Path) -> dict:
    """Allocate and touch GIS_BENCH_ALLOC_MB megabytes: the measurement's own test (tests/test_bench.py)."""
    import numpy as np

    mb = float(os.environ.get("GIS_BENCH_ALLOC_MB", "0"))
    t0 = time.perf_counter()
    block = np.ones(int(mb * 2**20) // 8)
    return {"seconds": time.perf_counter() - t0, "bytes": block.nbytes}


WORKERS = {
    "check_gis": work_check_gis,
    "check_floor": work_check_floor,
    "check_duckdb": work_check_duckdb,
    "check_dask": work_check_dask,
    "check_duckdb_full": work_check_duckdb_full,
    "landuse_gis": work_landuse_gis,
    "landuse_floor": work_landuse_floor,
    "landuse_floor_nocrs": work_landuse_floor_nocrs,
    "landuse_duckdb": work_landuse_duckdb,
    "landuse_qa": work_landuse_qa,
    "export_gis": work_export_gis,
    "export_raw": work_export_raw,
    "alloc": work_alloc,
}


# ----------------------------------------------------------------------------- measuring
def peak_rss_mb() -> float:
    """Return the peak resident memory (MB) of this process, the larger of its own and its children's.

    On Linux, a process's ``ru_maxrss`` starts from its parent's peak: exec folds the memory map
    it replaces (the parent's, shared by vfork or copied by fork) into it, so a worker started by
    a parent that had generated the parcels reported the parent's peak. ``VmHWM`` of
    /proc/self/status is the peak of the process's own memory map, which exec starts afresh:
    nothing of the parent counts. The children's ``ru_maxrss`` (of any subprocess the work
    waited for) is taken as ``/usr/bin/time -v`` takes it, the larger of the two. Elsewhere,
    ``ru_maxrss`` (bytes on macOS, kilobytes on the others).
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):  # no /proc (not Linux)
        unit = 2**20 if sys.platform == "darwin" else 2**10
        return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, children) / unit
    return max(own, children) / 2**10


GNU_TIME = Path("/usr/bin/time")


@functools.cache
def gnu_time() -> bool:
    """Return whether /usr/bin/time is GNU time (``-f %M -o FILE`` writes the peak memory in kB)."""
    try:
        proc = subprocess.run([str(GNU_TIME), "--version"], capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return False
    return "GNU" in proc.stdout + proc.stderr


def measure(task: str, folder: Path, timeout: float = 1800) -> dict:
    """Run one task in a fresh subprocess; return its report (seconds, peak memory) or its failure.

    ``peak_rss_mb`` is the worker's own (:func:`peak_rss_mb`); under GNU time, ``time_v_mb`` is
    that of ``/usr/bin/time -v`` (which forks the worker from its own small process), as a check.
    """
    with tempfile.TemporaryDirectory(prefix="gis-bench-") as tmp:
        cmd = [sys.executable, str(Path(__file__)), "--worker", task, "--folder", str(folder), "--tmp", tmp]
        timed = Path(tmp) / "time-v.txt"
        if gnu_time():
            cmd = [str(GNU_TIME), "-f", "%M", "-o", str(timed), *cmd]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
        if proc.returncode != 0:
            return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:300]}
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        if timed.exists():
            report["time_v_mb"] = int(timed.read_text().split()[-1]) / 2**10
    return report


# ----------------------------------------------------------------------------- stages
def dataset(n: int, seed: int) -> Path:
    """Return the folder of the dataset of n parcels, generated (once) in a subprocess: this process holds no data."""
    proc = subprocess.run(
        [sys.executable, str(HERE / "bench_data.py"), str(n), str(seed)], stdout=subprocess.PIPE, text=True, check=True
    )
    return Path(proc.stdout.strip().splitlines()[-1])


def rounds(tasks: tuple[str, ...], folder: Path, runs: int) -> dict[str, dict]:
    """Measure every task ``runs`` times in rounds, each running every task once in turn; return their summaries.

    A slow spell of a noisy machine then falls on every tool of the round, not on one tool's runs.
    """
    reports: dict[str, list[dict]] = {task: [] for task in tasks}
    for _ in range(runs):
        for task in tasks:
            reports[task].append(measure(task, folder))
    return {task: summary(found) for task, found in reports.items()}


#: What a worker's report measures; each gets a median and the values of the runs.
MEASURES = ("seconds", "peak_rss_mb", "time_v_mb")


def summary(reports: list[dict]) -> dict:
    """Return the medians of the runs that worked, with every run's value (None where one failed: rounds stay aligned)."""
    ok = [r for r in reports if "error" not in r]
    if not ok:
        return {"error": reports[0]["error"]}
    out: dict = {}
    for key in MEASURES:
        values = [r.get(key) for r in reports]
        if any(v is not None for v in values):
            out[key] = statistics.median(v for v in values if v is not None)
            out[f"{key}_runs"] = [None if v is None else round(v, 3) for v in values]
    failed = [r["error"] for r in reports if "error" in r]
    if failed:
        out["failed_runs"] = failed
    return out | {k: v for k, v in ok[0].items() if k not in MEASURES}


def spread(values: list, fmt: str) -> str:
    """Return `` (min-max)`` of the values that are numbers, formatted with ``fmt``; empty for fewer than two."""
    got = [v for v in values if isinstance(v, int | float)]
    return f" ({min(got):{fmt}}-{max(got):{fmt}})" if len(got) > 1 else ""


def stage_check(n: int, folder: Path, runs: int, rows: list, raw: dict) -> None:
    tasks = ("check_gis", "check_floor", "check_duckdb", "check_duckdb_full", "check_dask")
    res = rounds(tasks, folder, runs)
    raw[f"check/{n}"] = res
    gis, floor, duck = res["check_gis"], res["check_floor"], res["check_duckdb"]
    big = n >= 100_000
    rows.append(_row("check: time", n, gis, floor, "seconds", "geopandas floor", 1.2 if big else None, "<= 1.2x floor"))
    rows.append(
        _row(
            "check: time",
            n,
            gis,
            duck,
            "seconds",
            "DuckDB bare query (read, transform, area, group; checks nothing)",
            1.0 if n >= 1_000_000 else None,
            "< 1x DuckDB",
        )
    )
    rows.append(
        _row(
            "check: time",
            n,
            gis,
            res["check_duckdb_full"],
            "seconds",
            "DuckDB doing the check's work (+ ST_IsValid of every polygon, ST_Within its district, per part)",
            None,
            "(info)",
        )
    )
    rows.append(
        _row(
            "check: peak memory",
            n,
            gis,
            floor,
            "peak_rss_mb",
            "geopandas floor",
            1.5 if n >= 1_000_000 else None,
            "<= 1.5x floor",
        )
    )
    rows.append(
        _row("check --engine dask: time", n, res["check_dask"], gis, "seconds", "gis check (pandas)", None, "(info)")
    )


def landuse_dataset(n: int, seed: int) -> Path:
    """Return the folder of the land-use layer of n parcels, generated (once) in a subprocess."""
    proc = subprocess.run(
        [sys.executable, str(HERE / "bench_data.py"), "landuse", str(n), str(seed)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return Path(proc.stdout.strip().splitlines()[-1])


def stage_landuse(n: int, folder: Path, runs: int, rows: list, raw: dict, *, qa: bool) -> None:
    """Land-use layer read and summed per district and class: gis, the geopandas floor, DuckDB; the parcel QA."""
    tasks = ("landuse_gis", "landuse_floor", "landuse_floor_nocrs", "landuse_duckdb") + (("landuse_qa",) if qa else ())
    res = rounds(tasks, folder, runs)
    raw[f"landuse/{n}"] = res
    gis = res["landuse_gis"]
    big = n >= 100_000
    stage = "land use: read + sum per class"
    rows.append(
        _row(stage, n, gis, res["landuse_floor"], "seconds", "geopandas floor", 1.2 if big else None, "<= 1.2x floor")
    )
    rows.append(
        _row(
            stage,
            n,
            gis,
            res["landuse_floor_nocrs"],
            "seconds",
            "geopandas floor without to_crs",
            None,
            "(info)",
        )
    )
    rows.append(
        _row(stage, n, gis, res["landuse_duckdb"], "seconds", "DuckDB spatial", 1.0 if big else None, "< 1x DuckDB")
    )
    rows.append(
        _row(
            "land use: peak memory",
            n,
            gis,
            res["landuse_floor"],
            "peak_rss_mb",
            "geopandas floor",
            None,
            "(info)",
        )
    )
    if qa:
        q = res["landuse_qa"]
        found = f", {q['findings']:,} findings" if "findings" in q else ""
        rows.append(
            {
                "stage": "land use: parcel QA (read + every check)",
                "n": _label(n),
                "gis": _fmt(q, "seconds") + found,
                "alternative": "-",
                "ratio": "-",
                "target": "(info)",
                "met": "-",
            }
        )


def stage_export(n: int, folder: Path, runs: int, rows: list, raw: dict) -> None:
    res = rounds(("export_gis", "export_raw"), folder, runs)
    raw[f"export/{n}"] = res
    rows.append(
        _row(
            "GeoPackage export: time",
            n,
            res["export_gis"],
            res["export_raw"],
            "seconds",
            "raw pyogrio arrow write",
            1.2 if n >= 100_000 else None,
            "<= 1.2x raw",
        )
    )


def stage_map(n: int, runs: int, rows: list, raw: dict) -> None:
    """The web map against explore(): bench_map.py's method, with a size/time limit for explore."""
    sys.path.insert(0, str(HERE))
    import bench_map

    from gis.read import read_districts

    gdf = bench_map.synthetic_layer(n)
    districts = read_districts(REPO / "layers" / "districts.geojson")
    tmp = Path(tempfile.mkdtemp(prefix="gis-bench-map-"))
    paths = {"ours": tmp / "ours.html", "explore": tmp / "explore.html"}
    builds: dict[str, list[float]] = {"ours": [], "explore": []}
    explore_error = None
    for _ in range(runs):
        run, _secs = bench_map.check_run(gdf, districts)
        builds["ours"].append(bench_map.build_ours(run, paths["ours"]))
        if explore_error is None:
            try:
                builds["explore"].append(bench_map.build_explore(gdf, paths["explore"]))
            except MemoryError as exc:
                explore_error = f"build failed: {exc}"
    size = {k: p.stat().st_size for k, p in paths.items() if p.exists()}
    draws: dict[str, list[float] | str] = {}
    for name in paths:
        if name not in size:
            continue
        try:
            draws[name] = bench_map.draw_times({name: paths[name]}, n, runs if n <= 10_000 else 1)[name]
        except Exception as exc:  # a page Chromium cannot draw in the time limit
            draws[name] = f"not drawn: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    raw[f"map/{n}"] = {
        "bytes": size,
        "build_s": {k: statistics.median(v) for k, v in builds.items() if v},
        "build_s_runs": builds,
        "draw_s": {k: statistics.median(v) if isinstance(v, list) else v for k, v in draws.items()},
        "draw_s_runs": draws,
        "explore_error": explore_error,
    }

    def secs(values: list[float], digits: int = 2) -> str:
        return f"{statistics.median(values):.{digits}f} s{spread(values, f'.{digits}f')}"

    ours_b, exp_b = size.get("ours"), size.get("explore")
    b_ours, b_exp = builds["ours"], builds["explore"]
    d_ours, d_exp = draws.get("ours"), draws.get("explore")
    if n <= 10_000:
        rows.append(
            _simple(
                "map: page size",
                n,
                f"{ours_b / 1e6:.2f} MB",
                f"{exp_b / 1e6:.2f} MB" if exp_b else explore_error,
                ours_b / exp_b if exp_b else None,
                [],
                0.25,
                "<= 25 % of explore",
            )
        )
        rows.append(
            _simple(
                "map: build time",
                n,
                secs(b_ours),
                secs(b_exp) if b_exp else "-",
                statistics.median(b_ours) / statistics.median(b_exp) if b_exp else None,
                [a / b for a, b in zip(b_ours, b_exp, strict=False)],  # the same round's builds
                0.20,
                "<= 20 % of explore",
            )
        )
    else:
        drawn = isinstance(d_ours, list)
        rows.append(
            {
                "stage": "map: page size, drawn by Chromium",
                "n": _label(n),
                "gis": f"{ours_b / 1e6:.1f} MB, " + (f"drawn in {secs(d_ours, 1)}" if drawn else str(d_ours)),
                "alternative": "explore(): "
                + (f"{exp_b / 1e6:.0f} MB, " if exp_b else "")
                + (f"drawn in {secs(d_exp, 1)}" if isinstance(d_exp, list) else str(d_exp or explore_error)),
                "ratio": f"{ours_b / exp_b:.1%}" if exp_b else "-",
                "target": "<= 50 MB and drawn",
                "met": "yes" if drawn and ours_b <= 50e6 else "no",
            }
        )
    if isinstance(d_ours, list) and n <= 10_000:
        rows.append(
            _simple(
                "map: draw time (Chromium)",
                n,
                secs(d_ours),
                secs(d_exp) if isinstance(d_exp, list) else str(d_exp),
                statistics.median(d_ours) / statistics.median(d_exp) if isinstance(d_exp, list) else None,
                [],  # each page's draws are runs of their own: no rounds to pair
                None,
                "(info)",
            )
        )


def stage_build(runs: int, rows: list, raw: dict) -> None:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run(
                [
                    str(Path(sys.executable).parent / "gis"),
                    "build",
                    "--out-dir",
                    f"{tmp}/out",
                    "--maps-dir",
                    f"{tmp}/maps",
                ],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    raw["build"] = {"seconds": med, "runs": times}
    rows.append(
        {
            "stage": "gis build (shipped layers, whole command)",
            "n": "87",
            "gis": f"{med:.1f} s{spread(times, '.1f')}",
            "alternative": "-",
            "ratio": "-",
            "target": "< 10 s",
            "met": "yes" if med < 10 else "no",
        }
    )


def _fmt(res: dict, key: str) -> str:
    if "error" in res:
        return f"failed: {res['error']}"
    runs = res[f"{key}_runs"]
    if key == "seconds":
        return f"{res[key]:.2f} s{spread(runs, '.2f')}"
    return f"{res[key]:.0f} MB{spread(runs, '.0f')}"


def _row(stage, n, ours, alt, key, alt_name, target, target_text) -> dict:
    """A row comparing ``ours`` with ``alt``: the ratio of the medians, the range of the ratios within each round."""
    ratio = ours[key] / alt[key] if "error" not in ours and "error" not in alt else None
    paired = (
        [a / b for a, b in zip(ours[f"{key}_runs"], alt[f"{key}_runs"], strict=True) if a is not None and b]
        if ratio is not None
        else []
    )
    met = (
        "-"
        if target is None or ratio is None
        else ("yes" if (ratio < target if target == 1.0 else ratio <= target) else "no")
    )
    return {
        "stage": stage,
        "n": _label(n),
        "gis": _fmt(ours, key),
        "alternative": f"{alt_name}: {_fmt(alt, key)}",
        "ratio": f"{ratio:.2f}x{spread(paired, '.2f')}" if ratio is not None else "-",
        "target": target_text if target or target_text == "(info)" else f"({target_text} at scale)",
        "met": met,
    }


def _simple(stage, n, ours, alt, ratio, paired, target, target_text) -> dict:
    met = "-" if target is None or ratio is None else ("yes" if ratio <= target else "no")
    return {
        "stage": stage,
        "n": _label(n),
        "gis": ours,
        "alternative": f"explore(): {alt}",
        "ratio": f"{ratio:.1%}{spread([100 * p for p in paired], '.1f')}" if ratio is not None else "-",
        "target": target_text,
        "met": met,
    }


def time_v_agreement(raw: dict) -> float | None:
    """Return the largest difference (per cent) between a worker's own peak memory and /usr/bin/time -v's, if measured."""
    diffs = [
        abs(own - timed) / timed * 100
        for stage in raw.values()
        if isinstance(stage, dict)
        for res in stage.values()
        if isinstance(res, dict) and "time_v_mb_runs" in res
        for own, timed in zip(res["peak_rss_mb_runs"], res["time_v_mb_runs"], strict=True)
        if own is not None and timed
    ]
    return max(diffs) if diffs else None


def markdown(rows: list, meta: dict) -> str:
    head = "| stage | n | gis | alternative | ratio | target | met? |\n|---|---:|---:|---|---:|---|---|\n"
    body = "".join(
        f"| {r['stage']} | {r['n']} | {r['gis']} | {r['alternative']} | {r['ratio']} | {r['target']} | {r['met']} |\n"
        for r in rows
    )
    agreement = meta.get("time_v_max_diff_pct")
    memory = "Peak memory: each worker's own (VmHWM), " + (
        f"within {agreement:.1f} % of /usr/bin/time -v's on every run."
        if agreement is not None
        else "not checked against /usr/bin/time -v (GNU time not installed)."
    )
    load = meta.get("load")
    return (
        f"Machine: {meta['machine']}"
        + (f"; load average {load['start']:.2f} at the start, {load['end']:.2f} at the end" if load else "")
        + f". {meta['runs']} rounds, each running every tool of a stage once, in turn, each in a fresh process: "
        "medians, with the range of the runs (min-max); a ratio is of the medians, with the range of the ratios "
        f"within a round. {memory}\n\n" + head + body
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,10k,100k,1M")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stages", default="check,landuse,export,map,build")
    parser.add_argument(
        "--qa-sizes", default="100k,1M", help="sizes at which the landuse stage also times the parcel QA"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 1k and 10k, one run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        report = WORKERS[args.worker](args.folder, args.tmp)
        report["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(report))
        return
    sizes = [1_000, 10_000] if args.quick else [_size(s) for s in args.sizes.split(",")]
    runs = 1 if args.quick else args.runs
    stages = args.stages.split(",")
    rows: list[dict] = []
    raw: dict = {}
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    load_start = os.getloadavg()[0]  # over the last minute: a busy machine shows here
    qa_sizes = {_size(s) for s in args.qa_sizes.split(",") if s}
    needs_layers = any(stage in stages for stage in ("check", "export", "map"))
    for n in sizes:
        if "landuse" in stages:
            t0 = time.perf_counter()
            lu_folder = landuse_dataset(n, args.seed)
            print(
                f"land use {_label(n)}: {lu_folder.relative_to(REPO)} ({time.perf_counter() - t0:.0f} s)",
                file=sys.stderr,
            )
            stage_landuse(n, lu_folder, runs, rows, raw, qa=n in qa_sizes)
        if not needs_layers:
            continue
        t0 = time.perf_counter()
        folder = dataset(n, args.seed)
        print(f"data {_label(n)}: {folder.relative_to(REPO)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        if "check" in stages:
            stage_check(n, folder, runs, rows, raw)
        if "export" in stages:
            stage_export(n, folder, runs, rows, raw)
        if "map" in stages and 10_000 <= n <= 100_000:
            stage_map(n, runs, rows, raw)
        so_far = {"machine": machine, "runs": runs, "time_v_max_diff_pct": time_v_agreement(raw)}
        print(markdown(rows, so_far), file=sys.stderr)
    if "build" in stages:
        stage_build(runs, rows, raw)
    meta = {
        "machine": machine,
        "load": {"start": load_start, "end": os.getloadavg()[0]},
        "runs": runs,
        "sizes": sizes,
        "time_v_max_diff_pct": time_v_agreement(raw),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "raw": raw}, indent=1) + "\n", encoding="utf-8"
    )
    text = markdown(rows, meta)
    (OUT / "bench.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
