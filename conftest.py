"""Fixtures shared by every test folder of the workspace: a real nats-server, loopback fakes of web APIs."""

pytest_plugins = ["tests.support.nats", "tests.support.fakeweb"]
