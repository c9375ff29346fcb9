"""Plain-text tables for the terminal: the scenario catalogue, a run's summary and SLO verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadcluster import generator_cpu
from loadcluster.catalogue import Catalogue
from loadcluster.units import format_duration


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns of numbers are right-aligned, everything else left-aligned."""
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(headers))]
    cells = [[str(c) for c in headers], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.rjust(w) if right else c.ljust(w) for c, w, right in zip(row, widths, numeric, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def catalogue_table(catalogue: Catalogue) -> str:
    rows = []
    for suite in catalogue.suites.values():
        for s in suite.scenarios.values():
            rate = s.spawn_rate if s.spawn_rate is not None else s.users / 10
            rows.append(
                [
                    suite.name,
                    s.name,
                    s.users,
                    f"{rate:g}/s",
                    format_duration(s.duration_s),
                    s.workers,
                    s.shape,
                    s.description,
                ]
            )
    headers = ["Suite", "Scenario", "Users", "Spawn rate", "Duration", "Workers", "Shape", "Description"]
    return table(headers, rows)


def summary_report(summary: Mapping[str, Any]) -> str:
    run, totals, users = summary["run"], summary["totals"], summary["users"]
    title = (
        f"{run['suite']}/{run['scenario']}: {run['users']:,} users over {run['workers']} workers, "
        f"{format_duration(totals['duration_s'])} against {run['host']}"
    )
    endpoint_rows = [_figures_row(f"{e['method']} {e['name']}", e) for e in summary["endpoints"]]
    endpoints = table(
        ["Endpoint", "Requests", "Fail %", "Avg ms", "p95 ms", "p99 ms", "Req/s"],
        [*endpoint_rows, _figures_row("Total", totals)],
    )
    peak = f"peak users {users['peak']:,}"
    if users.get("peak_reached_at_s") is not None:
        peak += f" (all running after {users['peak_reached_at_s']}s)"
    lines = [title, "", endpoints, "", peak]
    if "generator" in summary:  # summaries written before the workers sampled their CPU have none
        lines.append(generator_cpu.generator_line(summary["generator"]))
    return "\n".join([*lines, "", slo_report(summary)])


def slo_report(summary: Mapping[str, Any]) -> str:
    checks = summary["slo"]["checks"]
    rows = [[c["description"], c["threshold"], c["actual"], "PASS" if c["passed"] else "FAIL"] for c in checks]
    verdict = summary["slo"]["verdict"]
    report = table(["SLO", "Threshold", "Actual", "Result"], rows) + "\n\n"
    # Right above the verdict, where it is read: a PASSED (or a FAILED) from a saturated generator
    # judges the generator, not the target.
    if warning := generator_cpu.saturation_warning(summary.get("generator") or {}):
        report += f"WARNING: {warning}.\n"
    return report + f"Verdict: {verdict.upper()}"


def _figures_row(label: str, figures: Mapping[str, Any]) -> list[Any]:
    return [
        label,
        figures["requests"],
        figures["failure_rate_percent"],
        figures["avg_response_ms"],
        figures["p95_response_ms"],
        figures["p99_response_ms"],
        figures["rps"],
    ]
