"""gis: land-use planning layers of Longgang, Longhua and Pingshan, checked against their plans."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gis")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
