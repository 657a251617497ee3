"""Agent tests run the real Faust app under ``test_context`` with the in-memory store."""

from __future__ import annotations

import os

os.environ["WINDVANE_STORE"] = "memory://"
os.environ.setdefault("WINDVANE_DATA_DIR", "/tmp/windvane-agent-tests")
