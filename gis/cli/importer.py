"""``gis import``: bring an edited or drawn layer back into the project's layers, or a land-use delivery in."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from gis._locks import LOCK_WAIT
from gis.cli._options import check_outputs, handle_errors, layer_inputs, layers_option, say_note
from gis.control_import import plan_control_import
from gis.errors import render
from gis.escape import terminal_text
from gis.importer import apply_import, layer_file, locked_layers, plan_import
from gis.io.incoming import incoming_files
from gis.io.schemas import BUILTIN_SCHEMAS
from gis.land_import import DeliveryPlan, apply_delivery, locked_output, plan_landuse_import
from gis.settings import CONTROL_KINDS, DISTRICTS, LAYER_NAMES, default_layers_dir

#: Layers a delivery is imported into (GeoParquet in EPSG:4547), besides the thematic layers.
DELIVERY_LAYERS: tuple[str, ...] = ("landuse", "control_lines")


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--layer",
    type=click.Choice((*LAYER_NAMES, *DELIVERY_LAYERS)),
    required=True,
    help="The layer the features belong to: a thematic layer, landuse (a land-use delivery: 三调, 控规, "
    "用地用海) or control_lines (block lines, red lines ...).",
)
@click.option(
    "--schema",
    default="auto",
    show_default=True,
    metavar="|".join(("auto", *BUILTIN_SCHEMAS, "FILE.toml")),
    help="--layer landuse: which fields are the id, code, name and area. auto picks the schema whose fields "
    "the file has (and says which); sandiao (三调 DLTB), kongui (控规 plots), yongdi (用地用海), or a schema TOML file.",
)
@click.option(
    "--kind",
    type=click.Choice(tuple(CONTROL_KINDS)),
    default=None,
    help="--layer control_lines: the kind of every polygon of the file (else the file's field kind says). "
    "Imported kinds replace the same kinds stored; other kinds are kept.",
)
@click.option(
    "--source-layer",
    default=None,
    metavar="NAME",
    help="The layer to read from a GeoPackage or FileGDB holding several (default: its only spatial layer).",
)
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
@click.option("--dry-run", is_flag=True, help="Show what would change (or be written); write nothing.")
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
    schema: str,
    kind: str | None,
    source_layer: str | None,
    from_crs: str | None,
    replace: bool,
    dry_run: bool,
    encoding: str | None,
    wait: float,
    layers_dir: Path | None,
) -> None:
    """Import polygons from FILE (GeoPackage, GeoJSON, Shapefile) into a layer, or a land-use delivery.

    --layer landuse reads a delivery (GeoPackage, Shapefile, FileGDB folder, GeoJSON, GeoParquet)
    by its schema and writes it as layers/landuse.parquet (EPSG:4547), replacing the layer; the
    encoding of a Shapefile without .cpg and a frame the file does not declare are detected and
    said. --layer control_lines merges control lines into layers/control_lines.parquet.

    The file is checked like a shipped layer (fields, geometry, inside its district, unique
    fids); sketches exported from the web map get their district from their position. The
    changes (added, changed with the area delta, removed) are listed, then the layer file is
    replaced atomically, unless --dry-run.

    The layer files are locked from before they are read until the new one is in place: another
    import into the same folder waits (up to --wait seconds) and then reads the layers as this
    one left them.
    """
    layers = layers_dir or default_layers_dir()
    if layer in DELIVERY_LAYERS:
        _import_delivery(
            file,
            layer,
            layers,
            schema=schema,
            kind=kind,
            source_layer=source_layer,
            from_crs=from_crs,
            encoding=encoding,
            dry_run=dry_run,
            replace=replace,
            wait=wait,
        )
        return
    given = [
        flag
        for flag, value in (("--schema", schema != "auto"), ("--kind", kind), ("--source-layer", source_layer))
        if value
    ]
    if given:
        raise click.UsageError(f"{', '.join(given)}: only for --layer landuse or control_lines.")
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
            say_note(terminal_text(note))
        if dry_run:
            click.echo("dry run: nothing written")
            return
        written = apply_import(plan, wait=wait)
    click.echo(f"wrote {written}" if written else "nothing changed: the layer file was left as it was")


def _import_delivery(
    file: Path,
    layer: str,
    layers: Path,
    *,
    schema: str,
    kind: str | None,
    source_layer: str | None,
    from_crs: str | None,
    encoding: str | None,
    dry_run: bool,
    replace: bool,
    wait: float,
) -> None:
    """Import a land-use delivery or control lines: notes and warnings on stderr, a one-line summary."""
    if replace:
        raise click.UsageError(
            "--replace is for the thematic layers: a land-use import replaces the whole layer, "
            "a control-line import the kinds it brings."
        )
    if layer == "landuse" and kind:
        raise click.UsageError("--kind is for --layer control_lines.")
    if layer == "control_lines" and schema != "auto":
        raise click.UsageError("--schema is for --layer landuse.")
    output = Path(layers) / f"{layer}.parquet"
    if not dry_run:
        check_outputs(
            [output],
            [
                *((p, "the file to import") for p in incoming_files(file)),
                (Path(layers) / "districts.geojson", "the districts"),
            ],
            overwrite=True,
            hint="Import a copy of the file.",
        )
    with contextlib.nullcontext() if dry_run else locked_output(output, wait=wait):
        if layer == "landuse":
            plan = plan_landuse_import(
                file, layers_dir=layers, schema=schema, from_crs=from_crs, encoding=encoding, source_layer=source_layer
            )
        else:
            plan = plan_control_import(
                file, layers_dir=layers, kind=kind, from_crs=from_crs, encoding=encoding, source_layer=source_layer
            )
        for note in plan.notes:
            say_note(terminal_text(render(note)))
        for warning in plan.warnings:
            click.echo(f"warning: {terminal_text(render(warning))}", err=True)
        summary = _summary(plan)
        if dry_run:
            click.echo(f"dry run: would write {output}: {summary}")
            for district, n in plan.per_district().items():
                click.echo(f"  {district} {DISTRICTS[district][1]}: {n:,}")
            click.echo("dry run: nothing written")
            return
        written = apply_delivery(plan, wait=wait)
    click.echo(f"wrote {written}: {summary}")


def _summary(plan: DeliveryPlan) -> str:
    """Say in one line what an import of a delivery writes."""
    per = ", ".join(f"{d} {n:,}" for d, n in plan.per_district().items())
    what = "parcels" if plan.layer == "landuse" else "control lines"
    count = len(plan.result) - plan.kept
    d = plan.delivery
    said = [
        f"{count:,} {what} ({per})",
        f"schema {plan.schema}" if plan.schema else None,
        f"frame {d.frame}",
        f"encoding {d.encoding}" if d.encoding else None,
        f"{plan.kept:,} of other kinds kept" if plan.kept else None,
        f"{plan.left_out:,} outside the three districts left out" if plan.left_out else None,
    ]
    return terminal_text("; ".join(s for s in said if s))
