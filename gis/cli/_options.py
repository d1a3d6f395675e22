"""Options and error handling shared by the subcommands."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gis import settings
from gis._atomic import write_text_atomic
from gis.errors import GisError

F = TypeVar("F", bound=Callable[..., Any])

layers_option = click.option(
    "--layers",
    "layers_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of layers, or a GeoPackage of them as gis export writes (default: the shipped layers/).",
)
targets_option = click.option(
    "--targets",
    "targets_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Targets table, .csv or .xlsx (default: targets.csv in the layers folder).",
)

encoding_option = click.option(
    "--encoding",
    default=None,
    metavar="NAME",
    help="Text encoding of the layers and the targets table when not UTF-8 (e.g. gbk).",
)


def _district(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return settings.district_code(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


district_option = click.option(
    "--district",
    default=None,
    callback=_district,
    help="Only this district: 440307/longgang/龙岗, 440309/longhua/龙华, 440310/pingshan/坪山.",
)
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
format_option = click.option(
    "-f", "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)


def output_option(
    help: str = "Write to FILE instead of the terminal.", *, required: bool = False, dir_okay: bool = False
) -> Callable[[F], F]:
    """Return the -o/--output FILE option with this help text (``dir_okay``: or a folder)."""
    return click.option(
        "-o", "--output", type=click.Path(path_type=Path, dir_okay=dir_okay), required=required, help=help
    )


#: Exit codes of every command: 0 done (targets met), 1 a target short or over (``--strict``: any
#: finding), 2 bad input or an output that cannot be written, 3 an unexpected error (a bug), 130 Ctrl-C.
EXIT_BAD_INPUT = 2
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130


def handle_errors(func: F) -> F:
    """Turn errors into one line each on stderr and an exit code of their own, no traceback.

    Expected errors (:class:`~gis.errors.GisError`: bad input, an output that cannot be written)
    exit 2; Ctrl-C exits 130; any other exception is a bug or an input nobody foresaw, so that a
    scheduled job never reads it as a result: one line, exit 3, and its trace with ``gis -v``.
    click's own exceptions (usage errors) and :class:`SystemExit` pass through.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GisError as exc:
            problems = getattr(exc, "problems", None) or [str(exc)]
            for line in problems:
                click.echo(f"error: {line}", err=True)
            if len(problems) > 1:
                click.echo(f"{len(problems)} problems found; nothing was written.", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted (Ctrl-C); files being written were left as they were.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # a bug or an unforeseen input: say so in one line, never a bare traceback
            report_unexpected(exc)
            sys.exit(EXIT_UNEXPECTED)

    return wrapper  # type: ignore[return-value]


def report_unexpected(exc: BaseException) -> None:
    """Print an unexpected error as one line on stderr, after its traceback when ``gis -v`` was given."""
    ctx = click.get_current_context(silent=True)
    verbose = bool(ctx and ctx.find_root().params.get("verbose"))
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    message = " ".join(str(exc).split())
    if len(message) > 300:
        message = message[:300] + " ..."
    hint = "the trace is above" if verbose else "rerun with -v to see the trace"
    click.echo(
        f"error: unexpected {type(exc).__name__}{': ' + message if message else ''} "
        f"(a bug or an unforeseen input; {hint}, and report it)",
        err=True,
    )


def emit(text: str, output: Path | None, *, what: str, bom: bool = False) -> None:
    """Print ``text``, or write it to ``output`` atomically (with a BOM for spreadsheets) and say so."""
    if output is None:
        click.echo(text, nl=False)
        return
    write_text_atomic(output, "\ufeff" + text if bom else text)
    click.echo(f"wrote {output} ({what})", err=True)
