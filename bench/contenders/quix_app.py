"""The Quix Streams contender of bench/quotes.py: windvane's quote path written idiomatically
in Quix Streams (a stateful StreamingDataFrame): per symbol the SMA5/20/60/250 of daily
closes, a signal per bar, and an alert when the close crosses its 60-day SMA (the side is
the last close strictly above or below the SMA; a close equal to it keeps the side).

    python bench/contenders/quix_app.py BOOTSTRAP INPUT SIGNALS ALERTS GROUP GUARANTEE STATE_DIR
"""

from __future__ import annotations

import sys
from typing import Any

from quixstreams import Application, State

WINDOWS = (5, 20, 60, 250)


def compute(quote: dict[str, Any], key: str, _ts: int, _headers: Any, state: State) -> Any:
    day, close = quote["date"], float(quote["close"])
    if day <= state.get("day", ""):
        return None  # duplicate or late bar
    closes: list[float] = state.get("closes", [])
    closes.append(close)
    del closes[:-250]
    sma = {str(n): (sum(closes[-n:]) / n if len(closes) >= n else None) for n in WINDOWS}
    alert = None
    sma60 = sma["60"]
    if sma60 is not None and close != sma60:
        side = "above" if close > sma60 else "below"
        previous = state.get("side")
        if previous is not None and side != previous:
            alert = {"symbol": key, "trading_day": day, "direction": side, "close": close,
                     "sma60": sma60}  # fmt: skip
        state.set("side", side)
    state.set("closes", closes)
    state.set("day", day)
    signal = {"symbol": key, "trading_day": day, "close": close, "sma": sma}
    return {"signal": signal, "alert": alert}


def main() -> None:
    bootstrap, source, signals, alerts, group, guarantee, state_dir = sys.argv[1:8]
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        processing_guarantee=guarantee,  # "at-least-once" | "exactly-once"
        state_dir=state_dir,
        loglevel="WARNING",
    )
    quotes = app.topic(source, key_deserializer="str", value_deserializer="json")
    signals_topic = app.topic(signals, key_serializer="str", value_serializer="json")
    alerts_topic = app.topic(alerts, key_serializer="str", value_serializer="json")
    sdf = app.dataframe(quotes)
    sdf = sdf.apply(compute, stateful=True, metadata=True)
    sdf = sdf.filter(lambda v: v is not None)
    sdf.filter(lambda v: v["alert"] is not None).apply(lambda v: v["alert"]).to_topic(alerts_topic)
    sdf.apply(lambda v: v["signal"]).to_topic(signals_topic)
    print("quix: started", flush=True)
    app.run()


if __name__ == "__main__":
    main()
