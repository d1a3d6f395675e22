"""Edit forms of the exported layers: the coded fields' code lists, read-only fields and ids, as QGIS and GDAL take them.

One definition per coded field (a :class:`Domain`: its name, what it is, and each stored code with
its label) feeds both outputs of the GeoPackage: the QML of a layer's style gets a drop-down
(QGIS's ``ValueMap`` widget: the Chinese label shown, the code stored) for every coded field, the
computed fields read-only, and the id fields required and unique, enforced
(:func:`form_qml`); :mod:`gis.export.domains` writes the same code lists as GeoPackage field
domains (GDAL's coded field domains), so other tools see them too.

The code lists are the toolkit's vocabularies (:mod:`gis.settings`, :mod:`gis.codes`): districts
(``龙岗区 Longgang``), parts (``整备范围 consolidation``), categories, check statuses, the
land-use layer's codes in its own code system only (``0601 工业用地`` in 三调), land classes and
kinds of control line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from gis import settings, style
from gis.codes import code_list


@dataclass(frozen=True)
class Domain:
    """A coded field's code list: its name (the GeoPackage field domain's), what it is, and (code, label) pairs."""

    name: str
    description: str
    values: tuple[tuple[str, str], ...]

    def codes(self) -> list[str]:
        """Return the stored codes, in order."""
        return [code for code, _ in self.values]


DISTRICT = Domain(
    "district",
    "行政区 District (code of the administrative division)",
    tuple((code, f"{zh} {en}") for code, (zh, en) in settings.DISTRICTS.items()),
)
PART = Domain(
    "part",
    "部分 Part of a feature",
    tuple((part, f"{settings.PART_TITLES_ZH[part]} {part}") for part in settings.PARTS),
)
CATEGORY = Domain(
    "category",
    "类别 Category of a feature",
    tuple((key, f"{zh} {key}") for key, (zh, _en) in settings.CATEGORIES.items()),
)
STATUS = Domain(
    "status",
    "核查状态 Check status (computed by gis check)",
    tuple((status, f"{style.STATUS_ZH[status]} {status}") for status in settings.STATUSES),
)
LAND_CLASS = Domain(
    "land_class",
    "地类 Land class of the code (computed)",
    tuple((key, f"{style.land_class_title(key)[0]} {key}") for key in style.LAND_CLASS_COLORS),
)
CONTROL_KIND = Domain(
    "control_kind",
    "管控线类型 Kind of control line",
    tuple((kind, f"{zh} {kind}") for kind, (zh, _en) in settings.CONTROL_KINDS.items()),
)


def code_domain(system: str) -> Domain:
    """Return the land-use codes of one code system (``0601 工业用地``), as a domain named after the system."""
    names = code_list(system).table["name_zh"]
    return Domain(
        f"landuse_code_{system}",
        f"用地代码 Land-use code ({system}: {settings.CODE_SYSTEMS[system]})",
        tuple((str(code), f"{code} {name}") for code, name in names.items()),
    )


@dataclass(frozen=True)
class Form:
    """A table's edit form: its coded fields, its read-only fields, and its ids (not null, unique)."""

    coded: dict[str, Domain] = field(default_factory=dict)
    read_only: tuple[str, ...] = ()
    #: ``fid`` is the GeoPackage's row id; the other is the layer's own text id.
    ids: tuple[str, ...] = ("fid",)

    def present(self, fields: list[str]) -> Form:
        """Return the form restricted to the fields a table has (``fid`` is always there)."""
        have = {"fid", *fields}
        return Form(
            {f: d for f, d in self.coded.items() if f in have},
            tuple(f for f in self.read_only if f in have),
            tuple(f for f in self.ids if f in have),
        )


#: Fields of the land-use layer that follow from its code, geometry or place, and its one code system.
LANDUSE_READ_ONLY: tuple[str, ...] = ("code_system", "code_name", "land_class", "class_zh", "district", "area_ha")


def form_for(table: str, *, code_system: str | None = None) -> Form:
    """Return the edit form of an exported table (a thematic layer, ``landuse``, ``control_lines``; others: none).

    The land-use layer's codes are those of ``code_system``, the layer's one system. Its
    ``district``, like the control lines', is taken from the parcel's place by ``gis import``:
    shown with its label, read-only.
    """
    if table in settings.LAYER_NAMES:
        coded = {"district": DISTRICT, "part": PART, "category": CATEGORY, "status": STATUS}
        return Form(coded, settings.COMPUTED_FIELDS, ("fid", "feature_id"))
    if table == settings.LANDUSE_LAYER:
        codes = {"code": code_domain(code_system)} if code_system in settings.CODE_SYSTEMS else {}
        return Form({**codes, "land_class": LAND_CLASS, "district": DISTRICT}, LANDUSE_READ_ONLY, ("fid", "parcel_id"))
    if table == settings.CONTROL_LAYER:
        return Form({"kind": CONTROL_KIND, "district": DISTRICT}, ("district",), ("fid", "line_id"))
    return Form()


def _value_map(domain: Domain) -> str:
    entries = "\n".join(
        f"""              <Option type="Map">
                <Option type="QString" name={quoteattr(label)} value={quoteattr(code)}/>
              </Option>"""
        for code, label in domain.values
    )
    return f"""      <editWidget type="ValueMap">
        <config>
          <Option type="Map">
            <Option type="List" name="map">
{entries}
            </Option>
          </Option>
        </config>
      </editWidget>"""


def form_qml(form: Form) -> str:
    """Return the QML elements of an edit form, as QGIS 3 writes them inside ``<qgis>``.

    ``fieldConfiguration`` (a ``ValueMap`` widget per coded field: label shown, code stored),
    ``constraints`` (each id not null and unique, strength hard: QGIS refuses to save a feature
    that breaks them) and ``editable`` (the read-only fields). The style's ``styleCategories``
    must name ``Fields`` and ``Forms`` for QGIS to apply them.
    """
    nl = "\n"
    widgets = nl.join(
        f"""    <field name={quoteattr(name)} configurationFlags="None">
{_value_map(domain)}
    </field>"""
        for name, domain in form.coded.items()
    )
    constraints = nl.join(
        f'    <constraint field={quoteattr(name)} constraints="3" notnull_strength="1" unique_strength="1" exp_strength="0"/>'
        for name in form.ids
    )
    editable = nl.join(f'    <field name={quoteattr(name)} editable="0"/>' for name in form.read_only)
    return f"""  <fieldConfiguration>
{widgets}
  </fieldConfiguration>
  <constraints>
{constraints}
  </constraints>
  <editorlayout>generatedlayout</editorlayout>
  <editable>
{editable}
  </editable>"""
