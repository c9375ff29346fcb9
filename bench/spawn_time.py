"""Benchmark: how long a run takes to have all its users running (summary.json `users.peak_reached_at_s`),
against the ideal, for 2, 4 and 8 local workers and 8 Compose workers; and what the master costs.

Every run is the real CLI (`loadcluster run`) with a tiny FastHttpUser locustfile whose users wait 1 s
between requests, so that the generator is not saturated while it spawns, against nginx serving a
small JSON document: common.nginx() on 127.0.0.1 for the local runtime; for Compose, the same nginx
configuration started in the network namespace of a placeholder container of this script's own on a
Docker network of its own (reached there as `target`), since containers cannot reach this machine's
loopback. Load goes nowhere else; every run is bounded in time (12 s of load, a timeout on the whole
command) and stops by itself.

Two ideals, both in the JSON. Locust's master deals floor(rate) users a second, the first batch at
once and none after the last (locust/dispatch.py), so N users at rate r from none are all sent after
(ceil(N/r) - 1) s: the dispatch ideal, which only the workers' own spawning time adds to. A linear ramp
of N users at r/s takes N/r s: the ideal a person reading "spawn rate" has in mind. Ratios are to both.

Measured beside the runs:
- `worker_costs`: what one spawn message costs a worker, in a process of its own on an idle loop:
  the option filtering Locust's WorkerRunner does on every spawn message, which rebuilds Locust's
  whole argument parser once per option the master sent (`k not in argument_parser.default_args_dict()`
  inside a comprehension) — the cost loadcluster's worker avoids by computing the defaults once
  (src/loadcluster/worker_tuning.py; both figures are given) — and creating 25 users (a worker's
  share of a 200/s step over 8 workers).
- system CPU while the users ramp up (the cores' busy share, steal) and the load average around each
  run: this machine has 2 cores, and other people's benchmarks may run beside this one.

`--quick` (a CI smoke run, well under a minute): 100 users at 50/s over 2 local workers, once; Compose
is skipped.
`--json PATH` also writes the figures: {"local": {"2": {"peak_s", "peak_s_min", "peak_s_max",
"ideal_dispatch_s", "ideal_linear_s", "ratio_dispatch", "ratio_linear", "runs": [...]}, ...}, "compose":
{"8": {...}} or {"skipped": "..."}, "master": {"cpu_seconds", "cpu_percent", "peak_rss_mb", ...},
"worker_costs": {...}, "machine": {...}, "quick": bool, "markdown": "the table bench/run.py prints"}.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from common import (
    BODY,
    LOAD_PATH,
    NGINX_CONF,
    VENV_BIN,
    busiest_other_processes,
    machine,
    nginx,
    node_process,
    run_dir,
    stop,
    wait_until,
)

from loadcluster.results import read_summary
from loadcluster.runtimes.processes import free_port

LOADCLUSTER = VENV_BIN / "loadcluster"
CONTAINER_PORT = 8080
# Seconds of load per run: the 1000-user ramp takes about 4; the rest shows the users holding.
DURATION_S = 12
QUICK_DURATION_S = 5
RUN_TIMEOUT_S = 150  # the whole command: start-up, load, drain, results
COMPOSE_RUN_TIMEOUT_S = 400  # Compose may rebuild the node image first (the source changed)
SAMPLE_INTERVAL_S = 0.1
SPIKE = (1000, 200.0)  # users, spawn rate
QUICK = (100, 50.0)
LOCAL_WORKERS = (2, 4, 8)
MASTER_WORKERS = 8  # the full run's master figures are those of the 8-worker local runs

LOCUSTFILE = '''\
"""Users that wait 1 s between requests: spawning, not the load, is what the run measures."""
from locust import FastHttpUser, constant, task


class Waiting(FastHttpUser):
    wait_time = constant(1)

    @task
    def data(self):
        self.client.get("{path}")
'''

# Run in a fresh interpreter: a worker's costs for one spawn message, without any other process or
# greenlet competing. Prints one JSON object.
WORKER_COST_PROBE = """
import json, sys, time
from locust import FastHttpUser, argument_parser, constant, task
from locust.env import Environment
from loadcluster.worker_tuning import tune_worker

class Waiting(FastHttpUser):
    host = "http://127.0.0.1:9"
    wait_time = constant(1)
    @task
    def data(self):
        pass

def filter_ms(options):
    # What Locust's WorkerRunner does with the options of every spawn message.
    started = time.perf_counter()
    {k: v for k, v in options.items() if k not in argument_parser.default_args_dict()}
    return round((time.perf_counter() - started) * 1000, 2)

users = int(sys.argv[1])
options = vars(argument_parser.get_parser().parse_args(["-f", "x.py", "--master", "--headless"]))
argument_parser.default_args_dict()  # the first call imports what later calls reuse
locust_ms = filter_ms(options)
tune_worker()  # what loadcluster's worker does before Locust starts
argument_parser.default_args_dict()  # its first call computes the defaults, once per process
tuned_ms = filter_ms(options)
env = Environment(user_classes=[Waiting])
started = time.perf_counter()
created = [Waiting(env) for _ in range(users)]
creating = time.perf_counter() - started
print(json.dumps({"options_sent": len(options), "option_filter_ms": locust_ms, "option_filter_tuned_ms": tuned_ms,
                  "create_users": users, "create_users_ms": round(creating * 1000, 1)}))
"""


def ideals(users: int, rate: float) -> dict[str, float]:
    return {"ideal_dispatch_s": float(math.ceil(users / rate) - 1), "ideal_linear_s": round(users / rate, 2)}


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


# --- one run -------------------------------------------------------------------------------------
@dataclass
class Sampler:
    """System CPU (and, for a local run, the master's CPU and memory) every 0.1 s while a run goes on."""

    cli: psutil.Process | None
    stopped: threading.Event = field(default_factory=threading.Event)
    system: list[tuple[float, Any]] = field(default_factory=list)
    master: list[tuple[float, float]] = field(default_factory=list)
    master_pid: int | None = None
    master_hwm_kb: int = 0
    master_started_at: float | None = None

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_INTERVAL_S):
            now = time.time()
            self.system.append((now, psutil.cpu_times()))
            if self.cli is not None:
                self._sample_master(now)

    def _sample_master(self, now: float) -> None:
        try:
            if self.master_pid is None and self.cli is not None and (found := node_process(self.cli, "master")):
                self.master_pid, self.master_started_at = found.pid, found.create_time()
            if self.master_pid is None:
                return
            master = psutil.Process(self.master_pid)
            cpu = master.cpu_times()
            self.master.append((now, cpu.user + cpu.system))
            status = Path(f"/proc/{self.master_pid}/status").read_text()
            hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
            self.master_hwm_kb = max(self.master_hwm_kb, hwm)
        except (psutil.Error, OSError, StopIteration):
            pass  # the master has not started yet, or has just exited: the samples so far stand

    def system_busy(self, start: float, end: float) -> dict[str, float] | None:
        """Share of all cores busy (and stolen by the hypervisor) between two wall-clock times."""
        inside = [(t, c) for t, c in self.system if start <= t <= end]
        if len(inside) < 2:
            return None
        (_, first), (_, last) = inside[0], inside[-1]
        total = sum(last) - sum(first)
        idle = (last.idle + last.iowait) - (first.idle + first.iowait)
        steal = getattr(last, "steal", 0.0) - getattr(first, "steal", 0.0)
        cores = psutil.cpu_count() or 1
        return {
            "cores_busy": round(cores * (total - idle) / total, 2) if total > 0 else 0.0,
            "steal_percent": round(100 * steal / total, 1) if total > 0 else 0.0,
        }

    def master_cpu_at(self, when: float) -> float | None:
        """The master's CPU seconds at a wall-clock time, interpolated between samples."""
        before = [(t, c) for t, c in self.master if t <= when]
        after = [(t, c) for t, c in self.master if t >= when]
        if not before or not after:
            return None
        (t0, c0), (t1, c1) = before[-1], after[0]
        return c0 if t1 == t0 else c0 + (c1 - c0) * (when - t0) / (t1 - t0)


def run_once(command: list[str], env: dict[str, str], results: Path, timeout_s: float,
             users: int, watch_master: bool) -> dict[str, Any]:  # fmt: skip
    """One `loadcluster run`; its time to peak, what ran beside it, and (local) what the master cost."""
    load_before = load_average()
    log = results.parent / f"{results.name}.log"
    with log.open("wb") as out:
        cli = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=results.parent)
    sampler = Sampler(psutil.Process(cli.pid) if watch_master else None)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    try:
        code = cli.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stop(cli)  # the CLI tears its own stack down on SIGTERM
        code = None
    finally:
        sampler.stopped.set()
        thread.join()
    row: dict[str, Any] = {"exit_code": code, "load_average_before": load_before, "load_average_after": load_average()}
    if code is None:
        return {**row, "error": f"timed out after {timeout_s:g}s; see {log}"}
    try:
        run = run_dir(results)
        summary = read_summary(run)
    except ValueError:
        return {**row, "error": f"no summary.json (exit code {code}); see {log}"}
    peak = summary["users"]["peak_reached_at_s"]
    started = datetime.fromisoformat(summary["run"]["started_at"]).timestamp()
    ended = datetime.fromisoformat(summary["run"]["ended_at"]).timestamp()
    master_log = run / "logs" / "master.log"
    row.update({
        "peak_s": peak,
        "peak_users": summary["users"]["peak"],
        # Locust's master waits 1 s after its last spawn message for the workers' reports, then says so.
        "locust_report_wait_expired": master_log.is_file() and "report waittime is expired" in master_log.read_text(),
        "busiest_worker_cpu_percent": summary["generator"].get("sustained_cpu_percent"),
    })  # fmt: skip
    if peak is not None and summary["users"]["peak"] >= users:
        row["during_ramp"] = sampler.system_busy(started, started + peak)
    if watch_master and sampler.master:
        row["master"] = master_figures(sampler, started, ended)
    return row


def master_figures(sampler: Sampler, started: float, ended: float) -> dict[str, Any]:
    (first_t, _), (last_t, last_cpu) = sampler.master[0], sampler.master[-1]
    lifetime_s = last_t - (sampler.master_started_at or first_t)
    at_start, at_end = sampler.master_cpu_at(started), sampler.master_cpu_at(ended)
    load_cpu = None if at_start is None or at_end is None else at_end - at_start
    return {
        # From its start (imports, waiting for the workers) to its last sample, just before it exits.
        "cpu_seconds": round(last_cpu, 2),
        "lifetime_s": round(lifetime_s, 1),
        "cpu_percent": round(100 * last_cpu / lifetime_s, 1) if lifetime_s > 0 else None,
        # While the users ran (test start to the stop of the load, by the summary's clock).
        "load_cpu_seconds": None if load_cpu is None else round(load_cpu, 2),
        "load_seconds": round(ended - started, 1),
        "load_cpu_percent": None if load_cpu is None else round(100 * load_cpu / (ended - started), 1),
        "peak_rss_mb": round(sampler.master_hwm_kb / 1024, 1),
    }


def summarize_runs(runs: list[dict[str, Any]], users: int, rate: float) -> dict[str, Any]:
    """The median run's figures against both ideals; every run kept beside."""
    peaks = [r["peak_s"] for r in runs if r.get("peak_s") is not None and r.get("peak_users", 0) >= users]
    row: dict[str, Any] = {"users": users, "spawn_rate": rate, **ideals(users, rate)}
    if peaks:
        median = statistics.median(peaks)
        row.update({
            "peak_s": round(median, 2),
            "peak_s_min": min(peaks),
            "peak_s_max": max(peaks),
            "ratio_dispatch": round(median / row["ideal_dispatch_s"], 3) if row["ideal_dispatch_s"] else None,
            "ratio_linear": round(median / row["ideal_linear_s"], 3),
        })  # fmt: skip
    else:
        row["peak_s"] = None
    row["runs"] = runs
    return row


@dataclass
class Plan:
    """What every run of one invocation shares."""

    locustfile: Path
    users: int
    rate: float
    repeats: int
    duration_s: int
    scratch: Path


def runs(plan: Plan, runtime: str, host: str, workers: int, watch_master: bool = False,
         network: str | None = None) -> dict[str, Any]:  # fmt: skip
    """`plan.repeats` runs of one configuration, one after the other, and their median."""
    done = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADCLUSTER_")}
    extra = ["--network", network] if network else []
    for attempt in range(plan.repeats):
        results = plan.scratch / f"{runtime}-{workers}w-{attempt}"
        command = [str(LOADCLUSTER), "run", "--runtime", runtime, *extra, "--locustfile", str(plan.locustfile),
                   "--host", host, "--users", str(plan.users), "--spawn-rate", f"{plan.rate:g}", "--workers",
                   str(workers), "--duration", f"{plan.duration_s}s", "--stop-timeout", "1",
                   "--results", str(results)]  # fmt: skip
        if runtime == "compose":
            env["LOADCLUSTER_PROMETHEUS_PORT"] = str(free_port())
        timeout_s = COMPOSE_RUN_TIMEOUT_S if runtime == "compose" else RUN_TIMEOUT_S
        done.append(run_once(command, env, results, timeout_s, plan.users, watch_master))
        print(f"  {runtime} {workers} workers: {describe(done[-1])}", flush=True)
    return summarize_runs(done, plan.users, plan.rate)


def describe(run: dict[str, Any]) -> str:
    if "error" in run:
        return run["error"]
    ramp = run.get("during_ramp") or {}
    return (f"{run['peak_s']}s to {run['peak_users']} users; cores busy while ramping {ramp.get('cores_busy')}; "
            f"load average {run['load_average_before']} -> {run['load_average_after']}")  # fmt: skip


def median_master(rows: dict[str, Any], workers: int, users: int) -> dict[str, Any] | None:
    masters = [r["master"] for r in rows.get(str(workers), {}).get("runs", []) if "master" in r]
    if not masters:
        return None
    median = sorted(masters, key=lambda m: m["cpu_seconds"])[len(masters) // 2]
    return {"workers": workers, "users": users, **median, "runs": masters}


# --- Compose -------------------------------------------------------------------------------------
def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def docker_unavailable() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on this machine"
    try:
        done = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=20)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 20 s"
    if done.returncode != 0:
        return f"no Docker engine answers (`docker info`: {(done.stderr or done.stdout).strip()[:200]})"
    if shutil.which("nsenter") is None or shutil.which("nginx") is None:
        return "nsenter and nginx are needed to serve the target inside the bench's own container"
    return None


def node_image() -> str:
    return os.environ.get("LOADCLUSTER_IMAGE") or f"loadcluster:{metadata.version('loadcluster')}"


def container_nginx_conf(directory: Path) -> Path:
    """common.nginx()'s files and configuration in `directory`, listening on every address (of the
    container's network namespace) instead of 127.0.0.1."""
    directory.chmod(0o755)  # nginx's worker drops root for its own user, which must read www/
    (directory / "www").mkdir()
    (directory / "tmp").mkdir()
    (directory / "www" / LOAD_PATH.lstrip("/")).write_bytes(BODY)
    loopback = NGINX_CONF.format(dir=directory, port=CONTAINER_PORT, load_path=LOAD_PATH)
    listen = f"listen 127.0.0.1:{CONTAINER_PORT};"
    if listen not in loopback:
        raise SystemExit(f"bench: common.NGINX_CONF no longer says `{listen}`: update container_nginx_conf")
    conf = directory / "nginx.conf"
    conf.write_text(loopback.replace(listen, f"listen {CONTAINER_PORT};"))
    return conf


@contextmanager
def container_nginx() -> Iterator[tuple[str, str]]:
    """nginx, this machine's binary, in the network namespace of a placeholder container (the node
    image, sleeping) that is `target` on a Docker network of the bench's own. Yields (network, URL).
    Everything is removed afterwards."""
    image = node_image()
    if docker("image", "inspect", image, check=False).returncode != 0:
        # The CLI builds it itself when the source changed; the placeholder needs it before that.
        subprocess.run([str(LOADCLUSTER), "image"], check=True, timeout=600)
    name = f"spawn-bench-{secrets.token_hex(4)}"
    process: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="spawn-bench-nginx-") as tmp:
        conf = container_nginx_conf(Path(tmp))
        docker("network", "create", name)
        try:
            # Its life is bounded even if this script is killed: the placeholder sleeps 30 minutes at most.
            docker("run", "-d", "--name", f"{name}-target", "--network", name, "--network-alias", "target",
                   "--entrypoint", "sleep", image, "1800")  # fmt: skip
            pid = docker("inspect", "-f", "{{.State.Pid}}", f"{name}-target").stdout.strip()
            process = subprocess.Popen(["nsenter", "-t", pid, "-n", "nginx", "-c", str(conf), "-p", tmp],
                                       stderr=subprocess.DEVNULL)  # fmt: skip
            url = f"http://127.0.0.1:{CONTAINER_PORT}{LOAD_PATH}"
            probe = f"import urllib.request as u; u.urlopen('{url}', timeout=1)"
            wait_until(
                lambda: docker("exec", f"{name}-target", "python3", "-c", probe, check=False).returncode == 0,
                20,
                "nginx in the target container did not answer",
            )
            yield name, f"http://target:{CONTAINER_PORT}"
        finally:
            if process is not None:
                stop(process)
            docker("rm", "-f", f"{name}-target", check=False)
            docker("network", "rm", name, check=False)


# --- worker costs --------------------------------------------------------------------------------
def worker_costs(users: int) -> dict[str, Any]:
    done = subprocess.run([str(VENV_BIN / "python"), "-c", WORKER_COST_PROBE, str(users)], capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    return {
        **json.loads(done.stdout.strip().splitlines()[-1]),
        "what": "one spawn message in an idle worker process: Locust's own option filtering (option_filter_ms), "
        "which loadcluster's worker avoids by computing Locust's defaults once (option_filter_tuned_ms), "
        "and creating create_users users",
    }


# --- the report ----------------------------------------------------------------------------------
def runs_of(count: int) -> str:
    return f"{count} run{'s' if count != 1 else ''}"


def markdown(figures: dict[str, Any], repeats: int) -> str:
    """The table bench/run.py prints: one row a configuration, then the master's CPU and memory."""
    users, rate = QUICK if figures["quick"] else SPIKE
    lines = [
        f"{users} users at {rate:g}/s, median of {runs_of(repeats)} (min–max). Dispatch "
        "ideal: Locust's master sends the last users after ceil(users/rate) − 1 s; linear: users/rate.",
        "",
        "| Runtime | Workers | Time to peak, s | Dispatch ideal, s | Ratio | Linear ideal, s | Ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for runtime in ("local", "compose"):
        rows = figures.get(runtime) or {}
        if "skipped" in rows:
            lines.append(f"| {runtime} | | skipped: {rows['skipped']} | | | | |")
            continue
        for workers, row in rows.items():
            if row.get("peak_s") is None:
                errors = "; ".join(sorted({str(r.get("error", "users short of the peak")) for r in row["runs"]}))
                lines.append(f"| {runtime} | {workers} | no time to peak: {errors} | | | | |")
                continue
            dispatch = f"{row['ratio_dispatch']:.2f}" if row["ratio_dispatch"] is not None else "–"
            lines.append(
                f"| {runtime} | {workers} | **{row['peak_s']:.2f}** ({row['peak_s_min']:.2f}–{row['peak_s_max']:.2f}) "
                f"| {row['ideal_dispatch_s']:g} | {dispatch} | {row['ideal_linear_s']:g} | {row['ratio_linear']:.2f} |"
            )
    lines.append("")
    if master := figures.get("master"):
        lines.append(
            f"Master (local, {master['workers']} workers, {master['users']} users, "
            f"{'' if len(master['runs']) % 2 else 'upper '}median by CPU of {runs_of(len(master['runs']))}): "
            f"{master['cpu_seconds']} CPU-s over its {master['lifetime_s']} s ({master['cpu_percent']} % of a core), "
            f"{master['load_cpu_seconds']} CPU-s while the users ran ({master['load_cpu_percent']} %); "
            f"peak RSS {master['peak_rss_mb']} MB."
        )
    else:
        lines.append("Master: not measured (no local run reached its peak).")
    return "\n".join(lines)


def print_report(figures: dict[str, Any]) -> None:
    print()
    print(figures["markdown"])
    if costs := figures.get("worker_costs"):
        print(
            f"One spawn message, idle worker process: Locust's filtering of the {costs['options_sent']} options "
            f"{costs['option_filter_ms']} ms ({costs['option_filter_tuned_ms']} ms with loadcluster's worker "
            f"tuning); creating {costs['create_users']} users {costs['create_users_ms']} ms."
        )
    host = figures["machine"]
    beside = ", ".join(host["others_before"]) or "nothing busy"
    print(
        f"{host['cpus']} CPUs, Locust {host['versions']['locust']}; load average (1 min) "
        f"{host['load_average_1m_5m_at_start'][0]} before, {host['load_average_1m_after']} after; beside it: {beside}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--quick", action="store_true", help="100 users at 50/s over 2 local workers, once")
    parser.add_argument("--repeats", type=int, default=2, help="runs per configuration (median reported; default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the runs' results and logs (path printed)")
    args = parser.parse_args()
    if not LOADCLUSTER.is_file():
        raise SystemExit(f"bench: {LOADCLUSTER} not found: install the project in this venv first")

    scratch = Path(tempfile.mkdtemp(prefix="spawn-bench-"))
    scratch.chmod(0o755)
    # In a directory of its own: Compose mounts the locustfile's directory.
    (scratch / "locustfile").mkdir(mode=0o755)
    locustfile = scratch / "locustfile" / "spawn.py"
    locustfile.write_text(LOCUSTFILE.format(path=LOAD_PATH))
    locustfile.chmod(0o644)  # the containers' user reads it through the mount
    users, rate = QUICK if args.quick else SPIKE
    repeats = 1 if args.quick else args.repeats
    plan = Plan(locustfile, users, rate, repeats, QUICK_DURATION_S if args.quick else DURATION_S, scratch)
    local_workers = (2,) if args.quick else LOCAL_WORKERS
    master_workers = 2 if args.quick else MASTER_WORKERS
    figures: dict[str, Any] = {"quick": args.quick}
    before = {**machine(), "others_before": busiest_other_processes({os.getpid()})}
    try:
        # A worker's share of one step: users a second over the workers of the master's figures.
        figures["worker_costs"] = worker_costs(int(rate) // master_workers)
        with nginx() as target:
            figures["local"] = {
                str(workers): runs(plan, "local", target.url, workers, watch_master=workers == master_workers)
                for workers in local_workers
            }
        if master := median_master(figures["local"], master_workers, users):
            figures["master"] = master
        if args.quick:
            figures["compose"] = {"skipped": "--quick runs the local runtime only"}
        elif reason := docker_unavailable():
            figures["compose"] = {"skipped": reason}
        else:
            with container_nginx() as (network, host):
                figures["compose"] = {"8": runs(plan, "compose", host, 8, network=network)}
    finally:
        if args.keep:
            print(f"runs kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    figures["machine"] = {**before, "load_average_1m_after": load_average()}
    figures["markdown"] = markdown(figures, repeats)
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
