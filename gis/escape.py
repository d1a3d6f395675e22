r"""Data text made safe where it is shown: spreadsheets, Markdown and terminals.

Names, notes and citations come from layer files and tables that anyone may have edited, so
they are data, never markup or commands:

- :func:`spreadsheet_text` / :func:`spreadsheet_frame`: a text cell of a CSV file meant for
  spreadsheets that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP's
  CSV-injection rule) gets a leading ``'``, so Excel or LibreOffice shows it as text instead
  of running it as a formula; numbers stay numbers. :func:`xlsx_text` is the same for a
  spreadsheet cell, which is written as text and needs no prefix.
- :func:`markdown_text`: a Markdown table cell that shows the text as it is.
- :func:`terminal_text`: control characters (escape sequences, carriage returns, bidi
  overrides) printed as visible escapes such as ``\x1b``, so a name cannot recolour,
  retitle or overwrite the terminal.

GeoJSON, GeoPackage and JSON outputs keep the text exactly.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pandas as pd

#: The first characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """Return ``text`` with a leading ``'`` when a spreadsheet would read it as a formula.

    Examples
    --------
    >>> spreadsheet_text("=1+2"), spreadsheet_text("-2+3"), spreadsheet_text("公园")
    ("'=1+2", "'-2+3", '公园')
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every text cell passed through :func:`spreadsheet_text`.

    Only ``str`` values change: numbers (a delta of -1.5), missing values and numeric columns
    are left as they are, so a spreadsheet still reads them as numbers.
    """
    out = frame
    for name, column in _text_columns(frame):
        hits = column.str.startswith(FORMULA_STARTS, na=False).to_numpy(dtype=bool)
        if hits.any():
            if out is frame:
                out = frame.copy()
            values = frame[name].to_numpy(dtype=object, copy=True)
            values[hits] = ["'" + v for v in values[hits]]
            out[name] = pd.Series(values, index=frame.index, dtype=object)
    return out


def spreadsheet_csv(frame: pd.DataFrame, *, float_format: str | None = None) -> str:
    r"""Return ``frame`` as CSV for spreadsheets: text cells by :func:`spreadsheet_text`, no index.

    Lines end in ``\n``; when a text cell holds a carriage return, in ``\r\n`` (RFC 4180), so
    that the cell is quoted and the return stays inside it instead of starting a new row.
    """
    carriage_return = any(column.str.contains("\r", regex=False, na=False).any() for _, column in _text_columns(frame))
    buf = io.StringIO()
    spreadsheet_frame(frame).to_csv(
        buf, index=False, float_format=float_format, lineterminator="\r\n" if carriage_return else "\n"
    )
    return buf.getvalue()


def _text_columns(frame: pd.DataFrame) -> Iterator[tuple[str, pd.Series]]:
    """Yield the name and the values of each column that holds text (whose ``.str`` works)."""
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_datetime64_any_dtype(column.dtype):
            continue
        try:
            column.str  # noqa: B018 (raises for an object column without text: all missing, or numbers)
        except AttributeError:
            continue
        yield name, column


#: Characters XML 1.0, and so a spreadsheet file, cannot hold (C0 controls but tab, LF and CR)
#: or discourages (DEL and the C1 controls).
_XML_UNFIT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


#: What a spreadsheet cell cannot hold as it is: C0 control characters but tab, line feed and carriage
#: return (written as OOXML escapes, ``_x000B_``, which spreadsheets read back as the character), and
#: text that reads as such an escape (``_x0041_`` typed by someone: its ``_`` escaped as ``_x005F_``).
_XLSX_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|_(?=x[0-9A-Fa-f]{4}_)")
#: Characters XML discourages (DEL, C1 controls, noncharacters): shown as visible escapes.
_XLSX_VISIBLE = re.compile(r"[\x7f-\x9f\ufffe\uffff]")


def xlsx_text(text: str) -> str:
    r"""Return ``text`` as a spreadsheet (.xlsx) cell can hold it.

    The cell itself is written as text (never a formula); this only replaces what XML cannot
    carry: a C0 control character becomes its OOXML escape, DEL and C1 controls a visible escape.

    Examples
    --------
    >>> xlsx_text("line\vbreak")
    'line_x000B_break'
    >>> xlsx_text("_x0041_"), xlsx_text("csi\x9b")
    ('_x005F_x0041_', 'csi\\x9b')
    """
    text = _XLSX_VISIBLE.sub(lambda m: _visible(m.group()), text)
    return _XLSX_ESCAPE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


#: Characters that would start Markdown syntax inside a table cell (escaped with a backslash).
_MARKDOWN_PUNCT = re.compile(r"([\\`*_\[\]~|])")


def markdown_text(text: str) -> str:
    r"""Return ``text`` for a Markdown table cell: shown as it is, never as HTML, a link or a new cell.

    ``&``, ``<`` and ``>`` become HTML entities (no tag can start), the characters of inline
    syntax (backslash, backtick, ``*``, ``_``, ``[``, ``]``, ``~``) and the cell separator ``|``
    are backslash-escaped, a line break becomes ``<br>`` and other control characters are
    shown as by :func:`terminal_text` (so ``cat report.md`` cannot drive the terminal either).

    Examples
    --------
    >>> print(markdown_text("<img src=x onerror=alert(1)> | [a](b)"))
    &lt;img src=x onerror=alert(1)&gt; \| \[a\](b)
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_PUNCT.sub(r"\\\1", text)
    return terminal_text(re.sub(r"\r\n|\r|\n", "<br>", text))


#: Characters a terminal acts on instead of showing: C0 controls, DEL, C1 controls (CSI, OSC
#: ...), the line and paragraph separators, and the bidi controls that reorder the line.
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(ch: str) -> str:
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def terminal_text(text: str, *, newlines: bool = False) -> str:
    r"""Return ``text`` safe to print on a terminal: every control character as a visible escape.

    ``"\x1b[31m"`` prints as the seven characters ``\x1b[31m``, a carriage return as ``\r``,
    so data cannot move the cursor, recolour, retitle or clear the terminal or overwrite a
    line. With ``newlines`` line breaks (``\n``, ``\r\n``) are kept as ``\n`` (for a whole table or
    file printed at once).

    Examples
    --------
    >>> print(terminal_text("\x1b]0;title\x07公园\rX"))
    \x1b]0;title\x07公园\rX
    """
    if newlines:
        return "\n".join(terminal_text(line) for line in re.split(r"\r?\n", text))
    return _TERMINAL_UNSAFE.sub(lambda m: _visible(m.group()), text)


def terminal_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every text cell passed through :func:`terminal_text` (numbers unchanged)."""
    out = frame.copy()
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[name].dtype):
            values = [terminal_text(v) if isinstance(v, str) else v for v in frame[name].to_numpy(dtype=object)]
            out[name] = pd.Series(values, index=frame.index, dtype=object)
    return out
