"""What the HTML page of ``gis review`` draws of one sketch (:class:`Drawing`), in EPSG:4547."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from gis import settings
from gis.codes import control_kinds
from gis.review_targets import SketchShapes

#: The margin of a sketch's drawing on each side: about the sketch's own size, at least this (m).
DRAW_MARGIN_M = 500.0


@dataclass
class Drawing:
    """What the HTML page draws of one sketch (EPSG:4547): the sketch, what it overlaps, the lines and districts near it.

    ``box`` is the view: the sketch with a margin of about its own size on each side (at least
    :data:`DRAW_MARGIN_M`); everything else is clipped to it. ``conflicts``: S ∩ each conflict kind.
    """

    sketch: shapely.Geometry
    box: tuple[float, float, float, float]
    features: list[tuple[str, str, str, shapely.Geometry]] = field(default_factory=list)  # layer, part, fid
    control: list[tuple[str, shapely.Geometry]] = field(default_factory=list)  # kind
    districts: list[tuple[str, shapely.Geometry]] = field(default_factory=list)  # code
    conflicts: list[tuple[str, shapely.Geometry]] = field(default_factory=list)  # kind


def sketch_drawing(
    geom: shapely.Geometry,
    feats: pd.DataFrame,
    projected: np.ndarray,
    shapes: SketchShapes,
    control: tuple[shapely.STRtree, np.ndarray, np.ndarray] | None,
    districts: dict[str, shapely.Geometry],
) -> Drawing:
    """Return what the page draws for a sketch: it, the features it overlaps, the lines and districts in view.

    ``feats`` and ``projected``: the features the sketch overlaps, their rows and shapes in EPSG:4547;
    ``control``: the control lines' tree, shapes and kinds (None: no control-line layer).
    """
    x0, y0, x1, y1 = shapely.bounds(geom)
    pad = max(x1 - x0, y1 - y0, DRAW_MARGIN_M)
    box = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    drawing = Drawing(geom, box)
    clipped = shapely.clip_by_rect(projected, *box) if len(projected) else []
    drawing.features = [
        (str(f["layer"]), str(f["part"]), str(f["fid"]), g)
        for (_, f), g in zip(feats.iterrows(), clipped, strict=True)
        if not g.is_empty
    ]
    for kind in settings.CONFLICT_KINDS if control is not None else ():
        piece = shapes.control(control_kinds(kind))
        if piece is not None and piece.area >= settings.REVIEW_MIN_M2:
            drawing.conflicts.append((kind, piece))
    if control is not None:
        tree, geoms, kinds = control
        near = np.sort(tree.query(shapely.box(*box)))
        lines = shapely.clip_by_rect(geoms[near], *box)
        drawing.control = [(str(k), g) for k, g in zip(kinds[near], lines, strict=True) if not g.is_empty]
    for code, d in districts.items():
        if shapely.intersects(d, shapely.box(*box)):
            drawing.districts.append((code, shapely.clip_by_rect(d, *box)))
    return drawing
