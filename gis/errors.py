"""The toolkit's exception tree.

Every class also subclasses a builtin, so callers may catch either. Messages say
what is wrong, where (file, layer, feature, field) and how to fix it; the CLI
prints them as one line each and exits with code 2.
"""

from __future__ import annotations


class GisError(Exception):
    """Root of the toolkit's errors."""


class InputError(GisError, ValueError):
    """Bad input data: a layer, a targets table or an option. Collects every problem found."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class InputFileError(InputError, OSError):  # type: ignore[misc]
    """An input file is missing or cannot be read."""


class OutputExistsError(GisError, FileExistsError):
    """An output exists and ``--overwrite`` was not given."""


class OutputError(GisError, OSError):
    """An output cannot be written (no such folder, no permission, disk full)."""
