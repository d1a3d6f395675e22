#!/usr/bin/env bash
# Set up a virtual environment (once), install the toolkit with its test tools and the
# Debian packages the tests drive (Chromium for the web maps; a CJK font with TrueType outlines,
# WenQuanYi Micro Hei, so Chinese renders in the maps and is embedded in the PDF map sheets;
# poppler-utils to open the sheets as a PDF viewer does; gdal-bin for ogrinfo; QGIS's Python to
# open the exported GeoPackage), then run the same
# checks CI runs: ruff (lint and format), mypy and pytest.
# Usage: bash scripts/test.sh [pytest options]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi micro hei" || need+=(fonts-wqy-microhei)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
[ -x /usr/bin/time ] || need+=(time)  # GNU time: tests/test_bench.py checks the peak memory against it
/usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || need+=(python3-qgis)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
# GDAL's GeoPackage validator (pure Python); its package asks for GDAL's bindings, which it does not need
.venv/bin/python -m pip install --quiet --no-deps "gdal-utils==3.13.3.0"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
