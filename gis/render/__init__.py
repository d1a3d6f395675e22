"""Render stage: what people read: tables for the terminal and files (:mod:`gis.render.tables`)."""
