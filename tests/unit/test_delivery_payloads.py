"""Delivery payloads, signatures, routing, backoff, and the strict delivery file (pure)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from streams.config import Settings
from streams.delivery.config import DeliveryConfigError, Route, Sink, load_sinks
from streams.delivery.payloads import (
    alertmanager_alert,
    backoff_delays,
    sign,
    slack_message,
    verify,
)
from streams.delivery.service import AlertDelivery, as_alert
from streams.domain.alert_text import summary

pytestmark = pytest.mark.unit

ALERT = {
    "id": "19611f8ba7d89d49549251d4011659e4", "rule": "ma_cross",
    "params": {"hysteresis": 0.0, "trigger": "close", "window": 60}, "symbol": "HSTECH",
    "trading_day": "2025-10-17", "direction": "below", "confirmation": "close", "price": 5760.37988,
    "sma": 5877.9428145, "prev_price": 6003.56006, "prev_sma": 5877.69882033,
    "event_time": "2025-10-17T16:00:00.000+08:00", "emitted_at": "2026-11-25T00:00:00.000+00:00",
    "severity": "warning", "details": {}, "related_articles": [],
}  # fmt: skip


def test_signature_matches_the_published_hmac_sha256_test_vector() -> None:
    body = b"The quick brown fox jumps over the lazy dog"
    expected = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert sign("key", body) == expected
    assert verify("key", body, expected) and not verify("key", body + b" ", expected)


def test_alertmanager_payload() -> None:
    payload = alertmanager_alert(ALERT, "http://dash:6066/", 3600)
    assert payload["labels"]["alertname"] == "WindvaneMaCross"
    assert (
        payload["annotations"]["summary"] == "HSTECH closed 5760.38, below its 60-day SMA 5877.94"
    )
    assert payload["startsAt"] == "2025-10-17T08:00:00+00:00"
    assert payload["endsAt"] == "2026-11-25T01:00:00+00:00"
    assert (
        payload["generatorURL"] == f"http://dash:6066/dashboard?symbol=HSTECH#alert-{ALERT['id']}"
    )


def test_slack_payload_and_summaries_of_each_rule() -> None:
    assert "below its 60-day SMA 5877.94" in slack_message(ALERT, "http://d")["text"]
    sma = {
        **ALERT,
        "rule": "sma_cross",
        "params": {"short": 20, "long": 60},
        "details": {"short_sma": 10.0},
    }
    assert summary(sma).startswith("HSTECH death cross: 20-day SMA 10.00 crossed below")
    dd = {
        **ALERT,
        "rule": "drawdown",
        "params": {"pct": 10, "window": 250},
        "details": {"drawdown_pct": 13.95, "rolling_high": 2998.67},
    }
    assert summary(dd) == "HSTECH closed 5760.38, 13.95% below its 250-day high 2998.67"
    intraday = {**ALERT, "confirmation": "intraday"}
    assert summary(intraday).startswith("intraday: HSTECH traded 5760.38")


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    delays = backoff_delays(0.5, 4.0, 6, random.Random(7))
    assert len(delays) == 5
    for i, d in enumerate(delays):
        assert 0 <= d <= min(4.0, 0.5 * 2**i)


def test_routes() -> None:
    route = Route(rules=("ma_cross",), symbols=("HS*",), min_severity="warning")
    assert route.matches(ALERT)
    assert not route.matches({**ALERT, "symbol": "0700.HK"})
    assert not route.matches({**ALERT, "severity": "info"})
    assert not route.matches({**ALERT, "rule": "streak"})


def test_routes_by_rule_name() -> None:
    route = Route(names=("desk-*",))
    assert route.matches({**ALERT, "rule_name": "desk-hk-60"})
    assert not route.matches({**ALERT, "rule_name": "ops-60"})
    assert not route.matches(ALERT)  # an alert without a rule name does not match a names route
    assert Route().matches(ALERT)


def sinks_from(tmp_path: Path, text: str) -> list[Sink]:
    path = tmp_path / "delivery.toml"
    path.write_text(text)
    return load_sinks(path)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(DeliveryConfigError) as info:
        sinks_from(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'delivery.toml'}: "), message
    return message


SIGNED = """
[[sinks]]
name = "desk"
type = "webhook"
url = "https://hooks.example/w"
"""


def test_the_example_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDVANE_WEBHOOK_SECRET", "s")
    sinks = load_sinks(Path(__file__).parents[2] / "examples" / "delivery.toml")
    assert [(s.name, s.max_in_flight) for s in sinks] == [
        ("alertmanager", 8), ("trading-desk", 8), ("slack-ops", 1)
    ]  # fmt: skip
    desk = sinks[1]
    assert desk.secret == "s" and desk.max_attempts == 6
    assert desk.route == Route(("ma_cross", "sma_cross"), ("HS*", "*.HK"), "warning")


def test_a_full_sink_is_read_with_its_types(tmp_path: Path) -> None:
    (sink,) = sinks_from(
        tmp_path,
        SIGNED + 'secret = "k"\ntimeout = 2\nmax_attempts = 3\nbackoff_initial = 0\n'
        "backoff_max = 1.5\nmax_in_flight = 1\n"
        '[sinks.match]\nrules = ["drawdown"]\nnames = ["desk-*"]\nsymbols = ["HS*"]\n'
        'min_severity = "critical"\n',
    )
    assert sink == Sink(
        name="desk", type="webhook", url="https://hooks.example/w", secret="k", timeout=2.0,
        max_attempts=3, backoff_initial=0.0, backoff_max=1.5, max_in_flight=1,
        route=Route(("drawdown",), ("HS*",), "critical", ("desk-*",)),
    )  # fmt: skip
    assert isinstance(sink.timeout, float)


def test_unknown_keys_are_errors_that_name_file_sink_key_and_the_closest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s")
    message = refused(tmp_path, SIGNED + 'secretenv = "HOOK_SECRET"\n')
    assert "sink 'desk': unknown key 'secretenv' (did you mean 'secret_env'?)" in message
    assert "known keys: name, type, url, format, secret, secret_env," in message
    message = refused(tmp_path, SIGNED + "max_attemps = 3\n")
    assert "sink 'desk': unknown key 'max_attemps' (did you mean 'max_attempts'?)" in message
    message = refused(tmp_path, '[[sinks]]\ntype = "webhook"\nurl = "http://x"\ncolour = 1\n')
    assert "sinks[0]: unknown key 'colour'; known keys:" in message  # no name, no close match
    message = refused(tmp_path, SIGNED + '[sinks.match]\nsymbol = ["HS*"]\n')
    assert "sink 'desk' [sinks.match]: unknown key 'symbol' (did you mean 'symbols'?)" in message
    assert "known keys: rules, names, symbols, min_severity" in message
    message = refused(tmp_path, SIGNED + '[sinks.match]\nmin_severty = "critical"\n')
    assert "(did you mean 'min_severity'?)" in message
    message = refused(tmp_path, "[[sink]]\n" + SIGNED.split("[[sinks]]")[1])
    assert "unknown top-level keys ['sink']" in message


def test_unknown_rule_kinds_in_routes_are_errors(tmp_path: Path) -> None:
    message = refused(tmp_path, SIGNED + '[sinks.match]\nrules = ["ma_cross", "sma_crossing"]\n')
    assert "sink 'desk' [sinks.match]: unknown rule 'sma_crossing' (did you mean 'sma_cross'?)" in (
        message
    )
    assert "known rules: ma_cross, sma_cross, drawdown, streak, new_high, new_low" in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('timeout = "5"', "timeout must be a number, not '5'"),
        ("timeout = 0", "timeout must be > 0, not 0"),
        ("timeout = true", "timeout must be a number, not True"),
        ("max_attempts = 2.5", "max_attempts must be a whole number >= 1, not 2.5"),
        ("max_attempts = 0", "max_attempts must be a whole number >= 1, not 0"),
        ('max_in_flight = "8"', "max_in_flight must be a whole number >= 1, not '8'"),
        ("backoff_initial = -1", "backoff_initial must be >= 0, not -1"),
        ("backoff_initial = 2\nbackoff_max = 1", "backoff_max must be >= backoff_initial"),
        ("secret = 42", "secret must be a non-empty string, not 42"),
        ('secret = ""', "secret must be a non-empty string, not ''"),
        ('secret = "a"\nsecret_env = "B"', "give secret or secret_env, not both"),
        ('format = "xml"', "format must be one of json, slack, not 'xml'"),
        ("resolve_after = 60", "resolve_after applies to alertmanager sinks only"),
        ('match = "all"', "match must be a table ([sinks.match])"),
        ('[sinks.match]\nsymbols = "HS*"', "symbols must be a non-empty list of strings"),
        ("[sinks.match]\nsymbols = []", "symbols must be a non-empty list of strings, not []"),
        ("[sinks.match]\nrules = [1]", "rules must be a non-empty list of strings, not [1]"),
        ('[sinks.match]\nnames = "desk"', "names must be a non-empty list of strings"),
        ('[sinks.match]\nmin_severity = "high"', "min_severity must be one of info, warning,"),
    ],
)
def test_values_of_the_wrong_type_are_errors(tmp_path: Path, line: str, expected: str) -> None:
    assert expected in refused(tmp_path, SIGNED + line + "\n")


def test_other_bad_delivery_files_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    for text, expected in (
        ('[[sinks]]\ntype = "pager"\nurl = "http://x"', "sinks[0]: type must be one of"),
        ('[[sinks]]\nurl = "http://x"', "sinks[0]: type must be one of webhook, alertmanager, not None"),
        ('[[sinks]]\nname = 7\ntype = "webhook"\nurl = "http://x"',
         "sinks[0]: name must be a non-empty string, not 7"),
        ('[[sinks]]\ntype = "webhook"\nurl = "ftp://x"', "url must be http(s), not 'ftp://x'"),
        ('[[sinks]]\ntype = "webhook"', "url must be http(s), not None"),
        (SIGNED + 'secret_env = "NOPE"', "sink 'desk': $NOPE is not set"),
        ('[[sinks]]\ntype = "alertmanager"\nurl = "http://x"\nformat = "slack"',
         "format applies to webhook sinks only"),
        (SIGNED + SIGNED, "sink names must differ"),
        ('[[sinks]]\ntype = "webhook"\nurl = "http://x"\n[[sinks]]\ntype = "webhook"\nurl = "http://y"',
         "webhook used more than once"),
        ('sinks = "x"', "sinks must be an array of tables"),
        ("sinks = [1]", "sinks[0] must be a table"),
        ("", "no [[sinks]]"),
        ("[[sinks]\n", "not TOML"),
    ):  # fmt: skip
        assert expected in refused(tmp_path, text)


def test_records_that_are_not_alerts_are_recognised() -> None:
    assert as_alert(orjson.dumps(ALERT)) == ALERT
    for value in (None, b"", b"{", b"[1]", b'"x"', orjson.dumps({**ALERT, "id": 7})):
        assert as_alert(value) is None
    for key in ("id", "rule", "symbol", "severity"):
        assert as_alert(orjson.dumps({k: v for k, v in ALERT.items() if k != key})) is None


async def test_an_alert_no_payload_can_be_built_from_is_undeliverable_not_a_crash() -> None:
    sink = Sink(name="am", type="alertmanager", url="http://127.0.0.1:9")
    service = AlertDelivery(Settings(), [sink], "http://d")
    outcome = await service._deliver_one(sink, {**ALERT, "emitted_at": "yesterday"})
    assert (outcome.sink, outcome.delivered, outcome.attempts) == ("am", False, 0)
    assert outcome.error is not None and "yesterday" in outcome.error
