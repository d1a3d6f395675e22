"""Nothing lost, nothing injected: inputs and failures that once ended in a traceback.

Every case runs the real CLI (a ``gis`` subprocess, or click's CliRunner) on files made here
from the clean test layers, and checks the exit code, the one line it prints and that no
previous file changed. A bug cannot be made on purpose from real input (each known one is
fixed), so the unexpected-error cases put one into the subprocess before the CLI starts.
"""

from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from gis.cli import cli
from gis.pipeline import run_check
from gis.report import write_report

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
MAIN = "import sys; from gis.cli import main; sys.argv = ['gis', *sys.argv[1:]]; main()"


@pytest.fixture
def layers(tmp_path: Path) -> Path:
    dest = tmp_path / "layers"
    shutil.copytree(DATA / "layers", dest)
    return dest


def gis(
    args: list[str],
    *,
    before: str = "",
    env: dict[str, str] | None = None,
    unprivileged: bool = False,
    limit: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the gis CLI in a subprocess; ``before`` is Python run first (e.g. a bug put in)."""
    code = before + "; " + MAIN if before else MAIN
    if limit is not None:  # writes beyond ``limit`` bytes fail with EFBIG (SIGXFSZ ignored)
        code = (
            "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); " + code
        )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        preexec_fn=_drop_file_privileges if unprivileged else None,
        timeout=300,
        check=False,
    )


def _drop_file_privileges() -> None:
    """In the child: give up root's right to read any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone after exec
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_clean_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    lines = errors(result.stderr)
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- 7: an unexpected error is not a result -------------------------------------------------

BUG = "import gis.pipeline\ndef bug(**kwargs): raise {exc}\ngis.pipeline.run_check = bug"


def test_an_unexpected_error_exits_3_with_one_line(layers):
    result = gis(["check", "--layers", str(layers)], before=BUG.format(exc="RuntimeError('a bug\\non two lines')"))
    line = one_clean_error(result, 3)
    assert line == (
        "error: unexpected RuntimeError: a bug on two lines (a bug or an unforeseen input; "
        "rerun with -v to see the trace, and report it)"
    )
    assert result.stdout == ""


def test_an_unexpected_error_shows_its_trace_with_v(layers):
    result = gis(
        ["-v", "build", "--layers", str(layers), "--out-dir", str(layers.parent / "out")],
        before=BUG.format(exc="KeyError('x')"),
    )
    assert result.returncode == 3
    assert "Traceback (most recent call last)" in result.stderr and "in bug" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: unexpected KeyError: 'x' (a bug or an")
    assert not (layers.parent / "out").exists()


def test_ctrl_c_exits_130(layers):
    result = gis(["check", "--layers", str(layers)], before=BUG.format(exc="KeyboardInterrupt"))
    assert "interrupted" in one_clean_error(result, 130)


def test_bad_input_still_exits_2_and_a_shortfall_1(layers):
    assert gis(["check", "--layers", str(layers / "nope")]).returncode == 2
    assert gis(["check", "--layers", str(layers)]).returncode == 1  # the test layers have short targets


# --- 8: tracebacks seen, each fixed at its root -------------------------------------------------


def _nest(layers: Path, depth: int) -> None:
    path = layers / "parks.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"][0]["properties"]["deep"] = "@DEEP@"
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    path.write_text(text.replace('"@DEEP@"', "[" * depth + "]" * depth), encoding="utf-8")


@pytest.mark.parametrize("command", ["check", "qa", "build"])
@pytest.mark.parametrize("depth", [1100, 100_000])
def test_deeply_nested_json_is_named_not_a_recursion_error(layers, command, depth):
    _nest(layers, depth)
    before = snapshot(layers.parent)
    args = [command, "--layers", str(layers)]
    if command == "build":
        args += ["--out-dir", str(layers.parent / "out"), "--maps-dir", str(layers.parent / "maps")]
    result = gis(args)
    if command == "qa":  # the QA stage lists it as a finding: an error, exit 1
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        text = result.stdout
    else:
        text = one_clean_error(result)
    assert f"{layers / 'parks.geojson'}: layer parks is nested too deeply to be a layer" in text
    deep = (layers / "parks.geojson").read_text(encoding="utf-8").index('"deep"')
    assert (
        f"at line {(layers / 'parks.geojson').read_text(encoding='utf-8').count(chr(10), 0, deep) + 1}, column" in text
    )
    assert snapshot(layers.parent) == before


def test_a_bare_deep_array_is_not_a_layer(layers):
    (layers / "parks.geojson").write_text("[" * 100_000 + "]" * 100_000, encoding="ascii")
    line = one_clean_error(gis(["check", "--layers", str(layers)]))
    assert "parks.geojson: layer parks is nested too deeply" in line and "line 1, column 201" in line


@pytest.mark.parametrize(("name", "what"), [("parks.geojson", "layer parks"), ("targets.csv", "targets table")])
def test_a_file_without_read_permission_is_named(layers, name, what):
    path = layers / name
    path.chmod(0)
    try:
        before = {p.name: p.stat().st_mtime_ns for p in layers.iterdir()}
        for command in ("check", "build"):
            line = one_clean_error(gis([command, "--layers", str(layers)], unprivileged=True))
            assert line.startswith(f"error: cannot read {path}: permission denied ({what}); give your user read")
        assert {p.name: p.stat().st_mtime_ns for p in layers.iterdir()} == before
    finally:
        path.chmod(0o644)


def test_threads_setting_that_is_not_a_number_is_named(layers):
    for value in ("abc", "0", "2.5"):
        line = one_clean_error(gis(["check", "--layers", str(layers)], env={"GIS_THREADS": value}))
        assert line == (
            f"error: the environment variable GIS_THREADS is {value!r}; set it to a whole number of threads, "
            "1 or more (e.g. GIS_THREADS=2), or unset it to use every core."
        )
    assert gis(["check", "--layers", str(layers)], env={"GIS_THREADS": "1"}).returncode == 1


def test_an_empty_xlsx_sheet_is_named(layers, tmp_path):
    path = tmp_path / "targets.xlsx"
    wb = Workbook()
    wb.active.title = "目标 Targets"
    wb.save(path)
    result = CliRunner().invoke(cli, ["check", "--layers", str(layers), "--targets", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert (
        f"error: {path}: sheet '目标 Targets' is empty (its first row is blank); expected a header row (target_id,"
        in (result.output)
    )


def _word_text(layers: Path) -> None:
    """Word's line and page breaks pasted into a park's names and a target's note."""
    path = layers / "parks.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"][0]["properties"]["name_zh"] = "测试\v公园"
    doc["features"][0]["properties"]["name_en"] = "Test\fPark\x01"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    targets = layers / "targets.csv"
    targets.write_text(targets.read_text(encoding="utf-8").replace("exact: met", "exact:\vmet", 1), encoding="utf-8")


def test_control_characters_are_read_as_spaces_with_a_warning(layers, tmp_path):
    _word_text(layers)
    out, maps = tmp_path / "out", tmp_path / "maps"
    result = gis(["build", "--layers", str(layers), "--out-dir", str(out), "--maps-dir", str(maps)])
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"{layers / 'targets.csv'}: row 2, target TT-01: field note holds a control character U+000B" in (
        result.stderr
    )
    qa = list(csv.DictReader(io.StringIO((out / "qa.csv").read_text(encoding="utf-8-sig"))))
    found = {(r["layer"], r["fid"], r["field"]): r["message"] for r in qa if r["check"] == "control_character"}
    assert set(found) == {("parks", "TT-PK-01", "name_zh"), ("parks", "TT-PK-01", "name_en")}
    assert all(r["severity"] == "warning" and r["source"] == "layers/parks.geojson" for r in qa)  # no machine path
    assert "U+000B (a vertical tab, Word's line break)" in found[("parks", "TT-PK-01", "name_zh")]
    assert "read as a space: '测试 公园'" in found[("parks", "TT-PK-01", "name_zh")]
    assert "U+0001, U+000C (a form feed" in found[("parks", "TT-PK-01", "name_en")]
    assert "'Test Park'" in found[("parks", "TT-PK-01", "name_en")]
    names = {c.value for ws in load_workbook(out / "report.xlsx") for row in ws.iter_rows() for c in row}
    assert "测试 公园" in names and "exact: met" in names
    assert "测试 公园" in (maps / "index.html").read_text(encoding="utf-8")


def test_the_spreadsheet_writer_escapes_what_a_cell_cannot_hold(layers, tmp_path):
    run = run_check(layers_dir=layers)
    run.results.loc[0, "note"] = "line\vbreak, page\fbreak, nul\x00, and _x0041_ as typed"
    path = write_report(run, tmp_path / "report.xlsx")
    notes = [c.value for ws in load_workbook(path) for (c,) in ws.iter_rows(min_col=16, max_col=16)]
    assert "line_x000B_break, page_x000C_break, nul_x0000_, and _x005F_x0041_ as typed" in notes


# --- 8: gis build replaces every output or none -------------------------------------------------


def _previous_build(layers: Path, tmp_path: Path) -> tuple[list[str], dict[str, bytes]]:
    """Build once, then change a name so that a new build would change every output."""
    args = ["build", "--layers", str(layers), "--out-dir", str(tmp_path / "out"), "--maps-dir", str(tmp_path / "maps")]
    assert CliRunner().invoke(cli, args).exit_code == 0
    path = layers / "parks.geojson"
    path.write_text(path.read_text(encoding="utf-8").replace("测试公园", "改名公园"), encoding="utf-8")
    return args, _outputs(tmp_path)


def _outputs(tmp_path: Path) -> dict[str, bytes]:
    return {**snapshot(tmp_path / "out"), **{f"maps/{k}": v for k, v in snapshot(tmp_path / "maps").items()}}


def _no_temporary_files(tmp_path: Path) -> None:
    for folder in (tmp_path / "out", tmp_path / "maps"):
        assert all(not p.name.startswith(".") for p in folder.iterdir()), sorted(p.name for p in folder.iterdir())


def test_a_build_that_fails_writing_replaces_nothing(layers, tmp_path):
    args, before = _previous_build(layers, tmp_path)
    assert {"check.json", "planning.gpkg", "report.xlsx", "maps/index.html", "maps/report.html"} <= set(before)
    smallest_map = min(len(v) for k, v in before.items() if k.startswith("maps/") and k != "maps/report.html")
    result = gis(args, limit=smallest_map // 2)  # the check files fit, the maps do not
    line = one_clean_error(result)
    assert line.startswith(f"error: {tmp_path / 'maps' / 'index.html'}: writing failed (file too large); ")
    assert "every previous output was left as it was" in line
    assert _outputs(tmp_path) == before
    _no_temporary_files(tmp_path)
    assert gis(args).returncode == 0 and _outputs(tmp_path) != before  # and without the limit it replaces them


def test_a_build_that_fails_moving_into_place_puts_everything_back(layers, tmp_path):
    args, before = _previous_build(layers, tmp_path)
    locked = tmp_path / "out" / "planning.gpkg"  # immutable: not even root may replace it
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True, check=False).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert result.exit_code == 2, result.output
    assert "cannot move the new files into place (planning.gpkg: Operation not permitted)" in result.output
    assert "every previous file was left as it was" in result.output
    assert _outputs(tmp_path) == before
    _no_temporary_files(tmp_path)


def test_a_build_whose_geopackage_is_open_elsewhere_replaces_nothing(layers, tmp_path):
    args, before = _previous_build(layers, tmp_path)
    wal = tmp_path / "out" / "planning.gpkg-wal"  # QGIS has it open
    wal.write_bytes(b"")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "planning.gpkg: is open in another program" in result.output
    wal.unlink()
    assert _outputs(tmp_path) == before


# --- 9: a targets table cut off in its last row ------------------------------------------------


def _cut(layers: Path, how: str) -> str:
    path = layers / "targets.csv"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    last = lines[-1].rstrip("\n")
    if how == "in the note":
        cut = text[: -len(" (the figure the plot ratio uses)\n")]
    elif how == "mid-row":
        cut = "".join(lines[:-1]) + last[: last.index(",ha,")]
    else:  # inside a quoted note
        cells = next(csv.reader([last]))
        cells[-1] = "a note, with a comma"
        row = io.StringIO()
        csv.writer(row, lineterminator="\n").writerow(cells)
        cut = "".join(lines[:-1]) + row.getvalue()[: row.getvalue().index(", with")]
    path.write_text(cut, encoding="utf-8")
    return cut


CUTS = {
    "in the note": "may be cut off: the file ends without a line break in the middle of field note ('exact: met')",
    "mid-row": "looks cut off: it has 9 of the 15 columns, stopping in field value ('9')",
    "in a quote": 'looks cut off: the file ends inside the quoted text of field note (a " that never closes)',
}


@pytest.mark.parametrize("how", list(CUTS))
def test_a_targets_table_cut_off_in_its_last_row_is_refused(layers, how):
    _cut(layers, how)
    before = snapshot(layers.parent)
    result = CliRunner().invoke(cli, ["check", "--layers", str(layers)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {layers / 'targets.csv'}: line 17 (the last row, target TT-16) ")
    assert CUTS[how] in lines[0] and "Restore the whole file" in lines[0]
    assert snapshot(layers.parent) == before


@pytest.mark.parametrize("ending", ['"a quoted note"', ""])
def test_a_complete_last_row_without_a_line_break_is_read(layers, ending):
    path = layers / "targets.csv"
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(text[: text.rindex(",") + 1] + ending, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--layers", str(layers), "-f", "csv"])
    assert result.exit_code == 1, result.output
    rows = {r["target_id"]: r for r in csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")))}
    assert rows["TT-16"]["note"] == ending.strip('"') and rows["TT-16"]["status"] == "met"


@pytest.mark.parametrize("limit", [1_000, 4_000])
def test_a_failed_spreadsheet_write_prints_one_line_only(layers, tmp_path, limit):
    out = tmp_path / "report.xlsx"
    out.write_bytes(b"the previous report")
    result = gis(["report", "--layers", str(layers), "-o", str(out), "--overwrite"], limit=limit)
    line = one_clean_error(result)  # and no "Exception ignored" from a workbook closed at exit
    assert line.startswith(f"error: {out}: writing failed (file too large); the previous file was left as it was")
    assert result.stderr.strip() == line
    assert out.read_bytes() == b"the previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers", "report.xlsx"]  # no temporary file left
