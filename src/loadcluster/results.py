"""summary.json and junit.xml: a run's figures, thresholds and verdict, computed from the master's
in-memory stats at the very end of the run (Locust's CSVs may lag by a report interval).

The summary's `generator` section (the workers' own CPU) is built by `generator_cpu`.

This module does not import Locust: it reads the stats objects it is given by attribute.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from loadcluster import slo
from loadcluster.errors import ConfigError
from loadcluster.generator_cpu import generator_section, saturation_warning
from loadcluster.plan import RunPlan

if TYPE_CHECKING:
    from locust.stats import RequestStats, StatsEntry

SUMMARY_FILE = "summary.json"
JUNIT_FILE = "junit.xml"
SCHEMA_VERSION = 1


def run_dir_name(plan: RunPlan, started: datetime) -> str:
    return f"{plan.name}-{started.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def summarize(
    stats: RequestStats,
    plan: RunPlan,
    *,
    started_at: float,
    ended_at: float,
    peak_users: int,
    peak_reached_at_s: float | None,
    workers_seen: int,
    completed: bool,
    workers_lost: list[dict[str, Any]] | None = None,
    incomplete: str | None = None,
    runtime: str | None = None,
    generator: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`generator`: the section `generator_section` made of the workers' CPU samples (None: not measured)."""
    duration_s = max(ended_at - started_at, 1e-9)
    totals = _figures(stats.total, duration_s)
    generator = dict(generator) if generator is not None else generator_section({})
    checks = slo.evaluate(plan.thresholds, totals, peak_users, worker_cpu_percent=generator["sustained_cpu_percent"])
    verdict = slo.verdict(checks, requests=totals["requests"], completed=completed)
    if incomplete is not None:
        verdict = slo.Verdict.INCOMPLETE
    return {
        "schema": SCHEMA_VERSION,
        "run": {
            "suite": plan.suite,
            "scenario": plan.scenario,
            "description": plan.description,
            "host": plan.target_label,
            "locustfiles": [str(f) for f in plan.locustfiles.files],
            "user_classes": list(plan.user_classes),
            "tags": list(plan.tags),
            "exclude_tags": list(plan.exclude_tags),
            "workers": plan.workers,
            "users": plan.users,
            "spawn_rate": plan.spawn_rate,
            "planned_duration_s": plan.duration_s,
            "time_scale": plan.time_scale,
            "stages": [stage.__dict__ for stage in plan.stages],
            "started_at": _iso(started_at),
            "ended_at": _iso(ended_at),
            **({"runtime": runtime} if runtime else {}),
        },
        "totals": totals,
        "users": {
            "peak": peak_users,
            "peak_reached_at_s": peak_reached_at_s,
            "workers_seen": workers_seen,
            "workers_lost": workers_lost or [],
        },
        "generator": generator,
        "endpoints": [
            {"method": e.method, "name": e.name, **_figures(e, duration_s)}
            for e in sorted(stats.entries.values(), key=lambda e: (e.name, e.method or ""))
        ],
        "errors": [
            {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
            for e in stats.errors.values()
        ],
        "slo": {
            "thresholds": {k: v for k, v in plan.thresholds.__dict__.items() if v is not None},
            "checks": [check.as_dict() for check in checks],
            "verdict": verdict.value,
        },
        **({"incomplete": incomplete} if incomplete is not None else {}),
    }


def summarize_stats_document(
    document: Mapping[str, Any],
    plan: RunPlan,
    *,
    peak_users: int,
    ended_at: float,
    reason: str,
    interrupted: bool,
    runtime: str | None = None,
) -> dict[str, Any]:
    """A summary from the last stats document the master served, when the master could not write one:
    it died (verdict incomplete), or was stopped before it could (interrupted). The figures are up to
    a report interval old; `reason` says why the supervisor wrote it."""
    entries = {(e["method"], e["name"]): _DocumentEntry.of(e) for e in document.get("entries", [])}
    stats = _DocumentStats(_DocumentEntry.total(entries.values()), entries)
    started_at = document["run"].get("started_at") or ended_at
    workers = len(document.get("workers", []))
    return summarize(
        stats,  # type: ignore[arg-type]  # duck-typed: what summarize reads of Locust's RequestStats
        plan,
        started_at=started_at,
        ended_at=ended_at,
        peak_users=peak_users,
        peak_reached_at_s=None,
        workers_seen=workers,
        completed=False,
        incomplete=None if interrupted else reason,
        runtime=runtime,
        # The stats document carries Locust's own 10 s CPU readings, not the workers' samples: saying
        # "not saturated" from it would be a guess.
        generator=generator_section(
            {},
            unknown="this summary was written from the master's last stats document, which carries no CPU "
            "samples: whether the generator was saturated is not known",
        ),
    ) | ({"interrupted": reason} if interrupted else {})


class _DocumentEntry:
    """The few StatsEntry attributes a summary reads, from one entry of the stats document."""

    def __init__(
        self, method: str, name: str, requests: int, failures: int, sum_ms: float, response_times: dict[int, int]
    ) -> None:
        self.method, self.name = method, name
        self.num_requests, self.num_failures = requests, failures
        self.response_times = response_times
        self.avg_response_time = sum_ms / requests if requests else 0.0
        self.min_response_time = min(response_times, default=0)
        self.max_response_time = max(response_times, default=0)
        self.median_response_time = self.get_response_time_percentile(0.5)

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> _DocumentEntry:
        buckets = {int(ms): int(count) for ms, count in entry["response_times"].items()}
        return cls(
            entry["method"], entry["name"], entry["requests"], entry["failures"], entry["response_time_sum_ms"], buckets
        )

    @classmethod
    def total(cls, entries: Any) -> _DocumentEntry:
        buckets: dict[int, int] = {}
        requests = failures = 0
        sum_ms = 0.0
        for entry in entries:
            requests, failures = requests + entry.num_requests, failures + entry.num_failures
            sum_ms += entry.avg_response_time * entry.num_requests
            for ms, count in entry.response_times.items():
                buckets[ms] = buckets.get(ms, 0) + count
        return cls("", "Aggregated", requests, failures, sum_ms, buckets)

    def get_response_time_percentile(self, percent: float) -> int:
        """Locust's rule: the smallest bucket with at most (1 - percent) of the requests above it."""
        allowed_above = int(self.num_requests * percent)
        counted = 0
        for ms in sorted(self.response_times, reverse=True):
            counted += self.response_times[ms]
            if self.num_requests - counted <= allowed_above:
                return ms
        return 0


class _DocumentStats:
    def __init__(self, total: _DocumentEntry, entries: dict[tuple[str, str], _DocumentEntry]) -> None:
        self.total, self.entries = total, entries
        self.errors: dict[str, Any] = {}  # the document carries no error texts


def _figures(entry: StatsEntry, duration_s: float) -> dict[str, Any]:
    requests = entry.num_requests
    failures = entry.num_failures
    failure_rate = 100.0 * failures / requests if requests else 0.0
    return {
        "requests": requests,
        "failures": failures,
        "success_rate_percent": round(100.0 - failure_rate, 3) if requests else 0.0,
        "failure_rate_percent": round(failure_rate, 3),
        "avg_response_ms": round(entry.avg_response_time, 2),
        "min_response_ms": round(entry.min_response_time or 0, 2),
        "max_response_ms": round(entry.max_response_time, 2),
        "median_response_ms": entry.median_response_time,
        "p95_response_ms": entry.get_response_time_percentile(0.95) if requests else 0,
        "p99_response_ms": entry.get_response_time_percentile(0.99) if requests else 0,
        "rps": round(requests / duration_s, 3),
        "duration_s": round(duration_s, 3),
    }


def write_summary(run_dir: Path, summary: Mapping[str, Any]) -> Path:
    path = run_dir / SUMMARY_FILE
    _write_atomically(path, (json.dumps(summary, indent=2) + "\n").encode())
    return path


def _write_atomically(path: Path, content: bytes) -> None:
    """Readers (compare, CI, the Compose runtime's copy) see the whole file or none: never half of one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


def read_summary(location: Path) -> dict[str, Any]:
    """A summary from a run directory or a summary.json path."""
    path = location / SUMMARY_FILE if location.is_dir() else location
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"no run results at '{location}': expected a run directory holding {SUMMARY_FILE}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"'{path}' is not a loadcluster summary: {exc}") from exc
    if not isinstance(summary, dict) or summary.get("schema") != SCHEMA_VERSION:
        raise ConfigError(f"'{path}' is not a loadcluster summary (schema {SCHEMA_VERSION})")
    return summary


def write_junit(run_dir: Path, summary: Mapping[str, Any]) -> Path:
    """One test case per SLO check, so CI systems show which threshold failed."""
    run = summary["run"]
    checks: list[Mapping[str, Any]] = summary["slo"]["checks"]
    verdict = summary["slo"]["verdict"]
    suite = ElementTree.Element(
        "testsuite",
        name=f"loadcluster.{run['suite']}.{run['scenario']}",
        tests=str(len(checks) + 1),
        failures=str(sum(1 for c in checks if not c["passed"])),
        errors="0" if verdict in (slo.Verdict.PASSED, slo.Verdict.FAILED) else "1",
        time=str(summary["totals"]["duration_s"]),
        timestamp=run["started_at"],
    )
    properties = ElementTree.SubElement(suite, "properties")
    for key, value in summary["totals"].items():
        ElementTree.SubElement(properties, "property", name=key, value=str(value))
    generator: Mapping[str, Any] = summary.get("generator") or generator_section({})
    saturated = generator.get("saturated")
    ElementTree.SubElement(
        properties,
        "property",
        name="generator_saturated",
        value="unknown" if saturated is None else str(saturated).lower(),
    )
    for key in ("sustained_cpu_percent", "peak_cpu_percent", "busiest_worker"):
        if generator.get(key) is not None:
            ElementTree.SubElement(properties, "property", name=f"generator_{key}", value=str(generator[key]))
    completed = ElementTree.SubElement(suite, "testcase", classname="loadcluster.run", name="run completed")
    if verdict not in (slo.Verdict.PASSED, slo.Verdict.FAILED):
        ElementTree.SubElement(completed, "error", message=f"verdict: {verdict}")
    if warning := saturation_warning(generator):
        # Shown with the test case by CI systems, and fails nothing: a saturated generator is a warning
        # unless the scenario made it a threshold (max_worker_cpu_percent), which is its own test case.
        ElementTree.SubElement(completed, "system-err").text = f"WARNING: {warning}\n"
    for check in checks:
        case = ElementTree.SubElement(suite, "testcase", classname="loadcluster.slo", name=check["name"])
        if not check["passed"]:
            ElementTree.SubElement(
                case, "failure", message=f"{check['description']} {check['threshold']:g}: actual {check['actual']:g}"
            )
    path = run_dir / JUNIT_FILE
    _write_atomically(path, ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True))
    return path


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
