"""Reading and writing files, and nothing else: vector layers (:mod:`gis.io.vector`), the targets table (:mod:`gis.io.targets`)."""
