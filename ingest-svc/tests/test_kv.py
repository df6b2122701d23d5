"""The KV adapters on a real nats-server: cursors survive a new adapter, the gate's states, known recordings."""

from __future__ import annotations

from nats.js import JetStreamContext

from ingest_svc.adapters.kv import KvCursorStore, KvKnownRecordings, KvLease, KvListenGate
from ingest_svc.domain.listens import ListenCursor
from ingest_svc.domain.recommendations import CfCursor, Marker
from ingest_svc.ports import GateState

from .fakes import mbid


async def test_cursors_round_trip(provisioned: JetStreamContext) -> None:
    store = await KvCursorStore.open(provisioned)
    assert await store.cf("alice") == CfCursor()
    assert await store.listens("alice", "lastfm") is None
    cf = CfCursor(offset=58, marker=Marker("model_id", "m2"), radio_rotation=3, last_run_at=1.5e9)
    await store.save_cf("alice", cf)
    await store.save_listens("alice", "lastfm", ListenCursor(newest_ts=123, polls=2))
    fresh = await KvCursorStore.open(provisioned)  # another process, after a restart
    assert await fresh.cf("alice") == cf
    assert await fresh.listens("alice", "lastfm") == ListenCursor(newest_ts=123, polls=2)


async def test_gate_claim_is_atomic_and_remembers_done(provisioned: JetStreamContext) -> None:
    gate, other = await KvListenGate.open(provisioned), await KvListenGate.open(provisioned)
    assert await gate.claim("alice.lastfm.abc") == GateState.NEW
    assert await other.claim("alice.lastfm.abc") == GateState.PENDING
    await gate.done("alice.lastfm.abc")
    assert await other.claim("alice.lastfm.abc") == GateState.DONE


async def test_known_recordings_come_from_the_pipeline_gate_and_the_library(provisioned: JetStreamContext) -> None:
    wanted, owned, new = mbid(1), mbid(2), mbid(3)
    await (await provisioned.key_value("pipeline_gate")).put(str(wanted), b'{"state": "acquiring"}')
    await (await provisioned.key_value("library_owned")).put(str(owned), b'{"track_id": "t1"}')
    removed = mbid(4)
    lib = await provisioned.key_value("library_owned")
    await lib.put(str(removed), b"{}")
    await lib.delete(str(removed))  # no longer in the library
    known = await (await KvKnownRecordings.open(provisioned)).known([wanted, owned, new, removed])
    assert known == {wanted, owned}


async def test_one_lease_holder_at_a_time_and_takeover_after_the_ttl(provisioned: JetStreamContext) -> None:
    kv = await provisioned.key_value("ingest_cursors")
    now = [1000.0]
    a = KvLease(kv, "ingest-a", 30, clock=lambda: now[0])
    b = KvLease(kv, "ingest-b", 30, clock=lambda: now[0])
    assert await a.hold()
    assert not await b.hold() and b.holder == "ingest-a"
    now[0] += 20
    assert await a.hold()  # renewed
    now[0] += 29
    assert not await b.hold()
    now[0] += 2  # a stopped renewing 31 s ago
    assert await b.hold()
    assert not await a.hold() and a.holder == "ingest-b"
    await b.release()
    assert await a.hold()  # at once, without waiting for the TTL
