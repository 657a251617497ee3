"""Agent tests run the real Faust app under ``test_context`` with the in-memory store."""

from __future__ import annotations

import os

os.environ["WINDVANE_STORE"] = "memory://"
os.environ.setdefault("WINDVANE_DATA_DIR", "/tmp/windvane-agent-tests")


import orjson
import pytest


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[bytes, object]]]:
    """Capture what the agents send, per logical topic; start from empty tables."""
    from streams import app as app_module

    captured: dict[str, list[tuple[bytes, object]]] = {name: [] for name in app_module.topics}
    for name, topic in app_module.topics.items():

        async def send(*, key: bytes, value: bytes, _name: str = name, **_: object) -> None:
            captured[_name].append((key, orjson.loads(value)))

        monkeypatch.setattr(topic, "send", send)
    app_module.article_hashes.data.clear()
    return captured
