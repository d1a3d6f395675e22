from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def test_layers(tmp_path: Path) -> Path:
    """A writable copy of tests/data/layers."""
    dest = tmp_path / "layers"
    shutil.copytree(DATA / "layers", dest)
    return dest


def wavy_districts(codes: tuple[str, ...] = ("440307", "440309", "440310")) -> gpd.GeoDataFrame:
    """Districts side by side, in lon/lat, with irregular boundaries of many vertices as real ones have.

    Each is a 40 km wide strip of EPSG:4547 (x from 440 km, y 2490-2530 km) between two north-south
    lines that wave 2 km either way, with a vertex every 20 m; neighbours share their border exactly.
    """
    ys = np.linspace(2_490_000.0, 2_530_000.0, 2001)

    def border(x: float) -> list[tuple[float, float]]:
        return [(x + 2000.0 * np.sin((y - ys[0]) / 3000.0), y) for y in ys]

    borders = [border(440_000.0 + 40_000.0 * i) for i in range(len(codes) + 1)]
    polygons = [shapely.Polygon(borders[i] + borders[i + 1][::-1]) for i in range(len(codes))]
    assert all(p.is_valid for p in polygons)
    return gpd.GeoDataFrame({"district": list(codes)}, geometry=polygons, crs="EPSG:4547").to_crs("EPSG:4326")
