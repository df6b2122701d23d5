"""The operator's commands: `brainstream dlq list|show|redrive`, `trace`, `tail`, `metrics` and `replay`."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import nats
import typer
from nats.aio.client import Client as NatsClient
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

__all__ = ["register"]

T = TypeVar("T")
console = Console()
err = Console(stderr=True)
dlq_app = typer.Typer(help="Dead letters: list them, show one, put them back on their subject.", no_args_is_help=True)


def _run(job: Callable[[NatsClient], Awaitable[T]]) -> T:
    from ..natsauth import command_connection, redact
    from ..runstate import no_nats_reason, resolve_nats

    found = resolve_nats()
    if found is None:
        err.print(f"[red]No NATS to talk to:[/] {no_nats_reason()}")
        raise typer.Exit(2)
    url, creds = found

    async def go() -> T:
        try:
            nc = await command_connection(url, creds, "brainstream-ops")
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            err.print(f"[red]Cannot reach NATS at {redact(url)}:[/] {exc}")
            raise typer.Exit(1) from exc
        try:
            return await job(nc)
        finally:
            await nc.close()

    return asyncio.run(go())


@dlq_app.command("list")
def dlq_list(
    reason: Annotated[str | None, typer.Option(help="Only this reason (undecodable, exhausted, …).")] = None,
    subject: Annotated[str | None, typer.Option(help="Only this original subject (wildcards ok).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Dead letters with their reason, delivery count and original subject."""
    from .deadletters import list_letters

    letters = _run(lambda nc: list_letters(nc.jetstream(), reason=reason, subject=subject, limit=limit))
    rows = [letter.summary() for letter in letters]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title=f"Dead letters ({len(rows)})", title_justify="left")
    for col in ("id", "failed at", "subject", "consumer", "reason", "deliveries", "detail"):
        table.add_column(col, justify="right" if col in ("id", "deliveries") else "left", overflow="fold")
    for r in rows:
        table.add_row(str(r["id"]), r["failed_at"][:19], r["subject"], r["consumer"], f"[yellow]{r['reason']}[/]",
                      str(r["deliveries"]), escape(r["detail"][:160]))  # fmt: skip
    console.print(table)
    if rows:
        console.print("Show one with [bold]brainstream dlq show ID[/]; re-drive with [bold]brainstream dlq redrive[/].")


@dlq_app.command("show")
def dlq_show(letter_id: Annotated[int, typer.Argument(metavar="ID", help="The letter's id from `dlq list`.")]) -> None:
    """One dead letter: every header, and the body decoded."""
    from .deadletters import decode_body, get_letter

    letter = _run(lambda nc: get_letter(nc.jetstream(), letter_id))
    if letter is None:
        err.print(f"[red]No dead letter {letter_id}[/]")
        raise typer.Exit(1)
    table = Table(title=f"Dead letter {letter_id}", title_justify="left", show_header=False)
    table.add_column("header", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in sorted(letter.headers.items(), key=lambda kv: (not kv[0].startswith("Brainstream-DL"), kv[0])):
        table.add_row(key, escape(value))
    console.print(table)
    body = decode_body(letter.body)
    if isinstance(body, (dict, list)):
        console.print(Syntax(json.dumps(body, indent=2, ensure_ascii=False), "json", word_wrap=True))
    elif isinstance(body, str):
        console.print(escape(body))
    else:
        console.print(f"[yellow]{len(letter.body)} bytes, not UTF-8:[/] {letter.body[:400]!r}")


@dlq_app.command("redrive")
def dlq_redrive(
    letter_ids: Annotated[list[int] | None, typer.Argument(metavar="[ID]...", help="Letters to re-drive.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every letter (with --reason/--subject: those).")] = False,
    reason: Annotated[str | None, typer.Option(help="With --all: only this reason.")] = None,
    subject: Annotated[str | None, typer.Option(help="With --all: only this original subject.")] = None,
) -> None:
    """Put letters back on their original subject; each is removed only once the publish is acknowledged."""
    from .deadletters import redrive, redrive_all

    if all_ == bool(letter_ids):
        err.print("[red]Give letter ids or --all (not both).[/]")
        raise typer.Exit(2)
    if all_:
        report = _run(lambda nc: redrive_all(nc.jetstream(), reason=reason, subject=subject))
    else:
        report = _run(lambda nc: redrive(nc.jetstream(), letter_ids or []))
    console.print(f"re-driven: {len(report.redriven)} letters as {report.published} messages")
    for letter_id, why in report.failed.items():
        err.print(f"[red]letter {letter_id}:[/] {escape(why)}")
    raise typer.Exit(1 if report.failed else 0)


def trace_cmd(
    key: Annotated[str, typer.Argument(metavar="MBID|CORRELATION_ID", help="A recording MBID or a correlation id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every event of one track's journey across all streams, in order, with timings per stage."""
    from .trace import summarize, trace

    try:
        uuid.UUID(key)
    except ValueError as exc:
        err.print(f"[red]{key!r} is neither a recording MBID nor a correlation id (a UUID).[/]")
        raise typer.Exit(2) from exc
    events = _run(lambda nc: trace(nc.jetstream(), key))
    if as_json:
        sys.stdout.write(json.dumps([e.as_json() for e in events], indent=2, ensure_ascii=False) + "\n")
        raise typer.Exit(0 if events else 1)
    if not events:
        err.print(f"No event carries {key}.")
        raise typer.Exit(1)
    journeys = {e.body.get("correlation_id") for e in events}
    table = Table(title=f"Trace of {key} ({len(events)} events, {len(journeys)} journeys)", title_justify="left")
    for col in ("at", "+total", "stage", "subject", "where", "correlation", "what"):
        table.add_column(col, justify="right" if col in ("+total", "stage") else "left", overflow="fold")
    for e in events:
        subject = e.subject if e.dead_letter is None else f"[red]{e.subject}[/] ({e.dead_letter.get('reason', '?')})"
        stage = "" if e.stage_s is None else _dur(e.stage_s)
        what = summarize(e.body) if e.dead_letter is None else e.dead_letter.get("detail", "")
        table.add_row(e.at.strftime("%H:%M:%S.%f")[:-3], _dur(e.offset_s), stage, subject, f"{e.stream}#{e.seq}",
                      str(e.body.get("correlation_id", ""))[:8], escape(what))  # fmt: skip
    console.print(table)


def _dur(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 120:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}m"


def tail_cmd(
    subject: Annotated[str, typer.Argument(help="Subject filter, wildcards ok (e.g. 'resolve.>').")] = ">",
    last: Annotated[int, typer.Option(help="Start with the last N messages of each stream.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Live events as they are stored, pretty-printed; Ctrl-C stops."""
    from .tail import Tailed, tail
    from .trace import summarize

    def show(t: Tailed) -> None:
        if as_json:
            record: dict[str, Any] = {"stream": t.stream, "seq": t.seq, "subject": t.subject,
                                      "at": t.at.isoformat(), "event": t.body}  # fmt: skip
            if t.body is None:
                record["raw"] = t.raw.decode("utf-8", errors="replace")
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        cid = str((t.body or {}).get("correlation_id", ""))[:8]
        what = summarize(t.body) if t.body is not None else f"{len(t.raw)} bytes, not a JSON event"
        if t.subject.startswith("deadletter."):
            reason, detail = t.headers.get("Brainstream-DL-Reason", "?"), t.headers.get("Brainstream-DL-Detail", "")
            what = f"[red]{reason}[/] {escape(detail)}"
        else:
            what = escape(what)
        console.print(
            f"{t.at.strftime('%H:%M:%S.%f')[:-3]} [cyan]{t.subject}[/] {t.stream}#{t.seq} [dim]{cid}[/] {what}"
        )

    async def job(nc: NatsClient) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if not as_json:
            err.print(f"tailing {subject} (Ctrl-C to stop)")
        await tail(nc.jetstream(), show, stop, subject=subject, last=last)

    _run(job)


def metrics_cmd(
    window: Annotated[float, typer.Option(help="Seconds to wait for the answers of every process.")] = 0.5,
) -> None:
    """Prometheus metrics of every running process, merged (what the gateway serves at /metrics)."""
    from ..metrics import gather_metrics

    sys.stdout.write(_run(lambda nc: gather_metrics(nc, window_s=window)))


def register(app: typer.Typer) -> None:
    """Add the operator's commands to the `brainstream` command."""
    app.add_typer(dlq_app, name="dlq")
    app.command("trace")(trace_cmd)
    app.command("tail")(tail_cmd)
    app.command("metrics")(metrics_cmd)
    from .replay_cli import replay_cmd

    app.command("replay")(replay_cmd)
