"""Reading the targets table (.csv or .xlsx) as text, keeping the decimals a spreadsheet cell shows.

:func:`gis.validate.validate_targets` checks it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from gis.errors import InputFileError
from gis.io.vector import _decodes_as_gbk, _is_utf8, _require_file, unknown_encoding


def read_table(path: Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Return the first sheet of an .xlsx workbook or a CSV file as text (``encoding`` for a CSV not in UTF-8)."""
    _require_file(path, what="targets table")
    suffix = path.suffix.lower()
    if encoding is not None and _is_utf8(path):
        encoding = None
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding or "utf-8-sig")
        if suffix in (".xlsx", ".xlsm"):
            table = pd.read_excel(path, dtype=str, keep_default_na=False, sheet_name=0)
            texts = _xlsx_value_texts(path)
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
    except Exception as exc:
        raise InputFileError(
            f"{path}: the targets table cannot be read ({type(exc).__name__}: {exc}). "
            "Save it as an .xlsx workbook (not .xls, not a renamed CSV) or as UTF-8 CSV."
        ) from exc
    raise InputFileError(f"{path}: unknown targets format {suffix!r}. Use .csv or .xlsx.")


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
        rows = wb.worksheets[0].iter_rows()
        header = [str(c.value).strip() if c.value is not None else "" for c in next(rows)]
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
