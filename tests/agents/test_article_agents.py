"""The article agents under Faust's ``test_context``."""

from __future__ import annotations

import orjson
import pytest

pytestmark = pytest.mark.agents


async def test_route_enrich_and_dead_letter(sent: dict) -> None:
    from streams.app import enrich_articles, route_articles

    article = {
        "id": "a1",
        "source": "test",
        "body": "The Hang Seng TECH Index fell below its 60-day moving average on October 17th. Tmall reached 540.3 billion yuan.",
        "published_at": "2025-11-11",
        "lang": "en",
    }
    async with route_articles.test_context() as agent:
        await agent.put(orjson.dumps(article), key=b"a1")
        await agent.put(b"{broken", key=b"a2")
    ((routed_key, routed),) = sent["articles.byhash"]
    assert len(routed_key) == 64 and routed["id"] == "a1"
    assert [v["reason"] for _, v in sent["deadletter"]] == ["invalid_json"]
    async with enrich_articles.test_context() as agent:
        await agent.put(orjson.dumps(routed), key=routed_key)
        await agent.put(orjson.dumps({**routed, "id": "a1-again"}), key=routed_key)
    (k1, first), (k2, again) = sent["articles.enriched"]
    assert (k1, k2) == (b"a1", b"a1-again")
    assert [m["value"] for m in first["metrics"]] == [540.3e9]
    assert again["duplicate_of"] == "a1"
    ((claim_key, envelope),) = sent["claims.bysymbol"]
    assert claim_key == b"HSTECH" and envelope["claim"]["type"] == "ma_cross"


async def test_an_agent_sends_only_to_its_declared_sinks(sent: dict) -> None:
    """What the topology shows is what an agent can do: a record for any other topic is a
    bug, refused before anything is sent."""
    from streams import app as app_module
    from streams.pipeline import OutRecord, Result, SourceRecord

    wiring = {
        name.rsplit(".", 1)[-1]: sinks for name, (sinks, _) in app_module.AGENT_WIRING.items()
    }
    assert set(wiring) == {a.name.rsplit(".", 1)[-1] for a in app_module.app.agents.values()}
    result = Result(
        "ok", [OutRecord("articles.byhash", b"h", b"{}"), OutRecord("alerts", b"k", b"{}")]
    )
    source = SourceRecord("articles.raw", 0, 0)
    with pytest.raises(app_module.UndeclaredSink, match="alerts"):
        await app_module._publish(result, source, wiring["route_articles"])
    assert sent["articles.byhash"] == []  # refused as a whole, before anything is sent
