"""BrainStream infrastructure: provisioning, the service runtime, the embedded runner and operator tooling."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("infra")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]
