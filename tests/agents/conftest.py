"""Agent tests run the real Faust app under ``test_context`` with the in-memory store."""

from __future__ import annotations

import os

os.environ["WINDVANE_STORE"] = "memory://"
os.environ.setdefault("WINDVANE_DATA_DIR", "/tmp/windvane-agent-tests")
# test_context has no broker, so no transactions: the agents' glue is tested at least once;
# exactly-once is tested against the real broker (integration, faults).
os.environ["PROCESSING_GUARANTEE"] = "at_least_once"
