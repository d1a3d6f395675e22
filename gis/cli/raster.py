"""``gis rasterize`` and ``gis zonal``: a land-use GeoTIFF, and statistics of any raster per feature."""

from __future__ import annotations

import json
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
    refuse_stdout,
    targets_option,
)
from gis.escape import spreadsheet_csv, terminal_frame, terminal_text
from gis.pipeline import run_check
from gis.raster import class_areas, rasterize_land_use, write_land_use, zonal_statistics
from gis.render.tables import display_width
from gis.settings import LAYER_NAMES


@click.command("rasterize")
@layers_option
@targets_option
@encoding_option
@output_option("GeoTIFF to write.", required=True)
@click.option(
    "--resolution", type=float, default=10.0, show_default=True, help="Pixel size, in the units of --crs (metres)."
)
@click.option(
    "--crs", type=click.Choice(["EPSG:4547"]), default="EPSG:4547", show_default=True, help="Frame of the grid."
)
@overwrite_option
@handle_errors
def rasterize_command(
    layers_dir: Path | None,
    targets_path: Path | None,
    encoding: str | None,
    output: Path,
    resolution: float,
    crs: str,
    overwrite: bool,
) -> None:
    """Write a categorical land-use GeoTIFF of all thematic layers.

    Classes are the layers' parts (codes and names in the file's metadata, colours in its colour
    table, 0 = nodata); where classes overlap the higher code wins. Tiled, compressed, with
    overviews. Prints each class's pixel area against its polygons' area.
    """
    refuse_stdout(output, "a GeoTIFF is binary")
    check_outputs([output], layer_inputs(layers_dir, targets_path), overwrite=overwrite)
    run = run_check(layers_dir=layers_dir, targets_path=targets_path, encoding=encoding)
    grid, transform, classes = rasterize_land_use(run.features, resolution=resolution, crs=crs)
    write_land_use(output, grid, transform, classes, crs=crs, overwrite=overwrite)
    click.echo(f"wrote {output}: {grid.shape[1]} x {grid.shape[0]} pixels of {resolution:g} m, {len(classes)} classes")
    for row in class_areas(run.features, grid, transform, classes, crs=crs).itertuples(index=False):
        shown = terminal_text(str(row.name_zh))
        name = shown + " " * max(0, 18 - display_width(shown))
        click.echo(
            f"  {row.code:>2}  {name}{row.raster_ha:>12,.2f} ha  polygons {row.polygon_ha:>12,.2f} ha  {row.delta_pct:+.3f} %"
        )


@click.command("zonal")
@click.argument("raster", type=click.Path(path_type=Path, dir_okay=False))
@layers_option
@targets_option
@encoding_option
@click.option("--layer", type=click.Choice(LAYER_NAMES), default=None, help="Only this layer's features.")
@click.option("--band", type=int, default=1, show_default=True, help="Band of a multi-band raster.")
@click.option(
    "--categorical/--continuous",
    default=None,
    help="Treat the raster as classes or values (default: classes if it has a colour table).",
)
@format_option
@output_option()
@overwrite_option
@handle_errors
def zonal_command(
    raster: Path,
    layers_dir: Path | None,
    targets_path: Path | None,
    encoding: str | None,
    layer: str | None,
    band: int,
    categorical: bool | None,
    fmt: str,
    output: Path | None,
    overwrite: bool,
) -> None:
    """Statistics of RASTER (an elevation model, a land-cover grid ...) per feature.

    Mean, min, max and covered pixels; for a categorical raster also each class's share.
    Partial pixels on the edges are weighted by the share of them the feature covers
    (exactextract). The raster may be in any CRS.
    """
    check_outputs([output], [*layer_inputs(layers_dir, targets_path), (raster, "the raster")], overwrite=overwrite)
    run = run_check(layers_dir=layers_dir, targets_path=targets_path, encoding=encoding)
    features = run.features if layer is None else run.features[run.features["layer"] == layer]
    table = zonal_statistics(raster, features, categorical=categorical, band=band)
    if fmt == "json":
        records = json.loads(table.to_json(orient="records", force_ascii=False))
        text = json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    elif fmt == "csv":
        text = spreadsheet_csv(table, float_format="%.6g")  # formulas neutralised
    else:
        text = terminal_frame(table).to_string(index=False, float_format=lambda v: f"{v:,.3f}") + "\n"
    emit(text, output, what=f"{len(table)} features", bom=fmt == "csv")
