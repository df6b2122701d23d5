"""`brainstream status`: what the streams hold, what each consumer still owes, and how every service feels."""

from __future__ import annotations

from typing import Any

from nats.errors import Error as NatsError
from nats.js.api import StreamInfo
from nats.js.errors import NotFoundError
from rich.console import Console
from rich.table import Table

from contracts.topology import STREAMS

from .natsauth import NatsCredentials, command_connection, redact
from .ops.unconsumed import unconsumed_subjects
from .runtime.health import collect_health, overall_status, upstream_summary

__all__ = ["SILENT_AFTER_S", "gather_status", "render_status", "replication"]

SILENT_AFTER_S = 5.0
"""A stream's peer not heard from for this long is shown as lagging (a lost node, before the leader marks it)."""


def replication(info: StreamInfo) -> dict[str, Any]:
    """Copies, leader and the peers that are behind or gone. Healthy: a leader, and every peer current."""
    replicas = info.config.num_replicas or 1
    cluster = info.cluster
    leader = cluster.leader if cluster else None
    # a killed node still counts as current until the leader gives up on it; silence says it sooner
    lagging = [
        {"name": p.name, "offline": bool(p.offline), "lag": p.lag or 0, "silent_s": round((p.active or 0) / 1e9, 1)}
        for p in ((cluster.replicas or []) if cluster else [])
        if p.offline or not p.current or (p.active or 0) > SILENT_AFTER_S * 1e9
    ]
    # a single server answers without cluster info: its one copy is its own leader
    healthy = (leader is not None or cluster is None or cluster.name is None) and not lagging
    return {"replicas": replicas, "leader": leader, "lagging": lagging, "healthy": healthy}


async def gather_status(
    nats_url: str, credentials: NatsCredentials | None = None, timeout: float = 1.0
) -> dict[str, Any]:
    nc = await command_connection(nats_url, credentials or NatsCredentials(), "brainstream-status")
    try:
        js = nc.jetstream()
        streams: list[dict[str, Any]] = []
        consumers: list[dict[str, Any]] = []
        for spec in STREAMS:
            try:
                info = await js.stream_info(spec.name)
            except NotFoundError:
                streams.append({"name": spec.name, "missing": True})
                continue
            except (NatsError, TimeoutError) as exc:
                # a node of a cluster just went and the stream it led has no leader yet: say so, go on
                streams.append({"name": spec.name, "unavailable": f"{type(exc).__name__}: {exc}", "healthy": False})
                continue
            streams.append(
                {"name": spec.name, "messages": info.state.messages, "bytes": info.state.bytes,
                 "first_seq": info.state.first_seq, "last_seq": info.state.last_seq, **replication(info)}
            )  # fmt: skip
            try:
                listed = await js.consumers_info(spec.name)
            except (NatsError, TimeoutError):
                listed = []  # the stream answered but its consumers not yet: the next status shows them
            for c in listed:
                consumers.append(
                    {"stream": spec.name, "durable": c.name, "pending": c.num_pending,
                     "ack_pending": c.num_ack_pending, "redelivered": c.num_redelivered,
                     "waiting": c.num_waiting}
                )  # fmt: skip
        services = await collect_health(nc, timeout=timeout)
        unconsumed = await unconsumed_subjects(js)
        upstreams = upstream_summary(services)
        unreplicated = [s["name"] for s in streams if not s.get("missing") and not s["healthy"]]
        return {
            "nats_url": redact(nats_url),
            "status": "degraded" if unreplicated and overall_status(services) == "ok" else overall_status(services),
            "unhealthy_streams": unreplicated,
            "degraded_upstreams": [u["name"] for u in upstreams.values() if u["degraded"]],
            "upstreams": upstreams,
            "streams": streams,
            "consumers": consumers,
            "services": services,
            "unconsumed": unconsumed,
        }
    finally:
        await nc.close()


def render_status(status: dict[str, Any], console: Console) -> None:
    colour = "green" if status["status"] == "ok" else "yellow"
    console.print(f"NATS [bold]{status['nats_url']}[/]   overall [{colour}]{status['status']}[/]")
    for u in status.get("upstreams", {}).values():
        if u["degraded"]:
            since = (u.get("failing_since") or "")[11:16]
            console.print(
                f"[yellow]degraded: {u['name']} {u['short'] or 'failing'} since {since} UTC[/] ({u['reason']})"
            )
    st = Table(title="Streams", title_justify="left")
    for col in ("stream", "messages", "bytes", "last seq", "replicas", "leader", "lagging peers"):
        st.add_column(col, justify="right" if col not in ("stream", "leader", "lagging peers") else "left")
    for s in status["streams"]:
        if s.get("missing"):
            st.add_row(s["name"], "[red]missing[/]", "", "", "", "", "")
        elif s.get("unavailable"):
            st.add_row(s["name"], "[red]no answer[/]", "", "", "", "[red]none yet[/]", s["unavailable"])
        else:
            lagging = ", ".join(_peer(p) for p in s["lagging"])
            leader = s["leader"] or ("[red]none[/]" if s["replicas"] > 1 else "—")
            st.add_row(
                s["name"], str(s["messages"]), _size(s["bytes"]), str(s["last_seq"]), str(s["replicas"]), leader,
                f"[yellow]{lagging}[/]" if lagging else "—",
            )  # fmt: skip
    console.print(st)
    ct = Table(title="Consumers", title_justify="left")
    for col in ("stream", "durable", "pending", "ack pending", "redelivered"):
        ct.add_column(col, justify="right" if col in ("pending", "ack pending", "redelivered") else "left")
    for c in status["consumers"]:
        ct.add_row(c["stream"], c["durable"], str(c["pending"]), str(c["ack_pending"]), str(c["redelivered"]))
    console.print(ct)
    ht = Table(title="Services", title_justify="left")
    for col in ("service", "status", "uptime", "pid", "detail"):
        ht.add_column(col)
    for name, rep in status["services"].items():
        s = rep.get("status", "?")
        col = {"ok": "green", "degraded": "yellow"}.get(s, "red")
        uptime = f"{rep['uptime_s']:.0f}s" if "uptime_s" in rep else ""
        detail = rep.get("error") or ", ".join(
            f"{k}: {v.get('status')}" for k, v in rep.get("checks", {}).items() if isinstance(v, dict)
        )
        ht.add_row(name, f"[{col}]{s}[/]", uptime, str(rep.get("pid", "")), detail)
    console.print(ht)
    if status.get("upstreams"):
        ut = Table(title="External services", title_justify="left")
        for col in ("upstream", "status", "last success", "last failure", "reason"):
            ut.add_column(col)
        for u in status["upstreams"].values():
            state = "[yellow]degraded[/]" if u["degraded"] else ("[red]failing[/]" if u["failing_since"] else "ok")
            if not (u["last_success"] or u["last_failure"]):
                state = "[dim]not used yet[/]"
            ut.add_row(u["name"], state, _when(u["last_success"]), _when(u["last_failure"]), u["reason"])
        console.print(ut)
    if status.get("unconsumed"):
        ut = Table(title="Subjects no consumer reads (an unknown version, or a typo)", title_justify="left")
        ut.add_column("subject")
        ut.add_column("messages", justify="right")
        for subject, count in status["unconsumed"].items():
            ut.add_row(f"[yellow]{subject}[/]", str(count))
        console.print(ut)


def _peer(peer: dict[str, Any]) -> str:
    if peer["offline"]:
        return f"{peer['name']} (offline)"
    if peer.get("silent_s", 0) > SILENT_AFTER_S:
        return f"{peer['name']} (silent {peer['silent_s']:.0f}s)"
    return f"{peer['name']} ({peer['lag']} behind)"


def _when(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else "—"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
