"""Nothing lost, nothing injected: what an output may replace.

- a folder output (``gis export --driver partitions``) replaces only a folder the toolkit wrote
  (its manifest), never the user's other files, and gets the umask's mode;
- no output may be one of the command's inputs, whatever ``--overwrite`` says (every subcommand
  that writes, through the CLI);
- a Shapefile export replaces only the files it writes: metadata beside it stays;
- ``-o -`` is standard output (text), refused for binary formats; ``-o LINK`` writes through the
  link; a device or a pipe is written into, never replaced; ``--targets /dev/null`` is named for
  what it is.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner, Result

from gis.cli import cli
from gis.partitioned import write_partitioned
from gis.read import read_layers

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
MANIFEST = "gis-partitions.json"  # what the toolkit writes into its own folder outputs


def gis(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def tree(root: Path) -> dict[str, object]:
    """Every entry under ``root``: a file's bytes, a link's target, a folder, a pipe; modes too."""
    out: dict[str, object] = {}
    for folder, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            p = Path(folder) / name
            rel = p.relative_to(root).as_posix()
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", p.read_bytes(), stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder holding a copy of the test layers in ``layers/`` and a file of the user's."""
    root = tmp_path / "project"
    shutil.copytree(DATA / "layers", root / "layers")
    (root / "notes.txt").write_text("the user's notes\n", encoding="utf-8")
    return root


# --- 1. a folder output replaces only what the toolkit wrote there ---------------------------------


def test_partitions_overwrite_refuses_a_folder_with_other_files(project, tmp_path):
    parts = tmp_path / "parts"
    (parts / "mine").mkdir(parents=True)
    (parts / "readme.txt").write_text("mine\n", encoding="utf-8")
    (parts / "mine" / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    before = tree(tmp_path)
    result = gis("export", "--layers", project / "layers", "--driver", "partitions", "-o", parts, "--overwrite")
    assert result.exit_code == 2, result.output
    assert "readme.txt" in result.output and "mine/data.csv" in result.output
    assert "Traceback" not in result.output
    assert tree(tmp_path) == before


def test_partitions_overwrite_of_the_current_folder_deletes_nothing(project, tmp_path, monkeypatch):
    elsewhere = tmp_path / "layers"
    shutil.copytree(DATA / "layers", elsewhere)
    monkeypatch.chdir(project)
    before = tree(tmp_path)
    result = gis("export", "--layers", elsewhere, "--driver", "partitions", "-o", ".", "--overwrite")
    assert result.exit_code == 2, result.output
    assert "notes.txt" in result.output and "layers/parks.geojson" in result.output
    assert "nothing was replaced" not in result.output and "Nothing was written" in result.output
    assert tree(tmp_path) == before
    # the project's own layers as input: refused as an input inside the folder, too
    result = gis("export", "--layers", "layers", "--driver", "partitions", "-o", ".", "--overwrite")
    assert result.exit_code == 2 and "which this command reads" in result.output
    assert tree(tmp_path) == before


def test_partitions_overwrite_replaces_its_own_folder_only(project, tmp_path):
    layers_dir = project / "layers"
    parts = tmp_path / "parts"
    write_partitioned(read_layers(layers_dir), parts, targets=layers_dir / "targets.csv", rows_per_partition=1)
    assert (parts / "parks" / "part.00001.parquet").is_file() and (parts / MANIFEST).is_file()
    result = gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", parts, "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (parts / "parks").iterdir()) == ["part.00000.parquet"]  # the old set is gone
    listed = json.loads((parts / MANIFEST).read_text(encoding="utf-8"))["files"]
    assert set(listed) == {p.relative_to(parts).as_posix() for p in parts.rglob("*") if p.is_file()} - {MANIFEST}
    assert len(gpd.read_parquet(parts / "parks" / "part.00000.parquet")) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left
    # a file the user put there, or changed, makes it the user's folder
    (parts / "parks" / "mine.parquet").write_bytes(b"user data")
    before = tree(parts)
    result = gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", parts, "--overwrite")
    assert result.exit_code == 2 and "parks/mine.parquet" in result.output
    assert tree(parts) == before
    (parts / "parks" / "mine.parquet").unlink()
    with open(parts / "targets.csv", "a", encoding="utf-8") as f:
        f.write("an edit of the user's\n")
    before = tree(parts)
    result = gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", parts, "--overwrite")
    assert result.exit_code == 2 and "targets.csv (changed since gis wrote it)" in result.output
    assert tree(parts) == before
    # an empty folder is simply filled; a file is no folder
    empty = tmp_path / "empty"
    empty.mkdir()
    assert gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", empty).exit_code == 0
    assert (empty / MANIFEST).is_file()
    result = gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", project / "notes.txt", "--overwrite")
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    assert (project / "notes.txt").read_text(encoding="utf-8") == "the user's notes\n"


def test_partitions_folders_get_the_umask_mode(project, tmp_path):
    old = os.umask(0o022)
    try:
        result = gis("export", "--layers", project / "layers", "--driver", "partitions", "-o", tmp_path / "parts")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    parts = tmp_path / "parts"
    modes = {p.relative_to(parts).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [parts, *parts.rglob("*")]}
    assert {m for name, m in modes.items() if (parts / name).is_dir()} == {0o755}, modes
    assert {m for name, m in modes.items() if (parts / name).is_file()} == {0o644}, modes


def test_partitions_failed_write_keeps_the_previous_folder(project, tmp_path, monkeypatch):
    layers_dir = project / "layers"
    parts = tmp_path / "parts"
    assert gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", parts).exit_code == 0
    before = tree(tmp_path)
    real = gpd.GeoDataFrame.to_parquet
    calls = {"n": 0}

    def full_disk(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", full_disk)
    result = gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", parts, "--overwrite")
    assert result.exit_code == 2 and "disk is full" in result.output
    assert "previous folder was left as it was" in result.output
    assert tree(tmp_path) == before


def test_partitions_output_through_a_link_keeps_the_link(project, tmp_path):
    layers_dir = project / "layers"
    real = tmp_path / "real_parts"
    assert gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", real).exit_code == 0
    link = tmp_path / "parts"
    link.symlink_to(real.name)
    result = gis("export", "--layers", layers_dir, "--driver", "partitions", "-o", link, "--overwrite")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == real.name
    assert (real / MANIFEST).is_file() and (real / "districts.parquet").is_file()


# --- 3. an output is never one of the command's inputs ---------------------------------------------


def _raster(tmp_path: Path, layers_dir: Path) -> Path:
    out = tmp_path / "r.tif"
    result = gis("rasterize", "--layers", layers_dir, "--resolution", "100", "-o", out)
    assert result.exit_code == 0, result.output
    return out


def _gpkg(tmp_path: Path, layers_dir: Path) -> Path:
    out = tmp_path / "out" / "planning.gpkg"
    assert gis("export", "--layers", layers_dir, "-o", out).exit_code == 0
    return out


def _xlsx_targets(tmp_path: Path, layers_dir: Path) -> Path:
    out = tmp_path / "T.xlsx"
    pd.read_csv(layers_dir / "targets.csv", dtype=str, keep_default_na=False).to_excel(out, index=False)
    return out


def _partitions(tmp_path: Path, layers_dir: Path) -> Path:
    out = tmp_path / "parts"
    write_partitioned(read_layers(layers_dir), out, targets=layers_dir / "targets.csv")
    return out


def _old_version(tmp_path: Path, layers_dir: Path) -> Path:
    old = tmp_path / "old_layers"
    shutil.copytree(layers_dir, old)
    return old


def _link(tmp_path: Path, target: Path) -> Path:
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    return link


# each case: (tmp_path, layers folder) -> the command's arguments, whose output is one of its inputs
SAME: dict[str, Callable[[Path, Path], list[object]]] = {
    "check": lambda t, L: ["check", "--layers", L, "-f", "csv", "-o", L / "targets.csv", "--overwrite"],
    "check through a link": lambda t, L: ["check", "--layers", L, "-o", _link(t, L / "targets.csv"), "--overwrite"],
    "check dask": lambda t, L: (
        lambda P: ["check", "--engine", "dask", "--layers", P, "-o", P / "districts.parquet", "--overwrite"]
    )(_partitions(t, L)),
    "check dask, in a layer folder": lambda t, L: (
        lambda P: ["check", "--engine", "dask", "--layers", P, "-o", P / "parks" / "check.csv"]
    )(_partitions(t, L)),
    "qa": lambda t, L: ["qa", "--layers", L, "-o", L / "parks.geojson", "--overwrite"],
    "map": lambda t, L: ["map", "--layers", L, "-o", L / "parks.geojson", "--overwrite"],
    "map background": lambda t, L: (lambda R: ["map", "--layers", L, "--background", R, "-o", R, "--overwrite"])(
        _raster(t, L)
    ),
    "export": lambda t, L: ["export", "--layers", L, "--layer", "parks", "-o", L / "parks.geojson", "--overwrite"],
    "export gpkg": lambda t, L: (
        lambda G: ["export", "--layers", G, "--targets", L / "targets.csv", "-o", G, "--overwrite"]
    )(_gpkg(t, L)),
    "export shapefile set": lambda t, L: (
        lambda T: ["export", "--layers", L, "--targets", T, "-o", t / "x.shp", "--overwrite"]
    )(Path(shutil.copyfile(L / "targets.csv", t / "x.fields.csv"))),
    "export partitions": lambda t, L: [
        "export",
        "--layers",
        L,
        "--driver",
        "partitions",
        "-o",
        L.parent,
        "--overwrite",
    ],
    "export partitions, own targets": lambda t, L: (
        lambda P: [
            *("export", "--layers", L, "--driver", "partitions"),
            *("--targets", P / "targets.csv", "-o", P, "--overwrite"),
        ]
    )(_partitions(t, L)),
    "import": lambda t, L: ["import", L / "parks.geojson", "--layer", "parks", "--layers", L],
    "report": lambda t, L: (lambda T: ["report", "--layers", L, "--targets", T, "-o", T, "--overwrite"])(
        _xlsx_targets(t, L)
    ),
    "diff": lambda t, L: ["diff", _old_version(t, L), L, "-o", L / "targets.csv", "--overwrite"],
    "diff gpkg": lambda t, L: (lambda G: ["diff", G, L, "-o", G, "--overwrite"])(_gpkg(t, L)),
    "rasterize": lambda t, L: ["rasterize", "--layers", L, "-o", L / "targets.csv", "--overwrite"],
    "zonal": lambda t, L: (lambda R: ["zonal", R, "--layers", L, "-o", R, "--overwrite"])(_raster(t, L)),
    "build": lambda t, L: (
        lambda G: [
            *("build", "--layers", G, "--targets", L / "targets.csv"),
            *("--out-dir", G.parent, "--maps-dir", t / "maps"),
        ]
    )(_gpkg(t, L)),
}


@pytest.mark.parametrize("case", list(SAME))
def test_an_output_that_is_an_input_is_refused(case, project, tmp_path):
    if "dask" in case:
        pytest.importorskip("dask_geopandas")
    args = SAME[case](tmp_path, project / "layers")
    before = tree(tmp_path)
    result = gis(*args)
    assert result.exit_code == 2, result.output
    assert "which this command reads" in result.output and "Traceback" not in result.output
    assert tree(tmp_path) == before  # nothing written, nothing removed


def test_build_writes_next_to_its_inputs_when_no_name_collides(project, tmp_path):
    layers_dir = project / "layers"
    result = gis("build", "--layers", layers_dir, "--out-dir", layers_dir, "--maps-dir", tmp_path / "maps")
    assert result.exit_code == 0, result.output
    assert (layers_dir / "check.csv").is_file() and (layers_dir / "parks.geojson").is_file()


# --- 4. a Shapefile export replaces only the files it writes --------------------------------------


def test_shapefile_overwrite_keeps_the_metadata_beside_it(project, tmp_path):
    layers_dir = project / "layers"
    out = tmp_path / "x.shp"
    assert gis("export", "--layers", layers_dir, "-o", out).exit_code == 0
    mine = {
        "x.shp.xml": b"<metadata>ArcGIS: the user's description</metadata>",
        "x.qmd": b"<qgis>the user's QGIS metadata</qgis>",
        "x.txt": b"notes",
    }
    for name, data in mine.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "x.qix").write_bytes(b"a spatial index of the old .shp")
    result = gis("export", "--layers", layers_dir, "--layer", "parks", "-o", out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert {name: (tmp_path / name).read_bytes() for name in mine} == mine
    assert "kept x.shp.xml, x.qmd" in result.output
    assert not (tmp_path / "x.qix").exists()  # built from the old .shp: wrong for the new one
    assert len(pyogrio.read_dataframe(out)) == 2


# --- 9. -o -, links, devices and pipes ------------------------------------------------------------


STDOUT: dict[str, tuple[Callable[[Path, Path], list[object]], Callable[[str], bool]]] = {
    "check csv": (lambda t, L: ["check", "--layers", L, "-f", "csv"], lambda out: out.startswith("target_id,")),
    "check table": (lambda t, L: ["check", "--layers", L], lambda out: "all: " in out),
    "qa json": (lambda t, L: ["qa", "--layers", L, "-f", "json"], lambda out: "findings" in json.loads(out)),
    "diff csv": (lambda t, L: ["diff", _old_version(t, L), L, "-f", "csv"], lambda out: "kind" in out.splitlines()[0]),
    "zonal csv": (
        lambda t, L: ["zonal", _raster(t, L), "--layers", L, "-f", "csv"],
        lambda out: out.startswith("layer,") or "fid" in out.splitlines()[0],
    ),
    "report": (lambda t, L: ["report", "--layers", L], lambda out: out.startswith("#")),
    "map": (lambda t, L: ["map", "--layers", L], lambda out: out.lstrip().lower().startswith("<!doctype html")),
    "export geojson": (
        lambda t, L: ["export", "--layers", L, "--driver", "geojson", "--layer", "parks"],
        lambda out: len(json.loads(out)["features"]) == 2,
    ),
}


@pytest.mark.parametrize("case", list(STDOUT))
def test_dash_writes_text_to_standard_output(case, project, tmp_path, monkeypatch):
    make, looks_right = STDOUT[case]
    args = make(tmp_path, project / "layers")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "-o", "-"]])
    assert result.exit_code in (0, 1), result.output
    assert not Path(tmp_path / "-").exists()
    assert looks_right(result.stdout), result.stdout[:300]
    assert "wrote" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["rasterize"],
        ["export"],
        ["export", "--driver", "gpkg"],
        ["export", "--driver", "partitions"],
    ],
    ids=["rasterize", "export", "export gpkg", "export partitions"],
)
def test_dash_is_refused_for_binary_outputs(args, project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = gis(*args, "--layers", project / "layers", "-o", "-")
    assert result.exit_code == 2, result.output
    assert "standard output" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "-").exists()


def test_a_file_named_dash_is_written_as_dot_slash_dash(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = gis("check", "--layers", project / "layers", "-f", "csv", "-o", "./-")
    assert result.exit_code in (0, 1), result.output
    assert (tmp_path / "-").read_text(encoding="utf-8").lstrip("\ufeff").startswith("target_id,")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("check.csv", ["check", "-f", "csv"]),
        ("planning.gpkg", ["export"]),
        ("report.xlsx", ["report"]),
        ("lu.tif", ["rasterize", "--resolution", "100"]),
    ],
)
def test_an_output_link_is_written_through(name, args, project, tmp_path):
    real = tmp_path / "data" / name
    real.parent.mkdir()
    real.write_bytes(b"the previous file")
    link = tmp_path / name
    link.symlink_to(Path("data") / name)
    result = gis(*args, "--layers", project / "layers", "-o", link, "--overwrite")
    assert result.exit_code in (0, 1), result.output
    assert link.is_symlink() and os.readlink(link) == str(Path("data") / name)
    assert real.stat().st_size > 100 and real.read_bytes() != b"the previous file"
    assert sorted(p.name for p in real.parent.iterdir()) == [name]  # no temporary file left


def test_a_dangling_output_link_creates_its_target(project, tmp_path):
    link = tmp_path / "check.csv"
    link.symlink_to("made/check.csv")
    result = gis("check", "--layers", project / "layers", "-f", "csv", "-o", link)
    assert result.exit_code in (0, 1), result.output
    assert link.is_symlink() and (tmp_path / "made" / "check.csv").read_text(encoding="utf-8-sig").startswith(
        "target_id"
    )


def test_a_shapefile_through_a_link_is_refused_clearly(project, tmp_path):
    layers_dir = project / "layers"
    real = tmp_path / "data" / "x.shp"
    assert gis("export", "--layers", layers_dir, "-o", real).exit_code == 0
    (tmp_path / "x.shp").symlink_to(real)
    before = tree(tmp_path)
    result = gis("export", "--layers", layers_dir, "-o", tmp_path / "x.shp", "--overwrite")
    assert result.exit_code == 2 and "is a symbolic link" in result.output and "Traceback" not in result.output
    assert tree(tmp_path) == before


def test_an_output_pipe_is_written_into_not_replaced(project, tmp_path):
    fifo = tmp_path / "check.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = gis("check", "--layers", project / "layers", "-f", "csv", "-o", fifo, "--overwrite")
    reader.join(timeout=30)
    if reader.is_alive():  # nothing opened the pipe for writing: open it so the reader ends
        with open(fifo, "wb"):
            pass
    assert result.exit_code in (0, 1), result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and received[0].decode("utf-8-sig").startswith("target_id,")


def test_targets_that_are_a_device_are_named_for_what_they_are(project):
    result = gis("check", "--layers", project / "layers", "--targets", "/dev/null")
    assert result.exit_code == 2
    assert "/dev/null: is a device, not a regular file (targets table)" in result.output
    assert "folder" not in result.output
    result = gis("zonal", "/dev/null", "--layers", project / "layers")
    assert result.exit_code == 2 and "/dev/null: is a device, not a regular file" in result.output
