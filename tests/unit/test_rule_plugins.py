"""Rules as plug-ins: one registry for the built-in kinds and third-party ones (a dotted path
here; the entry point through a real worker in tests/integration/test_rule_plugin.py), the
windows a rule declares kept by the engine, and a rules file's errors naming the rule and
its line, through the real ``windvane`` entry point."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from streams.domain import builtin_rules
from streams.domain.alert_text import summary
from streams.domain.indicators import SCALE, Snapshot
from streams.domain.instruments import Registry
from streams.domain.outputs import Alert
from streams.domain.quotes import DailyBar, QuoteEngine
from streams.domain.rules import (
    KINDS,
    Firing,
    Param,
    Rule,
    RuleBook,
    RuleConfigError,
    RuleState,
    Windows,
    header_lines,
    known_kinds,
    rule_class,
)
from tests.reference import closes, shared_path

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SRC = REPO / "examples" / "windvane-volume-spike" / "src"
HERE = "tests.unit.test_rule_plugins"


class AboveSma7(Rule):
    """Test rule: the close above its 7-day SMA on a day after one at or below it. Declares
    a window no signal has, so the engine must keep it for this rule alone."""

    kind = "above_sma7"
    parameters = (Param("label", str, "x"),)

    def windows(self) -> Windows:
        return Windows(sma=(7,))

    def on_close(self, state: RuleState, snap: Snapshot) -> list[Firing]:
        total = snap.sums.get(7)
        if total is None:
            return []
        above = snap.close * 7 > total
        was = state.get("above")
        state["above"] = above
        if above and was is False:
            return [Firing("above", snap.close / SCALE, sma=total / (7 * SCALE))]
        return []

    def summary(self, alert: Mapping[str, Any]) -> str:
        return f"{alert['symbol']} {alert['params']['label']} above SMA7"


def test_every_built_in_kind_is_one_rule_class_in_the_registry() -> None:
    assert KINDS == ("ma_cross", "sma_cross", "drawdown", "streak", "new_high", "new_low")
    for kind in KINDS:
        cls = rule_class(kind)
        assert issubclass(cls, Rule) and cls.kind == kind and cls in builtin_rules.BUILTIN
    assert known_kinds()[: len(KINDS)] == KINDS


def test_no_per_rule_text_is_kept_outside_the_rules() -> None:
    """alert_text, the delivery payloads and the dashboard's page name no rule kind: the
    alert carries its summary."""
    for rel in (
        "streams/domain/alert_text.py",
        "streams/delivery/payloads.py",
        "streams/runtime/runner.py",
    ):
        text = (REPO / rel).read_text(encoding="utf-8")
        strings = {
            n.value
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        assert not strings & set(KINDS), rel
    page = (REPO / "streams" / "web" / "dashboard.html").read_text(encoding="utf-8")
    assert "function describe" not in page and "a.summary" in page
    for kind in ("sma_cross", "drawdown", "streak", "new_high", "new_low"):
        assert kind not in page


def test_a_dotted_path_rule_runs_in_the_engine_with_the_window_it_declares() -> None:
    book = RuleBook.from_toml(f'[[rules]]\nrule = "{HERE}:AboveSma7"\nlabel = "t"\n')
    engine = QuoteEngine(book, Registry.load(None))
    assert 7 in engine.sma_windows and 7 not in engine.signal_windows
    frame = closes(shared_path("quotes", "HSTECH.csv"))
    state, got = None, []
    for row in frame.itertuples():
        bar = DailyBar("HSTECH", date.fromisoformat(str(row.date)), float(row.close))
        state, out = engine.apply(state, bar, 0)
        got += [(e.trading_day, e.summary) for e in out.emitted if isinstance(e, Alert)]
    # naive: the 7-day mean by pandas, the first day after warm-up sets the state only
    sma = frame["close"].rolling(7).mean()
    want, was = [], None
    for day, close, avg in zip(frame["date"], frame["close"], sma, strict=True):
        if avg != avg:  # NaN: warm-up
            continue
        above = close > avg
        if above and was is False:
            want.append((day, "HSTECH t above SMA7"))
        was = above
    assert len(want) > 20 and got == want


def test_an_alert_without_a_summary_is_summarised_by_its_rule() -> None:
    """Alerts written before they carried a summary: the registry's rule writes it."""
    alert = {
        "rule": "ma_cross",
        "params": {"window": 60, "hysteresis": 0.0, "trigger": "close"},
        "symbol": "HSTECH",
        "price": 5760.38,
        "sma": 5877.94,
        "direction": "below",
        "confirmation": "close",
        "details": {},
    }
    assert summary(alert) == "HSTECH closed 5760.38, below its 60-day SMA 5877.94"
    assert summary({**alert, "summary": "as written"}) == "as written"
    unknown = {**alert, "rule": "os:system", "params": {}}  # never imported from the wire
    assert summary(unknown) == "HSTECH os:system below at 5760.38"


def test_header_lines_skip_multi_line_strings() -> None:
    text = '# c\n[[rules]]\nrule = "ma_cross"\nnote = """\n[[rules]]\n"""\n\n  [[ rules ]]\n'
    assert header_lines(text) == [2, 8]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ('rule = "ma_cross"\nname = "hs"\nwindw = 60', ["rule 'hs' (ma_cross)",
         "unknown parameter 'windw'", "did you mean 'window'"]),
        ('rule = "ma_cross"\nwindow = "60"', ["rule ma_cross", "window must be a whole number",
         "'60' (a string)"]),
        ('rule = "drawdown"\npct = true', ["rule drawdown", "pct must be a number", "true"]),
        ('rule = "ma_cross"\ntrigger = "sometimes"', ["trigger must be 'close' or 'intraday'"]),
        ('rule = "windvane_volume_spike:VolumeSpike"\nname = "vol"\nwindow = 5',
         ["rule 'vol' (volume_spike)", "missing required parameter 'ratio' (a number >= 0)"]),
        ('rule = "windvane_volume_spike:VolumeSpike"\nratio = 2.0\nwindow = 0',
         ["rule volume_spike", "window must be a whole number >= 1, not 0"]),
        ('rule = "no_such_module:Rule"', ["cannot import 'no_such_module'"]),
        (f'rule = "{HERE}:test_header_lines_skip_multi_line_strings"', ["is not a windvane rule"]),
        ('rule = "sma_cross"\nshort = 60\nlong = 20', ["rule sma_cross",
         "short must be less than long"]),
    ],
)  # fmt: skip
def test_a_bad_rule_names_the_rule_and_its_line_at_the_cli(
    tmp_path: Path, entry: str, words: list[str]
) -> None:
    """The third entry is the bad one: its header is on line 9 of the file."""
    text = (
        '# windvane rules\n\n[[rules]]\nrule = "ma_cross"\n\n[[rules]]\nrule = "streak"\n'
        f"\n[[rules]]\n{entry}\n"
    )
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WINDVANE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(EXAMPLE_SRC)])
    hsi = str(shared_path("quotes", "HSI.csv"))
    done = subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", "offline", "quotes", hsi, "--symbol", "HSI",
         "--rules", str(path)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert 1 <= len(lines) <= 2 and lines[0].startswith("windvane: error: "), done.stderr
    assert f"{path}:9: [[rules]] #3: " in lines[0], done.stderr
    for word in words:
        assert word in done.stderr, f"{word!r} missing: {done.stderr}"


def test_the_line_is_named_without_a_file_and_dropped_for_an_inline_array() -> None:
    with pytest.raises(RuleConfigError, match=r"^line 3: \[\[rules\]\] #2: rule streak: "):
        RuleBook.from_toml('[[rules]]\nrule = "ma_cross"\n[[rules]]\nrule = "streak"\ndays = 0\n')
    with pytest.raises(RuleConfigError, match=r"^\[\[rules\]\] #1: rule streak: days must"):
        RuleBook.from_toml('rules = [{rule = "streak", days = 0}]\n')


class Impostor(AboveSma7):
    kind = "ma_cross"  # a built-in's kind


def test_a_kind_names_one_class() -> None:
    with pytest.raises(
        RuleConfigError, match=re.escape("already streams.domain.builtin_rules:MaCross")
    ):
        RuleBook.from_toml(f'[[rules]]\nrule = "{HERE}:Impostor"\n')
