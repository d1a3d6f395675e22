"""Vendor the web-map assets into gis/_vendor/ from the npm registry.

Runs ``npm pack`` for each pinned package, keeps the files the maps use, inlines every
image a style sheet refers to as a ``data:`` URI (so the maps need no request at all) and
copies each package's licence. The result is committed; maps read only gis/_vendor/.

Usage (needs npm and the npm registry; not needed to build or test)::

    python scripts/vendor_assets.py                        # every package
    python scripts/vendor_assets.py proj4 polygon-clipping  # only these; the manifest keeps the others
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "gis" / "_vendor"

# name: (version, licence file in the tarball or None, [(source file, target file)])
PACKAGES: dict[str, tuple[str, str | None, list[tuple[str, str]]]] = {
    "leaflet": (
        "1.9.4",
        "LICENSE",
        [("dist/leaflet.js", "leaflet.js"), ("dist/leaflet.css", "leaflet.css")],
    ),  # + leaflet-icons.js
    "leaflet-draw": (
        "1.0.4",
        None,
        [("dist/leaflet.draw.js", "leaflet.draw.js"), ("dist/leaflet.draw.css", "leaflet.draw.css")],
    ),
    "leaflet.fullscreen": (
        "5.3.3",
        "LICENSE.md",
        [
            ("dist/Control.FullScreen.umd.js", "Control.FullScreen.js"),
            ("dist/Control.FullScreen.css", "Control.FullScreen.css"),
        ],
    ),
    "leaflet-minimap": (
        "3.6.1",
        "LICENSE.txt",
        [
            ("dist/Control.MiniMap.min.js", "Control.MiniMap.min.js"),
            ("dist/Control.MiniMap.min.css", "Control.MiniMap.min.css"),
        ],
    ),
    "leaflet-measure": (
        "3.1.0",
        "LICENSE",
        [("dist/leaflet-measure.cn.js", "leaflet-measure.cn.js"), ("dist/leaflet-measure.css", "leaflet-measure.css")],
    ),
    "leaflet-search": (
        "4.0.0",
        "license.txt",
        [
            ("dist/leaflet-search.min.js", "leaflet-search.min.js"),
            ("dist/leaflet-search.min.css", "leaflet-search.min.css"),
        ],
    ),
    # the sketch review (js/review*.js): EPSG:4547 in the page; its "tmerc" is the exact
    # Poder/Engsager algorithm (as PROJ's), the approximate one only with +approx
    "proj4": ("2.22.0", "LICENSE.md", [("dist/proj4.js", "proj4.js")]),
    # overlaps of a sketch: intersection and union of polygons; the UMD bundle needs nothing else
    "polygon-clipping": (
        "0.15.7",
        "LICENSE.md",
        [("dist/polygon-clipping.umd.min.js", "polygon-clipping.umd.min.js")],
    ),
}

#: What a package's file bundles from other packages, with their licences (stated in the manifest).
BUNDLED: dict[str, str] = {
    "polygon-clipping": "splaytree 3.1.2 (MIT, Alexander Milevski) and TypeScript's tslib helpers "
    "(Apache-2.0, Microsoft), their notices kept in the file",
}

# Leaflet.draw's npm tarball carries no licence file; its README points to the MIT licence,
# and its source header names the copyright holders.
LEAFLET_DRAW_LICENSE = """MIT License

Copyright (c) 2012-2017, Jacob Toye, Jon West, Smartrak, Leaflet

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}
URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def inline_css(css: str, base: Path) -> str:
    """Replace every relative ``url(...)`` in ``css`` with a data URI of the file it names."""

    def repl(match: re.Match[str]) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#")):
            return match.group(0)
        path = (base / ref).resolve()
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:{MIME[path.suffix.lower()]};base64,{data})"

    return URL.sub(repl, css)


def leaflet_icons(images: Path) -> str:
    """Leaflet's default marker icon as data URIs: Leaflet finds it through its style sheet,
    which no longer holds a file path once the style sheet's images are inlined."""

    def uri(name: str) -> str:
        return "data:image/png;base64," + base64.b64encode((images / name).read_bytes()).decode("ascii")

    return (
        "/* Leaflet 1.9.4 default marker images (BSD-2-Clause), inlined by scripts/vendor_assets.py */\n"
        "L.Icon.Default.imagePath = '';\n"
        f"L.Icon.Default.mergeOptions({{iconUrl: '{uri('marker-icon.png')}', "
        f"iconRetinaUrl: '{uri('marker-icon-2x.png')}', shadowUrl: '{uri('marker-shadow.png')}'}});\n"
    )


def vendor(name: str, version: str, licence: str | None, files: list[tuple[str, str]], work: Path) -> dict[str, str]:
    subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=work, check=True, capture_output=True)
    tarball = next(work.glob(f"{name.replace('@', '').replace('/', '-')}-{version}.tgz"))
    root = work / f"{name}-{version}"
    with tarfile.open(tarball) as tar:
        tar.extractall(root, filter="data")
    pkg = root / "package"
    dest = VENDOR / name
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for src, target in files:
        text = (pkg / src).read_text(encoding="utf-8")
        if target.endswith(".css"):
            text = inline_css(text, (pkg / src).parent)
        (dest / target).write_text(text, encoding="utf-8")
    if name == "leaflet":
        (dest / "leaflet-icons.js").write_text(leaflet_icons(pkg / "dist" / "images"), encoding="utf-8")
    if licence:
        shutil.copy(pkg / licence, dest / "LICENSE")
    else:
        (dest / "LICENSE").write_text(LEAFLET_DRAW_LICENSE, encoding="utf-8")
    meta = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
    entry = {"version": version, "license": meta.get("license", ""), "files": ", ".join(t for _, t in files)}
    if name in BUNDLED:
        entry["bundles"] = BUNDLED[name]
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help=f"only these (default: every package): {', '.join(PACKAGES)}")
    names = parser.parse_args().packages or list(PACKAGES)
    unknown = [n for n in names if n not in PACKAGES]
    if unknown:
        parser.error(f"no such package: {', '.join(unknown)}; use {', '.join(PACKAGES)}")
    path = VENDOR / "manifest.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    manifest = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (version, licence, files) in PACKAGES.items():
            if name in names:
                manifest[name] = vendor(name, version, licence, files, Path(tmp))
                print(f"vendored {name}@{version}")
            elif name in old:
                manifest[name] = old[name]
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
