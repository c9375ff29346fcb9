"""What the Compose tests share: their environment and a check that a project left nothing behind."""

from __future__ import annotations

import os
import re
import subprocess

from loadcluster.runtimes.docker import PROJECT_LABEL
from loadcluster.runtimes.processes import free_port


def compose_env() -> dict[str, str]:
    """Compose runs from a test: their own Prometheus port, nothing from the caller's LOADCLUSTER_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADCLUSTER_")}
    return {**env, "LOADCLUSTER_PROMETHEUS_PORT": str(free_port()), "LOADCLUSTER_RUNTIME": "compose"}


def project_of(output: str) -> str:
    match = re.search(r"starting Compose project (loadcluster-[0-9a-f]+)", output)
    assert match, output
    return match[1]


def leftovers(project: str) -> list[str]:
    """Containers, networks and volumes still labelled with the Compose project."""
    found = []
    for kind, every in (("container", ["-a"]), ("network", []), ("volume", [])):
        listing = ["docker", kind, "ls", *every, "-q", "--filter", f"label={PROJECT_LABEL}={project}"]
        found += subprocess.run(listing, capture_output=True, text=True, check=True).stdout.split()
    return found
