"""Import of control lines (工业区块线, 生态保护红线, 永久基本农田, 城镇开发边界 ...) into ``layers/control_lines.parquet``.

Every polygon of the file is of the kind ``--kind`` names, or of the kind its field ``kind`` gives.
The file's kinds replace the same kinds already stored and leave the others: importing the block line
does not remove the red line.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis import settings
from gis.crs import AREA_CRS
from gis.delivery_fields import SHOWN, TEXT, as_text, clean_geometry, keep_inside, listed, parcel_ids, row_names
from gis.errors import InputError, InputFileError
from gis.io.delivery import Delivery, read_delivery
from gis.io.schemas import find_column
from gis.land_edits import layer_name, named_layer
from gis.land_import import DeliveryPlan, file_state, refuse_other_formats

log = logging.getLogger(__name__)

#: The columns of the stored control-line layer, in order (then geometry).
CONTROL_COLUMNS: tuple[str, ...] = ("line_id", "kind", "name_zh", "district")


def _kinds(delivery: Delivery, ids: pd.Series, kind: str | None, notes: list[str]) -> pd.Series:
    """Return each polygon's kind: ``kind`` for all, else the file's field ``kind`` (checked; a wrong one named by id)."""
    path, gdf = delivery.path, delivery.gdf.reset_index(drop=True)
    column = find_column(gdf.columns, "kind")
    if kind is not None:
        if kind not in settings.CONTROL_KINDS:
            raise InputError(
                f"{{p:kind}} {kind!r} is not a control kind; use one of {', '.join(settings.CONTROL_KINDS)}."
            )
        if column is not None:
            notes.append(f"field {column} ignored: every polygon is {kind}, as {{p:kind}} says")
        return pd.Series(kind, index=range(len(gdf)), dtype=TEXT)
    if column is None:
        raise InputError(
            f"{path}: says of no polygon what control line it is. Pass {{p:kind}} "
            f"({', '.join(settings.CONTROL_KINDS)}), or give the file a field kind."
        )
    kinds = as_text(gdf[column])
    wrong = (~kinds.isin(list(settings.CONTROL_KINDS))).fillna(True).to_numpy(dtype=bool)
    if wrong.any():
        values = kinds[wrong].head(SHOWN).astype(object).fillna("(empty)")
        shown = [f"{name} ({value!r})" for name, value in zip(row_names(ids, wrong), values, strict=True)]
        raise InputError(
            f"{path}: layer {layer_name(delivery)}, field {column}: {int(wrong.sum())} feature(s) of no known kind: "
            f"{listed(shown, int(wrong.sum()))}. Use one of {', '.join(settings.CONTROL_KINDS)} "
            "(the drop-down in QGIS offers them), or pass {p:kind} for every polygon of the file."
        )
    return kinds


def plan_control_import(
    path: Path,
    *,
    layers_dir: Path,
    kind: str | None = None,
    from_crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
) -> DeliveryPlan:
    """Read control lines and merge them into the stored layer (their kinds replaced); change nothing on disk."""
    layers_dir = Path(layers_dir)
    output = layers_dir / "control_lines.parquet"
    refuse_other_formats(layers_dir, "control_lines")
    read_state = file_state(output)
    source_layer = named_layer(path, "control_lines", source_layer)
    delivery = read_delivery(
        path,
        source_layer=source_layer,
        encoding=encoding,
        from_crs=from_crs,
        select=lambda fields: [c for c in (find_column(fields, f) for f in ("line_id", "kind", "name_zh")) if c],
    )
    gdf = delivery.gdf.reset_index(drop=True)
    notes, warnings = list(delivery.notes), list[str]()
    id_col = find_column(gdf.columns, "line_id")
    ids = parcel_ids(delivery, id_col, prefix=kind or "line", notes=notes, what="polygon")
    kinds = _kinds(delivery, ids, kind, notes)
    geoms = clean_geometry(delivery, ids, what="polygon", warnings=warnings)
    name_col = find_column(gdf.columns, "name_zh")
    default_names = kinds.map({k: zh for k, (zh, _en) in settings.CONTROL_KINDS.items()}).astype(TEXT)
    names = as_text(gdf[name_col]).fillna(default_names) if name_col else default_names
    result = pd.DataFrame({"line_id": ids, "kind": kinds, "name_zh": names})
    result, geoms, left_out = keep_inside(result, geoms, layers_dir, path=delivery.path, what="polygon", notes=notes)
    new = gpd.GeoDataFrame(result[list(CONTROL_COLUMNS)], geometry=geoms, crs=AREA_CRS)
    replaced = sorted(set(new["kind"]))
    kept = 0
    if output.exists():
        try:
            stored = gpd.read_parquet(output).to_crs(AREA_CRS)
        except Exception as exc:
            raise InputFileError(
                f"{output}: the stored control lines cannot be read ({exc}); nothing was written. "
                "Restore the file or remove it."
            ) from exc
        others = stored[~stored["kind"].isin(replaced)]
        clash = others["line_id"].isin(new["line_id"]).to_numpy()
        if clash.any():
            raise InputError(
                f"{delivery.path}: line_id(s) {listed(others.loc[clash, 'line_id'].tolist())} are already used by "
                f"control lines of other kinds in {output.name}. Give them other ids."
            )
        gone = int(len(stored) - len(others))
        kept = len(others)
        if gone:
            notes.append(
                f"{gone} stored control line(s) of kind {', '.join(replaced)} replaced; {kept} of other kinds kept"
            )
        new = gpd.GeoDataFrame(
            pd.concat([others.reindex(columns=[*CONTROL_COLUMNS, "geometry"]), new], ignore_index=True),
            geometry="geometry",
            crs=AREA_CRS,
        )
    for col in CONTROL_COLUMNS:
        new[col] = new[col].astype(TEXT)
    return DeliveryPlan(
        "control_lines",
        output,
        new,
        delivery,
        left_out=left_out,
        notes=notes,
        warnings=warnings,
        kept=kept,
        read_state=read_state,
    )
