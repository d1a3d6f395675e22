"""Parcel QA of the land-use layer: overlaps, gaps, invalid outlines, codes and official areas, each known exactly.

Parcels are rectangles in EPSG:4547 inside the test district (440307, x 520-540 km, y 2505-2525 km),
so every overlap and gap area is known; official areas are the geodesic areas of pyproj.Geod on
CGCS2000 (ellipsoidal, as 三调 TBMJ) or the planar ones, off by known amounts where a finding is due.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from click.testing import CliRunner

from gis import settings
from gis.cli import cli
from gis.landuse import read_landuse
from gis.pipeline import run_qa
from gis.qa_parcels import ellipsoidal_m2, invalid_edges, parcel_findings

X0, Y0 = 521_000.0, 2_506_000.0
GEOD = pyproj.CRS("EPSG:4490").get_geod()
TO_LONLAT = pyproj.Transformer.from_crs("EPSG:4547", "EPSG:4490", always_xy=True)


def rect(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def geodesic_m2(geom: shapely.Geometry) -> float:
    """The area on the CGCS2000 ellipsoid: the outline densified to 1 m, in lon/lat, by pyproj.Geod."""
    dense = shapely.segmentize(geom, 1.0)
    lonlat = shapely.transform(dense, lambda c: np.column_stack(TO_LONLAT.transform(c[:, 0], c[:, 1])))
    return abs(GEOD.geometry_area_perimeter(lonlat)[0])


def grid() -> list[tuple[str, str, shapely.Polygon]]:
    """A 4 x 4 grid of 30 m parcels G<col><row>; G11 ends 2 m short of G21: a 2 m x 30 m gap (60 m²)."""
    out = []
    for col in range(4):
        for row in range(4):
            w = 28.0 if (col, row) == (1, 1) else 30.0
            out.append((f"G{col}{row}", "100101", rect(30 * col, 30 * row, w, 30)))
    return out


#: parcel id, 用地用海 code, outline
PARCELS = [
    *grid(),
    ("OV-A", "100101", rect(200, 0, 30, 30)),
    ("OV-B", "100101", rect(220, 0, 30, 30)),  # overlaps OV-A by 10 x 30 = 300 m²
    ("CT-OUT", "1101", rect(300, 0, 60, 60)),
    ("CT-IN", "1101", rect(310, 10, 10, 10)),  # wholly inside CT-OUT: 100 m²
    ("GP-A", "1401", rect(400, 0, 30, 30)),
    ("GP-B", "1401", rect(431, 0, 30, 30)),  # a 1 m strip between them, open at both ends: 30 m²
    ("WG-A", "1401", rect(500, 0, 30, 30)),
    ("WG-B", "1401", rect(540, 0, 30, 30)),  # 10 m apart: wider than QA_GAP_M, no gap
    ("TO-A", "1401", rect(600, 0, 30, 30)),
    ("TO-B", "1401", rect(629.99, 0, 30, 30)),  # overlaps TO-A by 0.3 m²: noise
    ("UK-1", "9999", rect(700, 0, 30, 30)),  # no such code in 用地用海
    ("CO-1", "10", rect(800, 0, 30, 30)),  # 工矿用地: industrial or mining
    ("BW", "1401", shapely.Polygon([(X0 + 900, Y0), (X0 + 930, Y0 + 30), (X0 + 930, Y0), (X0 + 900, Y0 + 30)])),
]
#: Parcels of another district over OV-A: districts are checked one by one.
OTHER_DISTRICT = [("LH-1", "100101", rect(200, 0, 30, 30))]
#: parcel id -> the official area's offset from the computed one (m²); every other parcel's is exact.
OFFSETS = {"G00": 18.0, "G01": 5.0, "G02": -0.5, "GP-A": -9.5}


def frame(kind: str = "ellipsoidal") -> gpd.GeoDataFrame:
    rows = PARCELS + OTHER_DISTRICT
    geoms = [r[2] for r in rows]
    exact = [geodesic_m2(g) if kind == "ellipsoidal" else g.area for g in geoms]
    return gpd.GeoDataFrame(
        {
            "parcel_id": [r[0] for r in rows],
            "code": [r[1] for r in rows],
            "code_system": "yongdi",
            "district": ["440307"] * len(PARCELS) + ["440309"] * len(OTHER_DISTRICT),
            "official_m2": [a + OFFSETS.get(r[0], 0.0) for r, a in zip(rows, exact, strict=True)],
            "official_kind": kind,
        },
        geometry=geoms,
        crs="EPSG:4547",
    )


@pytest.fixture
def layers(test_layers: Path) -> Path:
    frame().to_parquet(test_layers / "landuse.parquet")
    return test_layers


def by_check(findings, check: str) -> dict:
    return {(f.fid, f.other_fid): f for f in findings if f.check == check}


def test_overlaps_per_pair_with_their_area(layers: Path) -> None:
    landuse = read_landuse(layers)
    assert landuse is not None
    overlaps = by_check(parcel_findings(landuse), "parcel_overlap")
    assert set(overlaps) == {("OV-A", "OV-B"), ("CT-IN", "CT-OUT")}  # TO-A/TO-B: 0.3 m², noise; LH-1 elsewhere
    assert overlaps["OV-A", "OV-B"].area_m2 == pytest.approx(300.0)
    assert overlaps["CT-IN", "CT-OUT"].area_m2 == pytest.approx(100.0)
    assert "100.0% of it" in overlaps["CT-IN", "CT-OUT"].message
    for f in overlaps.values():
        assert f.severity == "warning" and f.layer == "landuse" and f.other_layer == "landuse"
        assert 113.7 < f.geometry.centroid.x < 114.7 and 22.3 < f.geometry.centroid.y < 22.9


def test_gaps_with_their_area_naming_the_parcels_around(layers: Path) -> None:
    landuse = read_landuse(layers)
    assert landuse is not None
    gaps = by_check(parcel_findings(landuse), "parcel_gap")
    assert set(gaps) == {("G11", "G21"), ("GP-A", "GP-B")}  # WG-A/WG-B are 10 m apart: no gap
    assert gaps["G11", "G21"].area_m2 == pytest.approx(60.0)
    message = gaps["G11", "G21"].message
    assert "parcel(s) G21, G10, G12:" in message  # its ends touch G10 and G12; G20, G22 only at a corner
    assert "about 2.00 m wide" in gaps["G11", "G21"].message
    assert gaps["GP-A", "GP-B"].area_m2 == pytest.approx(30.0)


def test_codes_unknown_and_too_coarse(layers: Path) -> None:
    landuse = read_landuse(layers)
    assert landuse is not None
    findings = parcel_findings(landuse)
    unknown = by_check(findings, "unknown_code")
    assert list(unknown) == [("UK-1", None)]
    assert "'9999' is no code of yongdi" in unknown["UK-1", None].message
    coarse = by_check(findings, "code_too_coarse")
    assert list(coarse) == [("CO-1", None)]
    message = coarse["CO-1", None].message
    assert "code 10 (工矿用地)" in message and "industrial, mining" in message and "1001 工业用地" in message


def test_a_layer_of_mostly_unknown_codes_questions_its_code_system(test_layers: Path) -> None:
    gdf = frame()
    gdf["code_system"] = "shenzhen"  # 用地用海 codes read as Shenzhen's: nearly none exists there
    gdf.to_parquet(test_layers / "landuse.parquet")
    landuse = read_landuse(test_layers)
    assert landuse is not None
    layer_wide = [f for f in parcel_findings(landuse) if f.check == "unknown_code" and f.fid is None]
    assert len(layer_wide) == 1 and "is the layer's code_system right?" in layer_wide[0].message


@pytest.mark.parametrize("kind", ["ellipsoidal", "planar"])
def test_official_areas_off_by_known_amounts(test_layers: Path, kind: str) -> None:
    frame(kind).to_parquet(test_layers / "landuse.parquet")
    landuse = read_landuse(test_layers)
    assert landuse is not None
    off = {f.fid: f for f in parcel_findings(landuse) if f.check == "official_area"}
    # G00 +18 m² (2 %) and GP-A -9.5 m² (1.06 %); G01 +5 m² is 0.56 %, G02 0.5 m²: within tolerance.
    # BW (a bowtie) has an invalid outline, so no area to compare: a finding of its own
    assert set(off) == {"G00", "GP-A"}
    assert off["G00"].area_m2 == pytest.approx(18.0, abs=0.01)
    assert off["GP-A"].area_m2 == pytest.approx(9.5, abs=0.01)
    assert off["G00"].field == "official_m2" and "+18.00 m²" in off["G00"].message
    assert ("CGCS2000 ellipsoid" in off["G00"].message) == (kind == "ellipsoidal")


def test_an_invalid_outline_is_named_and_left_out_of_the_coverage(layers: Path) -> None:
    landuse = read_landuse(layers)
    assert landuse is not None
    findings = parcel_findings(landuse)
    invalid = by_check(findings, "parcel_invalid")
    assert list(invalid) == [("BW", None)] and "Self-intersection" in invalid["BW", None].message
    assert not [f for f in findings if f.check in ("parcel_overlap", "parcel_gap") and "BW" in (f.fid, f.other_fid)]


@pytest.mark.parametrize("size", [30.0, 300.0, 1000.0, 3000.0])
def test_ellipsoidal_area_equals_pyproj_geod(size: float) -> None:
    """Planar area over the areal scale factor against pyproj.Geod on CGCS2000, across the districts' frame."""
    rng = np.random.default_rng(int(size))
    xs, ys = rng.uniform(440_000, 580_000, 8), rng.uniform(2_475_000, 2_540_000, 8)
    geoms = np.array([shapely.box(x, y, x + size, y + size * 0.7) for x, y in zip(xs, ys, strict=True)])
    geoms[0] = shapely.Polygon([(xs[0], ys[0]), (xs[0] + size, ys[0] + size / 3), (xs[0] + size / 2, ys[0] + size)])
    fast = ellipsoidal_m2(geoms)
    exact = np.array([geodesic_m2(g) for g in geoms])
    np.testing.assert_allclose(fast, exact, rtol=1e-6)
    assert np.all(np.abs(fast / shapely.area(geoms) - 1) < 2e-4)  # and the planar area is close: < 0.02 %


def test_invalid_edges_in_strips_equal_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coverage validated in strips on threads gives GEOS's edges of one call, parcel by parcel."""
    rng = np.random.default_rng(1)
    n = 120
    xs, ys = (a.ravel() * 30.0 for a in np.meshgrid(np.arange(n), np.arange(n)))
    jitter = np.where(rng.random(len(xs)) < 0.02, rng.uniform(-2, 2, len(xs)), 0.0)
    geoms = shapely.box(xs, ys, xs + 30 + jitter, ys + 30)
    monkeypatch.setenv("GIS_THREADS", "2")
    strips = invalid_edges(geoms, settings.QA_GAP_M)
    whole = shapely.coverage_invalid_edges(geoms, gap_width=settings.QA_GAP_M)
    assert (~shapely.is_empty(whole)).sum() > 100
    assert shapely.equals(strips, whole).all() or np.array_equal(shapely.is_empty(strips), shapely.is_empty(whole))
    assert all(shapely.equals(a, b) for a, b in zip(strips, whole, strict=True) if not a.is_empty)


def test_gis_qa_lists_the_parcel_findings(layers: Path, tmp_path: Path) -> None:
    report = run_qa(layers)
    mine = [f for f in report.findings if f.layer == "landuse"]
    checks = sorted({f.check for f in mine})
    assert checks == [
        "code_too_coarse",
        "official_area",
        "parcel_gap",
        "parcel_invalid",
        "parcel_overlap",
        "unknown_code",
    ]
    assert not report.errors and report.landuse is not None
    assert report.features == 10 + len(PARCELS) + len(OTHER_DISTRICT)
    out = tmp_path / "qa.csv"
    result = CliRunner().invoke(cli, ["qa", "--layers", str(layers), "-f", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = out.read_text(encoding="utf-8-sig")
    assert table.count("\nwarning,parcel_overlap,landuse,") == 2
    assert "warning,parcel_gap,landuse,G11,geometry,landuse,G21,60.0," in table
    assert "parcel_overlap 2" in result.output and "parcel_gap 2" in result.output  # the summary counts them


def test_an_unreadable_landuse_layer_is_an_error_finding(test_layers: Path) -> None:
    gdf = frame()
    gdf.loc[0, "district"] = "440304"
    gdf.to_parquet(test_layers / "landuse.parquet")
    report = run_qa(test_layers)
    errors = [f for f in report.errors if f.check == "landuse_layer"]
    assert len(errors) == 1 and errors[0].message.startswith("field district is not one of")
    assert errors[0].source.endswith("landuse.parquet") and report.landuse is None
