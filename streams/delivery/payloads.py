"""What each sink receives, and the webhook signature. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from streams.domain.alert_text import summary

SIGNATURE_HEADER = "X-Windvane-Signature"


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body), header)


def _camel(rule: str) -> str:
    return "".join(part.capitalize() for part in rule.split("_"))


def alertmanager_alert(
    alert: dict[str, Any], dashboard: str, resolve_after: float
) -> dict[str, Any]:
    """One entry of ``POST /api/v2/alerts``. The trading day is a label, so two crossings
    of different days stay two alerts (Alertmanager merges equal label sets)."""
    emitted = datetime.fromisoformat(alert["emitted_at"])
    ends = emitted.astimezone(UTC) + timedelta(seconds=resolve_after)
    numbers = {
        k: "" if alert.get(k) is None else str(alert[k])
        for k in ("price", "sma", "prev_price", "prev_sma")
    }
    return {
        "labels": {
            "alertname": "Windvane" + _camel(alert["rule"]),
            "symbol": alert["symbol"],
            "rule": alert["rule"],
            # which configured rule: two rules of one kind (ma_cross 20 and 60) crossing on one
            # day must stay two alerts
            "rule_name": alert.get("rule_name") or alert["rule"],
            "direction": alert["direction"],
            "severity": alert["severity"],
            "confirmation": alert["confirmation"],
            "trading_day": alert["trading_day"],
        },
        "annotations": {
            "summary": summary(alert),
            "alert_id": alert["id"],
            "params": ", ".join(f"{k}={v}" for k, v in sorted(alert["params"].items())),
            "event_time": alert["event_time"],
            **numbers,
        },
        "startsAt": datetime.fromisoformat(alert["event_time"]).astimezone(UTC).isoformat(),
        "endsAt": ends.isoformat(),
        "generatorURL": f"{dashboard.rstrip('/')}/dashboard?symbol={quote(alert['symbol'])}#alert-{alert['id']}",
    }


def slack_message(alert: dict[str, Any], dashboard: str) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook payload."""
    icon = (
        ":chart_with_downwards_trend:"
        if alert["direction"] == "below"
        else ":chart_with_upwards_trend:"
    )
    link = f"{dashboard.rstrip('/')}/dashboard?symbol={quote(alert['symbol'])}"
    text = f"{icon} {summary(alert)} ({alert['trading_day']}, {alert['severity']})"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{summary(alert)}*"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{alert['rule']} · {alert['trading_day']} · {alert['severity']} · <{link}|dashboard> · id `{alert['id']}`",
                    }
                ],
            },
        ],
    }


def backoff_delays(
    initial: float, maximum: float, attempts: int, rng: random.Random
) -> list[float]:
    """Waits between ``attempts`` tries: exponential with full jitter (AWS's recipe)."""
    return [rng.uniform(0, min(maximum, initial * 2**i)) for i in range(max(0, attempts - 1))]
