"""The local runtime: the demo target (when the plan needs it), a master and N workers as processes.

Nodes talk over ZeroMQ on 127.0.0.1; each child runs in its own session and dies with the
supervisor (see `processes`), so no load outlives the run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from loadcluster import options
from loadcluster.errors import ConfigError, RunFailed
from loadcluster.options import RuntimeName
from loadcluster.plan import RunPlan
from loadcluster.runtimes.checks import check_machine_holds, check_reachable
from loadcluster.runtimes.logtail import LogTail
from loadcluster.runtimes.processes import Child, free_port, port_is_free, spawn, terminate, wait_for_port
from loadcluster.runtimes.supervision import TARGET_STATS_FILE, Echo, describe_exit
from loadcluster.stats_api import STATS_PATH, tell_master_lost

LOOPBACK = "127.0.0.1"
TARGET_START_DEADLINE_S = 15.0
EXIT_GRACE_S = 5.0
MAX_RESTARTS = 3  # per worker and run
# Seconds the master keeps serving stats after the run, so a Prometheus scraping every second or two
# records the final figures.
EXPORTER_LINGER_S = 3.0
NODE = (sys.executable, "-m", "loadcluster")


class LocalRuntime:
    name = RuntimeName.LOCAL.value

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.metrics_port: int | None = values.get("metrics_port")
        self.access_token: str | None = values.get("access_token")

    def check(self, plan: RunPlan, echo: Echo) -> None:
        check_machine_holds(plan, echo)
        if self.metrics_port is not None and not port_is_free(LOOPBACK, self.metrics_port):
            raise ConfigError(f"metrics port {self.metrics_port} is already in use on {LOOPBACK}: pick another")
        for host in (plan.host,) if plan.host else plan.class_hosts:
            check_reachable(host)

    def stack(self, plan: RunPlan, run_dir: Path, echo: Echo) -> LocalStack:
        return LocalStack(plan, run_dir, echo, self.metrics_port, self.access_token)


class LocalStack:
    def __init__(
        self, plan: RunPlan, run_dir: Path, echo: Echo, metrics_port: int | None, access_token: str | None
    ) -> None:
        self.plan = plan
        self.access_token = access_token  # the children inherit LOADCLUSTER_ACCESS_TOKEN with the environment
        self.run_dir = run_dir
        self.logs = run_dir / "logs"
        self.echo = echo
        self.metrics_port = metrics_port
        self.stats_port = free_port()
        self.target: Child | None = None
        self.master: Child | None = None
        self.workers: list[Child] = []
        self.others: list[Child] = []
        self.tails: list[LogTail] = []
        self.worker_env: dict[str, str] = {}
        self.restarts: Counter[str] = Counter()

    def start(self) -> None:
        if self.plan.demo_target:
            self._start_demo_target()
        self._start_nodes()
        self.echo(f"master and {self.plan.workers} workers started; logs in {self.logs}")
        if self.metrics_port is not None:
            self._start_exporter()
            self.echo(f"metrics for Prometheus at http://{LOOPBACK}:{self.metrics_port}/metrics")

    def _start_demo_target(self) -> None:
        port = free_port()
        command = [*NODE, "target", "--bind", LOOPBACK, "--port", str(port)]
        # The run directory in its environment ties the target to its run, as it does the nodes.
        self.target = spawn("target", command, self._env(), self.logs / "target.log")
        if not wait_for_port(LOOPBACK, port, TARGET_START_DEADLINE_S, alive=self.target):
            raise RunFailed(f"the demo target did not start within {TARGET_START_DEADLINE_S:g}s; see {self.logs}")
        self.plan = replace(self.plan, host=f"http://{LOOPBACK}:{port}")
        self.echo(f"demo target started at {self.plan.host}")

    def _env(self, **settings: str) -> dict[str, str]:
        names = {options.env_name(name): value for name, value in settings.items()}
        return {**os.environ, options.env_name("run_dir"): str(self.run_dir), "PYTHONUNBUFFERED": "1", **names}

    def _start_nodes(self) -> None:
        master_port = str(free_port())
        master_env = self._env(
            plan=self.plan.to_document(),
            node_runtime=RuntimeName.LOCAL.value,
            master_bind_host=LOOPBACK,
            master_port=master_port,
            stats_port=str(self.stats_port),
            # With an exporter watching, give its scraper time to see the final figures.
            stats_linger=str(EXPORTER_LINGER_S if self.metrics_port else 0),
        )
        self.master = spawn("master", [*NODE, "master"], master_env, self.logs / "master.log")
        self.worker_env = self._env(
            locustfile=self.plan.locustfiles.locust_arg, master_host=LOOPBACK, master_port=master_port
        )
        self.workers = [self._start_worker(f"worker-{i}") for i in range(1, self.plan.workers + 1)]
        self.tails = [LogTail(c.log_path, c.name) for c in [self.master, *self.workers]]

    def _start_worker(self, name: str) -> Child:
        env = {**self.worker_env, options.env_name("worker_name"): name}
        return spawn(name, [*NODE, "worker"], env, self.logs / f"{name}.log")

    def _start_exporter(self) -> None:
        command = [*NODE, "exporter", "--master-url", f"http://{LOOPBACK}:{self.stats_port}", "--bind", LOOPBACK,
                   "--port", str(self.metrics_port)]  # fmt: skip
        self.others.append(spawn("exporter", command, self._env(), self.logs / "exporter.log"))

    def stats_url(self) -> str | None:
        return f"http://{LOOPBACK}:{self.stats_port}{STATS_PATH}"

    def master_exit_code(self) -> int | None:
        return None if self.master is None else self.master.process.poll()

    def stop_master(self) -> None:
        if self.master is not None and self.master.running:
            os.kill(self.master.process.pid, signal.SIGTERM)

    def alarms(self) -> list[str]:
        lines = [line for tail in self.tails for line in tail.alarming_lines()]
        for index, worker in enumerate(self.workers):
            code = worker.process.poll()
            # Workers leave with 0 when the master tells them to; any other exit is a death.
            if code in (None, 0) or self.master_exit_code() is not None or self.restarts[worker.name] > MAX_RESTARTS:
                continue
            how = describe_exit(code)
            # Not for the last one alive: Locust ends a test whose last worker is lost, and its
            # replacement would come too late; Locust drops the dead one itself once the new one is in.
            others_alive = any(w.running for w in self.workers if w is not worker)
            told = others_alive and tell_master_lost(
                f"http://{LOOPBACK}:{self.stats_port}", worker.name, how, self.access_token
            )
            worker.log.close()
            self.restarts[worker.name] += 1
            told_line = f"WARNING: {worker.name} died ({how}): {'the master was told and ' if told else ''}"
            if self.restarts[worker.name] > MAX_RESTARTS:
                # A worker that cannot stay up is not helped by another try every second.
                lines.append(f"{told_line}it died {MAX_RESTARTS + 1} times, so it stays down; see {worker.log_path}")
                continue
            self.workers[index] = self._start_worker(worker.name)
            lines.append(f"{told_line}a new {worker.name} started; see {worker.log_path}")
        return lines

    def collect(self) -> dict[str, Any] | None:
        """The master wrote its results in place; the demo target's own count is kept beside them."""
        if self.target is None or self.plan.host is None:
            return None
        try:
            with urllib.request.urlopen(f"{self.plan.host}/_target/stats", timeout=5) as response:
                stats: dict[str, Any] = json.load(response)
        except OSError:
            return None
        try:
            (self.run_dir / TARGET_STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            self.echo(f"WARNING: could not keep the demo target's count in {self.run_dir}: {exc.strerror}")
        return stats

    def tear_down(self) -> None:
        nodes = [c for c in (self.master, *self.workers, *self.others) if c is not None]
        terminate(nodes, EXIT_GRACE_S)
        if self.target is not None:
            terminate([self.target], EXIT_GRACE_S)
