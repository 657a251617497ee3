"""The exactly_once_v2 worker's transactional id: stable across restarts on one data dir,
distinct for two live workers on it, freed when a worker dies however it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from streams.runtime.process_id import claim

REPO = Path(__file__).resolve().parents[2]


def test_live_workers_on_one_dir_get_distinct_ids_and_a_restart_gets_its_own_back(
    tmp_path: Path,
) -> None:
    first, second = claim(tmp_path, "app-quotes"), claim(tmp_path, "app-quotes")
    assert first.value != second.value
    dir_id = (tmp_path / "process-id").read_text().strip()
    assert first.value == f"app-quotes-{dir_id}-0" and second.value == f"app-quotes-{dir_id}-1"
    first.release()
    again = claim(tmp_path, "app-quotes")
    assert again.value == first.value
    second.release()
    again.release()


def test_a_killed_worker_frees_its_slot_for_its_successor(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path;"
        "from streams.runtime.process_id import claim;"
        f"p = claim(Path({str(tmp_path)!r}), 'app-quotes'); print(p.value, flush=True);"
        "time.sleep(60)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert child.stdout is not None
        held = child.stdout.readline().strip()
        while_alive = claim(tmp_path, "app-quotes")
        assert while_alive.value != held  # the live child keeps its slot
        while_alive.release()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    successor = claim(tmp_path, "app-quotes")
    assert successor.value == held
    successor.release()


def test_another_data_dir_is_another_worker(tmp_path: Path) -> None:
    a, b = claim(tmp_path / "a", "app-quotes"), claim(tmp_path / "b", "app-quotes")
    assert a.value != b.value
    a.release()
    b.release()
