"""Reading and writing files, and nothing else: vector layers (:mod:`gis.io.vector`), the targets table (:mod:`gis.io.targets`), boundary-point tables (:mod:`gis.io.boundary_points`)."""
