"""Real runs: the demo target, a Locust master and workers as processes talking over ZeroMQ on 127.0.0.1.

Every run is time-scaled to seconds and stops by itself; the `results_dir` fixture fails the test if
any process of the run survives it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import REPO, loadcluster, processes_mentioning, wait_until

pytestmark = pytest.mark.integration


def only_run(results_dir: Path) -> Path:
    runs = [p for p in results_dir.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.xdist_group("heavy")
def test_spike_reaches_1000_users_over_4_workers_and_every_request_is_counted(results_dir: Path) -> None:
    result = loadcluster(
        "run", "--scenario", "spike", "--workers", "4", "--time-scale", "0.05", "--results", str(results_dir)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = only_run(results_dir)
    assert run_dir.name.startswith("customer-success-spike-")
    summary = json.loads((run_dir / "summary.json").read_text())
    target = json.loads((run_dir / "target_stats.json").read_text())
    assert summary["users"]["peak"] == 1000
    assert summary["users"]["workers_seen"] == 4
    assert summary["totals"]["requests"] == target["requests_total"] > 0
    assert summary["slo"]["verdict"] == "passed"
    names = {e["name"] for e in summary["endpoints"]}
    assert {"/api/v1/support/form", "/api/v1/webhooks/gmail", "/api/v1/webhooks/whatsapp"} <= names
    for produced in ("report.html", "stats_stats.csv", "stats_stats_history.csv", "stats_failures.csv", "junit.xml"):
        assert (run_dir / produced).stat().st_size > 0, produced
    assert "stage spike: 1000 users" in result.stdout
    assert "Verdict: PASSED" in result.stdout


def test_slo_breach_exits_with_its_own_code(results_dir: Path) -> None:
    result = loadcluster(
        "run", "--users", "4", "--spawn-rate", "4", "--duration", "3s", "--stop-timeout", "1",
        "--results", str(results_dir), env={"LOADCLUSTER_TARGET_LATENCY_MS": "600"},
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    run_dir = only_run(results_dir)
    failed = [
        c.get("name")
        for c in ElementTree.parse(run_dir / "junit.xml").getroot().iter("testcase")
        if c.find("failure") is not None
    ]
    assert "avg_response_ms" in failed
    assert "Verdict: FAILED" in result.stdout


def test_killing_the_supervisor_stops_every_process(results_dir: Path) -> None:
    cli = subprocess.Popen(
        [sys.executable, "-m", "loadcluster", "run", "--scenario", "smoke", "--results", str(results_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    try:
        # the CLI itself, the demo target, the master and 2 workers
        wait_until(lambda: len(processes_mentioning(str(results_dir))) >= 5, 60, "target, master and workers")
    finally:
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait()
    # The children were told by the kernel (parent-death signal): the results_dir fixture checks none is left.
    wait_until(lambda: not processes_mentioning(str(results_dir)), 30, "the orphaned children to stop")


def test_multiple_runs_scenarios_in_sequence_with_a_combined_summary(results_dir: Path) -> None:
    args = ["--multiple", "smoke,basic", "--time-scale", "0.08", "--stop-timeout", "1", "--results", str(results_dir)]
    result = loadcluster("run", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    combined = next(results_dir.glob("customer-success-multiple-*/combined.json"))
    runs = json.loads(combined.read_text())["runs"]
    assert [r["summary"]["run"]["scenario"] for r in runs] == ["smoke", "basic"]
    assert [r["summary"]["run"]["suite"] for r in runs] == ["customer-success", "agent-mitra"]


def test_worker_stops_its_load_soon_after_its_master_dies(tmp_path: Path) -> None:
    """Locust's workers keep sending load for 60 s after losing their master; ours stop within 5 s
    (3 s without a heartbeat, then no graceful finish). Nodes are started by hand here, as a chart would:
    the master builds its plan from a few variables, the worker knows only its locustfiles and master."""
    from loadcluster.runtimes.processes import free_port, spawn, terminate, wait_for_port
    from loadcluster.stats_api import read_stats

    target_port, master_port, stats_port = free_port(), free_port(), free_port()
    common = {**os.environ, "LOADCLUSTER_MASTER_PORT": str(master_port), "LOADCLUSTER_RUN_DIR": str(tmp_path / "run")}
    master_env = {
        **common,
        "LOADCLUSTER_SCENARIO": "smoke",
        "LOADCLUSTER_WORKERS": "1",
        "LOADCLUSTER_HOST": f"http://127.0.0.1:{target_port}",
        "LOADCLUSTER_LOCUSTFILE": str(REPO / "locust"),
        "LOADCLUSTER_STOP_TIMEOUT": "2",
        "LOADCLUSTER_STATS_PORT": str(stats_port),
    }
    worker_env = {**common, "LOADCLUSTER_LOCUSTFILE": str(REPO / "locust"), "LOADCLUSTER_MASTER_HOST": "127.0.0.1"}
    node = [sys.executable, "-m", "loadcluster"]
    target = spawn("target", [*node, "target", "--port", str(target_port)], common, tmp_path / "target.log")
    master = spawn("master", [*node, "master"], master_env, tmp_path / "master.log")
    worker = spawn("worker", [*node, "worker"], worker_env, tmp_path / "worker.log")
    try:
        assert wait_for_port("127.0.0.1", target_port, 15)

        def users() -> int:
            document = read_stats(f"http://127.0.0.1:{stats_port}/stats")
            return int(document["users"]) if document else 0

        wait_until(lambda: users() == 10, 60, "10 users running on the worker")
        master.process.kill()
        killed_at = time.monotonic()
        worker.process.wait(timeout=40)
        stopped_after = time.monotonic() - killed_at
        print(f"worker stopped {stopped_after:.1f}s after its master's SIGKILL")
        assert stopped_after < 5, stopped_after
    finally:
        terminate([worker, master, target], 5)
