"""Bad input: one clear message naming file, layer, feature and field, exit code 2, nothing changed on disk.

Every broken file is generated here from the clean test layers.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from gis.cli import cli
from tests.data.make_data import feature, rect


def _layer(layers: Path, name: str = "parks") -> Path:
    return layers / f"{name}.geojson"


def _edit_first_geometry(layers: Path, geometry: dict | None) -> None:
    path = _layer(layers)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"][0]["geometry"] = geometry
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _ring(layers: Path) -> list:
    return json.loads(_layer(layers).read_text(encoding="utf-8"))["features"][0]["geometry"]["coordinates"][0]


def _set_target(layers: Path, column: str, value: str) -> None:
    path = layers / "targets.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index(column)] = value
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def truncated(layers: Path) -> list[str]:
    text = _layer(layers).read_text(encoding="utf-8")
    _layer(layers).write_text(text[: len(text) // 2], encoding="utf-8")
    return ["check"]


def empty(layers: Path) -> list[str]:
    _layer(layers).write_bytes(b"")
    return ["check"]


def html(layers: Path) -> list[str]:
    _layer(layers).write_text("<!DOCTYPE html><html><body>请登录 Please log in</body></html>", encoding="utf-8")
    return ["check"]


def gbk_geojson(layers: Path) -> list[str]:
    _layer(layers).write_bytes(_layer(layers).read_text(encoding="utf-8").encode("gbk"))
    return ["check"]


def gbk_csv(layers: Path) -> list[str]:
    path = layers / "targets.csv"
    path.write_bytes(path.read_text(encoding="utf-8").replace("test", "测试").encode("gbk"))
    return ["check"]


def approx_value(layers: Path) -> list[str]:
    _set_target(layers, "value", "约29")
    return ["check"]


def decimal_comma(layers: Path) -> list[str]:
    _set_target(layers, "value", '"18,5"')
    return ["check"]


def thousands(layers: Path) -> list[str]:
    _set_target(layers, "value", '"1,200"')
    return ["check"]


def leading_zero_fid(layers: Path) -> list[str]:
    _set_target(layers, "fid", "TT-CZ-1")
    return ["check"]


def duplicate_target_id(layers: Path) -> list[str]:
    path = layers / "targets.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.append(lines[1])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["check"]


def unknown_comparator(layers: Path) -> list[str]:
    _set_target(layers, "comparator", "below")
    return ["check"]


def unknown_unit(layers: Path) -> list[str]:
    _set_target(layers, "unit", "亩")
    return ["check"]


def nan_coordinate(layers: Path) -> list[str]:
    ring = _ring(layers)
    _edit_first_geometry(layers, {"type": "Polygon", "coordinates": [ring]})  # one line per feature
    text = _layer(layers).read_text(encoding="utf-8").replace(json.dumps(ring[1]), "[NaN, 22.7]", 1)
    assert "NaN" in text
    _layer(layers).write_text(text, encoding="utf-8")
    return ["check"]


def mixed_types(layers: Path) -> list[str]:
    _edit_first_geometry(layers, {"type": "LineString", "coordinates": _ring(layers)})
    return ["check"]


def bowtie(layers: Path) -> list[str]:
    ring = _ring(layers)
    a, b, c, d = (ring[i * (len(ring) - 1) // 4] for i in range(4))
    _edit_first_geometry(layers, {"type": "Polygon", "coordinates": [[a, c, b, d, a]]})
    return ["check"]


def unclosed(layers: Path) -> list[str]:
    _edit_first_geometry(layers, {"type": "Polygon", "coordinates": [_ring(layers)[:-1]]})
    return ["check"]


def swapped(layers: Path) -> list[str]:
    _edit_first_geometry(layers, {"type": "Polygon", "coordinates": [[p[::-1] for p in _ring(layers)]]})
    return ["check"]


def duplicate_fid(layers: Path) -> list[str]:
    path = _layer(layers)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"].append(doc["features"][0])
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return ["check"]


def not_there(layers: Path) -> list[str]:
    return ["check", "--targets", str(layers / "nope.csv")]


def _gpkg(layers: Path, *, crs: str | None = "EPSG:4326") -> Path:
    path = layers.parent / "layers.gpkg"
    for name in ("consolidation_zones", "renewal_units", "industrial_land", "parks", "districts"):
        gdf = gpd.read_file(layers / f"{name}.geojson")
        if "fid" in gdf.columns:
            gdf = gdf.rename(columns={"fid": "feature_id"})
        if crs is None and name == "parks":
            gdf = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=list(gdf.geometry))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "crs was not provided": that is the case tested
            gdf.to_file(path, layer=name, engine="pyogrio")
    return path


def corrupt_gpkg(layers: Path) -> list[str]:
    path = _gpkg(layers)
    path.write_bytes(path.read_bytes()[:4096])
    return ["check", "--layers", str(path), "--targets", str(layers / "targets.csv")]


def zero_gpkg(layers: Path) -> list[str]:
    path = layers.parent / "layers.gpkg"
    path.write_bytes(b"")
    return ["check", "--layers", str(path), "--targets", str(layers / "targets.csv")]


def no_crs_gpkg(layers: Path) -> list[str]:
    path = _gpkg(layers, crs=None)
    return ["check", "--layers", str(path), "--targets", str(layers / "targets.csv")]


CASES: dict[str, tuple[Callable[[Path], list[str]], tuple[str, ...]]] = {
    "truncated GeoJSON": (truncated, ("parks.geojson", "layer parks", "not complete JSON", "cut off")),
    "empty GeoJSON": (empty, ("parks.geojson", "empty (0 bytes", "layer parks")),
    "HTML instead of JSON": (html, ("parks.geojson", "HTML", "not GeoJSON", "layer parks")),
    "GBK GeoJSON": (gbk_geojson, ("parks.geojson", "layer parks", "GBK", "--encoding gbk")),
    "GBK CSV": (gbk_csv, ("targets.csv", "GBK", "--encoding gbk")),
    "value 约29": (approx_value, ("targets.csv", "row 2", "target TT-01", "field value", "'约29'", "e.g. 29")),
    "value 18,5": (decimal_comma, ("row 2", "field value", "18.5")),
    "value 1,200": (thousands, ("row 2", "field value", "1200")),
    "fid without its zero": (leading_zero_fid, ("row 2", "field fid", "'TT-CZ-1'", "Did you mean 'TT-CZ-01'")),
    "duplicate target ids": (duplicate_target_id, ("targets.csv", "target_id TT-01", "rows 2,")),
    "unknown comparator": (unknown_comparator, ("row 2", "field comparator", "'below'")),
    "unknown unit": (unknown_unit, ("row 2", "field unit", "'亩'")),
    "NaN coordinate": (nan_coordinate, ("parks.geojson", "layer parks, feature TT-PK-01", "NaN")),
    "mixed geometry types": (mixed_types, ("layer parks, feature TT-PK-01", "LineString", "Polygon")),
    "bowtie": (bowtie, ("layer parks, feature TT-PK-01", "invalid", "Self-intersection", "ha")),
    "unclosed ring": (unclosed, ("layer parks, feature TT-PK-01", "not closed", "Close the ring")),
    "swapped axes": (swapped, ("layer parks, feature TT-PK-01", "swapped")),
    "duplicate fid": (duplicate_fid, ("layer parks", "fid TT-PK-01 is used by 2 features")),
    "file not there": (not_there, ("nope.csv", "no such file")),
    "corrupt GeoPackage": (corrupt_gpkg, ("layers.gpkg", "damaged GeoPackage")),
    "zero-byte GeoPackage": (zero_gpkg, ("layers.gpkg", "empty (0 bytes")),
    "GeoPackage without CRS": (no_crs_gpkg, ("layers.gpkg", "layer parks has no CRS")),
}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_clear_message_and_changes_nothing(case, test_layers):
    make, expected = CASES[case]
    args = make(test_layers)
    if "--layers" not in args:
        args += ["--layers", str(test_layers)]
    before = snapshot(test_layers.parent)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.output
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert snapshot(test_layers.parent) == before


def test_gbk_layers_read_with_encoding(test_layers):
    gbk_geojson(test_layers)
    result = CliRunner().invoke(cli, ["check", "--layers", str(test_layers), "--encoding", "gbk", "-f", "csv"])
    assert result.exit_code in (0, 1) and "测试公园" in result.stdout


def test_bom_csv_and_text_ids_are_kept(test_layers):
    path = test_layers / "targets.csv"
    path.write_bytes("\ufeff".encode() + path.read_bytes())
    layer = _layer(test_layers)
    doc = json.loads(layer.read_text(encoding="utf-8"))
    doc["features"].append(feature("001", "零零一公园", "Park 001", "extent", None, "park", rect(6000, 3000, 100, 100)))
    layer.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with path.open("a", encoding="utf-8") as f:
        f.write("TT-PK-001,feature,001,extent,440307,parks,area,approx,1,ha,10,,test,row,leading zeros kept\n")
    result = CliRunner().invoke(cli, ["check", "--layers", str(test_layers), "-f", "csv"])
    assert result.exit_code in (0, 1), result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("TT-PK-001,"))
    assert ",001," in row and ",met," in row


def test_locked_geopackage_is_neither_read_nor_replaced(test_layers):
    target = _gpkg(test_layers)  # the layers as a GeoPackage, which another program is writing to
    before = target.read_bytes()
    con = sqlite3.connect(target, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        con.execute("CREATE TABLE editing (x)")  # mid-write: its journal is beside the file
        result = CliRunner().invoke(cli, ["export", "--layers", str(test_layers), "-o", str(target), "--overwrite"])
        assert result.exit_code == 2 and "open in another program" in result.output and "Traceback" not in result.output
        # from another process (SQLite's locks are per process): the check is refused with one line
        read = subprocess.run(
            [
                sys.executable,
                "-c",
                "from gis.cli import main; main()",
                "check",
                "--layers",
                str(target),
                "--targets",
                str(test_layers / "targets.csv"),
            ],
            capture_output=True,
            text=True,
        )
        assert read.returncode == 2 and "locked by another program" in read.stderr and "Traceback" not in read.stderr
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert target.read_bytes() == before
