"""Faults on real processes: a worker or the master dies mid-run, the target goes away for a while;
the load, the numbers and the exit code must still be right. Local runtime: real master, workers and
targets on 127.0.0.1; each run is bounded and stops by itself.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from conftest import REPO, processes_mentioning, wait_until
from own_plan import write_plan

from loadcluster.runtimes.processes import free_port, wait_for_port
from loadcluster.stats_api import read_stats

pytestmark = pytest.mark.integration


@dataclass
class Run:
    cli: subprocess.Popen[bytes]
    output: Path
    results: Path

    def text(self) -> str:
        return self.output.read_text()

    def node(self, role: str) -> list[psutil.Process]:
        """The run's master or worker processes, found by their command line and results directory."""
        return [p for p in processes_mentioning(str(self.results)) if p.cmdline()[-1:] == [role]]

    def stats(self) -> dict:
        (master,) = self.node("master")
        document = read_stats(f"http://127.0.0.1:{master.environ()['LOADCLUSTER_STATS_PORT']}/stats")
        assert document is not None
        return document

    def summary(self) -> dict:
        (run_dir,) = [p for p in self.results.iterdir() if p.is_dir() and not p.is_symlink()]
        return dict(json.loads((run_dir / "summary.json").read_text()))


@pytest.fixture
def smoke_run(results_dir: Path, tmp_path: Path) -> Iterator[Run]:
    """The smoke scenario (10 users, 2 workers, a minute) running, all users up."""
    output = tmp_path / "out.txt"
    command = [sys.executable, "-m", "loadcluster", "run", "--scenario", "smoke", "--stop-timeout", "1",
               "--results", str(results_dir)]  # fmt: skip
    with output.open("w") as out:
        cli = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    run = Run(cli, output, results_dir)
    try:
        wait_until(lambda: "users 10/10" in run.text(), 60, "10 users running")
        yield run
    finally:
        cli.kill()
        cli.wait()


def running_users(document: dict) -> int:
    return sum(w["users"] for w in document["workers"] if w["state"] in ("running", "spawning"))


def test_a_killed_worker_is_replaced_and_its_users_restored_within_2_s(smoke_run: Run) -> None:
    (doomed,) = [w for w in smoke_run.node("worker") if w.environ()["LOADCLUSTER_WORKER_NAME"] == "worker-1"]
    doomed.kill()
    killed_at = time.monotonic()
    wait_until(lambda: "WARNING: worker-1 died (killed by SIGKILL)" in smoke_run.text(), 5, "the supervisor to see it")
    wait_until(lambda: running_users(smoke_run.stats()) == 10 and len(smoke_run.node("worker")) == 2, 10,
               "10 users on live workers")  # fmt: skip
    restored_after = time.monotonic() - killed_at
    smoke_run.cli.send_signal(2)
    stopped_at = time.monotonic()
    assert smoke_run.cli.wait(timeout=30) == 2  # interrupted
    stop_s = time.monotonic() - stopped_at
    lost = smoke_run.summary()["users"]["workers_lost"]
    assert [(x["worker"], x["how"]) for x in lost] == [("worker-1", "killed by SIGKILL")]
    print(f"users restored {restored_after:.1f}s after the kill; stopped {stop_s:.1f}s after SIGINT")
    assert restored_after < 2.5, restored_after
    assert stop_s < 10, stop_s  # the drain does not wait for the dead worker


def test_a_killed_master_leaves_an_incomplete_summary_and_no_load(smoke_run: Run) -> None:
    """SIGKILL to the master mid-run: workers stop within 5 s, the supervisor writes the last figures
    it saw as a summary marked incomplete, says how the master died, and exits 2."""
    (master,) = smoke_run.node("master")
    workers = smoke_run.node("worker")
    master.kill()
    killed_at = time.monotonic()
    wait_until(lambda: not any(w.is_running() and w.status() != "zombie" for w in workers), 5, "workers to stop")
    load_stopped_after = time.monotonic() - killed_at
    assert smoke_run.cli.wait(timeout=30) == 2
    assert "ERROR: the master died (killed by SIGKILL)" in smoke_run.text(), smoke_run.text()
    summary = smoke_run.summary()
    assert summary["slo"]["verdict"] == "incomplete" and "master died" in summary["incomplete"]
    assert summary["totals"]["requests"] > 0 and summary["endpoints"]
    print(f"load stopped {load_stopped_after:.1f}s after the master's SIGKILL")


def start_server(port: int) -> subprocess.Popen[bytes]:
    """tests/counting_server.py in a process of its own, so that killing it breaks its connections."""
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("counting_server.py")), str(port)])
    assert wait_for_port("127.0.0.1", port, 10, alive=None)
    return server


def test_a_target_down_for_part_of_the_run_fails_the_gate_with_the_errors_named(
    tmp_path: Path, results_dir: Path
) -> None:
    """The target is killed for ~3 s of an 8 s run: the run goes on, failures are recorded per
    endpoint with their error, and the SLO gate fails (exit 3) on the failure rate."""
    port = free_port()
    target = start_server(port)
    locustfile = write_plan(tmp_path / "plan")
    command = [sys.executable, "-m", "loadcluster", "run", "--locustfile", str(locustfile), "--users", "4",
               "--spawn-rate", "4", "--duration", "8s", "--stop-timeout", "1", "--host", f"http://127.0.0.1:{port}",
               "--results", str(results_dir)]  # fmt: skip
    output = tmp_path / "out.txt"
    with output.open("w") as out:
        cli = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_until(lambda: "all 4 users running" in output.read_text(), 60, "the users to run")
        target.kill()
        target.wait()
        time.sleep(3)  # the outage itself: its length is the point, not a wait for a condition
        target = start_server(port)
        assert cli.wait(timeout=60) == 3, output.read_text()
    finally:
        cli.kill()
        target.kill()
        target.wait()
    summary = json.loads(next(p for p in results_dir.glob("*/summary.json") if not p.parent.is_symlink()).read_text())
    failed = {c["name"] for c in summary["slo"]["checks"] if not c["passed"]}
    assert "max_failure_percent" in failed
    assert summary["totals"]["failures"] > 0 and summary["totals"]["requests"] > summary["totals"]["failures"]
    assert {e["name"] for e in summary["errors"]} <= {"/shop/items", "/shop/basket", "/admin/report"}
    assert any("Connection" in e["error"] or "refused" in e["error"] for e in summary["errors"]), summary["errors"]
    assert "Verdict: FAILED" in output.read_text()


PHASES = [
    # (what the CLI has said when the signal comes, signal, exit code, verdict)
    ("master and 2 workers started", signal.SIGINT, 2, "interrupted"),  # starting: workers connecting
    ("stage ramp-and-hold", signal.SIGTERM, 2, "interrupted"),  # ramping: 10 users at 2/s
    ("all 10 users running", signal.SIGINT, 2, "interrupted"),  # holding
    ("stopping: users finish", signal.SIGTERM, 0, "passed"),  # draining: the load is over, the run complete
]


@pytest.mark.parametrize(("said", "signum", "code", "verdict"), PHASES, ids=["starting", "ramping", "holding",
                                                                              "draining"])  # fmt: skip
def test_a_signal_at_any_phase_stops_the_load_and_writes_the_results(
    said: str, signum: int, code: int, verdict: str, results_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out.txt"
    command = [sys.executable, "-m", "loadcluster", "run", "--scenario", "smoke", "--time-scale", "0.15",
               "--stop-timeout", "1", "--results", str(results_dir)]  # fmt: skip
    with output.open("w") as out:
        cli = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_until(lambda: said in output.read_text(), 60, f"'{said}'")
        cli.send_signal(signum)
        assert cli.wait(timeout=40) == code, output.read_text()
    finally:
        cli.kill()
    summary = json.loads(next(p for p in results_dir.glob("*/summary.json") if not p.parent.is_symlink()).read_text())
    assert summary["slo"]["verdict"] == verdict
    # The results_dir fixture then checks that no process of the run is left.


def test_a_second_ctrl_c_forces_the_quit_and_leaves_nothing(results_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.txt"
    command = [sys.executable, "-m", "loadcluster", "run", "--scenario", "smoke", "--results", str(results_dir)]
    with output.open("w") as out:
        cli = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_until(lambda: "all 10 users running" in output.read_text(), 60, "the users to run")
        cli.send_signal(signal.SIGINT)
        wait_until(lambda: "interrupted: stopping the run" in output.read_text(), 5, "the first Ctrl-C to be seen")
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=20) == 2
    finally:
        cli.kill()
    assert "aborting: stopping every process now" in output.read_text()
    wait_until(lambda: not processes_mentioning(str(results_dir)), 10, "every process of the run to end")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: room for the summary, not for Locust's HTML report (root only: mount)."""
    directory = tmp_path / "small-disk"
    directory.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(directory)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root only): {mounted.stderr.decode().strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def test_a_full_disk_at_the_end_keeps_the_verdict_and_says_what_is_missing(small_disk: Path) -> None:
    command = [sys.executable, "-m", "loadcluster", "run", "--scenario", "smoke", "--time-scale", "0.1",
               "--stop-timeout", "1", "--results", str(small_disk)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert "master: ERROR: could not write Locust's CSV and HTML reports" in output, output
    assert done.returncode == 0, output  # the verdict was written first, and it passed
    (summary,) = [p for p in small_disk.glob("*/summary.json") if not p.parent.is_symlink()]
    assert json.loads(summary.read_text())["slo"]["verdict"] == "passed"


def test_a_worker_that_keeps_dying_is_restarted_three_times_then_left_down(tmp_path: Path, results_dir: Path) -> None:
    """A locustfile whose users kill their worker: the supervisor does not restart it every second forever."""
    crashing = tmp_path / "crash.py"
    crashing.write_text(
        "import os\nfrom locust import HttpUser, task\n\n\nclass CrashUser(HttpUser):\n"
        "    host = 'http://127.0.0.1:9'\n\n    def on_start(self):\n        os._exit(7)\n\n"
        "    @task\n    def nothing(self):\n        pass\n"
    )
    port = free_port()
    target = start_server(port)
    try:
        command = [sys.executable, "-m", "loadcluster", "run", "--locustfile", str(crashing), "--users", "1",
                   "--spawn-rate", "1", "--duration", "20s", "--workers", "1", "--stop-timeout", "1",
                   "--host", f"http://127.0.0.1:{port}", "--results", str(results_dir)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)
    finally:
        target.kill()
        target.wait()
    output = done.stdout + done.stderr
    assert output.count("WARNING: worker-1 died (exit code 7)") == 4, output
    assert "it died 4 times, so it stays down" in output
    assert "Traceback" not in output
