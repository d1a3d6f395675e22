"""Text of the layers and the targets as the toolkit reads it: stripped, None where empty, control characters read as spaces (with a warning), garbled text (mojibake) recognised."""

from __future__ import annotations

import logging
import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gis.model import WARNING, Finding

log = logging.getLogger(__name__)


def text_or_none(value: object) -> str | None:
    """Return a cell as stripped text, or None when empty or missing: the toolkit's one rule for text cells.

    :func:`text_column` applies it to a whole column, fast.

    Examples
    --------
    >>> text_or_none("  龙岗 "), text_or_none(""), text_or_none(float("nan")), text_or_none(440307)
    ('龙岗', None, None, '440307')
    """
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    return text or None


#: A character class (RE2, as Arrow's regex functions use) of every character ``str.strip()``
#: removes (``str.isspace()``: ASCII whitespace, the separators \x1c-\x1f, NEL and Unicode's Z
#: classes, e.g. the ideographic space U+3000), so text that does not match needs no strip.
_EDGE_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f\x85\pZ]"


#: A text column whose first this many values hold fewer than half as many distinct ones is
#: converted through Arrow's dictionary encoding.
_SAMPLE = 10_000


#: A character of the range single-byte code pages decode bytes 0x80-0xFF to (Latin-1's, most of
#: Windows-1252's): text holding none cannot be mojibake (RE2 syntax for Arrow, also valid in Python).
_HIGH_LATIN = r"[\x{80}-\x{ff}]"


_HIGH_LATIN_RE = re.compile("[\x80-\xff]")


#: C0 control characters other than tab, line feed and carriage return (the same in RE2, as
#: Arrow uses, and Python): XML, and so a spreadsheet, cannot hold them. Word's line and page
#: breaks (vertical tab, form feed) pasted into a name are the usual ones. The reader reads each
#: as a space and says so (a ``control_character`` warning, :func:`control_findings`).
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


_CONTROL_RE = re.compile(_CONTROL)


_CONTROL_NAMES = {
    "\x0b": "a vertical tab, Word's line break",
    "\x0c": "a form feed, Word's page break",
    "\x00": "a NUL byte",
}


def _clean_text(value: object) -> str | None:
    """Return a cell as :func:`text_or_none` does, with every control character (:data:`_CONTROL`) read as a space."""
    text = text_or_none(value)
    if text is not None and _CONTROL_RE.search(text):
        text = text_or_none(_CONTROL_RE.sub(" ", text))
    return text


def _has_control(value: object) -> bool:
    return isinstance(value, str) and _CONTROL_RE.search(value) is not None


def text_column(values: pd.Series, suspects: list[int] | None = None, controls: list[int] | None = None) -> pd.Series:
    """Return a column as stripped text with None where empty, control characters read as spaces.

    A column of text is handled in Arrow: only the values that begin or end with whitespace, hold
    a control character (:data:`_CONTROL`) or a character of the range U+0080-U+00FF are looked at
    in Python (one pass finds them), so a million names cost no Python call each; a column of few
    distinct values (district codes, parts) is cleaned once per distinct value. Other columns
    (numbers typed as numbers, mixed values) go cell by cell.

    ``suspects``, when given, gets the positions of the values holding characters of the range
    U+0080-U+00FF, the candidates for :func:`undo_mojibake`; ``controls`` those that held control
    characters (:func:`control_findings`).
    """
    found: list[int] = []
    control: list[int] = []
    out = _clean_column(values, found, control)
    if suspects is not None:
        suspects.extend(found)
    if controls is not None:
        controls.extend(control)
    return out


def _high(text: str | None) -> bool:
    return text is not None and _HIGH_LATIN_RE.search(text) is not None


def _clean_column(values: pd.Series, suspects: list[int], controls: list[int]) -> pd.Series:
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        try:
            arr = pa.array(values, from_pandas=True)  # no copy for Arrow-backed text (pandas' str)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed values
            arr = None
        if arr is not None and pa.types.is_null(arr.type):
            return pd.Series([None] * len(values), dtype=object)
        if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            head = arr.slice(0, _SAMPLE)
            if len(arr) > _SAMPLE and pc.count_distinct(head, mode="all").as_py() < _SAMPLE // 2:
                # few distinct values (codes, parts, sources): each is cleaned and made a Python str once
                coded = pc.dictionary_encode(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr)
                distinct = coded.dictionary.to_pylist()
                uniques = np.array([*(_clean_text(v) for v in distinct), None], dtype=object)
                codes = coded.indices.fill_null(len(uniques) - 1).to_numpy()
                high = [k for k, v in enumerate(uniques) if _high(v)]
                suspects.extend(np.flatnonzero(np.isin(codes, high)).tolist() if high else [])
                bad = [k for k, v in enumerate(distinct) if _has_control(v)]
                controls.extend(np.flatnonzero(np.isin(codes, bad)).tolist() if bad else [])
                return pd.Series(uniques[codes], dtype=object)
            out = arr.to_numpy(zero_copy_only=False)
            # one pass over the text finds what needs a look: whitespace at either end, control
            # characters, characters of mojibake; the rest needs no Python
            pattern = f"^{_EDGE_SPACE}|{_EDGE_SPACE}$|{_CONTROL}|{_HIGH_LATIN}"
            marked = pc.match_substring_regex(arr, pattern).fill_null(False)
            for i in np.flatnonzero(marked.to_numpy(zero_copy_only=False)):
                if _has_control(out[i]):
                    controls.append(int(i))
                out[i] = _clean_text(out[i])
                if _high(out[i]):
                    suspects.append(int(i))
            out[out == ""] = None
            return pd.Series(out, dtype=object)
    cells = [_clean_text(v) for v in values]
    suspects.extend(i for i, v in enumerate(cells) if _high(v))
    controls.extend(i for i, v in enumerate(values) if _has_control(v))
    return pd.Series(cells, dtype=object)


def control_findings(
    raw: pd.Series, cleaned: pd.Series, rows: np.ndarray, labels: np.ndarray, *, source: str, layer: str, field: str
) -> list[Finding]:
    """Return a ``control_character`` warning for each row of ``rows``: which character, and the text as read."""
    return [
        Finding(
            WARNING,
            "control_character",
            _control_message(str(raw.iloc[i]), cleaned.iloc[i], field),
            source=source,
            layer=layer,
            fid=labels[i],
            field=field,
        )
        for i in rows
    ]


def _control_message(raw: str, cleaned: str | None, field: str) -> str:
    chars = sorted(set(_CONTROL_RE.findall(raw)))
    named = ", ".join(
        f"U+{ord(c):04X} ({_CONTROL_NAMES[c]})" if c in _CONTROL_NAMES else f"U+{ord(c):04X}" for c in chars
    )
    which, read = ("a control character", "it is") if len(chars) == 1 else ("control characters", "each is")
    return (
        f"field {field} holds {which} {named}, which spreadsheets and XML cannot hold; {read} read as a "
        f"space: {cleaned!r}. Retype the text without it (pasted from Word?)."
    )


#: Windows-1252's characters for the bytes 0x80-0x9F (where Latin-1 has control characters)
_CP1252_BYTES = {bytes([b]).decode("cp1252"): b for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def undo_mojibake(text: str) -> tuple[str, str] | None:
    r"""Return what garbled text probably was and how it was garbled; None when it does not look garbled.

    Text is garbled (mojibake) when a program read UTF-8 or GBK bytes as Latin-1 or Windows-1252 and
    saved the characters it saw: '龙岗' in GBK read as Latin-1 is 'Áú¸Ú', in UTF-8 'é¾\x99å²\x97'.
    The characters are turned back into those bytes and decoded again: as UTF-8, whose byte patterns
    real Latin-1 text practically never forms; else as GBK, accepted only when at least three
    quarters of the characters come back as pairs of high bytes of GB2312 (the common Chinese
    characters), most ideographs of its first level, so that 'Pokémon', 'São' or 'ação' stay as they are.

    Examples
    --------
    >>> undo_mojibake("Áú¸Ú")
    ('龙岗', 'GBK text read as Latin-1')
    >>> undo_mojibake("é¾\x99å²\x97")
    ('龙岗', 'UTF-8 text read as Latin-1')
    >>> print(undo_mojibake("Café"))
    None
    """
    raw = bytearray()
    reader = "Latin-1"
    for ch in text:
        code = ord(ch)
        if code < 0x100:
            raw.append(code)
        elif ch in _CP1252_BYTES:
            raw.append(_CP1252_BYTES[ch])
            reader = "Windows-1252"
        else:
            return None  # a character no single-byte code page gives: not read that way
    if max(raw, default=0) < 0x80:
        return None
    try:
        return raw.decode("utf-8"), f"UTF-8 text read as {reader}"
    except UnicodeDecodeError:
        pass
    try:
        fixed = raw.decode("gbk")
    except UnicodeDecodeError:
        return None
    pairs = [c.encode("gbk") for c in fixed if ord(c) >= 0x80]
    gb2312 = [b for b in pairs if len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1]
    ideographs = [b for b in gb2312 if b[0] >= 0xB0]
    common = [b for b in ideographs if b[0] <= 0xD7]
    if not ideographs or 4 * len(gb2312) < 3 * len(pairs) or 2 * len(common) < len(ideographs):
        return None
    return fixed, f"GBK text read as {reader}"
