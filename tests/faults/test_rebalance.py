"""Rebalance: while a feed is being produced, workers join the consumer group and leave it
again (clean stops) over and over, between one and three members at a time; midway, a join
is followed by a SIGKILL of a member while its tasks are being reassigned and restored (the
rebalance that join started). Each task's state moves with its partition through the
changelog and the outputs equal the reference exactly."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from tests.faults.fleet import Fleet
from tests.faults.harness import FULL, check_outputs, daily_bars, feed, read_outputs, reference
from tests.kafka_harness import Namespace

pytestmark = pytest.mark.faults

SEED = 20251126
SLOTS = 3


async def test_workers_join_and_leave_repeatedly_mid_stream(ns: Namespace, tmp_path: Path) -> None:
    names = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv"]
    inputs = daily_bars(names, 40 if FULL else 8)
    changes, seconds = (14, 120.0) if FULL else (2, 20.0)
    expected = reference(inputs)
    rng = random.Random(SEED)
    fleet = Fleet(ns, tmp_path, SLOTS, {"WINDVANE_SESSION_TIMEOUT": "6"}, rng)
    await fleet.start(members=1)
    feeding = asyncio.create_task(feed(ns, inputs, seconds))
    done: list[str] = []
    in_rebalance = 0  # kills that landed while the victim was reassigning its tasks
    try:
        while len(done) < changes or not in_rebalance:
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            members = fleet.alive()
            absent = [s for s in range(SLOTS) if s not in members]
            kill_now = not in_rebalance and len(done) >= changes // 2
            joining = len(members) == 1 or (
                len(members) < SLOTS and (kill_now or rng.random() < 0.5)
            )
            if joining:
                slot = rng.choice(absent)
                if kill_now:
                    # a join starts a rebalance: kill a member while it reassigns its tasks
                    fleet.restart(slot)
                    kill = await fleet.kill_in_restore(wait=60)
                    assert kill is not None, "no member was seen reassigning tasks"
                    in_rebalance += kill.phase == "restore"
                    done.append(f"+{slot}")
                    done.append(f"x{kill.slot}")
                    await asyncio.to_thread(fleet.workers[slot].wait_ready, 180)
                    if kill.slot != slot:
                        await asyncio.to_thread(fleet.workers[kill.slot].wait_ready, 180)
                    done.append(f"+{kill.slot}")
                    continue
                await fleet.join(slot)
                done.append(f"+{slot}")
            else:
                slot = rng.choice(members)
                await fleet.leave(slot)
                done.append(f"-{slot}")
        print(f"rebalance: seed {SEED}, membership changes {' '.join(done)}")
        await feeding
        signals, alerts, dead = await read_outputs(ns, expected)
        crashed = fleet.unexpected_exits()
        assignments = sum(
            w.log.read_text(errors="replace").count("tasks assigned") for w in fleet.started
        )
    finally:
        feeding.cancel()
        fleet.stop()
    assert not crashed, "a worker exited on its own:\n" + "\n".join(crashed)
    assert in_rebalance >= 1 and len(done) >= changes, done
    # every change moved tasks: each member got an assignment at least once per change
    assert assignments >= len(done), f"{assignments} assignments for {len(done)} changes"
    check_outputs(
        "rebalance",
        expected,
        signals,
        alerts,
        dead,
        len(inputs),
        len(fleet.kills),
        SLOTS,
        changes=len(done),
        in_rebalance=in_rebalance,
    )
