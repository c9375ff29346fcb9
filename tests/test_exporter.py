"""The exporter's metrics: from a checked-in master document, then from a real run scraped by a real
Prometheus (Debian's package; CI installs it)."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, loadcluster
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from loadcluster.errors import RunFailed
from loadcluster.exporter import BUCKETS_S, MasterCollector, _BucketIndex, histogram_buckets, metrics_app
from loadcluster.runtimes.processes import free_port, spawn, terminate, wait_for_port

DOCUMENT = json.loads((REPO / "tests" / "data" / "master_stats.json").read_text())
RUN = {"run_id": DOCUMENT["run"]["run_id"]}  # on every series
FORM = {**RUN, "method": "POST", "endpoint": "/api/v1/support/form"}


def registry_for(document: dict[str, Any]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(MasterCollector("http://master:8090", read=lambda _url: document))
    return registry


def test_counters_per_endpoint_without_the_aggregated_row() -> None:
    registry = registry_for(DOCUMENT)
    assert registry.get_sample_value("loadcluster_requests_total", FORM) == 10
    assert registry.get_sample_value("loadcluster_request_failures_total", FORM) == 1
    text = generate_latest(registry).decode()
    assert "Aggregated" not in text
    assert text.count("loadcluster_requests_total{") == 2


def test_histogram_is_cumulative_from_locusts_buckets() -> None:
    registry = registry_for(DOCUMENT)

    def bucket(le: str) -> float | None:
        return registry.get_sample_value("loadcluster_response_time_seconds_bucket", {**FORM, "le": le})

    # samples at 1, 1, 4, 25, 25, 25, 120, 120, 1500, 12000 ms
    assert [bucket(le) for le in ("0.001", "0.005", "0.025", "0.1", "0.15", "1.5", "10.0", "60.0", "+Inf")] == [
        2,
        3,
        6,
        6,
        8,
        9,
        9,
        10,
        10,
    ]
    assert registry.get_sample_value("loadcluster_response_time_seconds_count", FORM) == 10
    assert registry.get_sample_value("loadcluster_response_time_seconds_sum", FORM) == pytest.approx(13.821)


def test_users_workers_run_and_thresholds() -> None:
    registry = registry_for(DOCUMENT)

    def value(name: str, labels: dict[str, str] | None = None) -> float | None:
        return registry.get_sample_value(name, {**RUN, **(labels or {})})

    assert value("loadcluster_users") == 1000
    assert value("loadcluster_class_users", {"user_class": "WebFormUser"}) == 571
    assert value("loadcluster_workers", {"state": "running"}) == 2
    assert value("loadcluster_workers", {"state": "missing"}) == 1
    assert value("loadcluster_worker_cpu_ratio", {"worker": "1"}) == pytest.approx(0.97)
    assert value("loadcluster_worker_users", {"worker": "0"}) == 250
    assert value("loadcluster_current_failure_ratio") == pytest.approx(0.02)
    assert (
        value("loadcluster_run_info", {**{k: DOCUMENT["run"][k] for k in ("suite", "scenario", "run_id", "host")}}) == 1
    )
    assert value("loadcluster_stage_info", {"stage": "spike"}) == 1
    assert value("loadcluster_runner_state", {"state": "running"}) == 1
    assert value("loadcluster_slo_threshold", {"slo": "p95_response_seconds"}) == 2.0
    assert value("loadcluster_slo_threshold", {"slo": "failure_ratio"}) == 0.01
    assert value("loadcluster_slo_threshold", {"slo": "min_rps"}) is None


def test_gone_endpoints_and_workers_do_not_linger() -> None:
    document = json.loads(json.dumps(DOCUMENT))
    registry = CollectorRegistry()
    registry.register(MasterCollector("http://master:8090", read=lambda _url: document))
    assert registry.get_sample_value("loadcluster_requests_total", FORM) == 10
    document["entries"] = document["entries"][1:]
    document["workers"] = []
    assert registry.get_sample_value("loadcluster_requests_total", FORM) is None
    assert registry.get_sample_value("loadcluster_worker_users", {**RUN, "worker": "0"}) is None


def test_every_series_carries_the_run_id_so_runs_never_add_up() -> None:
    registry = registry_for(DOCUMENT)
    samples = [sample for family in registry.collect() for sample in family.samples]
    assert {sample.name for sample in samples} >= {
        "loadcluster_requests_total",
        "loadcluster_response_time_seconds_bucket",
        "loadcluster_users",
        "loadcluster_worker_cpu_ratio",
        "loadcluster_slo_threshold",
        "loadcluster_exporter_scrape_errors_total",
    }
    assert {sample.labels.get("run_id") for sample in samples} == {DOCUMENT["run"]["run_id"]}

    later = json.loads(json.dumps(DOCUMENT))
    later["run"]["run_id"] = "customer-success-spike-20261123T101500Z"
    registry = registry_for(later)
    assert registry.get_sample_value("loadcluster_requests_total", FORM) is None  # the next run: new series
    assert registry.get_sample_value("loadcluster_requests_total", {**FORM, "run_id": later["run"]["run_id"]}) == 10


def test_an_unreadable_master_fails_the_scrape() -> None:
    def unreachable(_url: str) -> dict[str, Any]:
        raise ConnectionRefusedError("connection refused")

    collector = MasterCollector("http://master:8090", read=unreachable)
    registry = CollectorRegistry()
    registry.register(collector)
    with pytest.raises(RunFailed, match="cannot read the master at http://master:8090/stats"):
        generate_latest(registry)
    assert collector.scrape_errors == 1


def test_bucket_edges() -> None:
    assert histogram_buckets({})[-1] == ("+Inf", 0.0)
    assert histogram_buckets({"100": 1})[:9] == [
        ("0.001", 0),
        ("0.0025", 0),
        ("0.005", 0),
        ("0.01", 0),
        ("0.025", 0),
        ("0.05", 0),
        ("0.075", 0),
        ("0.1", 1),
        ("0.15", 1),
    ]


def test_bucket_keys_are_remembered_up_to_a_bound() -> None:
    index = _BucketIndex(limit=2)
    assert [index[ms] for ms in ("0", "1", "2", "100", "101", "60000", "60001")] == [0, 0, 1, 7, 8, 26, 27]
    assert len(index) == 2  # the rest were worked out each time, and still right


def awkward_document() -> dict[str, Any]:
    """The checked-in document and what the writers must get right beyond it: label values to escape,
    an endpoint without requests, keys out of order, on bucket edges and past 60 s, no stage."""
    document = json.loads(json.dumps(DOCUMENT))
    document["run"].update(stage=None, run_id='run "quoted" \\ back\nslash')
    document["entries"] += [
        {"method": "GET", "name": 'a"b\\c\nd', "requests": 0, "failures": 0, "response_time_sum_ms": 0,
         "response_times": {}},
        {"method": "", "name": "/big", "requests": 4_000_007, "failures": 0, "response_time_sum_ms": 1.5e12,
         "response_times": {"61000": 3, "0": 4_000_000, "60000": 1, "2": 2, "3": 1, "75": 0}},
    ]  # fmt: skip
    return document


def random_document(endpoints: int, seed: int) -> dict[str, Any]:
    """Endpoints with random Locust-rounded keys and counts, in random order."""
    rng = random.Random(seed)
    document = json.loads(json.dumps(DOCUMENT))
    keys = [*range(100), *range(100, 1000, 10), *range(1000, 10000, 100), *range(10000, 120001, 1000)]
    document["entries"] = [
        {"method": rng.choice(["GET", "POST"]), "name": f"/api/{index}/[id]", "requests": rng.randint(0, 10**9),
         "failures": rng.randint(0, 10), "response_time_sum_ms": rng.uniform(0, 1e9),
         "response_times": {str(ms): rng.randint(1, 10**7) for ms in rng.sample(keys, rng.randint(0, 300))}}
        for index in range(endpoints)
    ]  # fmt: skip
    return document


def without_scrape_duration(text: bytes) -> bytes:
    """The exposition without the one value that differs between two scrapes."""
    return re.sub(rb"(loadcluster_exporter_scrape_duration_seconds\{[^}]*\}) \S+", rb"\1 X", text)


@pytest.mark.parametrize(
    "document", [DOCUMENT, awkward_document(), random_document(50, seed=1)], ids=["checked-in", "awkward", "random"]
)
@pytest.mark.parametrize(
    "openmetrics, library", [(False, generate_latest), (True, generate_openmetrics)], ids=["text", "openmetrics"]
)
def test_the_scrape_writes_what_prometheus_client_writes(
    document: dict[str, Any], openmetrics: bool, library: Callable[[CollectorRegistry], bytes]
) -> None:
    """The collector writes a scrape's text itself (fast); prometheus_client's encoders over the same
    collector's families are the reference, byte for byte."""
    collector = MasterCollector("http://master:8090", read=lambda _url: document)
    registry = CollectorRegistry()
    registry.register(collector)
    assert without_scrape_duration(collector.exposition(openmetrics)) == without_scrape_duration(library(registry))


def test_the_histogram_holds_every_count_at_or_below_each_bound() -> None:
    """Every series of the scrape, parsed, against a histogram worked out here key by key: the counts of
    the keys at or below each bound. 32 series an endpoint (docs/metrics.md's cardinality budget)."""
    document = awkward_document()
    text = MasterCollector("http://master:8090", read=lambda _url: document).exposition(openmetrics=True).decode()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    run = ("run_id", document["run"]["run_id"])
    for entry in document["entries"]:
        labels = (("endpoint", entry["name"]), ("method", entry["method"]), run)
        times = {int(ms): count for ms, count in entry["response_times"].items()}
        expected = {
            ("loadcluster_requests_total", labels): entry["requests"],
            ("loadcluster_request_failures_total", labels): entry["failures"],
            ("loadcluster_response_time_seconds_count", labels): sum(times.values()),
            ("loadcluster_response_time_seconds_sum", labels): entry["response_time_sum_ms"] / 1000,
            **{
                ("loadcluster_response_time_seconds_bucket", tuple(sorted((*labels, ("le", le))))): sum(
                    count for ms, count in times.items() if ms <= bound * 1000
                )
                for le, bound in [*((str(bound), bound) for bound in BUCKETS_S), ("+Inf", float("inf"))]
            },
        }
        assert {key: samples[key] for key in samples if set(labels) <= set(key[1])} == pytest.approx(expected)
        assert len(expected) == 32
    assert {dict(key[1])["run_id"] for key in samples} == {document["run"]["run_id"]}


PROMETHEUS_SCRAPE = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/metrics",
    "QUERY_STRING": "",
    # What Prometheus 2.x sends: OpenMetrics first, and gzip.
    "HTTP_ACCEPT": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "HTTP_ACCEPT_ENCODING": "gzip",
}


def get(app: Callable[..., Any], **environ: str) -> tuple[str, dict[str, str], bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer.update(status=status, headers=dict(headers))

    body = b"".join(app({**PROMETHEUS_SCRAPE, **environ}, start_response))
    return answer["status"], answer["headers"], body


def test_the_app_answers_prometheus_in_openmetrics_gzipped() -> None:
    collector = MasterCollector("http://master:8090", read=lambda _url: DOCUMENT)
    status, headers, body = get(metrics_app(collector))
    assert status == "200 OK"
    assert headers == {
        "Content-Type": "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        "Content-Encoding": "gzip",
    }
    registry = CollectorRegistry()
    registry.register(collector)
    assert without_scrape_duration(gzip.decompress(body)) == without_scrape_duration(generate_openmetrics(registry))

    status, headers, body = get(metrics_app(collector), HTTP_ACCEPT="", HTTP_ACCEPT_ENCODING="")  # curl
    assert headers == {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    assert without_scrape_duration(body) == without_scrape_duration(generate_latest(registry))


def test_the_app_leaves_what_it_does_not_write_itself_to_prometheus_client() -> None:
    collector = MasterCollector("http://master:8090", read=lambda _url: DOCUMENT)
    registry = CollectorRegistry()
    registry.register(collector)
    app = metrics_app(collector)
    status, headers, body = get(app, HTTP_ACCEPT="text/plain;version=1.0.0;escaping=allow-utf-8")
    assert status == "200 OK"
    assert headers["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    expected = generate_latest(registry, escaping="allow-utf-8")
    assert without_scrape_duration(gzip.decompress(body)) == without_scrape_duration(expected)
    assert get(app, REQUEST_METHOD="POST")[0] == "405 Method Not Allowed"


def test_the_app_answers_503_when_the_master_cannot_be_read_and_401_without_the_token() -> None:
    def unreachable(_url: str) -> dict[str, Any]:
        raise ConnectionRefusedError("connection refused")

    collector = MasterCollector("http://master:8090", read=unreachable)
    status, _, body = get(metrics_app(collector))
    assert status == "503 Service Unavailable"
    assert body.startswith(b"cannot read the master at http://master:8090/stats")
    assert collector.scrape_errors == 1

    app = metrics_app(MasterCollector("http://master:8090", read=lambda _url: DOCUMENT), token="s3cret")
    assert get(app)[0] == "401 Unauthorized"
    assert get(app, HTTP_AUTHORIZATION="Bearer s3cret")[0] == "200 OK"


def bucket_bounds(seconds: float) -> tuple[float, float]:
    """The histogram bucket (lower, upper] holding `seconds`."""
    lower = 0.0
    for upper in BUCKETS_S:
        if seconds <= upper:
            return lower, upper
        lower = upper
    return lower, float("inf")


@pytest.mark.integration
@pytest.mark.xdist_group("heavy")
def test_a_real_prometheus_scrapes_a_real_run(start_prometheus, results_dir: Path, tmp_path: Path) -> None:
    exporter_port = free_port()
    prometheus = start_prometheus({"loadcluster": f"127.0.0.1:{exporter_port}"})
    result = loadcluster("run", "--scenario", "spike", "--time-scale", "0.05", "--metrics-port", str(exporter_port),
                         "--results", str(results_dir))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(next(results_dir.glob("*/summary.json")).read_text())

    # The counters' last values add up to the summary's total, endpoint rows only (no Aggregated twice).
    last = "last_over_time({}[5m])"
    assert prometheus.value(f"sum({last.format('loadcluster_requests_total')})") == summary["totals"]["requests"]
    assert prometheus.value("max_over_time(loadcluster_users[5m])") == 1000
    assert prometheus.value("max_over_time(loadcluster_workers{state='running'}[5m])") == 4

    # p95 over all endpoints from the histogram agrees with Locust's p95 within one bucket.
    p95 = prometheus.value(
        f"histogram_quantile(0.95, sum by (le) ({last.format('loadcluster_response_time_seconds_bucket')}))"
    )
    lower, upper = bucket_bounds(summary["totals"]["p95_response_ms"] / 1000)
    assert p95 is not None and lower <= p95 <= upper, (p95, summary["totals"]["p95_response_ms"])


@pytest.mark.integration
def test_the_exporter_answers_a_failed_scrape_when_the_master_is_down(tmp_path: Path) -> None:
    master_port, exporter_port = free_port(), free_port()  # nothing listens on master_port
    exporter = spawn(
        "exporter",
        [sys.executable, "-m", "loadcluster", "exporter", "--master-url", f"http://127.0.0.1:{master_port}",
         "--bind", "127.0.0.1", "--port", str(exporter_port)],
        os.environ, tmp_path / "exporter.log",
    )  # fmt: skip
    try:
        assert wait_for_port("127.0.0.1", exporter_port, 15, alive=exporter)
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(f"http://127.0.0.1:{exporter_port}/metrics", timeout=5)
        assert failed.value.code == 503
        assert "cannot read the master" in failed.value.read().decode()
    finally:
        terminate([exporter], 5)
    assert exporter.process.returncode == 0  # SIGTERM is a clean stop
