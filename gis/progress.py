"""Progress of long work, reported to a callback the caller installs; the library never prints it.

Long work (reading, checking, importing or exporting a million parcels, building maps) runs in
named stages ("reading land-use parcels", "parcel QA", "writing GeoPackage" ...). A stage says
its name, its total when known, and advances once per batch, chunk, layer, target or page (never
per feature). Nobody listens by default: a stage is then a shared do-nothing object, and
:func:`advance` one context-variable look-up. Work on fewer than :data:`THRESHOLD` features
reports nothing at all.

A caller listens for a block of code with :func:`reporting`; the command line draws a bar on a
terminal with it (``gis/cli/_progress.py``). The callback gets a :class:`Progress` when a stage
starts, as it advances and when it ends (``finished``, also when the work failed), possibly from
another thread, so it should be quick:

>>> from gis.pipeline import run_qa
>>> def show(p: Progress) -> None:
...     if p.finished:
...         print(f"{p.stage}: {p.done:,} {p.unit}")
>>> with reporting(show):
...     report = run_qa("tests/data/layers")  # 10 features: nothing to report
>>> with reporting(show), stage("counting parcels", total=50_000, unit="parcels") as counting:
...     for batch in range(5):
...         counting.advance(10_000)
counting parcels: 50,000 parcels
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

#: Work on fewer features than this reports no progress: it is over before a bar would help.
THRESHOLD = 10_000


@dataclass(frozen=True)
class Progress:
    """What a stage reports: its name, what it has done of its total (None: not known), in which unit.

    ``id`` tells stages of the same name apart (nested or in threads); ``finished`` is set once, when
    the stage ends, whether its work succeeded or failed.
    """

    stage: str
    done: int
    total: int | None
    unit: str = "features"
    finished: bool = False
    id: int = 0


#: A progress callback: called with each :class:`Progress` of the stages run while it is installed.
Reporter = Callable[[Progress], None]

_REPORTER: ContextVar[Reporter | None] = ContextVar("gis_progress_reporter", default=None)
_CURRENT: ContextVar[Stage | None] = ContextVar("gis_progress_stage", default=None)
_IDS = itertools.count(1)
T = TypeVar("T")


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Send the progress of the stages run inside the block (in this thread or task) to ``reporter``.

    ``None`` silences the block. Stages opened in worker threads report only when the thread
    was given the stage: a context variable does not pass into a thread pool.
    """
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


class Stage:
    """One named stage of long work; a context manager that ends it (reporting ``finished``) on leaving.

    Inside its ``with`` block it is the current stage of the context: :func:`advance` advances it.
    A stage of unknown size starts reporting once it has done :data:`THRESHOLD` features.
    """

    def __init__(self, name: str, total: int | None, unit: str, reporter: Reporter | None, *, started: bool):
        self.name, self.total, self.unit, self.done = name, total, unit, 0
        self._reporter, self._started, self._ended = reporter, started, False
        self._id = next(_IDS)
        self._lock = threading.Lock()
        self._token: Token[Stage | None] | None = None
        if started and reporter is not None:
            reporter(Progress(name, 0, total, unit, id=self._id))

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done (a batch, a chunk, a layer, a page); callable from any thread."""
        if self._reporter is None:
            return
        with self._lock:
            if self._ended:
                return
            self.done += int(n)
            if not self._started:
                if self.done < THRESHOLD:
                    return
                self._started = True
                self._reporter(Progress(self.name, 0, self.total, self.unit, id=self._id))
            self._reporter(Progress(self.name, self.done, self.total, self.unit, id=self._id))

    def close(self) -> None:
        """End the stage: its reporter hears ``finished`` once (nothing when it never started)."""
        if self._reporter is None:
            return
        with self._lock:
            if self._ended:
                return
            self._ended = True
            if self._started:
                self._reporter(Progress(self.name, self.done, self.total, self.unit, finished=True, id=self._id))

    def __enter__(self) -> Stage:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None
        self.close()


class _Silent(Stage):
    """The stage of work nobody listens to: does nothing; one instance, shared (it keeps no state)."""

    def __init__(self) -> None:
        super().__init__("", None, "", None, started=False)

    def __enter__(self) -> Stage:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None


#: The stage nobody listens to (what :func:`stage` returns without a reporter): every call does nothing.
SILENT: Stage = _Silent()


def stage(name: str, total: int | None = None, *, size: int | None = None, unit: str = "features") -> Stage:
    """Open a stage of long work named ``name`` (plain English: "parcel QA", "building maps").

    Parameters
    ----------
    total
        How many ``unit`` the stage will do, when known.
    size
        How many features the work is about (default ``total``): below :data:`THRESHOLD` the stage
        reports nothing. When neither is known, the stage starts reporting once :meth:`Stage.advance`
        has counted :data:`THRESHOLD`.
    unit
        What :meth:`Stage.advance` counts: ``features``, ``parcels``, ``layers``, ``pages``, ``targets`` ...

    Use it as ``with stage(...) as s: ... s.advance(n)``; without ``with``, call :meth:`Stage.close`.
    """
    reporter = _REPORTER.get()
    if reporter is None:
        return SILENT
    size = total if size is None else size
    if size is not None and size < THRESHOLD:
        return _Quiet()  # still the current stage in its block: the advances inside count for nothing
    return Stage(name, total, unit, reporter, started=size is not None)


class _Quiet(Stage):
    """A stage too small to report, listened to or not: inside its block, :func:`advance` does nothing."""

    def __init__(self) -> None:
        super().__init__("", None, "", None, started=False)


def tracked(
    items: Iterable[T], name: str, *, total: int | None = None, size: int | None = None, unit: str = "features"
) -> Iterator[T]:
    """Yield ``items``, a stage :func:`stage` advanced by one as each is done (when the next is asked for).

    ``for page in tracked(pages, "building maps", total=4, size=n_features, unit="pages"): ...``: the
    stage ends with the loop (or when the loop is left by an error and the iterator dropped).
    """
    counting = stage(name, total=total, size=size, unit=unit)
    try:
        for item in items:
            yield item
            counting.advance()
    finally:
        counting.close()


def advance(n: int = 1) -> None:
    """Advance the current stage (the innermost ``with stage(...)`` of this context) by ``n``; nothing without one."""
    current = _CURRENT.get()
    if current is not None:
        current.advance(n)
