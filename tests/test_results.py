"""summary.json and junit.xml from real Locust stats objects (filled in-process, no load sent)."""

import os
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import LOCUSTFILES

from loadcluster import options
from loadcluster.errors import ConfigError
from loadcluster.plan import build_plan
from loadcluster.results import read_summary, summarize, write_junit, write_summary

# Locust monkey-patches the importing process with gevent unless told not to; this test process
# only needs the stats classes.
os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
from locust.stats import RequestStats  # noqa: E402

del os.environ["LOCUST_SKIP_MONKEY_PATCH"]


def filled_stats() -> RequestStats:
    stats = RequestStats()
    for ms in range(1, 101):  # 1..100 ms on one endpoint
        stats.log_request("POST", "/api/v1/support/form", ms, 10)
    for _ in range(50):
        stats.log_request("GET", "/health", 5, 2)
    for _ in range(10):
        stats.log_error("GET", "/health", RuntimeError("boom"))
    return stats


def test_summary_overall_and_per_endpoint() -> None:
    plan = build_plan(options.settings(options.Verb.RUN, {"locustfile": str(LOCUSTFILES), "scenario": "smoke"}, {}))
    summary = summarize(
        filled_stats(),
        plan,
        started_at=1000.0,
        ended_at=1010.0,
        peak_users=10,
        peak_reached_at_s=5.0,
        workers_seen=2,
        completed=True,
    )
    totals = summary["totals"]
    assert (totals["requests"], totals["failures"], totals["rps"], totals["duration_s"]) == (150, 10, 15.0, 10.0)
    assert totals["failure_rate_percent"] == pytest.approx(100 * 10 / 150, abs=1e-3)
    assert totals["success_rate_percent"] == pytest.approx(100 - 100 * 10 / 150, abs=1e-3)
    form = next(e for e in summary["endpoints"] if e["name"] == "/api/v1/support/form")
    assert (form["requests"], form["avg_response_ms"], form["p95_response_ms"], form["p99_response_ms"]) == (
        100,
        50.5,
        96,
        100,  # Locust takes the sample at the ceiling of the rank
    )
    assert summary["errors"] == [{"method": "GET", "name": "/health", "error": "boom", "occurrences": 10}]
    # 6.7 % failures breach the 1 % SLO
    assert summary["slo"]["verdict"] == "failed"
    assert [c["name"] for c in summary["slo"]["checks"] if not c["passed"]] == ["max_failure_percent"]
    assert summary["run"]["scenario"] == "smoke" and summary["users"]["peak"] == 10


def test_files_round_trip_and_junit_names_the_failed_threshold(tmp_path: Path) -> None:
    plan = build_plan(options.settings(options.Verb.RUN, {"locustfile": str(LOCUSTFILES), "scenario": "smoke"}, {}))
    summary = summarize(
        filled_stats(),
        plan,
        started_at=0.0,
        ended_at=10.0,
        peak_users=10,
        peak_reached_at_s=None,
        workers_seen=2,
        completed=True,
    )
    write_summary(tmp_path, summary)
    assert read_summary(tmp_path) == summary
    suite = ElementTree.parse(write_junit(tmp_path, summary)).getroot()
    assert suite.get("failures") == "1" and suite.get("errors") == "0"
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["max_failure_percent"]


def test_reading_something_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no run results at"):
        read_summary(tmp_path)
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(ConfigError, match="is not a loadcluster summary"):
        read_summary(tmp_path)
