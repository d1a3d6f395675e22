"""``gis map``: a single-file web map that works with no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gis._atomic import write_text_atomic
from gis.cli._basemap import basemap_inputs, basemap_options, basemaps_of
from gis.cli._options import (
    check_outputs,
    district_option,
    encoding_option,
    handle_errors,
    layer_inputs,
    layers_option,
    output_option,
    overwrite_option,
    targets_option,
    to_stdout,
)
from gis.pipeline import run_check
from gis.progress import stage
from gis.render.webmap import MAP_FILES, build_map, render_map


@click.command("map")
@layers_option
@targets_option
@encoding_option
@district_option
@output_option("HTML file (default: maps/index.html, or maps/<district>.html with --district); '-': standard output.")
@basemap_options
@click.option(
    "--background",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A local GeoTIFF drawn under the layers (inlined: works offline).",
)
@overwrite_option
@handle_errors
def map_command(
    layers_dir: Path | None,
    targets_path: Path | None,
    encoding: str | None,
    district: str | None,
    output: Path | None,
    basemap_options: dict[str, Any],
    background: Path | None,
    overwrite: bool,
) -> None:
    """Write a web map of the layers and their check results.

    Every script, style sheet and icon is inlined, so the map opens with no network; so are the
    tiles of an MBTiles file or a folder of tiles (--basemap mbtiles:FILE, dir:FOLDER). With GCJ-02
    tiles (--basemap amap, or a gcj02: prefix) the overlays are moved to GCJ-02 to line up, and
    the map says so.
    """
    basemaps = basemaps_of(basemap_options)
    output = output if output is not None else Path("maps") / MAP_FILES[district]
    inputs = layer_inputs(layers_dir, targets_path) + basemap_inputs(basemaps)
    if background is not None:
        inputs.append((background, "the background raster"))
    check_outputs([output], inputs, overwrite=overwrite)
    run = run_check(layers_dir=layers_dir, targets_path=targets_path, encoding=encoding)
    size = len(run.features) + (run.landuse.count if run.landuse is not None else 0)  # a bar past 10,000
    with stage("building maps", total=1, size=size, unit="pages") as building:
        html = render_map(
            build_map(
                run,
                district=district,
                basemap=basemaps,
                background=background,
                basemap_max_mb=basemap_options["basemap_max_mb"],
            )
        )
        building.advance()
    if to_stdout(output):
        click.echo(html, nl=False)
        return
    write_text_atomic(output, html)
    click.echo(f"wrote {output}")
