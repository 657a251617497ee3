"""docker-compose.yml, the Dockerfile and the CI entry point, checked by structure
(this machine has no Docker engine; the files are for users who do)."""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from tests.dockerfile import copies, stages

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
    ignored = [
        p.strip().rstrip("/")
        for p in (REPO / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    for stage in stages():
        for sources, _dest in copies(stage):
            for src in sources:
                assert (REPO / src).exists(), src
                # nothing the image needs is left out of the build context
                assert not any(fnmatch(src, pat) or src.startswith(pat + "/") for pat in ignored)
    final = stages()[-1]
    assert 'CMD ["worker", "-l", "info"]' in final and 'ENTRYPOINT ["windvane"]' in final


def test_the_image_installs_the_wheel_built_in_its_first_stage() -> None:
    build, final = stages()
    text = (REPO / "Dockerfile").read_text()
    assert not re.search(r"pip install[^\n]*(\s-e\s|--editable)", text)  # no editable install
    name = build[0].split()[-1]
    assert build[0].startswith("FROM python:3.11") and build[0].endswith(f" AS {name}")
    wheel_dir = next(
        line.split("--wheel-dir")[1].split()[0] for line in build if "pip wheel" in line
    )
    assert re.search(
        rf"RUN pip wheel --no-deps --wheel-dir {wheel_dir} \.$", "\n".join(build), re.M
    )
    # the runtime stage takes the wheel from the build stage, and no source from the context
    taken = [line.split()[-2:] for line in final if line.startswith(f"COPY --from={name} ")]
    assert [src for src, _ in taken] == [wheel_dir]
    assert [sources for sources, _ in copies(final)] == [["constraints.txt"]]
    install = next(line for line in final if "pip install" in line)
    assert re.search(rf"pip install -c \S*constraints.txt {taken[0][1]}/windvane-\*\.whl", install)


def test_the_build_stage_copies_what_the_package_links_to() -> None:
    """streams/ holds symlinks to the one copy of its data at the top of the repo: the
    build stage must copy their targets, or the wheel it builds lacks them."""
    build = stages()[0]
    copied = {src for sources, _ in copies(build) for src in sources}
    assert {"pyproject.toml", "streams"} <= copied
    links = [p for p in (REPO / "streams").rglob("*") if p.is_symlink()]
    assert {p.name for p in links} == {"schemas", "kafka-broker.pom.xml"}
    for link in links:
        target = link.resolve().relative_to(REPO).as_posix()
        assert any(target == src or target.startswith(src + "/") for src in copied), target


def test_the_package_reads_the_one_copy_of_each_schema_and_the_pom() -> None:
    """What runs reads package data; it is the same file users read at the top of the repo."""
    from streams.contracts import SCHEMA_DIR, SCHEMA_NAMES
    from streams.tools.kafka_local import broker_pom

    top = sorted(p.name for p in (REPO / "schemas").glob("*.json"))
    assert top == sorted(f"{name}.json" for name in SCHEMA_NAMES)
    assert (REPO / "streams" / "schemas").resolve() == (REPO / "schemas").resolve()
    for name in top:
        assert SCHEMA_DIR.joinpath(name).read_bytes() == (REPO / "schemas" / name).read_bytes()
    assert broker_pom() == (REPO / "ops" / "kafka" / "pom.xml").read_text(encoding="utf-8")


def test_worker_environment_in_compose_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for name in compose()["services"]["worker"]["environment"]:
        assert f"`{name}`" in readme, name


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
