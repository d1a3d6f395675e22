"""The targets on land classes and control lines measured on the land-use layer and the control lines (:mod:`gis.landuse`).

:class:`LandMeasure` answers one target row (layer ``landuse`` or ``control_lines``) with its area
in ha, or with the status it gets when there is nothing to measure (``no land-use layer``, ``no
control-line layer``) and a note saying why and how to add the data.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis import settings
from gis.codes import control_kinds, parse_part
from gis.crs import AREA_CRS
from gis.landuse import ADD_CONTROL_HINT, ADD_LANDUSE_HINT, SYNTHETIC_NOTE, LandUse, control_area_ha


class LandMeasure:
    """Measure the targets on land classes and control lines (layer ``landuse`` or ``control_lines``).

    :meth:`measure` returns the area in ha, or None with the status to give and a note saying why
    (no such layer, a code of another system, no parcel in the district).
    """

    def __init__(self, landuse: LandUse | None, control: gpd.GeoDataFrame | None, districts: gpd.GeoDataFrame | None):
        self.landuse, self.control, self.districts = landuse, control, districts
        self._projected: gpd.GeoDataFrame | None = None

    def _district(self, code: str) -> gpd.GeoSeries:
        if self._projected is None:
            assert self.districts is not None
            self._projected = self.districts.to_crs(AREA_CRS)
        return self._projected.geometry[(self._projected["district"] == code).to_numpy()]

    def measure(self, t: pd.Series) -> tuple[float | None, str, str]:
        """Return the target row's measured area (ha), or None with its status, and a note."""
        if t["layer"] == settings.CONTROL_LAYER:
            if self.control is None:
                return None, settings.NO_CONTROL, f"no control-line layer. {ADD_CONTROL_HINT}"
            kinds = control_kinds(t["part"])
            if not self.control["kind"].isin(kinds).any():
                return None, settings.NO_CONTROL, f"the control-line layer has no {t['part']}. {ADD_CONTROL_HINT}"
            if self.districts is None:
                return None, settings.NO_CONTROL, "no district boundary to sum the control lines in"
            return control_area_ha(self.control, t["part"], self._district(t["district"])), "", ""
        if self.landuse is None:
            return None, settings.NO_LANDUSE, f"no land-use layer. {ADD_LANDUSE_HINT}"
        part = parse_part(t["part"])
        lu = self.landuse
        if part.system is not None and part.system != lu.system:
            note = (
                f"the land-use layer is coded in {lu.system}, the target names a {part.system} code: "
                "name a land class (industrial) to compare across code systems"
            )
            return None, settings.NO_LANDUSE, note
        if not (lu.table["district"] == t["district"]).any():
            return (
                None,
                settings.NO_LANDUSE,
                f"the land-use layer has no parcel in district {t['district']}. {ADD_LANDUSE_HINT}",
            )
        mask = lu.mask(part, t["district"])
        area = lu.table["area_m2"].to_numpy()
        note = f"{int(mask.sum())} parcels of {Path(lu.source).name} ({lu.system} codes)"
        if lu.synthetic:
            note += f"; {SYNTHETIC_NOTE}"
        if part.relation is None:
            return float(area[mask].sum()) / 1e4, "", note
        if self.control is None:
            return None, settings.NO_CONTROL, f"no control-line layer. {ADD_CONTROL_HINT}"
        if not self.control["kind"].isin(part.control).any():
            missing = " or ".join(part.control)
            return None, settings.NO_CONTROL, f"the control-line layer has no {missing}. {ADD_CONTROL_HINT}"
        inside = float(lu.inside_m2(part.control, self.control)[mask].sum())
        measured = inside if part.relation == "inside" else float(area[mask].sum()) - inside
        return measured / 1e4, "", note
