"""The `brainstream` command."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import nats
import typer
from rich.console import Console

from . import __version__
from .natsauth import NatsCredentials, command_connection, redact
from .ops.cli import register as register_ops_commands

__all__ = ["app", "main"]

app = typer.Typer(
    name="brainstream",
    help="BrainStream: your ListenBrainz history in, a tagged Subsonic library out.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def _nats_or_exit() -> tuple[str, NatsCredentials]:
    from .runstate import no_nats_reason, resolve_nats

    found = resolve_nats()
    if found is None:
        err.print(f"[red]No NATS to talk to:[/] {no_nats_reason()}")
        raise typer.Exit(2)
    return found


def _run_or_exit(job: Coroutine[Any, Any, None], url: str) -> None:
    try:
        asyncio.run(job)
    except (OSError, TimeoutError, nats.errors.Error) as exc:  # refused, unreachable, or not signed in
        err.print(f"[red]Cannot reach NATS at {redact(url)}:[/] {exc}")
        raise typer.Exit(1) from exc


@app.command()
def up(
    replicas: Annotated[
        str,
        typer.Option(
            help="Processes per service, e.g. resolve=3,acquire=2 (they share durable consumers); gateway=2 serves "
            "on the HTTP port and the next, each gateway with its own read model."
        ),
    ] = "",
    http_port: Annotated[
        int | None, typer.Option(help="Gateway port [env BRAINSTREAM_HTTP_PORT, default 8080].")
    ] = None,
    cluster: Annotated[
        int, typer.Option(help="Start a local NATS cluster of this many nodes (3: streams kept on three).", min=0)
    ] = 0,
) -> None:
    """Start everything on this machine: nats-server, provisioning, every service, the web UI."""
    from .logs import configure_logging
    from .runner import RunOptions, parse_replicas, run
    from .runstate import data_dir

    configure_logging("brainstream")
    try:
        counts = parse_replicas(replicas)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    port = http_port if http_port is not None else int(os.environ.get("BRAINSTREAM_HTTP_PORT", "8080"))
    opts = RunOptions(
        data_dir=data_dir(),
        http_host=os.environ.get("BRAINSTREAM_HTTP_HOST", "127.0.0.1"),
        http_port=port,
        nats_url=os.environ.get("NATS_URL") or None,
        replicas=counts,
        cluster=cluster,
    )
    raise typer.Exit(asyncio.run(run(opts, console)))


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Streams with message counts, consumers with pending and ack-pending, and each service's health."""
    from .status import gather_status, render_status

    url, creds = _nats_or_exit()
    try:
        result = asyncio.run(gather_status(url, creds))
    except (OSError, TimeoutError, nats.errors.Error) as exc:
        err.print(f"[red]Cannot reach NATS at {redact(url)}:[/] {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        render_status(result, console)
    raise typer.Exit(0 if result["status"] == "ok" else 1)


@app.command("provision")
def provision_cmd() -> None:
    """Create or update the streams, durable consumers and KV buckets from the contracts (idempotent).

    Raising BRAINSTREAM_NATS_REPLICAS and running this again changes every stream's copies in place."""
    from .provision import ProvisionError, provision

    url, creds = _nats_or_exit()

    from .runstate import data_dir
    from .sealing import seal_settings
    from .secretbox import KeySource, key_file
    from .secretfiles import private_dir

    box = KeySource(os.environ.get("BRAINSTREAM_SECRET_KEY") or None, key_file(data_dir()))()

    async def go() -> None:
        nc = await command_connection(url, creds, "brainstream-provision")
        try:
            try:
                report = await provision(nc.jetstream())
            except (ProvisionError, ValueError) as exc:  # too many replicas for the cluster, or a bad setting
                err.print(f"[red]{exc}[/]")
                raise typer.Exit(1) from exc
            if box is not None:  # account documents an older version stored in plain text: sealed, plain bytes gone
                backup = private_dir(data_dir() / "secrets") / "settings-backup.json"
                if sealed := await seal_settings(nc.jetstream(), box, backup):
                    console.print(f"sealed {sealed} account document(s) stored in plain text")
        finally:
            await nc.close()
        for label, items in (("created", report.created), ("updated", report.updated)):
            for item in items:
                console.print(f"{label}: {item}")
        console.print(f"{len(report.unchanged)} already as declared")

    _run_or_exit(go(), url)


@app.command()
def scan(
    full: Annotated[bool, typer.Option("--full", help="Re-read every file, not only changed ones.")] = False,
) -> None:
    """Ask library-svc to scan the music folder (publishes the StartScan command; the outcome is ScanCompleted)."""
    from contracts.gateway import StartScan

    url, creds = _nats_or_exit()
    command = StartScan(full=full)

    async def go() -> None:
        nc = await command_connection(url, creds, "brainstream-scan")
        try:
            await nc.jetstream().publish(
                command.subject, command.to_json(), headers={"Nats-Msg-Id": str(command.event_id)}
            )
        finally:
            await nc.close()

    _run_or_exit(go(), url)
    console.print(f"scan requested ({'full' if full else 'changed files'}): {command.event_id}")


@app.command()
def docs(
    out: Annotated[Path, typer.Option(help="Where to write the AsyncAPI document.")] = Path("docs/asyncapi.json"),
) -> None:
    """Write the AsyncAPI description of every event and command, generated from the contracts."""
    from contracts.asyncapi import build_asyncapi

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build_asyncapi(__version__), indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {out}")


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


register_ops_commands(app)  # dlq, trace, tail, metrics, replay


def main() -> None:
    app()


if __name__ == "__main__":
    main()
