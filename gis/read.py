"""Read stage: the thematic layers, the districts and the targets table, read (:mod:`gis.io`) and validated (:mod:`gis.validate`).

Every reader collects all problems of its input and raises one
:class:`~gis.errors.InputError` that lists them, so a user fixes everything in
one pass. Each problem names the file, the layer, the feature or row and the
field, and says how to fix it.
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import settings
from gis.errors import InputError, InputFileError
from gis.io.targets import read_table
from gis.io.vector import container_layers, read_source_layer, read_vector_lonlat
from gis.landuse import LAYER_SUFFIXES
from gis.model import ERROR, Finding
from gis.progress import stage
from gis.validate import check_layer, duplicate_fids, raise_errors, text_column, validate_layer, validate_targets
from gis.validate.geometry import failed_validity

log = logging.getLogger(__name__)


def read_layer(path: Path, *, layer: str, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read and validate one thematic layer.

    Parameters
    ----------
    path
        GeoJSON file of the layer.
    layer
        The layer's name (one of :data:`gis.settings.LAYER_NAMES`), used in messages.
    encoding
        Text encoding when the file is not UTF-8 (e.g. ``gbk``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature, every field of :data:`gis.settings.FEATURE_FIELDS` as text
        (None where empty), a ``layer`` column, geometry in EPSG:4326.
    """
    path = Path(path)
    return validate_layer(read_vector_lonlat(path, layer=layer, encoding=encoding), source=str(path), layer=layer)


def read_districts(path: Path, *, encoding: str | None = None, names: list[str] | None = None) -> gpd.GeoDataFrame:
    """Read the district boundaries (``district``, ``name_zh``, ``name_en``, geometry in EPSG:4326).

    ``path`` is ``districts.geojson``, a folder holding it, or a GeoPackage with a ``districts``
    layer (``names``: its layers, if already listed).
    """
    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".gpkg":
        gdf, where = read_source_layer(path, "districts", encoding=encoding, names=names)
    else:
        gdf, where = read_vector_lonlat(path, layer="districts", encoding=encoding), str(path)
    if "district" not in gdf.columns:
        raise InputError(
            f"{where}: layer districts lacks the field district. Rebuild it with scripts/build_districts.py."
        )
    gdf["district"] = text_column(gdf["district"])
    return gdf


def default_targets_path(source: Path) -> Path:
    """Return the targets table read with the layers of ``source``: ``targets.csv`` in the folder, or beside a GeoPackage."""
    source = Path(source)
    return (source.parent if source.suffix.lower() == ".gpkg" else source) / "targets.csv"


def source_files(source: Path) -> list[tuple[Path, str]]:
    """Return the files :func:`read_layers` reads from ``source`` (a folder or a GeoPackage), each with what it is."""
    source = Path(source)
    if source.suffix.lower() == ".gpkg":
        return [(source, "the GeoPackage of layers")]
    files = [(source / f"{name}.geojson", f"the {name} layer") for name in (*settings.LAYER_NAMES, "districts")]
    if source.is_dir():
        for name in (settings.LANDUSE_LAYER, settings.CONTROL_LAYER):
            files += [(source / f"{name}{suffix}", f"the {name} layer") for suffix in LAYER_SUFFIXES]
    return files


def _check_source(source: Path) -> None:
    if source.suffix.lower() == ".gpkg" or source.is_dir():
        return
    raise InputFileError(
        f"{source}: no such folder of layers. Pass {{p:layers_dir}} pointing at a folder like layers/, "
        "or a GeoPackage of the layers (as gis export writes)."
    )


def check_layers(
    source: Path, *, encoding: str | None = None, names: list[str] | None = None
) -> tuple[dict[str, gpd.GeoDataFrame], list[Finding]]:
    """Read every layer of a folder or a GeoPackage leniently; return the layers and every finding of validation.

    A layer that cannot be read is an error finding (``unreadable_layer``), not the end of the
    run; every feature is checked by :func:`gis.validate.check_layer` and fids across layers by
    :func:`gis.validate.duplicate_fids`. A layer missing a required field is left out of the
    layers returned. Each layer's frame carries the file it came from in ``attrs["source"]``.
    ``names`` are a GeoPackage's layers when already listed (else they are listed once here).

    Raises
    ------
    InputError
        When ``source`` is no folder or GeoPackage, or the districts cannot be read (nothing can
        be placed without them).

    Examples
    --------
    >>> layers, findings = check_layers("tests/data/layers")
    >>> sorted(layers), findings
    (['consolidation_zones', 'districts', 'industrial_land', 'parks', 'renewal_units'], [])
    """
    source = Path(source)
    _check_source(source)
    findings: list[Finding] = []
    layers: dict[str, gpd.GeoDataFrame] = {}
    if names is None and source.suffix.lower() == ".gpkg":
        with contextlib.suppress(InputError):  # unlisted, each read lists them and reports the failure
            names = container_layers(source)

    def check(name: str, raw: gpd.GeoDataFrame, path: str, failed: Future[np.ndarray]) -> None:
        found, frame = check_layer(raw, source=path, layer=name, failed=failed.result())
        findings.extend(found)
        if not any(f.check == "missing_field" for f in found):
            frame.attrs["source"] = path
            layers[name] = frame

    # GEOS's validity test of a layer (no GIL) runs while the next layer is read (mostly with it)
    waiting: tuple[str, gpd.GeoDataFrame, str, Future[np.ndarray]] | None = None  # read, not yet checked
    with ThreadPoolExecutor(1) as validity, stage("reading layers") as reading:  # shown past 10,000 features read
        for name in settings.LAYER_NAMES:
            try:
                raw, path = read_source_layer(source, name, encoding=encoding, names=names)
                reading.advance(len(raw))
            except InputError as exc:
                if waiting is not None:
                    check(*waiting)
                    waiting = None
                findings += [Finding(ERROR, "unreadable_layer", p) for p in exc.raw]
                continue
            failed = validity.submit(failed_validity, raw.geometry.array)
            if waiting is not None:
                check(*waiting)
            waiting = (name, raw, path, failed)
        if waiting is not None:
            check(*waiting)
    if layers:
        findings += duplicate_fids(
            pd.concat(
                [f[["layer", "fid"]].assign(source=f.attrs["source"]) for f in layers.values()], ignore_index=True
            )
        )
    layers["districts"] = read_districts(source, encoding=encoding, names=names)
    return layers, findings


def read_layers(source: Path, *, encoding: str | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Read and validate every thematic layer of a folder or a GeoPackage, and the districts.

    Parameters
    ----------
    source
        A folder with ``parks.geojson``, ``industrial_land.geojson``, ... and ``districts.geojson``,
        or a GeoPackage with layers of those names (feature ids in field ``feature_id``).
    encoding
        Text encoding of the files when not UTF-8 (e.g. ``gbk``).

    Returns
    -------
    dict
        Layer name -> GeoDataFrame in the toolkit's form (:func:`gis.validate.feature_frame`),
        plus ``"districts"``.

    Raises
    ------
    InputError
        Listing every error finding of :func:`check_layers` (warnings are logged).

    Examples
    --------
    >>> layers = read_layers("tests/data/layers")
    >>> layers["parks"][["fid", "name_zh", "district"]].values.tolist()
    [['TT-PK-01', '测试公园', '440307'], ['TT-PK-02', '无目标公园', '440307']]
    """
    source = Path(source)
    _check_source(source)
    names = None
    if source.suffix.lower() == ".gpkg":
        names = container_layers(source)  # once: each call opens the file
        absent = [n for n in (*settings.LAYER_NAMES, "districts") if n not in names]
        if absent:
            raise InputFileError(
                f"{source}: has no layer(s) {', '.join(absent)}. A GeoPackage of layers holds "
                f"{', '.join((*settings.LAYER_NAMES, 'districts'))}, as gis export writes."
            )
    layers, findings = check_layers(source, encoding=encoding, names=names)
    raise_errors(findings)
    return layers


def read_targets(path: Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read and validate the targets table (``.csv`` or ``.xlsx``; ``encoding`` for a CSV not in UTF-8).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`gis.settings.TARGET_COLUMNS` as text (None where empty), with
        ``value`` and ``tolerance_pct`` as floats, plus ``value_decimals`` (decimals stated)
        and ``row`` (the row number in the file, header = 1): see :func:`gis.validate.validate_targets`.

    Examples
    --------
    >>> targets = read_targets("tests/data/layers/targets.csv")
    >>> row = targets.iloc[0]
    >>> row["target_id"], row["fid"], row["comparator"], float(row["value"]), row["unit"]
    ('TT-01', 'TT-CZ-01', 'approx', 100.0, 'ha')
    """
    path = Path(path)
    return validate_targets(read_table(path, encoding=encoding), path=path)
