"""Atomic file writes: write to a temporary file beside the target, then move it into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gis.errors import OutputError, OutputExistsError


def check_output(path: Path, *, overwrite: bool) -> None:
    """Refuse an existing output unless ``overwrite`` is set."""
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: the file exists. Pass --overwrite to replace it, or choose another -o path.")


@contextlib.contextmanager
def atomic_path(path: Path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; move it onto ``path`` on success.

    ``suffix`` ends the temporary name (drivers that pick the format by extension need it).

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise OutputError(
            f"{path}: cannot write here ({exc.strerror or exc}). Choose a path in a folder you can write to."
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
    try:
        yield tmp
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(
                f"{path}: cannot replace the file ({exc.strerror or exc}); it was left as it was."
            ) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text to ``path`` atomically."""
    with atomic_path(path) as tmp:
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputError(
                f"{path}: writing failed ({exc.strerror or exc}); the previous file was left as it was."
            ) from exc
