"""`make bench`: every benchmark in one invocation, one table (markdown and JSON) with the machine, the
versions and what ran beside.

Each part is a script of its own (`bench/<part>.py --json PATH [--quick]`), run here one after the
other, never side by side: they share two cores. `--quick` is the CI smoke run: every part runs, its
figures are rough and nothing is asserted about them.

`python bench/run.py [--quick] [--out DIR]`
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import ROOT, busiest_other_processes, machine

BENCH = Path(__file__).resolve().parent
PARTS = ("efficiency", "idle_memory", "spawn_time", "exporter_scrape", "profile_worker")


def run_part(part: str, quick: bool, out: Path) -> dict[str, Any]:
    path = out / f"{part}.json"
    command = [sys.executable, str(BENCH / f"{part}.py"), "--json", str(path), *(["--quick"] if quick else [])]
    print(f"bench: {part} ...", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=BENCH, check=False)
    seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0 or not path.exists():
        return {"failed": f"exit code {done.returncode}", "seconds": seconds}
    figures: dict[str, Any] = json.loads(path.read_text())
    figures["seconds"] = seconds
    return figures


def render(report: dict[str, Any]) -> str:
    """The report as markdown: the figures a reader compares, then where they were taken."""
    parts, lines = report["parts"], [f"# loadcluster bench, {report['started_at']}", ""]
    lines += _efficiency(parts["efficiency"]) + _memory(parts["idle_memory"]) + _spawn(parts["spawn_time"])
    lines += _exporter(parts["exporter_scrape"]) + _profile(parts["profile_worker"])
    host = report["machine"]
    lines += [
        "## Machine and what ran beside",
        "",
        f"- {host['cpus']} CPUs ({host['cpu_model']}), {host['memory_gib']} GiB, {host['os']}, Python {host['python']}",
        f"- {', '.join(f'{k} {v}' for k, v in host['versions'].items())}; {host['nginx']}; {host['wrk']}",
        f"- load average (1 min, 5 min) at start: {host['load_average_1m_5m_at_start']}",
        f"- other processes using CPU at start: {', '.join(report['beside_at_start']) or 'none above 5 %'}; "
        f"at end: {', '.join(report['beside_at_end']) or 'none above 5 %'}",
        f"- the target (nginx, one worker process) ran on the same cores as the generators; parts ran one "
        f"after the other; {report['seconds']:.0f} s in all{' (--quick: rough figures)' if report['quick'] else ''}",
        "",
    ]
    return "\n".join(lines)


def _failed(figures: dict[str, Any]) -> list[str] | None:
    return [f"failed: {figures['failed']}", ""] if "failed" in figures else None


def _efficiency(figures: dict[str, Any]) -> list[str]:
    head = ["## Generator efficiency (requests per CPU-second of the generator's processes)", ""]
    if (failed := _failed(figures)) is not None:
        return head + failed
    return head + [line for config in figures["configs"] for line in _efficiency_table(config)]


def _efficiency_table(figures: dict[str, Any]) -> list[str]:
    medians = figures["median_requests_per_cpu_second"]
    rows = [f"| {name} | {value:,.0f} | {value / medians['locust']:.2f} |" for name, value in medians.items()]
    return [
        f"{figures['plan']}; medians of {figures['runs']} alternating runs, {figures['window_s']:g} s measured each.",
        "",
        "| Generator | Requests per CPU-second | vs bare Locust |",
        "|---|---:|---:|",
        *rows,
        "",
        f"Every loadcluster run's summary total equal to nginx's count of its requests: {figures['exact']}.",
        "",
    ]


def _memory(figures: dict[str, Any]) -> list[str]:
    head = ["## Memory of idle users", ""]
    if (failed := _failed(figures)) is not None:
        return head + failed
    return head + [
        f"{figures['plan']}: worker RSS {figures['rss_mb']} MB, "
        f"**{figures['rss_mb_per_1000_users']} MB per 1000 idle users** ({figures['kb_per_user']} KB each).",
        "",
    ]


def _spawn(figures: dict[str, Any]) -> list[str]:
    head = ["## Time to all users", ""]
    if (failed := _failed(figures)) is not None:
        return head + failed
    text = figures.get("markdown")
    return head + ([text, ""] if text else ["```", json.dumps(figures, indent=2), "```", ""])


def _exporter(figures: dict[str, Any]) -> list[str]:
    head = ["## Exporter scrape (as Prometheus asks: OpenMetrics, gzip)", ""]
    if (failed := _failed(figures)) is not None:
        return head + failed
    rows = [
        f"| {count} | {f['wall_ms']:.2f} | {f['cpu_ms']:.2f} | {f['bytes']:,} |"
        for count, f in figures["endpoints"].items()
    ]
    return head + ["| Endpoints | Wall ms | CPU ms | Bytes |", "|---:|---:|---:|---:|", *rows, ""]


def _profile(figures: dict[str, Any]) -> list[str]:
    head = [f"## Where a loaded worker's CPU goes (cProfile, own time, {figures.get('users', '?')} users)", ""]
    if (failed := _failed(figures)) is not None:
        return head + failed
    rows = [f"| {e['own_share']:.1%} | {e['calls']:,} | `{e['function']}` |" for e in figures["top"]]
    return head + ["| Share | Calls | Function |", "|---:|---:|---|", *rows, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every part, scaled down (CI smoke: figures rough)")
    parser.add_argument("--out", type=Path, help="directory for the report (default: results/bench-<time>)")
    args = parser.parse_args()
    started = datetime.now(UTC)
    out = args.out or ROOT / "results" / f"bench-{started:%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, exist_ok=True)
    own = {os.getpid()}
    report: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "command": "make bench" + (" QUICK=1" if args.quick else ""),
        "machine": machine(),
        "beside_at_start": busiest_other_processes(own),
    }
    clock = time.monotonic()
    report["parts"] = {part: run_part(part, args.quick, out) for part in PARTS}
    report["seconds"] = round(time.monotonic() - clock, 1)
    report["beside_at_end"] = busiest_other_processes(own)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = render(report)
    (out / "bench.md").write_text(markdown)
    print(markdown)
    print(f"bench: written to {out}/bench.md and bench.json")
    failed = [part for part, figures in report["parts"].items() if "failed" in figures]
    if failed:
        raise SystemExit(f"bench: {', '.join(failed)} failed")


if __name__ == "__main__":
    main()
