"""Atomic file writes: write to a temporary file beside the target, then move it into place.

Every file the toolkit writes goes through :func:`atomic_path` (or :func:`write_text_atomic`,
:func:`write_bytes_atomic`, and :func:`atomic_folder` with :func:`replace_set` for a Shapefile's
set of files). The guarantee:

- the target is either the previous file or the complete new one, never a partial file: the new
  one is written to a temporary file in the same folder and moved over the target with
  :func:`os.replace` (atomic on one file system);
- a failing write (disk full, file-size limit, a driver's error, an exception) removes the
  temporary file, leaves the target as it was and raises one :class:`~gis.errors.OutputError`
  that names the file;
- a killed process (SIGKILL, power loss) cannot remove its temporary file, so temporary names
  carry the writer's process id, ``.{name}.{pid}.{random}.tmp[.ext]``, and the next atomic write
  to the same target removes those whose process no longer runs (see :func:`remove_stale_temps`);
- a target that is a symbolic link is written through: the file it points to is replaced and the
  link kept (:func:`real_path`); a target that is a device or a named pipe (``/dev/null``) is
  written into, never replaced;
- an output is never one of the command's inputs (:func:`gis._inputs.refuse_inputs`).

A writer that reads a file, changes it and writes it back (``gis import`` into a layer file) holds
the file's lock, :func:`gis._locks.locked`, from before it reads until the new file is in place, so that two
such writers cannot both start from the same old file and lose one's change.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from gis.errors import GisError, OutputError, OutputExistsError

log = logging.getLogger(__name__)

#: Name of the journal in a temporary folder while :func:`replace_set` moves files into place.
JOURNAL = "replacing.txt"
#: Subfolder of a temporary folder that holds the previous files during :func:`replace_set`.
BACKUP_DIR = "previous"


def check_output(path: Path, *, overwrite: bool) -> None:
    """Refuse an existing output unless ``overwrite`` is set."""
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path}: the file exists. Pass {{p:overwrite=True}} to replace it, or choose another output path."
        )


def real_path(path: Path) -> Path:
    """Return the file a write of ``path`` goes to: the target of a symbolic link (of a chain of them), else ``path``.

    A link that points nowhere yet gives the path it points to, which the write creates.
    """
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def temp_pattern(name: str) -> re.Pattern[str]:
    """Return the pattern of the temporary files and folders of a target named ``name``.

    Group ``pid`` is the writer's process id. The optional ending is a driver's extension
    (``.gpkg``) or a file a driver leaves beside it (``.gpkg-journal``).

    Examples
    --------
    >>> bool(temp_pattern("planning.gpkg").match(".planning.gpkg.4242.k3j_9a0z.tmp.gpkg-journal"))
    True
    >>> bool(temp_pattern("planning.gpkg").match(".planning.gpkg.4242.k3j_9a0z.gpkg"))
    False
    """
    return re.compile(rf"^\.{re.escape(name)}\.(?P<pid>[0-9]+)\.[a-z0-9_]{{8}}\.tmp(?:\.[A-Za-z0-9_-]+)?$")


def _alive(pid: int) -> bool:
    """Tell whether a process ``pid`` runs; when in doubt, say it does."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or no such pid to ask about: leave its files alone
    return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the temporary files and folders of ``path`` left by writers that no longer run.

    Only names matching :func:`temp_pattern` whose process id is not a running process are
    touched; a temporary folder whose :func:`replace_set` was interrupted is first rolled back
    (the previous files are put back). Failures are logged, never raised.

    Returns
    -------
    list of Path
        What was removed.
    """
    path = Path(path)
    pattern = temp_pattern(path.name)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or _alive(int(match["pid"])):
            continue
        stale = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                _roll_back(stale, path.parent)
                shutil.rmtree(stale)
            else:
                stale.unlink()
        except OSError as exc:
            log.warning("%s: cannot remove a stale temporary file of an interrupted write (%s)", stale, exc)
            continue
        log.info("removed %s, left by an interrupted write (process %s)", stale, match["pid"])
        removed.append(stale)
    return removed


def write_failure(path: Path, exc: BaseException, *, kept: str | None = None) -> OutputError:
    """Return the one error a failed write of ``path`` reports: what happened, what was kept, what to do.

    ``kept`` says what became of the previous file (default: whether there was one).
    """
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        what, fix = "the disk is full", "Free some space and run again."
    elif code == errno.EFBIG:
        what, fix = "file too large", "The file system or the file-size limit (ulimit -f) does not allow it."
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        what, fix = "no permission", "Choose a folder you can write to, or close the program that holds the file."
    else:
        what = (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip()
        fix = "Check free space and permissions, and run again."
    if kept is None:
        kept = "the previous file was left as it was" if path.exists() else "nothing was written"
    return OutputError(f"{path}: writing failed ({what}); {kept}. {fix}")


@contextlib.contextmanager
def atomic_path(path: Path, *, suffix: str = "", errors: tuple[type[BaseException], ...] = ()) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; move it onto ``path`` on success.

    Parameters
    ----------
    path : Path
        The target.
    suffix : str
        Ends the temporary name after ``.tmp`` (drivers that pick the format by extension need it).
    errors : tuple of exception types
        A driver's own exception types that mean the write failed (besides :class:`OSError`).

    Raises
    ------
    OutputError
        The folder cannot be written, or the block raised an :class:`OSError` or one of ``errors``,
        or the file cannot be moved into place. The temporary file is removed and ``path`` is left
        as it was, whatever the block raised.

    Notes
    -----
    A symbolic link is written through (the file it points to is replaced, the link kept); a
    device or a named pipe (``/dev/null``, a FIFO) is written into when the block is done.
    """
    shown, path = Path(path), real_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp" + suffix, dir=path.parent)
    except OSError as exc:
        raise OutputError(
            f"{shown}: cannot write here ({exc.strerror or exc}). Choose a path in a folder you can write to."
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    failures: tuple[type[BaseException], ...] = (OSError, *errors)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        try:
            yield tmp
        except GisError:
            raise
        except failures as exc:
            raise write_failure(shown, exc) from exc
        if _special(path):
            _copy_into(tmp, path, shown)
            return
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(
                f"{shown}: cannot replace the file ({exc.strerror or exc}); it was left as it was."
            ) from exc
    finally:
        _remove_temp(tmp)


def _special(path: Path) -> bool:
    """Tell whether ``path`` is a device, a named pipe or a socket: written into, never replaced."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _copy_into(tmp: Path, path: Path, shown: Path) -> None:
    try:
        with open(tmp, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except OSError as exc:
        raise write_failure(shown, exc, kept="what was written may be cut") from exc


def _remove_temp(tmp: Path) -> None:
    """Remove a temporary file and what a driver left beside it (``-journal``, ``-wal``)."""
    for p in (tmp, *(Path(f"{tmp}{end}") for end in ("-journal", "-wal", "-shm"))):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; raise :class:`~gis.errors.OutputError` when it fails."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text to ``path`` atomically; raise :class:`~gis.errors.OutputError` when it fails."""
    write_bytes_atomic(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` to write a set of files into; remove it afterwards.

    Move the files into place with :func:`replace_set`. The folder is named like a temporary
    file of ``path``, so a later write removes it if the process is killed.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path)
        folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc}).") from exc
    try:
        yield folder
    finally:
        if not (folder / JOURNAL).exists():  # else a roll back failed: the previous files are still in there
            shutil.rmtree(folder, ignore_errors=True)


def replace_set(folder: Path, members: Iterable[Path], *, remove: Iterable[Path] = ()) -> list[Path]:
    """Move the files of a set from ``folder`` onto ``members``, all or none.

    Every existing member, and every file of ``remove`` (stale files of the old set), is first
    moved aside into ``folder``; then the new members go in. On any error the previous set is put
    back as it was. A journal in ``folder`` lists the members until the set is complete, so a
    stale temporary folder of a killed process is rolled back too (:func:`remove_stale_temps`).

    Parameters
    ----------
    folder : Path
        The folder from :func:`atomic_folder`, holding one file per member, by member name.
    members : iterable of Path
        The targets (files, or folders replaced with all they hold); all in the folder's parent folder.
    remove : iterable of Path
        Files of the old set that the new set does not have.

    Returns
    -------
    list of Path
        The files of ``remove`` that existed (and are gone now).
    """
    return replace_sets([(folder, list(members), list(remove))])


def replace_sets(sets: list[tuple[Path, list[Path], list[Path]]]) -> list[Path]:
    """Move several sets into place as :func:`replace_set` does one, all or none.

    ``sets`` holds ``(folder, members, remove)`` per temporary folder (each in its own target
    folder, or several in one). First the previous files of every set are moved aside, then the
    new ones moved in; on any error every set is put back as it was. Returns the files of the
    ``remove`` lists that existed (and are gone now).
    """
    started: list[Path] = []
    gone: list[Path] = []
    try:
        for folder, members, remove in sets:  # every old file aside, in every folder, before anything new goes in
            old = [p for p in [*members, *remove] if p.exists()]
            backups = folder / BACKUP_DIR
            backups.mkdir()
            started.append(folder)
            (folder / JOURNAL).write_text("\n".join(m.name for m in members) + "\n", encoding="utf-8")
            for p in old:
                os.replace(p, backups / p.name)
            gone += [p for p in old if p not in members]
        for folder, members, _ in sets:
            for m in members:
                os.replace(folder / m.name, folder.parent / m.name)
    except BaseException:
        for folder in reversed(started):
            _roll_back(folder, folder.parent)
        raise
    for folder in started:
        (folder / JOURNAL).unlink()  # complete: nothing to roll back from here on
    return gone


class OutputSet:
    """Outputs in one or more folders, written first and moved into place together (:func:`atomic_outputs`)."""

    def __init__(self, name: str, stack: contextlib.ExitStack) -> None:
        self._name = name
        self._stack = stack
        self._folders: dict[Path, Path] = {}  # target folder (resolved) -> its temporary folder
        self._members: dict[Path, list[Path]] = {}  # temporary folder -> its targets

    def path(self, target: Path) -> Path:
        """Return where to write ``target`` now: a file of the same name in a temporary folder beside it.

        Raises :class:`~gis.errors.OutputError` when the target's folder cannot be written.
        """
        target = Path(target)
        key = target.parent.resolve()
        if key not in self._folders:
            self._folders[key] = self._stack.enter_context(atomic_folder(target.parent / self._name))
        folder = self._folders[key]
        members = self._members.setdefault(folder, [])
        member = folder.parent / target.name
        if member not in members:
            members.append(member)
        return folder / target.name

    def in_place(self, message: str) -> str:
        """Return a writer's error message about its temporary file as one about the target."""
        for folder in self._members:
            message = message.replace(f"{folder}{os.sep}", f"{folder.parent}{os.sep}")
        for kept in ("nothing was written", "the previous file was left as it was"):
            message = message.replace(kept, "every previous output was left as it was")
        return message

    def commit(self) -> None:
        """Move every output into place, all or none (:func:`replace_sets`)."""
        sets: list[tuple[Path, list[Path], list[Path]]] = [(f, m, []) for f, m in self._members.items()]
        try:
            replace_sets(sets)
        except OSError as exc:
            folders = ", ".join(str(folder.parent) for folder, _, _ in sets)
            file = f"{Path(exc.filename).name}: " if exc.filename else ""
            raise OutputError(
                f"{folders}: cannot move the new files into place ({file}{exc.strerror or exc}); every previous "
                "file was left as it was. Check that you may write there, and run again."
            ) from exc


@contextlib.contextmanager
def atomic_outputs(name: str) -> Iterator[OutputSet]:
    """Write several outputs, in any folders, and replace them all or none.

    Each output is written, under its own name, into a temporary folder beside its target
    (:meth:`OutputSet.path`; named like a temporary file of ``name`` in that folder, so a later
    run removes it, and rolls back its moves, if the process was killed). When the block ends
    without an error every previous output is moved aside and every new one moved in
    (:func:`replace_sets`); an error anywhere, in a writer or in the moves, leaves every previous
    output as it was.
    """
    with contextlib.ExitStack() as stack:
        outputs = OutputSet(name, stack)
        try:
            yield outputs
        except OutputError as exc:  # a writer's error names its temporary file: name the target instead
            raise OutputError(outputs.in_place(str(exc))) from exc
        outputs.commit()


def _roll_back(folder: Path, parent: Path) -> None:
    """Undo an interrupted :func:`replace_set`: remove the new members moved in, put the previous files back."""
    journal = folder / JOURNAL
    if not journal.exists():
        return  # never started, or complete
    backups = folder / BACKUP_DIR
    for name in journal.read_text(encoding="utf-8").splitlines():
        if name and not (folder / name).exists():  # moved in: the new file goes
            new = parent / name
            if new.is_dir() and not new.is_symlink():
                shutil.rmtree(new)
            else:
                with contextlib.suppress(FileNotFoundError):
                    new.unlink()
    if backups.exists():
        for p in backups.iterdir():
            os.replace(p, parent / p.name)
    journal.unlink()
