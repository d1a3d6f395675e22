"""Render stage: what a finished check looks like to people.

- :mod:`gis.render.tables`: result and QA-finding tables for the terminal, CSV and JSON;
- :mod:`gis.render.mapdata`: the data a web map embeds, a documented schema with named keys
  (``mapdata.schema.json`` beside it states it as a JSON Schema);
- :mod:`gis.render.encoding`: the compact encodings that data uses (strings table, varints,
  geometries);
- :mod:`gis.render.webmap`: single-file Folium web maps that work with no network, drawn by
  the small scripts in ``gis/render/js/`` and styled by ``webmap.css``.

The package imports nothing itself, so importing one renderer does not load the others.
"""
