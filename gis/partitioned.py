"""Layers larger than memory: a folder of partitioned GeoParquet, checked with dask-geopandas.

The folder (``gis export --driver partitions -o DIR``, or :func:`write_partitioned`) holds:

- one folder per thematic layer (``consolidation_zones/``, ``renewal_units/``,
  ``industrial_land/``, ``parks/``), each with GeoParquet files ``part.00000.parquet`` ...
  (the data model's fields, EPSG:4326); a missing layer folder is an empty layer;
- ``districts.parquet``, the district boundaries;
- ``targets.csv``, the targets table (or pass ``--targets``);
- ``gis-partitions.json``, the manifest of what the toolkit wrote: only such a folder is replaced.

:func:`run_check_dask` (``gis check --engine dask``) reads it with dask-geopandas and
validates and measures every partition on its own (areas, geodesic cross-check, share inside
the district, bounds), in parallel; only those measures are collected, plus, in a second pass,
the geometries a check needs (parts and their parents, and features whose bounds meet another's
in their layer and district, for the aggregates' unions). The results are identical to the
default engine's (tests/test_dask.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import __version__, settings
from gis._atomic import atomic_folder, replace_set, write_failure
from gis._inputs import refuse_inputs
from gis.crs import LAYER_CRS
from gis.errors import GisError, InputError, InputFileError, OutputError, OutputExistsError
from gis.evaluate import check_targets
from gis.join import validate_join
from gis.landuse import read_control_lines, read_landuse
from gis.measure import measure_frame, project
from gis.model import CheckRun
from gis.read import read_targets
from gis.spatial import Shapes, district_shares, needed_geometries
from gis.validate import duplicate_fids, text_column, validate_layer

log = logging.getLogger(__name__)

DISTRICTS_FILE = "districts.parquet"
#: The manifest of a folder :func:`write_partitioned` wrote: every file with its size.
MANIFEST = "gis-partitions.json"
#: Measures collected from every partition, besides the data model's fields.
MEASURE_COLUMNS: tuple[str, ...] = ("area_ha", "geodesic_ha", "geodesic_diff_pct")
_BOUNDS = ("x0", "y0", "x1", "y1")


def write_partitioned(
    layers: dict[str, gpd.GeoDataFrame],
    folder: Path,
    *,
    targets: Path | None = None,
    rows_per_partition: int = 100_000,
    overwrite: bool = False,
) -> Path:
    """Write layers as a partitioned GeoParquet folder that ``gis check --engine dask`` reads.

    The folder is built beside the target and moved into place in one step; a folder that exists
    is replaced only when it holds nothing but what this function wrote there (its manifest,
    :data:`MANIFEST`, lists every file with its size), else it is refused, naming the other files.
    An empty folder is filled. A symbolic link to a folder is written through. Created folders get
    the usual mode (0777 less the umask).

    Parameters
    ----------
    layers
        Layer name -> features (the data model's fields), and ``"districts"``.
    folder
        The folder to write.
    targets
        A targets table (``.csv`` or ``.xlsx``) to copy into the folder.
    rows_per_partition
        Features per GeoParquet file.
    overwrite
        Replace an existing folder written by this function.

    Raises
    ------
    OutputExistsError
        The folder exists and is not empty, and ``overwrite`` is not set.
    OutputError
        The path is a file, or the folder holds files this function did not write (or that were
        changed since), or the writing failed (the previous folder is then left as it was).
    """
    shown = Path(folder)
    folder = Path(os.path.realpath(shown))  # through a link; "." gets a name
    if targets is not None:
        refuse_inputs([], [(Path(targets), "the targets table")], folders=[shown])
    had = _check_replaceable(folder, shown, overwrite=overwrite)
    try:
        with atomic_folder(folder) as tmp:
            build = tmp / folder.name
            build.mkdir()  # the umask's mode, unlike the 0700 of the temporary folder around it
            for name in settings.LAYER_NAMES:
                if name not in layers:
                    continue
                gdf = layers[name].drop(columns=["layer"], errors="ignore").reset_index(drop=True)
                gdf.attrs = {}  # the reader's notes (source CRS, heights dropped) are no GeoParquet metadata
                (build / name).mkdir()
                for k, start in enumerate(range(0, max(len(gdf), 1), rows_per_partition)):
                    gdf.iloc[start : start + rows_per_partition].to_parquet(build / name / f"part.{k:05d}.parquet")
            districts = layers["districts"].copy()
            districts.attrs = {}
            districts.to_parquet(build / DISTRICTS_FILE)
            if targets is not None:
                shutil.copyfile(targets, build / f"targets{Path(targets).suffix.lower()}")
            files = {p.relative_to(build).as_posix(): p.stat().st_size for p in sorted(build.rglob("*")) if p.is_file()}
            manifest = {"written_by": f"gis {__version__}", "files": files}
            (build / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
            replace_set(tmp, [folder])
    except OSError as exc:
        if isinstance(exc, GisError):
            raise
        kept = "the previous folder was left as it was" if had else "nothing was written"
        raise write_failure(shown, exc, kept=kept) from exc
    return shown


def _check_replaceable(folder: Path, shown: Path, *, overwrite: bool) -> bool:
    """Refuse to replace ``folder`` unless it is empty or holds only what :func:`write_partitioned` wrote.

    Returns whether there is a previous folder to replace.
    """
    if not os.path.lexists(folder):
        return False
    if not folder.is_dir():
        raise OutputError(
            f"{shown}: is a file, not a folder. A partitioned export writes a folder: choose another -o path."
        )
    found = _folder_entries(folder)
    if not found:
        return True
    if not overwrite:
        raise OutputExistsError(
            f"{shown}: the folder exists. Pass {{p:overwrite=True}} to replace it, or choose another folder."
        )
    try:
        listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        listed = None
    if not isinstance(listed, dict):
        foreign = sorted(found)
        why = f"it has no {MANIFEST}, so gis export --driver partitions did not write it"
    else:
        ours = {MANIFEST, *listed, *(p for name in listed for p in _parents(name))}
        foreign = sorted(
            name + (" (changed since gis wrote it)" if name in listed else "")
            for name, size in found.items()
            if name not in ours or (name in listed and size != listed[name])
        )
        why = "gis did not write them there"
    if foreign:
        shown_names = ", ".join(foreign[:10]) + (f" ... ({len(foreign)} in all)" if len(foreign) > 10 else "")
        raise OutputError(
            f"{shown}: holds files that {{p:overwrite=True}} would delete ({shown_names}); {why}. "
            "Nothing was written. Move those files out, or choose a new or empty folder."
        )
    return True


def _folder_entries(folder: Path) -> dict[str, int | None]:
    """Return every file (with its size) and folder (size None, name ending in /) under ``folder``, by relative name."""
    found: dict[str, int | None] = {}
    for root, dirs, names in os.walk(folder):
        base = Path(root).relative_to(folder)
        for name in list(dirs):
            if (Path(root) / name).is_symlink():  # a link is an entry of its own, never followed
                dirs.remove(name)
                names.append(name)
            else:
                found[(base / name).as_posix() + "/"] = None
        for name in names:
            found[(base / name).as_posix()] = os.lstat(Path(root) / name).st_size
    return found


def _parents(name: str) -> list[str]:
    return [p.as_posix() + "/" for p in Path(name).parents if p != Path(".")]


def partition_files(folder: Path) -> list[tuple[Path, str]]:
    """Return what :func:`run_check_dask` reads from a partitioned folder (files and layer folders), each with what it is."""
    folder = Path(folder)
    return [
        *((folder / name, f"the {name} partitions") for name in settings.LAYER_NAMES),
        *((folder / f"{name}.parquet", f"the {name} layer") for name in settings.LAYER_NAMES),
        (folder / DISTRICTS_FILE, "the districts"),
    ]


def _measure_partition(
    pdf: gpd.GeoDataFrame, *, layer: str, source: str, districts: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Validate and measure one partition: its fields, measures, district share and bounds (no geometry)."""
    if pdf.crs is None:
        return pd.DataFrame(), [f"{source}: layer {layer} has no CRS. Write it with gis export --driver partitions."]
    if not pdf.crs.equals(LAYER_CRS):
        pdf = pdf.to_crs(LAYER_CRS)
    parent = text_column(pdf["parent"]) if "parent" in pdf.columns else None
    try:
        # a parent may lie in another partition: checked over the whole layer once collected
        gdf = validate_layer(pdf.assign(parent=None), source=source, layer=layer)
    except InputError as exc:
        return pd.DataFrame(), list(exc.raw)
    if parent is not None:
        gdf["parent"] = parent.to_numpy()
    measured = measure_frame(gdf)
    out = pd.DataFrame(measured.features.drop(columns="geometry"))
    out["district_share"] = district_shares(out, districts, measured=measured).to_numpy()
    bounds = measured.bounds
    for k, name in enumerate(_BOUNDS):
        out[name] = bounds[:, k]
    return out, []


def _geometries(pdf: gpd.GeoDataFrame, rows: np.ndarray) -> np.ndarray:
    """Return the geometries of some rows of a partition, in EPSG:4547."""
    if pdf.crs is not None and not pdf.crs.equals(LAYER_CRS):
        pdf = pdf.to_crs(LAYER_CRS)
    return project(pdf.geometry.iloc[rows])


def _layer_paths(folder: Path) -> dict[str, Path]:
    paths = {}
    for name in settings.LAYER_NAMES:
        path = folder / name
        if path.is_dir() and any(path.glob("*.parquet")):
            paths[name] = path
        elif (folder / f"{name}.parquet").is_file():
            paths[name] = folder / f"{name}.parquet"
    return paths


def read_partitioned_districts(folder: Path) -> gpd.GeoDataFrame:
    """Read ``districts.parquet`` of a partitioned folder (EPSG:4326, ``district`` as text)."""
    path = Path(folder) / DISTRICTS_FILE
    if not path.is_file():
        raise InputFileError(
            f"{path}: no such file (the districts of a partitioned folder). Write the folder with "
            "gis export --driver partitions -o DIR."
        )
    gdf = gpd.read_parquet(path)
    if "district" not in gdf.columns:
        raise InputError(
            f"{path}: the districts lack the field district. Rebuild it with gis export --driver partitions."
        )
    gdf["district"] = text_column(gdf["district"]).to_numpy()
    return gdf.to_crs(LAYER_CRS) if gdf.crs is not None and not gdf.crs.equals(LAYER_CRS) else gdf


def run_check_dask(
    *, layers_dir: Path, targets_path: Path | None = None, missing_ok: bool = False, encoding: str | None = None
) -> CheckRun:
    """Run the check over a partitioned GeoParquet folder with dask-geopandas (see the module).

    ``encoding`` is that of the targets table when not UTF-8 (GeoParquet text is always UTF-8).

    Returns
    -------
    gis.model.CheckRun
        As :func:`gis.pipeline.run_check`, with identical results; its ``features`` hold the
        measures but no geometries (they stay in the partitions).
    """
    try:
        import dask
        import dask_geopandas
    except ImportError as exc:
        raise InputError(
            "{p:engine='dask'} needs dask-geopandas: pip install 'gis[dask]' (or pip install dask-geopandas)."
        ) from exc

    folder = Path(layers_dir)
    if not folder.is_dir():
        raise InputFileError(
            f"{folder}: no such folder. {{p:engine='dask'}} reads a partitioned GeoParquet folder "
            "(write one with gis export --driver partitions -o DIR)."
        )
    targets_path = Path(targets_path) if targets_path is not None else folder / "targets.csv"
    targets = read_targets(targets_path, encoding=encoding)
    districts = read_partitioned_districts(folder)
    paths = _layer_paths(folder)
    if not paths:
        raise InputFileError(
            f"{folder}: holds no layer folder ({', '.join(settings.LAYER_NAMES)}) with GeoParquet files. "
            "Write it with gis export --driver partitions -o DIR."
        )
    parts: list[tuple[str, Any]] = []  # (layer, delayed partition), in the default engine's order
    for name, path in paths.items():
        ddf = dask_geopandas.read_parquet(path)
        parts.extend((name, p) for p in ddf.to_delayed())
    tasks = [
        dask.delayed(_measure_partition)(p, layer=name, source=str(paths[name]), districts=districts)
        for name, p in parts
    ]
    collected = dask.compute(*tasks)
    problems = [line for _, errs in collected for line in errs]
    if problems:
        raise InputError(problems)
    frames = [frame for frame, _ in collected]
    sizes = [len(f) for f in frames]
    features = pd.concat(frames, ignore_index=True)
    _check_ids(features, folder)
    bounds = features[list(_BOUNDS)].to_numpy(dtype=float)
    need = needed_geometries(features, bounds)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    fetch = []
    for k, (_, p) in enumerate(parts):
        rows = np.flatnonzero(need[offsets[k] : offsets[k + 1]])
        if len(rows):
            fetch.append((k, dask.delayed(_geometries)(p, rows)))
    projected = np.full(len(features), None, dtype=object)
    for (k, _), geoms in zip(fetch, dask.compute(*[t for _, t in fetch]), strict=True):
        projected[offsets[k] + np.flatnonzero(need[offsets[k] : offsets[k + 1]])] = geoms
    shapes = Shapes(projected, bounds, features["district_share"].to_numpy(dtype=float))
    features = features.drop(columns=[*_BOUNDS, "district_share"])
    log.info(
        "measured %d features in %d partitions; %d geometries collected", len(features), len(parts), int(need.sum())
    )
    notes = validate_join(features, targets, targets_path=str(targets_path), missing_ok=missing_ok)
    landuse, control = read_landuse(folder), read_control_lines(folder)  # a landuse.parquet put beside the partitions
    results = check_targets(features, targets, districts=districts, shapes=shapes, landuse=landuse, control=control)
    frame = gpd.GeoDataFrame(features, geometry=np.full(len(features), None, dtype=object), crs=LAYER_CRS)
    return CheckRun(
        folder, targets_path, frame, districts, results, notes, landuse=landuse, control=control, targets=targets
    )


def _check_ids(features: pd.DataFrame, folder: Path) -> None:
    """Check, over every partition, what one partition cannot: unique fids, and parents that exist."""
    problems = [
        f.text() for f in duplicate_fids(features[["layer", "fid"]].assign(source=str(folder)), within_layers=True)
    ]
    known = set(zip(features["layer"], features["fid"], strict=True))
    orphans = features[features["parent"].notna()]
    for layer, fid, parent in zip(orphans["layer"], orphans["fid"], orphans["parent"], strict=True):
        if (layer, parent) not in known:
            problems.append(
                f"{folder}: layer {layer}, feature {fid}: field parent is {parent!r}, which is no fid of this "
                "layer. Correct the parent or add that feature."
            )
    if problems:
        raise InputError(problems)
