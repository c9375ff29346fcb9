"""Checks every runtime makes before anything starts: the results can be written, the machine can hold
the workers, the target accepts connections. Each failure is one ConfigError line."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from loadcluster.errors import ConfigError, TargetUnreachable
from loadcluster.plan import RunPlan
from loadcluster.runtimes.processes import wait_for_port

TARGET_CHECK_DEADLINE_S = 3.0
# A worker process (Python, Locust, gevent) takes about 60 MiB before its users; leave room for them.
WORKER_MEMORY_MIB = 100

Echo = Callable[[str], None]


def check_writable(directory: Path) -> None:
    """Results that cannot be written are known before the run, not after the load was sent. What
    this check creates to find out, it removes again."""
    missing = [p for p in (directory, *directory.absolute().parents) if not p.exists()]
    created: list[Path] = []
    try:
        for path in reversed(missing):
            path.mkdir()
            created.append(path)
        probe = directory / f".loadcluster-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"results directory '{directory}' cannot be written ({exc.strerror}): pass --results with a "
            "directory you can write"
        ) from None
    finally:
        for path in reversed(created):
            path.rmdir()


def check_machine_holds(plan: RunPlan, echo: Echo) -> None:
    """Workers placed on this machine (processes or containers): refused past its free memory, and
    a warning when they outnumber its cores, since then the generator, not the target, sets latencies."""
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
        available_mib = (
            int(next(line.split()[1] for line in meminfo.splitlines() if line.startswith("MemAvailable"))) // 1024
        )
    except (OSError, StopIteration, ValueError):
        available_mib = None
    needed_mib = plan.workers * WORKER_MEMORY_MIB
    if available_mib is not None and needed_mib > available_mib:
        raise ConfigError(
            f"workers {plan.workers} need about {needed_mib} MiB and this machine has {available_mib} MiB free: "
            f"use at most {max(1, available_mib // WORKER_MEMORY_MIB)} workers here, or a cluster"
        )
    cores = os.cpu_count() or 1
    if plan.workers > 2 * cores:
        echo(
            f"warning: {plan.workers} workers share this machine's {cores} cores: past one worker a core, "
            "their CPU, not the target, may set the latencies"
        )


def check_reachable(host: str) -> None:
    """Fail fast: a run of 100 % connection errors is not a load test. A TCP connect, not a request,
    so the check adds nothing to the target's request count."""
    url = urlparse(host)
    port = url.port or (443 if url.scheme == "https" else 80)
    if not wait_for_port(url.hostname or "", port, TARGET_CHECK_DEADLINE_S):
        raise TargetUnreachable(
            f"target {host} is unreachable (no TCP connection to {url.hostname}:{port} within "
            f"{TARGET_CHECK_DEADLINE_S:g}s): start it, or check --host"
        )
