"""A person at a terminal gets one or two lines that name the setting or file, what is wrong and
what is expected, and a non-zero exit; the traceback only with ``-l debug``. Each case runs the
real ``windvane`` entry point in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reference import shared_path

pytestmark = pytest.mark.unit

HSI = str(shared_path("quotes", "HSI.csv"))


def windvane(
    *args: str, env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    for name in ("WINDVANE_RULES", "WINDVANE_INSTRUMENTS", "LOG_LEVEL"):
        if env is None or name not in env:
            full.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", *args],
        env=full,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def cases(tmp: Path) -> list[tuple[list[str], dict[str, str], list[str]]]:
    """(arguments, environment, words the message must hold)."""
    bad_toml = write(tmp / "bad.toml", "rules = [\n")
    unknown = write(tmp / "unknown.toml", '[[rules]]\nrule = "ma_crss"\n')
    misspelt = write(tmp / "misspelt.toml", '[[rule]]\nrule = "ma_cross"\n')
    quotes = ["offline", "quotes", HSI, "--symbol", "HSI", "--rules"]
    a_file = write(tmp / "not-a-dir", "")
    unwritable = [
        (["worker"], {"WINDVANE_DATA_DIR": a_file}, ["WINDVANE_DATA_DIR", "not a writable directory"]),
        (["worker"], {"WINDVANE_DATA_DIR": f"{a_file}/sub"}, ["WINDVANE_DATA_DIR", "not-a-dir/sub"]),
    ]  # fmt: skip
    if os.geteuid() != 0:  # root writes through permissions: only a file stops it
        (tmp / "locked").mkdir(mode=0o500)
        unwritable.append((["worker"], {"WINDVANE_DATA_DIR": str(tmp / "locked")},
                           ["WINDVANE_DATA_DIR", "Permission denied"]))  # fmt: skip
    return [
        ([*quotes, bad_toml], {}, ["bad.toml", "not TOML"]),
        ([*quotes, unknown], {}, ["unknown.toml", "unknown rule 'ma_crss'", "ma_cross"]),
        ([*quotes, misspelt], {}, ["misspelt.toml", "'rule'", "[[rules]]"]),
        (["worker"], {"WINDVANE_RULES": str(tmp / "missing.toml")}, ["WINDVANE_RULES", "no such file"]),
        (["worker"], {"WINDVANE_RULES": unknown}, ["unknown.toml", "ma_crss"]),
        (["worker"], {"WINDVANE_PARTITIONS": "eight"}, ["WINDVANE_PARTITIONS", "'eight'", "whole number"]),
        *unwritable,
        (["config"], {"WINDVANE_WEB_PORT": "http"}, ["WINDVANE_WEB_PORT", "whole number"]),
        (["config"], {"PROCESSING_GUARANTEE": "exactly-once"}, ["PROCESSING_GUARANTEE", "exactly_once"]),
        (["tail", "alerts"], {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
         ["cannot reach Kafka", "127.0.0.1:1", "KAFKA_BOOTSTRAP_SERVERS"]),
    ]  # fmt: skip


def test_each_error_is_one_or_two_lines_that_name_the_setting(tmp_path: Path) -> None:
    for args, env, words in cases(tmp_path):
        done = windvane(*args, env=env, cwd=tmp_path)
        shown = f"windvane {' '.join(args)} with {env}:\n{done.stderr}"
        assert done.returncode == 2, shown
        assert "Traceback" not in done.stderr, shown
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert 1 <= len(lines) <= 2, shown
        assert lines[0].startswith("windvane: error: "), shown
        for word in words:
            assert word in done.stderr, f"{word!r} missing: {shown}"


def test_with_debug_the_traceback_is_shown(tmp_path: Path) -> None:
    env = {"WINDVANE_PARTITIONS": "eight"}
    done = windvane("worker", "-l", "debug", env=env, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" in done.stderr
    assert "WINDVANE_PARTITIONS" in done.stderr
    done = windvane("--debug", "config", env=env, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_worker_help_lists_the_environment_and_config_masks_secrets(tmp_path: Path) -> None:
    done = windvane("worker", "--help", cwd=tmp_path)
    assert done.returncode == 0
    for name in (
        "KAFKA_BOOTSTRAP_SERVERS",
        "WINDVANE_PARTITIONS",
        "WINDVANE_RULES",
        "windvane config",
    ):
        assert name in done.stdout, done.stdout
    env = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_USERNAME": "ops",
        "KAFKA_SASL_PASSWORD": "hunter2-secret",
        "WINDVANE_PARTITIONS": "12",
    }
    done = windvane("config", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    rows = {line.split()[0]: line.split()[1:3] for line in done.stdout.splitlines()}
    assert rows["KAFKA_SASL_PASSWORD"] == ["****", "env"]
    assert rows["WINDVANE_PARTITIONS"] == ["12", "env"]
    assert rows["KAFKA_BOOTSTRAP_SERVERS"] == ["127.0.0.1:9092", "default"]
