"""GeoPackage field domains: the coded fields' code lists written as GDAL writes coded field domains.

The GeoPackage schema extension holds them: ``gpkg_data_column_constraints`` has one ``enum`` row per
code (its label as the description) and, for the domain's own description, a row named
``_<domain>_domain_description``; ``gpkg_data_columns`` attaches a domain to a table's field; both
tables are registered in ``gpkg_extensions`` as ``gpkg_schema``. The tables, rows and extension
rows are those GDAL's GeoPackage driver writes for ``AddFieldDomain`` and
``OGRFieldDefn::SetDomainName`` (GDAL 3.6, checked against it by the tests), so ``ogrinfo`` lists
the domains, GDAL's readers give each field its domain name, and QGIS offers the codes.

pyogrio does not write domains: the export writes them with sqlite3 into its temporary file, once
GDAL has closed it and before it is moved into place.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from gis.export.forms import Domain

#: The definition GDAL gives the schema extension in ``gpkg_extensions``.
SCHEMA_EXTENSION = "http://www.geopackage.org/spec121/#extension_schema"
#: The tables of the schema extension, as GDAL creates them.
SCHEMA_TABLES: dict[str, str] = {
    "gpkg_data_columns": (
        "CREATE TABLE gpkg_data_columns (table_name TEXT NOT NULL,column_name TEXT NOT NULL,name TEXT UNIQUE,"
        "title TEXT,description TEXT,mime_type TEXT,constraint_name TEXT,"
        "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),CONSTRAINT gdc_tn UNIQUE (table_name, name))"
    ),
    "gpkg_data_column_constraints": (
        "CREATE TABLE gpkg_data_column_constraints (constraint_name TEXT NOT NULL,constraint_type TEXT NOT NULL,"
        "value TEXT,min NUMERIC,min_is_inclusive BOOLEAN,max NUMERIC,max_is_inclusive BOOLEAN,description TEXT,"
        "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"
    ),
}
_EXTENSIONS_TABLE = (
    "CREATE TABLE gpkg_extensions (table_name TEXT,column_name TEXT,extension_name TEXT NOT NULL,"
    "definition TEXT NOT NULL,scope TEXT NOT NULL,CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
)


def write_domains(path: Path, fields: dict[str, dict[str, Domain]]) -> None:
    """Write the field domains of a GeoPackage and attach them: ``fields`` maps table -> field -> domain.

    Every domain named is written once (a domain shared by several fields, such as ``district``,
    is one domain); one the file holds already is replaced, as is a field's domain. The file must be
    one no other connection has open (the export's temporary file).
    """
    domains = {d.name: d for by_field in fields.values() for d in by_field.values()}
    if not domains:
        return
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        have = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "gpkg_extensions" not in have:
            db.execute(_EXTENSIONS_TABLE)
        for table, ddl in SCHEMA_TABLES.items():
            if table not in have:
                db.execute(ddl)
                db.execute(
                    "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
                    "VALUES (?, NULL, 'gpkg_schema', ?, 'read-write')",
                    (table, SCHEMA_EXTENSION),
                )
        db.executemany(
            "DELETE FROM gpkg_data_column_constraints WHERE constraint_name IN (?, ?)",
            [(name, f"_{name}_domain_description") for name in domains],
        )
        rows = []
        for domain in domains.values():
            if domain.description:
                rows.append((f"_{domain.name}_domain_description", "", domain.description))  # value '', as GDAL
            rows += [(domain.name, code, label) for code, label in domain.values]
        db.executemany(
            "INSERT INTO gpkg_data_column_constraints (constraint_name, constraint_type, value, description) "
            "VALUES (?, 'enum', ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, constraint_name) VALUES (?, ?, ?)",
            [(table, name, domain.name) for table, by_field in fields.items() for name, domain in by_field.items()],
        )
