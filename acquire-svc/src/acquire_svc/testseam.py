"""TEST SEAM ONLY: stop at a named point so a crash test can SIGKILL the process there.

Set by `BRAINSTREAM_ACQUIRE_TEST_PAUSE_AT=<stage>` (`download`, `between_stages`, `before_ack`). At that point the
service writes `$BRAINSTREAM_DATA_DIR/test-paused-<stage>` and waits forever. With the variable unset (always, in
production) `pause` returns at once.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

__all__ = ["STAGES", "Pauser"]

log = logging.getLogger(__name__)
STAGES = ("download", "between_stages", "before_ack")


class Pauser:
    def __init__(self, stage: str | None, marker_dir: Path) -> None:
        if stage is not None and stage not in STAGES:
            raise ValueError(f"BRAINSTREAM_ACQUIRE_TEST_PAUSE_AT={stage!r}: expected one of {STAGES}")
        self.stage = stage
        self.marker_dir = marker_dir

    async def pause(self, stage: str) -> None:
        if self.stage != stage:
            return
        log.warning("TEST SEAM: pausing at %s until killed", stage)
        self.marker_dir.mkdir(parents=True, exist_ok=True)
        (self.marker_dir / f"test-paused-{stage}").write_text("paused\n")
        await asyncio.Event().wait()
