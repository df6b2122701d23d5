"""Test-only entry point: acquire-svc that stops at a named point so a crash test can SIGKILL the process there.

`python acquire-svc/tests/acquire_crash_main.py <stage>` (`download`, `between_stages`, `before_ack`) runs the real
service (`acquire_svc.app.main`) with a checkpoint hook: at that point it writes `$BRAINSTREAM_DATA_DIR/test-paused-
<stage>` and waits forever. Production has no such switch: `python -m acquire_svc` passes no hook.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from acquire_svc.app import main
from acquire_svc.settings import Settings

__all__ = ["STAGES", "Pauser"]

log = logging.getLogger(__name__)
STAGES = ("download", "between_stages", "before_ack")


class Pauser:
    def __init__(self, stage: str, marker_dir: Path) -> None:
        if stage not in STAGES:
            raise ValueError(f"stage {stage!r}: expected one of {STAGES}")
        self.stage = stage
        self.marker_dir = marker_dir

    async def __call__(self, stage: str) -> None:
        if self.stage != stage:
            return
        log.warning("crash test: pausing at %s until killed", stage)
        self.marker_dir.mkdir(parents=True, exist_ok=True)
        (self.marker_dir / f"test-paused-{stage}").write_text("paused\n")
        await asyncio.Event().wait()


if __name__ == "__main__":
    main(checkpoint=Pauser(sys.argv[1], Settings().data_dir))
