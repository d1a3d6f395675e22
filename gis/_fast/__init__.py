"""Optional speed-ups behind plain functions; each is tested against the plain geopandas/shapely result it replaces.

- :mod:`gis._fast.pairs`: candidate pairs of overlapping boxes by a grid of cells (vs an STRtree);
- :mod:`gis._fast.inside`: features whose box lies inside a polygon by a grid of cells (vs
  ``shapely.contains_properly`` of every feature);
- :mod:`gis._fast.rings`: areas and bounds of polygons from reprojected coordinates (vs ``shapely.area``
  of reprojected polygons);
- :mod:`gis._fast.proj`: PROJ's own pipeline without axis swaps (vs ``Transformer.from_crs(always_xy=True)``);
- :mod:`gis._fast.wkb`: WKB of reprojected polygons written from coordinates (vs ``shapely.to_wkb``);
- :mod:`gis._fast.geoarrow`: a GeoArrow-encoded GeoParquet layer read with pyarrow, polygon areas from its
  coordinate arrays (vs ``geopandas.read_parquet`` + ``shapely.area``);
- :mod:`gis._fast.groups`: counts and sums per combination of categorical keys (vs ``DataFrame.groupby``).
"""
