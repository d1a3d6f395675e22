"""Nothing lost: every writer replaces its file whole or not at all, and leaves no temporary file.

A full disk is simulated with RLIMIT_FSIZE in a real ``gis`` subprocess (writes beyond the limit
fail with EFBIG); an exception is raised partway through a write in-process; and a writer is
killed with SIGKILL while its temporary file exists.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gis._atomic import remove_stale_temps, temp_pattern, write_text_atomic
from gis.cli import cli
from tests.conftest import DATA, REPO
from tests.data.make_data import rect

OLD = b"the previous file, which must survive\n"
TEMP = re.compile(r"^\..*\.[0-9]+\.[a-z0-9_]{8}\.tmp")  # any temporary name of the toolkit

# a 300 m square in the test district, inside no feature of tests/data/layers
SQUARE = rect(3000, 3000, 300, 300, step=1000)["coordinates"][0]


def gis_limited(args: list[str], limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run the gis CLI in a subprocess, with writes beyond ``limit`` bytes failing with EFBIG."""
    code = "import sys; from gis.cli import main; sys.argv = ['gis', *sys.argv[1:]]; main()"
    if limit is not None:  # SIGXFSZ ignored: the write fails with EFBIG instead of killing the process
        code = (
            "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); " + code
        )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, timeout=300, check=False
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP.match(p.name))


def sketch(path: Path) -> Path:
    doc = {
        "type": "FeatureCollection",
        "frame": "WGS-84",
        "features": [
            {
                "type": "Feature",
                "properties": {"fid": "TT-PK-03", "name_zh": "草图公园", "note": "sketched"},
                "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
            }
        ],
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def layers(tmp_path: Path) -> Path:
    dest = tmp_path / "layers"
    shutil.copytree(DATA / "layers", dest)
    return dest


# (command after --layers, output name, file-size limit in bytes: below what the output needs)
DISK_FULL = [
    (["export", "-o", "{out}", "--overwrite"], "planning.gpkg", 100_000),
    (["export", "-o", "{out}", "--overwrite"], "layers.parquet", 10_000),
    (["map", "-o", "{out}", "--overwrite"], "map.html", 100_000),
    (["report", "-o", "{out}", "--overwrite"], "report.xlsx", 8_000),
    (["report", "-o", "{out}", "--overwrite"], "report.html", 8_000),
    (["rasterize", "-o", "{out}", "--overwrite"], "land_use.tif", 3_000),
    (["check", "-f", "csv", "-o", "{out}", "--overwrite"], "check.csv", 3_000),
]


@pytest.mark.parametrize(("command", "name", "limit"), DISK_FULL, ids=[c[1] for c in DISK_FULL])
def test_disk_full_keeps_the_previous_file(layers, tmp_path, command, name, limit):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / name
    out.write_bytes(OLD)
    args = [command[0], "--layers", str(layers), *(str(out) if a == "{out}" else a for a in command[1:])]
    result = gis_limited(args, limit)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(out) in errors[0], result.stderr
    assert "writing failed" in errors[0] and "previous file was left as it was" in errors[0]
    assert "Traceback" not in result.stderr
    assert out.read_bytes() == OLD
    assert sorted(p.name for p in out_dir.iterdir()) == [name]  # no temporary file left
    # and without the limit the same command replaces the file
    assert gis_limited(args).returncode in (0, 1)
    assert out.read_bytes() != OLD and temps(out_dir) == []


def test_disk_full_keeps_the_previous_shapefile_set(layers, tmp_path):
    out = tmp_path / "out" / "layers.shp"
    assert gis_limited(["export", "--layers", str(layers), "-o", str(out)]).returncode == 0
    before = snapshot(out.parent)
    result = gis_limited(
        ["export", "--layers", str(layers), "-o", str(out), "--overwrite"], 8_000
    )  # the .dbf needs more
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and str(out) in result.stderr
    assert "previous files were left as they were" in result.stderr
    assert snapshot(out.parent) == before
    assert [p.name for p in out.parent.iterdir() if p.is_dir()] == []  # no temporary folder


def test_disk_full_keeps_the_previous_layer_file(layers, tmp_path):
    parks = layers / "parks.geojson"
    before = snapshot(layers)
    args = ["import", str(sketch(tmp_path / "sketch.geojson")), "--layer", "parks", "--layers", str(layers)]
    result = gis_limited(args, parks.stat().st_size // 2)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(parks) in errors[0] and "Traceback" not in result.stderr
    assert snapshot(layers) == before
    assert gis_limited(args).returncode == 0 and "TT-PK-03" in parks.read_text(encoding="utf-8")


def half_then_fail(real):
    """Wrap a write so it writes half its data, then fails like a full disk."""

    def write(self, data, *args, **kwargs):
        real(self, data[: len(data) // 2], *args, **kwargs)
        assert self.stat().st_size > 0  # the temporary file is partly written
        raise OSError(28, "No space left on device")

    return write


IN_PROCESS = [
    (["check", "-f", "json", "-o", "{out}", "--overwrite"], "check.json"),
    (["map", "-o", "{out}", "--overwrite"], "map.html"),
    (["report", "-o", "{out}", "--overwrite"], "report.md"),
    (["report", "-o", "{out}", "--overwrite"], "report.xlsx"),  # built in memory, written in one go
    (["rasterize", "-o", "{out}", "--overwrite"], "land_use.tif"),
]


@pytest.mark.parametrize(("command", "name"), IN_PROCESS, ids=[c[1] for c in IN_PROCESS])
def test_failure_mid_write_keeps_the_previous_file(layers, tmp_path, monkeypatch, command, name):
    out = tmp_path / "out" / name
    out.parent.mkdir()
    out.write_bytes(OLD)
    monkeypatch.setattr(Path, "write_bytes", half_then_fail(Path.write_bytes))
    args = [command[0], "--layers", str(layers), *(str(out) if a == "{out}" else a for a in command[1:])]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "the disk is full" in result.output and "previous file was left as it was" in result.output
    assert out.read_bytes() == OLD
    assert sorted(p.name for p in out.parent.iterdir()) == [name]


def test_failure_mid_import_keeps_the_layer_file(layers, tmp_path, monkeypatch):
    before = snapshot(layers)
    monkeypatch.setattr(Path, "write_bytes", half_then_fail(Path.write_bytes))
    args = ["import", str(sketch(tmp_path / "sketch.geojson")), "--layer", "parks", "--layers", str(layers)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "parks.geojson: writing failed" in result.output
    assert snapshot(layers) == before


def test_failure_mid_parquet_keeps_the_previous_file(layers, tmp_path, monkeypatch):
    import geopandas as gpd

    out = tmp_path / "layers.parquet"
    out.write_bytes(OLD)

    def to_parquet(self, path, **kwargs):
        Path(path).write_text("PAR1 half a file", encoding="ascii")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", to_parquet)
    result = CliRunner().invoke(cli, ["export", "--layers", str(layers), "-o", str(out), "--overwrite"])
    assert result.exit_code == 2 and "the disk is full" in result.output
    assert out.read_bytes() == OLD and temps(tmp_path) == []


def test_failure_mid_shapefile_keeps_the_previous_set(layers, tmp_path, monkeypatch):
    out = tmp_path / "layers.shp"
    assert CliRunner().invoke(cli, ["export", "--layers", str(layers), "-o", str(out)]).exit_code == 0
    before = snapshot(tmp_path)
    real = Path.write_text

    def write_text(self, *args, **kwargs):  # the field map, after the driver wrote the .shp set
        if self.name.endswith(".fields.csv"):
            assert (self.parent / "layers.dbf").stat().st_size > 0
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    result = CliRunner().invoke(cli, ["export", "--layers", str(layers), "-o", str(out), "--overwrite"])
    assert result.exit_code == 2 and "previous files were left as they were" in result.output
    assert snapshot(tmp_path) == before
    assert [p for p in tmp_path.iterdir() if p.is_dir() and p.name != "layers"] == []


SLOW_WRITER = """
import sys, time
from pathlib import Path
from gis._atomic import atomic_path
with atomic_path(Path(sys.argv[1])) as tmp:
    with open(tmp, "wb") as f:
        f.write(b"half of the new file")
        f.flush()
        print(tmp.name, flush=True)
        time.sleep(120)
"""


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    if child.stdout is not None:
        child.stdout.close()


def start_slow_writer(target: Path) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(target)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert child.stdout is not None
    name = child.stdout.readline().strip()  # the temporary file exists and is partly written
    tmp = target.parent / name
    assert tmp.exists() and temp_pattern(target.name).match(name)["pid"] == str(child.pid)
    return child, tmp


def test_a_killed_writer_leaves_the_target_and_the_next_write_removes_its_temp(tmp_path):
    target = tmp_path / "check.csv"
    target.write_bytes(OLD)
    child, tmp = start_slow_writer(target)
    live, live_tmp = start_slow_writer(target)  # a second writer, still running
    unrelated = [tmp_path / ".check.csv.notapid.abcdefgh.tmp", tmp_path / ".other.csv.1.abcdefgh.tmp"]
    for p in unrelated:
        p.write_bytes(b"not ours to remove")
    try:
        kill(child)
        assert target.read_bytes() == OLD and tmp.exists()  # a killed process cannot clean up
        result = gis_limited(["check", "--layers", str(DATA / "layers"), "-f", "csv", "-o", str(target), "--overwrite"])
        assert result.returncode == 1, result.stderr  # a short target: the check ran and wrote
        assert target.read_bytes().startswith("\ufefftarget_id".encode())
        assert not tmp.exists()  # the dead writer's temporary file is gone
        assert live_tmp.exists()  # a running writer's is not
        assert all(p.exists() for p in unrelated)  # nor anything not named like a temporary file of the target
    finally:
        kill(live)
    assert remove_stale_temps(target) == [live_tmp]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["check.csv", *(p.name for p in unrelated)])


SWAP_THEN_DIE = """
import os, sys, time
from pathlib import Path
real = os.replace
calls = {"n": 0}
def replace(src, dst):
    calls["n"] += 1
    if calls["n"] == 9:  # the old set is aside, some of the new one is in
        print("swapping", flush=True)
        time.sleep(120)
    return real(src, dst)
os.replace = replace
from gis.export import export
from gis.pipeline import run_check
export(run_check(layers_dir=Path(sys.argv[1])), Path(sys.argv[2]), layer="parks", overwrite=True)
"""


def test_a_writer_killed_while_swapping_a_shapefile_set_is_rolled_back(layers, tmp_path):
    out = tmp_path / "out" / "layers.shp"
    assert gis_limited(["export", "--layers", str(layers), "-o", str(out)]).returncode == 0
    (out.parent / "layers.qix").write_bytes(b"a spatial index of the old set")
    before = snapshot(out.parent)
    child = subprocess.Popen(
        [sys.executable, "-c", SWAP_THEN_DIE, str(layers), str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "swapping"
    kill(child)
    assert snapshot(out.parent) != before  # a half-replaced set
    [folder] = [p for p in out.parent.iterdir() if p.is_dir()]
    assert remove_stale_temps(out) == [folder]
    assert snapshot(out.parent) == before  # rolled back: the previous set, whole
    assert list(out.parent.iterdir()) and not folder.exists()


def test_a_stale_temp_of_a_dead_pid_is_removed_by_the_next_write(tmp_path):
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)
    stale = tmp_path / f".a.txt.{dead}.abcdefgh.tmp"
    stale.write_bytes(b"left by a killed writer")
    write_text_atomic(tmp_path / "a.txt", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
