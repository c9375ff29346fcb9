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
Series and their cardinality budget: docs/metrics.md.

Scrape cost (bench/exporter_scrape.py; figures in docs/metrics.md). A master with 100 endpoints gives
3,200 samples (per endpoint two counters, 28 buckets, a count and a sum). Building each as a
prometheus_client Sample and having the library's encoder write it (sorting and validating its labels,
escaping each value; its OpenMetrics encoder, which Prometheus asks for first, also escapes each
sample's name one character at a time), then gzip at level 9, took about 60 ms a scrape. So families are
rows of label values (`_Family`) and a scrape writes the text straight from them, escaping an endpoint's
labels once for its 32 lines; Locust's bucket keys are parsed once (`_BucketIndex`); gzip runs at
level 1. `collect()` turns the same rows into the library's families: the registry's API, and the
library's encoders for what the fast path does not write (another escaping or version, a `name[]`
filter); tests/test_exporter.py asserts that both give the same text, byte for byte.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import signal
import threading
import time
import urllib.request
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import accumulate
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import ThreadingWSGIServer, choose_encoder, gzip_accepted
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
# The `le` label values, +Inf last, and the bounds in Locust's unit (milliseconds).
BUCKET_LE = (*(floatToGoString(bound) for bound in BUCKETS_S), "+Inf")
_BOUNDS_MS = tuple(bound * 1000 for bound in BUCKETS_S)
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
# The exposition formats the scrape writes itself, by the Content-Type prometheus_client's own
# negotiation picks (choose_encoder): OpenMetrics 1.0.0 (what Prometheus asks for first) and the classic
# text format 0.0.4 (no Accept header: curl, a browser), both with legacy names, which all of ours are.
# Any other answer (another escaping, version or library release) takes the library's encoders.
_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
_FAST_FORMATS = {
    _OPENMETRICS: True,
    f"{_OPENMETRICS}; escaping=underscores": True,
    "text/plain; version=0.0.4; charset=utf-8": False,
}
# zlib's fastest level: 3.7 MB of text (1,000 endpoints) in about 8 ms instead of 120 ms at gzip's
# default 9, for a body about a third larger (Prometheus asks for gzip on every scrape).
GZIP_LEVEL = 1


def read_master(stats_url: str, token: str | None = None) -> dict[str, Any]:
    request = urllib.request.Request(stats_url, headers=authorization(token))
    with urllib.request.urlopen(request, timeout=READ_TIMEOUT_S) as response:
        document: dict[str, Any] = json.load(response)
    return document


class _BucketIndex(dict[str, int]):
    """Locust's rounded milliseconds, as a key of the master's JSON -> the index of the first bucket
    holding it (len(BUCKETS_S) for +Inf).

    Parsing every key and bisecting the bounds on every scrape would take longer than all the rest of
    the scrape, and Locust's rounding keeps the distinct keys few (every millisecond below 100, then
    steps of 10 ms, 100 ms and whole seconds: 331 keys up to 60 s), so each is worked out once; `limit`
    bounds what a custom `bucket_response_time` with finer keys could make this hold."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, ms: str) -> int:
        index = bisect_left(_BOUNDS_MS, int(ms))  # the first bound >= ms: Prometheus' `le`
        if len(self) < self.limit:
            self[ms] = index
        return index


_bucket_index = _BucketIndex(limit=20_000)


def cumulative_counts(response_times: Mapping[str, int]) -> list[float]:
    """Locust's {rounded ms: count} as the cumulative count of each bucket of BUCKET_LE (+Inf last)."""
    per_bucket = [0] * len(BUCKET_LE)
    index = _bucket_index
    for ms, count in response_times.items():
        per_bucket[index[ms]] += count
    return [float(total) for total in accumulate(per_bucket)]


def histogram_buckets(response_times: Mapping[str, int]) -> list[tuple[str, float]]:
    """Locust's {rounded ms: count} as cumulative Prometheus buckets, +Inf last."""
    return list(zip(BUCKET_LE, cumulative_counts(response_times), strict=True))


def _escape(value: str) -> str:
    """A label value as both text formats write it (prometheus_client's own escaping)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _sorted_positions(names: Sequence[str]) -> list[int]:
    """Where each label goes in a line: both formats sort labels by name."""
    return sorted(range(len(names)), key=names.__getitem__)


class _Family:
    """One metric family as rows of label values: what `collect()` turns into prometheus_client's
    families and what a scrape writes as text itself (see the module's docstring)."""

    kind = ""  # "counter", "gauge" or "histogram"

    def __init__(self, name: str, documentation: str, label_names: Sequence[str]) -> None:
        self.name = name  # OpenMetrics' family name: a counter's without _total
        self.documentation = documentation
        self.label_names = tuple(label_names)

    def metric(self) -> Metric:
        raise NotImplementedError

    def write_samples(self, out: list[str]) -> None:
        raise NotImplementedError

    def write(self, out: list[str], openmetrics: bool) -> None:
        """The family's HELP, TYPE and sample lines, as prometheus_client's encoders write them."""
        if openmetrics:
            name, documentation = self.name, _escape(self.documentation)
        else:  # the classic format names a counter's family by its sample and leaves `"` alone
            name = f"{self.name}_total" if self.kind == "counter" else self.name
            documentation = self.documentation.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {name} {documentation}\n# TYPE {name} {self.kind}\n")
        self.write_samples(out)

    def _labels(self, values: Sequence[str], order: Sequence[int]) -> list[str]:
        return [f'{self.label_names[i]}="{_escape(values[i])}"' for i in order]


class _Values(_Family):
    """A counter or a gauge: one value per row."""

    def __init__(self, kind: str, name: str, documentation: str, label_names: Sequence[str]) -> None:
        super().__init__(name, documentation, label_names)
        self.kind = kind
        self.rows: list[tuple[Sequence[str], float]] = []

    def add(self, values: Sequence[str], value: float) -> None:
        self.rows.append((values, value))

    def metric(self) -> Metric:
        family_type = CounterMetricFamily if self.kind == "counter" else GaugeMetricFamily
        family = family_type(self.name, self.documentation, labels=self.label_names)
        for values, value in self.rows:
            family.add_metric(values, value)
        return family

    def write_samples(self, out: list[str]) -> None:
        sample = f"{self.name}_total" if self.kind == "counter" else self.name
        order = _sorted_positions(self.label_names)
        for values, value in self.rows:
            labels = ",".join(self._labels(values, order))
            braced = f"{{{labels}}}" if labels else ""
            out.append(f"{sample}{braced} {floatToGoString(value)}\n")


class _Histogram(_Family):
    """Rows of cumulative bucket counts (BUCKET_LE's order) and a sum."""

    kind = "histogram"

    def __init__(self, name: str, documentation: str, label_names: Sequence[str]) -> None:
        super().__init__(name, documentation, label_names)
        self.rows: list[tuple[Sequence[str], list[float], float]] = []

    def add(self, values: Sequence[str], cumulative: list[float], sum_value: float) -> None:
        self.rows.append((values, cumulative, sum_value))

    def metric(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.label_names)
        for values, cumulative, sum_value in self.rows:
            family.add_metric(values, list(zip(BUCKET_LE, cumulative, strict=True)), sum_value=sum_value)
        return family

    def write_samples(self, out: list[str]) -> None:
        bucket, count, total = f"{self.name}_bucket", f"{self.name}_count", f"{self.name}_sum"
        order = _sorted_positions(self.label_names)
        # `le` sorts among the others: the labels before it and after it are the same on each bucket's line.
        before = sum(1 for name in self.label_names if name < "le")
        go = floatToGoString
        for values, cumulative, sum_value in self.rows:
            labels = self._labels(values, order)
            head = "".join(f"{label}," for label in labels[:before])
            tail = "".join(f",{label}" for label in labels[before:])
            lines = zip(BUCKET_LE, cumulative, strict=True)
            out.extend(f'{bucket}{{{head}le="{le}"{tail}}} {go(value)}\n' for le, value in lines)
            plain = ",".join(labels)
            braced = f"{{{plain}}}" if plain else ""
            out.append(f"{count}{braced} {go(cumulative[-1])}\n{total}{braced} {go(sum_value)}\n")


class MasterCollector(Collector):
    def __init__(self, master_url: str, read: Callable[[str], dict[str, Any]] = read_master) -> None:
        self.stats_url = master_url.rstrip("/") + STATS_PATH
        self.read = read
        self.scrape_errors = 0

    def describe(self) -> list[Metric]:
        return []  # registering must not read the master

    def collect(self) -> Iterator[Metric]:
        for family in self.families():
            yield family.metric()

    def exposition(self, openmetrics: bool) -> bytes:
        """A scrape's text, OpenMetrics 1.0.0 or the classic text format 0.0.4: what prometheus_client's
        encoders write for `collect()`, byte for byte, several times faster."""
        out: list[str] = []
        for family in self.families():
            family.write(out, openmetrics)
        if openmetrics:
            out.append("# EOF\n")
        return "".join(out).encode()

    def families(self) -> list[_Family]:
        """Read the master and build every family; RunFailed if it cannot be read."""
        started = time.perf_counter()
        try:
            document = self.read(self.stats_url)
        except (OSError, ValueError) as error:
            self.scrape_errors += 1
            logger.warning("cannot read the master at %s: %s", self.stats_url, error)
            raise RunFailed(f"cannot read the master at {self.stats_url}: {error}") from error
        run_id = document["run"]["run_id"]
        families = [
            *_endpoint_metrics(document["entries"], run_id),
            *_user_metrics(document, run_id),
            *_worker_metrics(document["workers"], run_id),
            *_run_metrics(document, run_id),
        ]
        errors = _Values("counter", f"{PREFIX}_exporter_scrape_errors", "Failed reads of the master", [RUN_LABEL])
        errors.add([run_id], self.scrape_errors)
        # Reading and building; the text is written after this sample is taken.
        elapsed = time.perf_counter() - started
        duration = _single(
            "gauge", f"{PREFIX}_exporter_scrape_duration_seconds", "Time to read the master and build the metrics",
            elapsed, run_id,
        )  # fmt: skip
        return [*families, errors, duration]


def _single(kind: str, name: str, documentation: str, value: float, run_id: str) -> _Values:
    """A family of one series, labelled with the run alone."""
    family = _Values(kind, name, documentation, [RUN_LABEL])
    family.add([run_id], value)
    return family


def _endpoint_metrics(entries: list[dict[str, Any]], run_id: str) -> list[_Family]:
    labels = [*ENDPOINT_LABELS, RUN_LABEL]
    requests = _Values("counter", f"{PREFIX}_requests", "Requests made", labels)
    failures = _Values("counter", f"{PREFIX}_request_failures", "Requests that failed", labels)
    times = _Histogram(f"{PREFIX}_response_time_seconds", "Response times, from Locust's buckets", labels)
    for entry in entries:
        values = (entry["method"], entry["name"], run_id)
        requests.add(values, entry["requests"])
        failures.add(values, entry["failures"])
        times.add(values, cumulative_counts(entry["response_times"]), entry["response_time_sum_ms"] / 1000)
    return [requests, failures, times]


def _user_metrics(document: Mapping[str, Any], run_id: str) -> list[_Family]:
    per_class = _Values("gauge", f"{PREFIX}_class_users", "Users running per user class", ["user_class", RUN_LABEL])
    for user_class, count in sorted(document["user_classes"].items()):
        per_class.add([user_class, run_id], count)
    current = document["current"]
    return [
        _single("gauge", f"{PREFIX}_users", "Users running on all workers", document["users"], run_id),
        per_class,
        _single("gauge", f"{PREFIX}_current_rps", "Requests per second, last ~10 s", current["rps"], run_id),
        _single("gauge", f"{PREFIX}_current_failure_ratio", "Failed share of requests, last ~10 s",
                current["failure_ratio"], run_id),
    ]  # fmt: skip


def _worker_metrics(workers: list[dict[str, Any]], run_id: str) -> list[_Family]:
    by_state = _Values("gauge", f"{PREFIX}_workers", "Workers by state", ["state", RUN_LABEL])
    for state in WORKER_STATES:
        by_state.add([state, run_id], sum(1 for w in workers if w["state"] == state))
    labels = ["worker", RUN_LABEL]
    cpu = _Values("gauge", f"{PREFIX}_worker_cpu_ratio",
                  "Worker CPU use, share of one core (near 1: latencies lie)", labels)  # fmt: skip
    memory = _Values("gauge", f"{PREFIX}_worker_memory_bytes", "Worker resident memory", labels)
    users = _Values("gauge", f"{PREFIX}_worker_users", "Users running on a worker", labels)
    for worker in workers:
        values = [str(worker["index"]), run_id]
        cpu.add(values, worker["cpu_percent"] / 100)
        memory.add(values, worker["memory_bytes"])
        users.add(values, worker["users"])
    return [by_state, cpu, memory, users]


def _run_metrics(document: Mapping[str, Any], run_id: str) -> list[_Family]:
    run = document["run"]
    info = _Values("gauge", f"{PREFIX}_run_info", "The run", ["suite", "scenario", RUN_LABEL, "host"])
    info.add([run["suite"], run["scenario"], run_id, run["host"]], 1)
    state = _Values("gauge", f"{PREFIX}_runner_state", "The master's state", ["state", RUN_LABEL])
    for name in RUNNER_STATES:
        state.add([name, run_id], 1.0 if run["state"] == name else 0.0)
    stage = _Values("gauge", f"{PREFIX}_stage_info", "The shape's current stage", ["stage", RUN_LABEL])
    if run["stage"]:
        stage.add([run["stage"], run_id], 1)
    thresholds = _Values("gauge", f"{PREFIX}_slo_threshold", "SLO thresholds of the run", ["slo", RUN_LABEL])
    for key, value in document["thresholds"].items():
        if key in THRESHOLDS:
            name, scale = THRESHOLDS[key]
            thresholds.add([name, run_id], value * scale)
    return [
        info,
        state,
        stage,
        _single("gauge", f"{PREFIX}_run_start_time_seconds", "Unix time the test started (0 before)",
                run["started_at"] or 0, run_id),
        _single("gauge", f"{PREFIX}_stage_start_time_seconds", "Unix time the current stage began",
                run["stage_started_at"] or 0, run_id),
        thresholds,
    ]  # fmt: skip


def build_registry(collector: MasterCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)
    return registry


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log: Prometheus scrapes every few seconds."""


def metrics_app(collector: MasterCollector, token: str | None = None) -> Callable[..., Iterable[bytes]]:
    """/metrics; a master that cannot be read answers 503 with one line instead of a traceback; with a
    token, a scrape without it gets 401. A plain GET in one of `_FAST_FORMATS` gets the collector's own
    text; anything else (OPTIONS, a `name[]` filter, another format) prometheus_client's WSGI app."""
    library_app = make_wsgi_app(build_registry(collector))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not authorized(environ, token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"a bearer token is required\n"]
        try:
            content_type = _fast_content_type(environ)
            if content_type is None:
                return library_app(environ, start_response)  # type: ignore[no-any-return]
            body = collector.exposition(openmetrics=_FAST_FORMATS[content_type])
        except LoadclusterError as error:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{error}\n".encode()]
        headers = [("Content-Type", content_type)]
        if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [body]

    return app


def _fast_content_type(environ: Mapping[str, Any]) -> str | None:
    """The Content-Type of the answer prometheus_client would give, if the collector writes it itself."""
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO") == "/favicon.ico":
        return None
    if "name[]" in parse_qs(environ.get("QUERY_STRING", "")):
        return None
    _encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
    return content_type if content_type in _FAST_FORMATS else None


def serve_exporter(master_url: str, bind: str, port: int, token: str | None = None) -> None:
    """Serve /metrics until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    collector = MasterCollector(master_url, read=functools.partial(read_master, token=token))
    app = metrics_app(collector, token)
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
