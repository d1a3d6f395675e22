"""Nothing lost, nothing injected by ``gis import``.

- two imports into one layer at the same time keep both features (a lock beside the layer file,
  taken before the layer is read and held until it is replaced); a second writer waits, says so,
  and is refused after ``--wait`` seconds naming the file and the other writer's pid; a writer
  killed while it holds the lock does not block the next one;

Every file is generated here from the small test layers (tests/data/layers); the imports run as
real ``gis`` subprocesses or through click's runner.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gis.errors import GisError
from gis.importer import apply_import, plan_import
from tests.data.make_data import rect

REPO = Path(__file__).resolve().parents[1]
GIS = [sys.executable, "-c", "import sys; from gis.cli import main; sys.argv[0] = 'gis'; main()"]


def sketch(path: Path, fid: str | None, x: float, *, geometry: dict | None = None, **props: object) -> Path:
    """A GeoJSON of one new park, 200 m square, ``x`` metres east in the north of the test district."""
    properties = {"fid": fid, "name_zh": f"草图公园{fid}", **props}
    feature = {"type": "Feature", "properties": properties, "geometry": geometry or rect(x, 18_000, 200, 200)}
    doc: dict[str, object] = {"type": "FeatureCollection", "features": [feature]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def fids(layer_file: Path) -> list[str]:
    return [f["properties"]["fid"] for f in json.loads(layer_file.read_text(encoding="utf-8"))["features"]]


def import_args(path: Path, layers: Path, *more: str) -> list[str]:
    return ["import", str(path), "--layer", "parks", "--layers", str(layers), *more]


def run_gis(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GIS, *args], capture_output=True, text=True, cwd=REPO, timeout=300, check=False)


# --- item 2: concurrent writers -------------------------------------------------------------


def test_two_imports_at_the_same_time_keep_both_features(test_layers, tmp_path):
    parks = test_layers / "parks.geojson"
    expected = set(fids(parks))
    for n in range(3):  # before the lock, each of these rounds lost one of the two features
        files = [
            sketch(tmp_path / f"{side}{n}.geojson", f"TT-PK-{side}{n}", 1000 * n + dx)
            for side, dx in (("A", 0), ("B", 500))
        ]
        procs = [
            subprocess.Popen(
                [*GIS, *import_args(f, test_layers)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            for f in files
        ]
        outputs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outputs, strict=True):
            assert p.returncode == 0 and "wrote" in out, err
        expected |= {f"TT-PK-A{n}", f"TT-PK-B{n}"}
        assert set(fids(parks)) == expected
        assert len(fids(parks)) == len(expected)
    assert not list(test_layers.glob(".*.lock"))  # a lock file is there only while it is held


# A real `gis import` that stops just before it moves the new layer file into place (it holds the lock)
HELD_IMPORT = """
import os, sys, time
real = os.replace
def replace(src, dst):
    if str(dst).endswith("parks.geojson"):
        print("replacing", flush=True)
        time.sleep(300)
    return real(src, dst)
os.replace = replace
from gis.cli import main
sys.argv = ["gis", *sys.argv[1:]]
main()
"""


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()


def test_a_second_writer_waits_is_refused_by_name_and_a_killed_writer_blocks_nothing(test_layers, tmp_path):
    parks = test_layers / "parks.geojson"
    before = parks.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", HELD_IMPORT, *import_args(sketch(tmp_path / "a.geojson", "TT-PK-A", 0), test_layers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    second = sketch(tmp_path / "b.geojson", "TT-PK-B", 500)
    try:
        assert holder.stdout is not None
        while (line := holder.stdout.readline()).strip() != "replacing":  # it printed its plan, then stopped
            assert line, "the first import ended before it replaced the layer file"
        refused = run_gis(import_args(second, test_layers, "--wait", "1"))
        assert refused.returncode == 2, refused.stderr
        assert "Traceback" not in refused.stderr and "wrote" not in refused.stdout
        waiting, error = [line for line in refused.stderr.splitlines() if line.strip()][-2:]
        assert "waiting" in waiting and f"pid {holder.pid}" in waiting  # said on stderr while waiting
        assert error.startswith("error: ") and str(test_layers) in error and f"pid {holder.pid}" in error
        assert "gis import" in error and "--wait" in error
        assert parks.read_bytes() == before
        # a writer that waits long enough gets its turn when the other one ends, here by SIGKILL
        waiter = subprocess.Popen(
            [*GIS, *import_args(second, test_layers, "--wait", "120")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert waiter.stderr is not None
        while "waiting" not in (line := waiter.stderr.readline()):
            assert line, "the waiting writer ended without saying what it waits for"
        kill(holder)
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0 and "wrote" in out, err
    finally:
        if holder.poll() is None:
            kill(holder)
    assert set(fids(parks)) == {*json_fids(before), "TT-PK-B"}  # the killed import wrote nothing
    assert not list(test_layers.glob(".*.lock"))  # the killed holder's lock files were taken over and removed


def json_fids(data: bytes) -> list[str]:
    return [f["properties"]["fid"] for f in json.loads(data)["features"]]


def test_a_plan_made_before_another_write_is_not_applied(test_layers, tmp_path):
    """Library callers: apply_import re-checks, under the lock, that the layers are still as read."""
    first = plan_import(sketch(tmp_path / "a.geojson", "TT-PK-A", 0), layer="parks", layers_dir=test_layers)
    second = plan_import(sketch(tmp_path / "b.geojson", "TT-PK-B", 500), layer="parks", layers_dir=test_layers)
    apply_import(second)
    after_second = (test_layers / "parks.geojson").read_bytes()
    with pytest.raises(GisError, match=r"parks\.geojson.*changed since the import read it"):
        apply_import(first)
    assert (test_layers / "parks.geojson").read_bytes() == after_second  # TT-PK-B is not lost
