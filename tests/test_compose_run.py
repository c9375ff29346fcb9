"""The Compose runtime for real: containers on this machine's Docker engine, load only between them.

Skipped only when no Docker engine answers (CI always starts one: see .ci/run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from compose_helpers import compose_env, leftovers, project_of, remove_project
from conftest import REPO, loadcluster, wait_until

from loadcluster.runtimes.docker import PROJECT_LABEL, engine_answers
from loadcluster.runtimes.processes import free_port
from loadcluster.stats_api import read_stats

ENGINE = engine_answers()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("heavy"),
    pytest.mark.skipif(ENGINE is None, reason="no Docker engine answers (`docker version` failed); CI starts dockerd"),
]


def test_scaled_down_spike_on_four_worker_containers(tmp_path: Path) -> None:
    results = tmp_path / "results"
    args = ["run", "--scenario", "spike", "--workers", "4", "--time-scale", "0.05", "--results", str(results)]
    done = loadcluster(*args, env=compose_env(), timeout=400)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "runtime compose" in output and "Verdict: PASSED" in output
    (run_dir,) = results.glob("customer-success-spike-*")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["users"]["workers_seen"] == 4
    assert summary["users"]["peak"] == 1000
    assert summary["slo"]["verdict"] == "passed"
    assert summary["run"]["host"] == "http://target:8080"
    target = json.loads((run_dir / "target_stats.json").read_text())
    assert target["requests_total"] == summary["totals"]["requests"]
    assert {"junit.xml", "report.html"} <= {p.name for p in run_dir.iterdir()}
    assert {f"worker-{i}.log" for i in range(1, 5)} | {"master.log", "target.log"} <= {
        p.name for p in (run_dir / "logs").iterdir()
    }
    assert leftovers(project_of(output)) == []


def _prometheus_value(port: str, query: str) -> float | None:
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(query)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            found = json.load(response)["data"]["result"]
    except OSError:
        return None
    return float(found[0]["value"][1]) if found else None


def test_prometheus_scrapes_the_exporter_then_ctrl_c_removes_the_stack(tmp_path: Path) -> None:
    """Mid-run, the stack's Prometheus sees the run's users through the exporter; then Ctrl-C stops
    the run, its results are written and copied out, and the whole project is removed."""
    results = tmp_path / "results"
    command = [sys.executable, "-m", "loadcluster", "run", "--scenario", "smoke", "--results", str(results)]
    log, env = tmp_path / "out.log", compose_env()
    with log.open("w") as out:
        run = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "users 10/10" in log.read_text(), 120, "the smoke run to reach 10 users")
        port = env["LOADCLUSTER_PROMETHEUS_PORT"]
        wait_until(lambda: _prometheus_value(port, 'up{job="loadcluster"}') == 1, 30, "a successful scrape")
        wait_until(lambda: _prometheus_value(port, "sum(loadcluster_users)") == 10, 30, "10 users in Prometheus")
        run.send_signal(signal.SIGINT)
        code = run.wait(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
            remove_project(log.read_text())
    output = log.read_text()
    assert code == 2, output
    assert "interrupted: stopping the run" in output
    (summary,) = results.glob("customer-success-smoke-*/summary.json")
    assert json.loads(summary.read_text())["slo"]["verdict"] == "interrupted"
    assert leftovers(project_of(output)) == []


def test_make_up_serves_the_web_ui_and_make_down_removes_it() -> None:
    web_port = free_port()
    env = {**compose_env(), "MAKEFLAGS": "", "LOADCLUSTER_WEB_PORT": str(web_port)}
    make = ["make", "--no-print-directory", "-C", str(REPO)]
    try:
        up = subprocess.run([*make, "up", "WORKERS=2"], env=env, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"http://127.0.0.1:{web_port}" in up.stdout

        def workers_ready() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/stats/requests", timeout=5) as response:
                return len(json.load(response)["workers"]) == 2

        wait_until(workers_ready, 60, "2 workers to connect to the web-UI master")
    finally:
        down = subprocess.run([*make, "down"], env=env, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers("loadcluster") == []


def test_a_taken_prometheus_port_is_refused_before_anything_starts() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {**compose_env(), "LOADCLUSTER_PROMETHEUS_PORT": str(taken.getsockname()[1])}
        done = loadcluster("run", "--scenario", "smoke", "--time-scale", "0.1", env=env, timeout=120)
    assert done.returncode == 2 and "already in use" in done.stderr, done.stdout + done.stderr
    assert "starting Compose project" not in done.stdout


def test_a_killed_worker_container_comes_back_and_gets_its_users(tmp_path: Path) -> None:
    """One of two worker containers crashes mid-run: the runtime sees the death in Docker's events and
    tells the master, which deals its users to the other at once; Docker restarts the container
    (restart: on-failure) and it gets its share back; the summary records the loss."""
    results = tmp_path / "results"
    command = [sys.executable, "-m", "loadcluster", "run", "--scenario", "smoke", "--stop-timeout", "1",
               "--results", str(results)]  # fmt: skip
    log = tmp_path / "out.log"
    with log.open("w") as out:
        run = subprocess.Popen(command, env=compose_env(), cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "users 10/10" in log.read_text(), 120, "the smoke run to reach 10 users")
        project = project_of(log.read_text())
        containers = subprocess.run(
            ["docker", "ps", "-q", "--filter", f"label={PROJECT_LABEL}={project}",
             "--filter", "label=com.docker.compose.service=worker"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        master = subprocess.run(
            ["docker", "ps", "-q", "--filter", f"label={PROJECT_LABEL}={project}",
             "--filter", "label=com.docker.compose.service=master"],
            capture_output=True, text=True, check=True,
        ).stdout.split()[0]  # fmt: skip
        address = subprocess.run(["docker", "port", master, "8090"], capture_output=True, text=True).stdout.split()[0]
        before = read_stats(f"http://{address}/stats") or {}
        (doomed,) = [w["index"] for w in before["workers"] if w["name"] == containers[0]]
        # A crash, as the OOM killer would do it: `docker kill` is a manual stop, which Docker never restarts.
        pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", containers[0]], capture_output=True,
                             text=True, check=True).stdout.strip()  # fmt: skip
        os.kill(int(pid), signal.SIGKILL)
        killed_at = time.monotonic()

        def live(document: dict | None) -> list[dict]:
            workers = (document or {}).get("workers", [])
            return [w for w in workers if w["state"] in ("running", "spawning") and w["index"] != doomed]

        def users_restored() -> bool:
            return sum(w["users"] for w in live(read_stats(f"http://{address}/stats"))) == 10

        def replacement_joined() -> bool:
            workers = live(read_stats(f"http://{address}/stats"))
            return len(workers) == 2 and sum(w["users"] for w in workers) == 10

        wait_until(users_restored, 10, "10 users on live workers")
        restored_after = time.monotonic() - killed_at
        wait_until(replacement_joined, 30, "the restarted container to get its share")
        rejoined_after = time.monotonic() - killed_at
        assert restored_after < 2.5, restored_after
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=90) == 2, log.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            remove_project(log.read_text())
    (summary,) = [p for p in results.glob("customer-success-smoke-*/summary.json")]
    lost = json.loads(summary.read_text())["users"]["workers_lost"]
    assert len(lost) == 1 and lost[0]["how"] == "exit code 137, SIGKILL", lost
    assert f"WARNING: worker container {containers[0]} died (exit code 137, SIGKILL): the master was told" in (
        log.read_text()
    )
    assert leftovers(project_of(log.read_text())) == []
    print(f"users restored {restored_after:.1f}s, replacement sharing {rejoined_after:.1f}s after the crash")
