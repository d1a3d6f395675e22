"""``gis qa``: geometry and data checks over every layer."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gis.cli._options import (
    check_outputs,
    emit,
    encoding_option,
    format_option,
    handle_errors,
    layer_inputs,
    layers_option,
    output_option,
    overwrite_option,
)
from gis.pipeline import run_qa
from gis.render.tables import format_qa, qa_summary


@click.command("qa")
@layers_option
@encoding_option
@format_option
@output_option()
@overwrite_option
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@handle_errors
def qa_command(
    layers_dir: Path | None, encoding: str | None, fmt: str, output: Path | None, overwrite: bool, strict: bool
) -> None:
    """Check every layer's geometry and data, and list the findings.

    Errors (they stop gis check and gis build): missing or duplicate fids, empty required
    fields, unknown district/part/parent, null, empty or non-polygon geometries, unclosed rings,
    NaN coordinates, coordinates outside the three districts (swapped axes, metres labelled as
    degrees), invalid geometries (with the reason, the place and the area a repair would give),
    fids used in two layers, a feature mostly outside its district.

    Warnings: overlaps and slivers within a layer, gaps between neighbours, a park or a renewal
    unit on industrial land, a feature partly outside its district, a part outside its parent,
    a feature farther from its reference point (position_lon, position_lat) than its stated
    position_error_m, or with a position field that is not a number, a negative error or a
    point outside the three districts' bounds (far_from_reference), 3D coordinates.

    Exit code 0 when there is no error (with --strict: no finding), 1 when there is, 2 when
    the input cannot be read at all.
    """
    check_outputs([output], layer_inputs(layers_dir, targets=False), overwrite=overwrite)
    report = run_qa(layers_dir, encoding=encoding)
    meta = {"layers": report.source.name, "crs_measured": "EPSG:4547", "crs_locations": "EPSG:4326"}
    text = format_qa(report, fmt, **({"meta": meta} if fmt == "json" else {}))
    emit(text, output, what=f"{len(report.findings)} findings", bom=fmt == "csv")
    if output is not None or fmt != "table":
        click.echo(qa_summary(report), err=True)
    failed = report.findings if strict else report.errors
    sys.exit(1 if failed else 0)
