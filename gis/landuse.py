"""Land-use parcels and control lines of a layers folder: read, classified, summed per district and class.

The ``landuse`` layer holds an office's parcels (三调 patches, 控规 plots, 用地用海 plan parcels) in
the form ``gis import --layer landuse`` writes (``landuse.parquet``, EPSG:4547; a GeoPackage,
FileGDB, Shapefile or GeoJSON with the same fields is read too). The ``control_lines`` layer holds
control lines by kind (工业区块线, 保留提升区, 生态保护红线 ...). Both are optional: without them, the
targets on land classes have the status ``no land-use layer`` (or ``no control-line layer``).

Areas are planar in EPSG:4547, in m² per parcel and in ha in every table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gis import settings
from gis._fast.geoarrow import read_geoarrow, to_frame, to_geometries
from gis._fast.groups import as_categorical, category_sums, regroup
from gis.codes import UNCLASSIFIED, UNKNOWN, LandPart, code_list, control_kinds
from gis.crs import AREA_CRS
from gis.errors import InputError
from gis.landuse_checks import arrow_landuse, check_frame, parcel_ids
from gis.progress import stage

#: Fields of the land-use layer (besides geometry), as ``gis import --layer landuse`` writes them.
LANDUSE_FIELDS: tuple[str, ...] = (
    "parcel_id",
    "code",
    "code_system",
    "code_name",
    "district",
    "official_m2",
    "official_kind",
    "admin_code",
    "schema",
    "source_file",
    "synthetic",
)
#: Fields of the control-line layer (besides geometry).
CONTROL_FIELDS: tuple[str, ...] = ("line_id", "kind", "name_zh", "district")
#: The file formats a land-use or control-line layer may come in, in the order they are looked for.
LAYER_SUFFIXES: tuple[str, ...] = (".parquet", ".gpkg", ".gdb", ".shp", ".geojson")

ADD_LANDUSE_HINT = (
    "Add one: gis import FILE --layer landuse (a 三调 DLTB Shapefile, 控规 plots or 用地用海 parcels; "
    "README: Checking your own land-use data)."
)
#: Said of every figure measured on a land-use layer whose parcels are marked ``synthetic``.
SYNTHETIC_NOTE = "SYNTHETIC sample parcels (scripts/sample_delivery.py), not real data"
ADD_CONTROL_HINT = "Add one: gis import FILE --layer control_lines --kind KIND (e.g. the 工业区块线 as block_line_1)."


def layer_path(source: Path, name: str) -> Path | None:
    """Return the file of the optional layer ``name`` (``landuse``, ``control_lines``) in ``source``, or None.

    ``source`` is a layers folder (``name`` with one of :data:`LAYER_SUFFIXES`) or a GeoPackage of
    layers (a layer ``name`` in it). Two files of one layer are refused: which one counts would be a guess.
    """
    source = Path(source)
    if source.suffix.lower() == ".gpkg":
        with contextlib.suppress(Exception):
            if name in [row[0] for row in pyogrio.list_layers(source)]:
                return source
        return None
    found = [source / f"{name}{suffix}" for suffix in LAYER_SUFFIXES if (source / f"{name}{suffix}").exists()]
    if len(found) > 1:
        raise InputError(
            f"{source}: the {name} layer is there {len(found)} times ({', '.join(p.name for p in found)}). "
            "Keep one and move the others away."
        )
    return found[0] if found else None


def _read(path: Path, name: str) -> gpd.GeoDataFrame:
    """Read a layer file; in a GeoPackage or FileGDB the layer ``name``, or its only layer."""
    try:
        if path.suffix.lower() == ".parquet":
            gdf = gpd.read_parquet(path)
        else:
            layer = None
            if path.suffix.lower() in (".gpkg", ".gdb"):
                layers = [row[0] for row in pyogrio.list_layers(path)]
                layer = name if name in layers or len(layers) != 1 else layers[0]
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio", use_arrow=True)
    except Exception as exc:
        raise InputError(f"{path}: layer {name} cannot be read ({exc}). Write it again with gis import.") from exc
    # a Shapefile cuts field names to 10 characters: code_system arrives as code_syste
    cut = {f[:10]: f for f in (*LANDUSE_FIELDS, *CONTROL_FIELDS) if len(f) > 10}
    return gdf.rename(columns={c: cut[c] for c in gdf.columns if c in cut and cut[c] not in gdf.columns})


def _to_area_crs(gdf: gpd.GeoDataFrame, path: Path, name: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise InputError(
            f"{path}: layer {name} declares no coordinate reference system. Import it with gis import, "
            "which detects the frame (or takes --from-crs)."
        )
    return gdf if gdf.crs.equals(AREA_CRS) else gdf.to_crs(AREA_CRS)


class LandUse:
    """A land-use layer: its parcels (EPSG:4547, with ``land_class`` and ``area_m2``), code system and file.

    ``table``: the parcels' fields, the GeoDataFrame of :attr:`parcels` or a frame (or a function building
    it on first use) whose geometries ``geometries`` builds on first use of :attr:`parcels`; ``keys``:
    what the sums read (:meth:`keys`), when the reader has them without the table.
    """

    def __init__(
        self,
        table: pd.DataFrame | Callable[[], pd.DataFrame],
        system: str,
        source: str,
        geometries: Callable[[], Any] | None = None,
        keys: dict[str, Any] | None = None,
    ):
        self.system, self.source, self._geometries, self._keys = system, source, geometries, keys
        self._table = table if isinstance(table, pd.DataFrame) else None
        self._make_table = None if isinstance(table, pd.DataFrame) else table
        self._parcels = table if isinstance(table, gpd.GeoDataFrame) else None
        #: The land area inside each control-line kind group, per parcel (m²), computed once per group.
        self._inside: dict[tuple[str, ...], np.ndarray] = {}

    @property
    def table(self) -> pd.DataFrame:
        """The parcels' fields with ``land_class``, ``area_m2`` and ``official_m2`` (built on first use)."""
        if self._table is None:
            assert self._make_table is not None, "a LandUse without a table"
            self._table = self._make_table()
        return self._table

    @property
    def synthetic(self) -> bool:
        """Whether the parcels are marked synthetic (a generated sample, not a real delivery)."""
        t = self.table
        return "synthetic" in t.columns and bool(t["synthetic"].fillna(False).astype(bool).any())

    def keys(self, *, classes: bool = True) -> dict[str, Any]:
        """Return the columns the sums read: ``district``, ``code``, ``class`` (Categoricals; with ``classes``), ``area_m2``, ``official_m2``."""
        if self._keys is None:
            p = self.table
            self._keys = {
                k: as_categorical(p[c]) for k, c in (("district",) * 2, ("code",) * 2, ("class", "land_class"))
            }
            self._keys["area_m2"] = p["area_m2"].to_numpy(dtype=float)
            self._keys["official_m2"] = pd.to_numeric(p["official_m2"], errors="coerce").to_numpy(dtype=float)
        if classes and "class" not in self._keys:  # each parcel's class, from its code's
            self._keys["class"] = code_list(self.system).classes(pd.Series(self._keys["code"])).array
        return self._keys

    @property
    def count(self) -> int:
        """The number of parcels (the table is not built for it when the reader counted them)."""
        return len(self._keys["area_m2"]) if self._keys is not None else len(self.table)

    @property
    def parcels(self) -> gpd.GeoDataFrame:
        """The parcels with their geometry (EPSG:4547), built from :attr:`table` on first use."""
        if self._parcels is None:
            assert self._geometries is not None, "a LandUse without geometries"
            with stage("reading land-use outlines", total=len(self.table), unit="parcels"):
                self._parcels = gpd.GeoDataFrame(self.table, geometry=self._geometries(), crs=AREA_CRS)
        return self._parcels

    def mask(self, part: LandPart, district: str) -> np.ndarray:
        """Return which parcels of ``district`` the part counts (its classes, or its code and every code below)."""
        p = self.table
        in_district = (p["district"] == district).to_numpy()
        if part.code is not None:
            codes = code_list(self.system).descendants(part.code)
            return in_district & p["code"].isin(codes).to_numpy()
        return in_district & p["land_class"].isin(part.classes).to_numpy()

    def inside_m2(self, kinds: tuple[str, ...], control: gpd.GeoDataFrame) -> np.ndarray:
        """Return the area of each parcel inside the control lines of ``kinds`` (m²; their union, so none counted twice)."""
        if kinds not in self._inside:
            zones = control.geometry.to_numpy()[control["kind"].isin(kinds).to_numpy()]
            self._inside[kinds] = overlay_m2(self.parcels.geometry.to_numpy(), zones)
        return self._inside[kinds]


def overlay_m2(geoms: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Return the area of each geometry inside the union of ``zones`` (same planar frame; m² in EPSG:4547).

    A geometry wholly inside a zone counts its whole area without an intersection; only those
    crossing a zone's edge are cut.
    """
    out = np.zeros(len(geoms))
    if len(zones) == 0 or len(geoms) == 0:
        return out
    parts = shapely.get_parts(shapely.union_all(zones))
    shapely.prepare(parts)
    tree = shapely.STRtree(geoms)
    part_idx, geom_idx = tree.query(parts, predicate="intersects")
    whole = shapely.contains_properly(parts[part_idx], geoms[geom_idx])
    np.add.at(out, geom_idx[whole], shapely.area(geoms[geom_idx[whole]]))
    cut = ~whole
    np.add.at(out, geom_idx[cut], shapely.area(shapely.intersection(geoms[geom_idx[cut]], parts[part_idx[cut]])))
    return out


def read_landuse(source: Path) -> LandUse | None:
    """Read the land-use layer of a layers folder or GeoPackage; None when there is none.

    A GeoParquet file in EPSG:4547 with GeoArrow-encoded polygons (what ``gis import`` writes) is
    read with pyarrow: its fields checked and its areas computed from the coordinates
    (:mod:`gis._fast.geoarrow`), the parcels' geometries built only when something asks for them
    (:attr:`LandUse.parcels`). Any other file is read by geopandas.

    Raises
    ------
    InputError
        Naming the file, the field and the parcels, when a required field is missing, the code
        system is not one (or not known), a district is not one of the three, or a geometry is empty.
    """
    path = layer_path(Path(source), settings.LANDUSE_LAYER)
    if path is None:
        return None
    where = f"{path}: layer {settings.LANDUSE_LAYER}"
    found = read_geoarrow(path, settings.LANDUSE_LAYER, plain=("parcel_id",), progress="reading land-use parcels")
    if found is None:
        gdf = _read(path, settings.LANDUSE_LAYER)
        check_frame(gdf, where, lambda: (gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy())
        gdf = _to_area_crs(gdf, path, settings.LANDUSE_LAYER)
        return _classified(gdf, path, shapely.area(gdf.geometry.to_numpy()))
    layer = found
    geometries = lambda: to_geometries(layer.geometry, layer.encoding)  # noqa: E731
    fast = arrow_landuse(layer.table, where, lambda: layer.points == 0)
    if fast is None:  # fields of other types than gis import writes: checked in pandas
        frame = to_frame(layer.table, stripped=("parcel_id", "code", "district"))
        check_frame(frame, where, lambda: layer.points == 0)
        return _classified(frame, path, layer.area, geometries)
    system, keys = fast
    keys["area_m2"] = layer.area

    def table() -> pd.DataFrame:  # built when something asks for the fields (not to sum them)
        frame = to_frame(layer.table, stripped=("parcel_id", "code", "district"))
        frame.attrs["code_system"] = system
        return _classified(frame, path, keys["area_m2"]).table

    return LandUse(table, system, str(path), geometries, keys)


def _classified(
    table: pd.DataFrame, path: Path, area: np.ndarray, geometries: Callable[[], Any] | None = None
) -> LandUse:
    """Return the checked parcels with their land class, area (and ``official_m2``, NaN where the layer has none)."""
    system = table.attrs.pop("code_system")
    table["land_class"] = code_list(system).classes(table["code"])
    table["area_m2"] = area
    if "official_m2" not in table.columns:
        table["official_m2"] = np.nan
    return LandUse(table, system, str(path), geometries)


def read_control_lines(source: Path) -> gpd.GeoDataFrame | None:
    """Read the control-line layer (EPSG:4547) of a layers folder or GeoPackage; None when there is none."""
    path = layer_path(Path(source), settings.CONTROL_LAYER)
    if path is None:
        return None
    gdf = _read(path, settings.CONTROL_LAYER)
    where = f"{path}: layer {settings.CONTROL_LAYER}"
    if "kind" not in gdf.columns:
        raise InputError(
            f"{where} lacks the field kind. Import it with gis import FILE --layer control_lines --kind KIND."
        )
    bad = ~gdf["kind"].isin(list(settings.CONTROL_KINDS)).to_numpy()
    if bad.any():
        ids = gdf["line_id"] if "line_id" in gdf.columns else pd.Series(gdf.index + 1)
        raise InputError(
            f"{where}: field kind is {sorted(set(gdf['kind'][bad].astype(str)))} on features {parcel_ids(ids, bad)}; "
            f"use one of {', '.join(settings.CONTROL_KINDS)}."
        )
    return _to_area_crs(gdf, path, settings.CONTROL_LAYER)


def control_area_ha(control: gpd.GeoDataFrame, kind: str, district: gpd.GeoSeries) -> float:
    """Return the area (ha) of the union of the control lines of ``kind`` inside ``district`` (EPSG:4547)."""
    zones = control.geometry.to_numpy()[control["kind"].isin(control_kinds(kind)).to_numpy()]
    if len(zones) == 0:
        return 0.0
    return float(
        shapely.area(shapely.intersection(shapely.union_all(zones), shapely.union_all(district.to_numpy()))) / 1e4
    )


def district_areas_ha(districts: gpd.GeoDataFrame) -> dict[str, float]:
    """Return each district's area (ha, EPSG:4547) from its boundary."""
    projected = districts.to_crs(AREA_CRS)
    return {str(d): float(a) / 1e4 for d, a in zip(projected["district"], projected.geometry.area, strict=True)}


#: Columns of :func:`summarize_landuse`.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "district",
    "class",
    "name_zh",
    "code_system",
    "codes",
    "n",
    "area_ha",
    "share_pct",
    "official_ha",
)


def summarize_landuse(
    landuse: LandUse, districts: gpd.GeoDataFrame | None = None, *, by: str = "class"
) -> pd.DataFrame:
    """Return the land area per district and class (``by="class"``) or per district and code (``by="code"``).

    Columns :data:`SUMMARY_COLUMNS`: ``codes`` lists the codes counted (comma-separated), ``n`` the
    parcels, ``area_ha`` their planar area (EPSG:4547), ``share_pct`` that area's share of the
    district's boundary (empty without ``districts``), ``official_ha`` the sum of the layer's
    official area field where it has one (三调 TBMJ, 控规 YDMJ). Classes in the order of
    :data:`gis.settings.LAND_CLASSES`, then ``unclassified`` and ``unknown code``.
    """
    if by not in ("class", "code"):
        raise ValueError(f"by={by!r}: use class or code")
    # the text columns as categories: grouped by their integer codes, each distinct text handled once
    column = landuse.keys(classes=by == "code")
    sums = {"area_m2": column["area_m2"], "official_m2": column["official_m2"]}
    if by == "class":  # summed per district and code, then the few rows per class of their code
        cells = category_sums({k: column[k] for k in ("district", "code")}, sums, column["code"])
        found = cells["code"].unique()
        classes = dict(zip(found, code_list(landuse.system).classes(pd.Series(found)).astype(str), strict=True))
        out = regroup(cells, "code", "class", classes)
    else:
        out = category_sums({k: column[k] for k in ("district", "code", "class")}, sums, column["code"])
    # the few rows in numpy and Python (no per-column pandas step), one frame built at the end
    codes = code_list(landuse.system).table["name_zh"]
    class_zh = {k: zh for k, (zh, _) in settings.LAND_CLASSES.items()} | {UNCLASSIFIED: "未归类", UNKNOWN: "未知代码"}
    name_zh = out["class"].map(class_zh) if by == "class" else out["code"].map(codes).fillna("未知代码")
    area_ha = out["area_m2"].to_numpy() / 1e4
    areas = district_areas_ha(districts) if districts is not None else {}
    district = out["district"].tolist()
    share = [a / areas[d] * 100.0 if d in areas else np.nan for d, a in zip(district, area_ha.tolist(), strict=True)]
    rank = {c: i for i, c in enumerate((*settings.LAND_CLASSES, UNCLASSIFIED, UNKNOWN))}
    sort = [[list(settings.DISTRICTS).index(d) for d in district], out["class"].map(rank).tolist()]
    sort += [out["listed"].tolist()] if by == "code" else []
    order = sorted(range(len(out)), key=lambda i: tuple(s[i] for s in sort))
    columns = {
        "district": out["district"],
        "class": out["class"],
        "name_zh": name_zh,
        "code_system": pd.Series([landuse.system] * len(out), dtype="str"),
        "codes": out["listed"],
        "n": out["n"],
        "area_ha": pd.Series(area_ha),
        "share_pct": pd.Series(share, dtype=float),
        "official_ha": out["official_m2"] / 1e4,
    }
    return pd.DataFrame({k: v.to_numpy()[order] for k, v in columns.items()})


def code_names(landuse: LandUse) -> pd.Series:
    """Return each parcel's code name: the one its file gave (``code_name``), else the code list's (None if unknown)."""
    p = landuse.table
    listed = p["code"].map(code_list(landuse.system).table["name_zh"])
    if "code_name" not in p.columns:
        return listed.astype(object).where(listed.notna(), None)
    out = p["code_name"].astype(object).where(p["code_name"].notna(), listed)
    return out.where(out.notna(), None)
