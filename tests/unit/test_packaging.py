"""docker-compose.yml, the Dockerfile and the CI entry point, checked by structure
(this machine has no Docker engine; the files are for users who do)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_kraft_kafka_and_a_worker_built_from_the_repo() -> None:
    doc = compose()
    assert set(doc["services"]) == {"kafka", "worker", "prometheus"}
    assert doc["services"]["prometheus"]["profiles"] == ["monitoring"]  # optional
    kafka, worker = doc["services"]["kafka"], doc["services"]["worker"]
    image, tag = kafka["image"].split(":")
    assert image == "apache/kafka" and tag.startswith("4.")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    # every listener named is mapped to a protocol, and the controller is one of them
    names = {part.split(":")[0] for part in env["KAFKA_LISTENERS"].split(",")}
    mapped = {part.split(":")[0] for part in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")}
    assert names <= mapped and env["KAFKA_CONTROLLER_LISTENER_NAMES"] in names
    # the worker reaches kafka on an advertised listener
    bootstrap = worker["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap in env["KAFKA_ADVERTISED_LISTENERS"]
    assert worker["build"] == "."
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "healthcheck" in kafka
    for volume in [*kafka["volumes"], *worker["volumes"]]:
        assert volume.split(":")[0] in doc["volumes"]


def test_dockerfile_copies_what_exists_and_runs_the_worker() -> None:
    text = (REPO / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", text, flags=re.M):
        *sources, _dest = line.split()
        for src in sources:
            assert (REPO / src).exists(), src
    assert 'CMD ["worker"' in text and 'ENTRYPOINT ["windvane"]' in text


def test_worker_environment_in_compose_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for name in compose()["services"]["worker"]["environment"]:
        assert f"`{name}`" in readme, name


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
