"""The summary's time to peak (`users.peak_reached_at_s`) to a hundredth of a second, on a real run.

Its users take a known time to create (their constructor waits), so the moment the last of them runs
is known in advance: the last spawn message leaves at a whole second (Locust deals floor(rate) users
a second, none after the last), and the workers then spend their users' creation time. A sampler of
one reading a second, as the master used to be, reads 2.0 s for either run below. Load goes only to
the test's own server on 127.0.0.1; runs last a few seconds and stop by themselves.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from conftest import CountingServer, loadcluster
from own_plan import only_summary

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("heavy")]

LOCUSTFILE = """\
import gevent
from locust import FastHttpUser, constant, task


class SlowToStart(FastHttpUser):
    wait_time = constant(1)

    def __init__(self, environment):
        super().__init__(environment)
        gevent.sleep({cost})  # the worker creates its users one after another: each costs this much

    @task
    def ping(self):
        self.client.get("/ping")
"""

# Locust's own log lines on the master, with their millisecond timestamps.
STAMP = r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]"


def run(tmp_path: Path, server: CountingServer, results: Path, users: int, rate: int, cost_s: float) -> str:
    """A two-worker run of `users` at `rate`; returns the master's log."""
    locustfile = tmp_path / "slow.py"
    locustfile.write_text(LOCUSTFILE.format(cost=cost_s))
    done = loadcluster(
        "run", "--runtime", "local", "--locustfile", str(locustfile), "--host", server.url,
        "--users", str(users), "--spawn-rate", str(rate), "--workers", "2", "--duration", "4s",
        "--stop-timeout", "1", "--results", str(results), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (log,) = (p for p in results.glob("*/logs/master.log") if not p.parent.parent.is_symlink())
    return log.read_text()


def stamp(log: str, message: str) -> datetime:
    match = re.search(STAMP + r".*" + re.escape(message), log)
    assert match, f"no '{message}' in the master's log:\n{log}"
    return datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")


def test_peak_reached_when_the_last_workers_report_lands(
    tmp_path: Path, counting_server: CountingServer, results_dir: Path
) -> None:
    """40 users at 20/s: the last spawn message leaves at 1 s, each worker then creates 10 users at
    30 ms each, so all run at 1.3 s at the earliest; Locust's own log agrees to its millisecond."""
    log = run(tmp_path, counting_server, results_dir, users=40, rate=20, cost_s=0.03)
    summary = only_summary(results_dir)
    reached = summary["users"]["peak_reached_at_s"]
    assert summary["users"]["peak"] == 40
    assert 1.3 <= reached <= 1.9, reached
    assert reached == round(reached, 2)
    # Locust logs its "Sending spawn jobs" line just before the test starts, and "All users spawned"
    # just after the event the figure is taken from: the same interval by another clock.
    by_locust = (stamp(log, "All users spawned") - stamp(log, "Sending spawn jobs of 40 users")).total_seconds()
    assert abs(reached - by_locust) <= 0.05, (reached, by_locust)
    assert "all 40 users running after" in log


def test_peak_reached_after_locust_stopped_waiting_for_the_workers(
    tmp_path: Path, counting_server: CountingServer, results_dir: Path
) -> None:
    """20 users at 20/s: one spawn message at 0 s, then each worker spends 1.5 s creating its 10 users.
    Locust waits only 1 s for their reports and says spawning is complete with none counted yet; the
    time to peak is still when the last report lands, not when Locust stopped waiting."""
    log = run(tmp_path, counting_server, results_dir, users=20, rate=20, cost_s=0.15)
    assert "report waittime is expired" in log  # the case this test is about did happen
    summary = only_summary(results_dir)
    reached = summary["users"]["peak_reached_at_s"]
    assert summary["users"]["peak"] == 20
    assert 1.5 <= reached <= 1.9, reached
