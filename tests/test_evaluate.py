from __future__ import annotations

import pandas as pd
import pytest

from gis import settings
from gis.errors import InputError
from gis.evaluate import check_targets, compare
from gis.join import validate_join
from gis.measure import measure_features
from gis.read import read_layers, read_targets
from gis.results import exit_code


@pytest.mark.parametrize(
    ("comparator", "planned", "measured", "tol", "half", "status"),
    [
        ("approx", 703, 703.49, 10, 0.5, "met"),
        ("approx", 703, 703.51, 10, 0.5, "within tolerance"),
        ("approx", 100, 90, 10, 0.5, "within tolerance"),
        ("approx", 100, 89.9, 10, 0.5, "short"),
        ("approx", 100, 110.1, 10, 0.5, "over"),
        ("approx", 0.4555, 0.45555, 10, 0.00005, "met"),
        ("approx", 4, 4.47, 10, 0.5, "over"),  # rounds to 4, but misses by 11.8 %
        ("approx", 1, 0.96, 10, 0.5, "met"),
        ("at_least", 400, 400, 10, 0, "met"),
        ("at_least", 400, 361, 10, 0, "within tolerance"),
        ("at_least", 400, 359, 10, 0, "short"),
        ("more_than", 6000, 6000, 10, 0, "within tolerance"),
        ("more_than", 6000, 6000.01, 10, 0, "met"),
        ("more_than", 6000, 100, 10, 0, "short"),
        ("at_most", 8, 8, 5, 0, "met"),
        ("at_most", 8, 8.3, 5, 0, "within tolerance"),
        ("at_most", 8, 9, 5, 0, "over"),
    ],
)
def test_compare(comparator, planned, measured, tol, half, status):
    assert compare(comparator, planned, measured, tolerance_pct=tol, half_step=half) == status


def test_compare_unknown_comparator():
    with pytest.raises(ValueError, match="unknown comparator"):
        compare("roughly", 1, 1, tolerance_pct=0)


@pytest.fixture
def checked(test_layers):
    features = measure_features(read_layers(test_layers))
    targets = read_targets(test_layers / "targets.csv")
    notes = validate_join(features, targets)
    return check_targets(features, targets).set_index("target_id"), notes


EXPECTED = {
    "TT-01": "met",
    "TT-02": "within tolerance",
    "TT-03": "short",
    "TT-04": "met",
    "TT-05": "over",
    "TT-06": "within tolerance",
    "TT-07": "not checkable by area",
    "TT-08": "met",
    "TT-09": "met",
    "TT-10": "no polygon",
    "TT-11": "no polygon",
    "TT-12": "met",
    "TT-13": "met",
    "TT-14": "within tolerance",
    "TT-15": "met",
    "TT-16": "met",
}


def test_every_status_on_known_data(checked):
    results, _ = checked
    for tid, status in EXPECTED.items():
        assert results.loc[tid, "status"] == status, tid
    # the statuses of targets on a land-use or control-line layer: tests/test_landuse.py
    assert set(results["status"]) == set(settings.STATUSES) - {settings.NO_LANDUSE, settings.NO_CONTROL}


def test_measured_values_and_units(checked):
    results, _ = checked
    assert results.loc["TT-04", "planned"] == pytest.approx(20)  # 0.2 km2 in ha
    assert results.loc["TT-05", "planned"] == pytest.approx(8)  # 80000 m2 in ha
    assert results.loc["TT-02", "measured"] == pytest.approx(36, rel=1e-6)
    assert results.loc["TT-02", "delta_pct"] == pytest.approx(-10, abs=1e-4)
    assert results.loc["TT-14", "measured"] == pytest.approx(
        4.4, rel=1e-6
    )  # union: the nested site is not counted twice
    assert results.loc["TT-08", "measured"] == pytest.approx(2.0)
    assert results.loc["TT-08", "unit"] == "ratio"
    assert pd.isna(results.loc["TT-07", "measured"]) and pd.isna(results.loc["TT-10", "delta"])
    assert results.loc["TT-09", "name_zh"] == "龙岗区土地整备片区 (consolidation)"


def test_derived_consistency_checks(checked):
    results, _ = checked
    assert results.loc["TT-02:planned_le_parent", "status"] == "met"  # 40 <= 100
    assert results.loc["TT-03:planned_le_parent", "planned"] == pytest.approx(40)  # reserve vs consolidation
    assert results.loc["TT-11:planned_le_parent", "status"] == "met"  # a part with no polygon vs its park
    for fid in ("TT-CZ-01-C", "TT-CZ-01-R", "TT-RU-01-D", "TT-IL-01-01"):
        assert results.loc[f"{fid}:within_parent", "status"] == "met"


def test_part_outside_parent_and_part_larger_than_parent(test_layers):
    import json

    path = test_layers / "renewal_units.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"][1]["geometry"] = doc["features"][0]["geometry"]  # demolition = whole unit ...
    coords = doc["features"][1]["geometry"]["coordinates"][0]
    doc["features"][1]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[x + 0.003, y] for x, y in coords]],
    }  # ... moved ~300 m east
    path.write_text(json.dumps(doc), encoding="utf-8")
    t = (
        (test_layers / "targets.csv")
        .read_text(encoding="utf-8")
        .replace(
            "TT-16,feature,TT-RU-01,demolition,440307,renewal_units,area,approx,9,",
            "TT-16,feature,TT-RU-01,demolition,440307,renewal_units,area,approx,30,",
        )
    )
    (test_layers / "targets.csv").write_text(t, encoding="utf-8")
    features = measure_features(read_layers(test_layers))
    targets = read_targets(test_layers / "targets.csv")
    results = check_targets(features, targets).set_index("target_id")
    assert results.loc["TT-RU-01-D:within_parent", "status"] == "short"
    assert 30 < results.loc["TT-RU-01-D:within_parent", "measured"] < 60
    assert results.loc["TT-16:planned_le_parent", "status"] == "over"  # 30 ha demolition in a 20 ha unit


def test_features_without_target_are_noted(checked):
    _, notes = checked
    assert sorted(n.split("feature ")[1].split(" ")[0] for n in notes) == ["TT-IL-01", "TT-PK-02"]


def test_join_errors_are_collected(test_layers):
    features = measure_features(read_layers(test_layers))
    path = test_layers / "targets.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[df["target_id"] == "TT-01", "fid"] = "TT-CZ-99"
    df.loc[df["target_id"] == "TT-12", "layer"] = "industrial_land"
    df.loc[df["target_id"] == "TT-13", "district"] = "440310"
    df = df[df["target_id"] != "TT-07"]  # the plot ratio loses its floor area
    df.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        validate_join(features, read_targets(path), targets_path="targets.csv")
    text = str(err.value)
    assert "target TT-01: field fid is 'TT-CZ-99', which is no feature of any layer" in text
    assert "target TT-12: field layer is 'industrial_land' but feature TT-PK-01 is in layer 'parks'" in text
    assert "target TT-13: field district is '440310'" in text
    assert "target TT-08: a plot_ratio needs a floor_area row for fid TT-RU-01" in text


def test_exit_code(checked):
    results, _ = checked
    assert exit_code(results) == 1
    ok = results[~results["status"].isin(["short", "over"])]
    assert exit_code(ok) == 0


def test_ambiguous_part_is_an_error(test_layers):
    import json

    path = test_layers / "industrial_land.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    second = json.loads(json.dumps(doc["features"][1]))
    second["properties"]["fid"] = "TT-IL-01-02"
    second["geometry"]["coordinates"] = [[[x, y + 0.0006] for x, y in second["geometry"]["coordinates"][0]]]
    doc["features"].append(second)
    path.write_text(json.dumps(doc), encoding="utf-8")
    t = (test_layers / "targets.csv").read_text(
        encoding="utf-8"
    ) + "TT-17,feature,TT-IL-01,site,440307,industrial_land,area,approx,0.5,ha,10,,test,row 17,ambiguous\n"
    (test_layers / "targets.csv").write_text(t, encoding="utf-8")
    features = measure_features(read_layers(test_layers))
    with pytest.raises(
        InputError, match=r"fid TT-IL-01 with part site matches several features \(TT-IL-01-01, TT-IL-01-02\)"
    ):
        validate_join(features, read_targets(test_layers / "targets.csv"))


def test_feature_outside_its_district_is_reported(test_layers):
    import json

    path = test_layers / "parks.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    ring = doc["features"][1]["geometry"]["coordinates"][0]
    doc["features"][1]["geometry"]["coordinates"] = [
        [[x - 0.06, y] for x, y in ring]
    ]  # ~6 km west: outside the 20 km test district
    path.write_text(json.dumps(doc), encoding="utf-8")
    layers = read_layers(test_layers)
    results = check_targets(
        measure_features(layers), read_targets(test_layers / "targets.csv"), districts=layers["districts"]
    )
    row = results.set_index("target_id").loc["TT-PK-02:within_district"]
    assert row["status"] == "short" and row["measured"] < 1
    assert "TT-PK-01:within_district" not in set(results["target_id"])


def test_district_shares_near_the_boundary_equal_the_exact_test():
    """The lon/lat pre-test (district shrunk by INNER_MARGIN_M) gives the shares of the exact test in
    EPSG:4547: squares on, just inside (1-40 m), and just outside the boundary, small and large."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from gis.measure import measure_geometries, project
    from gis.spatial import INNER_MARGIN_M, district_shares
    from tests.conftest import wavy_districts

    districts = wavy_districts()  # boundaries that bend both ways, a vertex every 20 m
    code = "440307"
    district = project(districts[districts["district"] == code].geometry)[0]
    ring = shapely.get_exterior_ring(max(shapely.get_parts(district), key=lambda g: g.area))
    centre = district.representative_point()
    squares = []
    for t in np.linspace(0, ring.length, 60, endpoint=False):
        p = ring.interpolate(t)
        dx, dy = centre.x - p.x, centre.y - p.y
        norm = np.hypot(dx, dy)
        for shift in (-15.0, 0.0, 1.0, 6.0, INNER_MARGIN_M + 0.5, 25.0, 40.0, 300.0):
            for half in (3.0, 30.0, 800.0):  # 800: over GEODESIC_EXACT_M across, the exact test only
                x, y = p.x + dx / norm * (shift + half), p.y + dy / norm * (shift + half)
                squares.append(shapely.box(x - half, y - half, x + half, y + half))
    geoms = gpd.GeoSeries(squares, crs="EPSG:4547").to_crs("EPSG:4326")
    features = gpd.GeoDataFrame({"district": [code] * len(geoms)}, geometry=geoms)
    got = district_shares(features, districts, measured=measure_geometries(geoms)).to_numpy()
    projected = project(geoms)
    inside = shapely.contains_properly(district, projected)
    expected = np.where(
        inside, 100.0, shapely.area(shapely.intersection(projected, district)) / shapely.area(projected) * 100
    )
    np.testing.assert_array_equal(got, expected)
    assert 0 < inside.mean() < 1 and ((expected > 0) & (expected < 100)).any()


def test_overlap_candidates_are_the_pairs_of_meeting_bounds():
    """Overlapping and touching bounds pair up within a group; empty geometries (NaN bounds) never do."""
    import numpy as np

    from gis.spatial import overlap_candidates

    nan = float("nan")
    bounds = np.array(
        [
            [0, 0, 1, 1],
            [1, 1, 2, 2],
            [3, 3, 4, 4],
            [nan, nan, nan, nan],
            [0.5, 0.5, 0.6, 0.6],
            [2, 0, 3, 1],
            [0, 0, 9, 9],
        ]
    )
    groups = np.array([0, 0, 0, 0, 0, 0, 1])  # the last one covers all, in another group
    assert sorted(overlap_candidates(bounds, groups).T.tolist()) == [[0, 1], [0, 4], [1, 5]]
    assert sorted(overlap_candidates(bounds, pd.Series(list("aaaaaab"))).T.tolist()) == [[0, 1], [0, 4], [1, 5]]


def test_every_row_states_the_unit_its_numbers_are_in(test_layers):
    """planned/measured/delta are ha on land-area rows (TT-04's 0.2 km2 is 20 ha), % on derived shares."""
    from gis.pipeline import run_check
    from gis.results import is_derived

    results = run_check(layers_dir=test_layers).results
    area = results[results["metric"].isin(("area", "planned_le_parent"))]
    assert not area.empty and set(area["unit"]) == {"ha"}
    assert results.set_index("target_id").at["TT-04", "planned"] == pytest.approx(20.0)
    shares = results["metric"].isin(("within_parent", "within_district"))
    assert shares.any() and set(results.loc[shares, "unit"]) == {"%"}
    assert set(results.loc[is_derived(results) & ~shares, "metric"]) == {"planned_le_parent"}
    assert set(results.loc[results["metric"] == "plot_ratio", "unit"]) <= {"ratio"}


def test_a_missing_feature_target_is_in_ha_too(test_layers):
    """A km2 target whose feature is gone (allowed only for gis diff) is reported in ha, like every area row."""
    from gis.pipeline import run_check

    path = test_layers / "targets.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[table["target_id"] == "TT-04", "fid"] = "TT-GONE"
    table.to_csv(path, index=False)
    row = run_check(layers_dir=test_layers, missing_ok=True).results.set_index("target_id").loc["TT-04"]
    assert (row["status"], row["unit"], row["planned"]) == (settings.NO_POLYGON, "ha", pytest.approx(20.0))
