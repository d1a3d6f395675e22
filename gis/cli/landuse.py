"""``gis landuse``: the land area of the office's own parcels per district and class (or code)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from gis import __version__, settings
from gis.cli._options import (
    check_outputs,
    district_option,
    emit,
    format_option,
    handle_errors,
    layers_option,
    output_option,
    overwrite_option,
    say_note,
)
from gis.errors import InputFileError
from gis.landuse import ADD_LANDUSE_HINT, SYNTHETIC_NOTE, layer_path, read_landuse, summarize_landuse
from gis.read import read_districts
from gis.render.tables import format_landuse


@click.command("landuse")
@layers_option
@click.option(
    "--by",
    type=click.Choice(["class", "code"]),
    default="class",
    show_default=True,
    help="Sum per land class (industrial, logistics, park_green ...) or per code of the layer's code system.",
)
@district_option
@format_option
@output_option()
@overwrite_option
@handle_errors
def landuse_command(
    layers_dir: Path | None, by: str, district: str | None, fmt: str, output: Path | None, overwrite: bool
) -> None:
    """Sum the land-use layer's parcels per district and land class (or code).

    Per row: the parcels counted, their planar area in hectares (EPSG:4547), its share of the
    district (of the district boundary in districts.geojson), and the sum of the layer's official
    area field where the delivery has one (三调 TBMJ, an ellipsoidal area; 控规 YDMJ). Classes come
    from the layer's code system (用地用海 2023, 三调 / GB/T 21010-2017 or Shenzhen's standard):
    a code spanning several classes (用地用海 10 工矿用地) is "unclassified", a code the standard does
    not have is "unknown code" (gis qa lists those parcels).

    The layer is the one gis import --layer landuse writes (landuse.parquet in the layers folder).
    """
    ctx = click.get_current_context()
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    if ctx.get_parameter_source("fmt") is click.core.ParameterSource.DEFAULT and suffix in ("csv", "json"):
        fmt = suffix  # -o totals.json without -f: the format the name says
    source = Path(layers_dir) if layers_dir is not None else settings.default_layers_dir()
    path = layer_path(source, settings.LANDUSE_LAYER) if source.exists() else None
    inputs = [(path, "the land-use layer")] if path is not None else []
    check_outputs([output], inputs, overwrite=overwrite)
    landuse = read_landuse(source) if path is not None else None
    if landuse is None:
        raise InputFileError(
            f"{source}: no land-use layer (landuse.parquet, .gpkg, .gdb, .shp or .geojson). {ADD_LANDUSE_HINT}"
        )
    districts = read_districts(source)
    table = summarize_landuse(landuse, districts, by=by)
    if district is not None:
        table = table[table["district"] == district].reset_index(drop=True)
    meta: dict[str, object] = {
        "toolkit": f"gis {__version__}",
        "computed_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "layer": Path(landuse.source).name,
        "code_system": landuse.system,
        "standard": settings.CODE_SYSTEMS[landuse.system],
        "area_crs": "EPSG:4547",
        "by": by,
    }
    synthetic = landuse.synthetic
    meta["synthetic"] = synthetic
    if synthetic:
        say_note(SYNTHETIC_NOTE)
        table = table.assign(synthetic=True)  # every row of a file written from it says so too
    text = format_landuse(table, fmt, meta=meta)
    if fmt == "table":
        text = (
            f"{Path(landuse.source).name}: {len(landuse.table):,} parcels, {landuse.system} codes ({settings.CODE_SYSTEMS[landuse.system]}); areas planar in EPSG:4547\n\n"
            + text
        )
    emit(text, output, what=f"{len(table)} rows", bom=fmt == "csv")
    sys.exit(0)
