"""The runtime does not depend on the tools: importing the worker's modules loads none of
``streams.tools`` (checked in a fresh interpreter, so no other test's imports count)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_the_runtime_and_the_domain_import_no_tool() -> None:
    code = (
        "import sys\n"
        "import streams.runtime, streams.pipeline, streams.article_pipeline, streams.domain.quotes\n"
        "import streams.delivery.service\n"
        "print(sorted(m for m in sys.modules if m.startswith('streams.tools')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
