"""``gis export``: a styled GeoPackage for QGIS, or GeoJSON, FlatGeobuf, GeoParquet, Shapefile."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from gis.cli._options import (
    check_outputs,
    handle_errors,
    layer_inputs,
    layers_option,
    output_option,
    overwrite_option,
    refuse_stdout,
    say_note,
    targets_option,
    to_stdout,
)
from gis.escape import terminal_text
from gis.export import EXPORT_CRS, export, output_files, resolve_driver
from gis.partitioned import write_partitioned
from gis.pipeline import run_check
from gis.read import default_targets_path, read_layers
from gis.settings import LAYER_NAMES, default_layers_dir


@click.command("export")
@layers_option
@targets_option
@click.option(
    "--input-encoding",
    default=None,
    metavar="NAME",
    help="Text encoding of the layers and the targets table when not UTF-8 (e.g. gbk).",
)
@output_option(
    "Output file: .gpkg, .geojson, .fgb, .parquet or .shp; a folder for --driver partitions; "
    "'-': GeoJSON on standard output (with --driver geojson).",
    required=True,
    dir_okay=True,
)
@click.option(
    "--crs",
    type=click.Choice(EXPORT_CRS),
    default=None,
    help="Frame of the output (default EPSG:4547; GeoJSON is always EPSG:4326).",
)
@click.option(
    "--driver",
    default=None,
    help="Format when the extension does not say: gpkg, geojson, fgb, parquet, shp; or partitions: the layers "
    "(data-model fields, EPSG:4326), districts and targets as a partitioned GeoParquet folder for "
    "gis check --engine dask.",
)
@click.option(
    "--encoding", default="UTF-8", show_default=True, help="Shapefile text encoding; GBK for older desktop tools."
)
@click.option(
    "--layer",
    type=click.Choice(LAYER_NAMES),
    default=None,
    help="Single-layer formats: only this layer (default: all, with a layer field).",
)
@overwrite_option
@handle_errors
def export_command(
    layers_dir: Path | None,
    targets_path: Path | None,
    input_encoding: str | None,
    output: Path,
    crs: str | None,
    driver: str | None,
    encoding: str,
    layer: str | None,
    overwrite: bool,
) -> None:
    """Export the checked layers for GIS software.

    A GeoPackage holds one layer per thematic layer with the computed fields (area_ha,
    planned_ha, delta, status, citation ...), the districts, the table target_results and a
    default QGIS style for every layer (layer_styles), with provenance in gpkg_metadata.
    Other formats hold the thematic features in one layer with a 'layer' field.
    The file is written beside the target and moved into place; an existing file is kept
    unless --overwrite is given.
    """
    inputs = layer_inputs(layers_dir, targets_path)
    if driver is not None and driver.strip().lower() in ("partitions", "parquet-partitions"):
        refuse_stdout(output, "a partitioned export is a folder")
        check_outputs([], inputs, folders=[output], overwrite=overwrite)
        write_layer_partitions(layers_dir, targets_path, output, overwrite=overwrite, encoding=input_encoding)
        return
    if to_stdout(output):
        if driver is None or resolve_driver(output, driver) != "GeoJSON":
            refuse_stdout(output, "only GeoJSON is text (pass --driver geojson); the other formats are binary")
    else:
        check_outputs(output_files(output, driver), inputs, overwrite=overwrite)
    run = run_check(layers_dir=layers_dir, targets_path=targets_path, encoding=input_encoding)
    if to_stdout(output):
        with tempfile.TemporaryDirectory(prefix="gis-export-") as tmp:
            path = Path(tmp) / f"{layer or 'layers'}.geojson"
            report = export(run, path, crs=crs, driver=driver, encoding=encoding, layer=layer)
            with open(path, "rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    click.echo(chunk, nl=False)
    else:
        report = export(run, output, crs=crs, driver=driver, encoding=encoding, layer=layer, overwrite=overwrite)
    counts = ", ".join(f"{name} {n}" for name, n in report.layers.items())
    click.echo(f"wrote {output} ({report.driver}, {report.crs}): {counts}", err=to_stdout(output))
    for note in report.notes:
        say_note(terminal_text(note))


def write_layer_partitions(
    layers_dir: Path | None,
    targets_path: Path | None,
    output: Path,
    *,
    overwrite: bool,
    encoding: str | None = None,
    rows: int = 100_000,
) -> None:
    """Write the layers as a partitioned GeoParquet folder (read and validated first)."""
    layers_dir = Path(layers_dir) if layers_dir is not None else default_layers_dir()
    if targets_path is None:
        targets_path = default_targets_path(layers_dir)
    layers = read_layers(layers_dir, encoding=encoding)
    write_partitioned(layers, output, targets=targets_path, rows_per_partition=rows, overwrite=overwrite)
    counts = ", ".join(f"{name} {len(layers[name])}" for name in LAYER_NAMES)
    click.echo(f"wrote {output} (partitioned GeoParquet, {rows} features per file): {counts}")
