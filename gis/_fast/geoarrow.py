"""A GeoParquet layer whose polygons are GeoArrow-encoded, read with pyarrow: no geometry object built to measure it.

GeoParquet 1.1's native encoding stores polygons as nested lists of coordinates (geometries ->
polygons -> rings -> points, each level an offsets array). :func:`geoarrow_layer` reads such a file
(text columns dictionary-encoded: no Python string per row); :func:`polygon_areas` computes the
planar area of every polygon or multipolygon from the flat coordinate arrays, by the shoelace
formula over the ring offsets (exterior minus holes, summed over the parts), each ring's
coordinates taken relative to its first point as GEOS does (no cancellation on coordinates of
millions of metres); :func:`to_geometries` builds the shapely polygons when something needs them.

The plain alternative is ``geopandas.read_parquet`` + ``shapely.area``: tests/test_fast.py holds
the areas equal to 1e-9 relative on polygons with holes and multipolygons.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.pandas_compat  # Arrow's conversion to pandas: imported with the module, not on first use
import pyarrow.parquet as pq
import pyarrow.vendored.version  # imported by that conversion on first use (10 ms): with the module
import pyproj
import shapely

from gis.crs import AREA_CRS
from gis.errors import InputError
from gis.progress import SILENT, advance, stage

#: The GeoArrow encodings read here (a layer of lines or points goes the plain way).
ENCODINGS: dict[str, shapely.GeometryType] = {
    "polygon": shapely.GeometryType.POLYGON,
    "multipolygon": shapely.GeometryType.MULTIPOLYGON,
}

#: Geometries measured at a time (a piece's coordinate arrays of a few MB stay in the cache).
PIECE = 65_536


class GeoArrowLayer:
    """A GeoArrow-encoded layer as read: its attribute table, encoding and CRS (PROJJSON) at once.

    Its geometry column, and each polygon's area and number of coordinates, when first asked for
    (read and measured in a thread meanwhile).

    Raises
    ------
    InputError
        On first use of the geometry, area or points, when the geometry cannot be read or measured.
    """

    def __init__(self, table: pa.Table, encoding: str, crs: Any, measured: Future, where: str):
        self.table, self.encoding, self.crs, self._measured, self._where = table, encoding, crs, measured, where

    def _result(self) -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray]:
        try:
            return self._measured.result()  # type: ignore[no-any-return]
        except Exception as exc:
            raise InputError(f"{self._where} cannot be read ({exc}). Write it again with gis import.") from exc

    @property
    def geometry(self) -> pa.ChunkedArray:
        """The geometry column (GeoArrow polygons or multipolygons)."""
        return self._result()[0]

    @property
    def area(self) -> np.ndarray:
        """Each polygon's planar area (NaN where missing)."""
        return self._result()[1]

    @property
    def points(self) -> np.ndarray:
        """Each polygon's number of coordinates (0: empty or missing)."""
        return self._result()[2]


def geoarrow_encoding(path: Path) -> tuple[str, str, Any] | None:
    """Return (column, encoding, crs) of a GeoParquet file whose primary geometry is GeoArrow polygons; else None.

    None for a WKB-encoded file, other geometry types, no GeoParquet metadata, or a CRS left out
    or unknown (those go the plain way, which says what is wrong).
    """
    meta = pq.read_schema(path).metadata or {}
    try:
        geo = json.loads(meta[b"geo"])
        column = geo["primary_column"]
        spec = geo["columns"][column]
    except (KeyError, TypeError, ValueError):
        return None
    encoding = str(spec.get("encoding", "")).lower()
    if encoding not in ENCODINGS or spec.get("crs") is None or spec.get("edges", "planar") != "planar":
        return None
    return column, encoding, spec["crs"]


def geoarrow_layer(
    path: Path,
    column: str,
    encoding: str,
    crs: Any,
    *,
    plain: tuple[str, ...] = (),
    where: str = "",
    progress: str = "",
) -> GeoArrowLayer:
    """Read a GeoArrow-encoded GeoParquet file, its text columns dictionary-encoded but those in ``plain`` (ids).

    The geometry column is read in batches and measured (as :func:`polygon_areas` does) in threads,
    each batch while the next is read, while the attributes are read and whatever the caller does next runs.
    ``progress`` names the stage (:mod:`gis.progress`) that counts the batches read.
    """
    schema = pq.read_schema(path)
    texts = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    fields = [f.name for f in schema if f.name != column and not f.name.startswith("__index_level_")]

    reading = stage(progress, total=pq.read_metadata(path).num_rows, unit="parcels") if progress else SILENT

    def measured() -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray]:
        # read in batches, each measured in the pool while the next one is decoded
        parquet = pq.ParquetFile(path, memory_map=True)
        chunks: list[pa.Array] = []
        parts: list[Future] = []
        with reading, ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for batch in parquet.iter_batches(batch_size=PIECE // 2, columns=[column]):
                chunks.append(batch.column(0))
                parts.append(pool.submit(_chunk_areas, chunks[-1], encoding))
                reading.advance(len(batch))
            measures = [part.result() for part in parts]
        geometry = pa.chunked_array(chunks, type=chunks[0].type if chunks else parquet.schema_arrow.field(column).type)
        if not measures:
            return geometry, np.zeros(0), np.zeros(0, dtype=np.int64)
        return geometry, np.concatenate([a for a, _ in measures]), np.concatenate([n for _, n in measures])

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(measured)
    pool.shutdown(wait=False)
    dictionary = [t for t in texts if t not in plain and t != column]
    table = pq.ParquetFile(path, read_dictionary=dictionary, memory_map=True).read(columns=fields)
    return GeoArrowLayer(table, encoding, crs, future, where or str(path))


def read_geoarrow(path: Path, name: str, *, plain: tuple[str, ...] = (), progress: str = "") -> GeoArrowLayer | None:
    """Read layer ``name``'s file with pyarrow when it is a GeoArrow-encoded GeoParquet file in EPSG:4547; else None.

    ``progress`` names the stage of the reading (:func:`geoarrow_layer`).

    Raises
    ------
    InputError
        The file cannot be read.
    """
    if path.suffix.lower() != ".parquet":
        return None
    try:
        found = geoarrow_encoding(path)
        if found is None or not pyproj.CRS.from_user_input(found[2]).equals(AREA_CRS):
            return None
        return geoarrow_layer(path, *found, plain=plain, where=f"{path}: layer {name}", progress=progress)
    except Exception as exc:
        raise InputError(f"{path}: layer {name} cannot be read ({exc}). Write it again with gis import.") from exc


def _levels(chunk: pa.Array, encoding: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return the offsets of each nesting level (outermost first, each from 0) and the x, y (, z) coordinates."""
    offsets = []
    level = chunk
    for _ in range(2 if encoding == "polygon" else 3):
        off = level.offsets.to_numpy().astype(np.int64)
        level = level.values.slice(int(off[0]), int(off[-1] - off[0]))
        offsets.append(off - off[0])
    if pa.types.is_struct(level.type):
        return offsets, [a.to_numpy(zero_copy_only=False) for a in level.flatten()]
    flat = level.flatten().to_numpy(zero_copy_only=False).reshape(-1, level.type.list_size)  # interleaved
    return offsets, [flat[:, i] for i in range(flat.shape[1])]


def _sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Return the sum of ``values[offsets[i]:offsets[i + 1]]`` per segment (0 for an empty one)."""
    counts = np.diff(offsets)
    out = np.zeros(len(counts), dtype=values.dtype)
    full = counts > 0
    if full.any():
        out[full] = np.add.reduceat(values, offsets[:-1][full])
    return out


def _chunk_areas(chunk: pa.Array, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the planar area and the number of coordinates of each geometry of one chunk.

    A ring's area by the shoelace formula as GEOS writes it (``Area::ofRingSigned``:
    ``sum((x[i] - x0) * (y[i-1] - y[i+1])) / 2`` for i from 1 to n - 2, x0 the ring's first x), the
    sum taken with x relative to one reference for the whole piece (its first x: no per-point copy
    of each ring's x0) and then moved to x0 by ``(x0 - ref) * (y1 - y[n-2])`` per ring (rings are
    closed). The terms stay within the piece's extent: relative rounding about 1e-16 x extent /
    parcel width (1e-11 for a 1 m wide parcel 100 km from the reference).
    """
    offsets, (x, y, *_) = _levels(chunk, encoding)
    rings = offsets[-1]
    counts = np.diff(rings)
    full = counts > 0
    n = len(x)
    term = np.zeros(n)
    ring_area = np.zeros(len(counts))
    if n > 2:
        np.subtract(y[:-2], y[2:], out=term[1:-1])
        term[1:-1] *= x[1:-1] - x[0]
        term[rings[:-1][full]] = 0.0
        term[rings[1:][full] - 1] = 0.0
        # relative to each ring's first point: less (x0 - ref) times the sum of its y differences, y1 - y[n-2]
        big = counts >= 3
        first, last = rings[:-1][big], rings[1:][big]
        shift = (x[first] - x[0]) * (y[first + 1] - y[last - 2])
        ring_area[big] = np.abs(_sums(term, rings)[big] - shift) / 2.0
    polygons = offsets[-2]
    if len(polygons) == len(ring_area) + 1 and (np.diff(polygons) == 1).all():
        area, points = ring_area, counts  # polygons without holes (most): the ring's area is the polygon's
    else:
        exterior = np.zeros(len(ring_area), dtype=bool)
        exterior[polygons[:-1][np.diff(polygons) > 0]] = True
        area = _sums(np.where(exterior, ring_area, -ring_area), polygons)  # the shell less its holes
        points = _sums(counts, polygons)
    if encoding == "multipolygon":
        area, points = _sums(area, offsets[0]), _sums(points, offsets[0])
    if chunk.null_count:
        nulls = chunk.is_null().to_numpy(zero_copy_only=False)
        area, points = np.where(nulls, np.nan, area), np.where(nulls, 0, points)
    return area, points


def polygon_areas(geometry: pa.ChunkedArray, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the planar area of each polygon (NaN where missing) and its number of coordinates (0: empty or missing).

    Measured in pieces of :data:`PIECE` geometries (their arrays stay in the processor's cache), in
    threads (numpy releases the GIL on arrays).
    """
    pieces = [chunk.slice(i, PIECE) for chunk in geometry.chunks for i in range(0, len(chunk), PIECE)]
    with ThreadPoolExecutor(max_workers=max(1, min(len(pieces), os.cpu_count() or 1))) as pool:
        parts = list(pool.map(lambda piece: _chunk_areas(piece, encoding), pieces))
    if not parts:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate([a for a, _ in parts]), np.concatenate([n for _, n in parts])


def to_geometries(geometry: pa.ChunkedArray, encoding: str) -> np.ndarray:
    """Return the shapely polygons (or multipolygons) of a GeoArrow column; None where missing."""
    out = []
    for chunk in geometry.chunks:
        offsets, xyz = _levels(chunk, encoding)
        geoms = shapely.from_ragged_array(ENCODINGS[encoding], np.column_stack(xyz), tuple(offsets[::-1]))
        nulls = chunk.is_null().to_numpy(zero_copy_only=False)
        if nulls.any():
            geoms[nulls] = None
        out.append(geoms)
        advance(len(chunk))  # the current stage's (gis.progress): a chunk is a batch as read
    return np.concatenate(out) if out else np.empty(0, dtype=object)


def stripped_dictionary(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Return a text column dictionary-encoded, each text stripped of surrounding space, missing kept missing.

    The dictionary is stripped (each distinct text once); texts that become equal share one entry.
    """
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    if column.num_chunks == 0:
        return column
    chunks = column.unify_dictionaries().chunks
    values = chunks[0].dictionary
    stripped = pc.utf8_trim_whitespace(values)
    if pc.all(pc.equal(values, stripped)).as_py() is not False:
        return column  # nothing to strip (the usual case)
    entries = pc.unique(stripped)
    remap = pc.index_in(stripped, value_set=entries)
    return pa.chunked_array([pa.DictionaryArray.from_arrays(pc.take(remap, c.indices), entries) for c in chunks])


def categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """Return a dictionary-encoded column as the Categorical ``to_pandas`` gives, its codes taken as they are (not validated)."""
    if column.num_chunks != 1:
        return column.to_pandas().array  # type: ignore[no-any-return]
    chunk = column.chunk(0)
    codes = chunk.indices.fill_null(-1) if chunk.null_count else chunk.indices
    categories = pd.Index(chunk.dictionary.to_pylist(), dtype="str")  # the few distinct texts
    return pd.Categorical.from_codes(codes.to_numpy(), dtype=pd.CategoricalDtype(categories), validate=False)  # type: ignore[return-value]


def to_frame(table: pa.Table, *, stripped: tuple[str, ...] = ()) -> pd.DataFrame:
    """Return the table as a pandas frame: dictionary-encoded text as categories, other text in Arrow (pandas' str).

    The text columns named in ``stripped`` lose their surrounding space (in Arrow: no Python string per
    row); the frame's ``attrs["stripped"]`` says so. A column of nothing but missing values is
    categories of none.
    """
    columns: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if pa.types.is_dictionary(column.type):
            columns[name] = (stripped_dictionary(column) if name in stripped else column).to_pandas()
        elif pa.types.is_null(column.type):
            columns[name] = pd.Categorical.from_codes(
                np.full(len(column), -1, dtype=np.int8), pd.Index([], dtype="str")
            )
        elif name in stripped and text:
            columns[name] = pd.Series(pc.utf8_trim_whitespace(column).to_pandas(), dtype="str")
        elif name in stripped:
            columns[name] = column.to_pandas().astype("str").str.strip()
        else:
            columns[name] = column.to_pandas()
    frame = pd.DataFrame(columns)
    frame.attrs["stripped"] = stripped
    return frame


def _padded(chunk: pa.Array) -> bool:
    """Return whether a text of ``chunk`` may start or end with space (an ASCII space or control, or any non-ASCII byte).

    Seen on each text's first and last byte: no text is copied. False means no text needs stripping.
    """
    _validity, offsets, data = chunk.buffers()
    if data is None or len(chunk) == 0:
        return False
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    off: np.ndarray = np.frombuffer(offsets, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
    raw = np.frombuffer(data, dtype=np.uint8)[off[0] : off[-1]]
    if len(raw) == 0 or (raw.min() > 32 and raw.max() < 0x80):
        return False  # printable ASCII without space throughout (ids mostly): no edge to look at
    raw = np.frombuffer(data, dtype=np.uint8)
    full = off[1:] > off[:-1]
    edges = np.concatenate([raw[off[:-1][full]], raw[off[1:][full] - 1]])
    return bool(((edges == 32) | ((edges >= 9) & (edges <= 13)) | (edges >= 0x80)).any())


def stripped_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Return a text column each text stripped of surrounding space (Unicode), missing kept missing.

    The column itself when no text starts or ends with a byte that may be space (the usual case: no copy).
    """
    if any(_padded(chunk) for chunk in column.chunks):
        return pc.utf8_trim_whitespace(column)
    return column


def increasing(text: pa.ChunkedArray) -> bool:
    """Return whether a text column has no missing value and its values come in strictly increasing order (no repeats)."""
    if text.null_count:
        return False
    return len(text) < 2 or pc.all(pc.less(text[:-1], text[1:])).as_py() is not False


def no_repeats(values: pd.Series) -> bool:
    """Return whether no value of ``values`` (missing ones aside) comes twice.

    Text in Arrow whose values come in strictly increasing order (as ids mostly do) has none, seen in
    one pass over neighbours; otherwise the values are hashed (``nunique``).
    """
    if isinstance(values.dtype, pd.StringDtype) and len(values) > 1:
        text = pa.array(values.array)
        if text.null_count == 0 and pc.all(pc.less(text[:-1], text[1:])).as_py():
            return True
    return bool(values.nunique() == values.count())
