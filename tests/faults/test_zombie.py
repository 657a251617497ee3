"""Zombie fencing: a worker frozen (SIGSTOP) past its session timeout while another takes its
partitions, then thawed mid-feed. Under exactly_once the new owner's transactional producers
fenced the old ones when they started; under exactly_once_v2 the group refuses the thawed
worker's offsets (a stale generation) and the heir restored only once no transaction was open
on its changelogs. Either way whatever the thawed worker still had open or tries to commit is
aborted: a read_committed reader sees every output exactly once. The zombie then leaves its
tasks (or exits) instead of carrying on."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from tests.faults.harness import FULL, check_outputs, daily_bars, feed, read_outputs, reference
from tests.kafka_harness import Namespace, Worker

pytestmark = pytest.mark.faults


def assigned(worker: Worker) -> int:
    return worker.log.read_text(errors="replace").count("tasks assigned")


@pytest.mark.parametrize("guarantee", ["exactly_once_v2", "exactly_once"])
async def test_a_thawed_zombie_is_fenced_and_nothing_it_wrote_after_is_visible(
    ns: Namespace, tmp_path: Path, guarantee: str
) -> None:
    names = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv"]
    inputs = daily_bars(names, 40 if FULL else 8)
    seconds = 40.0 if FULL else 20.0
    expected = reference(inputs)
    timeout = "6"
    env = {"PROCESSING_GUARANTEE": guarantee}
    zombie = await asyncio.to_thread(
        Worker(ns, tmp_path / "a", WINDVANE_SESSION_TIMEOUT=timeout, **env).start
    )
    heir = Worker(ns, tmp_path / "b", WINDVANE_SESSION_TIMEOUT=timeout, **env)
    feeding = asyncio.create_task(feed(ns, inputs, seconds))
    assert zombie.proc is not None
    try:
        await asyncio.sleep(seconds / 5)
        zombie.proc.send_signal(signal.SIGSTOP)
        await asyncio.to_thread(heir.start)
        deadline = time.monotonic() + 60
        while assigned(heir) == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(float(timeout) + 2)  # past the zombie's session: the heir owns all
        zombie.proc.send_signal(signal.SIGCONT)
        await feeding
        signals, alerts, dead = await read_outputs(ns, expected)
        zombie_log = zombie.log.read_text(errors="replace")
    finally:
        feeding.cancel()
        if zombie.proc.poll() is None:
            zombie.proc.send_signal(signal.SIGCONT)
        zombie.stop()
        heir.stop()
    assert assigned(heir) >= 1, "the heir never got tasks"
    check_outputs(f"zombie_fencing_{guarantee}", expected, signals, alerts, dead, len(inputs), 0)
    if guarantee == "exactly_once":
        # the heir's producers (same transactional ids) fenced the zombie's; under
        # exactly_once_v2 the group refuses a zombie's round, if it had one open when thawed
        assert "fenced: a newer owner has it" in zombie_log, zombie_log[-3000:]
    # it dropped its tasks and rejoined the group: it was given tasks again
    assert zombie_log.count("tasks assigned") >= 2, zombie_log[-3000:]
