"""The one-line summary of an alert ("HSTECH closed 5760.38, below its 60-day SMA 5877.94").

The rule that fired writes it (:meth:`streams.domain.rule_api.Rule.summary`) and the alert
carries it as ``summary``; this module keeps no text of its own. An alert written before
alerts carried one is summarised by its kind's rule, if that kind is known here.
"""

from __future__ import annotations

from typing import Any

from streams.domain.rule_api import KIND_PATTERN, number


def summary(alert: dict[str, Any]) -> str:
    text = alert.get("summary")
    if isinstance(text, str) and text:
        return text
    from streams.domain.rules import RuleConfigError, rule_class

    kind = str(alert["rule"])
    if KIND_PATTERN.fullmatch(kind):  # a kind, never a module path from the wire
        try:
            return rule_class(kind)(**alert["params"]).summary(alert)
        except (RuleConfigError, TypeError, ValueError, KeyError):
            pass
    return f"{alert['symbol']} {alert['rule']} {alert['direction']} at {number(alert['price'])}"
