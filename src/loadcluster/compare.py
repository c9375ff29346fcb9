"""Compare two runs' summaries: what differs between the runs, then every metric overall and per
endpoint with its relative change, and a tolerance gate that does not call noise a regression.

What differs: suite/scenario, host, users, workers (planned and connected), spawn rate, planned
duration, time scale, actual duration (when it differs by more than 5 %), runtime (only if the
summary records one), locustfiles, user classes, tags and excluded tags. A different host or number
of users is a warning: the comparison may not mean what you think, but it is still made.

The gate. Only the overall figures are gated (an endpoint's are shown). A metric that worsens beyond
its tolerance is a REGRESSION (exit 4) only when the two runs hold enough evidence for it:

==========  ==========================================================================================
metric      needed on each side, else INCONCLUSIVE
==========  ==========================================================================================
avg         100 requests
p95         400 requests: 20 of them above the 95th percentile (from 18 requests, p95 is the slowest one)
p99         2,000 requests: 20 of them above the 99th percentile
rps         100 requests and 30 s of run (start-up and drain weigh too much in a shorter run)
failures    a two-proportion z-test: the current failure rate is higher with z >= 1.96 (95 %
            confidence), and the current run has at least 5 failures
==========  ==========================================================================================

Locust stores response times rounded: to 1 ms below 100 ms, to 10 ms below 1 s, to 100 ms below
10 s, to 1 s above. A percentile that moves by less than one such step plus 1 ms (step of the larger
of the two values) did not measurably move: 5 -> 6 ms or 110 -> 120 ms is "within resolution", not
a regression, however many requests there are. The average is computed from unrounded times.

INCONCLUSIVE and "within resolution" exit 0, with one line per metric saying why. The minimum counts
keep a handful of requests from deciding; they do not make a tight tolerance meaningful on a service
whose response times swing from run to run: set tolerances above the spread of two identical runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from loadcluster.console import table
from loadcluster.errors import ConfigError, did_you_mean
from loadcluster.units import format_duration, parse_positive


class Better(StrEnum):
    LOWER = "lower"
    HIGHER = "higher"


class Verdict(StrEnum):
    OK = ""  # within its tolerance, better, or not gated
    REGRESSION = "REGRESSION"
    INCONCLUSIVE = "INCONCLUSIVE"
    WITHIN_RESOLUTION = "within resolution"


# metric alias -> (summary key, which direction is an improvement)
METRICS: dict[str, tuple[str, Better]] = {
    "avg": ("avg_response_ms", Better.LOWER),
    "p95": ("p95_response_ms", Better.LOWER),
    "p99": ("p99_response_ms", Better.LOWER),
    "failures": ("failure_rate_percent", Better.LOWER),
    "rps": ("rps", Better.HIGHER),
}

# Requests each run needs before a change of the metric counts; percentiles: 20 above the percentile.
MIN_REQUESTS: dict[str, int] = {"avg": 100, "p95": 400, "p99": 2000, "rps": 100}
TAIL_REQUESTS = 20
PERCENTILES: dict[str, int] = {"p95": 95, "p99": 99}
MIN_DURATION_S = 30.0  # rps
MIN_FAILURES = 5  # failures: in the current run
Z_CRITICAL = 1.96  # failures: 95 % confidence
ACTUAL_DURATION_DIFFERS = 0.05  # the actual durations are shown as a difference beyond 5 %


def resolution_ms(value: float) -> int:
    """The step Locust rounds a response time of `value` ms to (its stats buckets)."""
    if value < 100:
        return 1
    if value < 1_000:
        return 10
    if value < 10_000:
        return 100
    return 1_000


@dataclass(frozen=True)
class Sample:
    """What a run's figures were computed from."""

    requests: int
    failures: int
    duration_s: float


@dataclass(frozen=True)
class Change:
    scope: str
    metric: str
    baseline: float
    current: float
    tolerance_percent: float | None
    baseline_sample: Sample = Sample(0, 0, 0.0)
    current_sample: Sample = Sample(0, 0, 0.0)

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
        """Worse than its tolerance allows, before asking whether the runs can tell."""
        return self.tolerance_percent is not None and self.worse_percent > self.tolerance_percent

    @property
    def verdict(self) -> Verdict:
        return self._judged()[0]

    @property
    def reason(self) -> str:
        """Why a breach is inconclusive or within resolution ('' otherwise)."""
        return self._judged()[1]

    @property
    def shown_change(self) -> str:
        return f"{self.relative_percent:+.1f}%" if math.isfinite(self.relative_percent) else "new"

    def _judged(self) -> tuple[Verdict, str]:
        if not self.breached:
            return Verdict.OK, ""
        short = self._evidence_lacking()
        if short:
            return Verdict.INCONCLUSIVE, short
        if self.metric in PERCENTILES:
            step = resolution_ms(max(self.baseline, self.current))
            if abs(self.current - self.baseline) < step + 1:
                return Verdict.WITHIN_RESOLUTION, (
                    f"{self.baseline:g} -> {self.current:g} ms is less than Locust's {step} ms rounding step "
                    f"at that value plus 1 ms"
                )
        return Verdict.REGRESSION, ""

    def _evidence_lacking(self) -> str:
        """'' when both runs hold enough evidence for this metric's change, else why not."""
        base, cur = self.baseline_sample, self.current_sample
        if self.metric == "failures":
            return _failures_lacking(base, cur)
        needed = MIN_REQUESTS[self.metric]
        reasons = []
        short = [(name, s.requests) for name, s in (("the baseline", base), ("the current run", cur))]
        short = [(name, n) for name, n in short if n < needed]
        if short:
            having = " and ".join(f"{n:,} requests in {name}" for name, n in short)
            why = (
                f" ({TAIL_REQUESTS} above the {PERCENTILES[self.metric]}th percentile)"
                if self.metric in PERCENTILES
                else ""
            )
            reasons.append(f"{having}, at least {needed:,} needed on each side{why}")
        if self.metric == "rps":
            brief = [(name, s.duration_s) for name, s in (("the baseline", base), ("the current run", cur))]
            brief = [(name, d) for name, d in brief if d < MIN_DURATION_S]
            if brief:
                lasted = " and ".join(f"{name} lasted {d:g}s" for name, d in brief)
                reasons.append(f"{lasted}, at least {MIN_DURATION_S:g}s needed on each side")
        return "; ".join(reasons)


def _failures_lacking(base: Sample, cur: Sample) -> str:
    counts = f"{base.failures:,} of {base.requests:,} -> {cur.failures:,} of {cur.requests:,} requests failed"
    if cur.failures < MIN_FAILURES:
        return f"{counts}: at least {MIN_FAILURES} failures in the current run needed"
    z = two_proportion_z(base.failures, base.requests, cur.failures, cur.requests)
    if z < Z_CRITICAL:
        return f"{counts}: within chance (two-proportion z = {z:.2f}, at least {Z_CRITICAL:g} needed)"
    return ""


def two_proportion_z(failures_a: int, requests_a: int, failures_b: int, requests_b: int) -> float:
    """z of 'b fails more often than a', with the pooled failure rate; 0 when a side made no request."""
    if requests_a <= 0 or requests_b <= 0:
        return 0.0
    rate_a, rate_b = failures_a / requests_a, failures_b / requests_b
    pooled = (failures_a + failures_b) / (requests_a + requests_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / requests_a + 1 / requests_b))
    if spread == 0:
        return 0.0 if rate_a == rate_b else math.copysign(math.inf, rate_b - rate_a)
    return (rate_b - rate_a) / spread


def parse_tolerances(spec: str) -> dict[str, float]:
    """'p95=10,rps=5' -> {'p95': 10.0, 'rps': 5.0}: the worsening allowed, in percent."""
    tolerances: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        metric, _, value = item.partition("=")
        if metric not in METRICS:
            raise ConfigError(f"unknown metric '{metric}' in tolerance '{item}', {did_you_mean(metric, METRICS)}")
        tolerances[metric] = parse_positive(value, what=f"tolerance for {metric}")
    return tolerances


def check_summary(summary: Mapping[str, Any], which: str) -> None:
    """ConfigError naming `which` summary and the first figure it lacks (what compare reads)."""
    needed = ["requests", *(key for key, _ in METRICS.values())]
    totals = summary.get("totals")
    if not isinstance(totals, Mapping):
        raise ConfigError(f"the {which} summary has no totals: it must be a loadcluster summary.json")
    endpoints = summary.get("endpoints", [])
    if not isinstance(endpoints, list) or not all(isinstance(e, Mapping) for e in endpoints):
        raise ConfigError(f"the {which} summary's endpoints are not a list of endpoints")
    for scope, figures in [("totals", totals), *((f"endpoint {e.get('name')!r}", e) for e in endpoints)]:
        for key in needed:
            value = figures.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(
                    f"the {which} summary's {scope} has {key} {value!r}: it must be a number (a loadcluster summary)"
                )


def _sample(figures: Mapping[str, Any]) -> Sample:
    requests = int(figures["requests"])
    failures = figures.get("failures")
    if not isinstance(failures, int):
        failures = round(requests * figures["failure_rate_percent"] / 100)
    duration = figures.get("duration_s")
    if not isinstance(duration, int | float):
        duration = requests / figures["rps"] if figures["rps"] else 0.0
    return Sample(requests, failures, float(duration))


def compare(baseline: Mapping[str, Any], current: Mapping[str, Any], tolerances: Mapping[str, float]) -> list[Change]:
    """Changes overall (gated by the tolerances) and per endpoint present in both (shown, not gated:
    an endpoint with a handful of requests is too noisy to fail a build on)."""
    check_summary(baseline, "baseline")
    check_summary(current, "current")

    def changes_of(scope: str, before: Mapping[str, Any], after: Mapping[str, Any], gated: bool) -> list[Change]:
        samples = _sample(before), _sample(after)
        return [
            Change(scope, metric, before[key], after[key], tolerances.get(metric) if gated else None, *samples)
            for metric, (key, _) in METRICS.items()
        ]

    changes = changes_of("Total", baseline["totals"], current["totals"], gated=True)
    current_endpoints = {(e.get("method"), e.get("name")): e for e in current.get("endpoints", [])}
    for endpoint in baseline.get("endpoints", []):
        other = current_endpoints.get((endpoint.get("method"), endpoint.get("name")))
        if other is not None:
            changes += changes_of(f"{endpoint.get('method')} {endpoint.get('name')}", endpoint, other, gated=False)
    return changes


def comparison_table(changes: list[Change]) -> str:
    rows = [
        [
            c.scope,
            c.metric,
            c.baseline,
            c.current,
            c.shown_change,
            "-" if c.tolerance_percent is None else f"{c.tolerance_percent:g}%",
            c.verdict.value,
        ]
        for c in changes
    ]
    return table(["Scope", "Metric", "Baseline", "Current", "Change", "Tolerance", "Verdict"], rows)


def verdict_lines(changes: Sequence[Change]) -> list[str]:
    """The closing lines: regressions, then why the other breaches do not count."""
    lines = []
    regressions = [c for c in changes if c.verdict is Verdict.REGRESSION]
    if regressions:
        lines.append(f"Regression beyond tolerance: {', '.join(f'{c.metric} {c.shown_change}' for c in regressions)}")
    else:
        lines.append("No regression beyond tolerance")
    inconclusive = [c for c in changes if c.verdict is Verdict.INCONCLUSIVE]
    if inconclusive:
        lines.append(
            "Inconclusive, not counted as a regression (too few requests to tell; run longer or with more users):"
        )
        lines += [f"  {c.metric} {c.shown_change}: {c.reason}" for c in inconclusive]
    unmeasurable = [c for c in changes if c.verdict is Verdict.WITHIN_RESOLUTION]
    if unmeasurable:
        lines.append("Within resolution, not counted as a regression:")
        lines += [f"  {c.metric} {c.shown_change}: {c.reason}" for c in unmeasurable]
    return lines


# --- what differs between the two runs ---------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    what: str
    baseline: str
    current: str
    warning: str = ""

    @property
    def line(self) -> str:
        text = f"{self.what}: {self.baseline} -> {self.current}"
        return f"warning: {text} ({self.warning})" if self.warning else text


_NOT_RECORDED = "not recorded"
_COMPLETED = ("passed", "failed")


def _listed(values: Any) -> str:
    if values is None:
        return _NOT_RECORDED
    return ", ".join(str(v) for v in values) if values else "none"


def _text(value: Any) -> str:
    return str(value) if value else _NOT_RECORDED


def _number(value: Any) -> str:
    if value is None:
        return _NOT_RECORDED
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _rate(value: Any) -> str:
    return f"{value:g}/s" if isinstance(value, int | float) else _text(value)


def _duration(value: Any) -> str:
    return format_duration(value) if isinstance(value, int | float) else _text(value)


_DIFFERENT = "the comparison may not mean what you think"
# label, key in the summary's "run", how a value is shown, the warning a difference deserves
_SETUP: list[tuple[str, str, Callable[[Any], str], str]] = [
    ("host", "host", _text, f"a different target: {_DIFFERENT}"),
    ("users", "users", _number, f"a different load: {_DIFFERENT}"),
    ("workers", "workers", _number, ""),
    ("spawn rate", "spawn_rate", _rate, ""),
    ("planned duration", "planned_duration_s", _duration, ""),
    ("time scale", "time_scale", _number, ""),
    ("runtime", "runtime", _text, ""),  # shown only where a summary records it
    ("locustfiles", "locustfiles", _listed, ""),
    ("user classes", "user_classes", _listed, ""),
    ("tags", "tags", _listed, ""),
    ("excluded tags", "exclude_tags", _listed, ""),
]


def differences(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[Difference]:
    """How the two runs were set up differently, one Difference per field (none: comparable)."""
    before: Mapping[str, Any] = baseline.get("run") or {}
    after: Mapping[str, Any] = current.get("run") or {}
    found: list[Difference] = []
    scenarios = [f"{r.get('suite', '?')}/{r.get('scenario', '?')}" if r else _NOT_RECORDED for r in (before, after)]
    if scenarios[0] != scenarios[1]:
        found.append(Difference("suite/scenario", scenarios[0], scenarios[1]))
    for label, key, shown, warning in _SETUP:
        if key == "runtime" and key not in before and key not in after:
            continue
        old, new = shown(before.get(key)), shown(after.get(key))
        if old != new:
            found.append(Difference(label, old, new, warning))
    seen = [(s.get("users") or {}).get("workers_seen") for s in (baseline, current)]
    if seen[0] != seen[1]:
        found.append(Difference("workers connected", _number(seen[0]), _number(seen[1])))
    durations = [(s.get("totals") or {}).get("duration_s") for s in (baseline, current)]
    actual = [float(d) for d in durations if isinstance(d, int | float) and d > 0]
    if len(actual) == 2 and abs(actual[0] - actual[1]) > ACTUAL_DURATION_DIFFERS * max(actual):
        found.append(Difference("actual duration", f"{actual[0]:.1f}s", f"{actual[1]:.1f}s"))
    return found


def unfinished_runs(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """A warning per run that did not complete (interrupted, incomplete, no traffic)."""
    warnings = []
    for which, summary in (("baseline", baseline), ("current", current)):
        verdict = (summary.get("slo") or {}).get("verdict")
        if verdict is not None and verdict not in _COMPLETED:
            why = summary.get("incomplete") or summary.get("interrupted")
            told = f"{verdict}: {why}" if why else verdict
            warnings.append(f"warning: the {which} run did not complete ({told}): its figures are not a whole run's")
    return warnings


def setup_lines(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The lines printed before the table: each run in one line, then what differs between them."""
    lines = [f"Baseline: {_described(baseline)}", f"Current:  {_described(current)}", ""]
    found = differences(baseline, current)
    if not baseline.get("run") or not current.get("run"):
        missing = [w for w, s in (("baseline", baseline), ("current", current)) if not s.get("run")]
        whose = "Neither summary records its" if len(missing) == 2 else f"The {missing[0]} summary records no"
        lines.append(f"{whose} run setup: whether the runs are comparable is unknown")
    elif not found:
        lines.append(
            "The runs are comparable: same suite/scenario, host, users, workers, spawn rate, duration, "
            "locustfiles, user classes and tags"
        )
    if found:
        lines.append("Differences between the runs:")
        lines += [f"  {d.line}" for d in found]
    lines += unfinished_runs(baseline, current)
    lines += saturated_generators(baseline, current)
    return lines


def saturated_generators(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """A warning per run whose load generator was CPU-bound: its latencies measured the workers."""
    warnings = []
    for which, summary in (("baseline", baseline), ("current", current)):
        generator = summary.get("generator") or {}
        if generator.get("saturated"):
            warnings.append(
                f"warning: the {which} run's load generator was saturated (busiest worker "
                f"{generator.get('sustained_cpu_percent')} % of a core): its latencies are the generator's"
            )
    return warnings


def _described(summary: Mapping[str, Any]) -> str:
    run, totals = summary.get("run") or {}, summary["totals"]
    duration = totals.get("duration_s")
    figures = f"{totals['requests']:,} requests" + (f" in {duration:g}s" if isinstance(duration, int | float) else "")
    if not run:
        return figures
    return f"{run.get('suite', '?')}/{run.get('scenario', '?')} started {run.get('started_at', '?')}, {figures}"
