"""BrainStream library-svc."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("library-svc")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

SERVICE = "library-svc"

__all__ = ["SERVICE", "__version__"]
