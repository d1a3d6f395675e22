"""The land-use and control-line layers of a gis export brought back after an edit (in QGIS): read as they were written.

``gis import planning.gpkg --layer landuse`` reads the GeoPackage's ``landuse`` layer (of a file of
several layers, the one of that name) in the form the export writes it (:data:`EXPORT_SCHEMA`:
``parcel_id``, ``code``, its system in ``code_system``, ``official_ha``); what the export leaves
out (the official area's kind, 坐落单位代码, the delivery's schema and file, its extra fields) is kept
from the stored layer for every parcel it holds. An edit cannot bring in a code that is no code of
the layer's system: such a code is refused (file, layer, parcels, field), unless the stored layer
already gives the parcel that code (an office's delivery may hold unknown codes: the QA warns of them).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio

from gis import settings
from gis.codes import code_list
from gis.delivery_fields import SHOWN, TEXT, as_text, listed
from gis.errors import InputError
from gis.io.delivery import Delivery
from gis.io.schemas import Schema, find_column

#: The land-use layer as gis export writes it; its code system comes from the field ``code_system``.
EXPORT_SCHEMA = Schema(
    name="gis",
    title="the landuse layer of a gis export",
    code_system="",
    fields={"id": "parcel_id", "code": "code", "name": "code_name", "official_area": "official_ha"},
    detect=("parcel_id", "code", "code_system", "land_class"),
    official_area_unit="ha",
)
#: Fields of the stored layer an export leaves out: kept for the parcels the stored layer holds.
KEPT_FIELDS: tuple[str, ...] = ("official_kind", "admin_code", "schema", "source_file")


def named_layer(path: Path, name: str, source_layer: str | None) -> str | None:
    """Return the layer to read: ``source_layer``; else, of a GeoPackage of several spatial layers (a gis export), ``name``."""
    if source_layer is not None or Path(path).suffix.lower() != ".gpkg":
        return source_layer
    with contextlib.suppress(Exception):  # a file that cannot be listed: the reader says why
        names = [str(n) for n, geom in pyogrio.list_layers(path) if geom]
        if len(names) > 1 and name in names:
            return name
    return None


def is_export(fields: list[str], schema: str) -> bool:
    """Return True for the land-use layer of a gis export read with ``--schema auto``."""
    return schema == "auto" and all(find_column(fields, f) for f in EXPORT_SCHEMA.detect)


def layer_name(delivery: Delivery) -> str:
    """Return the layer a delivery was read from, as messages name it (a file of one layer: its name)."""
    return delivery.source_layer or delivery.path.stem


def export_system(delivery: Delivery) -> str:
    """Return the one code system of an exported land-use layer (its field ``code_system``), checked."""
    column = find_column(delivery.gdf.columns, "code_system")
    values = sorted({str(v) for v in as_text(delivery.gdf[column]).dropna().unique()}) if column else []
    if len(values) != 1 or values[0] not in settings.CODE_SYSTEMS:
        raise InputError(
            f"{delivery.path}: layer {layer_name(delivery)}, field code_system: holds "
            f"{', '.join(map(repr, values)) or 'nothing'}, where the layer has one code system "
            f"({', '.join(settings.CODE_SYSTEMS)}). Restore the field as exported."
        )
    return values[0]


def read_stored(path: Path) -> pd.DataFrame | None:
    """Return the stored land-use layer's fields (no geometry), indexed by ``parcel_id``; None when there is none."""
    if not path.is_file():
        return None
    names = [n for n in pq.read_schema(path).names if n != "geometry"]
    table = pd.read_parquet(path, columns=names)
    return table.set_index(as_text(table["parcel_id"]).to_numpy())


def edited_codes(result: pd.DataFrame, stored: pd.DataFrame | None, delivery: Delivery, system: str) -> None:
    """Refuse codes that are no codes of ``system`` unless the stored layer gives the parcel the same code.

    Raises
    ------
    InputError
        Naming the file, the layer, the field and the parcels with their codes.
    """
    known = code_list(system).table.index
    codes = result["code"]
    unknown = ~codes.isin(known).to_numpy(dtype=bool)
    if stored is not None and unknown.any():
        before = pd.Series(stored["code"].astype(object).to_numpy(), index=stored.index)
        had = result["parcel_id"].map(before).astype(object).to_numpy()
        unknown &= ~(had == codes.astype(object).to_numpy())
    if not unknown.any():
        return
    rows = np.flatnonzero(unknown)
    shown = [f"parcel {result['parcel_id'].iloc[i]} ({codes.iloc[i]!r})" for i in rows[:SHOWN]]
    raise InputError(
        f"{delivery.path}: layer {layer_name(delivery)}, field code: {len(rows)} parcel(s) with a code that is no "
        f"code of {system} ({settings.CODE_SYSTEMS[system]}): {listed(shown, len(rows))}. Pick the code from the "
        f"drop-down in QGIS (the field domain landuse_code_{system} lists them), or restore the parcel's code."
    )


def keep_stored(result: pd.DataFrame, stored: pd.DataFrame | None) -> pd.DataFrame:
    """Return the parcels with what the export left out taken from the stored layer, parcel by parcel.

    :data:`KEPT_FIELDS` and the delivery's extra fields (三调 KCMJ ...) come from the stored layer
    where it holds the parcel; so does ``code_name`` (read-only in QGIS) where the code is the stored
    one, while an edited code takes its name from the code list (none given).
    """
    out = result.copy()
    if stored is None:
        return out
    rows = stored.reindex(out["parcel_id"].to_numpy()).reset_index(drop=True)
    held = rows["parcel_id"].notna().to_numpy()
    same = held & (rows["code"].astype(object).to_numpy() == out["code"].astype(object).to_numpy())
    extras = [c for c in stored.columns if c not in out.columns]
    for name, where in [*((n, held) for n in KEPT_FIELDS), ("code_name", same), *((n, held) for n in extras)]:
        if name not in rows.columns:
            continue
        if name in out.columns:
            out[name] = out[name].where(~where, rows[name].astype(out[name].dtype))
        else:
            out[name] = rows[name].where(where)
    edited = held & ~same
    out["code_name"] = out["code_name"].where(~edited, pd.NA).astype(TEXT)
    return out
