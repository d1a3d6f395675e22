"""Validation: every data-model and geometry rule of the layers and the targets table, as findings.

Every reader (a folder of layers, a GeoPackage, a partitioned folder, ``gis import``) calls these
functions, so a rule is written once. Findings name the file, the layer, the feature and the
field and say how to fix the input; :func:`validate_layer` and :func:`validate_targets` raise one
:class:`~gis.errors.InputError` listing every error, so a user fixes everything in one pass.

- :mod:`gis.validate.text`: text as read (stripped, control characters, mojibake);
- :mod:`gis.validate.geometry`: the geometry rules;
- :mod:`gis.validate.layers`: a layer's features, fids across layers;
- :mod:`gis.validate.targets`: the targets table.
"""

from gis.validate.geometry import polygonal
from gis.validate.layers import check_layer, duplicate_fids, feature_frame, raise_errors, validate_layer
from gis.validate.targets import validate_targets
from gis.validate.text import _SAMPLE, control_findings, text_column, text_or_none, undo_mojibake

__all__ = [
    "_SAMPLE",
    "check_layer",
    "control_findings",
    "duplicate_fids",
    "feature_frame",
    "polygonal",
    "raise_errors",
    "text_column",
    "text_or_none",
    "undo_mojibake",
    "validate_layer",
    "validate_targets",
]
