"""Rules of a layer's features: the data model's fields and vocabularies, fids (within and across layers), text and geometry."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import settings
from gis.errors import InputError
from gis.model import ERROR, Finding, errors
from gis.validate.geometry import _geometry_findings
from gis.validate.text import control_findings, text_column, undo_mojibake

log = logging.getLogger(__name__)


def feature_frame(
    gdf: gpd.GeoDataFrame,
    *,
    layer: str,
    suspects: dict[str, list[int]] | None = None,
    controls: dict[str, list[int]] | None = None,
) -> gpd.GeoDataFrame:
    """Return a layer in the toolkit's form: ``layer``, the data model's fields as text, geometry.

    ``suspects``, when given, gets for each field the positions of the values that may be
    mojibake, ``controls`` those that held control characters (see :func:`text_column`).
    """
    found: dict[str, list[int]] = suspects if suspects is not None else {}
    held: dict[str, list[int]] = controls if controls is not None else {}
    columns = {
        f: text_column(gdf[f], found.setdefault(f, []), held.setdefault(f, []))
        if f in gdf.columns
        else pd.Series([None] * len(gdf), dtype=object)
        for f in settings.FEATURE_FIELDS
    }
    out = gpd.GeoDataFrame(columns, geometry=gdf.geometry.values, crs=gdf.crs)
    out.insert(0, "layer", layer)
    return out


def check_layer(
    gdf: gpd.GeoDataFrame, *, source: str, layer: str, failed: np.ndarray | None = None
) -> tuple[list[Finding], gpd.GeoDataFrame]:
    """Check a layer's features against the data model; return the findings and the layer in the toolkit's form.

    One finding per problem. ``failed`` is :func:`gis.validate.geometry.failed_validity` of the
    layer's geometries when already computed (:func:`gis.read.check_layers` computes it beside the
    reading of the next layer).

    Errors: missing fields, empty required values, unknown district or part, unknown parent,
    missing or duplicate fids, garbled text (:func:`undo_mojibake`), and geometries that are
    missing, empty, not polygons, unclosed, not finite, outside the three districts (swapped axes,
    metres labelled as degrees) or invalid (with GEOS's reason and location). Warnings: 3D
    coordinates (heights dropped), control characters in text (read as spaces).

    Columns a reader or the importer may add: ``_geometry_note`` (why a geometry could not be
    parsed), ``_feature_no`` (a feature's number in its file, which names a feature without fid;
    default: its row), ``_district_awaits_geometry`` (true for a new feature whose district is to
    come from its geometry, which is unusable: its empty district is not reported, the geometry is).
    """
    missing = [f for f in settings.REQUIRED_FEATURE_FIELDS if f not in gdf.columns]
    if missing:
        return (
            [
                Finding(
                    ERROR,
                    "missing_field",
                    f"lacks the field(s) {', '.join(missing)}. Add them to every feature (see layers/README.md for the data model).",
                    source=source,
                    layer=layer,
                    field=missing[0],
                )
            ],
            feature_frame(gdf, layer=layer),
        )
    suspects: dict[str, list[int]] = {}
    controls: dict[str, list[int]] = {}
    out = feature_frame(gdf, layer=layer, suspects=suspects, controls=controls)
    fids = out["fid"].to_numpy()
    numbers = _private_column(gdf, "_feature_no", np.arange(1, len(gdf) + 1))
    labels = np.array([f if f is not None else f"#{int(n)}" for f, n in zip(fids, numbers, strict=True)], dtype=object)
    findings: list[Finding] = []
    for field, rows in controls.items():
        findings += control_findings(
            gdf[field], out[field], np.asarray(rows, dtype=np.int64), labels, source=source, layer=layer, field=field
        )

    def add(i: Any, check: str, message: str, field: str, severity: str = ERROR) -> None:
        findings.append(Finding(severity, check, message, source=source, layer=layer, fid=labels[i], field=field))

    awaiting = _private_column(gdf, "_district_awaits_geometry", np.zeros(len(gdf), dtype=bool)).astype(bool)
    for field in settings.REQUIRED_FEATURE_FIELDS:
        empty = out[field].isna().to_numpy() & ~(awaiting & (field == "district"))
        for i in np.flatnonzero(empty):
            add(i, "missing_fid" if field == "fid" else "empty_field", f"field {field} is empty. Fill it in.", field)
    for field, rows in suspects.items():
        for row in rows:
            garbled = out[field].iloc[row]
            undone = undo_mojibake(garbled)
            if undone is None:
                continue
            text, how = undone
            encoding = how.split()[0]
            add(
                row,
                "mojibake",
                f"field {field} is {garbled!r}: garbled text ({how}), probably {text!r}. Export the file "
                f"again from the original data as UTF-8; if the file itself is {encoding} (e.g. a Shapefile "
                f"whose .cpg says otherwise), read it with {{p:encoding}} {encoding.lower()}.",
                field,
            )
    for field, allowed, hint in (
        ("district", settings.DISTRICTS, "Use the district code as text."),
        ("part", settings.PARTS, ""),
        (
            "category",
            settings.CATEGORIES,
            "A new category goes into gis/settings.py CATEGORIES and layers/README.md first.",
        ),
    ):
        values = out[field]
        for i in np.flatnonzero((values.notna() & ~values.isin(list(allowed))).to_numpy()):
            add(
                i,
                f"bad_{field}",
                f"field {field} is {values.iloc[i]!r}, not one of {', '.join(allowed)}. {hint}".rstrip(),
                field,
            )
    findings.extend(_geometry_findings(gdf, labels, source=source, layer=layer, failed=failed))
    findings.extend(duplicate_fids(out[["layer", "fid"]].assign(source=source), within_layers=True))
    parents = out["parent"]
    children = np.flatnonzero(parents.notna().to_numpy())  # usually none: no set of every fid then
    known = set(out["fid"].dropna()) if len(children) else set()
    for i in children[[p not in known for p in parents.to_numpy()[children]]]:
        add(
            i,
            "unknown_parent",
            f"field parent is {parents.iloc[i]!r}, which is no fid of this layer. Correct the parent or add that feature.",
            "parent",
        )
    return findings, out


def duplicate_fids(features: pd.DataFrame, *, within_layers: bool = False) -> list[Finding]:
    """Return a finding for every fid that more than one feature of ``features`` uses.

    ``features`` holds the columns ``layer``, ``fid`` and ``source`` (the file, for messages) of
    every layer. A fid used in two layers is always an error (``fid_in_two_layers``); a fid used
    twice within one layer only with ``within_layers`` (:func:`check_layer` finds those layer by
    layer; a layer split into partitions needs it over all of them).

    Examples
    --------
    >>> stacked = pd.DataFrame({"layer": ["parks", "renewal_units", "parks"], "fid": ["A", "A", "B"], "source": ""})
    >>> [f.text() for f in duplicate_fids(stacked)]
    ['layer parks, feature A: fid A is used in layers parks, renewal_units. fids must be unique across layers: rename one.']
    """
    fids = features["fid"]
    rows = features[fids.notna() & fids.duplicated(keep=False)]  # every use of a fid used twice (usually none)
    if not within_layers:
        rows = rows.drop_duplicates(["layer", "fid"])
    dup = rows[rows["fid"].duplicated(keep=False)]
    findings = []
    for fid, group in dup.groupby("fid", sort=True):
        layers = list(dict.fromkeys(group["layer"].tolist()))
        source = str(group["source"].iloc[0])
        if len(layers) == 1:
            findings.append(
                Finding(
                    ERROR,
                    "duplicate_fid",
                    f"fid {fid} is used by {len(group)} features. Give each its own fid.",
                    source=source,
                    layer=layers[0],
                    field="fid",
                )
            )
        else:
            findings.append(
                Finding(
                    ERROR,
                    "fid_in_two_layers",
                    f"fid {fid} is used in layers {', '.join(layers)}. fids must be unique across layers: rename one.",
                    source=source,
                    layer=layers[0],
                    fid=str(fid),
                    field="fid",
                    other_layer=layers[1],
                    other_fid=str(fid),
                )
            )
    return findings


def _private_column(gdf: gpd.GeoDataFrame, name: str, default: np.ndarray) -> np.ndarray:
    """Return a column a reader or the importer added (see :func:`check_layer`), ``default`` where it has none."""
    if name not in gdf.columns:
        return default
    values = gdf[name].to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    values[missing] = default[missing]
    return values


def validate_layer(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> gpd.GeoDataFrame:
    """Check a layer's features against the data model; return them in the toolkit's form.

    ``source`` names the file in messages. Raises :class:`InputError` listing every error of
    :func:`check_layer` (warnings are logged).
    """
    findings, out = check_layer(gdf, source=source, layer=layer)
    raise_errors(findings)
    return out


def raise_errors(findings: list[Finding]) -> None:
    """Log the warnings among ``findings``; raise one :class:`InputError` listing the errors, if any."""
    for f in findings:
        if f.severity != ERROR:
            log.warning("%s", f.text())
    if errors(findings):
        raise InputError([f.text() for f in errors(findings)])
