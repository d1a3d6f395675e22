"""Compare the outputs of two `gis build` runs, timestamps aside.

Used when the code changes shape but must not change what it writes (a refactor):

    python scripts/compare_builds.py OLD_DIR NEW_DIR

OLD_DIR and NEW_DIR each hold the `out/` and `maps/` folders of one build (for example a
clone of the previous commit after `gis build`, and this work tree after `gis build`).
How each file is compared:

- text files (.csv, .txt, .json, .html, .md): byte for byte after replacing ISO dates and
  times (2026-11-30, 2026-11-30T06:43:37+00:00) with a placeholder and folium's random
  element ids (map_f8cd...) with numbers in order of appearance;
- .xlsx: every sheet's cell values (timestamps replaced) and number formats (openpyxl), not the zip bytes (the zip
  holds creation times);
- .gpkg: every table's rows (sqlite3), with ISO timestamps replaced as above, not the file
  bytes (SQLite pages depend on the write history);
- .pdf (the map sheets): the page size and the text as pdftotext lays it out (poppler-utils),
  timestamps replaced, not the file bytes (they hold the creation time); the drawing itself is
  not compared.

Prints one line per file (same / differs, with the first difference) and exits 1 when any
file differs or is missing on one side.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Folium names every element with a random 32-hex-digit id (map_f8cd...): numbered in order of appearance.
FOLIUM_ID = re.compile(rb"_[0-9a-f]{32}\b")
STAMP = re.compile(rb"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?)?")
TEXT = {".csv", ".txt", ".json", ".html", ".md", ".geojson", ".svg"}


def _text(path: Path) -> bytes:
    ids: dict[bytes, bytes] = {}
    data = FOLIUM_ID.sub(lambda m: ids.setdefault(m[0], b"_id%d" % len(ids)), path.read_bytes())
    return STAMP.sub(b"<time>", data)


def _clean(value: Any) -> Any:
    return STAMP.sub(b"<time>", value.encode()).decode() if isinstance(value, str) else value


def _xlsx(path: Path) -> list[Any]:
    import openpyxl

    book = openpyxl.load_workbook(path)
    return [
        (sheet.title, [[(_clean(c.value), c.number_format) for c in row] for row in sheet.iter_rows()])
        for sheet in book.worksheets
    ]


def _gpkg(path: Path) -> list[Any]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        out = []
        for table in tables:
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            out.append((table, sorted((tuple(_clean(v) for v in row) for row in rows), key=repr)))
        return out
    finally:
        con.close()


def _pdf(path: Path) -> list[Any]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True).stdout
    size = re.findall(rb"Page size:.*", info)
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return [size, STAMP.sub(b"<time>", text.stdout)]


def _first_difference(a: Any, b: Any) -> str:
    if isinstance(a, bytes) and isinstance(b, bytes):
        i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        return f"at byte {i}: {a[max(0, i - 40) : i + 40]!r} vs {b[max(0, i - 40) : i + 40]!r}"
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b, strict=False):
            if x != y:
                return _first_difference(x, y)
        return f"{len(a)} vs {len(b)} items"
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        for x, y in zip(a, b, strict=True):
            if x != y:
                return _first_difference(x, y)
    return f"{a!r:.200} vs {b!r:.200}"


def compare(old: Path, new: Path) -> int:
    """Print one line per file of the two folders; return the number of files that differ."""
    names = sorted(
        {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
        | {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
    )
    bad = 0
    for name in names:
        a, b = old / name, new / name
        if not (a.exists() and b.exists()):
            print(f"missing  {name} (only in {'old' if a.exists() else 'new'})")
            bad += 1
            continue
        suffix = name.suffix.lower()
        readers = {".xlsx": _xlsx, ".gpkg": _gpkg, ".pdf": _pdf}
        read = readers.get(suffix, _text if suffix in TEXT else Path.read_bytes)
        x, y = read(a), read(b)
        if x == y:
            print(f"same     {name}")
        else:
            print(f"differs  {name}: {_first_difference(x, y)}")
            bad += 1
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="folder with out/ and maps/ of the first build")
    parser.add_argument("new", type=Path, help="folder with out/ and maps/ of the second build")
    args = parser.parse_args()
    bad = compare(args.old, args.new)
    print(f"{bad} file(s) differ" if bad else "every file is the same, timestamps aside")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
