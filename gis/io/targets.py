"""Reading the targets table (.csv or .xlsx) as text, keeping the decimals a spreadsheet cell shows.

:func:`gis.validate.validate_targets` checks it.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from gis import settings
from gis.errors import InputError, InputFileError
from gis.io.vector import _decodes_as_gbk, _is_utf8, _require_file, unknown_encoding


def read_table(path: Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Return the first sheet of an .xlsx workbook or a CSV file as text (``encoding`` for a CSV not in UTF-8)."""
    _require_file(path, what="targets table")
    suffix = path.suffix.lower()
    if encoding is not None and _is_utf8(path):
        encoding = None
    try:
        if suffix == ".csv":
            text = path.read_bytes().decode(encoding or "utf-8-sig")
            _check_csv_whole(path, text)
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        if suffix in (".xlsx", ".xlsm"):
            texts = _xlsx_value_texts(path)  # first: it says which sheet is empty
            table = pd.read_excel(path, dtype=str, keep_default_na=False, sheet_name=0)
            if "value" in table.columns and len(texts) == len(table):
                table["value"] = [t if t is not None else v for t, v in zip(texts, table["value"], strict=True)]
            return table
    except UnicodeDecodeError as exc:
        sample = _decodes_as_gbk(path)
        if sample is not None:
            raise InputFileError(
                f"{path}: the targets table is GBK-encoded, not UTF-8 (it reads as {sample!r} in GBK). "
                "Pass {p:encoding} gbk, or save it as UTF-8 CSV."
            ) from exc
        raise InputFileError(
            f"{path}: the targets table is not {encoding or 'UTF-8'} ({exc.reason} at byte {exc.start}). "
            "Pass {p:encoding} with the file's encoding, or save it as UTF-8 CSV."
        ) from exc
    except LookupError as exc:
        raise unknown_encoding(encoding) from exc
    except InputError:
        raise
    except Exception as exc:
        raise InputFileError(
            f"{path}: the targets table cannot be read ({type(exc).__name__}: {exc}). "
            "Save it as an .xlsx workbook (not .xls, not a renamed CSV) or as UTF-8 CSV."
        ) from exc
    raise InputFileError(f"{path}: unknown targets format {suffix!r}. Use .csv or .xlsx.")


def _expected_header() -> str:
    return f"expected a header row ({','.join(settings.TARGET_COLUMNS)}) and one row per target"


def _check_csv_whole(path: Path, text: str) -> None:
    """Refuse a targets CSV that is blank, or whose last row looks cut off.

    A file cut off in its last row (a copy or download that stopped) would be read as a shorter,
    complete table. When the file does not end with a line break, its last row must have every
    column and must not stop inside a quoted field or in the middle of its last field's text:
    else the error names the line and what looks cut off. A complete row is confirmed by ending
    the file with a line break.
    """
    if not text.strip():
        raise InputFileError(f"{path}: the targets table is blank (no header row); {_expected_header()}.")
    if text.endswith(("\n", "\r")):
        return
    in_quote, start = False, 0
    for match in re.finditer(r'["\n]', text):  # the last record starts after the last line break outside quotes
        if match.group() == '"':
            in_quote = not in_quote
        elif not in_quote:
            start = match.end()
    if start == 0:
        return  # a header only: no row to be cut
    header = next(csv.reader(io.StringIO(text)))
    cells = next(csv.reader(io.StringIO(text[start:])), [])
    line = text.count("\n", 0, start) + 1
    column = header[len(cells) - 1] if 0 < len(cells) <= len(header) else "?"
    target = f", target {cells[0].strip()}" if cells and cells[0].strip() else ""
    where = f"{path}: line {line} (the last row{target})"
    fix = f"Restore the whole file (save it again from the spreadsheet, or git checkout -- {path.name})"
    if in_quote:
        raise InputFileError(
            f'{where} looks cut off: the file ends inside the quoted text of field {column} (a " that never '
            f"closes), with no line break after it. {fix}; if the row is complete, close the quote and end the "
            "file with a line break."
        )
    if len(cells) < len(header):
        raise InputFileError(
            f"{where} looks cut off: it has {len(cells)} of the {len(header)} columns, stopping in field {column} "
            f"({cells[-1] if cells else ''!r}), and the file ends without a line break. {fix}; if the row is "
            "complete, fill in its missing columns and end the file with a line break."
        )
    last = text[start:].rstrip(" \t")
    if len(cells) == len(header) and cells[-1].strip() and not last.endswith('"'):
        raise InputFileError(
            f"{where} may be cut off: the file ends without a line break in the middle of field {column} "
            f"({cells[-1]!r}). {fix}; if the row is complete, end the file with a line break (Enter after the "
            "last row)."
        )


_FIXED_FORMAT = re.compile(r"^[#,]*0(?:\.(0+))?$")


def _xlsx_value_texts(path: Path) -> list[str | None]:
    """Return the ``value`` column of the first sheet as text, keeping the decimals a cell shows.

    A spreadsheet stores 4.0 as the number 4; a cell formatted ``0.0`` still states the figure to one
    decimal, which matters for "met at the precision the plan states". Cells without a fixed-decimal
    format give their plain number.
    """
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = wb.worksheets[0]
        rows = sheet.iter_rows()
        header = [str(c.value).strip() if c.value is not None else "" for c in next(rows, ())]
        if not any(header):
            raise InputFileError(
                f"{path}: sheet {sheet.title!r} is empty (its first row is blank); {_expected_header()}. "
                "The targets are read from the workbook's first sheet: put them there."
            )
        if "value" not in header:
            return []
        col = header.index("value")
        out: list[str | None] = []
        for row in rows:
            cell = row[col] if col < len(row) else None
            value = getattr(cell, "value", None)
            if isinstance(value, bool) or not isinstance(value, int | float):
                out.append(None)
                continue
            match = _FIXED_FORMAT.match(str(getattr(cell, "number_format", "") or ""))
            decimals = len(match.group(1) or "") if match else None
            out.append(f"{value:.{decimals}f}" if decimals is not None else repr(float(value)).removesuffix(".0"))
        return out
    finally:
        wb.close()
