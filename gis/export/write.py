"""Export stage: a styled GeoPackage for QGIS, and GeoJSON, FlatGeobuf, GeoParquet, Shapefile.

Every export is written to a temporary file (or folder) beside the target and moved into
place, so a failed export never damages an existing file. pyogrio deletes an existing
GeoPackage it cannot open for update; the toolkit never hands it an existing file: it always
writes a fresh temporary one.
"""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

import numpy as np
import pyogrio

from gis import settings
from gis._atomic import atomic_path, check_output
from gis.errors import InputError
from gis.export.formats import (
    DRIVER_ERRORS,
    DRIVERS,
    EXPORT_CRS,
    ExportReport,
    _default_crs,
    resolve_driver,
)
from gis.export.gpkg import _export_gpkg
from gis.export.shapefile import _export_shapefile
from gis.export.tables import feature_table
from gis.model import CheckRun
from gis.parallel import transform_geometries
from gis.progress import stage

log = logging.getLogger(__name__)


def export(
    run: CheckRun,
    path: Path,
    *,
    crs: str | None = None,
    driver: str | None = None,
    encoding: str = "UTF-8",
    layer: str | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Export the checked layers to ``path``.

    Parameters
    ----------
    run
        A finished check.
    path
        Output file; its extension picks the format unless ``driver`` is given.
    crs
        ``EPSG:4547`` (default; CGCS2000 GK CM 114E), ``EPSG:4490`` or ``EPSG:4326``
        (GeoJSON is always EPSG:4326, RFC 7946).
    encoding
        Shapefile text encoding (``UTF-8``, or ``GBK`` for older desktop tools).
    layer
        For single-layer formats: only this thematic layer (default: all, with a ``layer`` field).
    """
    path = Path(path)
    drv = resolve_driver(path, driver)
    crs = crs or _default_crs(drv)
    if crs not in EXPORT_CRS:
        raise InputError(f"{{p:crs}} {crs} is not offered; use one of {', '.join(EXPORT_CRS)}.")
    if drv == "GeoJSON" and crs != "EPSG:4326":
        raise InputError(
            f"{path}: GeoJSON is always longitude/latitude (EPSG:4326, RFC 7946); use .gpkg, .fgb or .shp for {crs}."
        )
    if layer is not None and layer not in settings.LAYER_NAMES:
        raise InputError(f"{{p:layer}} {layer!r} is not a layer; use one of {', '.join(settings.LAYER_NAMES)}.")
    expected = [ext for ext, d in DRIVERS.items() if d == drv]
    if path.suffix.lower() not in expected:
        raise InputError(f"{path}: a {drv} file must end in {' or '.join(expected)}; rename the output.")
    if layer is not None and drv == "GPKG":
        raise InputError("{p:layer} is for single-layer formats; a GeoPackage holds every layer.")
    notes = (
        []
        if drv == "ESRI Shapefile" or codecs.lookup(encoding).name == "utf-8"
        else [f"--encoding applies to Shapefiles only; {drv} is UTF-8"]
    )
    table = feature_table(run)
    if drv == "GPKG":  # reprojected layer by layer, as it is written
        return _export_gpkg(run, table, path, crs=crs, overwrite=overwrite)
    features = table.set_geometry(transform_geometries(np.asarray(table.geometry.array), table.crs, crs), crs=crs)
    if layer is not None:
        features = features[features["layer"] == layer]
    if drv == "ESRI Shapefile":
        return _export_shapefile(features, path, crs=crs, encoding=encoding, overwrite=overwrite)
    check_output(path, overwrite=overwrite)
    with (
        atomic_path(path, suffix=path.suffix, errors=DRIVER_ERRORS) as tmp,
        stage("exporting", total=len(features)) as out,
    ):
        tmp.unlink()
        if drv == "Parquet":
            features.to_parquet(tmp, index=False)
        else:
            options = {"RFC7946": "YES"} if drv == "GeoJSON" else None
            pyogrio.write_dataframe(features, tmp, driver=drv, layer=path.stem, layer_options=options)
        out.advance(len(features))
    return ExportReport([path], drv, crs, layers={path.stem: len(features)}, notes=notes)
