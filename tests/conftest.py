"""Session fixtures: a real Kafka broker that the test run starts itself."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.tools.kafka_local import LocalBroker
from tests.faults.clock import start_clock
from tests.kafka_harness import REPO, Namespace


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``KAFKA_TEST_BOOTSTRAP`` if given; otherwise a local KRaft broker on its own port."""
    external = os.environ.get("KAFKA_TEST_BOOTSTRAP")
    if external:
        yield external
        return
    port = int(os.environ.get("WINDVANE_TEST_KAFKA_PORT", "19092"))
    broker = LocalBroker(
        home=REPO / ".windvane" / "test-kafka", port=port, controller_port=port + 1
    )
    broker.destroy()  # a clean log every run
    broker.up(timeout=120)
    try:
        yield broker.bootstrap
    finally:
        broker.down()


@pytest.fixture
def ns(kafka_bootstrap: str, tmp_path: Path) -> Namespace:
    return Namespace(bootstrap=kafka_bootstrap, root=tmp_path)


@pytest.fixture(autouse=True)
def _fault_clock() -> None:
    """Each test's start: the wall time of a fault scenario's ``faults:`` line."""
    start_clock()
