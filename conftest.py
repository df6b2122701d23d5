"""Fixtures shared by every test folder of the workspace: a real nats-server, loopback fakes of web APIs."""

from collections.abc import Iterator

import pytest

from infra.upstreams import UPSTREAMS

pytest_plugins = ["tests.support.nats", "tests.support.fakeweb"]


@pytest.fixture(autouse=True)
def _fresh_upstream_book() -> Iterator[None]:
    # the book of external services' health is one per process, as a service is: tests that run services in this
    # process must not inherit an earlier test's unreachable upstream (it would make their health `degraded`)
    UPSTREAMS.clear()
    yield
