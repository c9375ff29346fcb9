"""One supervise loop for every runtime: start the stack, show progress, stop it, collect, clean up.

A runtime (`Runtime`) only places nodes; what happens around a run is written once, here: checks
before anything starts, the watch loop that reads the master's stats document for progress and turns
Ctrl-C / SIGTERM / the deadline into a clean stop of the master (which drains its workers and writes
the results), the results collected from wherever the master wrote them, and the tear-down on every
way out.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

from loadcluster import results
from loadcluster.errors import RunFailed
from loadcluster.plan import RunPlan
from loadcluster.runtimes import checks
from loadcluster.runtimes.progress import Progress
from loadcluster.stats_api import read_stats

# Beyond the planned duration: workers connecting, draining, writing the reports.
RUN_OVERHEAD_S = 120.0
TARGET_STATS_FILE = "target_stats.json"
POLL_INTERVAL_S = 1.0
LATEST_LINK = "latest"

Echo = Callable[[str], None]
T = TypeVar("T")


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    target_stats: dict[str, Any] | None


class Stack(Protocol):
    """One run's master and workers (and demo target, exporter...) wherever a runtime put them."""

    access_token: str | None  # what the master's stats endpoint requires, if anything

    def start(self) -> None:
        """Start everything; what was started before a failure is left for `tear_down`."""

    def stats_url(self) -> str | None:
        """The master's stats document, once it can be read from here."""

    def master_exit_code(self) -> int | None:
        """None while the master runs."""

    def stop_master(self) -> None:
        """Ask the master to stop cleanly: it drains its workers and writes the results."""

    def alarms(self) -> list[str]:
        """Warnings and errors from the nodes since the last call (crashed workers, Locust errors)."""

    def collect(self) -> dict[str, Any] | None:
        """Bring the results and logs into the run directory; the demo target's counts if it ran."""

    def tear_down(self) -> None:
        """Stop and remove whatever is left; safe to call after a partial start."""


class Runtime(Protocol):
    name: str

    def check(self, plan: RunPlan, echo: Echo) -> None:
        """Everything that can be refused before anything starts (ports, engine, image, target)."""

    def stack(self, plan: RunPlan, run_dir: Path, echo: Echo) -> Stack: ...


def supervise(runtime: Runtime, plan: RunPlan, echo: Echo) -> RunResult:
    """Run `plan` on `runtime` and bring back its results; RunFailed when it wrote none."""
    checks.check_writable(plan.results_root)
    runtime.check(plan, echo)
    run_dir = plan.results_root / results.run_dir_name(plan, datetime.now(UTC))
    with Interrupts() as interrupts:
        stack = runtime.stack(plan, run_dir, echo)
        try:
            stack.start()
            watch = _watch(stack, plan, interrupts, echo)
            target_stats = _writing(run_dir, stack.collect)
        finally:
            stack.tear_down()
    if not (run_dir / results.SUMMARY_FILE).is_file():
        _writing(run_dir, lambda: _write_for_the_master(watch, plan, run_dir, echo, runtime.name))
    _link_latest(run_dir)
    return RunResult(run_dir, results.read_summary(run_dir), target_stats)


@dataclass
class Watched:
    """What the supervisor saw of a run: enough to write a summary if the master cannot."""

    master_exit_code: int | None = None
    interrupted: bool = False
    last_document: dict[str, Any] | None = None
    peak_users: int = 0
    ended_at: float = 0.0


def _writing(run_dir: Path, write: Callable[[], T]) -> T:
    """`write()`, with a full disk or a directory gone said in one line rather than a traceback."""
    try:
        return write()
    except OSError as exc:
        raise RunFailed(
            f"the results could not be written in {run_dir} ({exc.strerror}); what was written is there"
        ) from None


def _watch(stack: Stack, plan: RunPlan, interrupts: Interrupts, echo: Echo) -> Watched:
    progress = Progress(plan, echo)
    control = StopControl(plan, interrupts, echo, stack.stop_master)
    watched = Watched()
    while (code := stack.master_exit_code()) is None:
        if control.should_abort():
            raise RunFailed("interrupted twice: the run was aborted without results")
        url = stack.stats_url()
        document = read_stats(url, stack.access_token) if url else None
        if document is not None:
            progress.update(document)
            watched.last_document = document
            watched.peak_users = max(watched.peak_users, int(document.get("users", 0)))
        for line in stack.alarms():
            echo(line)
        time.sleep(POLL_INTERVAL_S)
    watched.master_exit_code, watched.ended_at, watched.interrupted = code, time.time(), control.handled > 0
    for line in stack.alarms():
        echo(line)
    return watched


def _write_for_the_master(watched: Watched, plan: RunPlan, run_dir: Path, echo: Echo, runtime: str) -> None:
    """The master wrote no summary: interrupted before it could (verdict interrupted), or dead
    (verdict incomplete, one line saying how). Either way the summary holds the last figures it served."""
    started = watched.last_document is not None and watched.last_document["run"].get("started_at") is not None
    if watched.interrupted:
        reason = "stopped before the master could write its results; these are the last figures it served"
    elif started:
        assert watched.last_document is not None
        reason = (
            f"the master died ({describe_exit(watched.master_exit_code)}) "
            f"{watched.ended_at - watched.last_document['run']['started_at']:.1f}s into the run; these are the "
            "last figures it served, up to a few seconds old"
        )
        echo(f"ERROR: {reason}")
    else:
        raise RunFailed(f"the run wrote no summary; see {run_dir / 'logs'}")
    document = watched.last_document or {"run": {"started_at": None}, "entries": [], "workers": []}
    summary = results.summarize_stats_document(
        document, plan, peak_users=watched.peak_users, ended_at=watched.ended_at, reason=reason,
        interrupted=watched.interrupted, runtime=runtime,
    )  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)
    results.write_summary(run_dir, summary)
    results.write_junit(run_dir, summary)


def describe_exit(code: int | None) -> str:
    """-9 -> 'killed by SIGKILL'; 137 (a container's 128 + 9) -> 'exit code 137, SIGKILL'."""
    signals = {int(s): s.name for s in signal.Signals}
    if code is not None and -code in signals:
        return f"killed by {signals[-code]}"
    if code is not None and code - 128 in signals:
        return f"exit code {code}, {signals[code - 128]}"
    return f"exit code {code}"


def _link_latest(run_dir: Path) -> None:
    """results/latest -> the newest run, so scripts (and CI behind `make`) can read its verdict."""
    link = run_dir.parent / LATEST_LINK
    try:
        if link.is_symlink():
            link.unlink()
        if not link.exists():
            link.symlink_to(run_dir.name)
    except OSError:
        pass  # a convenience: the run directory itself is what counts


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
