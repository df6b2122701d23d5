"""`brainstream replay <projection>`: the command, its safety rules about the live store, progress and report."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import nats
import typer
from nats.aio.client import Client as NatsClient
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

from contracts.health import HealthStatus

from ..runtime.health import collect_health
from .projections import ReplayableProjection, UnknownProjection, discover, load, sqlite_files
from .replay import ReplayOptions, ReplayResult, parse_from_seq, parse_since, replay

__all__ = ["replay_cmd"]

console = Console()
err = Console(stderr=True)


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s", style="progress.data.speed")


class _Bars:
    """Rich bars on stderr (stdout stays for the report): one per phase, events done of total, rate, time left."""

    def __init__(self, progress: RichProgress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def phase(self, label: str, total: int) -> None:
        if self._task is not None:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(label, total=total)

    def total(self, events: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, total=events)

    def advance(self, events: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, events)


async def _running(nc: NatsClient, service: str) -> dict[str, Any] | None:
    """The service's health report when a process of it answers, else None."""
    report = (await collect_health(nc, (service,), timeout=1.5))[service]
    return None if report.get("status") == HealthStatus.MISSING.value else report


def _refuse_running(projection: ReplayableProjection, report: dict[str, Any], live: Path) -> typer.Exit:
    err.print(
        f"[red]{projection.service} is running[/] (pid {report.get('pid', '?')}, status {report.get('status')}) "
        f"and owns {live}.\nStop it first (the live store is replaced), or rebuild into another file with "
        f"[bold]--into PATH[/] while it runs."
    )
    return typer.Exit(2)


def _scratch(live: Path) -> Path:
    return live.with_name(f".{live.name}.replay")


def _remove(path: Path) -> None:
    for p in sqlite_files(path):
        p.unlink(missing_ok=True)


async def _run(
    nc: NatsClient, projection: ReplayableProjection, into: Path | None, opts: ReplayOptions, show: bool
) -> ReplayResult:
    js = nc.jetstream()
    live: Path | None = None
    if into is None:
        live = projection.live_store()
        if live is None:
            err.print(f"[red]The live store of {projection.name} is not a SQLite file:[/] name one with --into PATH.")
            raise typer.Exit(2)
        report = await _running(nc, projection.service)
        if report is not None:
            raise _refuse_running(projection, report, live)
    # from the start: build beside the live store and copy it in at the end; a catch-up goes on top of the store
    store = into if into is not None else (_scratch(live) if opts.from_start and live is not None else live)
    assert store is not None
    if into is None and opts.from_start:
        _remove(store)
    progress = RichProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show,
    )
    with progress:
        result = await replay(js, projection, store, opts, _Bars(progress))
    if into is None and opts.from_start and live is not None:
        report = await _running(nc, projection.service)
        if report is not None:  # started while we folded: leave the live store alone, keep what was built
            err.print(f"[yellow]{projection.service} started meanwhile; the rebuilt model is kept at {store}.[/]")
            raise _refuse_running(projection, report, live)
        await asyncio.to_thread(_install, projection, store, live)
        result.installed_into = str(live)
    return result


def _install(projection: ReplayableProjection, built: Path, live: Path) -> None:
    projection.open(live, fresh=False).close()  # a live store that never existed gets its schema first
    projection.install(built, live)
    _remove(built)


def _render(result: ReplayResult) -> None:
    table = Table(title=f"replay {result.projection}", title_justify="left")
    for col in ("stream", "from seq", "to seq", "read", "applied"):
        table.add_column(col, justify="left" if col == "stream" else "right")
    for run in result.streams:
        table.add_row(
            run.stream,
            f"{run.first_seq:,}" if run.first_seq else "-",
            f"{run.last_seq:,}" if run.last_seq else "-",
            f"{run.read:,}",
            f"{run.applied:,}",
        )
    table.add_section()
    table.add_row("total", "", "", f"{result.read:,}", f"{result.applied:,}", style="bold")
    console.print(table)
    facts = Table(show_header=False, box=None)
    facts.add_column(style="dim")
    facts.add_column()
    for kind, n in sorted(result.counts.items()):
        facts.add_row(kind, f"{n:,}")
    facts.add_row("time", f"{result.seconds:.2f} s")
    facts.add_row("rate", f"{result.rate:,.0f} events/s")
    facts.add_row("built in", result.store)
    if result.installed_into:
        facts.add_row("installed into", result.installed_into)
    console.print(facts)


def replay_cmd(
    projection: Annotated[str, typer.Argument(help="Which read model: `library` (catalog), `gateway` (journeys).")],
    into: Annotated[
        Path | None,
        typer.Option(help="Build into this SQLite file instead of the live store (allowed while the service runs)."),
    ] = None,
    from_seq: Annotated[
        list[str] | None,
        typer.Option(
            "--from-seq",
            help="Start at this stream sequence: N for every stream the projection reads, or STREAM:N "
            "(repeatable). Folds on top of the store as it is.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Start with the messages stored since this time: ISO 8601, or an age (30m, 2h, 1d)."),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 2000,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report, no progress bars.")] = False,
) -> None:
    """Rebuild a read model from the streams: from the start, or from a sequence or a time.

    Without --into the live store is replaced, so the service that keeps it must be stopped (it is asked over its
    health request; a running one makes the command refuse). From the start, the model is built in a scratch file
    beside the live store and copied in with one transaction at the end.
    """
    from ..natsauth import command_connection, redact
    from ..runstate import no_nats_reason, resolve_nats

    try:
        chosen = load(projection)
    except UnknownProjection as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    try:
        opts = ReplayOptions(
            from_seq=parse_from_seq(from_seq or [], [s.stream for s in chosen.sources]),
            since=parse_since(since) if since else None,
            batch=batch,
        )
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    own = chosen.live_store()
    if into is not None and own is not None and into.resolve() == own.resolve():
        into = None  # "into the live store" is the default, with its rules: not under a running service
    found = resolve_nats()
    if found is None:
        err.print(f"[red]No NATS to talk to:[/] {no_nats_reason()}")
        raise typer.Exit(2)
    url, creds = found

    async def go() -> ReplayResult:
        try:
            nc = await command_connection(url, creds, "brainstream-replay")
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            err.print(f"[red]Cannot reach NATS at {redact(url)}:[/] {exc}")
            raise typer.Exit(1) from exc
        try:
            return await _run(nc, chosen, into, opts, show=not as_json)
        finally:
            await nc.close()

    result = asyncio.run(go())
    if as_json:
        sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
    else:
        _render(result)


def known() -> list[str]:
    return sorted(discover())
