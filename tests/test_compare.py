"""`loadcluster compare`: what differs between two runs, and a gate that does not call noise a regression."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from loadcluster.compare import (
    Change,
    Verdict,
    compare,
    comparison_table,
    differences,
    parse_tolerances,
    resolution_ms,
    setup_lines,
    two_proportion_z,
)
from loadcluster.errors import ConfigError

RUN: dict[str, Any] = {
    "suite": "customer-success",
    "scenario": "smoke",
    "description": "Quick check that every endpoint answers",
    "host": "http://127.0.0.1:8080",
    "locustfiles": ["/repo/locust/customer_success.py"],
    "user_classes": [],
    "tags": [],
    "exclude_tags": [],
    "workers": 2,
    "users": 10,
    "spawn_rate": 2.0,
    "planned_duration_s": 60.0,
    "time_scale": 1.0,
    "stages": [{"name": "ramp-and-hold", "start_s": 0.0, "end_s": 60.0, "users": 10}],
    "started_at": "2026-11-25T15:19:17+00:00",
    "ended_at": "2026-11-25T15:20:18+00:00",
}


def summary(
    p95: float = 100,
    rps: float = 50,
    failures: float = 0.0,
    *,
    requests: int = 10_000,
    duration_s: float = 200.0,
    avg: float | None = None,
    **run: Any,
) -> dict[str, Any]:
    """A summary.json in the format of results.summarize: one endpoint holding every request."""
    figures = {
        "requests": requests,
        "failures": round(requests * failures / 100),
        "failure_rate_percent": failures,
        "avg_response_ms": p95 / 3 if avg is None else avg,
        "median_response_ms": p95 / 4,
        "p95_response_ms": p95,
        "p99_response_ms": p95 * 2,
        "rps": rps,
        "duration_s": duration_s,
    }
    return {
        "schema": 1,
        "run": RUN | run,
        "totals": figures,
        "users": {"peak": (RUN | run)["users"], "peak_reached_at_s": 5.0, "workers_seen": (RUN | run)["workers"]},
        "endpoints": [{"method": "GET", "name": "/health", **figures}],
        "errors": [],
        "slo": {"thresholds": {}, "checks": [], "verdict": "passed"},
    }


def total(changes: list[Change], metric: str) -> Change:
    return next(c for c in changes if c.scope == "Total" and c.metric == metric)


def write(directory: Path, content: dict[str, Any]) -> Path:
    directory.mkdir()
    (directory / "summary.json").write_text(json.dumps(content))
    return directory


# --- the gate, with enough requests --------------------------------------------------------------
def test_p95_beyond_its_tolerance_is_a_regression() -> None:
    changes = compare(summary(100), summary(111), parse_tolerances("p95=10"))
    p95 = total(changes, "p95")
    assert p95.relative_percent == pytest.approx(11)
    assert p95.breached and p95.verdict is Verdict.REGRESSION
    assert [c for c in changes if c.breached] == [p95]  # endpoints are shown, not gated


def test_within_tolerance_or_better_passes() -> None:
    assert not any(c.breached for c in compare(summary(100), summary(109), parse_tolerances("p95=10")))
    assert not any(c.breached for c in compare(summary(100), summary(50, 90), parse_tolerances("p95=1,rps=1")))


def test_lower_throughput_is_worse() -> None:
    changes = compare(summary(100, 100), summary(100, 80), parse_tolerances("rps=10"))
    assert [c.metric for c in changes if c.verdict is Verdict.REGRESSION] == ["rps"]


def test_new_failures_from_zero_are_a_regression_when_gated() -> None:
    changes = compare(summary(100, 50, 0), summary(100, 50, 2), parse_tolerances("failures=50"))
    assert [c.metric for c in changes if c.verdict is Verdict.REGRESSION] == ["failures"]
    assert "new" in comparison_table(changes)


def test_a_large_run_with_a_real_p95_regression_exits_4(tmp_path: Path) -> None:
    base = write(tmp_path / "base", summary(200, requests=20_000))
    worse = write(tmp_path / "worse", summary(260, requests=20_000))
    code, out = run_cli("compare", str(base), str(worse))
    assert code == 4, out
    assert "Regression beyond tolerance: p95 +30.0%" in out
    assert "REGRESSION" in next(line for line in out.splitlines() if line.startswith("Total") and " p95 " in line)
    assert "Inconclusive" not in out
    assert run_cli("compare", str(base), str(worse), "--tolerance", "p95=35")[0] == 0


# --- noise is not a regression -------------------------------------------------------------------
def test_two_identical_smoke_runs_with_p95_5_and_6_ms_are_not_a_regression(tmp_path: Path) -> None:
    """The report that started it: 18 requests each, p95 5 -> 6 ms, +20 %, was exit 4."""
    base = write(tmp_path / "base", summary(5, 0.3, requests=18, duration_s=60.2))
    current = write(tmp_path / "current", summary(6, 0.3, requests=18, duration_s=60.1))
    code, out = run_cli("compare", str(base), str(current))
    assert code == 0, out
    p95_row = next(line for line in out.splitlines() if line.startswith("Total") and " p95 " in line)
    assert "+20.0%" in p95_row and "INCONCLUSIVE" in p95_row and "REGRESSION" not in out
    assert "No regression beyond tolerance" in out
    assert (
        "p95 +20.0%: 18 requests in the baseline and 18 requests in the current run, at least 400 needed on each "
        "side (20 above the 95th percentile)"
    ) in out
    assert "The runs are comparable" in out


def test_a_one_step_move_of_a_percentile_is_within_resolution_however_many_requests() -> None:
    tolerances = parse_tolerances("p95=5")
    assert total(compare(summary(5), summary(6), tolerances), "p95").verdict is Verdict.WITHIN_RESOLUTION
    assert total(compare(summary(5), summary(7), tolerances), "p95").verdict is Verdict.REGRESSION
    # 10 ms steps from 100 ms to 1 s: one step is no measurable change, two are.
    assert total(compare(summary(110), summary(120), tolerances), "p95").verdict is Verdict.WITHIN_RESOLUTION
    assert total(compare(summary(100), summary(120), tolerances), "p95").verdict is Verdict.REGRESSION
    # Crossing into the 100 ms steps: the larger value's step applies.
    assert total(compare(summary(1000), summary(1100), tolerances), "p95").verdict is Verdict.WITHIN_RESOLUTION
    assert [resolution_ms(v) for v in (5, 99, 100, 999, 1000, 9999, 10000)] == [1, 1, 10, 10, 100, 100, 1000]


def test_percentiles_need_twenty_requests_above_them() -> None:
    tolerances = parse_tolerances("p95=10,p99=10")
    enough_for_p95 = compare(summary(100, requests=400), summary(150, requests=400), tolerances)
    assert total(enough_for_p95, "p95").verdict is Verdict.REGRESSION
    assert total(enough_for_p95, "p99").verdict is Verdict.INCONCLUSIVE
    assert "400 requests in the baseline and 400 requests in the current run, at least 2,000 needed" in (
        total(enough_for_p95, "p99").reason
    )
    one_side_short = total(compare(summary(100, requests=399), summary(150), tolerances), "p95")
    assert one_side_short.verdict is Verdict.INCONCLUSIVE
    assert one_side_short.reason.startswith("399 requests in the baseline, at least 400 needed")


def test_avg_and_rps_need_requests_and_rps_a_long_enough_run() -> None:
    tolerances = parse_tolerances("avg=10,rps=10")
    few = compare(summary(avg=10, requests=99), summary(avg=20, rps=20, requests=99), tolerances)
    assert total(few, "avg").verdict is Verdict.INCONCLUSIVE
    assert "at least 100 needed on each side" in total(few, "avg").reason
    short = total(compare(summary(100, 50, duration_s=20), summary(100, 20, duration_s=20), tolerances), "rps")
    assert short.verdict is Verdict.INCONCLUSIVE
    assert short.reason == "the baseline lasted 20s and the current run lasted 20s, at least 30s needed on each side"
    enough = compare(summary(avg=10, requests=100, duration_s=30), summary(avg=20, requests=100), tolerances)
    assert total(enough, "avg").verdict is Verdict.REGRESSION


def test_failure_rate_noise_on_few_requests_is_inconclusive(tmp_path: Path) -> None:
    tolerances = parse_tolerances("failures=10")
    # 0 of 18 -> 1 of 18: +inf %, but one failure.
    one = total(compare(summary(requests=18), summary(failures=100 / 18, requests=18), tolerances), "failures")
    assert one.breached and one.verdict is Verdict.INCONCLUSIVE
    assert one.reason == "0 of 18 -> 1 of 18 requests failed: at least 5 failures in the current run needed"
    # 10 -> 12 of 1,000: +20 %, within chance.
    chance = total(
        compare(summary(failures=1.0, requests=1000), summary(failures=1.2, requests=1000), tolerances), "failures"
    )
    assert chance.verdict is Verdict.INCONCLUSIVE
    assert "within chance (two-proportion z = 0.43, at least 1.96 needed)" in chance.reason
    # 0 -> 50 of 10,000 is not chance.
    real = total(compare(summary(failures=0), summary(failures=0.5), tolerances), "failures")
    assert real.verdict is Verdict.REGRESSION

    base = write(tmp_path / "base", summary(requests=18))
    current = write(tmp_path / "current", summary(failures=100 / 18, requests=18))
    code, out = run_cli("compare", str(base), str(current), "--tolerance", "failures=10")
    assert code == 0, out
    assert "Inconclusive, not counted as a regression" in out
    assert "failures new: 0 of 18 -> 1 of 18 requests failed" in out


def test_the_two_proportion_z_is_the_textbook_one() -> None:
    # pooled rate 0.011, standard error sqrt(0.011 * 0.989 * 2 / 1000) = 0.004665
    assert two_proportion_z(10, 1000, 12, 1000) == pytest.approx(0.002 / 0.0046648, rel=1e-4)
    assert two_proportion_z(0, 100, 0, 100) == 0
    assert two_proportion_z(0, 0, 5, 10) == 0


# --- what differs between the runs ---------------------------------------------------------------
def test_different_users_and_host_are_warning_lines_before_the_table(tmp_path: Path) -> None:
    base = write(tmp_path / "base", summary())
    other = summary(users=100, host="https://staging.example.com", spawn_rate=10.0, tags=["checkout"])
    other["totals"]["duration_s"] = 100.0
    current = write(tmp_path / "current", other)
    code, out = run_cli("compare", str(base), str(current))
    assert code == 0, out
    lines = out.splitlines()
    expected = [
        "  warning: host: http://127.0.0.1:8080 -> https://staging.example.com (a different target: the comparison "
        "may not mean what you think)",
        "  warning: users: 10 -> 100 (a different load: the comparison may not mean what you think)",
        "  spawn rate: 2/s -> 10/s",
        "  tags: none -> checkout",
        "  actual duration: 200.0s -> 100.0s",
    ]
    assert all(line in lines for line in expected), out
    assert lines.index("Differences between the runs:") < next(i for i, line in enumerate(lines) if "Scope" in line)
    assert "comparable" not in out


def test_every_setup_field_is_compared_and_runtime_only_where_recorded() -> None:
    base = summary()
    current = summary(
        suite="agent-mitra",
        scenario="peak",
        workers=4,
        planned_duration_s=300.0,
        time_scale=0.1,
        locustfiles=["/repo/locust/agent_mitra.py"],
        user_classes=["Agent"],
        exclude_tags=["slow"],
    )
    current["users"]["workers_seen"] = 3
    found = {d.what: d.line for d in differences(base, current)}
    assert found == {
        "suite/scenario": "suite/scenario: customer-success/smoke -> agent-mitra/peak",
        "workers": "workers: 2 -> 4",
        "planned duration": "planned duration: 1m -> 5m",
        "time scale": "time scale: 1 -> 0.1",
        "locustfiles": "locustfiles: /repo/locust/customer_success.py -> /repo/locust/agent_mitra.py",
        "user classes": "user classes: none -> Agent",
        "excluded tags": "excluded tags: none -> slow",
        "workers connected": "workers connected: 2 -> 3",
    }
    assert "runtime" not in found  # today's summaries do not record it: nothing is invented
    with_runtime = summary(runtime="compose")
    assert [d.line for d in differences(base, with_runtime)] == ["runtime: not recorded -> compose"]
    assert differences(base, summary()) == []


def test_an_unfinished_run_and_a_summary_without_setup_are_said() -> None:
    interrupted = summary() | {"interrupted": "stopped by Ctrl-C"}
    interrupted["slo"] = {"verdict": "interrupted"}
    lines = setup_lines(summary(), interrupted)
    assert (
        "warning: the current run did not complete (interrupted: stopped by Ctrl-C): its figures are not a whole run's"
    ) in lines
    bare = {"schema": 1, "totals": summary()["totals"], "endpoints": []}
    lines = setup_lines(bare, summary())
    assert lines[0] == "Baseline: 10,000 requests in 200s"
    assert "The baseline summary records no run setup: whether the runs are comparable is unknown" in lines


def test_a_saturated_generator_is_a_warning_for_that_run_only() -> None:
    saturated = summary() | {"generator": {"saturated": True, "sustained_cpu_percent": 97.5}}
    unknown = summary() | {"generator": {"saturated": None, "sustained_cpu_percent": None}}
    lines = setup_lines(unknown, saturated)
    assert [line for line in lines if "saturated" in line] == [
        "warning: the current run's load generator was saturated (busiest worker 97.5 % of a core): "
        "its latencies are the generator's"
    ]


# --- bad input -----------------------------------------------------------------------------------
def test_bad_tolerances_are_named() -> None:
    with pytest.raises(ConfigError, match="unknown metric 'p59'.*did you mean 'p99'"):
        parse_tolerances("p59=10")
    with pytest.raises(ConfigError, match="tolerance for p95 'ten'"):
        parse_tolerances("p95=ten")


def test_a_summary_missing_a_figure_is_one_line_naming_it(tmp_path: Path) -> None:
    broken = summary()
    del broken["totals"]["requests"]
    base = write(tmp_path / "base", summary())
    current = write(tmp_path / "current", broken)
    code, out = run_cli("compare", str(base), str(current))
    assert code == 2
    assert out.strip().splitlines() == [
        f"Error: the current ('{current}') summary's totals has requests None: it must be a number "
        "(a loadcluster summary)"
    ]
