"""The ``windvane`` command: broker, worker, replay, tail, offline."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from streams import codec
from streams.config import CHECKOUT, QUOTES_RAW, Settings
from streams.kafka_io import produce_records


def _debugging() -> bool:
    """Tracebacks are for ``-l debug`` (or ``LOG_LEVEL=debug``); people get one line."""
    argv = sys.argv[1:]
    if os.environ.get("LOG_LEVEL", "").lower() == "debug" or "--debug" in argv:
        return True
    pairs = zip(argv, [*argv[1:], ""], strict=False)  # each argument with the next one
    return any(
        a in ("-ldebug", "--loglevel=debug") or (a in ("-l", "--loglevel") and b == "debug")
        for a, b in pairs
    )


def user_error(exc: BaseException) -> str | None:
    """The one or two lines a person at a terminal needs for ``exc``, or None for a defect
    (which keeps its traceback)."""
    from aiokafka.errors import KafkaConnectionError, KafkaError

    from streams.config import ConfigError
    from streams.delivery.config import DeliveryConfigError
    from streams.domain.instruments import RegistryError
    from streams.domain.rules import RuleConfigError
    from streams.tools.kafka_local import BrokerError
    from streams.tools.sources import SourceError

    if isinstance(exc, RuleConfigError):
        return f"rules: {exc}"
    if isinstance(exc, ConfigError | DeliveryConfigError | RegistryError | SourceError):
        return str(exc)
    if isinstance(exc, BrokerError):
        return f"local broker: {exc}"
    if isinstance(exc, KafkaConnectionError):
        servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092"
        return (
            f"cannot reach Kafka at {servers} (KAFKA_BOOTSTRAP_SERVERS): {exc}\n"
            "start a broker (`windvane kafka up`) or point KAFKA_BOOTSTRAP_SERVERS at one"
        )
    if isinstance(exc, KafkaError):
        return f"Kafka: {type(exc).__name__}: {exc}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return None


class WindvaneGroup(click.Group):
    """Known errors (settings, files, an unreachable broker) end in a line or two and exit
    status 2, not a traceback; anything else is a defect and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            message = user_error(exc)
            if message is None or _debugging():
                raise
            click.echo(f"windvane: error: {message}", err=True)
            ctx.exit(2)


@click.group(cls=WindvaneGroup)
@click.version_option(package_name="windvane")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """windvane: quotes and news in, signals and alerts out, on Kafka."""
    if ctx.invoked_subcommand != "worker" and not _debugging():
        # the client's own retry log lines; the error itself ends in one line of ours
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


@main.command("config")
def config_command() -> None:
    """Print the effective settings of the worker (secrets masked) and check them."""
    from streams.config import WORKER_ENV, Settings

    settings = Settings.from_env()  # raises on a bad value: the same check as the worker's
    width = max(len(v.name) for v in WORKER_ENV)
    for var, value, from_env in settings.effective():
        origin = "env" if from_env else "default"
        click.echo(f"{var.name:<{width}}  {value or '(unset)':<24} {origin:<7}  # {var.meaning}")


@main.command("topology")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "json"]),
    default="text",
    show_default=True,
    help="text: as Kafka Streams' Topology.describe(); mermaid: a flowchart; json.",
)
@click.option(
    "--readme",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Write the mermaid between the topology markers of this file instead (make docs).",
)
def topology_command(fmt: str, readme: Path | None) -> None:
    """Print the processing graph: sources, processors (Faust agents, quote tasks), state
    stores and their changelogs, sinks, and each one's guarantee. Topic names follow the
    settings (WINDVANE_APP_ID, WINDVANE_TOPIC_PREFIX), as the worker's do."""
    from streams.app import topology
    from streams.topology import render_mermaid, render_text, with_readme_block

    graph = topology()
    if readme is not None:
        text = readme.read_text(encoding="utf-8")
        readme.write_text(with_readme_block(text, render_mermaid(graph)), encoding="utf-8")
        click.echo(f"topology: {readme} updated", err=True)
        return
    if fmt == "json":
        import json

        click.echo(json.dumps(graph.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_mermaid(graph) if fmt == "mermaid" else render_text(graph), nl=False)


# -- the local broker -------------------------------------------------------------------
@main.group()
def kafka() -> None:
    """A local Apache Kafka broker (KRaft, single node) from Maven Central jars."""


@kafka.command("up")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for it.")
def kafka_up(timeout: float) -> None:
    """Start the broker (idempotent); returns when it answers."""
    from streams.tools.kafka_local import BrokerError, LocalBroker

    broker = LocalBroker.from_env()
    try:
        broker.up(timeout=timeout)
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"kafka: up at {broker.bootstrap} (pid {broker.pid()}, data {broker.home})")


@kafka.command("down")
def kafka_down() -> None:
    """Stop the broker cleanly (SIGTERM, then SIGKILL after 60 s)."""
    from streams.tools.kafka_local import LocalBroker

    broker = LocalBroker.from_env()
    stopped = broker.down()
    click.echo("kafka: stopped" if stopped else "kafka: was not running")


@kafka.command("status")
def kafka_status() -> None:
    """Say whether the broker runs and answers; exit 1 when it does not."""
    from streams.tools.kafka_local import LocalBroker

    broker = LocalBroker.from_env()
    pid = broker.pid()
    if pid is None:
        click.echo(f"kafka: down (port {broker.port})")
        sys.exit(1)
    answers = broker.answers()
    click.echo(f"kafka: {'up' if answers else 'starting'} at {broker.bootstrap} (pid {pid})")
    sys.exit(0 if answers else 1)


# -- worker -------------------------------------------------------------------------------
def _worker_epilog() -> str:
    from streams.config import WORKER_ENV

    lines = ["\b", "Environment (`windvane config` prints the effective values):"]
    lines += [f"  {v.name:<28} {v.meaning}" for v in WORKER_ENV]
    return "\n".join(lines)


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog=_worker_epilog(),
)
@click.option("--loglevel", "-l", default="info", show_default=True)
@click.option(
    "--loop",
    type=click.Choice(["aio", "uvloop"]),
    envvar="WINDVANE_EVENT_LOOP",
    default="aio",
    show_default=True,
    help="Event loop (env WINDVANE_EVENT_LOOP); see the README's benchmark for uvloop.",
)
@click.pass_context
def worker(ctx: click.Context, loglevel: str, loop: str) -> None:
    """Run the Faust worker (same as ``faust -A streams.app worker``); extra options go to
    Faust's worker."""
    from streams.app import app

    sys.argv = ["windvane", "--loop", loop, "worker", "-l", loglevel, *ctx.args]
    app.main()


# -- producing and reading ------------------------------------------------------------
@main.group()
def replay() -> None:
    """Produce files to the raw input topics."""


@replay.command("quotes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--symbol", help="Symbol of a CSV of daily closes; filter for JSON lines.")
def replay_quotes(path: Path, symbol: str | None) -> None:
    """Produce PATH (CSV of daily closes, or JSON lines of quote values) to quotes.raw."""
    from streams.tools.sources import SourceError, quote_records

    settings = Settings.from_env()
    try:
        records = list(quote_records(path, symbol))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    sent = asyncio.run(produce_records(settings, settings.topic(QUOTES_RAW), records))
    click.echo(f"replay: {sent} records to {settings.topic(QUOTES_RAW)} from {path}", err=True)


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="WINDVANE_DELIVERY_CONFIG",
    required=True,
    help="TOML file with [[sinks]] (env WINDVANE_DELIVERY_CONFIG).",
)
@click.option(
    "--metrics-port", envvar="WINDVANE_DELIVERY_METRICS_PORT", default=6067, show_default=True
)
def deliver(config_path: Path, metrics_port: int) -> None:
    """Deliver alerts to webhooks and Alertmanager until stopped (SIGINT/SIGTERM)."""
    import logging
    import signal

    from prometheus_client import start_http_server

    from streams.delivery.config import DeliveryConfigError, load_sinks
    from streams.delivery.service import AlertDelivery
    from streams.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    try:
        sinks = load_sinks(config_path)
    except DeliveryConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")
    dashboard = os.environ.get("WINDVANE_DASHBOARD_URL", f"http://127.0.0.1:{settings.web_port}")
    service = AlertDelivery(settings, sinks, dashboard)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        logging.getLogger("windvane.delivery").info(
            "delivering %s to %s", settings.topic("alerts"), ", ".join(s.name for s in sinks)
        )
        await service.run(stop)

    asyncio.run(go())


@main.group()
def publish() -> None:
    """Produce articles to articles.raw."""


@publish.command("article")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--published-at", help="ISO date of a .txt article (default: today, UTC).")
@click.option("--source", "source_name", default=None, help="Source name of a .txt article.")
@click.option("--id", "article_id", default=None, help="Article id of a .txt article.")
def publish_article(
    path: Path, published_at: str | None, source_name: str | None, article_id: str | None
) -> None:
    """Produce PATH (.txt article, or JSON lines of article records) to articles.raw."""
    from streams.config import ARTICLES_RAW
    from streams.tools.sources import article_records

    settings = Settings.from_env()
    records = list(article_records(path, published_at, source_name, article_id))
    sent = asyncio.run(produce_records(settings, settings.topic(ARTICLES_RAW), records))
    click.echo(f"publish: {sent} articles to {settings.topic(ARTICLES_RAW)} from {path}", err=True)


@main.command("eval")
@click.option(
    "--labels-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=CHECKOUT / "samples" / "articles" / "labels" if CHECKOUT else None,
    show_default=True,
    help="Hand labels of real records: en/ and zh/ (format in its README).",
)
@click.option(
    "--shared",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=CHECKOUT.parent / "shared" / "data" if CHECKOUT else None,
    show_default=True,
    help="The real data the labels refer to (articles/ and quotes/).",
)
@click.option("--details", is_flag=True, help="List every missed and extra metric and claim.")
def eval_command(labels_dir: Path | None, shared: Path | None, details: bool) -> None:
    """Score metrics, stock codes and claims against hand labels, English and Chinese
    separately (claims: checked against the real closes in SHARED/quotes)."""
    from streams.tools.evaluation import evaluate_sets, report_sets

    if labels_dir is None or shared is None:  # installed from the wheel: no checkout beside
        raise click.UsageError(
            "windvane eval scores the hand labels of a windvane checkout "
            "(samples/articles/labels) against the real data they refer to: "
            "pass --labels-dir and --shared, or run it from a checkout (make eval)"
        )

    click.echo(report_sets(evaluate_sets(labels_dir, shared), details))


@main.command()
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="Start at the earliest offset.")
@click.option(
    "--idle-timeout", default=5.0, show_default=True, help="Exit after this many idle seconds."
)
@click.option("--raw-topic", is_flag=True, help="TOPIC is the full name (no prefix added).")
def tail(topic: str, from_beginning: bool, idle_timeout: float, raw_topic: bool) -> None:
    """Print TOPIC's records as JSON lines (read_committed) and exit when idle."""
    from streams.kafka_io import tail as tail_records

    settings = Settings.from_env()
    name = topic if raw_topic else settings.topic(topic)

    async def go() -> int:
        count = 0
        async for rec in tail_records(settings, name, from_beginning, idle_timeout):
            click.echo(
                codec.dumps_line(
                    _tail_line(rec.topic, rec.partition, rec.offset, rec.key, rec.value)
                )
            )
            count += 1
        return count

    count = asyncio.run(go())
    click.echo(f"tail: {count} records from {name}", err=True)


def _tail_line(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
) -> dict[str, Any]:
    decoded: Any
    try:
        decoded = codec.loads(value) if value is not None else None
    except codec.DecodeError:
        decoded = value.decode("utf-8", "replace") if value is not None else None
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": key.decode("utf-8", "replace") if key is not None else None,
        "value": decoded,
    }


@main.command()
@click.option("--since", default="2025-09-01", show_default=True, help="First trading day shown.")
@click.option("--until", default="2025-11-30", show_default=True, help="Last trading day shown.")
def demo(since: str, until: str) -> None:
    """The main job on real data: broker, worker, replay HSTECH and HSI, show the alerts."""
    if CHECKOUT is None:  # installed from the wheel: the samples live in the repository
        raise click.ClickException(
            "windvane demo replays the repository's samples/ (HSTECH, HSI and a sample "
            "article): run it from a windvane checkout (make demo)"
        )
    from streams.tools.demo import run

    run(since, until)


# -- offline ----------------------------------------------------------------------------
@main.group()
def offline() -> None:
    """Run the domain code without Kafka; print output records as JSON lines."""


@offline.command("quotes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--symbol", help="Symbol of a CSV of daily closes; filter for JSON lines.")
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--only", type=click.Choice(["quotes.signals", "alerts", "deadletter"]), help="Print one topic."
)
def offline_quotes(
    path: Path, symbol: str | None, rules_path: Path | None, only: str | None
) -> None:
    """Same records as the Kafka path, for PATH (CSV with --symbol, or JSON lines)."""
    from streams.tools.sources import SourceError

    try:
        for line in offline_quote_lines(path, symbol, rules_path):
            if only is None or line["topic"] == only:
                click.echo(codec.dumps_line(line))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc


@offline.command("article")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--published-at", help="ISO date of a .txt article (default: today, UTC).")
@click.option(
    "--quotes",
    "quote_files",
    multiple=True,
    metavar="SYMBOL=CSV",
    help="Replay these daily closes first, so claims are checked against them.",
)
def offline_article(path: Path, published_at: str | None, quote_files: tuple[str, ...]) -> None:
    """The enriched record(s) and checked claims for PATH, as JSON lines."""
    for line in offline_article_lines(path, published_at, quote_files):
        click.echo(codec.dumps_line(line))


def offline_article_lines(
    path: Path, published_at: str | None, quote_files: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    from streams.article_pipeline import ArticlePipeline
    from streams.config import ARTICLES_BYHASH, CLAIMS_BYSYMBOL
    from streams.domain.articles.article import ArticleEnricher
    from streams.domain.instruments import Registry
    from streams.domain.quotes import QuoteEngine, SymbolState
    from streams.domain.rules import RuleBook
    from streams.domain.timeutil import utc_now_ms
    from streams.pipeline import QuotePipeline, SourceRecord
    from streams.tools.sources import article_records, quote_records

    settings = Settings.from_env()
    registry = Registry.load(settings.instruments_path)
    days: dict[bytes, bytes] = {}
    quotes = QuotePipeline(QuoteEngine(RuleBook.load(settings.rules_path), registry), utc_now_ms)
    state: dict[bytes, SymbolState] = {}
    for spec in quote_files:
        symbol, _, csv_path = spec.partition("=")
        if not csv_path:
            raise click.BadParameter(f"{spec!r}: expected SYMBOL=CSV", param_hint="--quotes")
        for i, (key, value) in enumerate(quote_records(Path(csv_path), symbol)):
            quotes.process(key, value, SourceRecord(QUOTES_RAW, None, i), state, days)
    articles = ArticlePipeline(ArticleEnricher(registry), utc_now_ms)

    def latest(symbol: str) -> str | None:
        found = state.get(symbol.encode())
        return found.last_final_day if found is not None else None

    hashes: dict[bytes, bytes] = {}
    for index, (key, value) in enumerate(article_records(path, published_at, None, None)):
        routed = articles.route(key, value, SourceRecord("articles.raw", None, index))
        pending = list(routed.records)
        while pending:
            rec = pending.pop(0)
            source = SourceRecord(rec.topic, None, index)
            if rec.topic == ARTICLES_BYHASH:
                pending += articles.enrich(rec.key, rec.value, source, hashes).records
            elif rec.topic == CLAIMS_BYSYMBOL:
                pending += articles.check(rec.key, rec.value, source, days, latest).records
            else:
                yield {
                    "topic": rec.topic,
                    "key": rec.key.decode("utf-8", "replace") if rec.key is not None else None,
                    "value": codec.loads(rec.value),
                }


def offline_quote_lines(
    path: Path, symbol: str | None, rules_path: Path | None
) -> Iterator[dict[str, Any]]:
    from streams.domain.instruments import Registry
    from streams.domain.quotes import QuoteEngine, SymbolState
    from streams.domain.rules import RuleBook
    from streams.domain.timeutil import utc_now_ms
    from streams.pipeline import QuotePipeline, SourceRecord
    from streams.tools.sources import quote_records

    settings = Settings.from_env()
    rules = rules_path or settings.rules_path
    engine = QuoteEngine(RuleBook.load(rules), Registry.load(settings.instruments_path))
    pipeline = QuotePipeline(engine, utc_now_ms, settings.signal_shape)
    store: dict[bytes, SymbolState] = {}
    for index, (key, value) in enumerate(quote_records(path, symbol)):
        source = SourceRecord(settings.topic(QUOTES_RAW), None, index)
        result = pipeline.process(key, value, source, store)
        for rec in result.records:
            yield {
                "topic": rec.topic,
                "key": rec.key.decode("utf-8", "replace") if rec.key is not None else None,
                "value": codec.loads(rec.value),
            }


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
