"""Open an exported GeoPackage in QGIS (headless) and print how each layer is styled, as JSON.

Run with the Python that has QGIS (Debian's python3-qgis): /usr/bin/python3 check_styles.py FILE [PNG]
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from osgeo import ogr
from qgis.core import QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsVectorLayer
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def _unrendered(layer):
    """Features no rule of the layer's style draws."""
    from qgis.core import QgsRenderContext

    renderer = layer.renderer().clone()
    context = QgsRenderContext()
    renderer.startRender(context, layer.fields())
    missing = [f.id() for f in layer.getFeatures() if not renderer.willRenderFeature(f, context)]
    renderer.stopRender(context)
    return missing


app = QgsApplication([], False)
app.initQgis()
path = sys.argv[1]
out = {}
layers = []
source = ogr.Open(path)
present = {source.GetLayer(i).GetName() for i in range(source.GetLayerCount())}
source = None
# bottom to top; the land-use parcels and control lines only when the run had them
names = ["districts", *(["landuse"] if "landuse" in present else [])]
names += ["consolidation_zones", "renewal_units", "industrial_land", "parks"]
names += ["control_lines"] if "control_lines" in present else []
for name in names:
    layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
    renderer = layer.renderer()
    rules = renderer.rootRule().children() if renderer.type() == "RuleRenderer" else []
    categories = renderer.categories() if renderer.type() == "categorizedSymbol" else []
    area = layer.fields().indexOf("area_ha")
    out[name] = {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "renderer": renderer.type(),
        "rules": len(rules),
        "rule_labels": [r.label() for r in rules[:2]],
        "labels": layer.labelsEnabled(),
        "label_field": layer.labeling().settings().fieldName if layer.labelsEnabled() else None,
        "alias_area_ha": layer.attributeAlias(area) if area >= 0 else None,
        "crs": layer.crs().authid(),
        "unrendered": _unrendered(layer),
        "categories": [
            {"value": c.value(), "label": c.label(), "color": c.symbol().color().name()} for c in categories
        ],
        "class_attribute": renderer.classAttribute() if categories else None,
    }
    layers.append(layer)
if len(sys.argv) > 2:
    settings = QgsMapSettings()
    settings.setLayers(list(reversed(layers)))
    settings.setExtent(layers[0].extent())
    settings.setOutputSize(QSize(1200, 800))
    settings.setBackgroundColor(QColor("white"))
    settings.setDestinationCrs(layers[0].crs())
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(sys.argv[2])
print(json.dumps(out, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS 3.22 crashes in exitQgis() while layers are still referenced; nothing is left to save
