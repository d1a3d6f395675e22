"""One rule of "this feature changed": gis import and gis diff list the same changes."""

from __future__ import annotations

import shutil

import shapely
from shapely import affinity

from gis.crs import AREA_CRS, LAYER_CRS
from gis.diff import diff_versions, load_version
from gis.importer import plan_import
from gis.read import read_layer


def _edited_parks(test_layers, tmp_path):
    """Return a copy of the test layers whose parks file has one feature moved and renamed, one
    redrawn with reversed rings and another first vertex (the same shape), and the rest as they were."""
    edited = tmp_path / "edited"
    shutil.copytree(test_layers, edited)
    parks = read_layer(test_layers / "parks.geojson", layer="parks")
    gk = parks.to_crs(AREA_CRS)
    moved = gk["fid"] == "TT-PK-01"
    gk.loc[moved, "geometry"] = gk.loc[moved, "geometry"].translate(xoff=1.0)  # 1 m east
    gk.loc[moved, "name_en"] = "Renamed park"
    same = gk["fid"] == "TT-PK-02"
    ring = list(gk.loc[same, "geometry"].iloc[0].exterior.coords)[:-1]
    turned = shapely.Polygon(list(reversed(ring[1:] + ring[:1])))
    assert not turned.equals_exact(gk.loc[same, "geometry"].iloc[0], tolerance=0.0)
    gk.loc[same, "geometry"] = [turned]
    back = gk.to_crs(LAYER_CRS)
    (edited / "parks.geojson").unlink()
    back.to_file(edited / "parks.geojson", driver="GeoJSON")  # full precision: no rounding moves a vertex
    return edited


def test_import_and_diff_agree_on_what_changed(test_layers, tmp_path):
    edited = _edited_parks(test_layers, tmp_path)
    plan = plan_import(edited / "parks.geojson", layer="parks", layers_dir=test_layers)
    from_import = {fid: fields for fid, _, _, fields in plan.changed}
    diff = diff_versions(load_version(str(test_layers)), load_version(str(edited)))["features"]
    from_diff = {r.fid: r.fields.split(", ") for r in diff.itertuples() if r.change == "changed"}
    assert from_import == from_diff == {"TT-PK-01": ["geometry", "name_en"]}
    assert plan.unchanged == 1  # TT-PK-02: the same shape, whatever its ring order


def test_a_move_below_two_centimetres_is_no_change():
    import pandas as pd

    from gis.diff import changed_fields

    square = shapely.box(500000, 2500000, 500100, 2500100)
    before = pd.DataFrame({"shape": [square, square]}, index=["A", "B"])
    after = pd.DataFrame(
        {"shape": [affinity.translate(square, 0.015), affinity.translate(square, 0.03)]}, index=["A", "B"]
    )
    assert changed_fields(before, after, []) == {"A": [], "B": ["geometry"]}
