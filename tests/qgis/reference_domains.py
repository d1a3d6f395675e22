"""Write a GeoPackage whose field domains GDAL itself writes: the reference the export's domains are compared with.

Run with the Python that has GDAL's bindings (Debian's python3-gdal, with python3-qgis):

    /usr/bin/python3 reference_domains.py OUT.gpkg < SPEC.json

SPEC: {"domains": [{"name", "description", "values": [[code, label], ...]}, ...],
       "fields": {table: {field: domain name}}}: a layer of polygons per table with those text fields,
each given its domain by ``OGRFieldDefn.SetDomainName``, the domains added by ``AddFieldDomain``.
"""

import json
import sys

from osgeo import gdal, ogr, osr

gdal.UseExceptions()
spec = json.load(sys.stdin)
ds = gdal.GetDriverByName("GPKG").Create(sys.argv[1], 0, 0, 0, gdal.GDT_Unknown, options=["VERSION=1.2"])
for domain in spec["domains"]:
    coded = {code: label for code, label in domain["values"]}
    field_domain = ogr.CreateCodedFieldDomain(domain["name"], domain["description"], ogr.OFTString, ogr.OFSTNone, coded)
    if not ds.AddFieldDomain(field_domain):
        sys.exit(f"GDAL refused the domain {domain['name']}")
srs = osr.SpatialReference()
srs.ImportFromEPSG(4547)
for table, fields in spec["fields"].items():
    layer = ds.CreateLayer(table, srs, ogr.wkbPolygon)
    for name, domain in fields.items():
        definition = ogr.FieldDefn(name, ogr.OFTString)
        definition.SetDomainName(domain)
        layer.CreateField(definition)
ds = None
