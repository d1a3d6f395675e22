"""The shipped layers keep the data model's rules (layers/README.md)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import shapely

from gis import settings
from gis.crs import AREA_CRS
from gis.read import read_layers

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def layers():
    return read_layers(REPO / "layers")


@pytest.fixture(scope="module")
def projected(layers):
    return {name: layers[name].to_crs(AREA_CRS) for name in [*settings.LAYER_NAMES, "districts"]}


def test_every_feature_is_schematic_and_cited(layers):
    for name in settings.LAYER_NAMES:
        gdf = layers[name]
        assert len(gdf) > 0, name
        for _, row in gdf.iterrows():
            assert row["accuracy"] == "schematic", row["fid"]
            assert row["method"].startswith("hand-digitized from plan text"), row["fid"]
            assert row["location_confidence"] in ("stated", "inferred"), row["fid"]
            for field in ("name_zh", "name_en", "source_file", "source_ref", "location_basis", "category"):
                assert row[field], (row["fid"], field)
            if SEEDS.is_dir():  # the plan documents, kept beside the repository
                assert (SEEDS / row["source_file"]).is_file(), (row["fid"], row["source_file"])
            assert row.geometry.geom_type == "Polygon", row["fid"]


def test_every_polygon_lies_inside_its_district(projected):
    districts = projected["districts"].set_index("district")
    for name in settings.LAYER_NAMES:
        for _, row in projected[name].iterrows():
            district = districts.loc[row["district"]].geometry
            outside = row.geometry.difference(district).area
            assert outside < 1.0, f"{row['fid']}: {outside:.0f} m2 outside district {row['district']}"


def test_every_part_lies_inside_its_parent(projected):
    for name in settings.LAYER_NAMES:
        gdf = projected[name].set_index("fid")
        for fid, row in gdf[gdf["parent"].notna()].iterrows():
            outside = row.geometry.difference(gdf.loc[row["parent"]].geometry).area
            assert outside < 1.0, f"{fid}: {outside:.0f} m2 outside its parent {row['parent']}"


def _ancestors(gdf, fid):
    parents = dict(zip(gdf["fid"], gdf["parent"], strict=True))
    out = set()
    while parents.get(fid):
        fid = parents[fid]
        out.add(fid)
    return out


def test_no_two_features_of_a_layer_overlap_unless_nested(projected):
    for name in settings.LAYER_NAMES:
        gdf = projected[name]
        tree = shapely.STRtree(gdf.geometry.to_numpy())
        pairs = tree.query(gdf.geometry.to_numpy(), predicate="intersects")
        for i, j in zip(*pairs, strict=True):
            if i >= j:
                continue
            a, b = gdf.iloc[i], gdf.iloc[j]
            if a["fid"] in _ancestors(gdf, b["fid"]) or b["fid"] in _ancestors(gdf, a["fid"]):
                continue
            overlap = a.geometry.intersection(b.geometry).area
            assert overlap < 1.0, f"{name}: {a['fid']} and {b['fid']} overlap by {overlap:.0f} m2"


def test_the_layers_cover_what_the_plans_name(layers):
    fids = set(itertools.chain.from_iterable(layers[n]["fid"] for n in settings.LAYER_NAMES))
    for i in range(1, 7):
        assert {f"LG-CZ-0{i}", f"LG-CZ-0{i}-C", f"LG-CZ-0{i}-R"} <= fids
    for i in range(1, 6):
        assert {f"LG-RU-0{i}", f"LG-RU-0{i}-D"} <= fids
    assert {"LG-PK-01", "LG-IL-DY", "LG-IL-DY-01", "PS-IL-HTZ", "PS-IL-01", "PS-IL-02", "PS-IL-03"} <= fids
    assert {"LH-IL-01", "LH-IL-02", "LH-IL-03", "LH-IL-04", "LH-IL-05"} <= fids
    names = set(itertools.chain.from_iterable(layers[n]["name_zh"] for n in settings.LAYER_NAMES))
    assert "雪竹径公园" in names


def test_outlines_reused_are_declared(layers):
    """A site outline typed once and reused must say so in its method."""
    import numpy as np

    seen: dict[tuple, list[str]] = {}
    for name in settings.LAYER_NAMES:
        for _, row in layers[name].iterrows():
            c = np.asarray(row.geometry.exterior.coords)
            seen.setdefault((len(c), tuple(np.round(c - c[0], 5).ravel())), []).append(row["fid"])
    for fids in (f for f in seen.values() if len(f) > 1):
        for fid in fids:
            method = next(
                layers[n].set_index("fid").loc[fid, "method"]
                for n in settings.LAYER_NAMES
                if fid in set(layers[n]["fid"])
            )
            assert "reused" in method, fid
