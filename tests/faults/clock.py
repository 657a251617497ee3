"""When the running test started: a fault scenario's line reports its wall time from there
(tests/conftest.py restarts the clock before each test)."""

from __future__ import annotations

import time

STARTED = [time.monotonic()]


def start_clock() -> None:
    STARTED[0] = time.monotonic()


def say(message: str) -> None:
    """Print a scenario's progress with the seconds since its test started."""
    print(f"[{time.monotonic() - STARTED[0]:6.1f}s] {message}", flush=True)
