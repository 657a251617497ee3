"""The quote agent under Faust's ``test_context``: thin glue over the pipeline."""

from __future__ import annotations

import orjson
import pytest

from tests.reference import closes, ma_crossings, shared_path

pytestmark = pytest.mark.agents


async def test_agent_turns_daily_bars_into_signals_and_alerts(sent: dict) -> None:
    from streams.app import process_quotes

    frame = closes(shared_path("quotes", "HSTECH.csv")).tail(320).reset_index(drop=True)
    async with process_quotes.test_context() as agent:
        for row in frame.itertuples():
            value = orjson.dumps({"symbol": "HSTECH", "date": row.date, "close": row.close})
            await agent.put(value, key=b"HSTECH")
    assert len(sent["quotes.signals"]) == len(frame)
    got = [(a["trading_day"], a["direction"]) for _, a in sent["alerts"]]
    assert got == ma_crossings(frame, 60)
    assert ("2025-10-17", "below") in got


async def test_agent_dead_letters_bad_input_and_keeps_going(sent: dict) -> None:
    from streams import metrics
    from streams.app import process_quotes

    before = metrics.DEADLETTERS.labels("invalid_json")._value.get()
    async with process_quotes.test_context() as agent:
        await agent.put(b"{oops", key=b"X")
        await agent.put(b'{"symbol":"X","date":"2025-01-02","close":-5}', key=b"X")
        await agent.put(b'{"symbol":"X","date":"2025-01-02","close":5}', key=b"X")
        await agent.put(b'{"symbol":"X","date":"2025-01-02","close":5}', key=b"X")  # duplicate
    reasons = [v["reason"] for _, v in sent["deadletter"]]
    assert reasons == ["invalid_json", "non_positive"]
    assert len(sent["quotes.signals"]) == 1
    assert metrics.DEADLETTERS.labels("invalid_json")._value.get() == before + 1
