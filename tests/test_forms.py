"""Edit forms and field domains of the exported GeoPackage (gis/export/forms.py, gis/export/domains.py).

Checked with the real components: the domains against a GeoPackage GDAL's own ``AddFieldDomain``
writes, listed by ``ogrinfo``, GDAL's validator; the forms opened in QGIS (Debian's python3-qgis, as
tests/qgis/check_forms.py reports them), and an edit saved in QGIS brought back with ``gis import``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from gis import settings
from gis.cli import cli
from gis.codes import code_list
from gis.export import export
from gis.export.domains import write_domains
from gis.export.forms import CATEGORY, CONTROL_KIND, DISTRICT, LAND_CLASS, PART, STATUS, code_domain, form_for
from gis.pipeline import run_check
from tests.conftest import DATA, REPO
from tests.test_landuse import rect, write_control, write_landuse

QGIS_PYTHON = os.environ.get("GIS_QGIS_PYTHON", "/usr/bin/python3")
#: 三调-coded parcels in the test district: industrial, railway, paddy field, and a code 三调 lacks.
PARCELS = [
    ("S1", "0601", rect(0, 0, 1000, 500), 500_010.0),
    ("S2", "1001", rect(1000, 0, 500, 400), None),
    ("S3", "0101", rect(0, 1000, 500, 200), None),
    ("S4", "9999", rect(3000, 0, 100, 100), None),
]
THEMATIC = {"district": DISTRICT, "part": PART, "category": CATEGORY, "status": STATUS}


def _need(python_module: str) -> None:
    probe = subprocess.run([QGIS_PYTHON, "-c", f"import {python_module}"], capture_output=True)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"Debian's {python_module} bindings are missing; scripts/test.sh installs python3-qgis")
        pytest.skip(f"{python_module} (Debian python3-qgis) is not installed")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The test layers with a 三调-coded land-use layer and control lines, exported: (GeoPackage, layers folder)."""
    folder = tmp_path_factory.mktemp("forms") / "layers"
    shutil.copytree(DATA / "layers", folder)
    write_landuse(folder, PARCELS, system="sandiao")
    write_control(folder)
    path = folder.parent / "planning.gpkg"
    export(run_check(layers_dir=folder), path)
    return path, folder


def _qml(path) -> dict[str, ET.Element]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT f_table_name, styleQML FROM layer_styles").fetchall()
    return {table: ET.fromstring(qml.split("\n", 1)[1]) for table, qml in rows}  # past the DOCTYPE


def _value_maps(root: ET.Element) -> dict[str, list[tuple[str, str]]]:
    """Return field -> [(code, label)] of every ValueMap widget of a QML."""
    out = {}
    for field in root.iter("field"):
        widget = field.find("editWidget")
        if widget is not None and widget.get("type") == "ValueMap":
            entries = widget.findall("./config/Option/Option[@name='map']/Option/Option")
            out[field.get("name")] = [(e.get("value"), e.get("name")) for e in entries]
    return out


def test_domains_are_the_vocabularies():
    assert DISTRICT.values[0] == ("440307", "龙岗区 Longgang")
    assert ("consolidation", "整备范围 consolidation") in PART.values and PART.codes() == list(settings.PARTS)
    assert STATUS.codes() == list(settings.STATUSES) and ("met", "达标 met") in STATUS.values
    assert CATEGORY.codes() == list(settings.CATEGORIES) and ("block_line_1", "一级工业区块线 block_line_1") in (
        CONTROL_KIND.values
    )
    assert ("unknown code", "未知代码 unknown code") in LAND_CLASS.values and ("industrial", "工业用地 industrial") in (
        LAND_CLASS.values
    )
    sandiao = code_domain("sandiao")
    assert sandiao.name == "landuse_code_sandiao" and ("0601", "0601 工业用地") in sandiao.values
    assert sandiao.codes() == list(code_list("sandiao").table.index)  # that system's codes, none other
    assert ("1001", "1001 工业用地") in code_domain("yongdi").values and ("1001", "1001 铁路用地") in sandiao.values
    landuse = form_for("landuse", code_system="sandiao")
    assert landuse.coded["code"] == sandiao and "area_ha" in landuse.read_only and landuse.ids == ("fid", "parcel_id")
    assert form_for("parks").read_only == settings.COMPUTED_FIELDS and form_for("districts").coded == {}


def test_qml_carries_drop_downs_read_only_fields_and_id_constraints(exported):
    path, _ = exported
    qml = _qml(path)
    for table in settings.LAYER_NAMES:
        root = qml[table]
        assert set(root.get("styleCategories").split("|")) >= {"Symbology", "Labeling", "Fields", "Forms"}
        assert _value_maps(root) == {f: list(d.values) for f, d in THEMATIC.items()}
        read_only = {e.get("name") for e in root.findall("./editable/field") if e.get("editable") == "0"}
        assert read_only == set(settings.COMPUTED_FIELDS)
        constraints = {e.get("field"): e.attrib for e in root.findall("./constraints/constraint")}
        assert set(constraints) == {"fid", "feature_id"}
        for c in constraints.values():  # not null (1) | unique (2), both of strength hard (1)
            assert (c["constraints"], c["notnull_strength"], c["unique_strength"]) == ("3", "1", "1")
        aliases = {e.get("field"): e.get("name") for e in root.iter("alias")}
        assert aliases["area_ha"] == "量测面积（公顷）" and aliases["district"] == "行政区代码"
    landuse = _value_maps(qml["landuse"])
    assert landuse["code"] == list(code_domain("sandiao").values) and ("0601", "0601 工业用地") in landuse["code"]
    assert "100101" not in dict(landuse["code"])  # a 用地用海 code: not of this layer's system
    assert landuse["land_class"] == list(LAND_CLASS.values) and landuse["district"] == list(DISTRICT.values)
    assert _value_maps(qml["control_lines"]) == {"kind": list(CONTROL_KIND.values), "district": list(DISTRICT.values)}


def _rows(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute(sql).fetchall(), key=repr)


def test_domains_are_written_as_gdal_writes_them(exported, tmp_path):
    """The same domains and fields written by GDAL's own AddFieldDomain / SetDomainName: the same tables and rows."""
    _need("osgeo.gdal")
    path, _ = exported
    fields = {
        table: form_for(table, code_system="sandiao").present(names).coded
        for table, names in (
            ("parks", ["district", "part", "category", "status"]),
            ("landuse", ["code", "land_class", "district"]),
            ("control_lines", ["kind", "district"]),
        )
    }
    domains = {d.name: d for by_field in fields.values() for d in by_field.values()}
    spec = {
        "domains": [{"name": d.name, "description": d.description, "values": d.values} for d in domains.values()],
        "fields": {t: {f: d.name for f, d in by_field.items()} for t, by_field in fields.items()},
    }
    reference = tmp_path / "gdal.gpkg"
    subprocess.run(
        [QGIS_PYTHON, str(REPO / "tests" / "qgis" / "reference_domains.py"), str(reference)],
        input=json.dumps(spec, ensure_ascii=False),
        text=True,
        check=True,
        capture_output=True,
    )
    tables = "SELECT name, sql FROM sqlite_master WHERE name IN ('gpkg_data_columns', 'gpkg_data_column_constraints')"
    extensions = "SELECT * FROM gpkg_extensions WHERE extension_name = 'gpkg_schema'"
    constraints = "SELECT constraint_name, constraint_type, quote(value), min, min_is_inclusive, max, max_is_inclusive, quote(description) FROM gpkg_data_column_constraints"
    columns = "SELECT * FROM gpkg_data_columns WHERE table_name IN ('parks', 'landuse', 'control_lines')"
    for sql in (tables, extensions, constraints):
        assert _rows(path, sql) == _rows(reference, sql), sql
    assert _rows(path, columns) == _rows(reference, columns)
    attached = _rows(path, "SELECT table_name, column_name, constraint_name FROM gpkg_data_columns")
    assert {(t, f, d.name) for t in settings.LAYER_NAMES for f, d in THEMATIC.items()} <= set(attached)


def test_domains_written_again_replace_the_old_ones(exported, tmp_path):
    path = tmp_path / "copy.gpkg"
    shutil.copy(exported[0], path)
    constraints = "SELECT * FROM gpkg_data_column_constraints"
    before = _rows(path, constraints)
    write_domains(path, {"target_results": {"status": STATUS}})  # a field more, of a domain the file holds
    assert len(_rows(path, "SELECT * FROM gpkg_extensions WHERE extension_name = 'gpkg_schema'")) == 2
    assert ("target_results", "status", None, None, None, None, "status") in _rows(
        path, "SELECT * FROM gpkg_data_columns"
    )
    assert _rows(path, constraints) == before


def test_ogrinfo_lists_the_domains_and_the_fields_carry_them(exported):
    if not shutil.which("ogrinfo"):
        pytest.fail("ogrinfo not found: install the Debian package gdal-bin (scripts/test.sh does)")
    path, _ = exported

    def ogrinfo(*args: str) -> str:
        result = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, check=True)
        assert "ERROR" not in result.stderr, result.stderr
        return result.stdout

    parks = ogrinfo("-so", str(path), "parks")
    for field, domain in THEMATIC.items():
        assert f"{field}: String (0.0), domain name={domain.name}" in parks
    assert "area_ha: Real (0.0)\n" in parks  # no domain on others
    landuse = ogrinfo("-so", str(path), "landuse")
    assert "code: String (0.0), domain name=landuse_code_sandiao" in landuse
    assert "land_class: String (0.0), domain name=land_class" in landuse
    assert "kind: String (0.0), domain name=control_kind" in ogrinfo("-so", str(path), "control_lines")
    codes = ogrinfo("-q", str(path), "-fielddomain", "landuse_code_sandiao")
    assert "Type: coded" in codes and "0601: 0601 工业用地" in codes and "1001: 1001 铁路用地" in codes
    assert codes.count(": ") - codes.count("Description: ") >= len(code_list("sandiao").table)
    district = ogrinfo("-q", str(path), "-fielddomain", "district")
    assert "440307: 龙岗区 Longgang" in district and "440310: 坪山区 Pingshan" in district
    assert "整备范围 consolidation" in ogrinfo("-q", str(path), "-fielddomain", "part")


def test_the_gpkg_with_domains_passes_gdal_validator(exported):
    try:
        from osgeo_utils.samples import validate_gpkg
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("gdal-utils is missing; scripts/test.sh installs it (pip install --no-deps gdal-utils)")
        pytest.skip("gdal-utils (GDAL's validate_gpkg.py) is not installed")
    path, _ = exported
    assert validate_gpkg.main(["validate_gpkg", "-k", str(path)], output_in_string=True) == 0
    _need("osgeo.gdal")  # with GDAL's bindings the validator checks the geometry blobs too
    result = subprocess.run([QGIS_PYTHON, validate_gpkg.__file__, "-k", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _qgis(*args: str) -> dict:
    out = subprocess.run(
        [QGIS_PYTHON, str(REPO / "tests" / "qgis" / "check_forms.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=True,
        timeout=300,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_qgis_shows_drop_downs_read_only_fields_and_required_ids(exported):
    _need("qgis.core")
    path, _ = exported
    layers = _qgis(str(path))
    expected = {
        **{name: (THEMATIC, settings.COMPUTED_FIELDS, "feature_id") for name in settings.LAYER_NAMES},
        "landuse": (form_for("landuse", code_system="sandiao").coded, form_for("landuse").read_only, "parcel_id"),
        "control_lines": ({"kind": CONTROL_KIND, "district": DISTRICT}, ("district",), "line_id"),
    }
    for name, (coded, read_only, text_id) in expected.items():
        info = layers[name]
        assert info["valid"], name
        fields = info["fields"]
        for field, domain in coded.items():
            assert fields[field]["widget"] == "ValueMap", (name, field)
            assert fields[field]["value_map"] == [[label, code] for code, label in domain.values], (name, field)
        for field, shown in fields.items():
            assert shown["read_only"] == (field in read_only), (name, field)
        hard = {"strength": "hard", "origin": "provider"}
        assert fields["fid"]["not_null"] == hard and fields["fid"]["unique"] == hard  # the GeoPackage's row id
        mine = {"strength": "hard", "origin": "layer"}  # from the style: QGIS's form refuses an empty or repeated id
        assert fields[text_id]["not_null"] == mine and fields[text_id]["unique"] == mine, name
        assert all(f["not_null"] is None for k, f in fields.items() if k not in ("fid", text_id))
    assert layers["parks"]["fields"]["area_ha"]["alias"] == "量测面积（公顷）"
    assert layers["parks"]["fields"]["status"]["read_only"] and layers["landuse"]["fields"]["land_class"]["read_only"]
    assert not layers["landuse"]["fields"]["code"]["read_only"]


EDITS = [  # layer, its id field, feature, field, the unknown value, what gis import says
    (
        "parks",
        "feature_id",
        "TT-PK-01",
        "district",
        "440399",
        "layer parks, feature TT-PK-01: field district is '440399'",
    ),
    ("parks", "feature_id", "TT-PK-02", "part", "extnt", "layer parks, feature TT-PK-02: field part is 'extnt'"),
    ("parks", "feature_id", "TT-PK-01", "status", "mett", "layer parks, feature TT-PK-01: field status is 'mett'"),
    (
        "landuse",
        "parcel_id",
        "S2",
        "code",
        "0602x",
        "layer landuse, field code: 1 parcel(s) with a code that is no code of sandiao",
    ),
    (
        "control_lines",
        "line_id",
        "BL2",
        "kind",
        "block_line_3",
        "layer control_lines, field kind: 1 feature(s) of no known kind: BL2 ('block_line_3')",
    ),
]


@pytest.mark.parametrize(("layer", "id_field", "feature", "field", "value", "said"), EDITS, ids=[e[3] for e in EDITS])
def test_an_unknown_code_saved_in_qgis_is_refused_by_gis_import(
    exported, tmp_path, layer, id_field, feature, field, value, said
):
    _need("qgis.core")
    path, folder = exported
    edited = tmp_path / "edited.gpkg"
    shutil.copy(path, edited)
    saved = _qgis(str(edited), "--edit", layer, id_field, feature, field, value)
    assert saved["changed"] and saved["committed"], saved  # QGIS saves it: neither the widget nor GDAL stops it
    layers = tmp_path / "layers"
    shutil.copytree(folder, layers)
    before = {p.name: p.read_bytes() for p in layers.iterdir()}
    result = CliRunner().invoke(cli, ["import", str(edited), "--layer", layer, "--layers", str(layers)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {edited}: {said}"), result.stderr
    assert feature in errors[0] and field in errors[0]
    assert {p.name: p.read_bytes() for p in layers.iterdir()} == before  # nothing written
