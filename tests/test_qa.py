"""gis qa: every finding on a seeded layer folder, nothing on clean ones, and the CLI/build around it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gis.cli import cli
from gis.pipeline import run_qa
from tests.conftest import DATA
from tests.data.make_data import TO_LONLAT, X0, Y0, feature, rect


def add(layers: Path, layer: str, *features: dict) -> None:
    path = layers / f"{layer}.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"].extend(features)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def lonlat(x: float, y: float) -> list[float]:
    return [round(v, 10) for v in TO_LONLAT.transform(X0 + x, Y0 + y)]


def park(fid: str, geom: dict, **kw) -> dict:
    return feature(fid, "测试公园", "QA park", "extent", None, "park", geom, **kw)


def bowtie(x: float, y: float, size: float) -> dict:
    ring = [lonlat(x, y), lonlat(x + size, y + size), lonlat(x + size, y), lonlat(x, y + size), lonlat(x, y)]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def seeded(test_layers: Path) -> Path:
    """The test layers with one of each problem gis qa finds."""
    add(
        test_layers,
        "parks",
        park("QA-OVL-A", rect(9000, 1000, 100, 100)),
        park("QA-OVL-B", rect(9050, 1000, 100, 100)),  # overlaps A by 50 x 100 = 5000 m2
        park("QA-SLV-A", rect(9000, 2000, 100, 100)),
        park("QA-SLV-B", rect(9099, 2000, 100, 100)),  # 1 m x 100 m sliver
        park("QA-GAP-A", rect(9000, 3000, 100, 100)),
        park("QA-GAP-B", rect(9102, 3000, 100, 100)),  # 2 m gap along 100 m
        park("QA-BOW", bowtie(9000, 4000, 100)),  # self-intersecting: measures 0, repaired 5000 m2
        park("QA-IND", rect(7050, 1050, 50, 50)),  # on industrial land TT-IL-01 (7000, 1000, 200, 200)
        park("QA-OUT", rect(19_850, 5000, 200, 100)),  # 50 of 200 m outside the 20 km test district
        park("QA-FAR", rect(19_900, 6000, 400, 100)),  # 3/4 outside: mostly elsewhere, an error
        park(
            "QA-SWAP",
            {"type": "Polygon", "coordinates": [[p[::-1] for p in rect(9000, 5000, 100, 100)["coordinates"][0]]]},
        ),
        park(
            "QA-METRES",
            {
                "type": "Polygon",
                "coordinates": [[[X0 + 1, Y0 + 1], [X0 + 90, Y0 + 1], [X0 + 90, Y0 + 90], [X0 + 1, Y0 + 1]]],
            },
        ),
        park(
            "QA-3D",
            {"type": "Polygon", "coordinates": [[[*p, 55.0] for p in rect(9000, 6000, 100, 100)["coordinates"][0]]]},
        ),
        park("QA-NULL", None),
        park("QA-POINT", {"type": "Point", "coordinates": lonlat(9000, 7000)}),
        park("QA-UNCLOSED", {"type": "Polygon", "coordinates": [rect(9000, 8000, 100, 100)["coordinates"][0][:-1]]}),
        park("QA-DUP", rect(9000, 9000, 50, 50)),
        park("QA-DUP", rect(9000, 9500, 50, 50)),
        park(None, rect(9000, 10_000, 50, 50)),
        park("TT-RU-01", rect(9000, 11_000, 50, 50)),  # a fid of another layer
    )
    add(
        test_layers,
        "renewal_units",
        feature("QA-RU", "测试更新单元", "QA unit", "extent", None, "renewal_unit", rect(6900, 1100, 200, 50)),
        feature("QA-RU-D", "测试拆除范围", "QA part", "demolition", "QA-RU", "renewal_unit", rect(6900, 1100, 250, 50)),
    )
    return test_layers


def by_check(report) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in report.findings:
        out.setdefault(f.check, []).append(f)
    return out


def test_clean_layers_have_no_findings(test_layers):
    report = run_qa(test_layers)
    assert report.findings == [] and report.features > 0


def add_cross_layer_overlaps(layers: Path) -> Path:
    """A park and a renewal unit on industrial land TT-IL-01 (7000, 1000, 200, 200): warnings, no error."""
    add(layers, "parks", park("QA-IND", rect(7050, 1050, 50, 50)))  # 50 x 50 m on TT-IL-01
    add(
        layers,
        "renewal_units",
        feature("QA-RU", "测试更新单元", "QA unit", "extent", None, "renewal_unit", rect(7100, 1000, 200, 50)),
    )  # 100 x 50 m of it on TT-IL-01
    return layers


def test_cross_layer_overlaps_are_warnings_with_their_area(test_layers):
    report = run_qa(add_cross_layer_overlaps(test_layers))
    assert report.errors == []
    found = {(f.check, f.fid, f.other_fid): f for f in report.findings}
    assert set(found) == {
        ("park_on_industrial_land", "QA-IND", "TT-IL-01"),
        ("renewal_on_industrial_land", "QA-RU", "TT-IL-01"),
    }
    assert all(f.severity == "warning" for f in report.findings)
    assert found["park_on_industrial_land", "QA-IND", "TT-IL-01"].area_m2 == pytest.approx(50 * 50, rel=1e-3)
    assert found["renewal_on_industrial_land", "QA-RU", "TT-IL-01"].area_m2 == pytest.approx(100 * 50, rel=1e-3)


def test_seeded_layers_give_every_finding(seeded):
    found = by_check(run_qa(seeded))
    overlap = found["overlap"][0]
    assert (overlap.fid, overlap.other_fid) == ("QA-OVL-A", "QA-OVL-B") and overlap.area_m2 == pytest.approx(
        5000, rel=1e-3
    )
    sliver = found["sliver"][0]
    assert (sliver.fid, sliver.other_fid) == ("QA-SLV-A", "QA-SLV-B") and sliver.area_m2 == pytest.approx(100, rel=1e-2)
    gap = next(f for f in found["gap"] if f.fid == "QA-GAP-A")
    assert gap.other_fid == "QA-GAP-B" and gap.area_m2 == pytest.approx(200, rel=0.05) and "2.00 m" in gap.message
    bow = found["invalid_geometry"][0]
    assert bow.fid == "QA-BOW" and "Self-intersection" in bow.message and bow.geometry is not None
    assert bow.area_m2 == pytest.approx(5000, rel=1e-3)  # the repair the bowtie hides
    conflict = found["park_on_industrial_land"][0]
    assert (
        conflict.fid == "QA-IND"
        and conflict.other_fid == "TT-IL-01"
        and conflict.area_m2 == pytest.approx(2500, rel=1e-3)
    )
    renewal = found["renewal_on_industrial_land"][0]
    assert renewal.fid == "QA-RU" and renewal.area_m2 == pytest.approx(100 * 50, rel=1e-3)
    part = found["outside_parent"][0]
    assert (part.fid, part.other_fid) == ("QA-RU-D", "QA-RU") and part.area_m2 == pytest.approx(50 * 50, rel=1e-3)
    outside = {f.fid: f for f in found["outside_district"]}
    assert outside["QA-OUT"].severity == "warning" and outside["QA-OUT"].area_m2 == pytest.approx(50 * 100, rel=1e-2)
    assert outside["QA-FAR"].severity == "error"
    assert found["swapped_axes"][0].fid == "QA-SWAP" and "swapped" in found["swapped_axes"][0].message
    assert found["metres_as_degrees"][0].fid == "QA-METRES"
    assert found["3d_coordinates"][0].fid == "QA-3D" and found["3d_coordinates"][0].severity == "warning"
    assert found["empty_geometry"][0].fid == "QA-NULL"
    assert found["not_polygon"][0].fid == "QA-POINT"
    assert found["unclosed_ring"][0].fid == "QA-UNCLOSED" and "not closed" in found["unclosed_ring"][0].message
    assert found["duplicate_fid"][0].message.startswith("fid QA-DUP is used by 2 features")
    assert found["missing_fid"][0].field == "fid"
    assert found["fid_in_two_layers"][0].fid == "TT-RU-01"
    assert all(f.source.endswith(".geojson") and f.layer for f in run_qa(seeded).findings)


def test_qa_cli_formats_and_exit_codes(seeded, tmp_path):
    runner = CliRunner()
    warned = tmp_path / "warned"
    shutil.copytree(DATA / "layers", warned)
    add_cross_layer_overlaps(warned)
    clean = runner.invoke(cli, ["qa", "--layers", str(DATA / "layers"), "--strict"])
    assert clean.exit_code == 0 and "0 errors" in clean.output  # no finding at all, even with --strict
    warnings = runner.invoke(cli, ["qa", "--layers", str(warned)])
    assert warnings.exit_code == 0 and "0 errors" in warnings.output and "QA-IND" in warnings.output
    strict = runner.invoke(cli, ["qa", "--layers", str(warned), "--strict"])
    assert strict.exit_code == 1  # the cross-layer warnings
    table = runner.invoke(cli, ["qa", "--layers", str(seeded)])
    assert table.exit_code == 1 and "QA-BOW" in table.output and "Traceback" not in table.output
    as_json = json.loads(runner.invoke(cli, ["qa", "--layers", str(seeded), "-f", "json"]).stdout)
    assert as_json["summary"]["errors"] > 0 and {"severity", "check", "lon", "lat"} <= set(as_json["findings"][0])
    out = tmp_path / "qa.csv"
    result = runner.invoke(cli, ["qa", "--layers", str(seeded), "-f", "csv", "-o", str(out)])
    text = out.read_text(encoding="utf-8-sig")
    assert result.exit_code == 1 and text.startswith("severity,check,layer,fid") and "parks/" not in text.split("\n")[0]
    assert "layers/parks.geojson" in text and str(tmp_path) not in text  # no machine paths in the file


def test_build_stops_on_qa_errors_and_writes_nothing(seeded, tmp_path):
    out, maps = tmp_path / "out", tmp_path / "maps"
    result = CliRunner().invoke(cli, ["build", "--layers", str(seeded), "--out-dir", str(out), "--maps-dir", str(maps)])
    assert result.exit_code == 2 and "QA-BOW" in result.output and "Traceback" not in result.output
    assert not out.exists() and not maps.exists()


def placed(fid: str, x: float, y: float, *, lon: object, lat: object, error: object) -> dict:
    """A 100 m park at (x, y) with a reference point and a stated position error."""
    f = park(fid, rect(x, y, 100, 100))
    f["properties"] |= {
        "position_ref": "test point",
        "position_lon": lon,
        "position_lat": lat,
        "position_error_m": error,
    }
    return f


def test_far_from_reference_checks_distance_and_fields(test_layers):
    """A feature farther than its error is named; a bad position field is named with its field, not skipped."""
    inside = lonlat(9050, 8050)
    far = lonlat(9050 + 5000, 8050)  # 5 km east of the outline
    add(
        test_layers,
        "parks",
        placed("QA-POS-OK", 9000, 8000, lon=inside[0], lat=inside[1], error=100),
        placed("QA-POS-FAR", 9000, 9000, lon=far[0], lat=far[1], error="1000"),
        placed("QA-POS-TEXT", 9000, 10_000, lon=inside[0], lat=inside[1], error="about 300 m"),
        placed("QA-POS-NEG", 9000, 11_000, lon=inside[0], lat=inside[1], error=-5),
        placed("QA-POS-LON", 9000, 12_000, lon=120.5, lat=inside[1], error=100),
        placed("QA-POS-LAT", 9000, 13_000, lon=inside[0], lat=95.0, error=100),
        placed("QA-POS-HALF", 9000, 14_000, lon=inside[0], lat=None, error=100),
        placed("QA-POS-NONE", 9000, 15_000, lon=None, lat=None, error=None),  # nothing stated: not checked
    )
    found = [f for f in run_qa(test_layers).findings if f.check == "far_from_reference"]
    where = {(f.fid, f.field) for f in found}
    assert where == {
        ("QA-POS-FAR", "geometry"),
        ("QA-POS-TEXT", "position_error_m"),
        ("QA-POS-NEG", "position_error_m"),
        ("QA-POS-LON", "position_lon"),
        ("QA-POS-LAT", "position_lat"),
        ("QA-POS-HALF", "position_lat"),
    }
    for f in found:
        assert f.severity == "warning" and f.layer == "parks" and f.source.endswith("parks.geojson"), f
        assert f.text().startswith(f.source) and f"feature {f.fid}" in f.text()
    far_msg = next(f.message for f in found if f.fid == "QA-POS-FAR")
    assert 4800 < float(far_msg.split(" m from")[0].removeprefix("lies ").replace(",", "")) < 5200  # about 5 km
    assert (
        "Correct the position or the outline" in far_msg and "correct the reference point or the error" not in far_msg
    )
    assert "'about 300 m' is not a number" in next(f.message for f in found if f.fid == "QA-POS-TEXT")
    assert "negative" in next(f.message for f in found if f.fid == "QA-POS-NEG")


def test_qa_help_lists_far_from_reference():
    result = CliRunner().invoke(cli, ["qa", "--help"])
    assert result.exit_code == 0 and "far_from_reference" in result.output
