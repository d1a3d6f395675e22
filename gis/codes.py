"""Land-use code lists and the parts a land-use target names.

The code lists are data (``gis/data/codes/<system>.csv``, see the README there): each code of
用地用海 (2023), 三调 / GB/T 21010-2017 and Shenzhen's standard with its Chinese name, its level, its
parent and the toolkit's land class (:data:`gis.settings.LAND_CLASSES`) it counts in. A code means
nothing without its system (三调 1001 is railway land, 用地用海 1001 industrial land), so every
look-up here takes the system; a land-use layer has one system, never guessed per value.

A land-use target's ``part`` (:func:`parse_part`) is a class (``industrial``), classes joined by
``+`` (``industrial+logistics``), a code with its system (``yongdi:1001``, which holds 100101-100103),
or one of those ``inside`` or ``outside`` a kind of control line (``industrial inside block_line``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from gis import settings

#: The columns of a code list file, in order.
CODE_COLUMNS: tuple[str, ...] = ("code", "name_zh", "level", "parent", "land_class", "rgb", "standard")
#: The class of a parcel whose code has no single class (a level-1 code spanning several) or is unknown.
UNCLASSIFIED = "unclassified"
UNKNOWN = "unknown code"


@dataclass(frozen=True)
class CodeList:
    """One code system: its codes (index ``code``) with name, level, parent, class, colour and standard."""

    system: str
    table: pd.DataFrame

    def descendants(self, code: str) -> list[str]:
        """Return ``code`` and every code below it (``1001`` -> ``1001, 100101, 100102, 100103``)."""
        out, stack = [], [code]
        children = self.table.groupby("parent").groups
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(sorted(children.get(c, []), reverse=True))
        return out

    def classes(self, codes: pd.Series) -> pd.Series:
        """Return the land class of each code (categories): a class key, ``unclassified`` (no single class) or ``unknown code``."""
        cat = pd.Categorical(codes)
        cats = pd.Index(cat.categories)
        cls = self.table["land_class"].reindex(cats).to_numpy(dtype=object)
        fallback = np.where(cats.isin(self.table.index), UNCLASSIFIED, UNKNOWN)
        names = np.append(np.where(pd.isna(cls), fallback, cls).astype(object), UNKNOWN)  # [-1]: a missing code
        # as categories: one integer per parcel, the few class names once (grouped by the sums without hashing)
        classes, which = np.unique(names.astype(str), return_inverse=True)
        return pd.Series(pd.Categorical.from_codes(which[cat.codes], pd.Index(classes)), index=codes.index)


@functools.cache
def code_list(system: str) -> CodeList:
    """Return the code list of ``system`` (a key of :data:`gis.settings.CODE_SYSTEMS`).

    Examples
    --------
    >>> yongdi, sandiao = code_list("yongdi"), code_list("sandiao")
    >>> yongdi.table.loc["1001", "name_zh"], sandiao.table.loc["1001", "name_zh"]
    ('工业用地', '铁路用地')
    >>> yongdi.descendants("1001")
    ['1001', '100101', '100102', '100103']
    """
    if system not in settings.CODE_SYSTEMS:
        raise ValueError(f"unknown code system {system!r}; use one of {', '.join(settings.CODE_SYSTEMS)}")
    with resources.files("gis").joinpath("data", "codes", f"{system}.csv").open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""])  # empty: missing
    table = table.set_index("code", drop=False)
    table["level"] = table["level"].astype(int)
    return CodeList(system, table)


@dataclass(frozen=True)
class LandPart:
    """What a land-use target counts: parcels of some classes or codes, optionally inside or outside a control line."""

    text: str
    classes: tuple[str, ...] = ()
    system: str | None = None
    code: str | None = None
    #: ``inside`` or ``outside`` (None: no control line).
    relation: str | None = None
    #: The control-line kinds (:data:`gis.settings.CONTROL_KINDS`) the relation is to.
    control: tuple[str, ...] = ()

    def label(self) -> tuple[str, str]:
        """Return the part in Chinese and in English (``工业用地（工业区块线内）``, ``industrial inside block_line``)."""
        if self.code is not None:
            name = code_list(self.system or "").table["name_zh"].get(self.code, "")
            zh = f"{self.code} {name}".strip()
        else:
            zh = "、".join(settings.LAND_CLASSES[c][0] for c in self.classes)
        if self.relation is not None:
            kind = (
                "工业区块线"
                if self.control == settings.CONTROL_GROUPS["block_line"]
                else settings.CONTROL_KINDS[self.control[0]][0]
            )
            zh += f"（{kind}{'内' if self.relation == 'inside' else '外'}）"
        return zh, self.text


def control_kinds(kind: str) -> tuple[str, ...]:
    """Return the control-line kinds a target's kind stands for (``block_line`` -> both levels)."""
    if kind in settings.CONTROL_GROUPS:
        return settings.CONTROL_GROUPS[kind]
    if kind in settings.CONTROL_KINDS:
        return (kind,)
    kinds = ", ".join((*settings.CONTROL_KINDS, *settings.CONTROL_GROUPS))
    raise ValueError(f"{kind!r} is no kind of control line; use one of {kinds}")


def parse_part(text: str) -> LandPart:
    """Parse the ``part`` of a land-use target; raise ValueError saying what is wrong and what is allowed.

    Examples
    --------
    >>> parse_part("industrial+logistics").classes
    ('industrial', 'logistics')
    >>> p = parse_part("yongdi:1001 outside block_line")
    >>> p.system, p.code, p.relation, p.control
    ('yongdi', '1001', 'outside', ('block_line_1', 'block_line_2'))
    """
    words = text.split()
    relation: str | None = None
    control: tuple[str, ...] = ()
    if len(words) == 3 and words[1] in ("inside", "outside"):
        relation, control = words[1], control_kinds(words[2])
    elif len(words) != 1:
        raise ValueError(
            f"{text!r} is no land-use part; write a class (industrial), classes joined by + "
            "(industrial+logistics), a code with its system (yongdi:1001), or one of those followed by "
            "inside or outside and a control line (industrial inside block_line)"
        )
    what = words[0]
    if ":" in what:
        system, code = what.split(":", 1)
        if system not in settings.CODE_SYSTEMS:
            raise ValueError(f"{what!r}: {system!r} is no code system; use one of {', '.join(settings.CODE_SYSTEMS)}")
        if code not in code_list(system).table.index:
            raise ValueError(f"{what!r}: {code!r} is no code of {system} ({settings.CODE_SYSTEMS[system]})")
        return LandPart(text, system=system, code=code, relation=relation, control=control)
    classes = tuple(what.split("+"))
    unknown = [c for c in classes if c not in settings.LAND_CLASSES]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} in {text!r} is no land class; use {', '.join(settings.LAND_CLASSES)}, "
            "or a code with its system (yongdi:1001)"
        )
    return LandPart(text, classes=classes, relation=relation, control=control)
