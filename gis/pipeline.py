"""The pipeline, the only place that orders the stages: read -> validate -> qa; read -> measure -> join -> evaluate; and the build that writes every output."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from gis import settings
from gis._atomic import atomic_outputs, write_bytes_atomic, write_text_atomic
from gis.errors import InputError
from gis.evaluate import check_targets
from gis.export import export
from gis.export.gpkg import refuse_open_gpkg
from gis.join import validate_join
from gis.landuse import LandUse, layer_path, read_control_lines, read_landuse
from gis.measure import measure_layers
from gis.model import ERROR, WARNING, CheckRun, Finding, QaReport
from gis.partitioned import run_check_dask
from gis.progress import stage
from gis.qa import topology_findings
from gis.qa_parcels import parcel_findings
from gis.read import check_layers, default_targets_path, read_layers, read_targets
from gis.render.basemaps import DEFAULT_MAX_MB, Basemap
from gis.render.tables import format_csv, format_features_csv, format_json, format_qa, format_table
from gis.render.webmap import MAP_FILES, write_maps
from gis.report import write_report
from gis.sheet import SHEET_FILES, district_sheets, render_sheet
from gis.sheet.fonts import cjk_font
from gis.spatial import Shapes

log = logging.getLogger(__name__)

#: The engines of :func:`run_check`.
ENGINES = ("pandas", "dask")


def run_qa(layers_dir: Path | None = None, *, encoding: str | None = None) -> QaReport:
    """Read every layer leniently and return every finding, errors first.

    Validation (:func:`gis.read.check_layers`) and then topology and containment
    (:func:`gis.qa.topology_findings`) on the features whose geometry is usable; when the layers
    have a land-use layer, its parcels' coverage, codes and official areas
    (:func:`gis.qa_parcels.parcel_findings`, warnings; a layer that cannot be read is an error).

    Parameters
    ----------
    layers_dir
        A folder of layers or a GeoPackage of them; default :func:`gis.settings.default_layers_dir`.
    encoding
        Text encoding of the layer files when not UTF-8 (e.g. ``gbk``).

    Raises
    ------
    InputError
        When the districts cannot be read (nothing can be placed without them) or the folder
        does not exist. An unreadable thematic layer is an error finding.

    Examples
    --------
    >>> report = run_qa("tests/data/layers")
    >>> report.features, report.errors, report.warnings
    (10, [], [])
    """
    source = Path(layers_dir) if layers_dir is not None else settings.default_layers_dir()
    layers, findings = check_layers(source, encoding=encoding)
    n = sum(len(frame) for name, frame in layers.items() if name != "districts")
    with stage("checking topology", total=n) as checking:
        findings = findings + topology_findings(layers, findings)
        checking.advance(n)
    landuse, landuse_findings = _landuse_qa(source)
    findings += landuse_findings
    order = {ERROR: 0, WARNING: 1}
    findings.sort(key=lambda f: (order[f.severity], f.layer or "", f.fid or "", f.check))
    features = sum(len(frame) for name, frame in layers.items() if name != "districts")
    features += len(landuse.table) if landuse is not None else 0
    return QaReport(source, findings, features, layers, landuse)


def _landuse_qa(source: Path) -> tuple[LandUse | None, list[Finding]]:
    """Read the land-use layer, if any, and return it with its findings (its read errors as error findings)."""
    try:
        landuse = read_landuse(source)
    except InputError as exc:
        path = ""
        with contextlib.suppress(InputError):
            path = str(layer_path(source, settings.LANDUSE_LAYER) or "")
        found = [
            Finding(
                ERROR,
                "landuse_layer",
                problem.split(": layer landuse: ", 1)[-1],
                source=path,
                layer=settings.LANDUSE_LAYER,
            )
            for problem in exc.problems
        ]
        return None, found
    return landuse, (parcel_findings(landuse) if landuse is not None else [])


def run_check(
    *,
    layers_dir: Path | None = None,
    targets_path: Path | None = None,
    missing_ok: bool = False,
    encoding: str | None = None,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
    engine: str = "pandas",
    landuse: LandUse | None = None,
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
    landuse
        The land-use layer already read (:attr:`gis.model.QaReport.landuse`); else it is read here.
    engine
        ``pandas`` (the layers in memory) or ``dask``: ``layers_dir`` is then a partitioned
        GeoParquet folder (:func:`gis.partitioned.write_partitioned`), checked partition by
        partition (:func:`gis.partitioned.run_check_dask`), with the same results.

    Examples
    --------
    >>> run = run_check(layers_dir="tests/data/layers")
    >>> row = run.results.set_index("target_id").loc["TT-01"]
    >>> float(row["planned"]), round(float(row["measured"]), 6), row["status"]
    (100.0, 100.0, 'met')
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "dask":
        if layers_dir is None:
            raise InputError(
                "{p:engine='dask'} needs {p:layers_dir}: a partitioned GeoParquet folder (gis export --driver partitions)."
            )
        return run_check_dask(layers_dir=Path(layers_dir), targets_path=targets_path, encoding=encoding)
    layers_dir = Path(layers_dir) if layers_dir is not None else settings.default_layers_dir()
    if targets_path is None:
        targets_path = default_targets_path(layers_dir)
    if layers is None:
        layers = read_layers(layers_dir, encoding=encoding)
    targets = read_targets(Path(targets_path), encoding=encoding)
    n = sum(len(layers[name]) for name in settings.LAYER_NAMES)
    log.info("read %d features and %d targets", n, len(targets))
    with stage("measuring features", total=n) as measuring:
        measured = measure_layers(layers)
        measuring.advance(n)
    features = measured.features
    notes = validate_join(features, targets, targets_path=str(targets_path), missing_ok=missing_ok)
    if log.isEnabledFor(logging.INFO):
        for note in notes:
            log.info(note)
    shapes = Shapes.of(measured, features, layers["districts"])
    landuse = landuse if landuse is not None else read_landuse(layers_dir)
    control = read_control_lines(layers_dir)
    if landuse is not None:
        log.info("read %d land-use parcels (%s codes) from %s", len(landuse.table), landuse.system, landuse.source)
    results = check_targets(
        features, targets, districts=layers["districts"], shapes=shapes, landuse=landuse, control=control
    )
    run = CheckRun(layers_dir, targets_path, features, layers["districts"], results, notes)
    run.landuse, run.control, run.targets = landuse, control, targets
    return run


#: The files :func:`run_build` writes into ``out_dir`` (besides the maps and report.html in ``maps_dir``).
OUT_FILES: tuple[str, ...] = (
    "check.json",
    "check.csv",
    "check.txt",
    "features.csv",
    "qa.csv",
    "report.xlsx",
    "planning.gpkg",
)


#: The folder of ``out_dir`` that :func:`run_build` writes the map sheets into.
SHEETS_DIR = "sheets"


def build_outputs(out_dir: Path, maps_dir: Path) -> list[Path]:
    """Return every file :func:`run_build` may write (a sheet only for a district the layers have)."""
    return (
        [Path(out_dir) / name for name in OUT_FILES]
        + [Path(maps_dir) / name for name in (*MAP_FILES.values(), "report.html")]
        + [Path(out_dir) / SHEETS_DIR / name for name in SHEET_FILES.values()]
    )


@dataclass
class BuildResult:
    """What :func:`run_build` did: the QA report, the check (None when QA errors stopped it), the files written."""

    qa: QaReport
    run: CheckRun | None = None
    written: list[Path] = field(default_factory=list)


def run_build(
    layers_dir: Path | None = None,
    *,
    targets_path: Path | None = None,
    encoding: str | None = None,
    out_dir: Path = Path("out"),
    maps_dir: Path = Path("maps"),
    basemap: str | Basemap | Sequence[str | Basemap] = "none",
    basemap_max_mb: float = DEFAULT_MAX_MB,
) -> BuildResult:
    """Run QA, then the check, then write every output: check tables, maps, reports, map sheets, the GeoPackage.

    An error finding of the QA stage stops the build before anything is written (the result has
    no ``run``). Every output is written to a temporary folder beside its target first, and all
    are moved into place only when every one was written: a failed build leaves all the previous
    files as they were. The map sheets (``out_dir/sheets/``, one A3 PDF per district the layers
    have a boundary of) need a CJK font: without one the build stops before anything is read. The
    maps' ``basemap`` and ``basemap_max_mb`` are those of :func:`gis.render.webmap.build_map`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> result = run_build("tests/data/layers", out_dir=out / "out", maps_dir=out / "maps")
    >>> result.qa.errors, len(result.written)
    ([], 13)
    >>> [p.name for p in result.written if p.parent.name == "sheets"]
    ['longgang.pdf']
    """
    cjk_font()  # no sheet without Chinese glyphs: say so before any work
    qa = run_qa(layers_dir, encoding=encoding)
    if qa.errors:
        return BuildResult(qa)
    run = run_check(
        layers_dir=layers_dir, targets_path=targets_path, encoding=encoding, layers=qa.layers, landuse=qa.landuse
    )
    run.qa = qa
    out_dir, maps_dir = Path(out_dir), Path(maps_dir)
    texts = {
        "check.json": format_json(run.results, meta=run.meta(), notes=run.notes),
        "check.csv": "\ufeff" + format_csv(run.results),  # BOM so spreadsheets show Chinese
        "check.txt": format_table(run.results),
        "features.csv": "\ufeff" + format_features_csv(run.features),
        "qa.csv": "\ufeff" + format_qa(qa, "csv"),
    }
    gpkg = out_dir / "planning.gpkg"
    refuse_open_gpkg(gpkg)
    with atomic_outputs("gis-build") as outputs:
        for name, text in texts.items():
            write_text_atomic(outputs.path(out_dir / name), text)
        maps = [maps_dir / name for name in MAP_FILES.values()]
        staged = [outputs.path(path) for path in maps]
        write_maps(
            run,
            staged[0].parent,
            extra_links={"报告 Report": "report.html"},
            basemap=basemap,
            basemap_max_mb=basemap_max_mb,
        )
        reports = [out_dir / "report.xlsx", maps_dir / "report.html"]
        for path in reports:
            write_report(run, outputs.path(path), overwrite=True)
        sheets = [out_dir / SHEETS_DIR / name for name in district_sheets(run).values()]
        for code, path in zip(district_sheets(run), sheets, strict=True):
            write_bytes_atomic(outputs.path(path), render_sheet(run, district=code, paper="A3").data)
        export(run, outputs.path(gpkg), overwrite=True)
    return BuildResult(qa, run, [*(out_dir / name for name in texts), *maps, *reports, *sheets, gpkg])
