"""``gis print``: a map sheet (出图) of one district or the three, as PDF or PNG at a true scale."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli._options import (
    check_outputs,
    district_option,
    encoding_option,
    handle_errors,
    layer_inputs,
    layers_option,
    output_option,
    overwrite_option,
    refuse_stdout,
    targets_option,
)
from gis.errors import InputError
from gis.pipeline import run_check
from gis.sheet import sheet_format, write_sheet
from gis.sheet.layout import DPI_RANGE, ORIENTATIONS, PAPERS, parse_scale


def _scale(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_scale(value)
    except InputError as exc:
        raise click.BadParameter(f"{value!r} is not a map scale: write 1:N, e.g. 1:25000 or 1:25,000.") from exc


@click.command("print")
@layers_option
@targets_option
@encoding_option
@district_option
@click.option(
    "--paper",
    type=click.Choice(list(PAPERS), case_sensitive=False),
    default="A3",
    show_default=True,
    help="Paper size (ISO 216).",
)
@click.option("--orientation", type=click.Choice(ORIENTATIONS), default="landscape", show_default=True)
@click.option(
    "--scale",
    callback=_scale,
    metavar="1:N",
    default=None,
    help="The sheet's scale (1 cm on paper = N/100 m); default the largest of 1:10,000, 1:25,000, 1:50,000, "
    "1:100,000, 1:250,000 ... at which the district fits.",
)
@click.option(
    "--dpi",
    type=click.IntRange(*DPI_RANGE),
    default=300,
    show_default=True,
    help="Resolution of a PNG, and of a raster background in a PDF.",
)
@click.option("--title", default=None, help="The sheet's title (default: the district's name and what it shows).")
@click.option(
    "--background",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A local GeoTIFF drawn under the layers.",
)
@output_option("FILE.pdf (vector, the Chinese font embedded) or FILE.png.", required=True)
@overwrite_option
@handle_errors
def print_command(
    layers_dir: Path | None,
    targets_path: Path | None,
    encoding: str | None,
    district: str | None,
    paper: str,
    orientation: str,
    scale: int | None,
    dpi: int,
    title: str | None,
    background: Path | None,
    output: Path,
    overwrite: bool,
) -> None:
    """Print a map sheet of one district (--district) or the three together, to PDF or PNG.

    The map is drawn in EPSG:4547 at a true scale, styled as the web map and QGIS are, beside a
    title block (title, district, date, toolkit version, how accurate the data is), the legend, the
    district totals (planned against measured), a scale bar, a north arrow (grid north) and the
    sources; CGCS2000 grid ticks in metres frame the map. A PDF keeps text as text, with its
    Chinese font embedded.
    """
    refuse_stdout(output, "a sheet is PDF or PNG (binary)")
    sheet_format(output)
    inputs = layer_inputs(layers_dir, targets_path)
    if background is not None:
        inputs.append((background, "the background raster"))
    check_outputs([output], inputs, overwrite=overwrite)
    run = run_check(layers_dir=layers_dir, targets_path=targets_path, encoding=encoding)
    sheet = write_sheet(
        run,
        output,
        overwrite=overwrite,
        district=district,
        paper=paper.upper(),
        orientation=orientation,
        scale=scale,
        dpi=dpi,
        title=title,
        background=background,
    )
    click.echo(f"wrote {sheet.path} ({sheet.describe()})")
