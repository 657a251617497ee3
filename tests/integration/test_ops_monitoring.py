"""What the people on call install: the alerting rules (``ops/prometheus``), checked and
unit-tested by promtool; the Grafana dashboard (``ops/grafana``), checked for structure; and
a real Prometheus (Debian's ``prometheus``) scraping a real worker and ``windvane deliver``
while HSTECH is replayed: the series it stores hold the replayed counts, every rule evaluates
without error, and the alerts fire when a sink refuses everything and when the worker stops.
Every metric name in a rule or a dashboard query must be one the live processes export."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.tools.kafka_local import free_port
from tests.kafka_harness import REPO, VENV_BIN, Namespace, Worker, consume_until, produce
from tests.peers import require
from tests.reference import closes, ma_crossings, shared_path

pytestmark = pytest.mark.integration

OPS = REPO / "ops"
RULES = OPS / "prometheus" / "windvane.rules.yml"
RULE_TESTS = OPS / "prometheus" / "windvane.rules.test.yml"
PROMETHEUS_CONFIG = OPS / "prometheus" / "prometheus.yml"
DASHBOARD = OPS / "grafana" / "windvane.json"
README = REPO / "README.md"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


# -- PromQL: the metric names an expression reads -----------------------------------------
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left"}
_KEYWORDS |= {"group_right", "offset", "bool", "inf", "nan", "atan2"}


def grafana_to_promql(expr: str) -> str:
    """A dashboard query with Grafana's variables replaced by what they stand for."""
    expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s")
    expr = expr.replace("$__range", "1h").replace("$instance", ".*")
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: not functions, keywords, labels or durations."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", text):
        after = text[m.end() :].lstrip()
        if m.group() in _KEYWORDS or after.startswith("("):
            continue
        names.add(m.group())
    return names


def exported_names(metrics_text: str) -> set[str]:
    """Every series name a /metrics page can produce: samples, and the families it declares
    (a counter or histogram with labels has no sample before its first observation)."""
    names = {"up"}  # Prometheus' own, per target
    suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names |= {name + s for s in suffixes.get(kind, ("",))}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def keeps_labels(expr: str, labels: set[str]) -> bool:
    """The result of ``expr`` keeps ``labels``: every ``by (...)`` of it lists them."""
    groupings = re.findall(r"\bby \(([^)]*)\)", expr)
    return all(labels <= {label.strip() for label in g.split(",")} for g in groupings)


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_targets() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p["targets"]]


def test_metric_names_reads_what_promql_reads() -> None:
    expr = (
        'sum by (topic, le) (rate(windvane_x_bucket{le=~"30(\\\\.0)?", a="up"}[5m])) '
        "/ ignoring (le) windvane_y offset 15m and on (job) (time() - process_start) > 1e3"
    )
    assert metric_names(expr) == {"windvane_x_bucket", "windvane_y", "process_start"}
    assert metric_names("up == 0 or absent(up{job='w'})") == {"up"}
    assert "windvane_nope_total" not in exported_names("# TYPE windvane_a_total counter\n")
    assert keeps_labels("sum by (topic, le) (rate(x[1m]))", {"topic"})
    assert not keeps_labels("sum by (le) (rate(x[1m]))", {"topic"})


# -- the rules -----------------------------------------------------------------------------
def readme_anchors(section: str) -> set[str]:
    """GitHub's anchors of the headings inside one ``## section`` of the README."""
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    anchors = set()
    for line in text[start : end if end > 0 else None].splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = require("promtool", "prometheus")
    for args in (
        ["check", "rules", str(RULES)],
        ["test", "rules", str(RULE_TESTS)],
        ["check", "config", str(PROMETHEUS_CONFIG)],
    ):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"promtool {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    assert "SUCCESS" in proc.stdout


def test_every_rule_has_severity_summary_runbook_and_unit_tests() -> None:
    anchors = readme_anchors("Monitoring")
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for group in tests for case in group.get("alert_rule_test", [])]
    issue = {  # what the issue asks for
        "WindvaneConsumerLagHigh", "WindvaneConsumerLagGrowing", "WindvaneNoRecordsProcessed",
        "WindvaneDeadLetters", "WindvaneWorkerNotReady", "WindvaneWorkerDown",
        "WindvaneDeliveriesUndeliverable", "WindvaneProcessingLagHigh", "WindvaneRestoreSlow",
    }  # fmt: skip
    names = [rule["alert"] for rule in rules()]
    assert issue <= set(names) and len(names) == len(set(names))
    for rule in rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["summary"], name
        runbook = rule["annotations"]["runbook"]
        assert runbook == f"README.md#{name.lower()}", name
        assert name.lower() in anchors, f"{name}: no runbook section in README Monitoring"
        mine = [case for case in cases if case["alertname"] == name]
        assert any(case.get("exp_alerts") for case in mine), f"{name}: no firing test"
        assert any(not case.get("exp_alerts") for case in mine), f"{name}: no quiet test"


def test_compose_runs_prometheus_with_the_rules_only_in_the_monitoring_profile() -> None:
    doc = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    prometheus = doc["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert all("profiles" not in s for n, s in doc["services"].items() if n != "prometheus")
    mounts = {}
    for volume in prometheus["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            assert (REPO / source).is_file(), source
            mounts[target] = REPO / source
        else:
            assert source in doc["volumes"], source
    flags = dict(arg.split("=", 1) for arg in prometheus["command"])
    config_path = Path(flags["--config.file"])
    assert mounts[str(config_path)] == PROMETHEUS_CONFIG
    for rule_file in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["rule_files"]:
        assert mounts[str(config_path.parent / rule_file)] == RULES


# -- the dashboard -----------------------------------------------------------------------------
def test_dashboard_is_well_formed_and_its_queries_parse(tmp_path: Path) -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["title"] and board["uid"] and board["schemaVersion"] >= 30
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels) >= 8
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["type"] in {"timeseries", "stat", "gauge", "bargauge", "table"}, panel
        assert panel["title"] and panel["datasource"] == DATASOURCE, panel["title"]
        box = panel["gridPos"]
        assert all(isinstance(box[k], int) for k in "xywh"), panel["title"]
        assert box["x"] >= 0 and box["x"] + box["w"] <= 24 and box["h"] > 0, panel["title"]
        xs, ys = range(box["x"], box["x"] + box["w"]), range(box["y"], box["y"] + box["h"])
        mine = {(x, y) for x in xs for y in ys}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        targets = panel["targets"]
        assert targets and len({t["refId"] for t in targets}) == len(targets), panel["title"]
        for target in targets:
            assert target["datasource"] == DATASOURCE and target["expr"].strip(), panel["title"]
            assert metric_names(grafana_to_promql(target["expr"])), target["expr"]
    # the panels the issue lists: a metric, grouped by what the on-call engineer looks at
    wanted = {
        "windvane_records_in_total": {"topic"}, "windvane_records_out_total": {"topic"},
        "windvane_consumer_lag_records": {"topic", "partition"},
        "windvane_processing_seconds_bucket": {"topic"}, "windvane_deadletters_total": {"reason", "topic"},
        "windvane_alerts_total": {"rule", "direction"},
        "windvane_deliveries_total": {"sink", "outcome"}, "windvane_restore_seconds_count": {"instance"},
    }  # fmt: skip
    for metric, labels in wanted.items():
        exprs = [e for _, e in dashboard_targets() if metric in metric_names(grafana_to_promql(e))]
        assert any(keeps_labels(e, labels) for e in exprs), f"no panel of {metric} by {labels}"
    # every query parses: promtool checks them as recording rules
    recorded = [
        {"record": f"dashboard:panel:{i}", "expr": grafana_to_promql(expr)}
        for i, (_, expr) in enumerate(dashboard_targets())
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recorded}]}))
    promtool = require("promtool", "prometheus")
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- a real Prometheus ------------------------------------------------------------------------
class Prometheus:
    """Debian's ``prometheus`` on a loopback port, its own storage."""

    def __init__(self, root: Path, config: Path) -> None:
        self.root = root
        self.config = config
        self.port = free_port()
        self.log = root / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        binary = require("prometheus", "prometheus")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.config}", f"--storage.tsdb.path={self.root / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"prometheus exited:\n{self.log.read_text()}"
            try:
                with urllib.request.urlopen(self.url("/-/ready"), timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"prometheus not ready:\n{self.log.read_text()}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(self.url(f"/api/v1/{path}{query}"), timeout=5) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=expr)["result"])

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def unhealthy_rules(self) -> list[tuple[str, str, str]]:
        """Rules not (yet) evaluated without error: name, health, last error."""
        rules = [r for group in self.api("rules")["groups"] for r in group["rules"]]
        return [
            (r["name"], r["health"], r.get("lastError", "")) for r in rules if r["health"] != "ok"
        ]

    def firing(self) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for alert in self.api("alerts")["alerts"]:
            if alert["state"] == "firing":
                out.setdefault(alert["labels"]["alertname"], []).append(alert["labels"])
        return out

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return str(resp.read().decode())


def scrape_config_for(root: Path, worker: str, deliver: str) -> Path:
    """The shipped scrape config and rules, scraping every second, the worker-down rule
    after 2 s instead of a minute (the shipped files stay as they are)."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for group in groups:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if rule["alert"] == "WindvaneWorkerDown":
                rule["for"] = "2s"
    (root / "rules.yml").write_text(yaml.safe_dump({"groups": groups}))
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s"}
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(root / "rules.yml")]
    targets = {"windvane-worker": worker, "windvane-deliver": deliver}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == set(targets), "the rules name these jobs"
    for name, target in targets.items():
        jobs[name]["static_configs"] = [{"targets": [target]}]
    path = root / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.timeout(180)
def test_real_prometheus_scrapes_worker_and_deliver_and_fires_rules(ns: Namespace) -> None:
    started = time.monotonic()
    csv = shared_path("quotes", "HSTECH.csv")
    bars = len(closes(csv))
    crossings = len(ma_crossings(closes(csv), 60))
    worker = Worker(ns, ns.root / "worker")
    # deliver, with one sink that refuses every connection: each alert is undeliverable
    dead_port, metrics_port = free_port(), free_port()
    config = ns.root / "delivery.toml"
    config.write_text(
        f'[[sinks]]\nname = "dead"\ntype = "webhook"\nurl = "http://127.0.0.1:{dead_port}/"\n'
        "max_attempts = 1\n"
    )
    deliver_url = f"http://127.0.0.1:{metrics_port}/metrics"
    prometheus = Prometheus(
        ns.root,
        scrape_config_for(ns.root, f"127.0.0.1:{worker.port}", f"127.0.0.1:{metrics_port}"),
    )
    deliver: subprocess.Popen[bytes] | None = None
    try:
        worker.start()
        deliver = subprocess.Popen(
            [str(VENV_BIN / "windvane"), "deliver", "--config", str(config), "--metrics-port", str(metrics_port)],
            env=ns.env(), stdout=(ns.root / "deliver.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(lambda: _answers(deliver_url), 30, "windvane deliver's /metrics")
        prometheus.start()
        wait_for(
            lambda: prometheus.value('sum(up{job=~"windvane-worker|windvane-deliver"})') == 2,
            20,
            "both targets up",
        )
        ns.windvane("replay", "quotes", str(csv), "--symbol", "HSTECH")

        # the series Prometheus stored: one input per bar, one alert out per crossing,
        # each alert undeliverable on the dead sink
        topic = ns.topic("quotes.raw")
        records_in = f'windvane_records_in_total{{job="windvane-worker", topic="{topic}"}}'
        wait_for(lambda: prometheus.value(records_in) == bars, 60, f"{records_in} == {bars}")
        alerts_out = f'windvane_records_out_total{{topic="{ns.topic("alerts")}"}}'
        wait_for(lambda: prometheus.value(alerts_out) == crossings, 30, "alerts out")
        undeliverable = 'windvane_deliveries_total{sink="dead", outcome="undeliverable"}'
        wait_for(lambda: prometheus.value(undeliverable) == crossings, 60, "undeliverable")
        assert prometheus.value("windvane_ready") == 1

        # every metric name of the rules and the dashboard is one the processes export
        exported = exported_names(worker.get("/metrics")[1].decode())
        exported |= exported_names(get_text(deliver_url))
        exprs = [str(rule["expr"]) for rule in rules()]
        exprs += [grafana_to_promql(expr) for _, expr in dashboard_targets()]
        for expr in exprs:
            assert metric_names(expr) <= exported, f"{metric_names(expr) - exported} in {expr}"

        # every dashboard query answers with data; dead letters (none here) with every
        # reason at 0, pre-set by the worker
        for title, expr in dashboard_targets():
            promql = grafana_to_promql(expr)
            found = wait_for(lambda q=promql: prometheus.query(q), 20, f"{title}: {promql}")
            if "windvane_deadletters_total" in promql:
                series = {(r["metric"]["reason"], r["metric"]["topic"]) for r in found}
                assert series == {
                    (reason, ns.topic(topic))
                    for topic, reasons in REASONS_BY_TOPIC.items()
                    for reason in reasons
                }, title
                assert all(float(r["value"][1]) == 0 for r in found), title

        # every rule evaluates without error on real series; a refused sink fires at once
        loaded = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        assert sorted(r["name"] for r in loaded) == sorted(rule["alert"] for rule in rules())
        wait_for(lambda: not prometheus.unhealthy_rules(), 10, "every rule evaluated")
        firing = wait_for(
            lambda: prometheus.firing().get("WindvaneDeliveriesUndeliverable"), 20, "undeliverable"
        )
        assert [(a["sink"], a["severity"]) for a in firing] == [("dead", "critical")]
        assert "WindvaneWorkerDown" not in prometheus.firing()

        # the worker stops: up == 0, and the rule fires (for: 2s in this copy)
        stopped = time.monotonic()
        worker.stop()
        down = wait_for(lambda: prometheus.firing().get("WindvaneWorkerDown"), 30, "worker down")
        assert [a["instance"] for a in down] == [f"127.0.0.1:{worker.port}"]
        assert set(prometheus.firing()) == {"WindvaneWorkerDown", "WindvaneDeliveriesUndeliverable"}
        print(
            f"prometheus: {bars} bars, {crossings} alerts undeliverable; worker down fired "
            f"{time.monotonic() - stopped:.1f}s after the stop; test {time.monotonic() - started:.1f}s"
        )
    finally:
        worker.stop()
        prometheus.stop()
        if deliver is not None and deliver.poll() is None:
            deliver.send_signal(signal.SIGTERM)
            try:
                deliver.wait(30)
            except subprocess.TimeoutExpired:
                deliver.kill()
                deliver.wait(10)


# What the README lists, written out here rather than imported: the series a worker must
# pre-set, per source topic it consumes.
QUOTE_REASONS = ("invalid_json", "schema", "non_positive", "non_finite", "bad_timestamp",
                 "key_mismatch", "late", "closed_session", "no_trading", "internal_error")  # fmt: skip
ARTICLE_REASONS = ("invalid_json", "schema", "internal_error")
REASONS_BY_TOPIC = {"quotes.raw": QUOTE_REASONS, "articles.raw": ARTICLE_REASONS,
                    "articles.byhash": ARTICLE_REASONS, "claims.bysymbol": ARTICLE_REASONS}  # fmt: skip


def deadletter_series(worker: Worker) -> dict[tuple[str, str], float]:
    """``windvane_deadletters_total`` on the worker's /metrics, by (reason, topic)."""
    status, body = worker.get("/metrics")
    assert status == 200
    return {
        (s.labels["reason"], s.labels["topic"]): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "windvane_deadletters_total"
    }


def test_worker_presets_every_dead_letter_series_then_counts_by_reason_and_topic(
    ns: Namespace,
) -> None:
    """Every (reason, source topic) at 0 before any input; then one bad record on each
    input topic, through both runtimes (quote tasks, article agents), counts as 1 under
    its reason and the topic it came from, and nothing else moves."""
    zero = {
        (reason, ns.topic(topic)): 0.0
        for topic, reasons in REASONS_BY_TOPIC.items()
        for reason in reasons
    }
    bad = {  # source topic: (value, reason)
        "quotes.raw": (b"{nope", "invalid_json"),
        "articles.raw": (b"[1, 2]", "schema"),
        "articles.byhash": (b'{"id": 5, "body": "x", "published_at": "2025-01-02"}', "schema"),
        "claims.bysymbol": (b'{"article_id": "a1"', "invalid_json"),
    }
    worker = Worker(ns, ns.root / "worker").start()
    try:
        assert deadletter_series(worker) == zero
        for topic, (value, _) in bad.items():
            asyncio.run(produce(ns.bootstrap, ns.topic(topic), [(b"HSTECH", value)]))
        dead = asyncio.run(consume_until(ns.bootstrap, ns.topic("deadletter"), len(bad)))
        want = dict(zero)
        for topic, (_, reason) in bad.items():
            want[(reason, ns.topic(topic))] = 1.0
        wait_for(lambda: deadletter_series(worker) == want, 10, "the dead-letter counts")
    finally:
        worker.stop()
    got = {(v["source"]["topic"], v["reason"]) for _, v in dead}
    assert got == {(ns.topic(t), reason) for t, (_, reason) in bad.items()}
    assert len(dead) == len(bad)


def _answers(url: str) -> bool:
    try:
        get_text(url)
        return True
    except OSError:
        return False
