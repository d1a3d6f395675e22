"""Findings: what the reader and ``gis qa`` say about a layer, one feature at a time.

A finding names the file, the layer, the feature and the field, says what is wrong and how
to fix it, and has a severity: an ``error`` stops ``gis check`` and ``gis build``, a
``warning`` does not. Findings with a place carry it (a point or the area concerned, in
EPSG:4326) so the GeoPackage and the web map can show them.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)


@dataclass(frozen=True)
class Finding:
    """One problem of one feature (or of a layer, a file, a pair of features)."""

    severity: str
    check: str
    message: str
    source: str = ""
    layer: str | None = None
    fid: str | None = None
    field: str | None = None
    other_layer: str | None = None
    other_fid: str | None = None
    area_m2: float | None = None
    geometry: shapely.Geometry | None = None

    def text(self) -> str:
        """Return the finding as one line: file, layer, feature, then the message."""
        where = [self.source] if self.source else []
        if self.layer is not None:
            where.append(f"layer {self.layer}" + (f", feature {self.fid}" if self.fid is not None else ""))
        return ": ".join([*where, self.message]) if where else self.message


def errors(findings: list[Finding]) -> list[Finding]:
    """Return the findings of severity ``error``."""
    return [f for f in findings if f.severity == ERROR]
