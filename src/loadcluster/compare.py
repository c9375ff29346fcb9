"""Compare two runs' summaries: overall and per endpoint, with relative change and a tolerance gate."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from loadcluster.console import table
from loadcluster.errors import ConfigError, did_you_mean
from loadcluster.units import parse_positive


class Better(StrEnum):
    LOWER = "lower"
    HIGHER = "higher"


# metric alias -> (summary key, which direction is an improvement)
METRICS: dict[str, tuple[str, Better]] = {
    "avg": ("avg_response_ms", Better.LOWER),
    "p95": ("p95_response_ms", Better.LOWER),
    "p99": ("p99_response_ms", Better.LOWER),
    "failures": ("failure_rate_percent", Better.LOWER),
    "rps": ("rps", Better.HIGHER),
}


@dataclass(frozen=True)
class Change:
    scope: str
    metric: str
    baseline: float
    current: float
    tolerance_percent: float | None

    @property
    def relative_percent(self) -> float:
        if self.baseline == 0:
            return 0.0 if self.current == 0 else math.inf
        return 100.0 * (self.current - self.baseline) / self.baseline

    @property
    def worse_percent(self) -> float:
        """How much worse, in percent of the baseline (negative: better)."""
        sign = 1 if METRICS[self.metric][1] is Better.LOWER else -1
        return sign * self.relative_percent

    @property
    def breached(self) -> bool:
        return self.tolerance_percent is not None and self.worse_percent > self.tolerance_percent


def parse_tolerances(spec: str) -> dict[str, float]:
    """'p95=10,rps=5' -> {'p95': 10.0, 'rps': 5.0}: the worsening allowed, in percent."""
    tolerances: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        metric, _, value = item.partition("=")
        if metric not in METRICS:
            raise ConfigError(f"unknown metric '{metric}' in tolerance '{item}', {did_you_mean(metric, METRICS)}")
        tolerances[metric] = parse_positive(value, what=f"tolerance for {metric}")
    return tolerances


def compare(baseline: Mapping[str, Any], current: Mapping[str, Any], tolerances: Mapping[str, float]) -> list[Change]:
    """Changes overall (gated by the tolerances) and per endpoint present in both (shown, not gated:
    an endpoint with a handful of requests is too noisy to fail a build on)."""
    changes = [
        Change("Total", metric, baseline["totals"][key], current["totals"][key], tolerances.get(metric))
        for metric, (key, _) in METRICS.items()
    ]
    current_endpoints = {(e["method"], e["name"]): e for e in current["endpoints"]}
    for endpoint in baseline["endpoints"]:
        other = current_endpoints.get((endpoint["method"], endpoint["name"]))
        if other is not None:
            scope = f"{endpoint['method']} {endpoint['name']}"
            changes += [Change(scope, m, endpoint[k], other[k], None) for m, (k, _) in METRICS.items()]
    return changes


def comparison_table(changes: list[Change]) -> str:
    rows = [
        [
            c.scope,
            c.metric,
            c.baseline,
            c.current,
            f"{c.relative_percent:+.1f}%" if math.isfinite(c.relative_percent) else "new",
            "-" if c.tolerance_percent is None else f"{c.tolerance_percent:g}%",
            "REGRESSION" if c.breached else "",
        ]
        for c in changes
    ]
    return table(["Scope", "Metric", "Baseline", "Current", "Change", "Tolerance", ""], rows)
