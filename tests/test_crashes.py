"""Nothing lost, nothing injected: inputs and failures that once ended in a traceback.

Every case runs the real CLI (a ``gis`` subprocess, or click's CliRunner) on files made here
from the clean test layers, and checks the exit code, the one line it prints and that no
previous file changed. A bug cannot be made on purpose from real input (each known one is
fixed), so the unexpected-error cases put one into the subprocess before the CLI starts.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_threads_setting_that_is_not_a_number_is_named(layers):
    for value in ("abc", "0", "2.5"):
        line = one_clean_error(gis(["check", "--layers", str(layers)], env={"GIS_THREADS": value}))
        assert line == (
            f"error: the environment variable GIS_THREADS is {value!r}; set it to a whole number of threads, "
            "1 or more (e.g. GIS_THREADS=2), or unset it to use every core."
        )
    assert gis(["check", "--layers", str(layers)], env={"GIS_THREADS": "1"}).returncode == 1
