"""yt-dlp (the Python package): search "<artist> - <title>", drop unwanted versions, rank, download the best audio.

The search is a seam (`Searcher`): production asks yt-dlp's search extractor (`ytsearchN:`), tests pass a fake
that returns entries pointing at a loopback server, whose files yt-dlp then downloads through its generic
extractor. yt-dlp is synchronous, so it runs in a worker thread under a time limit.

ffmpeg: with one (setting, PATH, or imageio-ffmpeg's bundled binary) the best audio stream is extracted into an
audio file; without one only formats that are already audio files are asked for (m4a, mp3, ogg, opus), and a
source without such a format fails its download.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yt_dlp  # type: ignore[import-untyped]

from contracts.acquire import RejectionReason
from infra.upstreams import UPSTREAMS, Failure

from ..domain.matching import rank
from ..ports import Candidate, CandidateRefused, Progress, Wanted

__all__ = ["PageReader", "Searcher", "YtDlpBackend", "ytdlp_page_reader", "ytdlp_searcher"]

log = logging.getLogger(__name__)

Searcher = Callable[[str, int], Awaitable[list[dict[str, Any]]]]
"""(query, n) → entries with at least `title` and `url` (or `webpage_url`), and `id`/`duration` when known."""


async def _call(progress: Progress, done: int) -> None:
    await progress(done)


class _Quiet:
    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        log.warning("yt-dlp: %s", msg)


def _base_options(socket_timeout_s: float, cookies: Path | None) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "socket_timeout": socket_timeout_s,
        "logger": _Quiet(),
    }
    if cookies:
        opts["cookiefile"] = str(cookies)
    return opts


def ytdlp_searcher(prefix: str, socket_timeout_s: float, cookies: Path | None) -> Searcher:
    """The production search: yt-dlp's `<prefix>N:<query>` with flat extraction (no per-video page loads)."""

    def run(query: str, n: int) -> list[dict[str, Any]]:
        opts = _base_options(socket_timeout_s, cookies) | {"extract_flat": "in_playlist", "skip_download": True}
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(f"{prefix}{n}:{query}", download=False)
        entries = (info or {}).get("entries") or []
        return [dict(e) for e in entries if e]

    async def search(query: str, n: int) -> list[dict[str, Any]]:
        return await asyncio.to_thread(run, query, n)

    return search


PageReader = Callable[[str], Awaitable[dict[str, Any]]]
"""A page's URL → yt-dlp's metadata of what plays on it (`track`, `artist`, `album`, `title`, `uploader`, …).
Raises `CandidateRefused` when yt-dlp cannot read the page."""


def ytdlp_page_reader(socket_timeout_s: float, cookies: Path | None, timeout_s: float = 120.0) -> PageReader:
    """The production reader: yt-dlp's extractors, metadata only (nothing is downloaded)."""

    def run(url: str) -> dict[str, Any]:
        opts = _base_options(socket_timeout_s, cookies) | {"skip_download": True}
        with yt_dlp.YoutubeDL(opts) as ydl:
            return dict(ydl.extract_info(url, download=False) or {})

    async def read(url: str) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(asyncio.to_thread(run, url), timeout_s)
        except yt_dlp.utils.DownloadError as exc:
            detail = str(exc).removeprefix("ERROR: ")[:300]
            raise CandidateRefused(RejectionReason.DOWNLOAD_FAILED, f"yt-dlp reads nothing to play: {detail}") from exc

    return read


def _outputs(work: Path) -> list[Path]:
    return [p for p in work.iterdir() if p.name.startswith("ytdlp.") and not p.name.endswith((".part", ".ytdl"))]


class YtDlpBackend:
    name = "yt-dlp"

    def __init__(
        self,
        searcher: Searcher,
        *,
        results: int = 8,
        timeout_s: float = 300.0,
        socket_timeout_s: float = 20.0,
        cookies: Path | None = None,
        ffmpeg: str | None = None,
        max_bytes: int | None = None,
        min_similarity: float = 0.8,
    ) -> None:
        self.searcher = searcher
        self.results = results
        self.timeout_s = timeout_s
        self.socket_timeout_s = socket_timeout_s
        self.cookies = cookies
        self.ffmpeg = ffmpeg
        self.max_bytes = max_bytes
        self.min_similarity = min_similarity
        UPSTREAMS.expect(self.name)

    async def search(self, want: Wanted) -> list[Candidate]:
        query = f"{want.artist} - {want.title}"
        try:
            entries = await asyncio.wait_for(self.searcher(query, self.results), self.timeout_s)
        except (yt_dlp.utils.DownloadError, TimeoutError, OSError) as exc:
            # the search is what reaches the video site: its failure is the upstream's, shown in health
            why = "no answer in time" if isinstance(exc, TimeoutError) else " ".join(str(exc).split())[:200]
            UPSTREAMS.failure(self.name, Failure(self.name, "failing", f"yt-dlp search failed: {why}"))
            raise
        UPSTREAMS.success(self.name)
        by_key: dict[str, Candidate] = {}
        for e in entries:
            url = e.get("webpage_url") or e.get("url")
            if not url or not e.get("title"):
                continue
            duration = float(e["duration"]) if e.get("duration") else None
            key = str(e.get("id") or url)
            by_key[key] = Candidate(self.name, key, str(e["title"]), duration, ref=str(url))
        ranked = rank(
            want.title,
            [want.artist, *want.artists],
            want.duration_s,
            [(k, c.title, c.duration_s) for k, c in by_key.items()],
            min_similarity=self.min_similarity,
        )
        for r in ranked:
            log.info("yt-dlp candidate %s %r: %s", r.key, by_key[r.key].title, r.explain())
        found = [by_key[r.key] for r in ranked if r.dropped is None]
        if want.source_url:  # the page the person gave comes first, whatever the search thinks of its title
            given = Candidate(self.name, want.source_url, f"{want.artist} - {want.title}", ref=want.source_url)
            found = [given, *(c for c in found if c.ref != want.source_url)]
        return found

    def _options(self, work: Path, hook: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        opts = _base_options(self.socket_timeout_s, self.cookies) | {
            "outtmpl": str(work / "ytdlp.%(ext)s"),
            "progress_hooks": [hook],
            "retries": 2,
            "overwrites": True,
        }
        if self.max_bytes:
            opts["max_filesize"] = self.max_bytes
        if self.ffmpeg:
            opts["format"] = "bestaudio/best"
            opts["ffmpeg_location"] = self.ffmpeg
            opts["postprocessors"] = [{"key": "FFmpegExtractAudio", "preferredcodec": "best"}]
        else:
            # no ffmpeg: only what is already an audio file mutagen can read
            opts["format"] = "bestaudio[ext=m4a]/bestaudio[ext=mp3]/bestaudio[ext=opus]/bestaudio[ext=ogg]/bestaudio"
        return opts

    async def fetch(self, candidate: Candidate, work: Path, progress: Progress) -> Path:
        loop = asyncio.get_running_loop()

        def hook(status: dict[str, Any]) -> None:
            done = int(status.get("downloaded_bytes") or 0)
            # waits for the event loop's answer: a heartbeat, and the place a crash test pauses mid-download
            asyncio.run_coroutine_threadsafe(_call(progress, done), loop).result()

        def run() -> None:
            with yt_dlp.YoutubeDL(self._options(work, hook)) as ydl:
                ydl.download([candidate.ref])

        try:
            await asyncio.wait_for(asyncio.to_thread(run), self.timeout_s)
        except yt_dlp.utils.DownloadError as exc:
            raise CandidateRefused(RejectionReason.DOWNLOAD_FAILED, str(exc)[:300]) from exc
        files = await asyncio.to_thread(_outputs, work)
        if not files:
            raise CandidateRefused(RejectionReason.DOWNLOAD_FAILED, "yt-dlp produced no file (size cap or no audio)")
        return max(files, key=lambda p: p.stat().st_size)

    async def taken(self, candidate: Candidate) -> None:
        return None
