"""No output may be one of a command's inputs: the same file after resolving links, or inside a folder replaced whole."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from gis.errors import InputError

log = logging.getLogger(__name__)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they lead
        return os.path.realpath(a) == os.path.realpath(b)


def _within(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def refuse_inputs(
    outputs: Iterable[Path],
    inputs: Iterable[tuple[Path, str]],
    *,
    folders: Iterable[Path] = (),
    hint: str = "Choose another output path.",
) -> None:
    """Refuse any output that is one of the inputs, whatever ``overwrite`` says.

    Paths are compared as files (:func:`os.path.samefile`, so through symbolic and hard links),
    or where they lead when one does not exist yet.

    Parameters
    ----------
    outputs
        The files the command writes.
    inputs
        The files (or folders: everything in them) the command reads, each with what it is, for
        the message ("the targets table").
    folders
        Folders the command replaces with all they hold: no input may lie in them.
    hint
        How to fix it, ending the message.

    Raises
    ------
    InputError
        One problem per output that would destroy an input.
    """
    inputs = [(Path(p), role) for p, role in inputs]
    targets = [(Path(p), False) for p in outputs] + [(Path(p), True) for p in folders]
    problems = []
    for out, whole in targets:
        for inp, role in inputs:
            if _same(out, inp):
                what = f"is {role}" if str(out) == str(inp) else f"is the same file as {role} ({inp})"
            elif whole and _within(inp, out):
                what = f"holds {role} ({inp})"
            elif inp.is_dir() and _within(out, inp):
                what = f"lies in {role} ({inp})"
            else:
                continue
            problems.append(
                f"{out}: {what}, which this command reads; writing there would destroy it, "
                f"with or without {{p:overwrite=True}}. {hint}"
            )
            break
    if problems:
        raise InputError(problems)
