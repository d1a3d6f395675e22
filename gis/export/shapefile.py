"""The Shapefile export: a set of files swapped in together, field names of 10 characters, GBK or UTF-8 text."""

from __future__ import annotations

import codecs
import logging
import os
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gis import settings
from gis._atomic import atomic_folder, check_output, replace_set, write_failure
from gis.errors import InputError, OutputError
from gis.export.formats import (
    DRIVER_ERRORS,
    SHAPEFILE_INDEXES,
    SHAPEFILE_METADATA,
    ExportReport,
    output_files,
)
from gis.io.vector import unknown_encoding
from gis.settings import SHAPEFILE_NAMES

log = logging.getLogger(__name__)


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
        raise InputError([*problems[:10], f"use {{p:encoding}} utf-8 or gbk ({len(problems)} values in all)"])
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

    The set is replaced as a whole: the old members (and the indexes built from them) are first
    moved aside, the new ones moved in, and on any error the old set is put back. Only those files
    are replaced: metadata beside them (``.shp.xml``, ``.qmd``) and any other file stay.
    """
    stem = path.with_suffix("")
    members = output_files(path)
    indexes = [Path(f"{stem}{ext}") for ext in SHAPEFILE_INDEXES]
    linked = [p for p in members + indexes if p.is_symlink()]
    if linked:
        raise OutputError(
            f"{linked[0]}: is a symbolic link (to {os.readlink(linked[0])}). A Shapefile's files are replaced "
            "together in one folder, so the export does not write through links: export to the folder the "
            "link points to, or remove the link."
        )
    old = [p for p in members + indexes if p.exists()]
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
    metadata = [p.name for p in (Path(f"{stem}{ext}") for ext in SHAPEFILE_METADATA) if p.exists()]
    if metadata and old:
        notes.append(f"kept {', '.join(metadata)} beside it: update the metadata if it described the old data")
    notes += long_text
    return ExportReport(
        members, "ESRI Shapefile", crs, layers={stem.name: len(table)}, renamed_fields=renamed, notes=notes
    )
