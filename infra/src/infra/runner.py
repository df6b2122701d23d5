"""`brainstream up`: a private nats-server, provisioning, then every service as a supervised process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nats
from rich.console import Console

from .internal import library_api_secret
from .natsauth import NatsCredentials, embedded_credentials, redact, without_credentials
from .natscluster import NatsCluster, keep_cluster, start_nats_cluster, wait_jetstream_ready
from .natsserver import NatsServer, NatsServerError, start_nats_server
from .provision import REPLICAS_ENV, ProvisionError, provision, replicas_setting
from .runstate import RunState, clear_state, read_state, write_state
from .sealing import seal_settings
from .secretbox import SecretBox, key_file, load_or_create_key
from .secretfiles import private_dir
from .supervisor import SERVICE_MODULES, ProcessSpec, Supervisor, child_env, service_argv

__all__ = ["RunOptions", "parse_replicas", "run", "slot_env"]

log = logging.getLogger(__name__)

_ALIASES = {name.removesuffix("-svc"): name for name in SERVICE_MODULES} | {n: n for n in SERVICE_MODULES}


@dataclass
class RunOptions:
    data_dir: Path
    http_host: str
    http_port: int
    nats_url: str | None
    replicas: dict[str, int]
    ready_timeout_s: float = 60.0
    cluster: int = 0
    """Nodes of a local NATS cluster to start instead of one embedded server (0: one server)."""


def parse_replicas(text: str) -> dict[str, int]:
    """`resolve=3,acquire=2` → {"resolve-svc": 3, "acquire-svc": 2}."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        service = _ALIASES.get(name.strip())
        if service is None:
            raise ValueError(f"unknown service {name!r} in --replicas; known: {', '.join(sorted(_ALIASES))}")
        if not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"--replicas {part!r}: the count must be a whole number of at least 1")
        if service == "gateway" and int(count) > 9:
            raise ValueError("--replicas gateway: at most 9 (one HTTP port each, from BRAINSTREAM_HTTP_PORT on)")
        out[service] = int(count)
    return out


def slot_env(service: str, index: int, count: int, http_port: int) -> dict[str, str]:
    """What sets one process of `count` apart. A replica's slot name keeps a restarted process the same writer
    (library-svc's lease); gateway replicas also get their own HTTP port (BRAINSTREAM_HTTP_PORT, +1, +2 ...) and
    replica id, so each folds every event into its own read model (see gateway/replicas.py)."""
    name = service if count == 1 else f"{service}#{index + 1}"
    env = {"BRAINSTREAM_REPLICA_SLOT": name}
    if service == "gateway" and count > 1:
        env |= {"BRAINSTREAM_HTTP_PORT": str(http_port + index), "BRAINSTREAM_REPLICA_ID": f"gw{index + 1}"}
    return env


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _gateway_health(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            body: dict[str, object] = json.loads(resp.read())
            return body
    except (urllib.error.URLError, OSError, ValueError):
        return None


async def run(opts: RunOptions, console: Console) -> int:
    t0 = time.monotonic()
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    if not _port_free(opts.http_host, opts.http_port):
        console.print(
            f"[red]Port {opts.http_port} on {opts.http_host} is in use.[/] "
            "Stop what uses it or choose another with BRAINSTREAM_HTTP_PORT."
        )
        return 2
    server: NatsServer | None = None
    cluster: NatsCluster | None = None
    if opts.cluster > 1 and not opts.nats_url:
        # every node admits the same user and password as the one embedded server (nats/auth.json, 0600)
        creds = embedded_credentials(private_dir(opts.data_dir / "nats")) or NatsCredentials()
        cluster = start_nats_cluster(
            private_dir(opts.data_dir / "nats-cluster"), opts.cluster, extra_config=creds.server_config()
        )
        nats_url = cluster.url
        console.print(f"NATS: a local cluster of {cluster.size} nodes at [bold]{nats_url}[/]")
    elif opts.nats_url:
        nats_url = opts.nats_url
        creds = NatsCredentials.from_env()  # or none: then the URL carries them, or the server wants none
        console.print(f"NATS: using [bold]{redact(nats_url)}[/] (NATS_URL)")
    else:
        # the embedded server admits only the user and password made at first start (nats/auth.json, 0600)
        nats_dir = private_dir(opts.data_dir / "nats")
        creds = embedded_credentials(nats_dir) or NatsCredentials()
        server = start_nats_server(nats_dir, extra_config=creds.server_config())
        nats_url = server.url
        console.print(f"NATS: embedded nats-server at [bold]{nats_url}[/] (data in {server.store_dir})")
    # secrets every service shares, made before any of them starts so none races another to make them
    secret_key = os.environ.get("BRAINSTREAM_SECRET_KEY") or None
    box = SecretBox(load_or_create_key(secret_key, key_file(opts.data_dir)))
    library_secret = library_api_secret(os.environ.get("BRAINSTREAM_LIBRARY_API_SECRET"), opts.data_dir)
    supervisor: Supervisor | None = None
    try:
        # a cluster keeps three copies of every stream unless BRAINSTREAM_NATS_REPLICAS says otherwise
        stream_copies = min(3, opts.cluster) if cluster and not os.environ.get(REPLICAS_ENV) else replicas_setting()
        if cluster is not None:
            await wait_jetstream_ready(nats_url, replicas=stream_copies, **creds.connect_options())
        nc = await nats.connect(nats_url.split(","), name="brainstream-up", **creds.connect_options())
        try:
            report = await provision(nc.jetstream(), stream_copies)
        except ProvisionError as exc:  # BRAINSTREAM_NATS_REPLICAS=3 on one server, say
            await nc.close()
            console.print(f"[red]{exc}[/] (`brainstream up --cluster 3` starts a local cluster of three)")
            return 2
        # before any service watches the bucket: account documents of an older version sealed, plain bytes gone
        await seal_settings(nc.jetstream(), box, private_dir(opts.data_dir / "secrets") / "settings-backup.json")
        await nc.close()
        console.print(
            f"Provisioned streams, consumers and KV: {len(report.created)} created, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged"
        )
        # library-svc's OpenSubsonic API sits behind the gateway on loopback; any free port will do
        library_port = int(os.environ.get("BRAINSTREAM_LIBRARY_HTTP_PORT") or 0) or _any_free_port()
        env = {
            **(creds.env() if server is not None or cluster is not None else {}),
            "BRAINSTREAM_LIBRARY_API_SECRET": library_secret,
            "NATS_URL": nats_url,
            "BRAINSTREAM_DATA_DIR": str(opts.data_dir),
            "BRAINSTREAM_HTTP_HOST": opts.http_host,
            "BRAINSTREAM_HTTP_PORT": str(opts.http_port),
            "BRAINSTREAM_LIBRARY_HTTP_HOST": "127.0.0.1",
            "BRAINSTREAM_LIBRARY_HTTP_PORT": str(library_port),
            "BRAINSTREAM_LIBRARY_API_URL": f"http://127.0.0.1:{library_port}",
        }
        specs: list[ProcessSpec] = []
        for service, module in SERVICE_MODULES.items():
            count = opts.replicas.get(service, 1)
            for i in range(count):
                slot = slot_env(service, i, count, opts.http_port)
                specs.append(ProcessSpec(slot["BRAINSTREAM_REPLICA_SLOT"], service_argv(module), child_env(env | slot)))

        def record_pids() -> None:  # keep the run state true for `status`, tests and operators after a restart
            state = read_state(opts.data_dir)
            if state is not None and supervisor is not None:
                write_state(state.model_copy(update={"service_pids": supervisor.pids}), opts.data_dir)

        supervisor = Supervisor(specs, on_restart=record_pids)
        await supervisor.start()
        http_url = f"http://{opts.http_host}:{opts.http_port}"
        write_state(
            RunState(
                nats_url=without_credentials(nats_url),  # credentials: nats/auth.json or the environment
                http_url=http_url,
                pid=os.getpid(),
                embedded_nats=server is not None or cluster is not None,  # its credentials: nats/auth.json
                nats_pid=server.pid if server else None,
                nats_pids=cluster.pids if cluster else [],
                service_pids=supervisor.pids,
            ),
            opts.data_dir,
        )
        console.print(f"Web UI and API: [bold cyan]{http_url}[/]   Subsonic clients: [bold]{http_url}/rest[/]")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        ready = asyncio.create_task(_announce_ready(f"{http_url}/api/health", t0, opts.ready_timeout_s, console))
        keeper = _NatsKeeper(server, opts.data_dir, creds.server_config()) if server else None
        keeping = asyncio.create_task(keeper.run()) if keeper else None
        if cluster is not None:

            def record_nodes() -> None:
                state = read_state(opts.data_dir)
                if state is not None and cluster is not None:
                    write_state(state.model_copy(update={"nats_pids": cluster.pids}), opts.data_dir)

            keeping = asyncio.create_task(keep_cluster(cluster, record_nodes))
        await stop.wait()
        for task in (ready, keeping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if keeper is not None:
            server = keeper.server  # the one running now, perhaps a restarted one
        console.print("Stopping…")
        return 0
    finally:
        if supervisor is not None:
            await supervisor.stop()
        if server is not None:
            server.stop()
        if cluster is not None:
            cluster.stop()
        clear_state(opts.data_dir)
        console.print("Stopped.")


class _NatsKeeper:
    """Restart a nats-server that died, on the same port, so services reconnect to the URL they know."""

    def __init__(self, server: NatsServer, data_dir: Path, config: str) -> None:
        self.server = server
        self.data_dir = data_dir
        self.config = config
        self.port = int(server.url.rsplit(":", 1)[1])

    async def run(self) -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(0.5)
            if self.server.process.poll() is None:
                continue
            log.warning(
                "nats-server exited with %s; restarting it on port %d", self.server.process.returncode, self.port
            )
            try:
                self.server = await asyncio.to_thread(
                    start_nats_server, self.data_dir / "nats", port=self.port, extra_config=self.config
                )
            except NatsServerError as exc:
                log.error("nats-server did not come back (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
                continue
            delay = 0.5
            state = read_state(self.data_dir)
            if state is not None:
                write_state(state.model_copy(update={"nats_pid": self.server.pid}), self.data_dir)


def _any_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _announce_ready(url: str, t0: float, timeout_s: float, console: Console) -> None:
    deadline = time.monotonic() + timeout_s
    last: dict[str, object] | None = None
    while time.monotonic() < deadline:
        last = await asyncio.to_thread(_gateway_health, url)
        if last and last.get("status") == "ok":
            console.print(f"[green]All services ok[/] in {time.monotonic() - t0:.1f}s. Ctrl-C stops everything.")
            return
        await asyncio.sleep(0.25)
    services = last.get("services") if last else None
    reports = services if isinstance(services, dict) else {}
    bad = [name for name, rep in reports.items() if isinstance(rep, dict) and rep.get("status") != "ok"]
    console.print(
        f"[yellow]Not all services are ok after {timeout_s:.0f}s[/]: {', '.join(bad) or 'the gateway does not answer'}"
        " — see the log lines above; `brainstream status` shows details."
    )
