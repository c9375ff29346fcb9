"""Memory of idle users: a worker's resident memory with few users and with 1000 more, the difference
per 1000 users (two loadcluster runs in one invocation, one worker each, users that wait an hour).

`python bench/idle_memory.py [--quick] [--json PATH]`
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from common import PLANS, VENV_BIN, Nginx, nginx, node_process, stop, wait_until

PLAN = PLANS / "idle_user.py"
BASE_USERS = 10
SPAWN_RATE = 100  # Locust's advice: at most 100 users/s per worker
SETTLE_S = 2.0  # after the last user made its request


def worker_rss(target: Nginx, users: int) -> int:
    """The worker's resident bytes once all `users` made their one request and settled."""
    duration_s = users / SPAWN_RATE + 20
    with tempfile.TemporaryDirectory(prefix="bench-results-") as results:
        command = [str(VENV_BIN / "loadcluster"), "run", "--runtime", "local", "--locustfile", str(PLAN),
                   "--host", target.url, "--users", str(users), "--spawn-rate", str(SPAWN_RATE), "--workers", "1",
                   "--duration", f"{duration_s:.0f}s", "--stop-timeout", "1", "--results", results]  # fmt: skip
        served_before = target.served()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # Every user makes one request, then waits: the count says when all are there.
            wait_until(lambda: target.served() - served_before >= users, duration_s, f"{users} users never all ran")
            time.sleep(SETTLE_S)
            worker = node_process(psutil.Process(process.pid), "worker")
            if worker is None:
                raise RuntimeError("the run's one worker process was not found")
            return worker.memory_info().rss
        finally:
            stop(process)


def measure(extra_users: int) -> dict[str, Any]:
    with nginx() as target:
        few = worker_rss(target, BASE_USERS)
        many = worker_rss(target, BASE_USERS + extra_users)
    per_1000 = (many - few) / extra_users * 1000
    return {
        "plan": f"{PLAN.name}: FastHttpUser, one request then an hour's wait, one worker",
        "rss_mb": {str(BASE_USERS): round(few / 2**20, 1), str(BASE_USERS + extra_users): round(many / 2**20, 1)},
        "rss_mb_per_1000_users": round(per_1000 / 2**20, 1),
        "kb_per_user": round(per_1000 / 1000 / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 users instead of 1000 (CI smoke)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(100 if args.quick else 1000)
    print(f"worker RSS {figures['rss_mb']} MB: {figures['rss_mb_per_1000_users']} MB per 1000 idle users")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
