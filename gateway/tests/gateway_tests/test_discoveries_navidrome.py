"""With Navidrome serving /rest, each user's discovery playlists exist there too, made through Navidrome's Subsonic
API as that user's own Navidrome account: two users' playlists are owned by each user, none by the gateway's
(administrator's) account. A track Navidrome has not scanned yet joins on a later round; a user without a Navidrome
account of their own gets none there rather than playlists the admin owns; and /rest signs a user in as their own
account, so the playlists they make through their apps are theirs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
import pytest

from contracts import discovery as d
from contracts.common import CandidateSource
from tests.support.fakeweb import FakeWeb
from tests.support.wait import wait_until

from .navidrome_fake import FakeNavidrome
from .test_history_live import publish_all

ACCOUNTS = {"nd-admin": "nd-admin-secret", "alice-nd": "alice-secret", "bob-nd": "bob-secret"}


def _added(user: str, track_id: str, position: int, title: str, artist: str, at: datetime) -> d.DiscoveryAdded:
    return d.DiscoveryAdded(
        user=user,
        occurred_at=at,
        track_id=track_id,
        recording_mbid=uuid.uuid5(uuid.NAMESPACE_URL, track_id),
        source=CandidateSource.CF,
        week=d.discovery_week(at),
        position=position,
        artist=artist,
        title=title,
        album="Album",
        path=f"{artist}/Album/{title}.flac",
        size_bytes=1000,
        expires_at=at + timedelta(days=21),
    )


def mbid(track_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, track_id))


async def test_discovery_playlists_in_navidrome_belong_to_each_user(gateway_factory: Any, nats_endpoint: Any) -> None:
    with FakeWeb() as web:
        nd = FakeNavidrome(web, ACCOUNTS)
        nd.scan("s-a1", title="Copper Sky", artist="Pale Orchard", album="Album", mbid=mbid("tr-a1"))
        nd.scan("s-a2", title="Northbound", artist="Marrow Lights", album="Album")  # no MBID tag: found by name
        nd.scan("s-a4", title="Static Bloom", artist="Vesper Lane", album="Album", mbid=mbid("tr-a4"))
        nd.scan("s-b1", title="Halflight", artist="Quiet Engines", album="Album", mbid=mbid("tr-b1"))
        nd.scan("s-c1", title="Rooms", artist="Quiet Engines", album="Album", mbid=mbid("tr-c1"))
        gw = await gateway_factory(
            BRAINSTREAM_NAVIDROME_URL=web.base_url,
            BRAINSTREAM_NAVIDROME_USER="nd-admin",
            BRAINSTREAM_NAVIDROME_PASSWORD=ACCOUNTS["nd-admin"],
            BRAINSTREAM_DISCOVERY_MIRROR_EVERY=1,  # a late scan is looked for again by the clock
        )
        admin = await gw.login()
        for user, account in (("alice", "alice-nd"), ("bob", "bob-nd"), ("carol", None)):
            accounts = {"navidrome_user": account, "navidrome_password": ACCOUNTS[account]} if account else {}
            resp = await admin.post(
                "/api/users", json={"username": user, "password": f"{user}-password-1", "accounts": accounts}
            )
            assert resp.status_code == 201, resp.text
            if account:  # the password is kept sealed and never shown
                assert resp.json()["navidrome_user"] == account and resp.json()["has_navidrome_password"]
                assert ACCOUNTS[account] not in resp.text
        now = datetime.now(UTC).replace(microsecond=0)
        week = f"Discoveries {d.discovery_week(now - timedelta(hours=5))}"
        events = [
            _added("alice", "tr-a1", 0, "Copper Sky", "Pale Orchard", now - timedelta(hours=5)),
            _added("alice", "tr-a2", 1, "Northbound", "Marrow Lights", now - timedelta(hours=5)),
            _added("alice", "tr-a3", 2, "Undertow", "Glass Arcade", now - timedelta(hours=5)),
            _added("alice", "tr-a4", 3, "Static Bloom", "Vesper Lane", now - timedelta(hours=5)),
            _added("bob", "tr-b1", 0, "Halflight", "Quiet Engines", now - timedelta(hours=5)),
            _added("carol", "tr-c1", 0, "Rooms", "Quiet Engines", now - timedelta(hours=5)),
            d.DiscoveryExpired(
                user="alice",
                occurred_at=now - timedelta(hours=1),
                track_id="tr-a4",
                recording_mbid=mbid("tr-a4"),
                reason=d.ExpiryReason.HATED,
                users=["alice"],
                path="x.flac",
                trash_path="x.flac",
                purge_at=now + timedelta(days=7),
            ),
        ]
        await publish_all(nats_endpoint.url, events)

        # each user's playlists, as that user; the expired pick is in none; tr-a3 is not scanned yet
        await wait_until(
            lambda: nd.owned_by("alice-nd"),
            timeout=30,
            predicate=lambda got: got == {week: ["s-a1", "s-a2"], "Discoveries": ["s-a1", "s-a2"]},
        )
        await wait_until(
            lambda: nd.owned_by("bob-nd"),
            timeout=30,
            predicate=lambda got: got == {week: ["s-b1"], "Discoveries": ["s-b1"]},
        )
        alice = await gw.login("alice", "alice-password-1")
        status = (await alice.get("/api/discoveries")).json()["navidrome"]
        assert status["state"] == "waiting" and "1 track(s) not scanned" in status["detail"]

        # Navidrome scans the missing track: it joins in its place
        nd.scan("s-a3", title="Undertow", artist="Glass Arcade", album="Album", mbid=mbid("tr-a3"))
        await wait_until(
            lambda: nd.owned_by("alice-nd"),
            timeout=30,
            predicate=lambda got: got == {week: ["s-a1", "s-a2", "s-a3"], "Discoveries": ["s-a1", "s-a2", "s-a3"]},
        )
        # kept: still in its week, out of the rolling playlist
        await publish_all(
            nats_endpoint.url,
            [
                d.DiscoveryKept(
                    user="alice", track_id="tr-a1", recording_mbid=mbid("tr-a1"), reason=d.KeepReason.STARRED
                )
            ],
        )
        await wait_until(
            lambda: nd.owned_by("alice-nd"),
            timeout=30,
            predicate=lambda got: got == {week: ["s-a1", "s-a2", "s-a3"], "Discoveries": ["s-a2", "s-a3"]},
        )
        status = await wait_until(
            lambda: alice.get("/api/discoveries"),
            timeout=10,
            predicate=lambda r: r.json()["navidrome"]["state"] == "synced",
        )
        assert status.json()["navidrome"]["playlists"] == {week: 3, "Discoveries": 2}

        # carol has no Navidrome account of her own: no playlist for her, and none made as the admin
        carol = await gw.login("carol", "carol-password-1")
        shown = await wait_until(
            lambda: carol.get("/api/discoveries"),
            timeout=10,
            predicate=lambda r: (r.json()["navidrome"] or {}).get("state") == "no_account",
        )
        assert "not made in Navidrome" in shown.json()["navidrome"]["detail"]
        assert nd.owned_by("nd-admin") == {}
        assert {who for method, who in nd.calls if method == "createPlaylist"} == {"alice-nd", "bob-nd"}

        # /rest as alice signs in to Navidrome as alice: her own playlist is hers; bob does not see it
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as c:
            auth = {"u": "alice", "p": gw.app_password("alice"), "f": "json", "v": "1.16.1", "c": "test"}
            made = await c.get("/rest/createPlaylist", params={**auth, "name": "Road trip", "songId": "s-a2"})
            assert made.json()["subsonic-response"]["playlist"]["owner"] == "alice-nd", made.text
            bob_auth = {"u": "bob", "p": gw.app_password("bob"), "f": "json", "v": "1.16.1", "c": "test"}
            theirs = (await c.get("/rest/getPlaylists", params=bob_auth)).json()["subsonic-response"]
            assert sorted(p["name"] for p in theirs["playlists"]["playlist"]) == ["Discoveries", week]
            assert {p["owner"] for p in theirs["playlists"]["playlist"]} == {"bob-nd"}
            # carol, without an account of her own, is still served through the gateway's
            carol_auth = {"u": "carol", "p": gw.app_password("carol"), "f": "json", "v": "1.16.1", "c": "test"}
            assert (await c.get("/rest/ping", params=carol_auth)).json()["subsonic-response"]["status"] == "ok"
        assert nd.owned_by("alice-nd")["Road trip"] == ["s-a2"]
        assert ("ping", "nd-admin") in nd.calls

        # marks made in Navidrome through /rest: a star or a playlist keeps, a 1-star rating hates, the user's own
        # active discoveries only (library-svc never sees Navidrome's)
        nc = await nats.connect(nats_endpoint.url)
        commands = await nc.subscribe("gateway.discovery.>")
        try:
            async with httpx.AsyncClient(base_url=gw.url, timeout=10) as c:
                auth = {"u": "alice", "p": gw.app_password("alice"), "f": "json", "v": "1.16.1", "c": "test"}
                bob_auth = {"u": "bob", "p": gw.app_password("bob"), "f": "json", "v": "1.16.1", "c": "test"}
                for who, method, params in (
                    (bob_auth, "star", {"id": "s-a2"}),  # not bob's discovery
                    (auth, "star", {"id": "s-a1"}),  # already kept
                    (auth, "setRating", {"id": "s-a2", "rating": "2"}),  # below keep_rating
                    (auth, "star", {"id": "s-a2"}),
                    (auth, "setRating", {"id": "s-a3", "rating": "1"}),
                    (auth, "createPlaylist", {"name": "Discoveries", "songId": "s-a3"}),  # the mirror's own name
                    (auth, "createPlaylist", {"name": "Evening", "songId": "s-a3"}),
                ):
                    got = await c.get(f"/rest/{method}", params={**who, **params})
                    assert got.json()["subsonic-response"]["status"] == "ok", got.text
            seen = [await commands.next_msg(timeout=5) for _ in range(3)]
            said = [(m.subject, json.loads(m.data)) for m in seen]
            assert [(s, b["track_id"], b["user"], b.get("reason") or b.get("how")) for s, b in said] == [
                (d.KeepDiscovery.subject, "tr-a2", "alice", "starred"),
                (d.HateDiscovery.subject, "tr-a3", "alice", "rating"),
                (d.KeepDiscovery.subject, "tr-a3", "alice", "in_playlist"),
            ]
            assert said[2][1]["detail"] == "in playlist Evening"
            with pytest.raises(nats.errors.TimeoutError):
                await commands.next_msg(timeout=0.5)
        finally:
            await nc.close()
        assert ("star", "bob-nd") in [(m, who) for m, who, _ in nd.marks]  # bob's star still reached Navidrome

        # a round that finds the playlists as they should be writes nothing
        writes = {p.name: p.writes for p in nd.playlists.values() if p.owner == "alice-nd"}
        last = (await alice.get("/api/discoveries")).json()["navidrome"]["at"]
        again = _added("alice", "tr-a2", 1, "Northbound", "Marrow Lights", now - timedelta(hours=5))
        await publish_all(nats_endpoint.url, [again])  # the same pick told again: alice's playlists are looked at
        await wait_until(
            lambda: alice.get("/api/discoveries"), timeout=10, predicate=lambda r: r.json()["navidrome"]["at"] != last
        )
        assert {p.name: p.writes for p in nd.playlists.values() if p.owner == "alice-nd"} == writes
        for client in (admin, alice, carol):
            await client.aclose()
