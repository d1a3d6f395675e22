from __future__ import annotations

import json
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
