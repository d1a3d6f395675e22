"""Compare two versions of the layers: features added, removed and changed, targets whose status changed.

A version is a layers folder, a git revision of the repository's ``layers/`` (``HEAD~1``,
``v1.0``, a commit), or a GeoPackage written by ``gis export``.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from gis import settings
from gis.crs import AREA_CRS
from gis.errors import InputError, InputFileError
from gis.export import TARGETS_TABLE
from gis.pipeline import run_check
from gis.read import default_targets_path, source_files

#: Two shapes of a feature are the same when every vertex of one lies within this many metres of
#: the other's (EPSG:4547), whatever the rings' orientation or first vertex (a Shapefile reverses
#: rings): about what a layer file's 6 decimals of a degree keep.
SAME_SHAPE_M = 0.02

_FILES = (*(f"{n}.geojson" for n in settings.LAYER_NAMES), "districts.geojson", "targets.csv")


@dataclass
class Version:
    """One side of a comparison: its features (fid, layer, name_zh, area_ha, attributes, ``shape`` in EPSG:4547) and target statuses."""

    label: str
    features: pd.DataFrame
    statuses: pd.Series  # target_id -> status


def load_version(spec: str, *, repo: Path | None = None) -> Version:
    """Load a version from a folder, a GeoPackage or a git revision of ``layers/``."""
    path = Path(spec)
    if path.is_dir():
        return _from_check(spec, path)
    if path.suffix.lower() == ".gpkg":
        if not path.is_file():
            raise InputFileError(f"{path}: no such GeoPackage.")
        return _from_gpkg(path)
    return _from_git(spec, repo or Path.cwd())


def version_inputs(spec: str, *, what: str = "a version") -> list[tuple[Path, str]]:
    """Return the files :func:`load_version` reads for ``spec`` (none for a git revision), each with what it is."""
    path = Path(spec)
    if path.is_dir():
        return [
            (p, f"{role} of {what}")
            for p, role in (*source_files(path), (default_targets_path(path), "the targets table"))
        ]
    if path.suffix.lower() == ".gpkg":
        return [(path, f"the GeoPackage of {what}")]
    return []


def _from_check(label: str, layers_dir: Path) -> Version:
    run = run_check(layers_dir=layers_dir, missing_ok=True)  # a deleted feature is what a diff reports
    cols = ["fid", "layer", "name_zh", "area_ha", *[f for f in settings.FEATURE_FIELDS if f not in ("fid", "name_zh")]]
    features = pd.DataFrame(run.features[cols]).assign(shape=run.features.geometry.to_crs(AREA_CRS).to_numpy())
    return Version(label, features, run.results.set_index("target_id")["status"])


def _from_gpkg(path: Path) -> Version:
    frames = []
    try:
        for name in settings.LAYER_NAMES:
            gdf = pyogrio.read_dataframe(path, layer=name)
            gdf = gdf.rename(columns={"feature_id": "fid"})
            gdf["layer"] = name
            gdf["shape"] = gdf.geometry.to_crs(AREA_CRS).to_numpy()
            frames.append(pd.DataFrame(gdf.drop(columns="geometry")))
        targets = pyogrio.read_dataframe(path, layer=TARGETS_TABLE, read_geometry=False)
    except Exception as exc:
        raise InputFileError(f"{path}: is not a GeoPackage written by gis export ({exc}).") from exc
    features = pd.concat(frames, ignore_index=True)
    return Version(path.name, features, targets.set_index("target_id")["status"])


def _from_git(rev: str, repo: Path) -> Version:
    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True)

    if git("rev-parse", "--git-dir").returncode != 0:
        raise InputError(
            f"{rev!r} is not a folder or a GeoPackage, and {repo} is not inside a git repository "
            "to read it as a revision from. Run gis diff from the repository's folder."
        )
    if git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode != 0:
        raise InputError(f"{rev!r} is neither a layers folder, a GeoPackage nor a git revision of {repo.name}.")
    with tempfile.TemporaryDirectory(prefix="gis-diff-") as tmp:
        for name in _FILES:
            shown = git("show", f"{rev}:layers/{name}")
            if shown.returncode != 0:
                raise InputError(
                    f"revision {rev} has no layers/{name}: the layers did not exist yet, or lived elsewhere."
                )
            (Path(tmp) / name).write_bytes(shown.stdout)
        return _from_check(rev, Path(tmp))


def diff_versions(old: Version, new: Version) -> dict[str, pd.DataFrame]:
    """Return ``features`` (added, removed, changed with area delta and changed fields) and ``targets`` (status changed)."""
    a = old.features.set_index("fid")
    b = new.features.set_index("fid")
    compared = [f for f in settings.FEATURE_FIELDS if f != "fid" and f in a.columns and f in b.columns]
    rows = []

    def row(change: str, fid: str, before: pd.DataFrame | None, after: pd.DataFrame | None, **extra: str) -> None:
        shown = after if after is not None else before
        assert shown is not None
        rows.append(
            {
                "change": change,
                "fid": fid,
                "layer": shown.at[fid, "layer"],
                "name_zh": shown.at[fid, "name_zh"],
                "area_before_ha": before.at[fid, "area_ha"] if before is not None else None,
                "area_after_ha": after.at[fid, "area_ha"] if after is not None else None,
                **extra,
            }
        )

    changed = changed_fields(a, b, compared)
    for fid in sorted(set(a.index) | set(b.index)):
        if fid not in a.index:
            row("added", fid, None, b)
            continue
        if fid not in b.index:
            row("removed", fid, a, None)
            continue
        if fields := changed[fid]:
            row("changed", fid, a, b, fields=", ".join(fields))
    features = pd.DataFrame(
        rows, columns=["change", "fid", "layer", "name_zh", "area_before_ha", "area_after_ha", "fields"]
    )
    features["delta_ha"] = pd.to_numeric(features["area_after_ha"]) - pd.to_numeric(features["area_before_ha"])
    ids = sorted(set(old.statuses.index) | set(new.statuses.index))
    trows = [
        {"target_id": t, "status_before": old.statuses.get(t), "status_after": new.statuses.get(t)}
        for t in ids
        if old.statuses.get(t) != new.statuses.get(t)
    ]
    return {
        "features": features,
        "targets": pd.DataFrame(trows, columns=["target_id", "status_before", "status_after"]),
    }


def changed_fields(before: pd.DataFrame, after: pd.DataFrame, fields: Sequence[str]) -> dict[str, list[str]]:
    """Return what changed of every feature in both versions: the toolkit's one rule of "this feature changed".

    ``before`` and ``after`` are indexed by fid and hold the ``fields`` and a ``shape`` column
    (geometries in EPSG:4547). A feature's list starts with ``geometry`` when its shapes differ
    by more than :data:`SAME_SHAPE_M` (any ring orientation or first vertex), then names each
    field whose value differs (two missing values, None or NaN, are equal); empty when unchanged.
    ``gis diff`` and ``gis import`` both list changes with it.

    Examples
    --------
    >>> from shapely import box
    >>> a = pd.DataFrame({"name_zh": ["公园", "厂区"], "shape": [box(0, 0, 10, 10), box(0, 0, 5, 5)]}, index=["P1", "I1"])
    >>> b = pd.DataFrame({"name_zh": ["公园", "厂区 A"], "shape": [box(0, 0, 10, 10.01), box(0, 0, 5, 6)]}, index=["P1", "I1"])
    >>> changed_fields(a, b, ["name_zh"])
    {'P1': [], 'I1': ['geometry', 'name_zh']}
    """
    both = before.index.intersection(after.index, sort=False)
    old = shapely.normalize(np.asarray(before.loc[both, "shape"], dtype=object))
    new = shapely.normalize(np.asarray(after.loc[both, "shape"], dtype=object))
    moved = ~shapely.equals_exact(old, new, tolerance=SAME_SHAPE_M)
    out: dict[str, list[str]] = {}
    for fid, shape_moved in zip(both, moved.tolist(), strict=True):
        differs = [
            f for f in fields if _differs(before.at[fid, f], after.at[fid, f], number=f in settings.NUMBER_FIELDS)
        ]
        out[str(fid)] = ["geometry", *differs] if shape_moved else differs
    return out


def _differs(x: object, y: object, *, number: bool = False) -> bool:
    """Tell two values apart; a number field's "1000" (a layer file) and 1000.0 (a GeoPackage) are the same."""
    if (x is None or x != x) and (y is None or y != y):  # both missing (None or NaN)
        return False
    if number:
        try:
            return float(str(x)) != float(str(y))
        except ValueError:
            pass
    return bool(x != y)
