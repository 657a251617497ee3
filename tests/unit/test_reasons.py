"""The dead-letter reasons are a fixed, known set: every ``Rejected`` in the code names one
of its path's reasons, the deadletter schema lists exactly them, and a reason outside the
set can neither reach a dead letter nor become a new metric label."""

from __future__ import annotations

import ast
from pathlib import Path

import orjson
import pytest
from prometheus_client import REGISTRY

from streams import metrics
from streams.config import ARTICLES_BYHASH, ARTICLES_RAW, CLAIMS_BYSYMBOL, QUOTES_RAW
from streams.contracts import schema_document
from streams.domain.quotes import Rejected
from streams.domain.reasons import ARTICLE_REASONS, QUOTE_REASONS, REASONS
from streams.pipeline import DEADLETTER_REASONS, Result, SourceRecord, guarded

pytestmark = pytest.mark.unit
STREAMS = Path(__file__).resolve().parents[2] / "streams"
QUOTE, ARTICLE = set(QUOTE_REASONS), set(ARTICLE_REASONS)
# where a Rejected is raised -> the reasons of the path(s) it serves
PATHS: dict[str, set[str]] = {
    "domain/quotes.py": QUOTE,
    "pipeline.py": QUOTE,
    "tasks.py": QUOTE,
    "contracts.py:decode_quote": QUOTE,
    "contracts.py:_json_object": QUOTE & ARTICLE,  # every topic's first step
    "contracts.py:decode_article": ARTICLE,
    "contracts.py:decode_claim_envelope": ARTICLE,
    "article_pipeline.py": ARTICLE,
    "domain/articles/": ARTICLE,
}


def _constants(node: ast.expr, function: ast.AST) -> set[str]:
    """The string constants an expression can evaluate to (a name: its assignments in the
    enclosing function); anything else fails, so a new way of naming a reason is seen."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _constants(node.body, function) | _constants(node.orelse, function)
    if isinstance(node, ast.Name):
        assigned = [
            n.value
            for n in ast.walk(function)
            if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)
        ]
        assert assigned, f"cannot see what reason {node.id!r} holds"
        return set().union(*(_constants(value, function) for value in assigned))
    raise AssertionError(f"cannot read a reason from {ast.dump(node)}")


def rejections() -> list[tuple[str, int, set[str]]]:
    """(place, line, reasons) of every ``Rejected(...)`` under streams/."""
    found = []
    for path in sorted(STREAMS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = path.relative_to(STREAMS).as_posix()
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for call in ast.walk(function):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id == "Rejected"
                ):
                    reasons = _constants(call.args[0], function)
                    found.append((f"{relative}:{function.name}", call.lineno, reasons))
    return found


def test_every_rejection_names_a_reason_of_its_path() -> None:
    found = rejections()
    assert len(found) >= 20  # the scan sees the code (quotes.py alone raises 15)
    seen: set[str] = set()
    for place, line, reasons in found:
        paths = [allowed for prefix, allowed in PATHS.items() if place.startswith(prefix)]
        assert paths, f"{place} (line {line}): which path's reasons apply? add it to PATHS"
        assert reasons <= paths[0], f"{place} (line {line}): {reasons - paths[0]} not known"
        seen |= reasons
    # and the sets hold no reason the code never raises, but for those made elsewhere
    made_elsewhere = {"internal_error", "closed_session", "no_trading"}  # guarded(); to come
    assert REASONS - seen <= made_elsewhere


def test_the_deadletter_schema_lists_exactly_the_reasons() -> None:
    enum = schema_document("deadletter")["properties"]["reason"]["enum"]
    assert sorted(enum) == sorted(REASONS) and len(enum) == len(REASONS)


def test_each_input_topic_has_its_reasons() -> None:
    assert DEADLETTER_REASONS == {
        QUOTES_RAW: QUOTE_REASONS,
        ARTICLES_RAW: ARTICLE_REASONS,
        ARTICLES_BYHASH: ARTICLE_REASONS,
        CLAIMS_BYSYMBOL: ARTICLE_REASONS,
    }
    assert all(len(set(r)) == len(r) for r in DEADLETTER_REASONS.values())


def test_an_unknown_reason_is_dead_lettered_as_internal_error() -> None:
    def step() -> Result:
        raise Rejected("made_up", "a reason nobody listed")

    result = guarded(step, b"k", b"{}", SourceRecord("quotes.raw", 0, 3), 0)
    assert (result.status, result.reason) == ("deadletter", "internal_error")
    dead = orjson.loads(result.records[0].value)
    assert dead["reason"] == "internal_error" and "made_up" in dead["detail"]


def _count(reason: str, topic: str) -> float | None:
    return REGISTRY.get_sample_value(
        "windvane_deadletters_total", {"reason": reason, "topic": topic}
    )


def test_metrics_preset_every_series_at_zero_and_keep_labels_bounded() -> None:
    metrics.preset_deadletters({"t-preset.quotes.raw": QUOTE_REASONS})
    assert all(_count(r, "t-preset.quotes.raw") == 0 for r in QUOTE_REASONS)
    metrics.dead_lettered("schema", "t-preset.quotes.raw", 0, 1)
    metrics.dead_lettered("made_up", "t-preset.quotes.raw", 0, 2)
    assert _count("schema", "t-preset.quotes.raw") == 1
    assert _count("internal_error", "t-preset.quotes.raw") == 1
    assert _count("made_up", "t-preset.quotes.raw") is None
