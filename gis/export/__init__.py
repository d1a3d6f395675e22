"""Export stage: a styled GeoPackage for QGIS, and GeoJSON, FlatGeobuf, GeoParquet, Shapefile.

Every export is written to a temporary file (or folder) beside the target and moved into
place, so a failed export never damages an existing file.

- :mod:`gis.export.formats`: drivers, frames offered, the files each format writes;
- :mod:`gis.export.tables`: the feature table (computed fields) and the target results;
- :mod:`gis.export.gpkg`: the GeoPackage (layers, styles, metadata);
- :mod:`gis.export.shapefile`: the Shapefile set;
- :mod:`gis.export.qgis_style`: QGIS styles (QML, SLD) from the one style definition;
- :mod:`gis.export.write`: :func:`export`, which picks the writer.
"""

from gis.export.formats import (
    DRIVER_ERRORS,
    EXPORT_CRS,
    QA_TABLE,
    TARGETS_TABLE,
    ExportReport,
    output_files,
    resolve_driver,
)
from gis.export.tables import EXPORT_FIELDS, feature_table, target_table
from gis.export.write import export

__all__ = [
    "DRIVER_ERRORS",
    "EXPORT_CRS",
    "EXPORT_FIELDS",
    "QA_TABLE",
    "TARGETS_TABLE",
    "ExportReport",
    "export",
    "feature_table",
    "output_files",
    "resolve_driver",
    "target_table",
]
