"""``gis import``: bring an edited or drawn layer back into the project's layers."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from gis._locks import LOCK_WAIT
from gis.cli._options import check_outputs, handle_errors, layer_inputs, layers_option
from gis.escape import terminal_text
from gis.importer import apply_import, layer_file, locked_layers, plan_import
from gis.io.incoming import incoming_files
from gis.settings import LAYER_NAMES, default_layers_dir


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--layer", type=click.Choice(LAYER_NAMES), required=True, help="The layer the features belong to.")
@click.option(
    "--from-crs",
    default=None,
    help="Frame of the file when it does not declare it (or declares it wrongly): wgs84, gcj02, cgcs2000, EPSG:N.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="The file is the whole new layer: features it lacks are removed (default: add and update only).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--encoding",
    default=None,
    help="Text encoding of the file when it is not UTF-8 (gbk), e.g. a Shapefile without a .cpg file, or with a wrong one.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=LOCK_WAIT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another import into the same layers folder to finish before giving up.",
)
@layers_option
@handle_errors
def import_command(
    file: Path,
    layer: str,
    from_crs: str | None,
    replace: bool,
    dry_run: bool,
    encoding: str | None,
    wait: float,
    layers_dir: Path | None,
) -> None:
    """Import polygons from FILE (GeoPackage, GeoJSON, Shapefile) into a layer.

    The file is checked like a shipped layer (fields, geometry, inside its district, unique
    fids); sketches exported from the web map get their district from their position. The
    changes (added, changed with the area delta, removed) are listed, then the layer file is
    replaced atomically, unless --dry-run.

    The layer files are locked from before they are read until the new one is in place: another
    import into the same folder waits (up to --wait seconds) and then reads the layers as this
    one left them.
    """
    layers = layers_dir or default_layers_dir()
    output = layer_file(layers, layer)
    if not dry_run:  # the layer file is read and rewritten: it must be none of the command's other inputs
        others = [(p, role) for p, role in layer_inputs(layers) if p != output]
        check_outputs(
            [output],
            [*((p, "the file to import") for p in incoming_files(file)), *others],
            overwrite=True,
            hint="Import a copy of the file, or check the links in the layers folder.",
        )
    with contextlib.nullcontext() if dry_run else locked_layers(layers, layer=layer, wait=wait):
        plan = plan_import(file, layer=layer, layers_dir=layers, from_crs=from_crs, replace=replace, encoding=encoding)
        # names, fids and field names come from the file: printed with control characters made visible
        click.echo(f"{terminal_text(str(file))} ({terminal_text(plan.frame)}) -> layer {layer}:")
        for fid in plan.added:
            row = plan.result.set_index("fid").loc[fid]
            click.echo(f"  added    {terminal_text(fid)}  {terminal_text(str(row['name_zh']))}")
        for fid, before, after, fields in plan.changed:
            pct = f"{(after - before) / before * 100:+.1f} %" if before else "n/a"
            click.echo(
                f"  changed  {terminal_text(fid)}  {before:.2f} -> {after:.2f} ha ({after - before:+.2f} ha, {pct}); "
                + terminal_text(", ".join(fields))
            )
        for fid in plan.removed:
            click.echo(f"  removed  {terminal_text(fid)}")
        click.echo(
            f"  {len(plan.added)} added, {len(plan.changed)} changed, {len(plan.removed)} removed, {plan.unchanged} unchanged"
        )
        for note in plan.notes:
            click.echo(f"note: {terminal_text(note)}", err=True)
        if dry_run:
            click.echo("dry run: nothing written")
            return
        written = apply_import(plan, wait=wait)
    click.echo(f"wrote {written}" if written else "nothing changed: the layer file was left as it was")
