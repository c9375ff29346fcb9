"""Shared test helpers. Load goes only to 127.0.0.1, every run is bounded in time and stops by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from loadcluster.runtimes.processes import free_port

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


@dataclass(frozen=True)
class DemoTarget:
    """A real demo target serving in its own process; `log` is where its stderr goes."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _answers_health(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"demo target exited early with code {process.returncode}")
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError):
        return False


@pytest.fixture
def demo_target(tmp_path: Path) -> Iterator[DemoTarget]:
    """`serve()` in a child process on a free loopback port, healthy and with its counters zeroed.

    The counters are reset after the readiness polls, so a test counts only its own requests. At the
    end the target gets SIGTERM (a test may already have stopped it), then SIGKILL if it lingers.
    """
    port = free_port()
    url, log = f"http://127.0.0.1:{port}", tmp_path / "target.log"
    code = f"from loadcluster.target import serve, TargetSettings; serve(TargetSettings(port={port}))"
    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stderr=stderr)
    try:
        wait_until(lambda: _answers_health(url, process), 20, f"the demo target at {url} to answer /health")
        urllib.request.urlopen(urllib.request.Request(f"{url}/_target/reset", method="POST"), timeout=5).close()
        yield DemoTarget(url, process, log)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
