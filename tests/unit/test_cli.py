"""The offline command and the input file layouts, through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.tools.cli import main
from streams.tools.sources import SourceError, quote_records
from tests.reference import closes, ma_crossings, shared_path

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> list[dict]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def test_offline_csv_gives_the_reference_crossings() -> None:
    path = shared_path("quotes", "HSTECH.csv")
    lines = run("offline", "quotes", str(path), "--symbol", "HSTECH")
    alerts = [
        (x["value"]["trading_day"], x["value"]["direction"])
        for x in lines
        if x["topic"] == "alerts"
    ]
    assert alerts == ma_crossings(closes(path), 60)
    assert sum(1 for x in lines if x["topic"] == "quotes.signals") == len(closes(path))


def test_offline_jsonl_mixes_symbols_ticks_bars_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [
        b'{"symbol":"A","date":"2025-01-02","close":10}',
        b'{"symbol":"B","ts":"2025-01-02T10:00:00+08:00","price":5}',
        b"{broken",
        b'{"symbol":"B","ts":"2025-01-02T11:00:00+08:00","price":-5}',
        b'{"symbol":"B","ts":"2025-01-03T10:00:00+08:00","price":6}',
    ]
    path.write_bytes(b"\n".join(rows) + b"\n")
    lines = run("offline", "quotes", str(path))
    dead = [x["value"]["reason"] for x in lines if x["topic"] == "deadletter"]
    assert dead == ["invalid_json", "non_positive"]
    finals = [
        x["value"]["trading_day"]
        for x in lines
        if x["topic"] == "quotes.signals" and x["value"]["final"]
    ]
    assert finals == ["2025-01-02", "2025-01-02"]  # A's bar, then B's tick day closed by the 3rd
    only_b = run("offline", "quotes", str(path), "--symbol", "B", "--only", "quotes.signals")
    assert {x["key"] for x in only_b} == {"B"}


def test_offline_accepts_a_rules_file() -> None:
    path = shared_path("quotes", "HSI.csv")
    lines = run(
        "offline",
        "quotes",
        str(path),
        "--symbol",
        "HSI",
        "--rules",
        str(REPO / "examples" / "rules.toml"),
        "--only",
        "alerts",
    )
    rules = {x["value"]["rule"] for x in lines}
    assert rules == {"ma_cross", "sma_cross", "drawdown", "streak", "new_high", "new_low"}


def test_both_csv_layouts_read_as_daily_bars() -> None:
    (k, v), *_ = quote_records(shared_path("quotes", "0700.HK.csv"), "0700.HK")
    bar = orjson.loads(v)
    assert k == b"0700.HK" and set(bar) == {
        "symbol",
        "date",
        "close",
        "open",
        "high",
        "low",
        "volume",
    }
    (k, v), *_ = quote_records(shared_path("quotes", "HSI.csv"), "HSI")
    assert orjson.loads(v) == {"symbol": "HSI", "date": "2013-08-20", "close": 21964.051}
    with pytest.raises(SourceError):
        next(quote_records(shared_path("quotes", "HSI.csv"), None))


def test_cluster_ids_never_start_with_a_dash_so_the_storage_tool_reads_them_as_ids() -> None:
    import base64

    from streams.tools.kafka_local import base64_uuid

    ids = [base64_uuid() for _ in range(5000)]  # ~78 would start with "-" if unfiltered
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
