"""Progress bars on the terminal: a tqdm bar on stderr per stage the library reports (:mod:`gis.progress`).

Shown when stderr is a terminal and ``-q`` was not given (``--progress`` / ``--no-progress`` or
``GIS_PROGRESS=1`` / ``0`` decide otherwise, as git's ``--progress`` does). Log lines are written
above the bars (tqdm's logging redirection), a bar is cleared when its stage ends, and every bar
is cleared when the command ends, also on an error, before its message is printed. A bar whose
stage is busy in one long step still shows its time going up (redrawn twice a second).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from gis.progress import Progress, reporting

#: Seconds between two redraws of the bars (their elapsed time) when no stage advances.
REDRAW_S = 0.5
#: A bar: its share, what it has done and the time it has run. No rate or time left: the steps of a
#: stage are uneven (a GeoPackage's small layers, then its parcels), so they would mislead.
BAR = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{unit} [{elapsed}]"
#: A stage of unknown total (a delivery read batch by batch): what it has done and its time.
COUNTER = "{desc}: {n_fmt}{unit} [{elapsed}]"


class _Bar(tqdm):  # type: ignore[misc]
    """tqdm without its monitor thread (the terminal's own redraw thread is enough)."""

    monitor_interval = 0


class TerminalProgress:
    """A progress reporter drawing one bar per running stage on ``file``; :meth:`close` clears them all."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self._bars: dict[int, tqdm] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._redraw = threading.Thread(target=self._redraw_loop, name="gis-progress", daemon=True)
        self._redraw.start()

    def __call__(self, p: Progress) -> None:
        with self._lock:
            if self._closed:
                return  # a stage of a worker thread that outlived the command: nothing more is drawn
            bar = self._bars.get(p.id)
            if bar is None:
                if p.finished:
                    return
                bar = self._bars[p.id] = _Bar(
                    total=p.total,
                    desc=p.stage,
                    unit=f" {p.unit}",
                    unit_scale=p.unit in ("features", "parcels"),  # 1.00M features; 2/4 pages
                    bar_format=BAR if p.total is not None else COUNTER,
                    file=self._file,
                    leave=False,
                    mininterval=0.2,
                    **_width(self._file),
                )
            if p.done > bar.n:
                bar.update(p.done - bar.n)
            if p.finished:
                bar.close()
                del self._bars[p.id]

    def _redraw_loop(self) -> None:
        while not self._stop.wait(REDRAW_S):
            with self._lock:
                for bar in self._bars.values():
                    bar.refresh()

    def close(self) -> None:
        """Clear every bar still drawn and stop redrawing."""
        self._stop.set()
        with self._lock:
            self._closed = True
            for bar in reversed(list(self._bars.values())):
                bar.close()
            self._bars.clear()
        self._redraw.join()


def _width(file: IO[str]) -> dict[str, Any]:
    """Return tqdm's size options: the terminal's as it changes; 80 x 24 where it says none (a pty never sized).

    tqdm hides every bar on a terminal of 0 rows.
    """
    try:
        size = os.get_terminal_size(file.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((0, 0))
    return {"dynamic_ncols": True} if min(size) > 0 else {"ncols": 80, "nrows": 24}


def wanted(flag: bool | None, *, quiet: bool, stream: Any = None) -> bool:
    """Tell whether to draw bars: ``--progress``/``--no-progress`` when given, else on a terminal without ``-q``."""
    if flag is not None:
        return flag
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not quiet and callable(isatty) and bool(isatty())


@contextmanager
def terminal_progress(show: bool) -> Iterator[None]:
    """Draw the library's progress on stderr inside the block when ``show``; clear it when the block ends."""
    if not show:
        yield
        return
    bars = TerminalProgress(sys.stderr)
    try:
        with logging_redirect_tqdm(tqdm_class=_Bar), reporting(bars):
            yield
    finally:
        bars.close()
