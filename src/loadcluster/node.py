"""`loadcluster master` and `loadcluster worker`: one Locust node, with the plugin loaded.

Every runtime starts nodes this way (local processes, Compose services, Kubernetes pods), passing the
plan as `LOADCLUSTER_*` environment variables, so a master behaves the same wherever it runs.
Importing Locust monkey-patches the process with gevent, which is why only these verbs import it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from enum import StrEnum

from loadcluster.errors import ConfigError
from loadcluster.node_env import MASTER_BIND_HOST_ENV, MASTER_HOST_ENV, MASTER_PORT_ENV, WORKERS_WAIT_ENV
from loadcluster.plan import RunOptions, RunPlan, build_plan

DEFAULT_MASTER_PORT = "5557"
WORKER_WAIT_AFTER_STOP_ENV = "LOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP"
DEFAULT_WORKERS_WAIT_S = "60"


class Role(StrEnum):
    MASTER = "master"
    WORKER = "worker"


def locust_argv(role: Role, plan: RunPlan, environ: Mapping[str, str]) -> list[str]:
    """The Locust command line for one node of `plan`."""
    common = ["locust", "-f", str(plan.locustfile), "--stop-timeout", f"{plan.stop_timeout_s:g}"]
    port = environ.get(MASTER_PORT_ENV, DEFAULT_MASTER_PORT)
    if role is Role.WORKER:
        return [*common, "--worker", "--master-host", environ.get(MASTER_HOST_ENV, "127.0.0.1"), "--master-port", port]
    if plan.host is None:
        raise ConfigError(f"the master needs a target: set {RunOptions.env_name('host')} to an http(s) URL")
    return [
        *common,
        "--master",
        "--headless",
        "--only-summary",  # the plugin logs compact progress lines instead of Locust's table
        "--host",
        plan.host,
        "--master-bind-host",
        environ.get(MASTER_BIND_HOST_ENV, "*"),
        "--master-bind-port",
        port,
        "--expect-workers",
        str(plan.workers),
        "--expect-workers-max-wait",
        environ.get(WORKERS_WAIT_ENV, DEFAULT_WORKERS_WAIT_S),
        # Users of a worker that dies are restarted on the others, so the run keeps its load.
        "--enable-rebalancing",
    ]


def run_node(role: Role) -> None:
    """Build the plan from the environment, then hand the process over to Locust (never returns)."""
    plan = build_plan(RunOptions.from_env())
    sys.argv = locust_argv(role, plan, os.environ)
    if role is Role.WORKER:
        # After a "stop", a worker sleeps stop_timeout in its message loop before it reads the next
        # message, so the master's "quit" and heartbeats would wait. Locust adds this variable to that
        # sleep; cancelling it lets the worker leave as soon as its users are stopped.
        os.environ.setdefault(WORKER_WAIT_AFTER_STOP_ENV, str(-math.ceil(plan.stop_timeout_s)))
    from locust.main import main

    import loadcluster.plugin  # noqa: F401  registers the event listeners before Locust starts

    main()
