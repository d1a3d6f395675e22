"""Schemas of land-use deliveries: which field of a file is the id, the code, the name, the area (``gis/data/schemas/*.toml``).

A schema is data: the shipped ones are 三调 地类图斑 (``sandiao``), 控规 plots (``kongui``) and 用地用海
plan parcels (``yongdi``); a user may pass a TOML file of the same keys. ``--schema auto`` picks the
one whose ``detect`` fields the file has (field names compared without case).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gis import settings
from gis.errors import InputError, InputFileError

#: The folder of the shipped schemas.
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "data" / "schemas"
#: The shipped schemas, in the order ``--schema auto`` tries them.
BUILTIN_SCHEMAS: tuple[str, ...] = ("sandiao", "kongui", "yongdi")
#: The roles a schema's ``[fields]`` may name; ``code`` is required.
FIELD_ROLES: tuple[str, ...] = ("id", "code", "name", "admin", "official_area")
#: Kinds of an official area: measured on the ellipsoid (三调 TBMJ) or in a plane.
AREA_KINDS: tuple[str, ...] = ("ellipsoidal", "planar")
#: Square metres per unit of an official area.
AREA_UNITS_M2: dict[str, float] = {"m2": 1.0, "ha": 10_000.0, "mu": 10_000.0 / 15.0}
_TOP_KEYS = (
    "name",
    "title",
    "code_system",
    "fields",
    "official_area_kind",
    "official_area_unit",
    "detect",
    "extras",
    "optional",
)


@dataclass(frozen=True)
class Schema:
    """How a delivery's fields map onto the stored land-use layer."""

    name: str
    title: str
    code_system: str
    fields: dict[str, str]
    detect: tuple[str, ...]
    official_area_kind: str = "planar"
    official_area_unit: str = "m2"
    extras: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    source: str = ""

    def field(self, role: str) -> str | None:
        """Return the field name the schema gives a role (``id``, ``code`` ...), or None."""
        return self.fields.get(role)


def find_column(columns: Iterable[str], name: str | None) -> str | None:
    """Return the column called ``name`` regardless of case (``dlbm`` finds ``DLBM``), or None.

    Examples
    --------
    >>> find_column(["bsm", "DLBM"], "BSM"), find_column(["BSM"], "TBMJ")
    ('bsm', None)
    """
    if name is None:
        return None
    by_lower = {str(c).lower(): str(c) for c in columns}
    return by_lower.get(name.lower())


def _text_list(value: object, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f'{where}: {key} must be a list of field names, e.g. {key} = ["DLBM"]. Fix the schema file.')
    return tuple(value)


def parse_schema(doc: dict[str, object], *, where: str, default_name: str) -> Schema:
    """Return a schema from a parsed TOML document, every problem in it named at once.

    Examples
    --------
    >>> s = parse_schema({"code_system": "yongdi", "fields": {"code": "YDYHFLDM"}}, where="my.toml", default_name="my")
    >>> s.name, s.detect, s.official_area_unit
    ('my', ('YDYHFLDM',), 'm2')
    """
    problems = [
        f"{where}: unknown key {k!r} (known: {', '.join(_TOP_KEYS)}). Remove it or fix its spelling."
        for k in doc
        if k not in _TOP_KEYS
    ]
    fields = doc.get("fields", {})
    if not isinstance(fields, dict):
        raise InputError(f'{where}: [fields] must be a table (e.g. code = "DLBM"). Fix the schema file.')
    problems += [
        f"{where}: [fields] has the unknown key {k!r} (known: {', '.join(FIELD_ROLES)}). Remove it or fix its spelling."
        for k in fields
        if k not in FIELD_ROLES
    ]
    problems += [
        f"{where}: [fields] {k} must be a field name (text), not {v!r}."
        for k, v in fields.items()
        if not isinstance(v, str) or not v.strip()
    ]
    if "code" not in fields:
        problems.append(
            f'{where}: [fields] has no code field. Name the field of the land-use code, e.g. code = "DLBM".'
        )
    system = doc.get("code_system")
    if system not in settings.CODE_SYSTEMS:
        problems.append(
            f"{where}: code_system {system!r} is not one of {', '.join(settings.CODE_SYSTEMS)}. "
            "Say which code list the code field uses."
        )
    kind = doc.get("official_area_kind", "planar")
    if kind not in AREA_KINDS:
        problems.append(f"{where}: official_area_kind {kind!r} is not one of {', '.join(AREA_KINDS)}.")
    unit = doc.get("official_area_unit", "m2")
    if unit not in AREA_UNITS_M2:
        problems.append(f"{where}: official_area_unit {unit!r} is not one of {', '.join(AREA_UNITS_M2)}.")
    optional = doc.get("optional", [])
    if isinstance(optional, list):
        problems += [
            f"{where}: optional names {o!r}, which is not a role in [fields] ({', '.join(sorted(fields))})."
            for o in optional
            if o not in fields or o == "code"
        ]
    if problems:
        raise InputError(problems)
    detect = _text_list(doc.get("detect", [fields["code"]]), "detect", where)
    return Schema(
        name=str(doc.get("name", default_name)),
        title=str(doc.get("title", doc.get("name", default_name))),
        code_system=str(system),
        fields={k: str(v) for k, v in fields.items()},
        detect=detect,
        official_area_kind=str(kind),
        official_area_unit=str(unit),
        extras=_text_list(doc.get("extras", []), "extras", where),
        optional=_text_list(optional, "optional", where),
        source=where,
    )


def load_schema(name_or_path: str | Path) -> Schema:
    """Return a shipped schema by name (``sandiao``) or a user's schema from its TOML file."""
    text = str(name_or_path)
    path = SCHEMA_DIR / f"{text}.toml" if text in BUILTIN_SCHEMAS else Path(text)
    if path.suffix.lower() != ".toml":
        raise InputError(
            f"{{p:schema}} {text!r} is neither a known schema ({', '.join(('auto', *BUILTIN_SCHEMAS))}) "
            "nor a .toml file. Pick one, or write a schema file (see gis/data/schemas/sandiao.toml)."
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the schema file ({exc.strerror or exc}). Check the path.") from exc
    try:
        doc = tomllib.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: is not a readable UTF-8 TOML file ({exc}). Fix the schema file.") from exc
    return parse_schema(doc, where=str(path), default_name=path.stem)


def pick_schema(choice: str, columns: Iterable[str], *, where: str) -> tuple[Schema, str | None]:
    """Return the schema for ``--schema`` (auto, a shipped name or a .toml file) and, for auto, the note saying which.

    Raises
    ------
    InputError
        auto matched none of the shipped schemas, or more than one (the fields found are named).
    """
    columns = [str(c) for c in columns]
    if choice != "auto":
        return load_schema(choice), None
    schemas = [load_schema(n) for n in BUILTIN_SCHEMAS]
    matched = [s for s in schemas if all(find_column(columns, f) for f in s.detect)]
    found = ", ".join(c for c in columns if c != "geometry") or "none"
    if len(matched) == 1:
        s = matched[0]
        return s, f"schema {s.name} ({s.title}): the file has the field(s) {', '.join(s.detect)}"
    known = "; ".join(f"{s.name}: {', '.join(s.detect)}" for s in schemas)
    if not matched:
        raise InputError(
            f"{where}: no schema matches its fields ({found}); the schemas look for {known}. "
            "Pass {p:schema} sandiao|kongui|yongdi, or {p:schema} FILE.toml naming your fields."
        )
    raise InputError(
        f"{where}: its fields ({found}) match several schemas ({', '.join(s.name for s in matched)}). "
        "Pass {p:schema} with the one it is."
    )
