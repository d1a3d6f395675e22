#!/usr/bin/env bash
# Set up a virtual environment (once), install the toolkit and run `gis build` on the shipped layers.
# Usage: bash scripts/build.sh [gis build options]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/gis build "$@"
