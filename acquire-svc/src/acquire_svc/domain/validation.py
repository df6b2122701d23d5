"""The verdict on a downloaded file, before anything is tagged."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.acquire import RejectionReason

from .matching import title_similarity, unwanted_markers

__all__ = ["LOSSLESS", "AudioFacts", "Rules", "Verdict", "duration_tolerance_s", "judge"]

LOSSLESS = frozenset({"flac", "alac"})


@dataclass(frozen=True)
class AudioFacts:
    """What a probe of the file found; `None` for a file no audio parser opens."""

    codec: str
    duration_s: float
    bitrate_kbps: int | None
    title_tag: str | None


@dataclass(frozen=True)
class Rules:
    allowed_codecs: frozenset[str]
    min_bitrate_kbps: int
    tolerance_s: float = 3.0
    tolerance_pct: float = 3.0
    min_title_similarity: float = 0.8


@dataclass(frozen=True)
class Verdict:
    reason: RejectionReason | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def duration_tolerance_s(expected_s: float, rules: Rules) -> float:
    return max(rules.tolerance_s, expected_s * rules.tolerance_pct / 100.0)


def judge(
    facts: AudioFacts | None,
    *,
    wanted_title: str,
    wanted_artists: list[str],
    expected_s: float | None,
    candidate_title: str,
    rules: Rules,
) -> Verdict:
    """Check, in order: readable, codec, bitrate, duration, version markers, title.

    The title is checked against the file's own title tag when it has one, else against the candidate's name
    (video title, file name).
    """
    if facts is None:
        return Verdict(RejectionReason.UNREADABLE, "no audio parser recognises the file")
    if facts.codec not in rules.allowed_codecs:
        return Verdict(RejectionReason.CODEC_NOT_ALLOWED, f"codec {facts.codec} not in {sorted(rules.allowed_codecs)}")
    if facts.codec not in LOSSLESS and facts.bitrate_kbps is not None and facts.bitrate_kbps < rules.min_bitrate_kbps:
        return Verdict(RejectionReason.BITRATE_TOO_LOW, f"{facts.bitrate_kbps} kbps < {rules.min_bitrate_kbps} kbps")
    if facts.duration_s <= 0:
        return Verdict(RejectionReason.UNREADABLE, "no audio frames (length 0)")
    if expected_s is not None:
        tolerance = duration_tolerance_s(expected_s, rules)
        off = abs(facts.duration_s - expected_s)
        if off > tolerance:
            return Verdict(
                RejectionReason.DURATION_MISMATCH,
                f"{facts.duration_s:.1f}s vs {expected_s:.1f}s expected (±{tolerance:.1f}s)",
            )
    names = [candidate_title] + ([facts.title_tag] if facts.title_tag else [])
    for name in names:
        markers = unwanted_markers(wanted_title, name)
        if markers:
            return Verdict(RejectionReason.UNWANTED_VERSION, f"{name!r}: {', '.join(markers)}")
    title = facts.title_tag or candidate_title
    sim = title_similarity(wanted_title, title, wanted_artists)
    if sim < rules.min_title_similarity:
        return Verdict(RejectionReason.TITLE_MISMATCH, f"{title!r} vs {wanted_title!r}: similarity {sim:.2f}")
    return Verdict(None)
