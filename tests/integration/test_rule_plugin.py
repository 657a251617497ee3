"""A third-party rule through a real worker: the example package
``examples/windvane-volume-spike`` is built into a wheel and installed (not editable) into a
temporary directory outside the checkout; a worker with that directory on its path loads the
rule both by its entry point (``rule = "volume_spike"``) and by its dotted path, reads
0700.HK's real OHLCV bars from a real broker, and its alerts must be the ones a naive loop
over the CSV gives."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import orjson
import pytest

from streams.contracts import validator
from tests.kafka_harness import REPO, Namespace, Worker, consume_until, produce
from tests.reference import shared_path

pytestmark = pytest.mark.integration

PACKAGE = REPO / "examples" / "windvane-volume-spike"
RATIO, WINDOW = 2.0, 20
RULES = f"""
[[rules]]
rule = "volume_spike"              # the entry point of the installed package
ratio = {RATIO}

[[rules]]
name = "tencent-volume"
rule = "windvane_volume_spike:VolumeSpike"  # the same class by its dotted path
ratio = {RATIO}
window = {WINDOW}
symbols = ["0700.HK"]
severity = "info"
"""


def pip(*args: str | Path, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_TARGET")}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"pip {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example package, built as a wheel and installed into a directory of its own."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "source"  # a copy: building writes build/ and *.egg-info beside the code
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    pip("wheel", "--no-deps", "-q", "-w", root / "dist", source, cwd=root)
    wheels = list((root / "dist").glob("windvane_volume_spike-*.whl"))
    assert len(wheels) == 1, wheels
    target = root / "site"
    pip("install", "--no-deps", "-q", "--target", target, wheels[0], cwd=root)
    assert (target / "windvane_volume_spike" / "__init__.py").is_file()
    assert not list(target.glob("*.pth")) and not list(target.glob("__editable__*"))
    yield target


def test_the_installed_package_declares_its_entry_point(site: Path) -> None:
    code = (
        "from importlib.metadata import entry_points;"
        "print([(e.name, e.value) for e in entry_points(group='windvane.rules')])"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[('volume_spike', 'windvane_volume_spike:VolumeSpike')]"


@dataclass
class Row:
    day: str
    close: float
    volume: float
    value: bytes


def rows(count: int) -> list[Row]:
    with shared_path("quotes", "0700.HK.csv").open() as f:
        raw = list(csv.DictReader(f))[-count:]
    out = []
    for r in raw:
        bar = {"symbol": "0700.HK", "date": r["Date"], "close": float(r["Close"])}
        for name in ("Open", "High", "Low", "Volume"):
            bar[name.lower()] = float(r[name])
        out.append(Row(r["Date"], float(r["Close"]), float(r["Volume"]), orjson.dumps(bar)))
    return out


def reference(data: list[Row]) -> tuple[list[str], list[tuple[str, Fraction]]]:
    """Naive: the days a worker must refuse (volume 0 with the previous close unchanged: no
    trading, as the README says), and (day, volume / average) of each day whose volume is
    at least RATIO times the mean of the previous WINDOW accepted days' volumes, exactly."""
    refused, spikes = [], []
    volumes: list[int] = []
    prev_close: float | None = None
    for row in data:
        if row.volume == 0 and row.close == prev_close:
            refused.append(row.day)
            continue
        volume = int(row.volume)
        assert volume == row.volume
        if len(volumes) >= WINDOW:
            average = Fraction(sum(volumes[-WINDOW:]), WINDOW)
            if average > 0 and volume >= Fraction(RATIO) * average:
                spikes.append((row.day, volume / average))
        volumes.append(volume)
        prev_close = row.close
    return refused, spikes


async def test_a_plugin_rule_alerts_through_a_real_worker(ns: Namespace, site: Path) -> None:
    data = rows(300)
    refused, spikes = reference(data)
    assert len(spikes) >= 5, spikes  # real spikes to find, not an empty list matching
    rules = ns.root / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    worker = Worker(ns, ns.root / "w1", WINDVANE_RULES=str(rules), PYTHONPATH=path).start()
    try:
        await produce(ns.bootstrap, ns.topic("quotes.raw"), [(b"0700.HK", r.value) for r in data])
        signals = await consume_until(
            ns.bootstrap, ns.topic("quotes.signals"), len(data) - len(refused)
        )
        alerts = await consume_until(ns.bootstrap, ns.topic("alerts"), 2 * len(spikes))
        dead = await consume_until(ns.bootstrap, ns.topic("deadletter"), len(refused), 10)
    finally:
        worker.stop()
    assert len(signals) == len(data) - len(refused)
    assert sorted(v["reason"] for _, v in dead) == ["no_trading"] * len(refused)
    check = validator("alert")
    by_rule: dict[str, list[tuple[str, Fraction]]] = {}
    for key, alert in alerts:
        check(alert)  # a plug-in's kind is a valid alert
        assert key == b"0700.HK" and alert["rule"] == "volume_spike"
        assert alert["direction"] == "above" and alert["confirmation"] == "close"
        d = alert["details"]
        assert alert["summary"] == (
            f"0700.HK traded {d['volume']:,.0f}, {d['times']:.2f}x its {WINDOW}-day average"
            f" volume, closing at {alert['price']:.2f}"
        )
        times = Fraction(d["volume"]) / Fraction(d["average_volume"])
        by_rule.setdefault(alert["rule_name"], []).append((alert["trading_day"], times))
    assert set(by_rule) == {"volume_spike:ratio=2.0,window=20", "tencent-volume"}
    for name, found in by_rule.items():
        assert [day for day, _ in found] == [day for day, _ in spikes], name
        for (_, got), (_, want) in zip(found, spikes, strict=True):
            assert abs(got - want) < Fraction(1, 10**9), name
