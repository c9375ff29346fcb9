"""What a run exposes: target credentials appear in no artefact and no process argument, the master's
stats endpoint and the exporter listen on loopback only on the local runtime, and with an access token
they answer only requests that carry it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, processes_mentioning, wait_until

from loadcluster.runtimes.processes import free_port

pytestmark = pytest.mark.integration


def test_target_credentials_are_in_no_artefact_and_no_argument(results_dir: Path, tmp_path: Path) -> None:
    password = f"pw-{secrets.token_hex(8)}"  # the seed plan's logins, as a user's secret would be
    output = tmp_path / "out.txt"
    plan = ["--suite", "agent-mitra", "--users", "7", "--spawn-rate", "7", "--duration", "5s", "--stop-timeout", "1"]
    command = [sys.executable, "-m", "loadcluster", "run", *plan, "--metrics-port", str(free_port()),
               "--results", str(results_dir)]  # fmt: skip
    env = {**os.environ, "AGENT_MITRA_PASSWORD": password}
    arguments: list[str] = []
    listening: set[str] = set()
    with output.open("w") as out:
        cli = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    try:
        wait_until(lambda: "all 7 users running" in output.read_text(), 60, "the users to run")
        for process in processes_mentioning(str(results_dir)):
            arguments += process.cmdline()
            listening |= {f"{c.laddr.ip}" for c in process.net_connections("tcp") if c.status == "LISTEN"}
        assert cli.wait(timeout=60) == 0, output.read_text()
    finally:
        cli.kill()
    assert password not in " ".join(arguments)
    assert listening == {"127.0.0.1"}, listening  # target, master (ZeroMQ, stats) and exporter
    artefacts = [p for p in results_dir.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in artefacts) and any(p.name == "master.log" for p in artefacts)
    leaked = [str(p) for p in artefacts if password.encode() in p.read_bytes()]
    assert not leaked and password not in output.read_text(), leaked


def test_an_access_token_guards_the_stats_endpoint_and_the_exporter(results_dir: Path, tmp_path: Path) -> None:
    """With LOADCLUSTER_ACCESS_TOKEN, a request without the token gets 401 from the master's stats
    endpoint and from the exporter; the supervisor (progress) and the exporter use it; it is nowhere else."""
    token = f"tk-{secrets.token_hex(8)}"
    metrics_port = free_port()
    output = tmp_path / "out.txt"
    plan = ["--users", "4", "--spawn-rate", "4", "--duration", "6s", "--stop-timeout", "1"]
    command = [sys.executable, "-m", "loadcluster", "run", *plan, "--metrics-port", str(metrics_port),
               "--results", str(results_dir)]  # fmt: skip
    env = {**os.environ, "LOADCLUSTER_ACCESS_TOKEN": token}
    with output.open("w") as out:
        cli = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    try:
        wait_until(
            lambda: "all 4 users running" in output.read_text(), 60, "the users to run (progress read with the token)"
        )
        (master,) = [p for p in processes_mentioning(str(results_dir)) if p.cmdline()[-1:] == ["master"]]
        stats = f"http://127.0.0.1:{master.environ()['LOADCLUSTER_STATS_PORT']}/stats"
        metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        assert status(stats) == 401 and status(metrics) == 401
        assert status(stats, token) == 200
        wait_until(lambda: status(metrics, token) == 200, 10, "the exporter to answer with the token")
        assert cli.wait(timeout=60) == 0, output.read_text()
    finally:
        cli.kill()
    assert token not in output.read_text()
    assert not [p for p in results_dir.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]


def status(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
