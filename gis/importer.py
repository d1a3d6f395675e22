"""Import stage: bring polygons edited in QGIS or drawn in the web map back into a layer.

The incoming file (GeoPackage, GeoJSON or Shapefile) is read in its declared frame (or the one
``--from-crs`` names: WGS-84, GCJ-02 as Amap and the web map's Amap view use, CGCS2000, or an
EPSG code), moved to WGS-84, checked like a shipped layer (schema, geometry, inside its
district, unique fids), compared with the current layer (added, changed with area delta,
removed) and, unless it is a dry run, written to the layer file atomically.

Two imports into one folder of layers cannot lose each other's changes: an import holds the locks
of the folder's layer files (:func:`locked_layers`) from before it reads them until the new file is
in place, and :func:`apply_import` writes a plan only if the layer files are still those it was
made from.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import settings
from gis._atomic import write_text_atomic
from gis._locks import LOCK_WAIT, locked
from gis.crs import AREA_CRS, LAYER_CRS
from gis.diff import changed_fields
from gis.errors import InputError, InputFileError, OutputError
from gis.io.incoming import PRIVATE_COLUMNS, read_incoming
from gis.read import default_targets_path, read_layers, read_targets
from gis.spatial import district_shares
from gis.validate import polygonal, text_column, validate_layer

log = logging.getLogger(__name__)


DECIMALS = 6  # layer files keep 6 decimals (about 0.1 m)


@dataclass
class ImportPlan:
    """What an import would change in one layer."""

    layer: str
    layer_path: Path
    frame: str
    result: gpd.GeoDataFrame
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, float, float, list[str]]] = field(default_factory=list)  # fid, ha before, ha after, fields
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)
    read_state: dict[str, tuple[int, int, int] | None] = field(default_factory=dict)  # the layer files as read


def layer_files(layers_dir: Path) -> list[Path]:
    """Return the thematic layer files of a folder of layers: what an import reads, and one of them it writes."""
    return [Path(layers_dir) / f"{name}.geojson" for name in settings.LAYER_NAMES]


def locked_layers(layers_dir: Path, *, layer: str, wait: float = LOCK_WAIT) -> contextlib.AbstractContextManager[None]:
    """Hold the locks of a folder's layer files for an import into ``layer`` (see :func:`gis._locks.locked`).

    All of them, as the import checks fids across the layers. Plan and apply inside it, so the
    plan is made from the layers as they are when written.
    """
    layers_dir = Path(layers_dir)
    if not layers_dir.is_dir():
        raise InputFileError(
            f"{layers_dir}: gis import writes into a folder of GeoJSON layers (like layers/), and this is no folder. "
            "Point --layers at the folder."
        )
    return locked(layer_files(layers_dir), purpose=f"gis import into layer {layer}", wait=wait)


def _state(paths: list[Path]) -> dict[str, tuple[int, int, int] | None]:
    """Return what identifies each file's present version (an atomic replace makes a new inode)."""
    state: dict[str, tuple[int, int, int] | None] = {}
    for p in paths:
        try:
            st = p.stat()
        except FileNotFoundError:
            state[str(p)] = None
        else:
            state[str(p)] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return state


def layer_file(layers_dir: Path, layer: str) -> Path:
    """Return the file an import into ``layer`` writes."""
    return Path(layers_dir) / f"{layer}.geojson"


def _fill_new_features(
    gdf: gpd.GeoDataFrame, current: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, notes: list[str]
) -> gpd.GeoDataFrame:
    """Complete the incoming features.

    An existing feature keeps its current value of every field the file has no column for (a
    file saved with fewer fields must not wipe provenance). A new feature (a sketch from the web
    map has a fid and a name only) gets its district from its position and is marked as a sketch.
    """
    gdf = gdf.copy()
    present = set(gdf.columns)
    for col in settings.FEATURE_FIELDS:
        if col not in present:
            gdf[col] = None
    gdf["fid"] = text_column(gdf["fid"]).to_numpy()
    known = current.set_index("fid")
    existing = gdf["fid"].isin(known.index)
    for col in settings.FEATURE_FIELDS:
        if col not in present and col != "fid":
            gdf.loc[existing, col] = [known.at[f, col] for f in gdf.loc[existing, "fid"]]
    new = ~existing
    if not new.any():
        return gdf
    placeholders = [f for f in gdf.loc[new, "fid"] if f and str(f).upper().startswith("DRAWN-")]
    if placeholders:
        raise InputError(
            [
                f"feature {f}: its fid is the web map's placeholder; give it a real fid (e.g. LG-PK-07) before importing"
                for f in placeholders
            ]
        )
    gdf["_district_awaits_geometry"] = False
    empty = new & (gdf["district"].isna() | (gdf["district"].astype(str).str.strip() == ""))
    if empty.any():
        bounds = districts.to_crs(AREA_CRS)
        for i in gdf.index[empty]:
            drawn = _drawn_area(gdf.geometry.loc[i])
            if drawn is None:  # the geometry's own finding says what is wrong; the district waits for it
                gdf.loc[i, "_district_awaits_geometry"] = True
                continue
            shares = bounds.geometry.intersection(drawn).area
            if shares.max() > 0:
                gdf.loc[i, "district"] = bounds.loc[shares.idxmax(), "district"]
                notes.append(f"feature {gdf.loc[i, 'fid']}: district {gdf.loc[i, 'district']} taken from its position")
            else:
                raise InputError(
                    f"feature {gdf.loc[i, 'fid']}: lies outside Longgang, Longhua and Pingshan. "
                    "Check the file's frame ({p:from_crs}) or redraw it."
                )
    defaults = {"part": "extent", "accuracy": "sketch", "method": "drawn by hand (sketch), imported with gis import"}
    for col, value in defaults.items():
        missing = new & (gdf[col].isna() | (gdf[col].astype(str).str.strip() == ""))
        if missing.any():
            gdf.loc[missing, col] = value
            notes.append(f"{int(missing.sum())} new feature(s) had no {col}: set to {value!r}")
    return gdf


def _drawn_area(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """Return the area a new feature covers, in EPSG:4547, to take its district from; None when it has none.

    An invalid outline (a bowtie) covers what its repair covers; a missing, empty, non-polygonal or
    non-finite geometry, one outside the three districts' lon/lat range (swapped axes, metres) or one
    of no area covers nothing: the reader's finding about the geometry is the one to fix.
    """
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    coords = shapely.get_coordinates(geom)
    minx, miny, maxx, maxy = settings.LONLAT_BOUNDS
    if not np.isfinite(coords).all() or not (
        (coords[:, 0] >= minx).all()
        and (coords[:, 0] <= maxx).all()
        and (coords[:, 1] >= miny).all()
        and (coords[:, 1] <= maxy).all()
    ):
        return None
    shape = geom if geom.is_valid else polygonal(shapely.make_valid(geom))
    drawn = gpd.GeoSeries([shape], crs=LAYER_CRS).to_crs(AREA_CRS).iloc[0]
    return drawn if drawn.area > 0 else None


def plan_import(
    path: Path,
    *,
    layer: str,
    layers_dir: Path,
    from_crs: str | None = None,
    replace: bool = False,
    encoding: str | None = None,
) -> ImportPlan:
    """Read, check and compare an incoming file with the current layer; change nothing on disk.

    Parameters
    ----------
    replace
        The file is the whole new layer: features it lacks are removed. Default: merge (the
        file's features are added or replace those with the same fid; nothing is removed).
    encoding
        Text encoding of a Shapefile without a ``.cpg`` (e.g. ``gbk``).
    """
    if layer not in settings.LAYER_NAMES:
        raise InputError(f"{{p:layer}} {layer!r} is not a layer; use one of {', '.join(settings.LAYER_NAMES)}.")
    layers_dir = Path(layers_dir)
    read_state = _state(layer_files(layers_dir))  # before reading: a file replaced meanwhile looks changed
    layers = read_layers(layers_dir)
    current = layers[layer]
    notes: list[str] = []
    incoming, frame = read_incoming(path, layer=layer, from_crs=from_crs, encoding=encoding, notes=notes)
    computed = _status_problems(incoming, str(path), layer)
    incoming = _fill_new_features(incoming, current, layers["districts"], notes)
    if path.suffix.lower() == ".shp":
        incoming = _keep_cut_text(incoming, current, notes)
    try:
        result = validate_layer(_merge(current, incoming, replace=replace), source=str(path), layer=layer)
    except InputError as exc:  # every problem of the file at once
        raise InputError([*computed, *exc.raw]) from None
    problems = computed + _district_problems(result, layers["districts"], str(path), layer)
    other = {fid: name for name in settings.LAYER_NAMES if name != layer for fid in layers[name]["fid"]}
    problems += [
        f"{path}: layer {layer}, feature {fid}: fid {fid} is already used in layer {other[fid]}. Give it another fid."
        for fid in result["fid"].dropna()
        if fid in other
    ]
    problems += _target_problems(layers_dir, set(other) | set(result["fid"].dropna()), layer)
    if problems:
        raise InputError(problems)
    plan = ImportPlan(layer, layer_file(layers_dir, layer), frame, result, notes=notes, read_state=read_state)
    _diff(plan, current, result)
    return plan


def _status_problems(incoming: gpd.GeoDataFrame, source: str, layer: str) -> list[str]:
    """Refuse a ``status`` that is no status: the check computes it, so such a value was typed in (QGIS ...).

    The computed fields are never imported; a known status, edited or not, is left alone.
    """
    if "status" not in incoming.columns:
        return []
    status = text_column(incoming["status"])
    bad = (status.notna() & ~status.isin(settings.STATUSES)).to_numpy()
    fids = text_column(incoming["fid"]) if "fid" in incoming.columns else pd.Series([None] * len(incoming))
    return [
        f"{source}: layer {layer}, feature {fid or f'#{no}'}: field status is "
        f"{value!r}, not one of {', '.join(settings.STATUSES)}. The status is computed by gis check and never "
        "imported: undo the edit, or leave the field out of the file."
        for fid, no, value in zip(
            fids.to_numpy()[bad], incoming["_feature_no"].to_numpy()[bad], status.to_numpy()[bad], strict=True
        )
    ]


def _keep_cut_text(incoming: gpd.GeoDataFrame, current: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Keep full text where a .dbf cut it: a value that is the start of the current one was cut (254 bytes), not edited."""
    known = current.set_index("fid")
    kept = 0
    for i, row in incoming.iterrows():
        if row["fid"] not in known.index:
            continue
        for col in settings.FEATURE_FIELDS[1:]:  # all but fid
            new, old = row[col], known.at[row["fid"], col]
            if (
                isinstance(new, str)
                and isinstance(old, str)
                and new != old
                and old.startswith(new)
                and len(old.encode("utf-8")) > 250
            ):
                incoming.at[i, col] = old
                kept += 1
    if kept:
        notes.append(f"{kept} text value(s) cut to the Shapefile's 254 bytes were kept in full from the current layer")
    return incoming


def _target_problems(layers_dir: Path, fids_after: set[str], layer: str) -> list[str]:
    """Refuse an import after which targets.csv would name a feature that is gone."""
    path = default_targets_path(layers_dir)
    if not path.is_file():
        return []
    targets = read_targets(path)  # read and validated as gis check reads it: a broken table is named, not guessed at
    gone = targets[targets["fid"].notna() & ~targets["fid"].isin(fids_after)]
    return [
        f"{path}: target {r.target_id} names fid {r.fid}, which the import removes from layer {layer}. "
        "Keep the feature, or change the target first."
        for r in gone.itertuples(index=False)
    ]


def _merge(current: gpd.GeoDataFrame, incoming: gpd.GeoDataFrame, *, replace: bool) -> gpd.GeoDataFrame:
    """Return the layer after the import: current order kept, updated features in place, new ones at the end."""
    cols = [*settings.FEATURE_FIELDS, *PRIVATE_COLUMNS, "geometry"]
    inc = gpd.GeoDataFrame(incoming.reindex(columns=cols), geometry="geometry", crs=LAYER_CRS)
    if replace:
        return inc
    cur = gpd.GeoDataFrame(current.reindex(columns=cols), geometry="geometry", crs=LAYER_CRS)
    by_fid = {fid: i for i, fid in enumerate(inc["fid"]) if fid is not None}
    rows = [inc.iloc[by_fid[fid]] if fid in by_fid else cur.iloc[i] for i, fid in enumerate(cur["fid"])]
    rows += [inc.iloc[i] for i, fid in enumerate(inc["fid"]) if fid not in set(cur["fid"])]
    return gpd.GeoDataFrame(pd.DataFrame(rows).reset_index(drop=True), geometry="geometry", crs=LAYER_CRS)


def _district_problems(gdf: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, source: str, layer: str) -> list[str]:
    shares = district_shares(gdf, districts)
    return [
        f"{source}: layer {layer}, feature {row['fid']}: only {shares.loc[i]:.1f} % of it lies inside district "
        f"{row['district']}. Redraw it inside the district, correct field district, or check the frame ({{p:from_crs}})."
        for i, row in gdf[shares < settings.WITHIN_PARENT_PCT].iterrows()
    ]


def _diff(plan: ImportPlan, current: gpd.GeoDataFrame, result: gpd.GeoDataFrame) -> None:
    before = current.set_index("fid")
    after = result.set_index("fid")
    shapes_before = before.geometry.to_crs(AREA_CRS)
    shapes_after = after.geometry.to_crs(AREA_CRS)
    fields = [f for f in settings.FEATURE_FIELDS if f != "fid"]
    changed = changed_fields(
        before.assign(shape=shapes_before.to_numpy()), after.assign(shape=shapes_after.to_numpy()), fields
    )
    for fid in after.index:
        if fid not in before.index:
            plan.added.append(fid)
        elif what := changed[fid]:
            plan.changed.append((fid, float(shapes_before[fid].area / 1e4), float(shapes_after[fid].area / 1e4), what))
        else:
            plan.unchanged += 1
    plan.removed = [fid for fid in before.index if fid not in after.index]


def _rounded(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.round(xy, DECIMALS))


def _number(value: Any) -> Any:
    """Return a number field's text as a JSON number (1000, 114.087), as the layer files hold them; other text as it is."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if number != number:  # NaN: missing
        return None
    return int(number) if number.is_integer() else number


def layer_geojson(gdf: gpd.GeoDataFrame, *, name: str) -> str:
    """Return a layer as the toolkit writes layer files: RFC 7946, one feature per line, 6 decimals."""
    lines = []
    for row in gdf.itertuples(index=False):
        props: dict[str, Any] = {f: getattr(row, f) for f in settings.FEATURE_FIELDS}
        props.update({f: _number(props[f]) for f in settings.NUMBER_FIELDS})
        geom = shapely.geometry.mapping(_rounded(row.geometry))
        feature = {"type": "Feature", "properties": props, "geometry": geom}
        lines.append(json.dumps(feature, ensure_ascii=False))
    return (
        '{"type": "FeatureCollection", "name": ' + json.dumps(name) + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"
    )


def apply_import(plan: ImportPlan, *, wait: float = LOCK_WAIT) -> Path | None:
    """Write the layer file of a plan atomically; None when nothing changes (the file is left alone).

    Under the layers' locks (:func:`locked_layers`, waiting up to ``wait`` seconds for another
    import), and only if the layer files are still those the plan was made from.

    Raises
    ------
    OutputError
        Another writer changed a layer file since the plan was made (nothing is written: plan
        again), or still holds the lock after ``wait`` seconds.
    """
    if not (plan.added or plan.changed or plan.removed):
        return None
    layers_dir = plan.layer_path.parent
    with locked_layers(layers_dir, layer=plan.layer, wait=wait):
        now = _state(layer_files(layers_dir))
        changed = [p for p, state in plan.read_state.items() if now.get(p) != state]
        if changed:
            raise OutputError(
                f"{', '.join(changed)}: changed since the import read it (another writer); "
                "nothing was written. Run the import again."
            )
        write_text_atomic(plan.layer_path, layer_geojson(plan.result, name=plan.layer))
    return plan.layer_path
