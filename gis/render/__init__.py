"""Render stage: what a finished check looks like to people.

- :mod:`gis.render.mapdata`: the data a web map embeds, encoded compactly;
- :mod:`gis.render.webmap`: single-file Folium web maps that work with no network, drawn by
  the small scripts in ``gis/render/js/`` and styled by ``webmap.css``.

The package imports nothing itself, so importing one renderer does not load the others.
"""
