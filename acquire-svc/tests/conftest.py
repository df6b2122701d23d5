"""acquire-svc's test fixtures. The helpers live in `acquire_fakes.py`, importable from every test module here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from acquire_fakes import wire

__all__ = ["wire"]
