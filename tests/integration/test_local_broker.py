"""`windvane kafka up|status|down`: a real broker, idempotent start, clean stop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams.tools.kafka_local import free_port, metadata_ok

pytestmark = pytest.mark.integration
WINDVANE = str(Path(sys.executable).parent / "windvane")


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WINDVANE, "kafka", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_up_is_idempotent_and_down_stops_it(tmp_path: Path) -> None:
    import os

    port = free_port()
    env = dict(
        os.environ,
        WINDVANE_HOME=str(tmp_path),
        WINDVANE_KAFKA_PORT=str(port),
        WINDVANE_KAFKA_CONTROLLER_PORT=str(free_port()),
    )
    try:
        first = cli(env, "up")
        assert first.returncode == 0, first.stderr
        pid = (tmp_path / "kafka" / "broker.pid").read_text()
        again = cli(env, "up")
        assert again.returncode == 0 and (tmp_path / "kafka" / "broker.pid").read_text() == pid
        assert metadata_ok(f"127.0.0.1:{port}")
        assert cli(env, "status").returncode == 0
        assert (tmp_path / "kafka" / "data" / "meta.properties").exists()
        props = (tmp_path / "kafka" / "server.properties").read_text()
        assert "transaction.state.log.replication.factor=1" in props
    finally:
        down = cli(env, "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert cli(env, "status").returncode == 1
    assert not metadata_ok(f"127.0.0.1:{port}")
