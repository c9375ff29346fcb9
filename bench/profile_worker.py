"""Where a loaded worker's CPU goes: a loadcluster worker under cProfile, making requests with no wait
against nginx for a fixed time; its top functions by own time, as shares of the profiled time.

Own time only: with greenlets switching inside calls, cProfile's "with callees" times count the same
seconds many times. cProfile also slows the worker down and weighs many small calls more than a
sampling profiler would, so read the shares as an order, not as figures (docs/benchmarks.md has what
`perf` said besides).

`python bench/profile_worker.py [--quick] [--json PATH]`
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from common import PLANS, VENV_BIN, nginx

from loadcluster.runtimes.processes import free_port

PLAN = PLANS / "json_reader.py"
USERS = 10
TOP = 15
# `loadcluster worker` under cProfile from its first spawn, timed by CPU, not wall time: a worker
# waiting on its sockets or on the master is not busy. It leaves through sys.exit when told to quit.
PROFILED_WORKER = """
import cProfile, sys, time
from locust import events
from loadcluster.cli import main
output = sys.argv[1]  # before the worker replaces sys.argv with Locust's command line
profiler = cProfile.Profile(time.process_time)
events.test_start.add_listener(lambda **_: profiler.enable())  # the requests, not the imports
try:
    main(["worker"])
finally:
    profiler.disable()
    profiler.dump_stats(output)
"""


def profile(seconds: int) -> pstats.Stats:
    with nginx() as target, tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        port = str(free_port())
        master = [str(VENV_BIN / "locust"), "-f", str(PLAN), "--master", "--headless", "--host", target.url,
                  "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s", "--expect-workers", "1",
                  "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--only-summary"]  # fmt: skip
        output = Path(tmp) / "worker.prof"
        worker = [str(VENV_BIN / "python"), "-c", PROFILED_WORKER, str(output)]
        env = {**os.environ, "LOADCLUSTER_LOCUSTFILE": str(PLAN), "LOADCLUSTER_MASTER_HOST": "127.0.0.1",
               "LOADCLUSTER_MASTER_PORT": port}  # fmt: skip
        quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        with subprocess.Popen(master, **quiet) as master_process:  # type: ignore[call-overload]
            # The worker ends when the master's run ends and tells it to quit, and cProfile writes then.
            subprocess.run(worker, env=env, timeout=seconds + 60, check=False, stdout=subprocess.DEVNULL)
            master_process.wait(timeout=30)
        return pstats.Stats(str(output))


def top_entries(stats: pstats.Stats) -> list[dict[str, Any]]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table here
    total = sum(entry[2] for entry in raw.values())
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:TOP]
    return [
        {
            "function": _name(where),
            "calls": entry[1],
            "own_share": round(entry[2] / total, 3),
        }
        for where, entry in rows
    ]


def _name(where: tuple[str, int, str]) -> str:
    path, line, function = where
    if path == "~":
        return function  # a built-in
    parts = Path(path).parts
    short = "/".join(parts[parts.index("site-packages") + 1 :]) if "site-packages" in parts else Path(path).name
    return f"{short}:{line} {function}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 4 s profile (CI smoke)")
    parser.add_argument("--json", type=Path, help="also write the top entries here")
    args = parser.parse_args()
    entries = top_entries(profile(4 if args.quick else 12))
    for entry in entries:
        print(f"{entry['own_share']:6.1%}  {entry['calls']:>9}  {entry['function']}")
    if args.json:
        args.json.write_text(json.dumps({"users": USERS, "top": entries}, indent=2) + "\n")


if __name__ == "__main__":
    main()
