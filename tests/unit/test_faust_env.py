"""windvane's PROCESSING_GUARANTEE is the quote path's; Faust reads a variable of that name
too, and it used to switch the article agents to Faust's exactly-once (and to fail the worker
on ``exactly_once_v2``, a value Faust does not know)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("guarantee", ["exactly_once", "exactly_once_v2", "at_least_once"])
def test_the_article_agents_stay_at_least_once(guarantee: str) -> None:
    code = (
        "from streams.app import app, quote_tasks\n"
        "print(app.conf.processing_guarantee.value, quote_tasks.settings.processing_guarantee)"
    )
    env = {**os.environ, "PROCESSING_GUARANTEE": guarantee}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["at_least_once", guarantee]


@pytest.mark.parametrize("level", ["warn", "info", "error"])
def test_the_worker_logs_at_the_level_asked_for(level: str) -> None:
    """Faust's spinner lowered the root logger to DEBUG at ``-l warn``: every aiokafka debug
    line then built a LogRecord (about 3% of a live worker's CPU). The worker is set up as
    ``windvane worker`` sets it up (the app's Worker class, Faust's logging setup), in a
    process of its own so this test's logging is untouched."""
    code = (
        "import logging, sys\n"
        "from streams.app import app\n"
        f"worker = app.conf.Worker(app, loglevel={level!r}, redirect_stdouts=False)\n"
        "worker._setup_logging()\n"
        "names = ['', 'aiokafka', 'aiokafka.conn', 'windvane.runtime']\n"
        "sys.__stderr__.write('LEVELS ' + ' '.join(\n"
        "    str(logging.getLogger(n).getEffectiveLevel()) for n in names) + '\\n')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(x for x in out.stderr.splitlines() if x.startswith("LEVELS "))
    expected = {"warn": 30, "info": 20, "error": 40}[level]
    assert line.split()[1:] == [str(expected)] * 4
