"""``gis check``: measure every feature and evaluate every target."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gis.cli._options import (
    check_outputs,
    district_option,
    emit,
    encoding_option,
    format_option,
    handle_errors,
    layer_inputs,
    layers_option,
    output_option,
    overwrite_option,
    say_note,
    targets_option,
)
from gis.pipeline import run_check
from gis.render.tables import format_results
from gis.results import exit_code


@click.command()
@layers_option
@targets_option
@click.option(
    "--engine",
    type=click.Choice(["pandas", "dask"]),
    default="pandas",
    show_default=True,
    help="pandas: the whole layers in memory. dask: --layers is a partitioned GeoParquet folder "
    "(gis export --driver partitions -o DIR), checked partition by partition with dask-geopandas, "
    "for layers larger than memory; same results.",
)
@encoding_option
@district_option
@format_option
@output_option()
@overwrite_option
@handle_errors
def check(
    layers_dir: Path | None,
    targets_path: Path | None,
    engine: str,
    encoding: str | None,
    district: str | None,
    fmt: str,
    output: Path | None,
    overwrite: bool,
) -> None:
    """Check the layers against the plan targets.

    Exit code 0 when every checkable target is met or within tolerance, 1 when any is
    short or over, 2 on bad input.
    """
    check_outputs([output], layer_inputs(layers_dir, targets_path, engine=engine), overwrite=overwrite)
    if engine == "dask" and layers_dir is None:
        raise click.UsageError("--engine dask needs --layers DIR, a partitioned GeoParquet folder.")
    run = run_check(layers_dir=layers_dir, targets_path=targets_path, encoding=encoding, engine=engine)
    results = run.results if district is None else run.results[run.results["district"] == district]
    if fmt == "json":
        text = format_results(results, fmt, meta={**run.meta(), "district": district}, notes=run.notes)
    else:
        text = format_results(results, fmt)
    if run.notes:
        say_note(f"{len(run.notes)} features have no target (gis -v check lists them)")
    emit(text, output, what=f"{len(results)} targets", bom=fmt == "csv")
    sys.exit(exit_code(results))
