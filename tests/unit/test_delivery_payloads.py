"""Delivery payloads, signatures, routing and backoff (pure)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from streams.delivery.config import DeliveryConfigError, Route, load_sinks
from streams.delivery.payloads import (
    alertmanager_alert,
    backoff_delays,
    sign,
    slack_message,
    verify,
)
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


def test_bad_delivery_config_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    for text in (
        '[[sinks]]\ntype = "pager"\nurl = "http://x"',
        '[[sinks]]\ntype = "webhook"\nurl = "ftp://x"',
        '[[sinks]]\ntype = "webhook"\nurl = "http://x"\nsecret_env = "NOPE"',
        "",
    ):
        path = tmp_path / "d.toml"
        path.write_text(text)
        with pytest.raises(DeliveryConfigError):
            load_sinks(path)
