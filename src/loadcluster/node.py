"""`loadcluster master` and `loadcluster worker`: one Locust node, with the plugin loaded.

Every runtime starts nodes this way (local processes, Compose services, Kubernetes pods). The master
takes the plan whole from `LOADCLUSTER_PLAN`, or builds it from its `LOADCLUSTER_*` options when
started by hand; a worker needs only `LOADCLUSTER_LOCUSTFILE` and the master's address: everything
else (users, tags, classes, stop timeout) comes from the master.
Importing Locust monkey-patches the process with gevent, which is why only these verbs import it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from enum import StrEnum

from loadcluster import options
from loadcluster.errors import ConfigError
from loadcluster.locustfiles import files_in
from loadcluster.options import Verb
from loadcluster.plan import RunPlan, build_plan


class Role(StrEnum):
    MASTER = "master"
    WORKER = "worker"


def master_plan(environ: Mapping[str, str]) -> RunPlan:
    """The plan document when a runtime gave one, else the plan built from the options' variables."""
    document = environ.get(options.env_name("plan"))
    if document:
        return RunPlan.from_document(document)
    return build_plan(options.settings(Verb.NODE, {}, environ))


def master_argv(plan: RunPlan, environ: Mapping[str, str]) -> list[str]:
    """The Locust command line of the master of `plan`."""
    node = options.settings(Verb.NODE, {}, environ)
    if plan.demo_target and plan.host is None:
        raise ConfigError(f"the master needs a target: set {options.env_name('host')} to an http(s) URL")
    return [
        *("locust", "-f", plan.locustfiles.locust_arg, "--master", "--headless"),
        "--only-summary",  # progress comes from the stats document, not Locust's table
        *(("--host", plan.host) if plan.host else ()),
        *("--stop-timeout", f"{plan.stop_timeout_s:g}"),
        *("--master-bind-host", node["master_bind_host"], "--master-bind-port", str(node["master_port"])),
        *("--expect-workers", str(plan.workers), "--expect-workers-max-wait", f"{node['expect_workers_wait']:g}"),
        # Users of a worker that dies are restarted on the others, so the run keeps its load.
        "--enable-rebalancing",
        *(("--tags", *plan.tags) if plan.tags else ()),
        *(("--exclude-tags", *plan.exclude_tags) if plan.exclude_tags else ()),
        *plan.user_classes,
    ]


def worker_argv(environ: Mapping[str, str]) -> list[str]:
    """The Locust command line of a worker: its locustfiles and where the master is."""
    node = options.settings(Verb.NODE, {}, environ, names=("locustfile", "master_host", "master_port"))
    if not node["locustfile"]:
        raise ConfigError(f"a worker needs its locustfiles: set {options.env_name('locustfile')}")
    files = files_in(node["locustfile"]).locust_arg
    return ["locust", "-f", files, "--worker", "--master-host", node["master_host"], "--master-port",
            str(node["master_port"])]  # fmt: skip


def run_node(role: Role) -> None:
    """Hand the process over to Locust with the plugin active (never returns)."""
    from loadcluster import plugin

    if role is Role.MASTER:
        plan = master_plan(os.environ)
        sys.argv = master_argv(plan, os.environ)
        plugin.activate_master(plan)
    else:
        from loadcluster.worker_tuning import tune_worker

        sys.argv = worker_argv(os.environ)
        tune_worker()
        plugin.activate_worker()
    from locust.main import main

    main()
