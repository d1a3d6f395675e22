"""Options and error handling shared by the subcommands."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from gis import settings
from gis._atomic import check_output, write_text_atomic
from gis._inputs import refuse_inputs
from gis.cli._progress import terminal_progress
from gis.errors import GisError, flags_of_command, render
from gis.escape import terminal_text
from gis.partitioned import partition_files
from gis.read import default_targets_path, source_files

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


#: ``-o -``: the output goes to standard output.
STDOUT = Path("-")


def _output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    if value is None or value == "-":
        return None if value is None else STDOUT
    path = Path(value)
    return Path.cwd() / path if str(path) == "-" else path  # ./- is a file named -, not standard output


def to_stdout(output: Path | None) -> bool:
    """Tell whether ``-o -`` sends the output to standard output."""
    return output is not None and str(output) == "-"


def output_option(
    help: str = "Write to FILE instead of the terminal ('-': standard output).",
    *,
    required: bool = False,
    dir_okay: bool = False,
) -> Callable[[F], F]:
    """Return the -o/--output FILE option with this help text (``dir_okay``: or a folder); ``-`` is standard output."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=dir_okay, allow_dash=True),
        callback=_output_path,
        required=required,
        help=help,
    )


def refuse_stdout(output: Path | None, what: str) -> None:
    """Refuse ``-o -`` for an output that is not text (``what``: "a GeoTIFF is binary")."""
    if to_stdout(output):
        raise click.UsageError(f"-o - writes to standard output, but {what}: give a file name with -o.")


def layer_inputs(
    layers_dir: Path | None, targets_path: Path | None = None, *, targets: bool = True, engine: str = "pandas"
) -> list[tuple[Path, str]]:
    """Return the files a command reads from ``--layers`` (and ``--targets``, or its default), each with what it is."""
    source = Path(layers_dir) if layers_dir is not None else settings.default_layers_dir()
    files = partition_files(source) if engine == "dask" else source_files(source)
    if targets:
        files.append(
            (Path(targets_path) if targets_path is not None else default_targets_path(source), "the targets table")
        )
    return files


def check_outputs(
    outputs: Sequence[Path | None],
    inputs: list[tuple[Path, str]],
    *,
    overwrite: bool,
    folders: Sequence[Path] = (),
    hint: str = "Choose another -o path.",
) -> None:
    """Before anything is read or written: refuse an output that is an input, then an existing one without --overwrite.

    ``None`` and ``-o -`` outputs are skipped (the terminal).
    """
    files = [p for p in outputs if p is not None and not to_stdout(p)]
    refuse_inputs(files, inputs, folders=folders, hint=hint)
    for path in files:
        check_output(path, overwrite=overwrite)


def option_flags(ctx: click.Context | None) -> dict[str, str]:
    """Return the flag of each option of the running command by the library's parameter name (``crs`` -> ``--crs``).

    An option whose Python name differs from the library's parameter says so in ``PARAMETER_OF``.
    """
    if ctx is None:
        return {}
    options = [p for p in ctx.command.params if isinstance(p, click.Option) and p.name]
    flags = {PARAMETER_OF[p.name]: max(p.opts, key=len) for p in options if p.name in PARAMETER_OF}
    flags.update({str(p.name): max(p.opts, key=len) for p in options})  # an option of the parameter's own name wins
    return flags


#: Options whose name is not the library parameter they set (``--input-encoding`` sets ``encoding``
#: of the layers, ``-o`` the ``path`` of a writer).
PARAMETER_OF = {"input_encoding": "encoding", "output": "path"}


#: Exit codes of every command: 0 done (targets met), 1 a target short or over (``--strict``: any
#: finding), 2 bad input or an output that cannot be written, 3 an unexpected error (a bug), 130 Ctrl-C.
EXIT_BAD_INPUT = 2
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130
#: The key of ``click.Context.meta`` saying whether to draw progress bars (set by the ``gis`` group).
PROGRESS = "gis.progress"
#: Key of the root context's meta: True under ``gis -q`` (errors only: no notes).
QUIET = "gis.quiet"


def say_note(text: str) -> None:
    """Print a note for the user on stderr (``note: ...``), unless ``gis -q`` asked for errors only."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get(QUIET):
        return
    click.echo(f"note: {text}", err=True)


def handle_errors(func: F) -> F:
    """Turn errors into one line each on stderr and an exit code of their own, no traceback.

    Expected errors (:class:`~gis.errors.GisError`: bad input, an output that cannot be written)
    exit 2; Ctrl-C exits 130; any other exception is a bug or an input nobody foresaw, so that a
    scheduled job never reads it as a result: one line, exit 3, and its trace with ``gis -v``.
    click's own exceptions (usage errors) and :class:`SystemExit` pass through. Values the messages
    quote are printed with control characters made visible (:func:`terminal_text`). Progress bars
    (:mod:`gis.cli._progress`) are drawn while the command runs and cleared before any message.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context(silent=True)
        flags = option_flags(ctx)
        try:
            with flags_of_command(flags), terminal_progress(bool(ctx and ctx.meta.get(PROGRESS))):
                return func(*args, **kwargs)
        except GisError as exc:
            problems = [render(p, flags) for p in exc.raw]
            for line in problems:
                click.echo(f"error: {terminal_text(line)}", err=True)
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
    """Print ``text`` (no ``output``, or ``-o -``), or write it to ``output`` atomically (with a BOM for spreadsheets) and say so.

    Printed on a terminal, control characters from the data (escape sequences ...) are shown as
    visible escapes (:func:`terminal_text`); a file or a pipe gets the text as it is.
    """
    if output is None or to_stdout(output):
        click.echo(terminal_text(text, newlines=True) if sys.stdout.isatty() else text, nl=False)
        return
    write_text_atomic(output, "\ufeff" + text if bom else text)
    click.echo(f"wrote {output} ({what})", err=True)
