from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from gis.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def run(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_check_table_shows_chinese_names_and_exits_1_when_short(runner, test_layers):
    result = run(runner, "check", "--layers", test_layers)
    assert result.exit_code == 1
    assert "测试整备片区" in result.output and "within tolerance" in result.output
    assert (
        "26 targets: 18 met, 3 within tolerance, 1 short, 1 over, 2 no polygon, 1 not checkable by area"
        in result.output
    )


def test_check_district_filter(runner, test_layers):
    result = run(runner, "check", "--layers", test_layers, "--district", "龙华")
    assert result.exit_code == 0  # only TT-10, which has no polygon
    assert "TT-10" in result.output and "TT-01" not in result.output
    assert "all: 1 targets: 1 no polygon" in result.output
    result = runner.invoke(cli, ["check", "--layers", str(test_layers), "--district", "futian"])
    assert result.exit_code == 2 and "unknown district 'futian'" in result.output


def test_check_json_to_file_lists_every_target(runner, test_layers, tmp_path):
    out = tmp_path / "check.json"
    result = run(runner, "check", "--layers", test_layers, "--format", "json", "-o", out)
    assert result.exit_code == 1
    doc = json.loads(out.read_text(encoding="utf-8"))
    ids = [t["target_id"] for t in doc["targets"]]
    table = pd.read_csv(test_layers / "targets.csv", dtype=str)
    assert set(table["target_id"]) <= set(ids)
    first = doc["targets"][0]
    for key in (
        "target_id",
        "fid",
        "part",
        "metric",
        "planned",
        "measured",
        "delta",
        "delta_pct",
        "status",
        "source_file",
        "source_ref",
    ):
        assert key in first
    assert first["planned"] == 100 and first["measured"] == pytest.approx(100, rel=1e-6)
    assert doc["summary"]["short"] == 1
    assert doc["layers_dir"] == "layers" and doc["targets_file"] == "targets.csv"  # names, not machine paths
    assert any("TT-PK-02" in n for n in doc["notes"])


def test_check_csv_to_file_opens_in_spreadsheets(runner, test_layers, tmp_path):
    out = tmp_path / "check.csv"
    run(runner, "check", "--layers", test_layers, "-f", "csv", "-o", out)
    assert out.read_bytes().startswith("\ufeff".encode())
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert df.loc[df["target_id"] == "TT-01", "name_zh"].item() == "测试整备片区"
    assert df.loc[df["target_id"] == "TT-03", "status"].item() == "short"


def test_check_exits_0_when_everything_checkable_is_met(runner, test_layers):
    path = test_layers / "targets.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df[~df["target_id"].isin(["TT-03", "TT-05"])]
    df.to_csv(path, index=False)
    result = run(runner, "check", "--layers", test_layers)
    assert result.exit_code == 0, result.output


def test_check_refuses_to_overwrite(runner, test_layers, tmp_path):
    out = tmp_path / "check.json"
    out.write_text("keep me", encoding="utf-8")
    result = runner.invoke(cli, ["check", "--layers", str(test_layers), "-f", "json", "-o", str(out)])
    assert result.exit_code == 2
    assert "exists. Pass --overwrite" in result.output
    assert out.read_text(encoding="utf-8") == "keep me"
    result = runner.invoke(cli, ["check", "--layers", str(test_layers), "-f", "json", "-o", str(out), "--overwrite"])
    assert result.exit_code == 1 and json.loads(out.read_text(encoding="utf-8"))["targets"]


def test_bad_input_gives_one_line_per_problem_and_exit_2(runner, test_layers, tmp_path):
    result = runner.invoke(cli, ["check", "--layers", str(test_layers), "--targets", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "missing.csv: no such file" in result.output
    assert "Traceback" not in result.output
    path = test_layers / "targets.csv"
    text = (
        path.read_text(encoding="utf-8").replace("TT-CZ-01,extent", "TT-CZ-77,extent").replace(",at_most,", ",below,")
    )
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    result = runner.invoke(cli, ["check", "--layers", str(test_layers)])
    assert result.exit_code == 2
    assert "field comparator is 'below'" in result.output
    assert path.read_bytes() == before
    # the join is checked once the table itself is valid
    path.write_text(text.replace(",below,", ",at_most,"), encoding="utf-8")
    result = runner.invoke(cli, ["check", "--layers", str(test_layers)])
    assert result.exit_code == 2 and "field fid is 'TT-CZ-77', which is no feature of any layer" in result.output


def test_build_writes_results(runner, test_layers, tmp_path):
    out_dir, maps_dir = tmp_path / "out", tmp_path / "maps"
    result = run(runner, "build", "--layers", test_layers, "--out-dir", out_dir, "--maps-dir", maps_dir)
    assert result.exit_code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "check.csv",
        "check.json",
        "check.txt",
        "features.csv",
        "planning.gpkg",
        "qa.csv",
        "report.xlsx",
        "sheets",
    ]
    assert sorted(p.name for p in (out_dir / "sheets").iterdir()) == ["longgang.pdf"]  # the one district of the layers
    assert sorted(p.name for p in maps_dir.iterdir()) == [
        "index.html",
        "longgang.html",
        "longhua.html",
        "pingshan.html",
        "report.html",
    ]
    assert '"报告 Report": "report.html"' in (maps_dir / "index.html").read_text(
        encoding="utf-8"
    )  # linked from the maps
    features = pd.read_csv(out_dir / "features.csv", encoding="utf-8-sig").set_index("fid")
    assert features.loc["TT-CZ-01", "area_ha"] == pytest.approx(100, rel=1e-6)
    assert features.loc["TT-CZ-01", "geodesic_ha"] == pytest.approx(100, rel=1e-4)
    assert features.loc["TT-CZ-01-R", "parent"] == "TT-CZ-01-C"
    assert len(json.loads((out_dir / "check.json").read_text(encoding="utf-8"))["targets"]) == 26
    assert "测试整备片区" in (out_dir / "check.txt").read_text(encoding="utf-8")
    result = run(runner, "build", "--layers", test_layers, "--out-dir", out_dir, "--maps-dir", maps_dir, "--strict")
    assert result.exit_code == 1


def test_version_and_help(runner):
    assert run(runner, "--version").output.startswith("gis, version")
    assert "check" in run(runner, "--help").output


def test_output_to_an_impossible_path_is_exit_2(runner, test_layers, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(cli, ["check", "--layers", str(test_layers), "-f", "json", "-o", str(blocker / "x.json")])
    assert result.exit_code == 2, result.output
    assert "cannot write here" in result.output and "Traceback" not in result.output
    assert blocker.read_text(encoding="utf-8") == "x"


def test_quiet_prints_errors_only_no_notes(runner, test_layers, tmp_path):
    """-q: errors only; the notes (features without a target, what an import read) are left out."""
    loud = runner.invoke(cli, ["check", "--layers", str(test_layers)])
    assert "note: " in loud.stderr
    quiet = runner.invoke(cli, ["-q", "check", "--layers", str(test_layers)])
    assert quiet.exit_code == loud.exit_code and "note: " not in quiet.stderr
    assert quiet.stdout == loud.stdout  # the result itself is the same
