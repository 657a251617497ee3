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
