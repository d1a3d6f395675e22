"""``gis report`` and ``gis diff``: reports for analysts, and what changed between two versions."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

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
    targets_option,
    to_stdout,
)
from gis.diff import diff_versions, load_version, version_inputs
from gis.escape import spreadsheet_csv, terminal_frame, terminal_text
from gis.pipeline import run_check
from gis.report import markdown_report, write_report


@click.command("report")
@layers_option
@targets_option
@encoding_option
@output_option("FILE.xlsx, FILE.html or FILE.md; '-': the Markdown report on standard output.", required=True)
@overwrite_option
@handle_errors
def report_command(
    layers_dir: Path | None, targets_path: Path | None, encoding: str | None, output: Path, overwrite: bool
) -> None:
    """Write the land-target report: per district, district totals with charts, consistency, floor areas, provenance.

    A spreadsheet has one sheet per view (frozen headers, filters, number formats, colours by
    status); an HTML report is one file that works with no network and prints on A4.
    """
    check_outputs([output], layer_inputs(layers_dir, targets_path), overwrite=overwrite)
    run = run_check(layers_dir=layers_dir, targets_path=targets_path, encoding=encoding)
    if to_stdout(output):
        click.echo(markdown_report(run), nl=False)
        return
    click.echo(f"wrote {write_report(run, output, overwrite=overwrite)}")


@click.command("diff")
@click.argument("old")
@click.argument("new")
@format_option
@output_option()
@overwrite_option
@handle_errors
def diff_command(old: str, new: str, fmt: str, output: Path | None, overwrite: bool) -> None:
    """Compare two versions of the layers: OLD and NEW are layers folders, GeoPackages or git revisions.

    Lists features added, removed and changed (area delta, changed fields) and targets whose
    status changed. Example: gis diff HEAD~1 HEAD
    """
    inputs = [*version_inputs(old, what="the old version"), *version_inputs(new, what="the new version")]
    check_outputs([output], inputs, overwrite=overwrite)
    d = diff_versions(load_version(old), load_version(new))
    features, targets = d["features"], d["targets"]
    if fmt == "json":
        doc = {
            "old": old,
            "new": new,
            "features": json.loads(features.to_json(orient="records", force_ascii=False)),
            "targets": json.loads(targets.to_json(orient="records", force_ascii=False)),
        }
        text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    elif fmt == "csv":  # one table: a row per feature change or status change
        rows = pd.concat([features.assign(kind="feature"), targets.assign(kind="target")], ignore_index=True)
        text = spreadsheet_csv(rows, float_format="%.4f")  # formulas neutralised
    else:
        lines = [
            f"{terminal_text(old)} -> {terminal_text(new)}: {len(features)} features changed, {len(targets)} targets changed status"
        ]
        for r, dh in zip(
            terminal_frame(features).itertuples(index=False), features["delta_ha"].astype(float).tolist(), strict=True
        ):
            before, after = r.area_before_ha, r.area_after_ha
            if r.change == "added":
                delta = f" {float(after):.2f} ha"  # type: ignore[arg-type]
            elif r.change == "removed":
                delta = f" was {float(before):.2f} ha"  # type: ignore[arg-type]
            else:
                delta = f" {dh:+.2f} ha" if abs(dh) >= 0.005 else ""
            lines.append(
                f"  {r.change:<8} {r.fid}  {r.name_zh} [{r.layer}]{delta}"
                + (f"  ({r.fields})" if isinstance(r.fields, str) else "")
            )
        for r in terminal_frame(targets).itertuples(index=False):
            lines.append(f"  status   {r.target_id}: {r.status_before} -> {r.status_after}")
        text = "\n".join(lines) + "\n"
    emit(text, output, what=f"{len(features)} features, {len(targets)} targets", bom=fmt == "csv")
