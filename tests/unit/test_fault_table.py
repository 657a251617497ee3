"""Fault-scenario tooling: the table of the ``faults:`` lines (every line a row, every key a
column, aligned) and the log watch that says when a worker is reassigning its quote tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.fleet import Watch
from tests.faults.table import table
from tests.kafka_harness import Namespace, Worker

pytestmark = pytest.mark.unit

LINES = """\
faults: crash_restart inputs=42249 kills=5 missing=0 duplicated=0 deadlettered=18 workers=3 in_restore=1 wall=75.3s
noise that is not a faults line
faults: hostile_input inputs=1517 kills=0 missing=0 duplicated=0 deadlettered=40 wall=9.0s
"""


def test_rows_are_aligned_common_fields_in_columns_the_rest_in_details() -> None:
    out = table(LINES).splitlines()
    assert out[0].split() == [
        "scenario", "inputs", "kills", "workers", "missing", "duplicated", "deadlettered",
        "wall", "details",
    ]  # fmt: skip
    assert len(out) == 4  # header, rule, two rows: the noise is not a row
    assert len(out[1]) == len(out[2])  # the rule as wide as a full row
    assert out[0].index("details") == out[2].index("in_restore=1")  # the columns line up
    assert out[2].split() == [
        "crash_restart", "42249", "5", "3", "0", "0", "18", "75.3s", "in_restore=1",
    ]  # fmt: skip
    # a field a line lacks is a blank cell, not a shifted one
    assert out[3].split() == ["hostile_input", "1517", "0", "0", "0", "40", "9.0s"]
    assert out[3].index("9.0s") == out[2].index("75.3s") + 1
    assert out[3].index("40") == out[2].index("18")


def test_no_lines_no_table() -> None:
    assert table("") == ""


def test_a_watch_sees_a_quotes_assignment_open_until_tasks_assigned(tmp_path: Path) -> None:
    worker = Worker(Namespace("127.0.0.1:1", tmp_path), tmp_path / "data")
    watch = Watch(worker)
    worker.log.write_text(
        "Successfully synced group t1-app with generation 1\n"
        "Setting newly assigned partitions\n"  # the Faust group's: not the quote tasks
    )
    watch.poll()
    assert not watch.assigning
    with worker.log.open("a") as fh:
        fh.write("Successfully synced group t1-app-quotes with generation 2\n")
        fh.write("Setting newly assigned partitions\n")
        fh.write("restored 12 changelog rec")  # a partial line: read on the next poll
    watch.poll()
    assert watch.assigning and watch.assignments == 0
    with worker.log.open("a") as fh:
        fh.write("ords for tasks [0, 3] in 0.1 s\n[...] tasks assigned: [0, 3] (restored [0])\n")
    watch.poll()
    assert not watch.assigning and watch.assignments == 1 and watch.tasks == [0, 3]
