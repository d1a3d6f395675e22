from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from gis.cli import cli
from gis.diff import diff_versions, load_version
from gis.errors import InputError
from gis.export import export
from gis.pipeline import run_check
from gis.report import COLUMNS, write_report
from tests.conftest import DATA
from tests.test_landuse import add_targets, write_control, write_landuse


@pytest.fixture(scope="module")
def run():
    return run_check(layers_dir=DATA / "layers")


def test_spreadsheet_matches_the_check(run, tmp_path):
    from openpyxl import load_workbook

    path = write_report(run, tmp_path / "report.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames[:2] == ["概览 Summary", "龙岗区 Longgang"] and "区级总量 District totals" in wb.sheetnames
    results = run.results.set_index("target_id")
    ws = wb["龙岗区 Longgang"]
    header = [c.value for c in ws[1]]
    assert header[0] == "编号 Target" and COLUMNS["planned"] in header and COLUMNS["status"] in header
    col = {name: header.index(name) for name in header}
    n = 0
    for row in ws.iter_rows(min_row=2, values_only=True):
        tid = row[col["编号 Target"]]
        assert row[col[COLUMNS["planned"]]] == pytest.approx(results.loc[tid, "planned"])
        assert row[col[COLUMNS["status"]]] == results.loc[tid, "status"]
        if not pd.isna(results.loc[tid, "measured"]):
            assert row[col[COLUMNS["measured"]]] == pytest.approx(results.loc[tid, "measured"])
            assert row[col[COLUMNS["delta_pct"]]] == pytest.approx(results.loc[tid, "delta_pct"] / 100)
        n += 1
    own = results[
        (results["district"] == "440307")
        & ~results["metric"].isin(["within_parent", "within_district", "planned_le_parent"])
    ]
    assert n == len(own) == 15  # every target of the test district: TT-01 to TT-16 but TT-10 (440309)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    status_col = col[COLUMNS["status"]] + 1
    assert ws.cell(2, col[COLUMNS["planned"]] + 1).number_format == "#,##0.00"
    assert ws.cell(2, col[COLUMNS["delta_pct"]] + 1).number_format == "0.0%"
    statuses = {ws.cell(r, status_col).value: ws.cell(r, status_col).fill.fgColor.rgb for r in range(2, ws.max_row + 1)}
    assert statuses["short"].upper().endswith("FDAE61") and statuses["within tolerance"].upper().endswith("A6D96A")
    names = [row[col[COLUMNS["name_zh"]]] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert "测试公园" in names and "测试整备片区" in names  # Chinese names
    floors = wb["建筑面积 Floor areas"]
    assert floors.max_row - 1 == int((run.results["metric"] == "floor_area").sum())


def test_html_report_offline_and_printable(run, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_browser import chromium_path

    path = write_report(run, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "http" not in text.replace("http://www.w3.org", "")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        blocked, errors = [], []
        page.route(
            "**/*",
            lambda r: (
                r.continue_()
                if r.request.url.startswith(("file:", "data:"))
                else (blocked.append(r.request.url), r.abort())
            ),
        )
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        assert blocked == [] and errors == []
        aggregates = int(
            (run.results["scope"] == "aggregate").sum()
            - (run.results[run.results["scope"] == "aggregate"]["metric"] != "area").sum()
        )
        assert page.locator("#totals svg").count() == aggregates
        assert "测试公园" in page.inner_text("#district-440307")
        pdf = page.pdf(format="A4", landscape=True)
        assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
        browser.close()


def test_markdown_report(run, tmp_path):
    text = write_report(run, tmp_path / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# 规划用地目标核查报告") and "| 编号 Target |" in text and "TT-16" in text
    with pytest.raises(InputError, match=r"a report is \.xlsx, \.html or \.md"):
        write_report(run, tmp_path / "report.pdf")


def two_versions(tmp_path: Path, test_layers: Path) -> tuple[Path, Path]:
    old = tmp_path / "old"
    new = tmp_path / "new"
    shutil.copytree(test_layers, old)
    shutil.copytree(test_layers, new)
    path = new / "renewal_units.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    ring = doc["features"][1]["geometry"]["coordinates"][0]
    mid = sum(y for _, y in ring) / len(ring)
    doc["features"][1]["geometry"]["coordinates"] = [
        [[x, y + (0.001 if y > mid else 0)] for x, y in ring]
    ]  # ~110 m taller
    path.write_text(json.dumps(doc), encoding="utf-8")
    path = new / "parks.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    del doc["features"][1]  # TT-PK-02 removed
    doc["features"][0]["properties"]["name_en"] = "Test park (renamed)"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return old, new


def test_diff_two_folders(tmp_path, test_layers):
    old, new = two_versions(tmp_path, test_layers)
    d = diff_versions(load_version(str(old)), load_version(str(new)))
    f = d["features"].set_index("fid")
    assert f.loc["TT-PK-02", "change"] == "removed"
    assert f.loc["TT-PK-01", "change"] == "changed" and f.loc["TT-PK-01", "fields"] == "name_en"
    assert f.loc["TT-RU-01-D", "fields"] == "geometry" and f.loc["TT-RU-01-D", "delta_ha"] > 0
    t = d["targets"].set_index("target_id")
    assert t.loc["TT-16", "status_before"] == "met" and t.loc["TT-16", "status_after"] == "over"


def test_diff_git_revisions_and_geopackages(tmp_path, test_layers):
    old, new = two_versions(tmp_path, test_layers)
    repo = tmp_path / "repo"
    shutil.copytree(old, repo / "layers")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "old"], check=True)
    shutil.rmtree(repo / "layers")
    shutil.copytree(new, repo / "layers")
    subprocess.run([*git, "commit", "-qam", "new"], check=True)
    d = diff_versions(load_version("HEAD~1", repo=repo), load_version("HEAD", repo=repo))
    assert set(d["features"]["fid"]) == {"TT-PK-01", "TT-PK-02", "TT-RU-01-D"}
    export(run_check(layers_dir=old), tmp_path / "old.gpkg")
    export(run_check(layers_dir=new), tmp_path / "new.gpkg")
    g = diff_versions(load_version(str(tmp_path / "old.gpkg")), load_version(str(tmp_path / "new.gpkg")))
    assert set(g["features"]["fid"]) == {"TT-PK-01", "TT-PK-02", "TT-RU-01-D"}
    assert set(g["targets"]["target_id"]) == set(d["targets"]["target_id"])
    with pytest.raises(InputError, match="neither a layers folder, a GeoPackage nor a git revision"):
        load_version("no-such-rev", repo=repo)


def test_report_and_diff_cli(tmp_path, test_layers):
    runner = CliRunner()
    out = tmp_path / "r.xlsx"
    result = runner.invoke(cli, ["report", "--layers", str(test_layers), "-o", str(out)])
    assert result.exit_code == 0 and out.exists()
    result = runner.invoke(cli, ["report", "--layers", str(test_layers), "-o", str(out)])
    assert result.exit_code == 2 and "Pass --overwrite" in result.output
    old, new = two_versions(tmp_path, test_layers)
    result = runner.invoke(cli, ["diff", str(old), str(new)])
    assert result.exit_code == 0 and "removed  TT-PK-02" in result.output and "status   TT-16" in result.output
    result = runner.invoke(cli, ["diff", str(old), str(new), "-f", "json"])
    doc = json.loads(result.output)
    assert {f["fid"] for f in doc["features"]} == {"TT-PK-01", "TT-PK-02", "TT-RU-01-D"}
    result = runner.invoke(cli, ["diff", str(old), str(new), "-f", "csv", "-o", str(tmp_path / "d.csv")])
    assert result.exit_code == 0 and (tmp_path / "d.csv").read_bytes().startswith("\ufeff".encode())


def test_every_target_appears_in_the_report(run):
    from gis.report import views

    shown = set()
    for v in views(run):
        if "target_id" in v.table.columns:
            shown |= set(v.table["target_id"])
    table = pd.read_csv(DATA / "layers" / "targets.csv", dtype=str)
    assert set(table["target_id"]) <= shown


def test_diff_reports_a_deleted_feature_that_targets_name(tmp_path, test_layers):
    old, new = two_versions(tmp_path, test_layers)
    path = new / "consolidation_zones.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"] = [f for f in doc["features"] if f["properties"]["fid"] != "TT-CZ-01-R"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    d = diff_versions(load_version(str(old)), load_version(str(new)))
    f = d["features"].set_index("fid")
    assert f.loc["TT-CZ-01-R", "change"] == "removed"
    t = d["targets"].set_index("target_id")
    assert t.loc["TT-03", "status_after"] == "no polygon"
    result = CliRunner().invoke(cli, ["diff", str(old), str(new), "-f", "csv"])
    table = pd.read_csv(__import__("io").StringIO(result.output))
    assert set(table["kind"]) == {"feature", "target"} and "TT-CZ-01-R" in set(table["fid"].dropna())


@pytest.fixture(scope="module")
def landuse_run(tmp_path_factory):
    """The test layers with test_landuse's land-use layer (exact areas), control lines and targets."""
    folder = tmp_path_factory.mktemp("landuse") / "layers"
    shutil.copytree(DATA / "layers", folder)
    write_landuse(folder)
    write_control(folder)
    add_targets(folder)
    return run_check(layers_dir=folder)


def test_spreadsheet_landuse_sheet_with_a_chart_per_district(landuse_run, tmp_path):
    from openpyxl import load_workbook

    path = write_report(landuse_run, tmp_path / "report.xlsx")
    ws = load_workbook(path)["土地利用 Land use"]
    header = [c.value for c in ws[1]]
    col = {name: i for i, name in enumerate(header)}
    rows = {r[col["地类 Class"]]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["industrial"][col["面积(公顷) Area ha"]] == pytest.approx(70.0)
    assert rows["industrial"][col["图斑 Parcels"]] == 2 and rows["industrial"][col["名称 Name"]] == "工业用地"
    assert rows["logistics"][col["面积(公顷) Area ha"]] == pytest.approx(10.0)
    assert rows["industrial"][col["区 District"]] == "龙岗区"
    assert set(rows) == {"industrial", "logistics", "park_green", "unclassified", "unknown code"}
    # one bar chart (the test layers have one district), on the table's cells, each bar in its class's colour
    (chart,) = ws._charts
    series = chart.series[0]
    assert series.val.numRef.f.endswith(f"$F$2:$F${len(rows) + 1}") and series.cat.strRef.f.endswith("$C$2:$C$6")
    fills = [p.graphicalProperties.solidFill.srgbClr for p in series.dPt]
    assert fills == ["BB9674", "8761D3", "00FF00", "8C8C8C", "4D4D4D"]
    targets = load_workbook(path)["土地利用目标 Land-use targets"]
    ids = [r[0] for r in targets.iter_rows(min_row=2, values_only=True)]
    assert sorted(ids) == ["CL-01", "LU-01", "LU-02", "LU-03", "LU-04", "LU-05", "LU-06"]


def test_html_landuse_bars_beside_the_table(landuse_run, tmp_path):
    text = write_report(landuse_run, tmp_path / "report.html").read_text(encoding="utf-8")
    section = text[text.index('<section id="landuse">') : text.index('<section id="landuse-targets">')]
    assert section.count("<svg") == 1 and section.count('class="bars-table"') == 1
    assert 'fill="#bb9674"' in section and "70.00" in section and "工业用地" in section
    assert re.search(r"<td>70.00</td><td>0.1[78] %</td>", section)  # 70 ha of the 400 km² test district: 0.175 %
    targets = text[text.index('<section id="landuse-targets">') :]
    assert "LU-01" in targets and "met" in targets and "test · row" in targets  # status and citation
    assert "http" not in section


def test_without_a_landuse_layer_the_view_says_what_to_add(test_layers, tmp_path):
    add_targets(test_layers, [("LU-01", "industrial", "at_least", "70", "ha")], control=False)
    run = run_check(layers_dir=test_layers)
    md = write_report(run, tmp_path / "report.md").read_text(encoding="utf-8")
    view = md[md.index("## 土地利用 Land use") : md.index("## 土地利用目标")]
    assert "No land-use layer" in view and "LU-01 (industrial)" in view and "no land-use layer" in view
    assert "gis import FILE --layer landuse" in view
    targets = md[md.index("## 土地利用目标") :].split("\n## ")[0]
    assert "LU-01" in targets and "no land-use layer" in targets
    html = write_report(run, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "gis import FILE --layer landuse" in html and '<svg class="bars"' not in html
    from openpyxl import load_workbook

    ws = load_workbook(write_report(run, tmp_path / "report.xlsx"))["土地利用 Land use"]
    assert ws["A1"].value == "说明 Note" and "No land-use layer" in ws["A2"].value and not ws._charts


def test_new_statuses_are_counted_in_the_summary(test_layers, tmp_path):
    add_targets(test_layers, [("LU-01", "industrial", "at_least", "70", "ha")])
    run = run_check(layers_dir=test_layers)
    md = write_report(run, tmp_path / "report.md").read_text(encoding="utf-8")
    summary = md[md.index("## 概览 Summary") : md.index("## 龙岗区")]
    assert "无土地利用图层 no land-use layer" in summary and "无管控线图层 no control-line layer" in summary
    header, _, *rows = [line for line in summary.splitlines() if line.startswith("|")]
    cells = [c.strip() for c in header.split("|")]
    last = [c.strip() for c in rows[-1].split("|")]
    assert last[cells.index("无土地利用图层 no land-use layer")] == "1"
    assert last[cells.index("无管控线图层 no control-line layer")] == "1"
