"""What a run exposes: target credentials appear in no artefact and no process argument, and the
master's stats endpoint and the exporter listen on loopback only on the local runtime."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
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
