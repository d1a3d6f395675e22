from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from gis.errors import InputError, InputFileError
from gis.read import read_layer, read_layers, read_targets


def edit_layer(path: Path, edit) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def test_read_layers_returns_every_layer(test_layers):
    layers = read_layers(test_layers)
    assert set(layers) == {"parks", "industrial_land", "consolidation_zones", "renewal_units", "districts"}
    cz = layers["consolidation_zones"]
    assert list(cz["fid"]) == ["TT-CZ-01", "TT-CZ-01-C", "TT-CZ-01-R"]
    assert cz.loc[0, "parent"] is None and cz.loc[2, "parent"] == "TT-CZ-01-C"
    assert cz.loc[0, "name_zh"] == "测试整备片区"
    assert (cz["layer"] == "consolidation_zones").all()


def test_missing_folder_and_file(tmp_path, test_layers):
    with pytest.raises(InputFileError, match="no such folder"):
        read_layers(tmp_path / "nowhere")
    (test_layers / "parks.geojson").unlink()
    with pytest.raises(InputError, match=r"parks\.geojson: no such file"):
        read_layers(test_layers)


def test_all_feature_problems_are_collected_in_one_error(test_layers):
    path = test_layers / "consolidation_zones.geojson"

    def edit(doc):
        feats = doc["features"]
        feats[0]["properties"]["district"] = "440399"
        feats[1]["properties"]["fid"] = "TT-CZ-01"  # duplicate
        feats[2]["properties"]["part"] = "middle"
        feats[2]["properties"]["parent"] = "TT-NOPE"
        feats[2]["geometry"]["coordinates"] = [
            [[114.2, 22.7], [114.3, 22.8], [114.3, 22.7], [114.2, 22.8], [114.2, 22.7]]
        ]

    edit_layer(path, edit)
    with pytest.raises(InputError) as err:
        read_layer(path, layer="consolidation_zones")
    text = str(err.value)
    assert len(err.value.problems) == 5
    assert "feature TT-CZ-01: field district is '440399'" in text
    assert "fid TT-CZ-01 is used by 2 features" in text
    assert "field part is 'middle'" in text
    assert "field parent is 'TT-NOPE'" in text
    assert "geometry is invalid (Self-intersection" in text
    assert all("consolidation_zones.geojson: layer consolidation_zones" in p for p in err.value.problems)


def test_missing_required_field(test_layers):
    path = test_layers / "parks.geojson"
    edit_layer(path, lambda doc: [f["properties"].pop("district") for f in doc["features"]])
    with pytest.raises(InputError, match="lacks the field"):
        read_layer(path, layer="parks")


def test_fids_unique_across_layers(test_layers):
    edit_layer(test_layers / "parks.geojson", lambda doc: doc["features"][0]["properties"].update(fid="TT-CZ-01"))
    with pytest.raises(InputError, match="used in layers consolidation_zones, parks"):
        read_layers(test_layers)


def test_read_targets_types(test_layers):
    t = read_targets(test_layers / "targets.csv")
    row = t.set_index("target_id").loc["TT-05"]
    assert row["value"] == 80000 and row["unit"] == "m2" and row["tolerance_pct"] == 5
    assert t.set_index("target_id").loc["TT-07", "tolerance_pct"] == 0.0
    assert t.set_index("target_id").loc["TT-15", "value_decimals"] == 1
    assert t.set_index("target_id").loc["TT-09", "fid"] is None
    assert list(t["row"][:2]) == [2, 3]


def test_read_targets_from_xlsx_equals_csv(test_layers, tmp_path):
    csv = read_targets(test_layers / "targets.csv")
    raw = pd.read_csv(test_layers / "targets.csv", dtype=str, keep_default_na=False)
    raw["value"] = pd.to_numeric(raw["value"])  # numbers typed as numbers, as in a spreadsheet
    xlsx = tmp_path / "targets.xlsx"
    raw.to_excel(xlsx, index=False)
    # a spreadsheet stores "2.0" as the number 2; the cell's format "0.0" keeps the stated decimal
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    ws = wb.active
    col = [c.value for c in ws[1]].index("value") + 1
    stated = pd.read_csv(test_layers / "targets.csv", dtype=str)["value"]
    for row in range(2, ws.max_row + 1):
        text = stated[row - 2]
        if "." in text:
            ws.cell(row, col).number_format = "0." + "0" * len(text.split(".")[1])
    wb.save(xlsx)
    from_xlsx = read_targets(xlsx)
    pd.testing.assert_frame_equal(from_xlsx, csv)
    assert from_xlsx.set_index("target_id").loc["TT-08", "value_decimals"] == 1  # "2.0" stays 2.0


def test_read_targets_collects_every_problem(test_layers):
    path = test_layers / "targets.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",approx,", ",about,")
    lines[2] = lines[2].replace(",ha,", ",acres,")
    lines[3] = lines[3].replace(",5,ha,", ",five,ha,")
    lines[4] = lines[4].replace("TT-04", "TT-01")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_targets(path)
    text = str(err.value)
    assert "row 2, target TT-01: field comparator is 'about'" in text
    assert "row 3, target TT-02: field unit is 'acres'" in text
    assert "row 4, target TT-03: field value is 'five', not a number" in text
    assert "target_id TT-01 is used on rows 2, 5" in text


def test_read_targets_missing_column(test_layers):
    path = test_layers / "targets.csv"
    df = pd.read_csv(path, dtype=str).drop(columns=["comparator"])
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match="lacks the column"):
        read_targets(path)


def test_read_targets_aggregate_rules(test_layers):
    path = test_layers / "targets.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[df["target_id"] == "TT-09", "layer"] = ""
    df.loc[df["target_id"] == "TT-10", "fid"] = "TT-PK-01"
    df.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        read_targets(path)
    assert "TT-09: an aggregate target needs district and layer" in str(err.value)
    assert "TT-10: an aggregate target has no fid" in str(err.value)


def test_null_geometry_projected_coordinates_and_nan(test_layers):
    path = test_layers / "parks.geojson"

    def edit(doc):
        doc["features"][0]["geometry"] = None
        ring = [[520000, 2505000], [520100, 2505000], [520100, 2505100], [520000, 2505000]]
        doc["features"][1]["geometry"] = {"type": "Polygon", "coordinates": [ring]}

    edit_layer(path, edit)
    with pytest.raises(InputError) as err:
        read_layer(path, layer="parks")
    text = str(err.value)
    assert "feature TT-PK-01: geometry is missing or empty" in text
    assert "feature TT-PK-02: geometry lies outside lon" in text and "look like metres" in text


def test_swapped_axes_are_caught(test_layers):
    path = test_layers / "parks.geojson"
    edit_layer(
        path,
        lambda doc: doc["features"][0]["geometry"].update(
            coordinates=[[[y, x] for x, y in doc["features"][0]["geometry"]["coordinates"][0]]]
        ),
    )
    with pytest.raises(InputError, match="swapped"):
        read_layer(path, layer="parks")


def test_targets_part_value_and_underscores(test_layers):
    path = test_layers / "targets.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[df["target_id"] == "TT-02", "part"] = "consolidaton"
    df.loc[df["target_id"] == "TT-03", "value"] = "0"
    df.loc[df["target_id"] == "TT-04", "value"] = "1_4.9"
    df.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        read_targets(path)
    text = str(err.value)
    assert "TT-02: field part is 'consolidaton'" in text
    assert "TT-03: field value is 0; a planned figure is larger than 0" in text
    assert "TT-04: field value is '1_4.9', not a number" in text


def test_text_column_strips_as_python_does():
    """The Arrow path strips exactly what str.strip() strips (every str.isspace() character) and
    turns empty text into None; numbers and mixed columns go cell by cell. Control characters
    (the spaces among them: \v, \f, \x1c-\x1f) inside the text are read as spaces."""
    import re

    from gis.validate import text_column

    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert "\u3000" in spaces and "\x1c" in spaces  # the ideographic space, a file separator
    values = [f"{s}龙岗{s}" for s in spaces] + [f"中{s}心" for s in spaces] + ["", " ", None, float("nan"), "x"]
    out = text_column(pd.Series(values, dtype=object)).tolist()
    control = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
    expected = [None if v is None or v != v or not v.strip() else control.sub(" ", v.strip()) for v in values]
    assert out == expected
    assert out[: len(spaces)] == ["龙岗"] * len(spaces)
    assert text_column(pd.Series([440307, 440309])).tolist() == ["440307", "440309"]
    assert text_column(pd.Series(["TT-PK-01", 7, None], dtype=object)).tolist() == ["TT-PK-01", "7", None]
    assert text_column(pd.Series(["a ", None], dtype="string")).tolist() == ["a", None]
    assert text_column(pd.Series([None, None], dtype=object)).tolist() == [None, None]
    assert text_column(pd.Series([float("nan"), 1.5])).tolist() == [None, "1.5"]


def test_nonfinite_coordinates_found_by_the_validity_test():
    """NaN and infinite coordinates fail GEOS's validity test; they are reported as such, not as invalid."""
    import warnings

    import geopandas as gpd
    from shapely import Polygon, box

    from gis.validate import check_layer

    base = dict(name_zh="样例", district="440307", part="extent", accuracy="schematic")
    nan, inf = float("nan"), float("inf")
    with warnings.catch_warnings():  # shapely warns of the non-finite values it is given
        warnings.simplefilter("ignore", RuntimeWarning)
        odd = [
            Polygon([(114.2, 22.7), (inf, 22.7), (114.21, 22.71), (114.2, 22.7)]),
            Polygon([(114.2, 22.7), (114.21, nan), (114.21, 22.71), (114.2, 22.7)]),
        ]
    geoms = [
        box(114.20, 22.70, 114.21, 22.71),
        *odd,
        Polygon([(114.20, 22.70), (114.21, 22.71), (114.21, 22.70), (114.20, 22.71), (114.20, 22.70)]),  # bowtie
    ]
    gdf = gpd.GeoDataFrame([dict(base, fid=f"X-{i}") for i in range(4)], geometry=geoms, crs="EPSG:4326")
    findings, frame = check_layer(gdf, source="x.geojson", layer="parks")
    assert [(f.fid, f.check) for f in findings] == [
        ("X-1", "nonfinite_coordinates"),
        ("X-2", "nonfinite_coordinates"),
        ("X-3", "invalid_geometry"),
    ]
    assert frame["fid"].tolist() == ["X-0", "X-1", "X-2", "X-3"]


def test_text_column_of_few_distinct_values_is_cleaned_per_value():
    """Over _SAMPLE rows with repeated values the dictionary path gives what the cell-by-cell rule gives."""
    from gis.validate import _SAMPLE, text_column, text_or_none

    cycle = ["440307", " 440309\u3000", "", None, "\t", "site", float("nan"), "坪山 "]
    values = (cycle * (_SAMPLE // len(cycle) * 3))[: _SAMPLE * 3]
    for dtype in (object, "string", "str"):
        series = pd.Series(values, dtype=dtype)
        out = text_column(series).tolist()
        assert out == [text_or_none(v) for v in series.tolist()], dtype
        assert out[:8] == ["440307", "440309", None, None, None, "site", None, "坪山"]
