"""syncd: keeps replicating Harbor registries consistent.

Owns only the version string; everything else lives in its own module.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("syncd")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]
