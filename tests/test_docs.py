"""Docs that must match the code."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from typer.testing import CliRunner

from contracts.asyncapi import build_asyncapi
from infra import __version__
from infra.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_asyncapi_document_is_current() -> None:
    written = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    assert written == json.loads(json.dumps(build_asyncapi(__version__))), "run `make docs` and commit the result"


def test_readme_opens_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text().split("## ")[0]
    assert "make run" in head
    assert "make test" in head


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _documented_commands(prefix: str = ".venv/bin/brainstream ") -> list[tuple[str, list[str]]]:
    """Every `brainstream …` line with this prefix in a shell block of the READMEs, as (file, arguments)."""
    out = []
    for doc in [ROOT / "README.md", *ROOT.glob("*/README.md")]:
        in_block = False
        for line in doc.read_text().splitlines():
            if line.startswith("```"):
                in_block = not in_block
                continue
            command = line.split("#", 1)[0].strip()
            if in_block and command.startswith(prefix):
                out.append((doc.relative_to(ROOT).as_posix(), shlex.split(command)[len(prefix.split()) :]))
    return out


def test_operations_commands_are_written_without_uv_and_all_parse() -> None:
    # uv may not be on PATH (make installs it into .tools/); the venv's own command always is where make put it
    assert _documented_commands("uv run brainstream ") == []
    commands = _documented_commands()
    assert len(commands) >= 20
    for doc, args in commands:
        # `--help` after the documented arguments: click rejects an unknown command or option before it
        args = [a for a in args if not a.startswith("<")]
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, f"{doc}: brainstream {' '.join(args)}\n{result.output}"
