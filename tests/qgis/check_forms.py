"""Open an exported GeoPackage in QGIS (headless) and print each layer's edit form as JSON; or edit a feature.

Run with the Python that has QGIS (Debian's python3-qgis):

    /usr/bin/python3 check_forms.py FILE
        per layer and field: the editor widget (type, and a ValueMap's label -> code pairs), whether the
        form shows it read-only, its constraints (not null, unique: strength and origin), its alias;
    /usr/bin/python3 check_forms.py FILE --edit LAYER ID_FIELD ID FIELD VALUE
        set FIELD of the feature whose ID_FIELD is ID to VALUE in QGIS's edit buffer and commit it, as
        a user does in the attribute table; prints whether the commit succeeded and QGIS's errors.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from osgeo import ogr
from qgis.core import QgsApplication, QgsFieldConstraints, QgsVectorLayer

STRENGTH = {
    QgsFieldConstraints.ConstraintStrengthNotSet: "not set",
    QgsFieldConstraints.ConstraintStrengthHard: "hard",
    QgsFieldConstraints.ConstraintStrengthSoft: "soft",
}
ORIGIN = {
    QgsFieldConstraints.ConstraintOriginNotSet: "not set",
    QgsFieldConstraints.ConstraintOriginProvider: "provider",
    QgsFieldConstraints.ConstraintOriginLayer: "layer",
}


def _constraint(constraints, which):
    if not constraints.constraints() & which:
        return None
    return {
        "strength": STRENGTH[constraints.constraintStrength(which)],
        "origin": ORIGIN[constraints.constraintOrigin(which)],
    }


def describe(layer):
    fields = {}
    form = layer.editFormConfig()
    for i, field in enumerate(layer.fields()):
        setup = layer.editorWidgetSetup(i)
        config = setup.config()
        value_map = None
        if setup.type() == "ValueMap":
            entries = config.get("map", [])
            entries = entries if isinstance(entries, list) else [{k: v} for k, v in entries.items()]
            value_map = [[label, code] for entry in entries for label, code in entry.items()]
        constraints = field.constraints()
        fields[field.name()] = {
            "widget": setup.type(),
            "value_map": value_map,
            "read_only": form.readOnly(i),
            "not_null": _constraint(constraints, QgsFieldConstraints.ConstraintNotNull),
            "unique": _constraint(constraints, QgsFieldConstraints.ConstraintUnique),
            "alias": layer.attributeAlias(i),
        }
    return fields


def edit(layer, id_field, feature_id, field, value):
    matches = [f for f in layer.getFeatures() if str(f[id_field]) == feature_id]
    if len(matches) != 1:
        return {"committed": False, "errors": [f"{len(matches)} features with {id_field} {feature_id}"]}
    layer.startEditing()
    changed = layer.changeAttributeValue(matches[0].id(), layer.fields().indexOf(field), value)
    committed = layer.commitChanges()
    return {"changed": changed, "committed": committed, "errors": layer.commitErrors()}


app = QgsApplication([], False)
app.initQgis()
path = sys.argv[1]
if len(sys.argv) > 2 and sys.argv[2] == "--edit":
    name, id_field, feature_id, field, value = sys.argv[3:8]
    out = edit(QgsVectorLayer(f"{path}|layername={name}", name, "ogr"), id_field, feature_id, field, value)
else:
    source = ogr.Open(path)
    names = [source.GetLayer(i).GetName() for i in range(source.GetLayerCount())]
    source = None
    out = {}
    for name in names:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        out[name] = {"valid": layer.isValid(), "fields": describe(layer)}
print(json.dumps(out, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS 3.22 crashes in exitQgis() while layers are still referenced; nothing is left to save
