"""Progress lines from the master's stats document (no run: documents as the master serves them)."""

from __future__ import annotations

from typing import Any

from conftest import LOCUSTFILES

from loadcluster import options
from loadcluster.plan import build_plan
from loadcluster.runtimes.progress import Progress


def document(users: int, peak_reached_at_s: float | None, at_s: float) -> dict[str, Any]:
    run = {"started_at": 100.0, "state": "spawning", "stage": "ramp-and-hold", "peak_reached_at_s": peak_reached_at_s}
    return {"time": 100.0 + at_s, "run": run, "users": users, "workers": [], "total": {"requests": 0, "failures": 0},
            "current": {"rps": 0.0, "failure_ratio": 0.0, "p95_ms": 0}}  # fmt: skip


def test_the_time_to_peak_is_the_masters_not_the_polls() -> None:
    """The document polled at 1.9 s already has every user; the master knew it at 1.46 s."""
    plan = build_plan(
        options.settings(options.Verb.RUN, {"locustfile": str(LOCUSTFILES), "scenario": "smoke", "users": "10"}, {})
    )
    lines: list[str] = []
    progress = Progress(plan, lines.append)
    progress.update(document(10, None, at_s=1.0))  # all reported, the master not yet sure: nothing said
    progress.update(document(10, 1.46, at_s=1.9))
    progress.update(document(10, 1.46, at_s=2.9))
    assert [line for line in lines if "running after" in line] == ["all 10 users running after 1.46s"]
