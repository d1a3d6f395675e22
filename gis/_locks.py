"""Locks for a writer that reads a file, changes it and writes it back (``gis import``): ``flock`` on ``.NAME.lock`` beside it.

The kernel releases a lock however its process ends; the holder writes its pid into the lock file
so that a waiting writer can say whom it waits for.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from gis._atomic import _alive, _umask
from gis.errors import OutputError

log = logging.getLogger(__name__)


#: How long a writer waits for another writer's lock by default, in seconds.
LOCK_WAIT = 60.0


_held = threading.local()  # lock files this thread holds -> how many times (a lock is re-entrant per thread)


def lock_path(path: Path) -> Path:
    """Return the lock file of ``path``: ``.{name}.lock`` beside it, there while a writer holds it."""
    path = Path(path)
    return path.parent / f".{path.name}.lock"


def _holder(lock: Path) -> str:
    """Say who holds a lock, from what the holder wrote into the lock file: ``pid N (what it does)``."""
    try:
        pid_text, _, what = lock.read_text(encoding="utf-8").partition("\n")
        pid = int(pid_text)
    except (OSError, ValueError):
        return "another writer (pid unknown)"
    if not _alive(pid):  # the text of an earlier holder; the new one has not written its own yet
        return "another writer (pid unknown)"
    return f"pid {pid}" + (f" ({what.strip()})" if what.strip() else "")


@contextlib.contextmanager
def locked(paths: Iterable[Path], *, purpose: str, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the exclusive lock of each file of ``paths`` (in sorted order, so two writers never deadlock).

    The lock is :func:`fcntl.flock` on :func:`lock_path`, so it works between processes and the
    kernel releases it when its holder ends in any way, SIGKILL included. The holder writes its pid
    and ``purpose`` into the file and removes the file when it lets go (a killed holder's file is
    locked and removed by the next writer). A lock this thread already holds is taken again at no
    cost. A lock held by another process is waited for, up to ``wait``
    seconds, saying once (as a warning) what it waits for.

    Parameters
    ----------
    paths : iterable of Path
        The files to be read, changed and written back.
    purpose : str
        What the holder does, written into the lock file for a waiting writer to show
        (e.g. ``gis import into layer parks``).
    wait : float
        Seconds to wait for another writer before giving up.

    Raises
    ------
    OutputError
        The lock file cannot be made, or another writer still holds a lock after ``wait`` seconds;
        the message names the file and the other writer's pid and purpose when they are known.
    """
    held: dict[str, int] = _held.__dict__.setdefault("locks", {})
    with contextlib.ExitStack() as stack:
        named = {Path(p).absolute(): Path(p) for p in paths}  # the order and the key by where it is, as named
        for where in sorted(named):
            path = named[where]
            lock = lock_path(path)
            key = str(lock_path(where))
            if key not in held:
                stack.enter_context(_flock(path, lock, purpose=purpose, wait=wait))
            held[key] = held.get(key, 0) + 1
            stack.callback(_release_count, held, key)
        yield


def _release_count(held: dict[str, int], key: str) -> None:
    held[key] -= 1
    if not held[key]:
        del held[key]


@contextlib.contextmanager
def _flock(path: Path, lock: Path, *, purpose: str, wait: float) -> Iterator[None]:
    """Hold ``lock`` (made if missing, removed when let go), waiting up to ``wait`` seconds for another holder."""
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        except OSError as exc:
            raise OutputError(
                f"{path}: cannot make its lock file {lock.name} ({exc.strerror or exc}); nothing was written. "
                "Choose a folder you can write to."
            ) from exc
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _holder(lock)
                    if not told:
                        log.warning("%s: locked by %s; waiting up to %g s for it to finish", path, holder, wait)
                        told = True
                    if time.monotonic() >= deadline:
                        raise OutputError(
                            f"{path}: still locked by {holder} after {wait:g} s of waiting; nothing was written. "
                            "Run the command again when that has finished (or let it wait longer: --wait SECONDS)."
                        ) from None
                    time.sleep(0.1)
            try:  # the holder before removed the file while this one waited on it: lock the new one
                current = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{purpose}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # nothing left behind; a killed holder's file is reused and removed by the next one
        os.close(fd)  # releases the lock
