"""``gis build``: run the whole pipeline on the layers and write every output."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gis._atomic import write_text_atomic
from gis.cli._options import encoding_option, handle_errors, layers_option, targets_option
from gis.evaluate import exit_code, summarize
from gis.export import export
from gis.output import format_csv, format_features_csv, format_json, format_table
from gis.pipeline import run_check
from gis.qa import format_qa, run_qa, summary_line
from gis.render.webmap import write_maps
from gis.report import write_report


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
@handle_errors
def build(
    layers_dir: Path | None,
    targets_path: Path | None,
    encoding: str | None,
    out_dir: Path,
    maps_dir: Path,
    strict: bool,
) -> None:
    """Run the pipeline on the layers and write its outputs.

    First the QA stage (gis qa): an error finding stops the build before anything is written
    (exit code 2); warnings are listed in OUT_DIR/qa.csv, the GeoPackage's qa_findings layer
    and the maps. Then it writes OUT_DIR/check.json, check.csv and check.txt (every target) and features.csv
    (every feature's planar and geodesic hectares), and MAPS_DIR/index.html with one map
    per district (longgang.html, longhua.html, pingshan.html) that work with no network,
    OUT_DIR/planning.gpkg (EPSG:4547, every layer styled for QGIS), and the report as
    OUT_DIR/report.xlsx and MAPS_DIR/report.html (linked from the maps).
    Each file is replaced atomically: a failed build leaves the previous files intact.
    """
    qa = run_qa(layers_dir, encoding=encoding)
    if qa.errors:
        for finding in qa.errors:
            click.echo(f"error: {finding.text()}", err=True)
        click.echo(
            f"gis build stopped by the QA stage: {summary_line(qa)}. Fix the errors (gis qa lists every finding "
            "with its place); nothing was written.",
            err=True,
        )
        sys.exit(2)
    run = run_check(layers_dir=layers_dir, targets_path=targets_path, encoding=encoding, layers=qa.layers)
    run.qa = qa
    outputs = {
        "check.json": format_json(run.results, meta=run.meta(), notes=run.notes),
        "check.csv": "\ufeff" + format_csv(run.results),  # BOM so spreadsheets show Chinese
        "check.txt": format_table(run.results),
        "features.csv": "\ufeff" + format_features_csv(run.features),
        "qa.csv": "\ufeff" + format_qa(qa, "csv"),
    }
    for name, text in outputs.items():
        write_text_atomic(out_dir / name, text)
    counts = summarize(run.results)
    derived = run.results["target_id"].str.contains(":", regex=False)
    click.echo(
        f"checked {len(run.features)} features against {int((~derived).sum())} targets "
        f"(+{int(derived.sum())} derived consistency checks)"
    )
    if run.notes:
        click.echo(f"{len(run.notes)} features have no target (the plans give them no figure); see notes in check.json")
    click.echo(", ".join(f"{n} {status}" for status, n in counts.items() if n))
    click.echo(f"QA: {summary_line(qa)}")
    for name in outputs:
        click.echo(f"wrote {out_dir / name}")
    for path in write_maps(run, maps_dir, extra_links={"报告 Report": "report.html"}):
        click.echo(f"wrote {path}")
    for path in (
        write_report(run, out_dir / "report.xlsx", overwrite=True),
        write_report(run, maps_dir / "report.html", overwrite=True),
    ):
        click.echo(f"wrote {path}")
    report = export(run, out_dir / "planning.gpkg", overwrite=True)
    click.echo(f"wrote {report.paths[0]} (GeoPackage, {report.crs}, styled for QGIS)")
    sys.exit(exit_code(run.results) if strict else 0)
