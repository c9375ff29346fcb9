"""What both supervisors (local processes, Compose) share: the run's result, the echo callback and
Ctrl-C / SIGTERM handling while a run is supervised."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse

from loadcluster.errors import TargetUnreachable
from loadcluster.plan import RunPlan
from loadcluster.runtimes.processes import wait_for_port

# Beyond the planned duration: workers connecting, draining, writing the reports.
RUN_OVERHEAD_S = 120.0
TARGET_STATS_FILE = "target_stats.json"
TARGET_CHECK_DEADLINE_S = 3.0

Echo = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    target_stats: dict[str, Any] | None


class Interrupts:
    """Ctrl-C / SIGTERM while supervising: remembered, acted on by the supervision loop (the first
    one stops the run cleanly, a second one aborts)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)


class StopControl:
    """Turns interrupts and the run's deadline into actions on the master: the first Ctrl-C/SIGTERM,
    or the deadline passing, asks it to stop cleanly (it then drains the workers and writes results);
    a second interrupt means abort now."""

    def __init__(self, plan: RunPlan, interrupts: Interrupts, echo: Echo, stop_master: Callable[[], None]) -> None:
        self.interrupts = interrupts
        self.echo = echo
        self.stop_master = stop_master
        self.deadline = time.monotonic() + plan.duration_s + plan.stop_timeout_s + RUN_OVERHEAD_S
        self.grace_s = plan.stop_timeout_s + RUN_OVERHEAD_S / 4
        self.handled = 0

    def should_abort(self) -> bool:
        if len(self.interrupts.received) > self.handled:
            self.handled = len(self.interrupts.received)
            if self.handled > 1:
                self.echo("aborting: stopping every process now, without results")
                return True
            self.echo("interrupted: stopping the run and writing results (Ctrl-C again to abort)")
            self.stop_master()
        if time.monotonic() > self.deadline:
            self.echo("the run went past its deadline: stopping it")
            self.stop_master()
            self.deadline = time.monotonic() + self.grace_s
        return False


def check_reachable(host: str) -> None:
    """Fail fast: a run of 100 % connection errors is not a load test. A TCP connect, not a request,
    so the check adds nothing to the target's request count."""
    url = urlparse(host)
    port = url.port or (443 if url.scheme == "https" else 80)
    if not wait_for_port(url.hostname or "", port, TARGET_CHECK_DEADLINE_S):
        raise TargetUnreachable(
            f"target {host} is unreachable (no TCP connection to {url.hostname}:{port} within "
            f"{TARGET_CHECK_DEADLINE_S:g}s): start it, or leave out --host to use the demo target"
        )
