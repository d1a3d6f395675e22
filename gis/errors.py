"""The toolkit's exception tree.

Every class also subclasses a builtin, so callers may catch either. Messages say
what is wrong, where (file, layer, feature, field) and how to fix it; the CLI
prints them as one line each and exits with code 2.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

#: How a message names a parameter (an option on the command line): ``{p:encoding}``, or with the
#: value a Python caller passes, ``{p:overwrite=True}``. ``str()`` of the error shows ``encoding=``
#: (``overwrite=True``); the CLI shows the option's flag (``--encoding``, ``--overwrite``): see :func:`render`.
PARAMETER = re.compile(r"\{p:([a-z_]+)(=[^}]*)?\}")


#: The flags of the command line's running command (parameter -> ``--flag``), set by :func:`flags_of_command`.
_FLAGS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("gis_flags", default=None)


@contextlib.contextmanager
def flags_of_command(flags: dict[str, str]) -> Iterator[None]:
    """Within the block, messages name parameters by these flags (the CLI runs each command in one)."""
    token = _FLAGS.set(flags)
    try:
        yield
    finally:
        _FLAGS.reset(token)


def render(text: str, flag: dict[str, str] | None = None) -> str:
    """Return a message with its parameters named for Python (``encoding=``), or by ``flag`` (name -> ``--flag``).

    Without ``flag``, the flags of the running command (:func:`flags_of_command`) if any.

    Examples
    --------
    >>> render("Pass {p:encoding} gbk.")
    'Pass encoding= gbk.'
    >>> render("Pass {p:encoding} gbk.", {"encoding": "--encoding"})
    'Pass --encoding gbk.'
    >>> render("Pass {p:overwrite=True} to replace it."), render("Pass {p:overwrite=True}.", {"overwrite": "--overwrite"})
    ('Pass overwrite=True to replace it.', 'Pass --overwrite.')
    """
    flags = flag if flag is not None else (_FLAGS.get() or {})
    return PARAMETER.sub(lambda m: flags.get(m[1], f"{m[1]}{m[2] or '='}"), text)


class GisError(Exception):
    """Root of the toolkit's errors; its message may name parameters as ``{p:name}`` (see :func:`render`)."""

    def __init__(self, *messages: object) -> None:
        #: The messages as written, parameters marked: the CLI renders them with its flags.
        self.raw = [str(m) for m in messages] if messages else [""]
        super().__init__("\n".join(self.raw))  # one argument: OSError reads two as (errno, strerror)

    def __str__(self) -> str:
        return "\n".join(render(m) for m in self.raw)


class InputError(GisError, ValueError):
    """Bad input data: a layer, a targets table or an option. Collects every problem found."""

    def __init__(self, problems: str | list[str]) -> None:
        super().__init__(*([problems] if isinstance(problems, str) else problems))

    @property
    def problems(self) -> list[str]:
        """Every problem, one line each, parameters named (:func:`render`)."""
        return [render(p) for p in self.raw]


class InputFileError(InputError, OSError):  # type: ignore[misc]
    """An input file is missing or cannot be read."""


class OutputExistsError(GisError, FileExistsError):
    """An output exists and ``--overwrite`` was not given."""


class OutputError(GisError, OSError):
    """An output cannot be written (no such folder, no permission, disk full)."""
