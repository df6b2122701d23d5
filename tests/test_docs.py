"""Docs that must match the code."""

from __future__ import annotations

import json
from pathlib import Path

from contracts.asyncapi import build_asyncapi
from infra import __version__

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
