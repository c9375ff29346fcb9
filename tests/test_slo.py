import re
from dataclasses import fields

import pytest
from conftest import LOCUSTFILES, REPO

from loadcluster.catalogue import Thresholds
from loadcluster.errors import ConfigError, ExitCode
from loadcluster.slo import Verdict, evaluate, verdict

TOTALS = {"avg_response_ms": 120.0, "p95_response_ms": 450.0, "failure_rate_percent": 0.5, "rps": 80.0}


def test_all_thresholds_hold() -> None:
    checks = evaluate(Thresholds(500, 2000, 1, min_rps=50, min_users=100), TOTALS, peak_users=100)
    assert [c.passed for c in checks] == [True] * 5
    assert verdict(checks, requests=10, completed=True) is Verdict.PASSED


def test_each_breach_is_its_own_failed_check() -> None:
    checks = evaluate(Thresholds(100, 400, 0.5, min_rps=100, min_users=101), TOTALS, peak_users=100)
    assert [(c.name, c.passed) for c in checks] == [
        ("avg_response_ms", False),
        ("p95_response_ms", False),
        ("max_failure_percent", False),
        ("min_rps", False),
        ("min_users", False),
    ]
    assert verdict(checks, requests=10, completed=True) is Verdict.FAILED


def test_the_workers_cpu_is_checked_against_its_sustained_figure_when_asked() -> None:
    asked = Thresholds(max_worker_cpu_percent=90)
    (held,) = evaluate(asked, TOTALS, 1, worker_cpu_percent=89.9)
    (breached,) = evaluate(asked, TOTALS, 1, worker_cpu_percent=90)
    assert (held.name, held.description, held.threshold, held.actual, held.passed) == (
        "max_worker_cpu_percent",
        "workers' sustained CPU (% of a core) <",
        90,
        89.9,
        True,
    )
    assert not breached.passed and verdict([breached], requests=10, completed=True) is Verdict.FAILED
    # Not asked: a saturated generator is a warning in the summary, not a failed check.
    assert evaluate(Thresholds(), TOTALS, 1, worker_cpu_percent=100) == []
    # Not measured (the supervisor's fallback summary): nothing to check it against.
    assert evaluate(asked, TOTALS, 1, worker_cpu_percent=None) == []


def test_max_worker_cpu_percent_is_read_like_the_other_thresholds() -> None:
    assert Thresholds().merged({"max_worker_cpu_percent": 85}, "f.yaml: slo").max_worker_cpu_percent == 85
    for refused in (0, 150, "90", True):
        with pytest.raises(ConfigError, match=r"f.yaml: slo.max_worker_cpu_percent: expected a number greater than 0 "
                           r"and at most 100"):  # fmt: skip
            Thresholds().merged({"max_worker_cpu_percent": refused}, "f.yaml: slo")


def test_every_threshold_is_documented_in_the_catalogue_and_the_readme() -> None:
    """The shipped catalogue's `slo:` block lists every threshold (set, or commented out), and so does
    the README's SLO gate."""
    catalogue = (LOCUSTFILES / "scenarios.yaml").read_text()
    slo_block = catalogue.split("\nslo:\n")[1].split("\n\n")[0]
    readme_gate = (REPO / "README.md").read_text().split("## SLO gate\n")[1].split("\n## ")[0]
    for threshold in fields(Thresholds):
        assert re.search(rf"^  (# )?{threshold.name}: ", slo_block, re.MULTILINE), threshold.name
        assert f"`{threshold.name}`" in readme_gate, threshold.name


def test_unset_thresholds_are_not_checked() -> None:
    assert [c.name for c in evaluate(Thresholds(avg_response_ms=500), TOTALS, 1)] == ["avg_response_ms"]


def test_verdicts_map_to_distinct_exit_codes() -> None:
    assert verdict([], requests=0, completed=True) is Verdict.NO_TRAFFIC
    assert verdict([], requests=5, completed=False) is Verdict.INTERRUPTED
    assert Verdict.PASSED.exit_code == ExitCode.OK == 0
    assert Verdict.FAILED.exit_code == ExitCode.SLO_FAILED
    assert Verdict.INTERRUPTED.exit_code == Verdict.NO_TRAFFIC.exit_code == ExitCode.RUN_FAILED
    assert len({ExitCode.OK, ExitCode.SLO_FAILED, ExitCode.RUN_FAILED}) == 3
