"""The exporter's metrics: from a checked-in master document, then from a real run scraped by a real
Prometheus (Debian's package; CI installs it)."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, loadcluster
from prometheus_client import CollectorRegistry, generate_latest

from loadcluster.errors import RunFailed
from loadcluster.exporter import BUCKETS_S, MasterCollector, histogram_buckets
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
