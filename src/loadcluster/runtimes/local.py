"""The local runtime: the demo target (unless --host), a master and N workers as local processes.

The supervisor starts them, echoes the master's progress, forwards Ctrl-C/SIGTERM to the master (which
then drains the workers and writes its results) and makes sure no child outlives the run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadcluster import results
from loadcluster.errors import ConfigError, RunFailed
from loadcluster.node_env import (
    MASTER_BIND_HOST_ENV,
    MASTER_HOST_ENV,
    MASTER_PORT_ENV,
    RUN_DIR_ENV,
    STATS_LINGER_ENV,
    STATS_PORT_ENV,
)
from loadcluster.plan import RunPlan
from loadcluster.runtimes.logtail import LogTail
from loadcluster.runtimes.processes import Child, free_port, port_is_free, spawn, terminate, wait_for_port
from loadcluster.runtimes.supervision import (
    TARGET_STATS_FILE,
    Echo,
    Interrupts,
    RunResult,
    StopControl,
    check_reachable,
)

LOOPBACK = "127.0.0.1"
TARGET_START_DEADLINE_S = 15.0
WORKER_EXIT_GRACE_S = 5.0
# Seconds the master keeps serving stats after the run, so a Prometheus scraping every second or two
# records the final figures.
EXPORTER_LINGER_S = 3.0


def run_local(plan: RunPlan, echo: Echo, exporter_port: int | None = None) -> RunResult:
    """Run `plan`; with `exporter_port`, also serve its Prometheus metrics on 127.0.0.1:exporter_port."""
    if exporter_port is not None and not port_is_free(LOOPBACK, exporter_port):
        raise ConfigError(f"exporter port {exporter_port} is already in use on {LOOPBACK}: pick another")
    run_dir = plan.results_root / results.run_dir_name(plan, datetime.now(UTC))
    logs = run_dir / "logs"
    children: list[Child] = []
    target: Child | None = None
    with Interrupts() as signals:
        try:
            if plan.host is None:
                target, plan = _start_demo_target(plan, run_dir)
                children.append(target)
                echo(f"demo target started at {plan.host}")
            else:
                check_reachable(plan.host)
            stats_port = free_port()
            children += _start_nodes(plan, run_dir, stats_port, exporter_port is not None)
            echo(f"master and {plan.workers} workers started; logs in {logs}")
            if exporter_port is not None:
                children.append(_start_exporter(run_dir, stats_port, exporter_port))
                echo(f"metrics for Prometheus at http://{LOOPBACK}:{exporter_port}/metrics")
            _supervise(plan, children, signals, echo)
            target_stats = _fetch_target_stats(plan.host, run_dir) if target else None
        finally:
            terminate([c for c in children if c is not target], WORKER_EXIT_GRACE_S)
            if target is not None:
                terminate([target], WORKER_EXIT_GRACE_S)
    if not (run_dir / results.SUMMARY_FILE).is_file():
        raise RunFailed(f"the run wrote no summary; see {logs / 'master.log'}")
    return RunResult(run_dir, results.read_summary(run_dir), target_stats)


def _start_demo_target(plan: RunPlan, run_dir: Path) -> tuple[Child, RunPlan]:
    port = free_port()
    logs = run_dir / "logs"
    command = [sys.executable, "-m", "loadcluster", "target", "--bind", LOOPBACK, "--port", str(port)]
    # The run directory in its environment ties the target to its run, as it does the nodes.
    target = spawn("target", command, {**os.environ, RUN_DIR_ENV: str(run_dir)}, logs / "target.log")
    if not wait_for_port(LOOPBACK, port, TARGET_START_DEADLINE_S, alive=target):
        terminate([target], WORKER_EXIT_GRACE_S)
        raise RunFailed(f"the demo target did not start within {TARGET_START_DEADLINE_S:g}s; see {logs}/target.log")
    return target, replace(plan, host=f"http://{LOOPBACK}:{port}")


def _start_nodes(plan: RunPlan, run_dir: Path, stats_port: int, scraped: bool) -> list[Child]:
    port = free_port()
    logs = run_dir / "logs"
    env = {
        **os.environ,
        **plan.to_env(),
        RUN_DIR_ENV: str(run_dir),
        MASTER_BIND_HOST_ENV: LOOPBACK,
        MASTER_HOST_ENV: LOOPBACK,
        MASTER_PORT_ENV: str(port),
        STATS_PORT_ENV: str(stats_port),
        # With an exporter watching, give its scraper time to see the final figures.
        STATS_LINGER_ENV: str(EXPORTER_LINGER_S if scraped else 0),
        "PYTHONUNBUFFERED": "1",
    }
    node = [sys.executable, "-m", "loadcluster"]
    master = spawn("master", [*node, "master"], env, logs / "master.log")
    workers = [
        spawn(f"worker-{i}", [*node, "worker"], env, logs / f"worker-{i}.log") for i in range(1, plan.workers + 1)
    ]
    return [master, *workers]


def _start_exporter(run_dir: Path, stats_port: int, exporter_port: int) -> Child:
    command = [
        *[sys.executable, "-m", "loadcluster", "exporter"],
        *["--master-url", f"http://{LOOPBACK}:{stats_port}", "--bind", LOOPBACK, "--port", str(exporter_port)],
    ]
    return spawn("exporter", command, {**os.environ, RUN_DIR_ENV: str(run_dir)}, run_dir / "logs" / "exporter.log")


def _supervise(plan: RunPlan, children: list[Child], signals: Interrupts, echo: Echo) -> None:
    master = next(c for c in children if c.name == "master")
    workers = [c for c in children if c.name.startswith("worker-")]
    tails = [LogTail(c.log_path, c.name) for c in [master, *workers]]
    control = StopControl(plan, signals, echo, lambda: os.kill(master.process.pid, signal.SIGTERM))
    lost: set[str] = set()
    while master.running and not control.should_abort():
        for tail in tails:
            for line in tail.interesting_lines():
                echo(line)
        for worker in workers:
            # Workers leave with 0 when the master tells them to; any other exit is a crash.
            if worker.process.poll() not in (None, 0) and worker.name not in lost:
                lost.add(worker.name)
                echo(f"WARNING: {worker.name} failed (exit code {worker.process.returncode}); see {worker.log_path}")
        time.sleep(0.2)
    for tail in tails:
        for line in tail.interesting_lines():
            echo(line)


def _fetch_target_stats(host: str | None, run_dir: Path) -> dict[str, Any] | None:
    """The demo target's own request count, kept beside the summary so the two can be compared."""
    try:
        with urllib.request.urlopen(f"{host}/_target/stats", timeout=5) as response:
            stats: dict[str, Any] = json.load(response)
    except OSError:
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / TARGET_STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats
