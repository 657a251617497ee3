"""Every ``[[rules]]`` entry is its own rule: its own state, its own alerts, ids that tell
them apart; and a rules file that defines no rule is an error. Through the real CLI."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.delivery.payloads import alertmanager_alert
from streams.domain.rules import RuleBook, RuleConfigError
from streams.tools.cli import main
from tests.reference import closes, ma_crossings, shared_path

pytestmark = pytest.mark.unit

OVERLAP = """
[[rules]]
rule = "ma_cross"
window = 60
severity = "warning"
symbols = ["*"]

[[rules]]
rule = "ma_cross"
window = 60
severity = "critical"
symbols = ["HS*"]
"""


def hand_id(*parts: object) -> str:
    """The README's recipe, with the standard library: SHA-256 of the compact JSON array with
    sorted keys, first 32 hex digits."""
    text = json.dumps(list(parts), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def alerts(tmp_path: Path, rules: str, symbol: str = "HSTECH") -> list[dict]:
    path = tmp_path / "rules.toml"
    path.write_text(rules, encoding="utf-8")
    csv = shared_path("quotes", f"{symbol}.csv")
    args = ["offline", "quotes", str(csv), "--symbol", symbol, "--rules", str(path)]
    result = CliRunner().invoke(main, [*args, "--only", "alerts"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [orjson.loads(line)["value"] for line in result.output.splitlines()]


PARAMS = {"hysteresis": 0.0, "trigger": "close", "window": 60}
# HSTECH closed below its 60-day line on 2025-10-17 (the README's example alert)
PINNED = "19611f8ba7d89d49549251d4011659e4"


def test_the_id_of_a_known_alert_is_the_documented_recipe() -> None:
    assert hand_id("ma_cross", PARAMS, "HSTECH", "2025-10-17", "below", "close") == PINNED
    result = CliRunner().invoke(
        main, ["offline", "quotes", str(shared_path("quotes", "HSTECH.csv")), "--symbol", "HSTECH"]
    )
    found = [orjson.loads(line)["value"] for line in result.output.splitlines()]
    ids = {a["trading_day"]: a["id"] for a in found if a.get("rule") == "ma_cross"}
    assert ids["2025-10-17"] == PINNED


def test_overlapping_rules_each_fire_with_their_own_severity_and_id(tmp_path: Path) -> None:
    got = alerts(tmp_path, OVERLAP)
    on_day = [a for a in got if a["trading_day"] == "2025-10-17"]
    assert sorted(a["severity"] for a in on_day) == ["critical", "warning"]
    by_sev = {a["severity"]: a for a in on_day}
    assert by_sev["warning"]["id"] == PINNED  # the first unnamed rule keeps its id
    second = "ma_cross:hysteresis=0.0,trigger=close,window=60#2"
    assert by_sev["critical"]["rule_name"] == second
    assert by_sev["critical"]["id"] == hand_id(
        "ma_cross", PARAMS, "HSTECH", "2025-10-17", "below", "close", second
    )
    # each rule keeps its own state: both see every crossing of the reference
    expected = ma_crossings(closes(shared_path("quotes", "HSTECH.csv")), 60)
    for severity in ("warning", "critical"):
        days = [(a["trading_day"], a["direction"]) for a in got if a["severity"] == severity]
        assert days == expected
    # and HSI (matches both) too, while a symbol outside HS* gets only the warning
    assert {a["severity"] for a in alerts(tmp_path, OVERLAP, "0700.HK")} == {"warning"}


def test_a_named_rule_carries_its_name_into_the_alert_and_its_id(tmp_path: Path) -> None:
    named = OVERLAP.replace('severity = "critical"', 'severity = "critical"\nname = "hs-critical"')
    on_day = [a for a in alerts(tmp_path, named) if a["trading_day"] == "2025-10-17"]
    crit = next(a for a in on_day if a["severity"] == "critical")
    assert crit["rule_name"] == "hs-critical"
    assert crit["id"] == hand_id(
        "ma_cross", PARAMS, "HSTECH", "2025-10-17", "below", "close", "hs-critical"
    )
    # Alertmanager merges equal label sets: the two must differ
    warn = next(a for a in on_day if a["severity"] == "warning")
    labels = [alertmanager_alert(a, "http://d", 60)["labels"] for a in (crit, warn)]
    assert labels[0] != labels[1] and labels[0]["rule_name"] == "hs-critical"


def test_same_severity_rules_of_one_kind_stay_two_alertmanager_alerts(tmp_path: Path) -> None:
    two = OVERLAP.replace('severity = "critical"', 'severity = "warning"')
    on_day = [a for a in alerts(tmp_path, two) if a["trading_day"] == "2025-10-17"]
    assert len(on_day) == 2 and len({a["id"] for a in on_day}) == 2
    labels = [alertmanager_alert(a, "http://d", 60)["labels"] for a in on_day]
    assert labels[0] != labels[1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rule]]\nrule = "ma_cross"\n', "unknown top-level key 'rule' (did you mean 'rules'?)"),
        ("", "no rules"),
        ("# nothing here\n", "no rules"),
        ("rules = []\n", "no rules"),
        ('[[rules]]\nrule = "ma_crss"\n', "did you mean 'ma_cross'"),
        ('[[rules]]\nwindow = 60\n', "needs `rule"),
        ('[[rules]]\nrule = "ma_cross"\nwindw = 60\n', "did you mean 'window'"),
        ('[[rules]]\nrule = "ma_cross"\nname = "a"\n[[rules]]\nrule = "streak"\nname = "a"\n',
         "repeated: a"),
        ('[[rules]]\nrule = "ma_cross"\nname = ""\n', "non-empty"),
        ("rules = [\n", "not TOML"),
    ],
)  # fmt: skip
def test_a_rules_file_that_defines_no_valid_rule_is_an_error(text: str, message: str) -> None:
    with pytest.raises(RuleConfigError, match=re.escape(message)):
        RuleBook.from_toml(text)


def test_the_example_rules_file_still_loads_and_each_rule_has_a_distinct_identity() -> None:
    book = RuleBook.load(Path(__file__).resolve().parents[2] / "examples" / "rules.toml")
    ids = [r.id for r in book.rules]
    assert len(ids) == len(set(ids)) == len(book.rules) > 1
