"""A user's own locustfile on the Compose runtime, against a server that is not the demo target.

The server (tests/counting_server.py, Python's http.server) runs in a container (the node image) on a Docker network of
the test's own, reachable there as `shop`; the run joins that network with --network. It counts the
requests it receives: the summary's total must equal its count, and every endpoint of the plan must
be in the summary. Load goes only between this project's containers on this machine; runs are a few
seconds long and stop by themselves. Skipped only when no Docker engine answers.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
from compose_helpers import compose_env, leftovers, project_of
from conftest import loadcluster, wait_until
from own_plan import ENDPOINTS, PATHS, endpoints, only_summary, write_plan

from loadcluster.runtimes.docker import engine_answers

ENGINE = engine_answers()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("heavy"),
    pytest.mark.skipif(ENGINE is None, reason="no Docker engine answers (`docker version` failed); CI starts dockerd"),
]

IMAGE = f"loadcluster:{version('loadcluster')}"  # never pulled: the CLI builds it from this checkout
SHOP_URL = "http://shop:8000"
SERVER_SCRIPT = Path(__file__).with_name("counting_server.py")
READ_COUNTS = (
    "import sys, urllib.request as u; sys.stdout.write(u.urlopen('http://127.0.0.1:8000/_count').read().decode())"
)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=check)


@pytest.fixture
def network() -> Iterator[str]:
    """A user-defined Docker network of this test's own; removed afterwards with whatever is on it."""
    name = f"loadcluster-test-{secrets.token_hex(4)}"
    docker("network", "create", name)
    try:
        yield name
    finally:
        attached = docker("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", name, check=False)
        if attached.stdout.split():
            docker("rm", "-f", *attached.stdout.split(), check=False)
        docker("network", "rm", name, check=False)


@dataclass(frozen=True)
class Shop:
    """The counting server's container, `shop` on the test's network."""

    container: str

    def counts(self) -> dict[str, int]:
        return dict(json.loads(docker("exec", self.container, "python3", "-c", READ_COUNTS).stdout))


@pytest.fixture
def shop(network: str) -> Iterator[Shop]:
    """A fresh counting server per test (counts start at zero), answering before the test starts."""
    container = f"{network}-shop"
    docker("run", "-d", "--name", container, "--network", network, "--network-alias", "shop",
           "-v", f"{SERVER_SCRIPT}:/srv/counting_server.py:ro", "--entrypoint", "python3", IMAGE,
           "/srv/counting_server.py", "8000")  # fmt: skip

    def answers() -> bool:
        state = docker("inspect", "-f", "{{.State.Running}}", container, check=False).stdout.strip()
        if state != "true":
            logs = docker("logs", container, check=False)
            raise AssertionError(f"the counting server exited early: {logs.stdout}{logs.stderr}")
        return docker("exec", container, "python3", "-c", READ_COUNTS, check=False).returncode == 0

    try:
        wait_until(answers, 30, f"the counting server {container} to answer")
        yield Shop(container)
    finally:
        docker("rm", "-f", container, check=False)


def assert_counted(done: subprocess.CompletedProcess[str], results: Path, shop: Shop) -> dict:
    """The run passed, its summary counts what the server counted, and its Compose project is gone."""
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    summary = only_summary(results)
    counts = shop.counts()
    assert summary["totals"]["requests"] == sum(counts.values()) > 0, (summary["totals"], counts)
    assert set(counts) == PATHS, counts
    assert endpoints(summary) == ENDPOINTS
    assert summary["run"]["host"] == SHOP_URL
    assert summary["run"]["runtime"] == "compose"
    assert leftovers(project_of(output)) == []
    return summary


def test_directory_with_its_own_catalogue_and_a_host_attribute(
    tmp_path: Path, network: str, shop: Shop, results_dir: Path
) -> None:
    """No --host: the user class's `host` is the target, reached on the given network."""
    plan = write_plan(tmp_path / "plan", host=SHOP_URL, catalogue=True).parent
    done = loadcluster(
        "run", "--runtime", "compose", "--network", network, "--locustfile", str(plan), "--scenario", "quick",
        "--stop-timeout", "1", "--results", str(results_dir), env=compose_env(), timeout=400,
    )  # fmt: skip
    summary = assert_counted(done, results_dir, shop)
    assert (summary["run"]["suite"], summary["run"]["scenario"]) == ("shop", "quick")


def test_single_file_ad_hoc_with_host(tmp_path: Path, network: str, shop: Shop, results_dir: Path) -> None:
    locustfile = write_plan(tmp_path / "plan")
    done = loadcluster(
        "run", "--runtime", "compose", "--network", network, "--locustfile", str(locustfile),
        "--users", "3", "--spawn-rate", "3", "--duration", "3s", "--host", SHOP_URL,
        "--stop-timeout", "1", "--results", str(results_dir), env=compose_env(), timeout=400,
    )  # fmt: skip
    summary = assert_counted(done, results_dir, shop)
    assert summary["run"]["scenario"] == "custom"


def test_an_unreachable_host_on_the_network_is_refused_before_anything_starts(
    tmp_path: Path, network: str, results_dir: Path
) -> None:
    locustfile = write_plan(tmp_path / "plan")
    done = loadcluster(
        "run", "--runtime", "compose", "--network", network, "--locustfile", str(locustfile),
        "--users", "1", "--spawn-rate", "1", "--duration", "2s", "--host", "http://nosuchhost:8000",
        "--results", str(results_dir), env=compose_env(), timeout=400,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "unreachable" in errors[0], output
    assert network in errors[0], output
    assert "starting Compose project" not in done.stdout
