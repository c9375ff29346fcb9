"""Runtimes place a RunPlan's master and workers somewhere and bring back a results directory.

Each runtime is one module with a class following `supervision.Runtime`; `choose` is the one place
where a run's runtime is decided, and `RUNTIMES` the one list of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from loadcluster.options import RuntimeName
from loadcluster.plan import RunPlan
from loadcluster.runtimes.supervision import Runtime

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


def choose(values: Mapping[str, Any], plan: RunPlan) -> tuple[Runtime, str]:
    """The runtime for `plan`, and why: auto is Compose when a Docker engine answers and the target
    is not on this machine's loopback (which containers cannot reach), else local."""
    requested: RuntimeName = values["runtime"]
    if requested is not RuntimeName.AUTO:
        return create(requested, values), f"--runtime {requested.value}"
    loopback = [h for h in _targets(plan) if is_loopback_host(h)]
    if loopback:
        return create(
            RuntimeName.LOCAL, values
        ), f"host {loopback[0]} is on this machine's loopback, which containers cannot reach"
    from loadcluster.runtimes.docker import engine_answers

    engine = engine_answers()
    if engine is None:
        return create(RuntimeName.LOCAL, values), "no Docker engine answers"
    return create(RuntimeName.COMPOSE, values), f"Docker engine {engine} answers"


def create(name: RuntimeName, values: Mapping[str, Any]) -> Runtime:
    if name is RuntimeName.COMPOSE:
        from loadcluster.runtimes.compose import ComposeRuntime

        return ComposeRuntime(values)
    from loadcluster.runtimes.local import LocalRuntime

    return LocalRuntime(values)


def _targets(plan: RunPlan) -> tuple[str, ...]:
    return (plan.host,) if plan.host else plan.class_hosts


def is_loopback_host(host: str | None) -> bool:
    return bool(host) and urlparse(host).hostname in LOOPBACK_NAMES
