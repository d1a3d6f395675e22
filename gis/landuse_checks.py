"""The checks of a land-use layer's fields as read_landuse makes them: on a pandas frame or on the Arrow table.

Each problem names the file, the field and the parcels (their ids, five of them and how many more);
every problem is raised at once (:class:`gis.errors.InputError`). On the Arrow table
(:func:`arrow_landuse`, what ``gis import`` writes) the checks run on the dictionary-encoded columns:
no pandas column built, each distinct code and district handled once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gis import settings
from gis._fast.geoarrow import categorical, increasing, no_repeats, stripped_dictionary, stripped_text
from gis.errors import InputError

#: Fields a land-use layer must have.
LANDUSE_REQUIRED: tuple[str, ...] = ("parcel_id", "code", "code_system", "district")


def parcel_ids(values: pd.Series, mask: np.ndarray, limit: int = 5) -> str:
    """Return the first ``limit`` values where ``mask`` holds, comma-separated (and how many more)."""
    ids = ["None" if pd.isna(v) else str(v) for v in values[mask].head(limit)]
    more = int(mask.sum()) - len(ids)
    return ", ".join(ids) + (f" and {more} more" if more > 0 else "")


def arrow_landuse(
    table: pa.Table, where: str, empty_geometry: Callable[[], np.ndarray]
) -> tuple[str, dict[str, Any]] | None:
    """Check the fields read_landuse requires on the Arrow table (as :func:`check_frame`); return the code system and keys.

    None when ``parcel_id`` is not text or ``code`` and ``district`` are not dictionary-encoded text
    (checked in pandas then).
    """
    _require(table.column_names, where)
    text = (pa.types.is_string, pa.types.is_large_string)
    raw_ids = table.column("parcel_id")
    if not any(t(raw_ids.type) for t in text) or not all(
        pa.types.is_dictionary(table.column(c).type) and any(t(table.column(c).type.value_type) for t in text)
        for c in ("code", "district")
    ):
        return None
    systems = sorted({str(v) for v in pc.unique(table.column("code_system")).to_pylist() if v is not None})
    ids = stripped_text(raw_ids)
    code = categorical(stripped_dictionary(table.column("code")))
    district = categorical(stripped_dictionary(table.column("district")))

    def series() -> pd.Series:
        return pd.Series(ids.to_pandas(), dtype="str")

    unique = increasing(ids) or no_repeats(series())
    bad_entry = np.append(~np.isin(np.asarray(district.categories, dtype=object), list(settings.DISTRICTS)), True)
    _raise_problems(
        where,
        systems,
        {
            "parcel_id": ids.is_null().to_numpy(zero_copy_only=False) if ids.null_count else np.zeros(len(ids), bool),
            "code": np.asarray(code.codes) < 0,
        },
        series,
        unique,
        bad_entry[district.codes],
        empty_geometry,
    )
    system = systems[0]
    keys: dict[str, Any] = {
        "district": district,
        "code": code,
    }
    if "official_m2" not in table.column_names:
        keys["official_m2"] = np.full(len(ids), np.nan)
    elif pa.types.is_floating(table.column("official_m2").type) or pa.types.is_integer(
        table.column("official_m2").type
    ):
        keys["official_m2"] = np.asarray(table.column("official_m2").to_numpy(), dtype=float)
    else:
        keys["official_m2"] = pd.to_numeric(table.column("official_m2").to_pandas(), errors="coerce").to_numpy(
            dtype=float
        )
    return system, keys


def _require(columns: Any, where: str) -> None:
    missing = [c for c in LANDUSE_REQUIRED if c not in columns]
    if missing:
        raise InputError(
            f"{where} lacks the field(s) {', '.join(missing)}. Import the delivery with "
            "gis import FILE --layer landuse, which maps its fields (三调 DLBM, 控规 YDXZ ...) to these."
        )


def check_frame(gdf: pd.DataFrame, where: str, empty_geometry: Callable[[], np.ndarray]) -> None:
    """Check the fields read_landuse requires (its text columns stripped in place); raise every problem at once."""
    _require(gdf.columns, where)
    systems = sorted({str(v) for v in gdf["code_system"].dropna().unique()})
    for column in ("parcel_id", "code", "district"):
        # text, stripped, missing kept missing: in Arrow (pandas' str), no Python string per row (stripped
        # already when read by pyarrow)
        if gdf.attrs.get("stripped") is None:
            gdf[column] = gdf[column].astype("str").str.strip()
    ids = gdf["parcel_id"]
    _raise_problems(
        where,
        systems,
        {column: gdf[column].isna().to_numpy() for column in ("parcel_id", "code")},
        lambda: ids,
        no_repeats(ids),
        ~gdf["district"].isin(list(settings.DISTRICTS)).to_numpy(),
        empty_geometry,
    )
    gdf.attrs["code_system"] = systems[0]


def _raise_problems(
    where: str,
    systems: list[str],
    empty: dict[str, np.ndarray],
    ids: Callable[[], pd.Series],
    unique: bool,
    bad_district: np.ndarray,
    empty_geometry: Callable[[], np.ndarray],
) -> None:
    """Raise every problem of the checked fields at once (the parcel ids, ``ids()``, built only to name them)."""
    problems: list[str] = []
    if len(systems) != 1 or systems[0] not in settings.CODE_SYSTEMS:
        problems.append(
            f"{where}: field code_system holds {systems or 'nothing'}; a layer has one code system, one of "
            f"{', '.join(settings.CODE_SYSTEMS)}. Import each delivery with its own schema."
        )
    for column, blank in empty.items():
        if blank.any():
            problems.append(
                f"{where}: field {column} is empty on {int(blank.sum())} parcel(s) (rows {parcel_ids(pd.Series(np.flatnonzero(blank) + 1), np.ones(int(blank.sum()), bool))}). Fill it in."
            )
    if not unique:  # which ones repeat, only when some do
        values = ids()
        dup = values.duplicated(keep=False).to_numpy() & values.notna().to_numpy()
        problems.append(
            f"{where}: field parcel_id repeats on parcels {parcel_ids(values, dup)}. Give each parcel its own id."
        )
    if bad_district.any():
        problems.append(
            f"{where}: field district is not one of {', '.join(settings.DISTRICTS)} on parcels "
            f"{parcel_ids(ids(), bad_district)}. Import with gis import, which places each parcel in its district."
        )
    empty_geom = empty_geometry()
    if empty_geom.any():
        problems.append(f"{where}: parcels {parcel_ids(ids(), empty_geom)} have no geometry. Draw them or remove them.")
    if problems:
        raise InputError(problems)
