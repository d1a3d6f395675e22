"""``gis build``: run the whole pipeline on the layers and write every output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from gis.cli._basemap import basemap_inputs, basemap_options, basemaps_of
from gis.cli._options import check_outputs, encoding_option, handle_errors, layer_inputs, layers_option, targets_option
from gis.escape import terminal_text
from gis.pipeline import build_outputs, run_build
from gis.render.tables import needs_own_data, qa_summary
from gis.results import exit_code, is_derived, summarize


@click.command()
@layers_option
@targets_option
@encoding_option
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("out"),
    show_default=True,
    help="Folder for the check results.",
)
@click.option(
    "--maps-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("maps"),
    show_default=True,
    help="Folder for the web maps (index.html and one map per district).",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any target is short or over (as gis check does).")
@basemap_options
@handle_errors
def build(
    layers_dir: Path | None,
    targets_path: Path | None,
    encoding: str | None,
    out_dir: Path,
    maps_dir: Path,
    strict: bool,
    basemap_options: dict[str, Any],
) -> None:
    """Run the pipeline on the layers and write its outputs.

    First the QA stage (gis qa): an error finding stops the build before anything is written
    (exit code 2); warnings are listed in OUT_DIR/qa.csv, the GeoPackage's qa_findings layer
    and the maps. Then it writes OUT_DIR/check.json, check.csv and check.txt (every target) and features.csv
    (every feature's planar and geodesic hectares), and MAPS_DIR/index.html with one map
    per district (longgang.html, longhua.html, pingshan.html) that work with no network,
    OUT_DIR/planning.gpkg (EPSG:4547, every layer styled for QGIS), the report as
    OUT_DIR/report.xlsx and MAPS_DIR/report.html (linked from the maps), and one A3 map sheet per
    district as OUT_DIR/sheets/longgang.pdf, longhua.pdf, pingshan.pdf (as gis print draws them).
    Every output is written to a temporary file first and all are moved into place only when
    every one was written: a failed build leaves all the previous files as they were.
    The maps' basemaps are those of gis map (--basemap, or $GIS_BASEMAP).
    """
    basemaps = basemaps_of(basemap_options)
    check_outputs(
        build_outputs(out_dir, maps_dir),
        layer_inputs(layers_dir, targets_path) + basemap_inputs(basemaps),
        overwrite=True,
        hint="Choose another --out-dir or --maps-dir.",
    )
    result = run_build(
        layers_dir,
        targets_path=targets_path,
        encoding=encoding,
        out_dir=out_dir,
        maps_dir=maps_dir,
        basemap=basemaps,
        basemap_max_mb=basemap_options["basemap_max_mb"],
    )
    qa, run = result.qa, result.run
    if run is None:
        for finding in qa.errors:
            click.echo(f"error: {terminal_text(finding.text())}", err=True)
        click.echo(
            f"gis build stopped by the QA stage: {qa_summary(qa)}. Fix the errors (gis qa lists every finding "
            "with its place); nothing was written.",
            err=True,
        )
        sys.exit(2)
    counts = summarize(run.results)
    derived = is_derived(run.results)
    click.echo(
        f"checked {len(run.features)} features against {int((~derived).sum())} targets "
        f"(+{int(derived.sum())} derived consistency checks)"
    )
    if run.notes:
        click.echo(f"{len(run.notes)} features have no target (the plans give them no figure); see notes in check.json")
    click.echo(", ".join(f"{n} {status}" for status, n in counts.items() if n))
    if run.landuse is not None:
        click.echo(
            f"land use: {len(run.landuse.table):,} parcels ({run.landuse.system} codes) from {Path(run.landuse.source).name}"
        )
    for line in needs_own_data(run.results):
        click.echo(line)
    overlaps = [f for f in qa.findings if f.check == "parcel_overlap"]
    if overlaps:
        ha = sum(f.area_m2 or 0.0 for f in overlaps) / 1e4
        click.echo(
            f"warning: the land-use parcels overlap in {len(overlaps):,} places ({ha:,.2f} ha): the land-use "
            "totals count those hectares twice (gis qa lists them)"
        )
    click.echo(f"QA: {qa_summary(qa)}")
    *files, gpkg = result.written
    for path in files:
        click.echo(f"wrote {path}")
    click.echo(f"wrote {gpkg} (GeoPackage, EPSG:4547, styled for QGIS)")
    sys.exit(exit_code(run.results) if strict else 0)
