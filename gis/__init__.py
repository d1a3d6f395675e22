"""gis: land-use planning layers of Longgang, Longhua and Pingshan, checked against their plans.

The public API, in pipeline order: read and validate the layers, run the QA checks, check every
target, then render (web maps, map sheets), export and report. Areas are measured in EPSG:4547 (CGCS2000 /
3-degree Gauss-Kruger CM 114E).

Examples
--------
The test data (rectangles of exactly known area, ``tests/data/layers``):

>>> import gis
>>> layers = gis.read_layers("tests/data/layers")
>>> sorted(layers)
['consolidation_zones', 'districts', 'industrial_land', 'parks', 'renewal_units']
>>> gis.run_qa("tests/data/layers").errors
[]
>>> run = gis.run_check(layers_dir="tests/data/layers")
>>> run.features.set_index("fid").loc["TT-PK-01", "area_ha"].round(6)
np.float64(1.0)
>>> gis.summarize(run.results)["met"] > 0
True
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> report = gis.export(run, out / "planning.gpkg")
>>> report.driver, report.crs, report.layers["parks"]
('GPKG', 'EPSG:4547', 2)
>>> gis.write_report(run, out / "report.xlsx").name
'report.xlsx'
>>> [p.name for p in gis.write_maps(run, out / "maps")][:2]
['index.html', 'longgang.html']
>>> gis.write_sheet(run, out / "longgang.pdf", district="440307").describe()
'A3 landscape, 1:100,000, PDF'
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gis")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

# the stages import gis.__version__: it is set above, before them
from gis.crs import gcj02_from_wgs84, wgs84_from_gcj02
from gis.diff import diff_versions, load_version
from gis.errors import GisError, InputError, InputFileError, OutputError, OutputExistsError
from gis.evaluate import check_targets, compare
from gis.export import export, feature_table
from gis.importer import apply_import, plan_import
from gis.measure import geodesic_areas, measure_areas, measure_features
from gis.model import CheckRun, Finding, QaReport
from gis.pipeline import run_check, run_qa
from gis.raster import rasterize_land_use, write_land_use, zonal_statistics
from gis.read import check_layers, read_layers, read_targets
from gis.render.webmap import build_map, write_maps
from gis.report import write_report
from gis.results import exit_code, summarize
from gis.sheet import render_sheet, write_sheet

__all__ = [
    "CheckRun",
    "Finding",
    "GisError",
    "InputError",
    "InputFileError",
    "OutputError",
    "OutputExistsError",
    "QaReport",
    "__version__",
    "apply_import",
    "build_map",
    "check_layers",
    "check_targets",
    "compare",
    "diff_versions",
    "exit_code",
    "export",
    "feature_table",
    "gcj02_from_wgs84",
    "geodesic_areas",
    "load_version",
    "measure_areas",
    "measure_features",
    "plan_import",
    "rasterize_land_use",
    "read_layers",
    "read_targets",
    "render_sheet",
    "run_check",
    "run_qa",
    "summarize",
    "wgs84_from_gcj02",
    "write_land_use",
    "write_maps",
    "write_report",
    "write_sheet",
    "zonal_statistics",
]
