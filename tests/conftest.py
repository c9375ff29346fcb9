"""Shared test helpers. Load goes only to 127.0.0.1, every run is bounded in time and stops by itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from counting_server import CountingServer

from loadcluster.runtimes.processes import free_port

# Tests choose their runtime: local processes unless a test asks for Compose (even where Docker answers).
if not os.environ.get("LOADCLUSTER_RUNTIME"):
    os.environ["LOADCLUSTER_RUNTIME"] = "local"

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
    return _answers(f"{url}/health")


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


@dataclass
class Prometheus:
    """A real Prometheus server (Debian's package) scraping what a test points it at."""

    url: str
    process: subprocess.Popen[bytes]

    def query(self, expression: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"query": expression})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{query}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def value(self, expression: str) -> float | None:
        result = self.query(expression)
        return float(result[0]["value"][1]) if result else None


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[..., Prometheus]]:
    """start_prometheus({"job": "127.0.0.1:port"}, rule_files=[...]) -> a ready Prometheus (1 s scrapes)."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus; .ci/run installs it)")
    started: list[subprocess.Popen[bytes]] = []

    def start(jobs: dict[str, str], rule_files: Sequence[Path] = ()) -> Prometheus:
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in jobs.items()
            ],
        }
        config_file = tmp_path / "prometheus.yml"
        config_file.write_text(json.dumps(config))  # JSON is YAML
        port = free_port()
        process = subprocess.Popen(
            [binary, f"--config.file={config_file}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"),
        )  # fmt: skip
        started.append(process)
        server = Prometheus(f"http://127.0.0.1:{port}", process)
        wait_until(lambda: _answers(f"{server.url}/-/ready"), 30, "Prometheus to be ready")
        return server

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run_cli(*args: str) -> tuple[int, str]:
    """The CLI in this process (`main([...])`), for what starts no process: its exit code and its output."""
    import contextlib
    import io

    from loadcluster.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer().start()
    yield server
    server.close()
