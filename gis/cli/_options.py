"""Options and error handling shared by the subcommands."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gis import settings
from gis._atomic import write_text_atomic
from gis.errors import GisError
from gis.escape import terminal_text

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


def handle_errors(func: F) -> F:
    """Turn expected errors into one line per problem on stderr and exit code 2, no traceback.

    Values the messages quote are printed with control characters made visible (:func:`terminal_text`).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GisError as exc:
            problems = getattr(exc, "problems", None) or [str(exc)]
            for line in problems:
                click.echo(f"error: {terminal_text(line)}", err=True)
            if len(problems) > 1:
                click.echo(f"{len(problems)} problems found; nothing was written.", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def emit(text: str, output: Path | None, *, what: str, bom: bool = False) -> None:
    """Print ``text``, or write it to ``output`` atomically (with a BOM for spreadsheets) and say so.

    Printed on a terminal, control characters from the data (escape sequences ...) are shown as
    visible escapes (:func:`terminal_text`); a file or a pipe gets the text as it is.
    """
    if output is None:
        click.echo(terminal_text(text, newlines=True) if sys.stdout.isatty() else text, nl=False)
        return
    write_text_atomic(output, "\ufeff" + text if bom else text)
    click.echo(f"wrote {output} ({what})", err=True)
