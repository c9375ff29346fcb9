"""Shared test helpers. Load goes only to 127.0.0.1, every run is bounded in time and stops by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
LOCUSTFILES = REPO / "locust"


def loadcluster(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process, the way a user does."""
    return subprocess.run(
        [sys.executable, "-m", "loadcluster", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def wait_until(condition: Callable[[], bool], deadline_s: float, what: str) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(0.1)


def processes_mentioning(marker: str) -> list[psutil.Process]:
    """Live processes whose command line or environment contains `marker` (a test's tmp path)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.pid == os.getpid() or process.status() == psutil.STATUS_ZOMBIE:
                continue
            text = " ".join(process.info["cmdline"] or []) + " ".join(process.environ().values())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if marker in text:
            found.append(process)
    return found


@pytest.fixture
def results_dir(tmp_path: Path) -> Iterator[Path]:
    """A results directory unique to the test; afterwards, no process that knew it may survive."""
    directory = tmp_path / "results"
    yield directory
    survivors: list[psutil.Process] = []
    try:
        wait_until(lambda: not processes_mentioning(str(directory)), 15, "the run's processes to exit")
    except AssertionError:
        survivors = processes_mentioning(str(directory))
        for process in survivors:
            process.kill()
    assert not survivors, f"processes outlived the run: {[p.cmdline() for p in survivors]}"
