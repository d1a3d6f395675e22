"""The benchmark's measurement of peak memory (scripts/bench.py): each worker's own, nothing of its parent's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gis_bench_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and the like look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the inherited ru_maxrss is Linux's")
def test_a_worker_reports_its_own_peak_memory_not_its_parents(bench, monkeypatch, tmp_path):
    """A parent holding 500 MB starts workers through measure(): the one allocating little reports
    little, the one allocating 200 MB at least 200 MB, and /usr/bin/time -v (if installed) agrees
    within 5 %."""
    parent = np.ones(500 * 2**20 // 8)  # 500 MB, touched: this process's peak is above it
    monkeypatch.setenv("GIS_BENCH_ALLOC_MB", "1")
    small = bench.measure("alloc", tmp_path, timeout=60)
    monkeypatch.setenv("GIS_BENCH_ALLOC_MB", "200")
    large = bench.measure("alloc", tmp_path, timeout=60)
    assert parent.sum() > 0  # the parent still holds it
    assert "error" not in small and "error" not in large, (small, large)
    assert small["peak_rss_mb"] < 150, small  # Python and numpy; the old ru_maxrss gave the parent's > 500
    assert large["peak_rss_mb"] >= 200, large
    assert large["peak_rss_mb"] - small["peak_rss_mb"] == pytest.approx(200, abs=20)
    if bench.gnu_time():
        for report in (small, large):
            assert report["peak_rss_mb"] == pytest.approx(report["time_v_mb"], rel=0.05), report


def test_the_landuse_stage_runs_on_a_small_layer(bench, tmp_path, monkeypatch):
    """The land-use layer of the bench (a clean grid coverage with seeded defects) and its workers."""
    data = importlib.util.spec_from_file_location("gis_bench_data", SCRIPT.parent / "bench_data.py")
    assert data is not None and data.loader is not None
    module = importlib.util.module_from_spec(data)
    data.loader.exec_module(module)
    gdf = module.landuse_parcels(3000, seed=1)
    assert len(gdf) == 3000 and gdf["parcel_id"].is_unique and set(gdf["district"]) == {"440307", "440309", "440310"}
    assert gdf.crs == "EPSG:4547" and abs(gdf.area.median() - 900.0) < 1e-6  # 30 m cells
    module.write_landuse(gdf, tmp_path)
    ours, floor = bench.work_landuse_gis(tmp_path, tmp_path), bench.work_landuse_floor(tmp_path, tmp_path)
    assert ours["groups"] > 30 and ours["seconds"] > 0 and floor["groups"] == ours["groups"]
    if importlib.util.find_spec("duckdb_extension_spatial"):  # the bench extra
        assert bench.work_landuse_duckdb(tmp_path, tmp_path)["groups"] > 30  # the same parcels, WKB-encoded
    qa = bench.work_landuse_qa(tmp_path, tmp_path)
    assert qa["checks"].get("official_area", 0) > 0 and qa["checks"].get("unknown_code", 0) > 0
