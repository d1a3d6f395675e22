"""The pipeline: read -> measure -> join -> evaluate, and the build that writes its results."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd

from gis import settings
from gis.evaluate import check_targets
from gis.join import validate_join
from gis.measure import measure_layers
from gis.model import CheckRun
from gis.read import read_layers, read_targets
from gis.spatial import Shapes

log = logging.getLogger(__name__)


def run_check(
    *,
    layers_dir: Path | None = None,
    targets_path: Path | None = None,
    missing_ok: bool = False,
    encoding: str | None = None,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
) -> CheckRun:
    """Read the layers and targets, measure every feature and evaluate every target.

    Parameters
    ----------
    layers_dir
        Folder with the four thematic layers and ``districts.geojson``, or a GeoPackage with
        those layers (as ``gis export`` writes); default :func:`gis.settings.default_layers_dir`.
    targets_path
        Targets table (``.csv`` or ``.xlsx``); default ``targets.csv`` in ``layers_dir`` (beside
        a GeoPackage).
    encoding
        Text encoding of the layers and the targets table when not UTF-8 (e.g. ``gbk``).
    missing_ok
        A target naming a feature no layer has is ``no polygon`` instead of an error (for
        comparing versions, where a feature was deleted).
    layers
        The layers already read and validated (:attr:`gis.model.QaReport.layers` of a QA run with no
        error); they are not read again.
    """
    layers_dir = Path(layers_dir) if layers_dir is not None else settings.default_layers_dir()
    if targets_path is None:
        targets_path = (layers_dir.parent if layers_dir.suffix.lower() == ".gpkg" else layers_dir) / "targets.csv"
    if layers is None:
        layers = read_layers(layers_dir, encoding=encoding)
    targets = read_targets(Path(targets_path), encoding=encoding)
    log.info("read %d features and %d targets", sum(len(layers[n]) for n in settings.LAYER_NAMES), len(targets))
    measured = measure_layers(layers)
    features = measured.features
    notes = validate_join(features, targets, targets_path=str(targets_path), missing_ok=missing_ok)
    if log.isEnabledFor(logging.INFO):
        for note in notes:
            log.info(note)
    shapes = Shapes.of(measured, features, layers["districts"])
    results = check_targets(features, targets, districts=layers["districts"], shapes=shapes)
    return CheckRun(layers_dir, targets_path, features, layers["districts"], results, notes)
