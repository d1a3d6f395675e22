"""The pipeline: read -> measure -> join -> evaluate, and the build that writes its results."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gis import __version__, settings
from gis.evaluate import Shapes, check_targets, validate_join
from gis.measure import measure_layers
from gis.read import default_targets_path, read_layers, read_targets

log = logging.getLogger(__name__)


@dataclass
class CheckRun:
    """Everything one check produced."""

    layers_dir: Path
    targets_path: Path
    features: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    results: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: The findings of the QA stage (:class:`gis.qa.QaReport`) when it ran: the GeoPackage and the maps show them.
    qa: Any = None

    def meta(self) -> dict[str, str]:
        """Return provenance for outputs (no machine paths: folder and file names only)."""
        return {
            "toolkit": f"gis {__version__}",
            "checked_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "layers_dir": self.layers_dir.name,
            "targets_file": self.targets_path.name,
            "area_crs": "EPSG:4547",
        }


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
        The layers already read and validated (:attr:`gis.qa.QaReport.layers` of a QA run with no
        error); they are not read again.
    """
    layers_dir = Path(layers_dir) if layers_dir is not None else settings.default_layers_dir()
    if targets_path is None:
        targets_path = default_targets_path(layers_dir)
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
