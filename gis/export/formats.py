"""The export formats: drivers by name and extension, frames offered, the files each writes, what an export reports."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pyogrio

from gis.errors import InputError
from gis.settings import SHAPEFILE_MEMBERS

log = logging.getLogger(__name__)


EXPORT_CRS: tuple[str, ...] = ("EPSG:4547", "EPSG:4490", "EPSG:4326")


#: Driver by file extension.
DRIVERS: dict[str, str] = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".parquet": "Parquet",
    ".shp": "ESRI Shapefile",
}


#: Names accepted by ``--driver`` -> driver.
DRIVER_ALIASES: dict[str, str] = {
    "gpkg": "GPKG",
    "geopackage": "GPKG",
    "geojson": "GeoJSON",
    "fgb": "FlatGeobuf",
    "flatgeobuf": "FlatGeobuf",
    "parquet": "Parquet",
    "geoparquet": "Parquet",
    "shp": "ESRI Shapefile",
    "shapefile": "ESRI Shapefile",
    "esri shapefile": "ESRI Shapefile",
}


#: What a driver raises when a write fails (disk full, a locked file).
DRIVER_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
)


QA_TABLE = "qa_findings"


TARGETS_TABLE = "target_results"


@dataclass
class ExportReport:
    """What an export wrote."""

    paths: list[Path]
    driver: str
    crs: str
    layers: dict[str, int] = field(default_factory=dict)
    renamed_fields: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def resolve_driver(path: Path, driver: str | None) -> str:
    """Return the OGR driver for ``path`` (by ``driver`` name or by extension)."""
    if driver:
        key = driver.strip().lower()
        if key not in DRIVER_ALIASES:
            raise InputError(
                f"{{p:driver}} {driver!r} is not supported; use one of {', '.join(sorted(set(DRIVER_ALIASES)))}."
            )
        return DRIVER_ALIASES[key]
    suffix = Path(path).suffix.lower()
    if suffix not in DRIVERS:
        raise InputError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'}; "
            f"use one of {', '.join(DRIVERS)} or pass {{p:driver}}."
        )
    return DRIVERS[suffix]


#: Indexes GIS software builds from a .shp and .dbf (spatial, attribute, feature id): wrong once the
#: set is replaced, so they go with the old set (and come back with it if the export fails).
SHAPEFILE_INDEXES: tuple[str, ...] = (".qix", ".sbn", ".sbx", ".aih", ".ain", ".atx", ".fix")


#: Metadata a person or GIS software keeps beside a Shapefile (ArcGIS, QGIS): never touched.
SHAPEFILE_METADATA: tuple[str, ...] = (".shp.xml", ".qmd")


def output_files(path: Path, driver: str | None = None) -> list[Path]:
    """Return the files an export to ``path`` writes: a Shapefile's set, else ``path`` itself."""
    path = Path(path)
    if resolve_driver(path, driver) == "ESRI Shapefile":
        return [Path(f"{path.with_suffix('')}{ext}") for ext in SHAPEFILE_MEMBERS]
    return [path]


def _default_crs(driver: str) -> str:
    return "EPSG:4326" if driver == "GeoJSON" else "EPSG:4547"
