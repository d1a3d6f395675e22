#!/usr/bin/env bash
# Set up a virtual environment (once), install the toolkit and run `gis build` on the shipped layers.
# The map sheets need a CJK font with TrueType outlines: Debian's fonts-wqy-microhei is installed
# if fontconfig does not list it (with sudo when not root).
# Usage: bash scripts/build.sh [gis build options]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! fc-list 2>/dev/null | grep -qi "wenquanyi micro hei" && [ -z "${GIS_CJK_FONT:-}" ]; then
  echo "installing Debian package: fonts-wqy-microhei (Chinese text of the map sheets)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq fonts-wqy-microhei >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/gis build "$@"
