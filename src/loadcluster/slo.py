"""The SLO gate: thresholds checked against a run's totals, and the verdict that sets the exit code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from loadcluster.catalogue import Thresholds
from loadcluster.errors import ExitCode


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # the run completed and an SLO was breached
    INTERRUPTED = "interrupted"  # stopped early (Ctrl-C, SIGTERM, a lost node): not a fair test
    NO_TRAFFIC = "no-traffic"  # not one request was made: nothing to judge
    INCOMPLETE = "incomplete"  # the master died: the figures are the last it served, not the run's

    @property
    def exit_code(self) -> ExitCode:
        return {
            Verdict.PASSED: ExitCode.OK,
            Verdict.FAILED: ExitCode.SLO_FAILED,
        }.get(self, ExitCode.RUN_FAILED)


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    threshold: float
    actual: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    thresholds: Thresholds,
    totals: Mapping[str, float],
    peak_users: int,
    *,
    worker_cpu_percent: float | None = None,
) -> list[Check]:
    """One Check per threshold that is set; `totals` uses the summary's keys.

    `worker_cpu_percent` is the busiest worker's sustained CPU (the summary's
    `generator.sustained_cpu_percent`). When it is unknown (nothing was sampled) the
    max_worker_cpu_percent check cannot be made and is left out; the summary's `generator.unknown`
    says why.
    """
    rows: list[tuple[str, str, float | None, Callable[[float, float], bool]]] = [
        ("avg_response_ms", "average response time (ms) <", totals["avg_response_ms"], _below),
        ("p95_response_ms", "95th percentile response time (ms) <", totals["p95_response_ms"], _below),
        ("max_failure_percent", "failure rate (%) <", totals["failure_rate_percent"], _below),
        ("min_rps", "throughput (requests/s) >=", totals["rps"], _at_least),
        ("min_users", "peak concurrent users >=", peak_users, _at_least),
        ("max_worker_cpu_percent", "workers' sustained CPU (% of a core) <", worker_cpu_percent, _below),
    ]
    checks = []
    for name, description, actual, holds in rows:
        threshold = getattr(thresholds, name)
        if threshold is not None and actual is not None:
            checks.append(Check(name, description, float(threshold), float(actual), holds(actual, threshold)))
    return checks


def verdict(checks: list[Check], *, requests: int, completed: bool) -> Verdict:
    if not completed:
        return Verdict.INTERRUPTED
    if requests == 0:
        return Verdict.NO_TRAFFIC
    return Verdict.PASSED if all(c.passed for c in checks) else Verdict.FAILED


def _below(actual: float, threshold: float) -> bool:
    return actual < threshold


def _at_least(actual: float, threshold: float) -> bool:
    return actual >= threshold
