from loadcluster.catalogue import Thresholds
from loadcluster.errors import ExitCode
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


def test_unset_thresholds_are_not_checked() -> None:
    assert [c.name for c in evaluate(Thresholds(avg_response_ms=500), TOTALS, 1)] == ["avg_response_ms"]


def test_verdicts_map_to_distinct_exit_codes() -> None:
    assert verdict([], requests=0, completed=True) is Verdict.NO_TRAFFIC
    assert verdict([], requests=5, completed=False) is Verdict.INTERRUPTED
    assert Verdict.PASSED.exit_code == ExitCode.OK == 0
    assert Verdict.FAILED.exit_code == ExitCode.SLO_FAILED
    assert Verdict.INTERRUPTED.exit_code == Verdict.NO_TRAFFIC.exit_code == ExitCode.RUN_FAILED
    assert len({ExitCode.OK, ExitCode.SLO_FAILED, ExitCode.RUN_FAILED}) == 3
