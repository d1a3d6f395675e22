"""The basemap options of ``gis map`` and ``gis build`` (see :mod:`gis.render.basemaps`)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from gis.render.basemaps import DEFAULT_MAX_MB, SEPARATOR, Basemap, parse_basemaps, split_basemaps

F = TypeVar("F", bound=Callable[..., Any])

#: The environment variable read when no --basemap is given: basemaps separated by ``|``.
ENV = "GIS_BASEMAP"

_OPTIONS = (
    click.option(
        "--basemap",
        "basemap",
        multiple=True,
        metavar="SPEC",
        help="Background tiles, repeatable (the first shown, all in the layer control): none (default), osm, "
        "tianditu, amap; an XYZ URL https://HOST/{z}/{x}/{y}.png ({-y}: TMS rows, {s}: subdomain); "
        "wmts:URL?layer=NAME; mbtiles:FILE or dir:FOLDER (embedded: no network). Prefix gcj02: for GCJ-02 "
        f"tiles. Default: ${ENV} (several separated by '{SEPARATOR}').",
    ),
    click.option(
        "--basemap-frame",
        multiple=True,
        metavar="wgs84|gcj02",
        help="Frame of the basemaps' tiles (default wgs84); gcj02 moves the overlays as for Amap. Once for all "
        "(but the named ones) or once per --basemap.",
    ),
    click.option(
        "--basemap-name",
        multiple=True,
        metavar="TEXT",
        help="Name in the layer control (default: the MBTiles name, the folder, the host). Once or once per --basemap.",
    ),
    click.option(
        "--basemap-attribution",
        multiple=True,
        metavar="TEXT",
        help="Credit shown on the map (default: the MBTiles attribution, else the host or file). Once or once per --basemap.",
    ),
    click.option(
        "--basemap-subdomains",
        multiple=True,
        metavar="CHARS",
        help="What {s} takes in turn (default abc; 01234567 on tianditu.gov.cn). Once or once per --basemap.",
    ),
    click.option(
        "--basemap-max-mb",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_MAX_MB,
        show_default=True,
        help="What embedded tiles (mbtiles:, dir:) may add to a page; the most detailed zooms are left out first.",
    ),
    click.option(
        "--tianditu-key",
        envvar="GIS_TIANDITU_KEY",
        default=None,
        help="Tianditu key for --basemap tianditu and Tianditu WMTS URLs without tk= (or set GIS_TIANDITU_KEY).",
    ),
)


#: The parameters of the options, handed to the command as one dict, ``basemap_options``.
_NAMES = (
    "basemap",
    "basemap_frame",
    "basemap_name",
    "basemap_attribution",
    "basemap_subdomains",
    "basemap_max_mb",
    "tianditu_key",
)


def basemap_options(func: F) -> F:
    """Add the basemap options to a command, which gets them as one dict, ``basemap_options`` (read by :func:`basemaps_of`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        picked = {name: kwargs.pop(name) for name in _NAMES}
        return func(*args, basemap_options=picked, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def basemaps_of(options: dict[str, Any]) -> list[Basemap]:
    """Read the basemaps the options give (``$GIS_BASEMAP`` when no --basemap); errors raise InputError (exit 2)."""
    specs: Sequence[str] = options["basemap"] or split_basemaps(os.environ.get(ENV, ""))
    return parse_basemaps(
        specs,
        frames=options["basemap_frame"],
        names=options["basemap_name"],
        attributions=options["basemap_attribution"],
        subdomains=options["basemap_subdomains"],
        tianditu_key=options["tianditu_key"],
    )


def basemap_inputs(basemaps: Sequence[Basemap]) -> list[tuple[Path, str]]:
    """Return the MBTiles files the basemaps read, so that no output may be one of them."""
    return [(b.path, "a basemap's MBTiles file") for b in basemaps if b.kind == "mbtiles" and b.path is not None]
