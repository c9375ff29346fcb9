"""What the benchmarks share: a fast target on 127.0.0.1 (nginx), process-tree CPU, and the machine.

nginx is the target because it is fast enough that the generator, not the target, is what a run
measures; it still shares the cores with the generator, which is why every figure is a ratio taken in
one invocation (requests per generator CPU-second), never an absolute time from another run.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from loadcluster.runtimes.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(os.environ.get("LOADCLUSTER_BENCH_BIN", ROOT / ".venv" / "bin"))
PLANS = Path(__file__).resolve().parent / "plans"
# A small JSON document, like an API's answer.
BODY = b'{"id": 42, "name": "loadcluster", "status": "ok", "items": [1, 2, 3]}\n'
LOAD_PATH = "/data.json"

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  keepalive_requests 10000000;
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
    location = {load_path} {{ access_log {dir}/access.log; }}
    location = /stub {{ stub_status; }}
  }}
}}
"""


@dataclass
class Nginx:
    url: str
    directory: Path

    def served(self) -> int:
        """Requests for the load path so far: one access-log line each (written unbuffered)."""
        with (self.directory / "access.log").open("rb") as log:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: log.read(1 << 20), b""))

    def handled(self) -> int:
        """nginx's own request counter (stub_status): cheap to read often; counts this read too."""
        with urllib.request.urlopen(self.url + "/stub", timeout=5) as response:
            text = response.read().decode()
        return int(text.splitlines()[2].split()[2])


@contextmanager
def nginx() -> Iterator[Nginx]:
    """nginx on a free 127.0.0.1 port, one worker process, serving BODY at LOAD_PATH."""
    if shutil.which("nginx") is None:
        raise SystemExit("bench: nginx is not installed (apt-get install -y nginx)")
    with tempfile.TemporaryDirectory(prefix="loadcluster-bench-") as tmp:
        directory = Path(tmp)
        directory.chmod(0o755)  # nginx's worker drops root for its own user, which must read www/
        (directory / "www").mkdir()
        (directory / "tmp").mkdir()
        (directory / "www" / LOAD_PATH.lstrip("/")).write_bytes(BODY)
        (directory / "access.log").touch()
        port = free_port()
        conf = directory / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=directory, port=port, load_path=LOAD_PATH))
        process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(directory)], stderr=subprocess.DEVNULL)
        server = Nginx(f"http://127.0.0.1:{port}", directory)
        try:
            wait_until(lambda: _answers(server.url + LOAD_PATH), 10, "nginx did not answer")
            yield server
        finally:
            process.terminate()
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def wait_until(condition: Any, timeout_s: float, failure: str, every_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(failure)
        time.sleep(every_s)


def run_dir(results: Path) -> Path:
    """The one run directory written under `results` (ValueError if none or several); its summary is
    `loadcluster.results.read_summary(run_dir(results))`."""
    (path,) = (p for p in results.glob("*/summary.json") if not p.parent.is_symlink())
    return path.parent


def node_process(cli: psutil.Process, role: str) -> psutil.Process | None:
    """The `loadcluster master` or the one `loadcluster worker` a local run's CLI started, if running."""
    found = [p for p in cli.children(recursive=True) if p.cmdline()[-2:] == ["loadcluster", role]]
    return found[0] if len(found) == 1 else None


def tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """user + system CPU of each process still alive, by pid."""
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings by the processes present in both (a process that started or
    ended in between is left out: compare like with like)."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def stop(process: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    """SIGTERM, then SIGKILL for the whole tree if it does not end in time: no load is left running."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        for child in tree(psutil.Process(process.pid)):
            child.kill()
        process.wait(timeout=10)


def machine() -> dict[str, Any]:
    """Where the figures were taken, and what else was running at the time."""
    load1, load5, _ = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in ("locust", "gevent", "geventhttpclient", "prometheus-client")},
        "nginx": _first_line(["nginx", "-v"]),
        "wrk": _first_line(["wrk", "-v"]),
        "load_average_1m_5m_at_start": [round(load1, 2), round(load5, 2)],
    }


def busiest_other_processes(exclude: set[int], limit: int = 5) -> list[str]:
    """The processes besides the benchmark that used CPU over the last second: what ran beside."""
    processes = [p for p in psutil.process_iter(["pid", "name"]) if p.pid not in exclude]
    for process in processes:
        try:
            process.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(1)
    busy = []
    for process in processes:
        try:
            percent = process.cpu_percent(None)
        except psutil.Error:
            continue
        if percent >= 5:
            busy.append((percent, f"{process.info['name']} {percent:.0f}%"))
    return [text for _, text in sorted(busy, reverse=True)[:limit]]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "absent"
    output = (done.stdout + done.stderr).strip()
    return output.splitlines()[0] if output else "absent"
