"""asyncapi.yaml, the catalogue of every topic: the official parser (@asyncapi/parser, pinned
in tests/asyncapi/package.json, installed by ``make setup`` in .windvane/npm) accepts it, and
its topics are exactly the code's: the logical topics of ``streams/config.py`` and the
changelogs the worker declares. Each topic has a key, a payload that is a ``$ref`` to its
JSON Schema in ``schemas/`` (the parser resolves it: the file is read, not copied), headers,
and the operations of the worker and of ``windvane deliver``. docs/topics.md, its readable
view, is what ``make docs`` renders from it now.

No skip: without Node.js or the parser the test fails and says how to install them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streams.config import ALERTS, ALERTS_UNDELIVERABLE, INTERNAL_TOPICS, TOPICS
from streams.pipeline import DEADLETTER_REASONS
from tests.schemas import ASYNCAPI, REPO, SCHEMAS, load, load_asyncapi, resolve

pytestmark = pytest.mark.unit

DOC = ASYNCAPI
NPM_DIR = REPO / ".windvane" / "npm"
CHECK = REPO / "tests" / "asyncapi"
APP_ID = "windvane"
HEADERS = "./schemas/cloudevents-headers.json"


def parse(document: Path) -> dict[str, Any]:
    """What the official parser says of ``document`` (tests/asyncapi/asyncapi.mjs)."""
    node = shutil.which("node")
    assert node, "Node.js is missing: `make setup` (or `make npm-deps`) installs it"
    parser = NPM_DIR / "node_modules" / "@asyncapi" / "parser" / "package.json"
    assert parser.is_file(), f"no AsyncAPI parser in {NPM_DIR}: `make npm-deps` installs it"
    proc = subprocess.run(
        [node, str(CHECK / "asyncapi.mjs"), str(NPM_DIR), str(document)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 2) and proc.stdout, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


@pytest.fixture(scope="module")
def parsed() -> dict[str, Any]:
    return parse(DOC)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return load_asyncapi()


def is_internal(channel: dict[str, Any]) -> bool:
    flagged = channel.get("x-windvane-internal") is True
    assert flagged == ({"name": "internal"} in channel.get("tags", [])), channel["address"]
    return flagged


def messages(doc: dict[str, Any], channel: dict[str, Any]) -> list[dict[str, Any]]:
    return [resolve(doc, m) for m in channel["messages"].values()]


def operations(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(tag, action, address) of each operation."""
    out = []
    for op in doc["operations"].values():
        (tag,) = [t["name"] for t in op["tags"]]
        out.append((tag, op["action"], resolve(doc, op["channel"])["address"]))
    return out


def test_the_official_parser_accepts_the_document(parsed: dict[str, Any]) -> None:
    pinned = json.loads((CHECK / "package.json").read_text())["dependencies"]["@asyncapi/parser"]
    assert parsed["parser"] == pinned
    problems = [d for d in parsed["diagnostics"] if d["severity"] in ("error", "warning")]
    assert parsed["parsed"] and problems == []


def test_docs_topics_is_the_view_of_the_document(parsed: dict[str, Any]) -> None:
    view = (REPO / "docs" / "topics.md").read_text(encoding="utf-8")
    assert view == parsed["markdown"], "docs/topics.md is stale: run `make docs`"


@pytest.mark.parametrize(
    ("where", "find", "put", "expected"),
    [
        ("asyncapi.yaml", "./schemas/signal.json", "./schemas/missing.json", "missing.json"),
        ("asyncapi.yaml", "action: send", "action: publish", '"action"'),
        ("schemas/alert.json", '"price": {"type": "number"}', '"price": {"type": "float"}', "type"),
    ],
    ids=["payload $ref to no file", "AsyncAPI 2 action", "invalid JSON Schema in schemas/"],
)
def test_the_parser_check_can_fail(
    tmp_path: Path, where: str, find: str, put: str, expected: str
) -> None:
    shutil.copy(DOC, tmp_path / "asyncapi.yaml")
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    broken = tmp_path / where
    text = broken.read_text()
    assert find in text
    broken.write_text(text.replace(find, put))
    out = parse(tmp_path / "asyncapi.yaml")
    errors = [d["message"] for d in out["diagnostics"] if d["severity"] == "error"]
    assert not out["parsed"] and any(expected in e for e in errors), out["diagnostics"]


def test_the_topics_are_the_ones_of_streams_config(
    doc: dict[str, Any], parsed: dict[str, Any]
) -> None:
    channels = doc["channels"].values()
    logical = {c["address"] for c in channels if "{appId}" not in c["address"]}
    assert sorted(logical) == sorted(TOPICS)
    public = {c["address"] for c in channels if not is_internal(c)}
    assert public == set(TOPICS) - set(INTERNAL_TOPICS)
    assert {c["address"] for c in channels if is_internal(c)} >= set(INTERNAL_TOPICS)
    # the parser read the same channels
    assert sorted(c["address"] for c in parsed["channels"].values()) == sorted(
        c["address"] for c in channels
    )


def test_the_changelogs_are_the_ones_the_worker_declares(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    """The worker's own names (streams.app, imported, not started), for the default app id."""
    probe = (
        "import json; from streams import app; print(json.dumps({"
        "'changelogs': app.changelog_topics(),"
        "'leader': app.app._leader_assignor._leader_topic_name}))"
    )
    env = {
        **os.environ,
        "WINDVANE_APP_ID": APP_ID,
        "WINDVANE_STORE": "memory://",
        "WINDVANE_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    declared = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(declared["changelogs"]) >= 3
    channels = doc["channels"].values()
    named = {
        c["address"].replace("{appId}", APP_ID): c for c in channels if "{appId}" in c["address"]
    }
    changelogs = {name for name, c in named.items() if c.get("x-windvane-changelog") is True}
    assert changelogs == set(declared["changelogs"])
    assert set(named) == changelogs | {declared["leader"]}
    for name, channel in named.items():
        assert is_internal(channel), name
        policy = channel["bindings"]["kafka"].get("topicConfiguration", {}).get("cleanup.policy")
        assert (policy == ["compact"]) == (name in changelogs), name


def test_every_topic_has_a_key_a_schema_and_headers(
    doc: dict[str, Any], parsed: dict[str, Any]
) -> None:
    used = set()
    for cid, channel in doc["channels"].items():
        ids = []
        for message in messages(doc, channel):
            assert message["bindings"]["kafka"]["key"], channel["address"]
            payload = message["payload"]
            assert set(payload) == {"$ref"}, channel["address"]  # a reference, never a copy
            if payload["$ref"].startswith("#"):  # internal formats, described in components
                assert is_internal(channel), channel["address"]
                continue
            match = re.fullmatch(r"\./schemas/([a-z-]+)\.json", payload["$ref"])
            assert match, payload["$ref"]
            used.add(match[1])
            ids.append(load(SCHEMAS / f"{match[1]}.json")["$id"])
        if ids:  # the parser followed each $ref to the very file
            assert parsed["channels"][cid]["payload_ids"] == ids
        if not is_internal(channel):
            assert all("headers" in m for m in messages(doc, channel)), channel["address"]
    assert used | {"cloudevents-headers"} == {p.stem for p in SCHEMAS.glob("*.json")}


def test_outputs_carry_cloudevents_headers_inputs_may_not(doc: dict[str, Any]) -> None:
    ops = operations(doc)
    written = {address for _, action, address in ops if action == "send"}
    headers = load(SCHEMAS / "cloudevents-headers.json")
    dataschema = re.compile(headers["properties"]["ce_dataschema"]["pattern"])
    assert set(headers["required"]) >= {
        "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_dataschema",
        "content-type",
    }  # fmt: skip
    outputs = inputs = 0
    for channel in doc["channels"].values():
        if is_internal(channel):
            continue
        for message in messages(doc, channel):
            if channel["address"] in written:
                outputs += 1
                assert message["headers"] == {"$ref": HEADERS}, channel["address"]
                schema_id = load(REPO / message["payload"]["$ref"])["$id"]
                assert dataschema.fullmatch(schema_id) and schema_id.endswith("/v1"), schema_id
            else:
                inputs += 1
                assert resolve(doc, message["headers"]).get("required", []) == []
    assert (outputs, inputs) == (7, 2)  # quotes.signals has two: signal, signalCompact


def test_the_operations_of_the_worker_and_of_deliver(
    doc: dict[str, Any], parsed: dict[str, Any]
) -> None:
    ops = operations(doc)
    assert {tag for tag, _, _ in ops} == {"worker", "deliver"}
    assert {(a, c) for t, a, c in ops if t == "deliver"} == {
        ("receive", ALERTS),
        ("send", ALERTS_UNDELIVERABLE),
    }
    worker = {(a, c) for t, a, c in ops if t == "worker"}
    # the inputs the worker consumes (each with its dead-letter reasons), and alerts for the
    # dashboard
    received = {c for a, c in worker if a == "receive" and "{appId}" not in c}
    assert received == set(DEADLETTER_REASONS) | {ALERTS}
    # every topic but the two inputs from outside is written by windvane
    writes = {c for t, a, c in ops if a == "send"}
    assert {c for c in writes if "{appId}" not in c} == set(TOPICS) - {"quotes.raw", "articles.raw"}
    for channel in doc["channels"].values():
        assert any(c == channel["address"] for _, _, c in ops), channel["address"]
    # the parser saw the same operations
    assert {
        (o["action"], parsed["channels"][c]["address"])
        for o in parsed["operations"].values()
        for c in o["channels"]
    } == {(a, c) for _, a, c in ops}
