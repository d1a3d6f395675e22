"""Progress of long work: the stages the library reports (gis.progress), and the bars of the command line.

The library's stages are checked with a callback on layers of 20,000 parcels (above the threshold
of 10,000) and of 9,000 (below it); the bars through a real pseudo-terminal on 100,000 parcels
(``gis check``, ``gis landuse``), against stderr as a pipe and ``-q``. No timing is asserted.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from gis import progress
from gis.cli import cli
from gis.cli._progress import TerminalProgress, wanted
from gis.export import export
from gis.land_import import apply_delivery, plan_landuse_import
from gis.landuse import read_landuse
from gis.pipeline import run_check, run_qa
from gis.progress import THRESHOLD, Progress, advance, reporting, stage, tracked
from gis.read import read_targets
from gis.render.webmap import write_maps

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]
CODES = np.array(["100101", "1101", "1401", "0701", "0301"], dtype=object)


def parcel_grid(n: int) -> gpd.GeoDataFrame:
    """n squares of 20 m on a 30 m grid, 400 a row, in the test district (EPSG:4547), 用地用海 codes.

    The 10 m between them is no gap to parcel QA (narrower than 5 m); gaps of 5 m everywhere make it slow.
    """
    i = np.arange(n)
    x0, y0 = 521_000.0 + (i % 400) * 30.0, 2_506_000.0 + (i // 400) * 30.0
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"LU{k:06d}" for k in range(n)],
            "code": CODES[(i % 400) // 80],
            "code_system": "yongdi",
            "district": "440307",
        },
        geometry=shapely.box(x0, y0, x0 + 20.0, y0 + 20.0),
        crs="EPSG:4547",
    )


def layers_with_parcels(folder: Path, n: int) -> Path:
    """A copy of the test layers with a land-use layer of n parcels, as gis import writes it (GeoArrow)."""
    shutil.copytree(DATA / "layers", folder)
    parcel_grid(n).to_parquet(folder / "landuse.parquet", geometry_encoding="geoarrow")
    return folder


def listen(func, *args, **kwargs) -> list[Progress]:
    seen: list[Progress] = []
    with reporting(seen.append):
        func(*args, **kwargs)
    return seen


def started(events: list[Progress]) -> list[tuple[str, int | None]]:
    """The stages in the order they started, with their totals; each one finished exactly once."""
    starts = [(p.stage, p.total) for p in events if p.done == 0 and not p.finished]
    ids = [p.id for p in events if p.done == 0 and not p.finished]
    assert sorted(p.id for p in events if p.finished) == sorted(ids)
    return starts


# ----------------------------------------------------------------------------- the library


def test_nothing_is_reported_without_a_reporter():
    assert stage("reading land-use parcels", total=1_000_000) is progress.SILENT
    with stage("parcel QA", total=1_000_000) as s:
        s.advance(500_000)
        advance(500_000)
    assert s.done == 0
    assert list(tracked(range(3), "building maps", total=3, size=50_000)) == [0, 1, 2]


def test_a_stage_reports_its_start_advances_and_end_with_its_total():
    seen: list[Progress] = []
    with reporting(seen.append), stage("parcel QA", total=30_000, unit="parcels") as s:
        for _ in range(3):
            advance(10_000)  # the current stage's
    assert [(p.stage, p.done, p.total, p.unit, p.finished) for p in seen] == [
        ("parcel QA", 0, 30_000, "parcels", False),
        ("parcel QA", 10_000, 30_000, "parcels", False),
        ("parcel QA", 20_000, 30_000, "parcels", False),
        ("parcel QA", 30_000, 30_000, "parcels", False),
        ("parcel QA", 30_000, 30_000, "parcels", True),
    ]
    assert s.done == 30_000


def test_below_the_threshold_or_of_unknown_size_until_it_nothing_is_reported():
    seen: list[Progress] = []
    with reporting(seen.append):
        with stage("small", total=THRESHOLD - 1) as small:
            small.advance(THRESHOLD - 1)
            with stage("inner", total=None):  # inside a quiet stage, its own advances count
                advance(5)
        pages = list(tracked(range(4), "building maps", total=4, size=THRESHOLD - 1, unit="pages"))
        assert seen == [] and pages == [0, 1, 2, 3]
        with stage("reading layers") as unknown:  # no size: shown once 10,000 features are counted
            unknown.advance(THRESHOLD // 2)
            assert seen == []
            unknown.advance(THRESHOLD)
    assert [(p.done, p.total, p.finished) for p in seen] == [
        (0, None, False),
        (15_000, None, False),
        (15_000, None, True),
    ]


def test_a_failed_stage_still_ends_and_a_closed_one_says_nothing_more():
    seen: list[Progress] = []
    with pytest.raises(ValueError), reporting(seen.append), stage("importing", total=3, size=50_000, unit="steps") as s:
        s.advance()
        raise ValueError("bad parcel")
    s.advance()
    assert [(p.done, p.finished) for p in seen] == [(0, False), (1, False), (1, True)]


def test_check_and_qa_report_their_stages_in_order(tmp_path):
    layers = layers_with_parcels(tmp_path / "layers", 20_000)
    assert started(listen(run_check, layers_dir=layers)) == [
        ("reading land-use parcels", 20_000),
        ("checking targets", len(read_targets(DATA / "layers" / "targets.csv"))),
    ]
    events = listen(run_qa, layers)
    assert started(events) == [
        ("reading land-use parcels", 20_000),
        ("parcel QA", 20_000),
        ("reading land-use outlines", 20_000),  # inside parcel QA
    ]
    ends = {p.stage: p.done for p in events if p.finished}
    assert ends == {"reading land-use parcels": 20_000, "parcel QA": 20_000, "reading land-use outlines": 20_000}


def test_export_maps_and_import_report_their_stages(tmp_path):
    layers = layers_with_parcels(tmp_path / "layers", 20_000)
    run = run_check(layers_dir=layers)
    assert started(listen(export, run, tmp_path / "planning.gpkg")) == [
        ("writing GeoPackage", 20_010),  # the 10 features and the parcels
        ("reading land-use outlines", 20_000),
    ]
    (tmp_path / "maps").mkdir()
    assert started(listen(write_maps, run, tmp_path / "maps")) == [("building maps", 4)]
    delivery = parcel_grid(12_000).rename(columns={"parcel_id": "BSM", "code": "YDYHFLDM"})
    delivery[["BSM", "YDYHFLDM", "geometry"]].to_file(tmp_path / "YDYH.gpkg", engine="pyogrio")
    seen: list[Progress] = []
    with reporting(seen.append):
        plan = plan_landuse_import(tmp_path / "YDYH.gpkg", layers_dir=layers)
        apply_delivery(plan)
    assert started(seen) == [("reading delivery", None), ("importing", 3), ("writing land-use layer", 12_000)]
    assert read_landuse(layers).count == 12_000


def test_small_layers_report_nothing(tmp_path):
    layers = layers_with_parcels(tmp_path / "layers", THRESHOLD - 1_000)
    assert listen(run_qa, layers) == []
    run = run_check(layers_dir=layers)
    assert listen(export, run, tmp_path / "planning.gpkg") == []
    assert listen(run_check, layers_dir=DATA / "layers") == []


def test_the_terminal_reporter_draws_and_clears_each_stage(tmp_path):
    with (tmp_path / "err.txt").open("w+", encoding="utf-8", newline="") as file:
        bars = TerminalProgress(file)
        bars(Progress("parcel QA", 0, 20_000, "parcels", id=1))
        bars(Progress("parcel QA", 10_000, 20_000, "parcels", id=1))
        bars(Progress("building maps", 0, 4, "pages", id=2))  # a second bar while the first runs
        bars(Progress("parcel QA", 20_000, 20_000, "parcels", finished=True, id=1))
        bars.close()  # clears the bar left open (a stage whose work failed)
        bars(Progress("late", 0, 20_000, id=3))  # after the command: nothing
        file.seek(0)
        text = file.read()
    assert "parcel QA" in text and "/20.0k parcels" in text and "0/4 pages" in text and "late" not in text
    assert not any(screen(text))  # every bar cleared


def test_bars_are_wanted_on_a_terminal_without_q_unless_told():
    class Stream:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    terminal, pipe = Stream(True), Stream(False)
    assert wanted(None, quiet=False, stream=terminal)
    assert not wanted(None, quiet=True, stream=terminal)
    assert not wanted(None, quiet=False, stream=pipe)
    assert wanted(True, quiet=True, stream=pipe)  # --progress (GIS_PROGRESS=1): forced, as git's
    assert not wanted(False, quiet=False, stream=terminal)


def test_progress_forced_on_a_pipe_and_turned_off_by_the_environment(tmp_path):
    layers = layers_with_parcels(tmp_path / "layers", 20_000)
    runner = CliRunner()
    forced = runner.invoke(cli, ["--progress", "landuse", "--layers", str(layers)])
    assert forced.exit_code == 0 and "reading land-use parcels" in forced.stderr
    off = runner.invoke(cli, ["--progress", "landuse", "--layers", str(layers)], env={"GIS_PROGRESS": "0"})
    assert off.exit_code == 0 and "reading land-use parcels" in off.stderr  # the flag wins over the variable
    off = runner.invoke(cli, ["landuse", "--layers", str(layers)], env={"GIS_PROGRESS": "0"})
    assert off.exit_code == 0 and "reading" not in off.stderr


# ----------------------------------------------------------------------------- a real terminal


@pytest.fixture(scope="module")
def parcels_100k(tmp_path_factory) -> Path:
    return layers_with_parcels(tmp_path_factory.mktemp("progress") / "layers", 100_000)


def gis(*args: str, tty: bool = True) -> tuple[int, str, str]:
    """Run ``gis ARGS`` with stderr on a pseudo-terminal of 24 x 100 (or a pipe); return the exit code, stdout, stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("GIS_PROGRESS", None)
    command = [sys.executable, "-c", "from gis.cli import main; main()", *args]
    if not tty:
        done = subprocess.run(command, capture_output=True, env=env, timeout=120, check=False)
        return done.returncode, done.stdout.decode(), done.stderr.decode()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    raw = bytearray()
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env) as proc:
        os.close(slave)
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            assert ready, "gis wrote nothing for 120 s"
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the process closed its end
                break
            if not data:
                break
            raw += data
        os.close(master)
        out = proc.stdout.read().decode() if proc.stdout else ""
        code = proc.wait(timeout=120)
    return code, out, raw.decode()


def screen(text: str) -> list[str]:
    """What a terminal shows at the end: carriage returns, line feeds and tqdm's cursor-up applied."""
    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[[0-9;]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", text):
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif token.startswith("\x1b"):
            if token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    return [line.rstrip() for line in lines]


def test_check_on_a_terminal_shows_its_stages_then_leaves_the_screen_clean(parcels_100k):
    code, out, err = gis("check", "--layers", str(parcels_100k))
    assert code in (0, 1), err
    assert "reading land-use parcels" in err and "checking targets" in err and "100k" in err
    assert "\r" in err
    assert [line for line in screen(err) if line] == ["note: 2 features have no target (gis -v check lists them)"]
    assert "TT-01" in out  # the table itself goes to stdout


def test_landuse_with_stderr_not_a_terminal_or_with_q_shows_no_bar(parcels_100k):
    code, out, err = gis("landuse", "--layers", str(parcels_100k), tty=False)
    assert code == 0 and "100,000 parcels" in out
    assert "reading" not in err and "\r" not in err and "%|" not in err
    code, out, err = gis("-q", "landuse", "--layers", str(parcels_100k))
    assert code == 0 and "100,000 parcels" in out
    assert err == ""


def test_a_bad_layer_on_a_terminal_prints_its_one_line_cleanly(parcels_100k, tmp_path):
    layers = tmp_path / "layers"
    shutil.copytree(parcels_100k, layers)
    bad = parcel_grid(100_000)
    bad.loc[99_999, "district"] = "999999"  # found once the parcels are read: the bar is up by then
    bad.to_parquet(layers / "landuse.parquet", geometry_encoding="geoarrow")
    code, _out, err = gis("-v", "landuse", "--layers", str(layers))
    assert code == 2
    assert "reading land-use parcels" in err
    shown = [line for line in screen(err) if line]
    assert shown[-1].startswith("error: ") and "LU099999" in shown[-1], shown
    assert not any("%|" in line or "parcels/s" in line for line in shown), shown


def test_gis_map_reports_building_its_map(tmp_path):
    layers = layers_with_parcels(tmp_path / "layers", 20_000)
    result = CliRunner().invoke(cli, ["--progress", "map", "--layers", str(layers), "-o", str(tmp_path / "m.html")])
    assert result.exit_code == 0, result.output
    assert "building maps: 100%" in result.output and "1/1 pages" in result.output  # --progress: bars on any stream
