"""Benchmark: how long a run takes to have all its users running (summary.json `users.peak_reached_at_s`),
against the ideal, for 2, 4 and 8 local workers and 8 Compose workers; and what the master costs.

Every run is the real CLI (`loadcluster run`) with a tiny FastHttpUser locustfile whose users wait 1 s
between requests, so that the generator is not saturated while it spawns, against nginx serving a
small JSON document: on 127.0.0.1 for the local runtime; for Compose, the same nginx binary started in
the network namespace of a placeholder container of this script's own on a Docker network of its own
(reached there as `target`), since containers cannot reach this machine's loopback. Load goes nowhere
else; every run is bounded in time (12 s of load, a timeout on the whole command) and stops by itself.

Two ideals, both in the JSON. Locust's master deals floor(rate) users a second, the first batch at
once and none after the last (locust/dispatch.py), so N users at rate r from none are all sent after
(ceil(N/r) - 1) s: the dispatch ideal, which only the workers' own spawning time adds to. A linear ramp
of N users at r/s takes N/r s: the ideal a person reading "spawn rate" has in mind. Ratios are to both.

Where the time goes, measured beside the runs:
- `worker_costs`: what a worker spends on one spawn message, in a process of its own on an idle loop:
  creating 25 users (its share of a 200/s step over 8 workers) and the option filtering Locust 2.47's
  WorkerRunner does on every spawn message, which rebuilds Locust's whole argument parser once per
  option the master sent (`k not in argument_parser.default_args_dict()` inside a comprehension).
- `*_cached_parser` rows: the same runs with a locustfile that caches `default_args_dict()` (its
  result is the same for the life of the process), i.e. what a worker gains without that rebuild.
- system CPU while the users ramp up (both cores' busy share, steal) and the load average around each
  run: this machine has 2 cores, and other people's benchmarks may run beside this one.

`--quick` (a CI smoke run, well under a minute): 100 users at 50/s over 2 local workers, once.
`--json PATH` also writes the figures: {"local": {"2": {"peak_s", "ideal_dispatch_s", "ideal_linear_s",
"ratio_dispatch", "ratio_linear", "runs": [...]}, ...}, "local_cached_parser": {...}, "compose": {...} or
{"skipped": "..."}, "master": {"cpu_seconds", "cpu_percent", "peak_rss_mb", ...}, "worker_costs": {...},
"machine": {...}}.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOADCLUSTER = BIN / "loadcluster"
BODY = b'{"id": 42, "name": "loadcluster", "status": "ok", "items": [1, 2, 3]}\n'
LOAD_PATH = "/data.json"
CONTAINER_PORT = 8080
# Seconds of load per run: the 1000-user ramp takes about 5; the rest shows the users holding.
DURATION_S = 12
QUICK_DURATION_S = 5
RUN_TIMEOUT_S = 150  # the whole command: start-up, load, drain, results
COMPOSE_RUN_TIMEOUT_S = 400  # Compose may rebuild the node image first (the source changed)
SAMPLE_INTERVAL_S = 0.1
SPIKE = (1000, 200.0)  # users, spawn rate
QUICK = (100, 50.0)
LOCAL_WORKERS = (2, 4, 8)

LOCUSTFILE = '''\
"""Users that wait 1 s between requests: spawning, not the load, is what the run measures."""
{patch}
from locust import FastHttpUser, constant, task


class Waiting(FastHttpUser):
    wait_time = constant(1)

    @task
    def data(self):
        self.client.get("{path}")
'''
# What the `_cached_parser` runs add at the top of the locustfile (imported by each worker before its
# first spawn message): Locust's default options do not change during a process's life.
CACHED_PARSER_PATCH = """
import functools

from locust import argument_parser

argument_parser.default_args_dict = functools.cache(argument_parser.default_args_dict)
"""

NGINX_CONF = """\
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  keepalive_requests 1000000;
  default_type application/json;
  server {{
    listen {listen};
    root {dir}/www;
  }}
}}
"""

# Run in a fresh interpreter: a worker's costs for one spawn message, without any other process or
# greenlet competing. Prints one JSON object.
WORKER_COST_PROBE = """
import json, sys, time
from locust import FastHttpUser, argument_parser, constant, task
from locust.env import Environment

class Waiting(FastHttpUser):
    host = "http://127.0.0.1:9"
    wait_time = constant(1)
    @task
    def data(self):
        pass

users = int(sys.argv[1])
env = Environment(user_classes=[Waiting])
master_options = vars(argument_parser.get_parser().parse_args(["-f", "x.py", "--master", "--headless"]))
argument_parser.default_args_dict()  # the first call imports what later calls reuse
started = time.perf_counter()
{k: v for k, v in master_options.items() if k not in argument_parser.default_args_dict()}
filtering = time.perf_counter() - started
started = time.perf_counter()
created = [Waiting(env) for _ in range(users)]
creating = time.perf_counter() - started
print(json.dumps({"options_sent": len(master_options), "option_filter_ms": round(filtering * 1000, 1),
                  "create_users": users, "create_users_ms": round(creating * 1000, 1)}))
"""


# --- helpers -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float, failure: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {failure} within {timeout_s:g}s")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def stop(process: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    """SIGTERM to a process this script started, SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def ideals(users: int, rate: float) -> dict[str, float]:
    return {"ideal_dispatch_s": float(math.ceil(users / rate) - 1), "ideal_linear_s": round(users / rate, 2)}


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def busiest_others(exclude: set[int], limit: int = 4) -> list[str]:
    """Other processes using CPU right now (a 0.5 s look), to say what ran beside a measurement."""
    procs = []
    for process in psutil.process_iter(["pid", "name"]):
        if process.pid in exclude or process.pid == os.getpid():
            continue
        try:
            process.cpu_percent(None)
            procs.append(process)
        except psutil.Error:
            continue
    time.sleep(0.5)
    found = []
    for process in procs:
        try:
            percent = process.cpu_percent(None)
            if percent >= 5:
                found.append((percent, " ".join(process.cmdline()[:4])[:80] or process.name()))
        except psutil.Error:
            continue
    return [f"{percent:.0f}% {what}" for percent, what in sorted(found, reverse=True)[:limit]]


# --- nginx ---------------------------------------------------------------------------------------
def nginx_dir(listen: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="spawn-bench-nginx-"))
    directory.chmod(0o755)  # nginx's worker drops root for `nobody`, which must read www/
    (directory / "www").mkdir(mode=0o755)
    (directory / "tmp").mkdir()
    (directory / "www" / LOAD_PATH.lstrip("/")).write_bytes(BODY)
    (directory / "www" / LOAD_PATH.lstrip("/")).chmod(0o644)
    (directory / "nginx.conf").write_text(NGINX_CONF.format(dir=directory, listen=listen))
    return directory


@contextmanager
def loopback_nginx() -> Iterator[str]:
    """nginx on a free 127.0.0.1 port, one worker process; yields its URL."""
    if shutil.which("nginx") is None:
        raise SystemExit("bench: nginx is not installed (apt-get install -y nginx)")
    port = free_port()
    directory = nginx_dir(f"127.0.0.1:{port}")
    process = subprocess.Popen(["nginx", "-c", str(directory / "nginx.conf"), "-p", str(directory)],
                               stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(url + LOAD_PATH), 10, "nginx did not answer")
        yield url
    finally:
        stop(process)
        shutil.rmtree(directory, ignore_errors=True)


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
            if self.master_pid is None:
                for child in self.cli.children(recursive=True) if self.cli else []:
                    if child.cmdline()[-2:] == ["loadcluster", "master"]:
                        self.master_pid, self.master_started_at = child.pid, child.create_time()
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


def only_summary(results: Path) -> tuple[dict[str, Any], Path]:
    (path,) = (p for p in results.glob("*/summary.json") if not p.parent.is_symlink())
    return dict(json.loads(path.read_text())), path.parent


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
        summary, run_dir = only_summary(results)
    except ValueError:
        return {**row, "error": f"no summary.json (exit code {code}); see {log}"}
    peak = summary["users"]["peak_reached_at_s"]
    started = datetime.fromisoformat(summary["run"]["started_at"]).timestamp()
    ended = datetime.fromisoformat(summary["run"]["ended_at"]).timestamp()
    master_log = run_dir / "logs" / "master.log"
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


def local_runs(host: str, locustfile: Path, workers: int, users: int, rate: float, repeats: int, scratch: Path,
               duration_s: int = DURATION_S, watch_master: bool = False) -> dict[str, Any]:  # fmt: skip
    runs = []
    for attempt in range(repeats):
        results = scratch / f"local-{locustfile.parent.name}-{workers}w-{attempt}"
        command = [str(LOADCLUSTER), "run", "--runtime", "local", "--locustfile", str(locustfile), "--host", host,
                   "--users", str(users), "--spawn-rate", f"{rate:g}", "--workers", str(workers),
                   "--duration", f"{duration_s}s", "--stop-timeout", "1", "--results", str(results)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOADCLUSTER_")}
        runs.append(run_once(command, env, results, RUN_TIMEOUT_S, users, watch_master))
        print(f"  local {workers} workers ({locustfile.parent.name}): {describe(runs[-1])}", flush=True)
    return summarize_runs(runs, users, rate)


def describe(run: dict[str, Any]) -> str:
    if "error" in run:
        return run["error"]
    ramp = run.get("during_ramp") or {}
    return (f"{run['peak_s']}s to {run['peak_users']} users; cores busy while ramping {ramp.get('cores_busy')}; "
            f"load average {run['load_average_before']} -> {run['load_average_after']}")  # fmt: skip


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
    from importlib.metadata import version

    return os.environ.get("LOADCLUSTER_IMAGE") or f"loadcluster:{version('loadcluster')}"


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
    directory = nginx_dir(f"0.0.0.0:{CONTAINER_PORT}")
    process: subprocess.Popen[bytes] | None = None
    docker("network", "create", name)
    try:
        # Its life is bounded even if this script is killed: the placeholder sleeps 30 minutes at most.
        docker("run", "-d", "--name", f"{name}-target", "--network", name, "--network-alias", "target",
               "--entrypoint", "sleep", image, "1800")  # fmt: skip
        pid = docker("inspect", "-f", "{{.State.Pid}}", f"{name}-target").stdout.strip()
        process = subprocess.Popen(["nsenter", "-t", pid, "-n", "nginx", "-c", str(directory / "nginx.conf"),
                                    "-p", str(directory)], stderr=subprocess.DEVNULL)  # fmt: skip
        probe = f"import urllib.request as u; u.urlopen('http://127.0.0.1:{CONTAINER_PORT}{LOAD_PATH}', timeout=1)"
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
        shutil.rmtree(directory, ignore_errors=True)


def compose_runs(network: str, host: str, locustfile: Path, workers: int, users: int, rate: float, repeats: int,
                 scratch: Path) -> dict[str, Any]:  # fmt: skip
    runs = []
    for attempt in range(repeats):
        results = scratch / f"compose-{locustfile.parent.name}-{workers}w-{attempt}"
        command = [str(LOADCLUSTER), "run", "--runtime", "compose", "--network", network, "--locustfile",
                   str(locustfile), "--host", host, "--users", str(users), "--spawn-rate", f"{rate:g}",
                   "--workers", str(workers), "--duration", f"{DURATION_S}s", "--stop-timeout", "1",
                   "--results", str(results)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOADCLUSTER_")}
        env["LOADCLUSTER_PROMETHEUS_PORT"] = str(free_port())
        runs.append(run_once(command, env, results, COMPOSE_RUN_TIMEOUT_S, users, watch_master=False))
        print(f"  compose {workers} workers ({locustfile.parent.name}): {describe(runs[-1])}", flush=True)
    return summarize_runs(runs, users, rate)


# --- worker costs --------------------------------------------------------------------------------
def worker_costs(users: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", WORKER_COST_PROBE, str(users)], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- main ----------------------------------------------------------------------------------------
def write_locustfiles(scratch: Path) -> tuple[Path, Path]:
    """The locustfile as is, and with the cached parser; each in a directory of its own (Compose mounts it)."""
    paths = []
    for name, patch in (("plain", ""), ("cached_parser", CACHED_PARSER_PATCH)):
        directory = scratch / name
        directory.mkdir(mode=0o755)
        path = directory / "spawn.py"
        path.write_text(LOCUSTFILE.format(patch=patch, path=LOAD_PATH))
        path.chmod(0o644)  # the containers' user reads it through the mount
        paths.append(path)
    return paths[0], paths[1]


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "locust": _version("locust"),
        "load_average_1m": load_average(),
    }


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def print_table(figures: dict[str, Any]) -> None:
    print()
    print(f"{'runtime':<22} {'workers':>7} {'users@rate':>11} {'peak s':>7} {'min-max':>11} {'dispatch':>8} "
          f"{'ratio':>6} {'linear':>7} {'ratio':>6}  within 10% of dispatch/linear")  # fmt: skip
    for section in ("local", "local_cached_parser", "compose", "compose_cached_parser"):
        rows = figures.get(section) or {}
        if "skipped" in rows:
            print(f"{section:<22} skipped: {rows['skipped']}")
            continue
        for workers, row in rows.items():
            if row.get("peak_s") is None:
                print(f"{section:<22} {workers:>7} no time to peak: {[r.get('error') for r in row['runs']]}")
                continue
            within = [
                "yes" if ratio is not None and ratio <= 1.1 else "no"
                for ratio in (row["ratio_dispatch"], row["ratio_linear"])
            ]
            print(f"{section:<22} {workers:>7} {row['users']:>5}@{row['spawn_rate']:<5g} {row['peak_s']:7.2f} "
                  f"{row['peak_s_min']:5.2f}-{row['peak_s_max']:<5.2f} {row['ideal_dispatch_s']:8.2f} "
                  f"{row['ratio_dispatch'] or 0:6.3f} {row['ideal_linear_s']:7.2f} {row['ratio_linear']:6.3f}  "
                  f"{'/'.join(within)}")  # fmt: skip
    if master := figures.get("master"):
        print(f"\nmaster, {master.get('workers')} workers and {master.get('users')} users (local): "
              f"{master['cpu_seconds']} CPU-s over its {master['lifetime_s']} s ({master['cpu_percent']}% of a core); "
              f"{master['load_cpu_seconds']} CPU-s while the users ran ({master['load_cpu_percent']}%); "
              f"peak RSS {master['peak_rss_mb']} MB")  # fmt: skip
    if costs := figures.get("worker_costs"):
        print(
            f"one worker, one spawn message, idle process: filtering the {costs['options_sent']} options "
            f"{costs['option_filter_ms']} ms; creating {costs['create_users']} users {costs['create_users_ms']} ms"
        )
    ma = figures["machine"]
    print(
        f"{ma['cpus']} CPUs, Locust {ma['locust']}; load average {ma['load_average_1m']} before, "
        f"{ma['load_average_1m_after']} after; beside it: {', '.join(ma['others_before']) or 'nothing busy'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--quick", action="store_true", help="100 users at 50/s over 2 local workers, once")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the runs' results and logs (path printed)")
    args = parser.parse_args()
    if not LOADCLUSTER.is_file():
        raise SystemExit(f"bench: {LOADCLUSTER} not found: install the project in this venv first")

    scratch = Path(tempfile.mkdtemp(prefix="spawn-bench-"))
    scratch.chmod(0o755)
    plain, cached = write_locustfiles(scratch)
    figures: dict[str, Any] = {"quick": args.quick}
    before = machine()
    before["others_before"] = busiest_others(set())
    try:
        with loopback_nginx() as url:
            if args.quick:
                users, rate = QUICK
                figures["local"] = {"2": local_runs(url, plain, 2, users, rate, 1, scratch, QUICK_DURATION_S)}
            else:
                users, rate = SPIKE
                figures["worker_costs"] = worker_costs(users // 8 // math.ceil(users / rate))
                figures["local"] = {}
                for workers in LOCAL_WORKERS:
                    figures["local"][str(workers)] = local_runs(
                        url, plain, workers, users, rate, args.repeats, scratch, watch_master=workers == 8
                    )
                figures["local_cached_parser"] = {"8": local_runs(url, cached, 8, users, rate, args.repeats, scratch)}
                masters = [r["master"] for r in figures["local"]["8"]["runs"] if "master" in r]
                if masters:
                    median = sorted(masters, key=lambda m: m["cpu_seconds"])[len(masters) // 2]
                    figures["master"] = {"workers": 8, "users": users, **median, "runs": masters}
        if not args.quick:
            users, rate = SPIKE
            if reason := docker_unavailable():
                figures["compose"] = {"skipped": reason}
            else:
                with container_nginx() as (network, host):
                    figures["compose"] = {
                        "8": compose_runs(network, host, plain, 8, users, rate, args.repeats, scratch)
                    }
                    figures["compose_cached_parser"] = {
                        "8": compose_runs(network, host, cached, 8, users, rate, args.repeats, scratch)
                    }
    finally:
        if args.keep:
            print(f"runs kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    figures["machine"] = {**before, "load_average_1m_after": load_average()}
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
