"""The toolkit's data model: what each stage hands to the next, as typed dataclasses.

- :class:`Finding`: one problem of one feature (or layer, file, pair of features), with a
  severity: an ``error`` stops ``gis check`` and ``gis build``, a ``warning`` does not. It names
  the file, the layer, the feature and the field, says what is wrong and how to fix it, and
  carries its place (a point or the area concerned, EPSG:4326) where it has one;
- :class:`QaReport`: the findings of one QA run and the layers it read;
- :class:`CheckRun`: the measured features, the districts and one result row per target.

Units are in the names of the columns they concern (``area_ha``, ``area_m2``, ``tolerance_pct``);
the ``planned``, ``measured`` and ``delta`` of a result are in the row's ``unit``: ``ha`` for every
land area (metric ``area`` and ``planned_le_parent``, converted from the unit the plan states it
in: km², 万m², m²), ``ratio`` for a plot ratio, ``%`` for the derived containment checks
(``within_parent``, ``within_district``: ``delta`` in percentage points), and the plan's own unit
for a floor area (``floor_area``: a building figure no polygon can check, so never converted).
The feature export's ``planned_ha`` and ``delta_ha`` come from area rows only, so they are ha.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from gis import __version__
from gis.crs import LAYER_CRS
from gis.errors import render
from gis.landuse import LandUse

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)


@dataclass(frozen=True)
class Finding:
    """One problem of one feature (or of a layer, a file, a pair of features)."""

    severity: str
    check: str
    message: str
    source: str = ""
    layer: str | None = None
    fid: str | None = None
    field: str | None = None
    other_layer: str | None = None
    other_fid: str | None = None
    area_m2: float | None = None
    geometry: shapely.Geometry | None = None

    def text(self) -> str:
        """Return the finding as one line: file, layer, feature, then the message."""
        where = [self.source] if self.source else []
        if self.layer is not None:
            where.append(f"layer {self.layer}" + (f", feature {self.fid}" if self.fid is not None else ""))
        message = render(self.message)
        return ": ".join([*where, message]) if where else message


def errors(findings: list[Finding]) -> list[Finding]:
    """Return the findings of severity ``error``."""
    return [f for f in findings if f.severity == ERROR]


#: Columns of the findings table (CSV, JSON, GeoPackage layer).
FINDING_COLUMNS: tuple[str, ...] = (
    "severity",
    "check",
    "layer",
    "fid",
    "field",
    "other_layer",
    "other_fid",
    "area_m2",
    "lon",
    "lat",
    "source",
    "message",
)


@dataclass
class QaReport:
    """The findings of one QA run and what was checked."""

    source: Path
    findings: list[Finding] = field(default_factory=list)
    features: int = 0
    #: The layers as :func:`gis.read.read_layers` returns them, and ``"districts"``; when there is no
    #: error they are what a check reads, so ``gis build`` passes them on instead of reading again.
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    #: The land-use layer when the layers have one and it could be read (its findings are among ``findings``).
    landuse: LandUse | None = None

    @property
    def errors(self) -> list[Finding]:
        """Return the findings of severity error."""
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Return the findings of severity warning."""
        return [f for f in self.findings if f.severity == WARNING]

    def table(self) -> pd.DataFrame:
        """Return the findings as a frame with the columns of :data:`FINDING_COLUMNS`."""
        rows = []
        for f in self.findings:
            row = asdict(f)
            row["source"] = _relative(f.source, self.source)
            point = _point(f.geometry)
            row["lon"], row["lat"] = (round(point.x, 6), round(point.y, 6)) if point is not None else (None, None)
            row["message"] = render(f.message)
            rows.append(row)
        return pd.DataFrame(rows, columns=list(FINDING_COLUMNS))

    def frame(self) -> gpd.GeoDataFrame:
        """Return the findings with a point geometry (EPSG:4326) where they have a place."""
        table = self.table()
        points = [_point(f.geometry) for f in self.findings]
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(points, crs=LAYER_CRS), crs=LAYER_CRS)


def _relative(path: str, source: Path) -> str:
    """Name a file by its folder and name (``layers/parks.geojson``): outputs carry no machine paths."""
    if not path:
        return ""
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def _point(geom: shapely.Geometry | None) -> shapely.Point | None:
    if geom is None or geom.is_empty:
        return None
    return geom if geom.geom_type == "Point" else geom.representative_point()


@dataclass
class CheckRun:
    """Everything one check produced."""

    layers_dir: Path
    targets_path: Path
    features: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    results: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: The findings of the QA stage when it ran: the GeoPackage and the maps show them.
    qa: QaReport | None = None
    #: The office's land-use parcels and control lines, when the layers have them (:mod:`gis.landuse`).
    landuse: LandUse | None = None
    control: gpd.GeoDataFrame | None = None
    #: The targets table as read (:func:`gis.read.read_targets`): the map's sketch review needs the
    #: precision each area figure is stated to; None for a run made by hand (the map reads the file).
    targets: pd.DataFrame | None = None

    def meta(self) -> dict[str, str]:
        """Return provenance for outputs (no machine paths: folder and file names only)."""
        return {
            "toolkit": f"gis {__version__}",
            "checked_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "layers_dir": self.layers_dir.name,
            "targets_file": self.targets_path.name,
            "area_crs": "EPSG:4547",
        }
