"""The seed plans against the demo target, through the real `locust` command.

Each test starts the demo target in its own process on a free loopback port, runs one plan headless
for a few seconds and then checks both sides: Locust saw no failures (so no 4xx or 5xx, which for
agent-mitra means no 401 or 403), and the target received the traffic the plan is meant to send.

User counts are one full cycle of each plan's class weights: Locust then starts exactly `weight`
users of every class, so even the weight-1 super admin runs, and every user makes its first request
at once instead of after a wait.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, DemoTarget

from loadcluster.target.roles import ROLES

pytestmark = pytest.mark.integration

LOCUST = Path(sys.executable).with_name("locust")
RUN_TIME_S = 12
AGENT_MITRA_USERS = 1 + 2 + 3 + 10 + 20 + 50 + 5
CUSTOMER_SUCCESS_USERS = 60 + 25 + 15 + 5


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def run_plan(plan: str, users: int, host: str, out: Path) -> list[dict[str, Any]]:
    """Run locust/<plan> headless against `host`; Locust's per-request stats."""
    stats_file = out / "stats"
    command = [
        str(LOCUST),
        "-f",
        str(REPO / "locust" / plan),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{RUN_TIME_S}s",
        "--host",
        host,
        "--only-summary",
        "--json-file",
        str(stats_file),
    ]
    finished = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=RUN_TIME_S + 45)
    assert finished.returncode == 0, f"locust exited {finished.returncode}:\n{finished.stderr[-4000:]}"
    entries: list[dict[str, Any]] = json.loads(stats_file.with_suffix(".json").read_text())
    return entries


def failures(entries: list[dict[str, Any]]) -> dict[str, int]:
    return {f"{e['method']} {e['name']}": e["num_failures"] for e in entries if e["num_failures"]}


def total_requests(entries: list[dict[str, Any]]) -> int:
    return sum(entry["num_requests"] for entry in entries)


def test_agent_mitra_every_role_works_without_auth_errors(demo_target: DemoTarget, tmp_path: Path) -> None:
    entries = run_plan("agent_mitra.py", AGENT_MITRA_USERS, demo_target.url, tmp_path)
    received = get_json(f"{demo_target.url}/_target/stats")

    assert failures(entries) == {}
    assert set(received["logins_by_role"]) == set(ROLES)
    assert received["logins_by_role"]["policyholder"] == 50  # one login per user, no re-logins
    # Everything Locust recorded reached the target (requests cut off at shutdown may add a few).
    assert received["requests_total"] >= total_requests(entries) > AGENT_MITRA_USERS


def test_customer_success_reaches_forms_and_both_webhooks(demo_target: DemoTarget, tmp_path: Path) -> None:
    entries = run_plan("customer_success.py", CUSTOMER_SUCCESS_USERS, demo_target.url, tmp_path)
    received = get_json(f"{demo_target.url}/_target/stats")["by_endpoint"]

    assert failures(entries) == {}
    assert received.get("POST /api/v1/support/form", 0) > 0
    assert received.get("POST /api/v1/webhooks/gmail", 0) > 0
    assert received.get("POST /api/v1/webhooks/whatsapp", 0) > 0
    # Every health-check user's first task is one or the other.
    assert received.get("GET /health", 0) + received.get("GET /metrics", 0) > 0
