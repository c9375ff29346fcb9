"""Progress lines for a person watching a run, made from the master's stats document.

The document (see `statsserver`) is what the exporter reads too; nothing here depends on the
wording of Locust's log lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from loadcluster.plan import RunPlan

PROGRESS_INTERVAL_S = 5.0
STOPPING_STATES = frozenset({"stopping", "stopped", "cleanup"})


class Progress:
    def __init__(self, plan: RunPlan, echo: Callable[[str], None], interval_s: float = PROGRESS_INTERVAL_S) -> None:
        self.plan = plan
        self.echo = echo
        self.interval_s = interval_s
        self.workers_said = -1
        self.stage: str | None = None
        self.peak_said = False
        self.stopping_said = False
        self.last_line_at = float("-inf")

    def update(self, document: Mapping[str, Any]) -> None:
        run = document["run"]
        if run.get("started_at") is None:
            self._waiting(len(document.get("workers", [])))
            return
        elapsed = document["time"] - run["started_at"]
        if run.get("stage") and run["stage"] != self.stage:
            self.stage = run["stage"]
            self._stage_started(self.stage)
        # The master's own time to peak (taken when the last worker reported its users), the figure the
        # summary records; the document's poll time would be up to a polling interval late.
        if not self.peak_said and (peak_s := run.get("peak_reached_at_s")) is not None:
            self.peak_said = True
            self.echo(f"all {self.plan.users} users running after {peak_s:.2f}s")
        if run["state"] in STOPPING_STATES or elapsed >= self.plan.duration_s:
            self._stopping()
        elif elapsed - self.last_line_at >= self.interval_s:
            self.last_line_at = elapsed
            self.echo(self._line(document, elapsed))

    def _waiting(self, connected: int) -> None:
        if connected != self.workers_said:
            self.workers_said = connected
            self.echo(f"waiting for workers: {connected}/{self.plan.workers} connected")

    def _stage_started(self, name: str) -> None:
        stage = next((s for s in self.plan.stages if s.name == name), None)
        if stage is not None:
            self.echo(f"stage {name}: {stage.users} users at {self.plan.spawn_rate:g}/s until {stage.end_s:.1f}s")

    def _stopping(self) -> None:
        if not self.stopping_said:
            self.stopping_said = True
            self.echo(
                f"stopping: users finish their task (up to {self.plan.stop_timeout_s:g}s), "
                "then the workers' last figures are collected"
            )

    def _line(self, document: Mapping[str, Any], elapsed: float) -> str:
        total, current = document["total"], document["current"]
        failure_ratio = total["failures"] / total["requests"] if total["requests"] else 0.0
        return (
            f"[{elapsed:5.0f}s/{self.plan.duration_s:.0f}s] stage {self.stage or '-'} "
            f"users {document['users']}/{self.plan.users} workers {len(document['workers'])} "
            f"rps {current['rps']:.1f} requests {total['requests']} failures {failure_ratio:.2%} "
            f"p95 {current['p95_ms']:.0f}ms"
        )
