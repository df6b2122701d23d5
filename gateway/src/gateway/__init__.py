"""BrainStream gateway: the one door for people and their Subsonic clients."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gateway")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

SERVICE = "gateway"

__all__ = ["SERVICE", "__version__"]
