"""summary.json and junit.xml from real Locust stats objects (filled in-process, no load sent)."""

import dataclasses
import json
import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from conftest import LOCUSTFILES

from loadcluster import options
from loadcluster.console import summary_report
from loadcluster.errors import ConfigError
from loadcluster.generator_cpu import CpuLedger, CpuSample, cpu_samples_from, generator_section, sustained_cpu_percent
from loadcluster.plan import RunPlan, build_plan
from loadcluster.results import read_summary, summarize, summarize_stats_document, write_junit, write_summary

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


# --- the generator's CPU ---------------------------------------------------------------------------
def smoke_plan(**thresholds: float) -> RunPlan:
    plan = build_plan(options.settings(options.Verb.RUN, {"locustfile": str(LOCUSTFILES), "scenario": "smoke"}, {}))
    return dataclasses.replace(plan, thresholds=dataclasses.replace(plan.thresholds, **thresholds))


def summary_with(generator: dict[str, Any], plan: RunPlan | None = None) -> dict[str, Any]:
    stats = RequestStats()
    for _ in range(100):
        stats.log_request("GET", "/health", 5, 2)
    return summarize(
        stats,
        plan or smoke_plan(),
        started_at=0.0,
        ended_at=10.0,
        peak_users=10,
        peak_reached_at_s=1.0,
        workers_seen=2,
        completed=True,
        generator=generator,
    )


def seconds_at(*percents: float) -> list[CpuSample]:
    return [(percent, 1.0) for percent in percents]


@pytest.mark.parametrize(
    ("samples", "sustained"),
    [
        (seconds_at(95), 95),
        (seconds_at(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 100),  # 1 s of 10 is a tenth
        (seconds_at(*[20] * 18, 95, 99), 95),  # 2 s of 20
        (seconds_at(*[20] * 19, 99), 20),  # 1 s of 20 is a spike
        ([(20.0, 1.0)] * 18 + [(97.0, 2.5)], 97),  # a sampler woken late: its 2.5 s count as 2.5 s
        ([(99.0, 1.0)] + [(30.0, 1.0)] * 11 + [(60.0, 1.0)] * 8, 60),
    ],
)
def test_sustained_is_the_level_held_for_a_tenth_of_the_sampled_seconds(
    samples: list[CpuSample], sustained: float
) -> None:
    assert sustained_cpu_percent(samples) == sustained


def test_the_generator_section_judges_each_worker_and_names_the_saturated() -> None:
    section = generator_section(
        {
            "worker-2": seconds_at(*[98] * 9, 40),  # a tenth of its seconds at 98 or more
            "worker-1": seconds_at(*[30] * 19, 100),  # one spike: not sustained
            "worker-3": seconds_at(*[85] * 9, 92),  # 1 s of 10 at 92: exactly a tenth
        }
    )
    assert section["workers"]["worker-1"] == {
        "samples": 20,
        "sampled_s": 20.0,
        "peak_cpu_percent": 100,
        "sustained_cpu_percent": 30,
    }
    assert (section["busiest_worker"], section["sustained_cpu_percent"], section["peak_cpu_percent"]) == (
        "worker-2",
        98,
        98,
    )
    assert section["saturated"] is True and section["saturated_workers"] == ["worker-2", "worker-3"]
    assert "unknown" not in section
    calm = generator_section({"worker-1": seconds_at(*[30] * 19, 100), "worker-2": seconds_at(89.9)})
    assert (calm["saturated"], calm["saturated_workers"], calm["busiest_worker"]) == (False, [], "worker-2")


def test_without_samples_saturation_is_unknown_not_false() -> None:
    section = generator_section({"worker-1": []})
    assert section["saturated"] is None and section["sustained_cpu_percent"] is None
    assert section["workers"] == {} and "not known" in section["unknown"]
    plan = smoke_plan(max_worker_cpu_percent=90)
    document = json.loads((Path(__file__).parent / "data" / "master_stats.json").read_text())
    fallback = summarize_stats_document(
        document, plan, peak_users=10, ended_at=document["run"]["started_at"] + 10, reason="died", interrupted=False
    )
    assert fallback["generator"]["saturated"] is None
    assert "last stats document" in fallback["generator"]["unknown"]
    # The threshold cannot be checked without samples: it is left out, and the section says why.
    assert "max_worker_cpu_percent" not in [c["name"] for c in fallback["slo"]["checks"]]
    assert "generator CPU: not measured (this summary was written from the master's last stats document" in (
        summary_report(fallback)
    )
    assert "WARNING" not in summary_report(fallback)


def test_reported_samples_are_read_defensively() -> None:
    assert cpu_samples_from([[99.5, 1.02], (3, 1)]) == [(99.5, 1.02), (3.0, 1.0)]
    assert cpu_samples_from(None) == cpu_samples_from("99") == cpu_samples_from({"a": 1}) == []
    assert cpu_samples_from([[1, 2, 3], ["x", 1], [5, 0], [-1, 1], [float("nan"), 1], 7, [50, 1]]) == [(50.0, 1.0)]


def test_a_saturated_generator_warns_in_the_console_and_the_junit_without_failing(tmp_path: Path) -> None:
    summary = summary_with(generator_section({"worker-1": seconds_at(*[99] * 8), "worker-2": seconds_at(12)}))
    assert summary["slo"]["verdict"] == "passed"
    report = summary_report(summary)
    assert "generator CPU: busiest worker worker-1 sustained 99 % of a core (peak 99 %, 8 s sampled)" in report
    warning = (
        "WARNING: the load generator was saturated: worker-1 at 99 % of a core (sustained; 90 % or more is "
        "saturated). Latencies are suspect: the generator, not the target, was the bottleneck; add workers or cores."
    )
    assert report.endswith(f"{warning}\nVerdict: PASSED")
    assert "worker-2" not in warning
    suite = ElementTree.parse(write_junit(tmp_path, summary)).getroot()
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["generator_saturated"] == "true"
    assert (properties["generator_sustained_cpu_percent"], properties["generator_busiest_worker"]) == (
        "99.0",
        "worker-1",
    )
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    (completed,) = (case for case in suite.iter("testcase") if case.get("name") == "run completed")
    assert [child.tag for child in completed] == ["system-err"]
    assert "Latencies are suspect" in (completed.findtext("system-err") or "")


def test_a_calm_generator_says_its_figure_and_no_warning(tmp_path: Path) -> None:
    summary = summary_with(generator_section({"worker-1": seconds_at(40, 45, 50)}))
    report = summary_report(summary)
    assert "generator CPU: busiest worker worker-1 sustained 50 % of a core (peak 50 %, 3 s sampled)" in report
    assert "WARNING" not in report
    suite = ElementTree.parse(write_junit(tmp_path, summary)).getroot()
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["generator_saturated"] == "false"
    assert suite.find("testcase/system-err") is None


def test_max_worker_cpu_percent_makes_saturation_a_failed_slo(tmp_path: Path) -> None:
    summary = summary_with(
        generator_section({"worker-1": seconds_at(*[95] * 5)}), smoke_plan(max_worker_cpu_percent=80)
    )
    assert summary["slo"]["verdict"] == "failed"
    assert summary["slo"]["thresholds"]["max_worker_cpu_percent"] == 80
    (check,) = (c for c in summary["slo"]["checks"] if not c["passed"])
    assert (check["name"], check["threshold"], check["actual"]) == ("max_worker_cpu_percent", 80, 95)
    assert "workers' sustained CPU (% of a core) <" in summary_report(summary)
    suite = ElementTree.parse(write_junit(tmp_path, summary)).getroot()
    failure = suite.find("testcase[@name='max_worker_cpu_percent']/failure")
    assert failure is not None and failure.get("message") == "workers' sustained CPU (% of a core) < 80: actual 95"


def test_a_summary_from_before_the_generator_section_still_prints() -> None:
    summary = summary_with(generator_section({}))
    del summary["generator"]
    assert "generator CPU" not in summary_report(summary) and "Verdict: PASSED" in summary_report(summary)


def test_the_master_tells_of_a_saturated_worker_once_it_has_enough_seconds_to_judge() -> None:
    ledger = CpuLedger()
    assert ledger.add("worker-1", [[100.0, 1.0]] * 3) is None  # a tenth of 3 s is its start-up
    assert ledger.add("worker-2", [[15.0, 1.0]] * 3) is None
    for _ in range(5):
        assert ledger.add("worker-1", [[100.0, 1.0]] * 3) is None
        assert ledger.add("worker-2", [[15.0, 1.0]] * 3) is None
    news = ledger.add("worker-1", [[97.5, 1.0], [98.0, 1.0], [99.0, 1.0]])  # 21 s sampled
    assert news == (
        "worker worker-1 is saturated: at or above 100 % of a core for a tenth of its 21s so far. Latencies are "
        "suspect: the generator, not the target, is the bottleneck; add workers or cores"
    )
    assert ledger.add("worker-1", [[100.0, 1.0]] * 3) is None  # said once
    assert ledger.add("worker-2", "garbage from another version") is None
    section = ledger.section()
    assert (section["saturated_workers"], section["workers"]["worker-1"]["samples"]) == (["worker-1"], 24)
    assert section["workers"]["worker-2"]["sustained_cpu_percent"] == 15
