"""What the gateway shows of failures: runs that failed or found nothing, a journey's retries and dead letters, the
live feed in words, and pages for what does not exist. Real gateway, real NATS, real SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.deadletter import DeadLetterReason
from contracts.delivery import AttemptFailed, MessageDeadLettered
from contracts.ingest import RecommendationRunCompleted, RecommendationRunFailed, RecommendationRunStarted
from gateway.readmodel.queries import Scope
from tests.support.wait import wait_until

from .conftest import ADMIN
from .test_api import publish


async def test_last_runs_say_failed_or_empty_with_the_reason_in_words(gateway: Any) -> None:
    no_account, offline, empty = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await publish(
        gateway.settings.nats_url,
        RecommendationRunFailed(
            user=ADMIN,
            run_id=no_account,
            trigger="manual",
            reason="no_account",
            detail="no ListenBrainz account: add the account under Users",
        ),
        RecommendationRunStarted(user=ADMIN, run_id=offline, trigger="schedule", run_size=20, cf_ratio=0.8),
        RecommendationRunFailed(
            user=ADMIN,
            run_id=offline,
            trigger="schedule",
            reason="unavailable",
            detail="CF: ListenBrainz unreachable: connection refused; radio: ListenBrainz unreachable: connection "
            "refused",
        ),
        RecommendationRunStarted(user=ADMIN, run_id=empty, trigger="manual", run_size=20, cf_ratio=0.8),
        RecommendationRunCompleted(
            user=ADMIN, run_id=empty, cf_count=0, radio_count=0, duplicates_skipped=20, cf_offset=20
        ),
    )
    client = await gateway.login()
    try:
        runs = await wait_until(
            lambda: client.get("/api/recommendations"),
            predicate=lambda r: r.status_code == 200 and len(r.json()["runs"]) == 3,
        )
        by_id = {r["run_id"]: r for r in runs.json()["runs"]}
        assert by_id[str(no_account)]["outcome"] == "failed"
        assert by_id[str(no_account)]["reason"].startswith("no ListenBrainz account")
        assert by_id[str(offline)]["outcome"] == "failed" and "unreachable" in by_id[str(offline)]["reason"]
        assert by_id[str(empty)]["outcome"] == "empty"
        assert by_id[str(empty)]["reason"] == (
            "nothing new: all 20 recommendations are already wanted or in the library"
        )
        page = (await client.get("/")).text
        assert "no ListenBrainz account" in page and "ListenBrainz unreachable: connection refused" in page
        assert "already wanted or in the library" in page

        # the live feed speaks in words, not subjects
        rows = gateway.state.view.feed_after(Scope(ADMIN, True), {"INGEST": 0})
        summaries = [r.summary for r in rows]
        assert "Recommendation run for admin failed: no ListenBrainz account: add the account under Users" in summaries
        assert not [s for s in summaries if s.startswith("ingest.")]
    finally:
        await client.aclose()


async def test_a_journey_shows_retrying_then_failed_with_its_dead_letter(gateway: Any) -> None:
    client = await gateway.login()
    try:
        mbid = str(uuid.uuid4())
        made = await client.post("/api/requests", json={"recording_mbid": mbid})
        track_id = made.json()["track_id"]
        request = await wait_until(lambda: client.get(f"/api/tracks/{track_id}"), predicate=lambda r: r.is_success)
        cause = request.json()
        at = datetime.now(UTC) + timedelta(seconds=1)
        base: dict[str, Any] = {
            "correlation_id": uuid.UUID(track_id),
            "user": ADMIN,
            "service": "resolve-svc",
            "consumer": "resolve_requests",
            "message_subject": "gateway.track.requested",
            "message_stream": "GATEWAY",
            "message_seq": 1,
            "upstream": "musicbrainz",
            "error": "MusicBrainz unreachable: connection refused",
        }
        attempt = AttemptFailed(**base, attempt=3, max_attempts=8, retry_at=at + timedelta(seconds=15), occurred_at=at)
        # a failed attempt at a message that is no journey's (a run command) invents no track
        stray = attempt.model_copy(update={"event_id": uuid.uuid4(), "correlation_id": uuid.uuid4()})
        await publish(gateway.settings.nats_url, stray, attempt)
        shown = await wait_until(
            lambda: client.get(f"/api/tracks/{track_id}"), predicate=lambda r: r.json()["state"] == "retrying"
        )
        retry = shown.json()["retry"]
        assert (retry["stage"], retry["attempt"], retry["limit"]) == ("resolve", 3, 8)
        assert retry["error"] == "MusicBrainz unreachable: connection refused" and retry["next_attempt_at"]
        assert (await client.get("/api/tracks/counts")).json() == {"retrying": 1}
        page = (await client.get(f"/tracks/{track_id}")).text
        assert "resolve: attempt 3 of 8 failed" in page and "MusicBrainz unreachable: connection refused" in page

        dead = MessageDeadLettered(
            **base, deliveries=8, reason=DeadLetterReason.EXHAUSTED, letter_id=42, occurred_at=at + timedelta(1)
        )
        await publish(gateway.settings.nats_url, dead)
        failed = await wait_until(
            lambda: client.get(f"/api/tracks/{track_id}"), predicate=lambda r: r.json()["state"] == "failed"
        )
        body = failed.json()
        assert body["failure_reason"] == "resolve gave up after 8 attempts: MusicBrainz unreachable: connection refused"
        assert body["dead_letters"] == [42] and body["retry"] is None
        assert [t["id"] for t in (await client.get("/api/tracks?state=failed")).json()["items"]] == [track_id]
        dashboard = (await client.get("/")).text
        assert "resolve gave up after 8 attempts" in dashboard  # under Failures, with its Retry button
        assert cause["state"] == "requested"
    finally:
        await client.aclose()


async def test_unknown_pages_are_pages_and_the_api_stays_json(gateway: Any) -> None:
    client = await gateway.login()
    html = {"Accept": "text/html,application/xhtml+xml"}
    try:
        for path in ("/no-such-page", f"/tracks/{uuid.uuid4()}", "/tracks/not-a-uuid"):
            resp = await client.get(path, headers=html)
            assert resp.status_code == 404 and resp.headers["content-type"].startswith("text/html"), path
            assert "Not found" in resp.text and "Waiting for the pipeline" not in resp.text
        api = await client.get(f"/api/tracks/{uuid.uuid4()}", headers=html)
        assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
        icon = await client.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
        settings = (await client.get("/settings")).text
        assert f'<code id="subsonic-url">{gateway.url}</code>' in settings
        # a request just made is on its way to the read model: its page waits for it instead of a 404
        made = await client.post("/api/requests", json={"artist": "Low", "title": "Lullaby"})
        assert (await client.get(f"/tracks/{made.json()['track_id']}", headers=html)).status_code == 200
    finally:
        await client.aclose()
