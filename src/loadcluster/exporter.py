"""`loadcluster exporter`: a Prometheus exporter sidecar for a loadcluster master.

A custom Collector reads the master's stats endpoint on every scrape and yields fresh metric
families, so series of endpoints or workers that are gone do not linger. If the master cannot be
read, the scrape fails (Prometheus records `up == 0`) rather than answering with nothing.

Response times become a real Prometheus histogram built from Locust's own response-time buckets:
`histogram_quantile()` then works over any window and sums over endpoints and workers. Locust keeps
times rounded (exact below 100 ms, then 10 ms, 100 ms and 1 s steps), so bucket edges follow that.

Every series carries the run's `run_id` label: runs sharing a Prometheus must never add up, and target
labels (`job`, `instance`; the Operator's `namespace`, `pod`) cannot tell apart runs that one exporter
address served one after the other (Compose, `loadcluster run --metrics-port`). With the label a run's
counters and histogram are series of their own, so `rate()` and `increase()` never span two runs and
`histogram_quantile()` over `sum by (le)` takes one run's buckets; selecting by target labels and
joining run_id from `loadcluster_run_info` would mix two runs in every window across the boundary (a
counter reset inside one series) and add them up in an `increase()` over both. The cost is one set of
series per run and one run_id per exporter at a time: what a new master pod already costs on
Kubernetes, unlike per-request ids, which stay out of labels. The dashboard's Run variable selects it.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import chain
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from loadcluster.errors import LoadclusterError, RunFailed
from loadcluster.stats_api import STATS_PATH, authorization, authorized

logger = logging.getLogger(__name__)

PREFIX = "loadcluster"
DEFAULT_PORT = 9646
READ_TIMEOUT_S = 5.0
# Upper bounds in seconds; each is a value Locust's rounding can produce exactly.
BUCKETS_S = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
    1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0,
)  # fmt: skip
WORKER_STATES = ("ready", "spawning", "running", "missing", "stopped")
RUNNER_STATES = ("ready", "spawning", "running", "stopping", "stopped")
# Thresholds in the units of their metric: milliseconds become seconds, percent a ratio.
THRESHOLDS = {
    "avg_response_ms": ("avg_response_seconds", 0.001),
    "p95_response_ms": ("p95_response_seconds", 0.001),
    "max_failure_percent": ("failure_ratio", 0.01),
    "min_rps": ("min_rps", 1.0),
    "min_users": ("min_users", 1.0),
}
ENDPOINT_LABELS = ["method", "endpoint"]
# On every series: what tells runs sharing a Prometheus apart (see the module's docstring).
RUN_LABEL = "run_id"


def read_master(stats_url: str, token: str | None = None) -> dict[str, Any]:
    request = urllib.request.Request(stats_url, headers=authorization(token))
    with urllib.request.urlopen(request, timeout=READ_TIMEOUT_S) as response:
        document: dict[str, Any] = json.load(response)
    return document


def histogram_buckets(response_times: Mapping[str, int]) -> list[tuple[str, float]]:
    """Locust's {rounded ms: count} as cumulative Prometheus buckets, +Inf last."""
    counts = sorted((int(ms), count) for ms, count in response_times.items())
    buckets = []
    index = cumulative = 0
    for bound in BUCKETS_S:
        while index < len(counts) and counts[index][0] <= bound * 1000:
            cumulative += counts[index][1]
            index += 1
        buckets.append((floatToGoString(bound), float(cumulative)))
    buckets.append(("+Inf", float(sum(count for _, count in counts))))
    return buckets


class MasterCollector(Collector):
    def __init__(self, master_url: str, read: Callable[[str], dict[str, Any]] = read_master) -> None:
        self.stats_url = master_url.rstrip("/") + STATS_PATH
        self.read = read
        self.scrape_errors = 0

    def describe(self) -> list[Metric]:
        return []  # registering must not read the master

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        try:
            document = self.read(self.stats_url)
        except (OSError, ValueError) as error:
            self.scrape_errors += 1
            logger.warning("cannot read the master at %s: %s", self.stats_url, error)
            raise RunFailed(f"cannot read the master at {self.stats_url}: {error}") from error
        run_id = document["run"]["run_id"]
        families = chain(
            _endpoint_metrics(document["entries"]),
            _user_metrics(document),
            _worker_metrics(document["workers"]),
            _run_metrics(document),
            self._own_metrics(started),
        )
        for family in families:
            yield _with_label(family, RUN_LABEL, run_id)

    def _own_metrics(self, started: float) -> Iterator[Metric]:
        errors = CounterMetricFamily(f"{PREFIX}_exporter_scrape_errors", "Failed reads of the master")
        errors.add_metric([], self.scrape_errors)
        yield errors
        yield GaugeMetricFamily(
            f"{PREFIX}_exporter_scrape_duration_seconds",
            "Time to read the master and build the metrics",
            value=time.perf_counter() - started,
        )


def _with_label(family: Metric, name: str, value: str) -> Metric:
    """`family` with the label `name`=`value` on each of its samples."""
    family.samples = [sample._replace(labels={**sample.labels, name: value}) for sample in family.samples]
    return family


def _endpoint_metrics(entries: list[dict[str, Any]]) -> Iterator[Metric]:
    requests = CounterMetricFamily(f"{PREFIX}_requests", "Requests made", labels=ENDPOINT_LABELS)
    failures = CounterMetricFamily(f"{PREFIX}_request_failures", "Requests that failed", labels=ENDPOINT_LABELS)
    times = HistogramMetricFamily(
        f"{PREFIX}_response_time_seconds", "Response times, from Locust's buckets", labels=ENDPOINT_LABELS
    )
    for entry in entries:
        labels = [entry["method"], entry["name"]]
        requests.add_metric(labels, entry["requests"])
        failures.add_metric(labels, entry["failures"])
        times.add_metric(
            labels, histogram_buckets(entry["response_times"]), sum_value=entry["response_time_sum_ms"] / 1000
        )
    yield from (requests, failures, times)


def _user_metrics(document: Mapping[str, Any]) -> Iterator[Metric]:
    yield GaugeMetricFamily(f"{PREFIX}_users", "Users running on all workers", value=document["users"])
    per_class = GaugeMetricFamily(f"{PREFIX}_class_users", "Users running per user class", labels=["user_class"])
    for user_class, count in sorted(document["user_classes"].items()):
        per_class.add_metric([user_class], count)
    yield per_class
    current = document["current"]
    yield GaugeMetricFamily(f"{PREFIX}_current_rps", "Requests per second, last ~10 s", value=current["rps"])
    yield GaugeMetricFamily(
        f"{PREFIX}_current_failure_ratio", "Failed share of requests, last ~10 s", value=current["failure_ratio"]
    )


def _worker_metrics(workers: list[dict[str, Any]]) -> Iterator[Metric]:
    by_state = GaugeMetricFamily(f"{PREFIX}_workers", "Workers by state", labels=["state"])
    for state in WORKER_STATES:
        by_state.add_metric([state], sum(1 for w in workers if w["state"] == state))
    yield by_state
    cpu = GaugeMetricFamily(
        f"{PREFIX}_worker_cpu_ratio", "Worker CPU use, share of one core (near 1: latencies lie)", labels=["worker"]
    )
    memory = GaugeMetricFamily(f"{PREFIX}_worker_memory_bytes", "Worker resident memory", labels=["worker"])
    users = GaugeMetricFamily(f"{PREFIX}_worker_users", "Users running on a worker", labels=["worker"])
    for worker in workers:
        label = [str(worker["index"])]
        cpu.add_metric(label, worker["cpu_percent"] / 100)
        memory.add_metric(label, worker["memory_bytes"])
        users.add_metric(label, worker["users"])
    yield from (cpu, memory, users)


def _run_metrics(document: Mapping[str, Any]) -> Iterator[Metric]:
    run = document["run"]
    info = GaugeMetricFamily(f"{PREFIX}_run_info", "The run", labels=["suite", "scenario", RUN_LABEL, "host"])
    info.add_metric([run["suite"], run["scenario"], run["run_id"], run["host"]], 1)
    yield info
    state = GaugeMetricFamily(f"{PREFIX}_runner_state", "The master's state", labels=["state"])
    for name in RUNNER_STATES:
        state.add_metric([name], 1.0 if run["state"] == name else 0.0)
    yield state
    stage = GaugeMetricFamily(f"{PREFIX}_stage_info", "The shape's current stage", labels=["stage"])
    if run["stage"]:
        stage.add_metric([run["stage"]], 1)
    yield stage
    yield GaugeMetricFamily(
        f"{PREFIX}_run_start_time_seconds", "Unix time the test started (0 before)", value=run["started_at"] or 0
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_stage_start_time_seconds", "Unix time the current stage began", value=run["stage_started_at"] or 0
    )
    thresholds = GaugeMetricFamily(f"{PREFIX}_slo_threshold", "SLO thresholds of the run", labels=["slo"])
    for key, value in document["thresholds"].items():
        if key in THRESHOLDS:
            name, scale = THRESHOLDS[key]
            thresholds.add_metric([name], value * scale)
    yield thresholds


def build_registry(master_url: str, token: str | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(MasterCollector(master_url, read=functools.partial(read_master, token=token)))
    return registry


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log: Prometheus scrapes every few seconds."""


def metrics_app(registry: CollectorRegistry, token: str | None = None) -> Callable[..., Iterable[bytes]]:
    """/metrics; a master that cannot be read answers 503 with one line instead of a traceback; with a
    token, a scrape without it gets 401."""
    prometheus_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not authorized(environ, token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"a bearer token is required\n"]
        try:
            return prometheus_app(environ, start_response)  # type: ignore[no-any-return]
        except LoadclusterError as error:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{error}\n".encode()]

    return app


def serve_exporter(master_url: str, bind: str, port: int, token: str | None = None) -> None:
    """Serve /metrics until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = metrics_app(build_registry(master_url, token), token)
    server = make_server(bind, port, app, ThreadingWSGIServer, _QuietHandler)
    logger.info("exporter for %s listening on http://%s:%d/metrics", master_url, bind, server.server_port)
    # serve_forever runs in this (main) thread; a signal handler cannot call shutdown() from it.
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join(timeout=5)
