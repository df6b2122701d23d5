"""slskd (Soulseek daemon) over its REST API: search, pick a file, enqueue, poll, copy from its download folder.

- At most 2 searches at once from this process (slskd answers 429 beyond that; the HTTP client backs off and
  retries when another replica holds the slots).
- A search is polled until slskd says it is complete or the time limit passes; the responses gathered by then
  count.
- Files are picked by format preference, then bitrate, then file-name match (title, no unwanted version), then
  duration distance, then a free upload slot.
- A transfer whose byte count stops moving for the stall timeout is cancelled and the candidate rejected.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path, PureWindowsPath
from typing import Any

from contracts.acquire import RejectionReason
from infra.http import ApiClient, NotFound

from ..domain.matching import title_similarity, unwanted_markers
from ..ports import Candidate, CandidateRefused, Progress, Wanted
from . import copy_file

__all__ = ["SlskdBackend"]

log = logging.getLogger(__name__)
_FAILED = ("Errored", "Rejected", "Cancelled", "TimedOut", "Aborted")


class SlskdBackend:
    name = "slskd"

    def __init__(
        self,
        client: ApiClient,
        downloads_dir: Path,
        *,
        formats: list[str],
        search_timeout_s: float = 15.0,
        stall_timeout_s: float = 60.0,
        poll_s: float = 1.0,
        min_similarity: float = 0.8,
        max_bytes: int | None = None,
    ) -> None:
        self.client = client
        self.downloads_dir = downloads_dir
        self.formats = [f.lower().lstrip(".") for f in formats]
        self.search_timeout_s = search_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.poll_s = poll_s
        self.min_similarity = min_similarity
        self.max_bytes = max_bytes
        self._searches = asyncio.Semaphore(2)

    async def search(self, want: Wanted) -> list[Candidate]:
        async with self._searches:
            responses = await self._run_search(f"{want.artist} {want.title}")
        return self._pick(want, responses)

    async def _run_search(self, text: str) -> list[dict[str, Any]]:
        search_id = str(uuid.uuid4())
        body = {"id": search_id, "searchText": text, "searchTimeout": int(self.search_timeout_s * 1000)}
        await self.client.request("POST", "/api/v0/searches", json_body=body)
        deadline = time.monotonic() + self.search_timeout_s + 2 * self.poll_s
        try:
            while time.monotonic() < deadline:
                state = await self.client.get_json(f"/api/v0/searches/{search_id}")
                if state and state.get("isComplete"):
                    break
                await asyncio.sleep(self.poll_s)
            else:
                log.info("slskd search %r: time limit reached, taking the responses so far", text)
            responses = await self.client.get_json(f"/api/v0/searches/{search_id}/responses")
        finally:
            try:
                await self.client.request("DELETE", f"/api/v0/searches/{search_id}")
            except NotFound:
                log.debug("slskd search %s already gone", search_id)
        return list(responses or [])

    def _pick(self, want: Wanted, responses: list[dict[str, Any]]) -> list[Candidate]:
        scored: list[tuple[tuple[float, ...], Candidate]] = []
        artists = [want.artist, *want.artists]
        for resp in responses:
            user = str(resp.get("username", ""))
            free = 0.0 if resp.get("hasFreeUploadSlot") else 1.0
            for f in resp.get("files") or []:
                filename = str(f.get("filename", ""))
                name = PureWindowsPath(filename)
                ext = name.suffix.lower().lstrip(".")
                if not user or ext not in self.formats:
                    continue
                stem = name.stem.lstrip("0123456789 .-_")
                if unwanted_markers(want.title, stem):
                    continue
                sim = title_similarity(want.title, stem, artists)
                if sim < self.min_similarity:
                    continue
                length = float(f["length"]) if f.get("length") else None
                distance = abs(length - want.duration_s) if length and want.duration_s else 30.0
                bitrate = float(f.get("bitRate") or (10_000 if ext == "flac" else 0))
                size = int(f.get("size") or 0)
                if self.max_bytes and size > self.max_bytes:
                    continue
                key = (float(self.formats.index(ext)), -bitrate, 1.0 - sim, distance, free)
                cand = Candidate(self.name, f"{user}:{filename}", stem, length, size, ref=(user, filename, size))
                scored.append((key, cand))
        scored.sort(key=lambda kv: kv[0])
        return [c for _, c in scored]

    async def fetch(self, candidate: Candidate, work: Path, progress: Progress) -> Path:
        user, filename, size = candidate.ref
        await self.client.request(
            "POST", f"/api/v0/transfers/downloads/{user}", json_body=[{"filename": filename, "size": size}]
        )
        last_bytes, last_move = -1, time.monotonic()
        while True:
            transfer = await self._transfer(user, filename)
            state = str((transfer or {}).get("state", ""))
            if "Succeeded" in state:
                break
            if any(word in state for word in _FAILED):
                raise CandidateRefused(RejectionReason.DOWNLOAD_FAILED, f"slskd transfer {state}")
            moved = int((transfer or {}).get("bytesTransferred") or 0)
            if moved != last_bytes:
                last_bytes, last_move = moved, time.monotonic()
                await progress(moved)
            elif time.monotonic() - last_move > self.stall_timeout_s:
                if transfer and transfer.get("id"):
                    await self.client.request("DELETE", f"/api/v0/transfers/downloads/{user}/{transfer['id']}")
                raise CandidateRefused(
                    RejectionReason.DOWNLOAD_FAILED, f"stalled at {moved} bytes for {self.stall_timeout_s:.0f}s"
                )
            await asyncio.sleep(self.poll_s)
        local = self._local_path(filename)
        if not local.is_file():
            raise CandidateRefused(RejectionReason.DOWNLOAD_FAILED, f"slskd reports success but {local} is missing")
        return await copy_file(local, work / f"slskd{local.suffix.lower()}", progress, max_bytes=self.max_bytes)

    async def _transfer(self, user: str, filename: str) -> dict[str, Any] | None:
        try:
            data = await self.client.get_json(f"/api/v0/transfers/downloads/{user}")
        except NotFound:
            return None
        for directory in (data or {}).get("directories") or []:
            for f in directory.get("files") or []:
                if f.get("filename") == filename:
                    return dict(f)
        return None

    def _local_path(self, filename: str) -> Path:
        # slskd saves a remote "a\b\Album\01 Song.flac" as <downloads>/Album/01 Song.flac
        remote = PureWindowsPath(filename)
        return self.downloads_dir / remote.parent.name / remote.name

    async def taken(self, candidate: Candidate) -> None:
        self._local_path(candidate.ref[1]).unlink(missing_ok=True)
