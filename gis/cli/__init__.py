"""The ``gis`` command line: a click group with one small module per subcommand."""

from __future__ import annotations

import logging
import sys

import click

from gis import __version__
from gis.cli._options import EXIT_BAD_INPUT, EXIT_UNEXPECTED, PROGRESS, QUIET, report_unexpected
from gis.cli._progress import wanted
from gis.cli.build import build
from gis.cli.check import check
from gis.cli.export import export_command
from gis.cli.importer import import_command
from gis.cli.landuse import landuse_command
from gis.cli.map import map_command
from gis.cli.qa import qa_command
from gis.cli.raster import rasterize_command, zonal_command
from gis.cli.report import diff_command, report_command
from gis.cli.review import review_command
from gis.cli.sheet import print_command
from gis.errors import InputError
from gis.escape import terminal_text
from gis.parallel import workers


class _TerminalFormatter(logging.Formatter):
    """Log lines with control characters from the data (names, fids) shown as visible escapes."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return terminal_text(super().formatMessage(record))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gis")
@click.option("-v", "--verbose", count=True, help="More messages (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Fewer messages: errors only.")
@click.option(
    "--progress/--no-progress",
    default=None,
    envvar="GIS_PROGRESS",
    help="Progress bars of long work on stderr (default: when stderr is a terminal, unless -q; or GIS_PROGRESS=1/0).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int, progress: bool | None) -> None:
    """Planning layers of Longgang, Longhua and Pingshan, checked against their plans.

    Areas are measured in EPSG:4547 (CGCS2000 / Gauss-Kruger CM 114E).
    """
    ctx.meta[PROGRESS] = wanted(progress, quiet=quiet > 0)
    ctx.meta[QUIET] = quiet > 0
    level = logging.WARNING - 10 * verbose + 10 * quiet
    handler = logging.StreamHandler()
    handler.setFormatter(_TerminalFormatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=max(logging.DEBUG, min(level, logging.ERROR)), handlers=[handler])
    try:
        workers()  # GIS_THREADS: refused once, here, before any work (not once per layer)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)


cli.add_command(check)
cli.add_command(qa_command)
cli.add_command(build)
cli.add_command(map_command)
cli.add_command(print_command)
cli.add_command(export_command)
cli.add_command(import_command)
cli.add_command(landuse_command)
cli.add_command(rasterize_command)
cli.add_command(zonal_command)
cli.add_command(report_command)
cli.add_command(diff_command)
cli.add_command(review_command)


def main() -> None:
    """Entry point of the console script.

    The commands handle their own errors (:func:`gis.cli._options.handle_errors`); an unexpected
    error outside them (in option parsing, say) is reported the same way: one line, exit code 3.
    """
    try:
        sys.exit(cli.main(prog_name="gis", standalone_mode=True))
    except Exception as exc:
        report_unexpected(exc)
        sys.exit(EXIT_UNEXPECTED)
