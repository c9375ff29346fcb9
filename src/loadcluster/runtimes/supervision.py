"""What both supervisors (local processes, Compose) share: the run's result, the echo callback and
Ctrl-C / SIGTERM handling while a run is supervised."""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

# Beyond the planned duration: workers connecting, draining, writing the reports.
RUN_OVERHEAD_S = 120.0
TARGET_STATS_FILE = "target_stats.json"

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
