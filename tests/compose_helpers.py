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


def remove_project(output: str) -> None:
    """Last resort after a failed test that had to kill the CLI: remove what its project left running."""
    match = re.search(r"starting Compose project (loadcluster-[0-9a-f]+)", output)
    if not match:
        return
    label = f"label={PROJECT_LABEL}={match[1]}"
    for listing, removal in (
        (["ps", "-aq"], ["rm", "-f"]),  # containers first: a network in use cannot go
        (["network", "ls", "-q"], ["network", "rm"]),
        (["volume", "ls", "-q"], ["volume", "rm"]),
    ):
        found = subprocess.run(["docker", *listing, "--filter", label], capture_output=True, text=True).stdout.split()
        if found:
            subprocess.run(["docker", *removal, *found], capture_output=True, check=False)
