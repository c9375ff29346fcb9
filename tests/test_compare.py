import pytest

from loadcluster.compare import compare, comparison_table, parse_tolerances
from loadcluster.errors import ConfigError


def summary(p95: float, rps: float, failures: float = 0.0) -> dict:
    figures = {
        "avg_response_ms": p95 / 3,
        "p95_response_ms": p95,
        "p99_response_ms": p95 * 2,
        "failure_rate_percent": failures,
        "rps": rps,
    }
    return {"totals": figures, "endpoints": [{"method": "GET", "name": "/health", **figures}]}


def test_p95_beyond_its_tolerance_is_a_regression() -> None:
    changes = compare(summary(100, 50), summary(111, 50), parse_tolerances("p95=10"))
    p95 = next(c for c in changes if c.scope == "Total" and c.metric == "p95")
    assert p95.relative_percent == pytest.approx(11)
    assert p95.breached
    assert [c for c in changes if c.breached] == [p95]  # endpoints are shown, not gated


def test_within_tolerance_or_better_passes() -> None:
    assert not any(c.breached for c in compare(summary(100, 50), summary(109, 50), parse_tolerances("p95=10")))
    assert not any(c.breached for c in compare(summary(100, 50), summary(50, 90), parse_tolerances("p95=1,rps=1")))


def test_lower_throughput_is_worse() -> None:
    changes = compare(summary(100, 100), summary(100, 80), parse_tolerances("rps=10"))
    assert [c.metric for c in changes if c.breached] == ["rps"]


def test_new_failures_from_zero_are_a_regression_when_gated() -> None:
    changes = compare(summary(100, 50, 0), summary(100, 50, 2), parse_tolerances("failures=50"))
    assert [c.metric for c in changes if c.breached] == ["failures"]
    assert "new" in comparison_table(changes)


def test_bad_tolerances_are_named() -> None:
    with pytest.raises(ConfigError, match="unknown metric 'p59'.*did you mean 'p99'"):
        parse_tolerances("p59=10")
    with pytest.raises(ConfigError, match="tolerance for p95 'ten'"):
        parse_tolerances("p95=ten")
