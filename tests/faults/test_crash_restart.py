"""Crash and restart: three workers in one consumer group; while a feed is being produced,
they are killed with SIGKILL at random moments, spread over all three, each restarted at
once on its own data dir. Some kills are aimed at a restore: the first worker whose log
shows its quote tasks being assigned and restored (aiokafka's "Setting newly assigned
partitions" of the ``-quotes`` group, not yet followed by the runtime's "tasks assigned") is
killed, and its log read after its death says whether the kill landed before the end. A kill
that interrupted a commit leaves an aborted transaction: records a ``read_uncommitted``
reader sees on ``quotes.signals`` or the state changelog and a ``read_committed`` one does
not, written just before the kill. The ``alerts``, ``quotes.signals`` and ``deadletter``
topics, read with read_committed by an outside client, must equal the offline reference
exactly: nothing missing, nothing duplicated (exactly-once: per-partition transactions)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.fleet import Fleet, Kill, aborted, interrupted_commits, was_aborted
from tests.faults.harness import FULL, check_outputs, daily_bars, feed, read_outputs, reference
from tests.kafka_harness import Namespace

pytestmark = pytest.mark.faults

NAMES = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv", "9988.HK.csv", "2097.HK.csv",
         "0179.HK.csv", "3690.HK.csv", "1810.HK.csv", "0981.HK.csv"]  # fmt: skip
SEED = 20251017
WORKERS = 3


async def test_sigkill_and_restart_loses_and_duplicates_nothing(
    ns: Namespace, tmp_path: Path
) -> None:
    names, synthetic, kills, seconds = (NAMES, 50, 20, 150.0) if FULL else (NAMES[:4], 8, 5, 25.0)
    inputs = daily_bars(names, synthetic)
    expected = reference(inputs)
    rng = random.Random(SEED)
    print(f"crash_restart: seed {SEED}, {kills} kills over {WORKERS} workers")
    fleet = Fleet(ns, tmp_path, WORKERS, {"WINDVANE_SESSION_TIMEOUT": "6"}, rng)
    await fleet.start()
    changelog = f"{ns.app_id}-quote-state-changelog"
    # about one kill in four is aimed at a restore and one in four at a commit, until that
    # many are known to have landed there (a commit once its transaction turns out aborted);
    # the rest land at random moments
    want = max(1, kills // 4)
    pending: list[Kill] = []  # aimed at a commit, the transaction not decided yet
    proven: list[Kill] = []
    feeding = asyncio.create_task(feed(ns, inputs, seconds))
    try:
        for i in range(kills):
            await asyncio.sleep(rng.uniform(0.2, 2.0 * seconds / kills - 0.2))
            for k in list(pending):
                assert k.open_record is not None
                verdict = await was_aborted(ns.bootstrap, k.open_record)
                if verdict is not None:
                    pending.remove(k)
                    proven += [k] if verdict else []
            needs = {
                "restore": want - sum(k.phase == "restore" for k in fleet.kills),
                # an undecided commit kill stands in for a proven one, but not near the end
                "commit": want - len(proven) - (len(pending) if kills - i > 2 else 0),
            }
            needed = [a for a, n in needs.items() if n > 0]
            must = kills - i <= sum(max(0, n) for n in needs.values())
            aim = rng.choice(needed) if needed and (must or rng.random() < 0.5) else "-"
            kill = None
            if aim == "restore":
                kill = await fleet.kill_in_restore(wait=30)
            elif aim == "commit":
                kill = await fleet.kill_in_commit(changelog, wait=10)
                if kill is not None:
                    pending.append(kill)
            if kill is None:
                kill = fleet.kill(fleet.least_killed(fleet.alive()))
            print(f"kill {i + 1}: worker {kill.slot} {kill.phase} (aimed: {aim})")
        await feeding
        signals, alerts, dead = await read_outputs(ns, expected)
        lost = await aborted(ns.bootstrap, [ns.topic("quotes.signals"), changelog])
        crashed = fleet.unexpected_exits()
    finally:
        feeding.cancel()
        fleet.stop()
    phases = Counter(k.phase for k in fleet.kills)
    in_commit_kills = interrupted_commits(fleet.kills, lost)
    in_commit = len(in_commit_kills)
    print("kills in a commit:", [fleet.kills.index(k) + 1 for k in in_commit_kills])
    per_worker = Counter(k.slot for k in fleet.kills)
    print(f"kills by phase {dict(phases)}, per worker {dict(per_worker)}, in a commit {in_commit}"
          f" ({len(lost)} records of aborted transactions)")  # fmt: skip
    assert not crashed, "a worker exited on its own:\n" + "\n".join(crashed)
    assert len(fleet.kills) == kills
    assert set(per_worker) == set(range(WORKERS)), f"kills not spread: {per_worker}"
    assert phases["restore"] >= 1, f"no kill landed in a restore: {phases}"
    assert in_commit >= 1, "no kill interrupted a commit (no aborted transaction)"
    check_outputs(
        "crash_restart",
        expected,
        signals,
        alerts,
        dead,
        len(inputs),
        len(fleet.kills),
        WORKERS,
        in_restore=phases["restore"],
        in_commit=in_commit,
    )
