"""Tile servers' URLs: XYZ templates checked, WMTS GetTile templates built (Tianditu, GeoServer, others)."""

from __future__ import annotations

import re

import pytest

from gis.errors import InputError
from gis.render.tileurls import subdomains_of, wmts_template, xyz_template

GETTILE = "SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "tile.openstreetmap.org"),
        ("http://10.2.3.4:8080/tiles/{z}/{x}/{-y}.jpg", "10.2.3.4"),  # TMS rows
        ("https://{s}.tiles.lg.gov/base/{z}/{x}/{y}{r}.png", "tiles.lg.gov"),
        ("http://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=KEY", "tianditu.gov.cn"),
        ("https://arcgis.lg.gov/arcgis/rest/services/Base/MapServer/tile/{z}/{y}/{x}", "arcgis.lg.gov"),
    ],
)
def test_xyz_templates_pass_as_given(url, host):
    assert xyz_template("b", url) == (url, host)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://tiles.lg.gov/{z}/{x}/{y}.png", "nor an http(s):// URL"),
        ("tiles/{z}/{x}/{y}.png", "mbtiles:FILE or dir:FOLDER"),
        ("https:///{z}/{x}/{y}.png", "http(s)://"),
        ("https://tiles.lg.gov/{z}/{x}.png", "lacks {y} (or {-y} for rows from the south)"),
        ("https://tiles.lg.gov/{x}/{y}.png", "lacks {z}"),
        ("https://tiles.lg.gov/{z}/{x}/{y}.png?key={key}", "unknown placeholder {key}"),
    ],
)
def test_xyz_templates_refused_with_what_is_wrong(url, message):
    with pytest.raises(InputError, match="basemap=") as err:
        xyz_template(url, url)
    assert message in str(err.value)


def test_subdomains_rule():
    assert subdomains_of("b", "a.tiles.lg.gov", "https://{s}.tiles.lg.gov/{z}/{x}/{y}.png", None) == "abc"
    assert subdomains_of("b", "t.tianditu.gov.cn", "https://t{s}.tianditu.gov.cn/x?{z}{x}{y}", None) == "01234567"
    assert subdomains_of("b", "w.lg.gov", "https://w{s}.lg.gov/{z}/{x}/{y}.png", "1234") == "1234"
    assert subdomains_of("b", "lg.gov", "https://lg.gov/{z}/{x}/{y}.png", None) == ""
    with pytest.raises(InputError, match=re.escape("no {s}")):
        subdomains_of("b", "lg.gov", "https://lg.gov/{z}/{x}/{y}.png", "abc")


def test_wmts_tianditu():
    url, name = wmts_template("b", "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY")
    assert url == (
        f"https://t{{s}}.tianditu.gov.cn/vec_w/wmts?{GETTILE}&LAYER=vec&STYLE=default&TILEMATRIXSET=w"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&FORMAT=tiles&tk=KEY"
    )
    assert name == "vec · tianditu.gov.cn"
    # the imagery and annotation layers; the key from --tianditu-key; an intranet node needs none
    url, _ = wmts_template("b", "http://t0.tianditu.gov.cn/img_w/wmts", tianditu_key="K2")
    assert "LAYER=img&" in url and "TILEMATRIXSET=w&" in url and url.endswith("&tk=K2")
    url, _ = wmts_template("b", "http://10.1.1.8/tianditu/cva_w/wmts")
    assert "LAYER=cva&" in url and "tk=" not in url
    with pytest.raises(InputError, match="Tianditu needs a key"):
        wmts_template("b", "https://t0.tianditu.gov.cn/vec_w/wmts")
    with pytest.raises(InputError, match="in degrees"):
        wmts_template("b", "https://t0.tianditu.gov.cn/vec_c/wmts?tk=KEY")  # CGCS2000 degrees


def test_wmts_geoserver():
    url, name = wmts_template("b", "http://gs.lg.gov:8080/geoserver/gwc/service/wmts?layer=lg:basemap")
    assert url == (
        f"http://gs.lg.gov:8080/geoserver/gwc/service/wmts?{GETTILE}&LAYER=lg:basemap&STYLE=&TILEMATRIXSET=EPSG:900913"
        "&TILEMATRIX=EPSG:900913:{z}&TILEROW={y}&TILECOL={x}&FORMAT=image%2Fpng"
    )
    assert name == "lg:basemap · gs.lg.gov"
    # the query's own values win, in any case; a GetCapabilities URL's request keys are dropped
    url, _ = wmts_template(
        "b",
        "http://gs.lg.gov/geoserver/gwc/service/wmts?REQUEST=GetCapabilities&Layer=lg:ortho"
        "&TileMatrixSet=EPSG:3857&Format=image/jpeg",
    )
    assert "REQUEST=GetCapabilities" not in url and "LAYER=lg:ortho&" in url
    assert "TILEMATRIXSET=EPSG:3857&TILEMATRIX=EPSG:3857:{z}&" in url and url.endswith("FORMAT=image%2Fjpeg")
    with pytest.raises(InputError, match="layer is missing"):
        wmts_template("b", "http://gs.lg.gov/geoserver/gwc/service/wmts")
    with pytest.raises(InputError, match="in degrees"):
        wmts_template("b", "http://gs.lg.gov/geoserver/gwc/service/wmts?layer=a&tilematrixset=EPSG:4326")


def test_wmts_other_servers():
    url, _ = wmts_template("b", "https://ags.lg.gov/arcgis/rest/services/Base/MapServer/WMTS?layer=Base")
    assert url == (
        f"https://ags.lg.gov/arcgis/rest/services/Base/MapServer/WMTS?{GETTILE}&LAYER=Base&STYLE=default"
        "&TILEMATRIXSET=GoogleMapsCompatible&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&FORMAT=image%2Fpng"
    )
    url, _ = wmts_template("b", "https://w.lg.gov/wmts?layer=a&tilematrix=L{z}&style=dark&token=T{1}")
    assert "TILEMATRIX=L{z}&" in url and "STYLE=dark&" in url and url.endswith("&token=T%7B1%7D")  # braces kept out
    with pytest.raises(InputError, match=re.escape("lacks {z}")):
        wmts_template("b", "https://w.lg.gov/wmts?layer=a&tilematrix=L1")
    with pytest.raises(InputError, match="http"):
        wmts_template("b", "w.lg.gov/wmts?layer=a")
