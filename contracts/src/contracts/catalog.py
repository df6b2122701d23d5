"""Every message class of the loop, looked up by subject."""

from __future__ import annotations

from . import acquire, delivery, discovery, gateway, ingest, library, resolve
from .base import Message

__all__ = ["CATALOG", "MESSAGE_TYPES", "message_type"]

MESSAGE_TYPES: tuple[type[Message], ...] = (
    # the loop, in order: candidate discovered → … → scan completed
    ingest.RecommendationRunStarted,
    ingest.CandidateDiscovered,
    ingest.RecommendationRunCompleted,
    ingest.ModelRetrained,
    ingest.ListenRecorded,
    ingest.PollFailed,
    ingest.RecommendationRunFailed,
    gateway.RequestTrack,
    gateway.RetryTrack,
    gateway.StartRun,
    gateway.StartScan,
    gateway.RemoveTrack,
    gateway.ScrobbleSubmitted,
    gateway.NowPlayingReported,
    gateway.SettingsChanged,
    acquire.UrlInspected,
    acquire.UrlRejected,
    gateway.MatchListen,
    resolve.TrackResolved,
    resolve.TrackUnresolved,
    resolve.ListenMatched,
    resolve.ListenUnmatched,
    acquire.AcquisitionSkipped,
    acquire.TrackDownloaded,
    acquire.CandidateRejected,
    acquire.TrackValidated,
    acquire.TrackTagged,
    acquire.AcquisitionFailed,
    library.TrackImported,
    library.ImportFailed,
    library.TrackRemoved,
    library.ScanCompleted,
    library.ScanFailed,
    library.ScrobbleRecorded,
    discovery.OwnedTrackRecommended,
    discovery.CandidateExcluded,
    discovery.FeedbackSent,
    discovery.FeedbackReceived,
    discovery.KeepDiscovery,
    discovery.HateDiscovery,
    discovery.RestoreDiscovery,
    discovery.ArtistExcluded,
    discovery.DiscoveryAdded,
    discovery.DiscoveryKept,
    discovery.DiscoveryHated,
    discovery.DiscoveryExpired,
    discovery.DiscoveryRestored,
    discovery.DiscoveryPurged,
    discovery.DiscoveryRunsPaused,
    discovery.DiscoveryRunsResumed,
    delivery.AttemptFailed,
    delivery.MessageDeadLettered,
    delivery.DeadLetterRedriven,
)

CATALOG: dict[str, type[Message]] = {cls.subject: cls for cls in MESSAGE_TYPES}


def message_type(subject: str) -> type[Message]:
    """The contract for a subject; KeyError for a subject nobody declared."""
    return CATALOG[subject]
