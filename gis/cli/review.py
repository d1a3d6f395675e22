"""``gis review``: what a sketched outline lies on and what it does to the district totals."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gis.cli._options import (
    check_outputs,
    emit,
    handle_errors,
    layer_inputs,
    layers_option,
    output_option,
    overwrite_option,
    say_note,
    targets_option,
)
from gis.errors import render
from gis.escape import terminal_text
from gis.io.incoming import incoming_files
from gis.io.sketches import read_sketches
from gis.pipeline import run_check
from gis.render.review import format_review_csv, format_review_json, format_review_table
from gis.render.review_html import review_html
from gis.review import review
from gis.review_targets import PROPOSAL_HELP

#: ``-o FILE`` without ``-f``: the format its suffix names.
SUFFIX_FORMATS = {".json": "json", ".html": "html", ".htm": "html", ".csv": "csv", ".txt": "table"}


@click.command("review")
@click.argument("sketch", type=click.Path(path_type=Path))
@layers_option
@targets_option
@click.option(
    "--as",
    "proposed_as",
    default=None,
    metavar="KIND",
    help=f"What every sketch would become (over its own proposed_as property): {PROPOSAL_HELP}.",
)
@click.option(
    "--from-crs",
    default=None,
    help="Frame of the sketch file when it does not declare it: wgs84, gcj02 (drawn over Amap), cgcs2000, EPSG:N.",
)
@click.option(
    "--encoding",
    default=None,
    metavar="NAME",
    help="Text encoding of a Shapefile without .cpg or of a boundary-point table (gbk, utf-8).",
)
@click.option(
    "--source-layer",
    default=None,
    metavar="NAME",
    help="The layer of a GeoPackage or FileGDB holding several.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "html", "csv"]),
    default="table",
    show_default=True,
    help="table (readable text), json (every figure), html (one offline page with a drawing of each sketch), csv.",
)
@output_option("Write to FILE (atomically) instead of the terminal; without -f its suffix picks the format.")
@overwrite_option
@handle_errors
def review_command(
    sketch: Path,
    layers_dir: Path | None,
    targets_path: Path | None,
    proposed_as: str | None,
    from_crs: str | None,
    encoding: str | None,
    source_layer: str | None,
    fmt: str,
    output: Path | None,
    overwrite: bool,
) -> None:
    """Review the sketches in SKETCH against the layers, control lines and district totals.

    SKETCH: the web map's export (GeoJSON, WGS-84 or GCJ-02 as its frame member says), a
    GeoPackage, Shapefile, FileGDB or GeoParquet, or a boundary-point table (.csv, .xlsx, .txt).
    For every sketch: its area in ha (EPSG:4547, geodesic cross-check), district and street, the
    features and land classes it overlaps, the control lines it conflicts with (ecological red
    line, permanent farmland) or lies inside or outside of (industrial block line, urban
    development boundary), and every district total before -> after with its status.

    Exit code 0 when no conflict with a control line is found (none can be without a control-line
    layer: the summary says so), 1 when a sketch conflicts, 2 on bad input.
    """
    ctx = click.get_current_context()
    if ctx.get_parameter_source("fmt") is click.core.ParameterSource.DEFAULT and output is not None:
        fmt = SUFFIX_FORMATS.get(output.suffix.lower(), fmt)
    inputs = [(p, "the sketch file") for p in incoming_files(sketch)]
    check_outputs([output], [*inputs, *layer_inputs(layers_dir, targets_path)], overwrite=overwrite)
    notes: list[str] = []
    sketches = read_sketches(sketch, from_crs=from_crs, encoding=encoding, source_layer=source_layer, notes=notes)
    run = run_check(layers_dir=layers_dir, targets_path=targets_path)
    result = review(sketches, run, proposed_as=proposed_as)
    result.notes[:0] = notes
    for note in result.notes:
        say_note(terminal_text(render(note)))
    if fmt == "json":
        text = format_review_json(result)
    elif fmt == "html":
        text = review_html(result)
    elif fmt == "csv":
        text = format_review_csv(result)
    else:
        text = format_review_table(result)
    emit(text, output, what=f"{len(result.sketches)} sketch(es) reviewed", bom=fmt == "csv")
    sys.exit(result.exit_code())
