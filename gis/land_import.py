"""Import of a land-use delivery into ``layers/landuse.parquet`` (GeoParquet, EPSG:4547), written atomically.

The delivery is read by :mod:`gis.io.delivery` and mapped by its schema (:mod:`gis.io.schemas`)
onto the stored land-use layer's columns.

Every step is vectorised (no Python loop over parcels): a million parcels import in seconds. Ids,
codes and geometries that cannot be stored are refused, every problem at once, each in one line
naming the file, the field and the parcels; what the import decided for the user (the schema, the
frame, the encoding, ids generated, polygons repaired, parcels outside the three districts left out,
a 坐落单位代码 that disagrees with the parcel's place) is said in its notes and warnings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import settings
from gis._atomic import atomic_path
from gis._locks import LOCK_WAIT, locked
from gis.crs import AREA_CRS
from gis.delivery_fields import (
    SHOWN,
    TEXT,
    as_text,
    clean_geometry,
    keep_inside,
    land_codes,
    listed,
    parcel_ids,
    synthetic_flags,
)
from gis.errors import InputError, OutputError
from gis.io.delivery import Delivery, read_delivery
from gis.io.schemas import AREA_UNITS_M2, Schema, find_column, pick_schema
from gis.land_edits import EXPORT_SCHEMA, edited_codes, export_system, is_export, keep_stored, named_layer, read_stored
from gis.landuse import LANDUSE_FIELDS, LAYER_SUFFIXES
from gis.progress import stage

log = logging.getLogger(__name__)

#: The columns of the stored land-use layer, in order (the schema's extras follow, then geometry).
LANDUSE_COLUMNS = LANDUSE_FIELDS
#: The other formats a layer may be stored in beside ``.parquet`` (the reader takes them too).
OTHER_SUFFIXES: tuple[str, ...] = tuple(s for s in LAYER_SUFFIXES if s != ".parquet")


@dataclass
class DeliveryPlan:
    """What an import of a delivery would write."""

    layer: str  # landuse | control_lines
    output: Path
    result: gpd.GeoDataFrame
    delivery: Delivery
    schema: str | None = None
    left_out: int = 0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kept: int = 0  # control lines of other kinds kept from the stored layer
    read_state: tuple[int, int, int] | None = None

    def per_district(self) -> dict[str, int]:
        """Return how many features each district gets."""
        counts = self.result["district"].value_counts()
        return {d: int(counts.get(d, 0)) for d in settings.DISTRICTS}


def _admin_check(result: pd.DataFrame, column: str, warnings: list[str]) -> None:
    admin = result["admin_code"]
    wrong = (admin.str[:6] != result["district"]).fillna(False).to_numpy(dtype=bool)
    if wrong.any():
        shown = [
            f"{r.parcel_id} ({column} {r.admin_code}, lies in {r.district})"
            for r in result[wrong].head(SHOWN).itertuples()
        ]
        warnings.append(
            f"{int(wrong.sum())} parcel(s) whose {column} does not start with the code of the district they lie in: "
            f"{listed(shown, int(wrong.sum()))}; the district is taken from their place"
        )


def plan_landuse_import(
    path: Path,
    *,
    layers_dir: Path,
    schema: str = "auto",
    from_crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
) -> DeliveryPlan:
    """Read a land-use delivery and map it onto the stored layer; change nothing on disk.

    Parameters
    ----------
    schema
        ``auto`` (the shipped schema whose detect fields the file has, or the landuse layer of a gis
        export: :mod:`gis.land_edits`), ``sandiao``, ``kongui``, ``yongdi`` or a schema TOML file.
    """
    layers_dir = Path(layers_dir)
    output = layers_dir / "landuse.parquet"
    refuse_other_formats(layers_dir, "landuse")
    picked: list[tuple[Schema, str | None]] = []

    def select(fields: list[str]) -> list[str]:
        chosen, _said = (
            (EXPORT_SCHEMA, "the landuse layer of a gis export: its fields as the export wrote them")
            if is_export(fields, schema)  # edited in QGIS and brought back
            else pick_schema(schema, fields, where=str(path))
        )
        picked.append((chosen, _said))
        absent = [
            chosen.fields[r]
            for r in ("id", "code")
            if chosen.field(r) and not find_column(fields, chosen.field(r)) and r not in chosen.optional
        ]
        if absent:
            raise InputError(
                f"{path}: has no field {' or '.join(absent)}, which schema {chosen.name} needs "
                f"(its fields: {', '.join(fields)}). "
                "Pass {p:schema} with the schema it follows, or a schema file naming its fields."
            )
        wanted = [*chosen.fields.values(), *chosen.extras, "synthetic"]
        wanted += ["code_system", "source_file"] if chosen is EXPORT_SCHEMA else []
        return list(dict.fromkeys(c for c in (find_column(fields, f) for f in wanted) if c))

    source_layer = named_layer(path, "landuse", source_layer)
    delivery = read_delivery(path, source_layer=source_layer, encoding=encoding, from_crs=from_crs, select=select)
    gdf = delivery.gdf
    importing = stage("importing", total=3, size=len(gdf), unit="steps")  # ids and codes, outlines, districts
    chosen, said = picked[0]
    exported = chosen is EXPORT_SCHEMA
    if exported:
        chosen = dataclasses.replace(chosen, code_system=export_system(delivery))
    notes = ([said] if said else []) + delivery.notes
    warnings: list[str] = []
    roles = ("id", "code", "name", "admin", "official_area")
    col = {role: find_column(gdf.columns, chosen.field(role)) for role in roles}
    code_col = col["code"]
    assert code_col is not None
    ids = parcel_ids(delivery, col["id"], prefix=chosen.name, notes=notes, what="parcel")
    codes = land_codes(delivery, code_col, ids, chosen)
    importing.advance()
    geoms = clean_geometry(delivery, ids, what="parcel", warnings=warnings)
    importing.advance()
    plain = gdf.reset_index(drop=True)
    none = pd.Series(pd.NA, index=ids.index, dtype=TEXT)
    area = col["official_area"]
    official = pd.to_numeric(plain[area], errors="coerce") * AREA_UNITS_M2[chosen.official_area_unit] if area else None
    result = pd.DataFrame(
        {
            "parcel_id": ids,
            "code": codes,
            "code_system": pd.Series(chosen.code_system, index=ids.index, dtype=TEXT),
            "code_name": as_text(plain[col["name"]]) if col["name"] else none,
            "official_m2": official.astype(float) if official is not None else np.nan,
            "official_kind": pd.Series(chosen.official_area_kind if area else pd.NA, index=ids.index, dtype=TEXT),
            "admin_code": as_text(plain[col["admin"]]) if col["admin"] else none,
            "schema": pd.Series(chosen.name, index=ids.index, dtype=TEXT),
            "source_file": pd.Series(delivery.path.name, index=ids.index, dtype=TEXT),
            "synthetic": synthetic_flags(plain),
        }
    )
    for extra in chosen.extras:
        if found := find_column(gdf.columns, extra):
            result[extra] = plain[found].to_numpy()
    if exported:  # an edited export: no code it did not hold before, the fields it left out kept
        stored = read_stored(output)
        edited_codes(result, stored, delivery, chosen.code_system)
        if found := find_column(gdf.columns, "source_file"):
            result["source_file"] = as_text(plain[found]).fillna(delivery.path.name)
        result = keep_stored(result, stored)
    result, geoms, left_out = keep_inside(result, geoms, layers_dir, path=delivery.path, what="parcel", notes=notes)
    importing.advance()
    importing.close()  # on an error before here, the command line clears its bar (gis.cli._progress)
    if col["admin"]:
        _admin_check(result, col["admin"], warnings)
    extras = [c for c in result.columns if c not in LANDUSE_COLUMNS]
    frame = gpd.GeoDataFrame(result[[*LANDUSE_COLUMNS, *extras]], geometry=geoms, crs=AREA_CRS)
    return DeliveryPlan(
        "landuse",
        output,
        frame,
        delivery,
        schema=chosen.name,
        left_out=left_out,
        notes=notes,
        warnings=warnings,
        read_state=file_state(output),
    )


def refuse_other_formats(layers_dir: Path, name: str) -> None:
    """Refuse to write ``name.parquet`` beside the same layer in another format (which would be read?)."""
    if not layers_dir.is_dir():
        raise InputError(
            f"{layers_dir}: no such folder of layers. Point {{p:layers_dir}} at the folder (like layers/)."
        )
    others = [layers_dir / f"{name}{s}" for s in OTHER_SUFFIXES if (layers_dir / f"{name}{s}").exists()]
    if others:
        raise InputError(
            f"{layers_dir}: already holds the {name} layer as {', '.join(p.name for p in others)}; the import writes "
            f"{name}.parquet. Move or remove {others[0].name} first, so that one {name} layer remains."
        )


def file_state(path: Path) -> tuple[int, int, int] | None:
    """Return what identifies a file's present version (an atomic replace makes a new inode), None when missing."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def locked_output(path: Path, *, wait: float = LOCK_WAIT) -> contextlib.AbstractContextManager[None]:
    """Hold the lock of the layer file an import of a delivery writes (from before it reads until it is in place)."""
    return locked([Path(path)], purpose=f"gis import into {Path(path).name}", wait=wait)


def apply_delivery(plan: DeliveryPlan, *, wait: float = LOCK_WAIT) -> Path:
    """Write the plan's layer file (GeoParquet, EPSG:4547, GeoArrow-encoded polygons) atomically, under its lock.

    Raises
    ------
    OutputError
        Another writer replaced the file since the plan was made (nothing is written: plan again),
        or holds the lock after ``wait`` seconds.
    """
    with locked_output(plan.output, wait=wait):
        if file_state(plan.output) != plan.read_state:
            raise OutputError(
                f"{plan.output}: changed since the import read it (another writer); nothing was written. "
                "Run the import again."
            )
        log.info("%s: writing %d features", plan.output, len(plan.result))
        count = len(plan.result)
        with (
            atomic_path(plan.output, suffix=".parquet") as tmp,
            stage("writing land-use layer", total=count) as writing,
        ):
            try:  # polygons GeoArrow-encoded: read_landuse measures them without building geometries
                plan.result.to_parquet(tmp, index=False, geometry_encoding="geoarrow")
            except ValueError:  # a mix of types GeoArrow has no encoding for (a collection among polygons): WKB
                plan.result.to_parquet(tmp, index=False)
            writing.advance(count)
    return plan.output
