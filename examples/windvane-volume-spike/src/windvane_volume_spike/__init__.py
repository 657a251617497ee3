"""``volume_spike``: a day's volume at least ``ratio`` times its average over the previous
``window`` days (days with a volume). An example of a windvane rule plug-in.

The indicator engine keeps closes only; this rule keeps the volumes it needs in its own
state (a JSON list, persisted with the symbol's state like any rule's). A day without a
volume (a day built from ticks, a bar without ``volume``) is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.domain.indicators import SCALE, Snapshot
from streams.domain.rules import REQUIRED, Firing, Param, Rule, RuleState

__all__ = ["VolumeSpike"]


class VolumeSpike(Rule):
    kind = "volume_spike"
    parameters = (
        Param("window", int, 20, minimum=1, doc="days of volume averaged (before the day)"),
        Param("ratio", float, REQUIRED, minimum=0, doc="how many times the average"),
    )
    window: int
    ratio: float

    def on_close(self, state: RuleState, snap: Snapshot) -> list[Firing]:
        volume = snap.volume
        if volume is None:
            return []
        volumes: list[float] = state.setdefault("volumes", [])
        out: list[Firing] = []
        if len(volumes) == self.window:
            total = sum(volumes)
            if total > 0 and volume * self.window >= self.ratio * total:
                average = total / self.window
                out.append(
                    Firing(
                        "above",
                        snap.close / SCALE,
                        details={
                            "volume": volume,
                            "average_volume": average,
                            "times": round(volume / average, 4),
                        },
                    )
                )
        volumes.append(volume)
        del volumes[: -self.window]
        return out

    def summary(self, alert: Mapping[str, Any]) -> str:
        d = alert["details"]
        return (
            f"{alert['symbol']} traded {d['volume']:,.0f}, {d['times']:.2f}x its "
            f"{alert['params']['window']}-day average volume, closing at {alert['price']:.2f}"
        )
