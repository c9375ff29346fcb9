"""The Compose runtime: the same run as the local one, placed in containers by Docker Compose.

The master gets the plan as one document, relocated to what containers see: the locustfiles'
directory is mounted over the image's copy, results go to the master's results directory and are
copied out when it exits. Workers get only the locustfiles and the master's service name. The
project (containers, network, volumes) is removed on every way out, Ctrl-C included.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from loadcluster import options
from loadcluster.errors import ConfigError, RunFailed, TargetUnreachable
from loadcluster.options import RuntimeName
from loadcluster.plan import RunPlan
from loadcluster.runtimes import is_loopback_host
from loadcluster.runtimes.checks import TARGET_CHECK_DEADLINE_S, check_machine_holds
from loadcluster.runtimes.docker import PROJECT_LABEL, Docker
from loadcluster.runtimes.image import SOURCE_TREE, ensure_image, prometheus_image
from loadcluster.runtimes.logtail import LogTail
from loadcluster.runtimes.processes import Child, port_is_free, spawn, terminate
from loadcluster.runtimes.supervision import TARGET_STATS_FILE, Echo, describe_exit
from loadcluster.stats_api import STATS_PATH, read_stats, tell_master_lost

COMPOSE_DIR = SOURCE_TREE / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
DEMO_FILE = COMPOSE_DIR / "demo.yaml"

IN_IMAGE_LOCUST = "/opt/loadcluster/locust"
IN_IMAGE_RESULTS = "/opt/loadcluster/results"
DEMO_TARGET_URL = "http://target:8080"
MASTER, WORKER, TARGET, EXPORTER, PROMETHEUS, GRAFANA = (
    "master",
    "worker",
    "target",
    "exporter",
    "prometheus",
    "grafana",
)
STATS_PORT = 8090  # inside the master's container; published on an ephemeral 127.0.0.1 port
DOWN_TIMEOUT_S = 10
DIED_FORMAT = (
    '{{.Actor.ID}} {{index .Actor.Attributes "com.docker.compose.service"}} {{index .Actor.Attributes "exitCode"}}'
)
LOG_DRAIN_S = 5.0


@dataclass(frozen=True)
class Project:
    """One Compose project: its name and the files and profiles that describe it."""

    name: str
    files: tuple[Path, ...]
    profiles: tuple[str, ...]
    env: Mapping[str, str]

    def command(self, docker: Docker, *args: str) -> list[str]:
        files = [arg for path in self.files for arg in ("-f", str(path))]
        profiles = [arg for profile in self.profiles for arg in ("--profile", profile)]
        return [*docker.compose, "-p", self.name, *files, *profiles, *args]

    def run(self, docker: Docker, args: Sequence[str], what: str) -> None:
        done = docker.run(self.command(docker, *args), env=self.env, check=False)
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RunFailed(f"docker compose could not {what}: {' | '.join(detail)}")

    def containers(self, docker: Docker, service: str) -> list[str]:
        return [c for c, s, _n in docker.project_containers(self.name) if s == service]

    def tear_down(self, docker: Docker, echo: Echo) -> None:
        """Remove the project's containers, networks and volumes; say so if anything stayed."""
        down = ["down", "--volumes", "--remove-orphans", "--timeout", str(DOWN_TIMEOUT_S)]
        done = docker.run(self.command(docker, *down), env=self.env, check=False)
        left = docker.project_leftovers(self.name)
        if done.returncode != 0 or left:
            echo(f"WARNING: could not remove all of Compose project {self.name}: {', '.join(left)} {done.stderr}")
        else:
            echo(f"stack {self.name} removed")


def network_override(network: str, directory: Path) -> Path:
    """A Compose file putting the project on an existing Docker network, where the user's host lives."""
    path = directory / "network.yaml"
    path.write_text(json.dumps({"networks": {"default": {"name": network, "external": True}}}), encoding="utf-8")
    return path


def check_host_for_containers(host: str | None) -> None:
    """A host on this machine's loopback is not this machine inside a container."""
    if is_loopback_host(host):
        raise ConfigError(
            f"host '{host}' is this machine's loopback, which containers cannot reach: "
            "use --runtime local, or an address the containers can reach"
        )


def published_ports(values: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    """Each host port the stack publishes on 127.0.0.1 must be free before anything starts."""
    chosen = {}
    for name in names:
        port = values[name]
        if not port_is_free("127.0.0.1", port):
            raise ConfigError(
                f"port {port} ({name.replace('_', ' ')}) is already in use on 127.0.0.1: free it or set "
                f"{options.env_name(name)} to another port"
            )
        chosen[options.env_name(name)] = str(port)
    return chosen


class ComposeRuntime:
    name = RuntimeName.COMPOSE.value

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.docker: Docker | None = None
        self.image = ""
        self.ports: dict[str, str] = {}

    def check(self, plan: RunPlan, echo: Echo) -> None:
        check_machine_holds(plan, echo)
        self.docker = Docker.connect()
        for host in (plan.host,) if plan.host else plan.class_hosts:
            check_host_for_containers(host)
        self.ports = published_ports(
            self.values, ["prometheus_port", *(["grafana_port"] if self.values["monitoring"] else [])]
        )
        self.image = ensure_image(self.docker, self.values, echo)
        for host in (plan.host,) if plan.host else plan.class_hosts:
            self._check_reachable_from_a_container(host)

    def _check_reachable_from_a_container(self, host: str) -> None:
        """Where the workers will be (the given network, else Docker's default one), not from here."""
        assert self.docker is not None
        url = urlparse(host)
        port = url.port or (443 if url.scheme == "https" else 80)
        probe = f"import socket; socket.create_connection(({url.hostname!r}, {port}), {TARGET_CHECK_DEADLINE_S})"
        network = ["--network", self.values["network"]] if self.values.get("network") else []
        command = [*self.docker.client, "run", "--rm", *network, "--entrypoint", "python3", self.image, "-c", probe]
        if self.docker.run(command, check=False).returncode != 0:
            where = f"Docker network {self.values['network']}" if network else "a container"
            raise TargetUnreachable(
                f"target {host} is unreachable from {where} (no TCP connection to {url.hostname}:{port} within "
                f"{TARGET_CHECK_DEADLINE_S:g}s): start it, check --host, or give --network where it lives"
            )

    def stack(self, plan: RunPlan, run_dir: Path, echo: Echo) -> ComposeStack:
        assert self.docker is not None, "check() first"
        return ComposeStack(self, plan, run_dir, echo)


class ComposeStack:
    def __init__(self, runtime: ComposeRuntime, plan: RunPlan, run_dir: Path, echo: Echo) -> None:
        assert runtime.docker is not None
        self.docker = runtime.docker
        self.plan = plan
        self.run_dir = run_dir
        self.echo = echo
        self.monitoring = bool(runtime.values["monitoring"])
        self.scratch = tempfile.TemporaryDirectory(prefix="loadcluster-compose-")
        network = runtime.values.get("network")
        files = (COMPOSE_FILE, *((DEMO_FILE,) if plan.demo_target else ()))
        if network:
            files += (network_override(network, Path(self.scratch.name)),)
        self.project = Project(
            name=f"loadcluster-{secrets.token_hex(4)}",
            files=files,
            profiles=("monitoring",) if self.monitoring else (),
            env={**os.environ, **self._stack_env(runtime), **runtime.ports},
        )
        self.master = ""
        self.access_token: str | None = None  # not passed to the containers: the stack stays on its own network
        self.follower: Child | None = None
        self.events: Child | None = None
        self.deaths: LogTail | None = None
        self.tail = LogTail(run_dir / "logs" / "master.log", MASTER)
        self._stats_url: str | None = None

    def _stack_env(self, runtime: ComposeRuntime) -> dict[str, str]:
        """The plan as the master's container sees it, and what the compose file substitutes."""
        seen = self.plan.relocated(IN_IMAGE_LOCUST, IN_IMAGE_RESULTS)
        if self.plan.demo_target:
            seen = replace(seen, host=DEMO_TARGET_URL)
        names = {
            "plan": seen.to_document(),
            "locustfile": seen.locustfiles.locust_arg,
            "run_dir": f"{IN_IMAGE_RESULTS}/{self.run_dir.name}",
            "image": runtime.image,
            "prometheus_image": prometheus_image(self.docker, runtime.values),
            "grafana_image": runtime.values["grafana_image"],
        }
        return {
            **{options.env_name(name): value for name, value in names.items()},
            # Compose's own substitution, not an option: the host directory mounted over the image's.
            "LOADCLUSTER_LOCUSTFILE_DIR": str(self.plan.locustfiles.root.resolve()),
        }

    def start(self) -> None:
        services = [MASTER, WORKER, EXPORTER, PROMETHEUS, *([GRAFANA] if self.monitoring else []),
                    *([TARGET] if DEMO_FILE in self.project.files else [])]  # fmt: skip
        self.echo(f"starting Compose project {self.project.name}: {', '.join(services)} (worker x{self.plan.workers})")
        # Containers that die, as Docker sees them (followed from before the first one starts): a
        # worker's death reaches the master at once.
        events = Path(self.scratch.name) / "events.log"
        watch = [*self.docker.client, "events", "--filter", f"label={PROJECT_LABEL}={self.project.name}",
                 "--filter", "event=die", "--format", DIED_FORMAT]  # fmt: skip
        self.events = spawn("docker-events", watch, os.environ, events)
        self.deaths = LogTail(events, "docker")
        up = ["up", "-d", "--no-build", "--scale", f"{WORKER}={self.plan.workers}", *services]
        self.project.run(self.docker, up, "start the stack")
        if TARGET in services:
            self.echo(f"demo target started at {DEMO_TARGET_URL} (container)")
        self.master = self.project.containers(self.docker, MASTER)[0]
        log = self.run_dir / "logs" / "master.log"
        self.follower = spawn("master-log", [*self.docker.client, "logs", "-f", self.master], os.environ, log)

    def stats_url(self) -> str | None:
        if self._stats_url is None and self.master:
            done = self.docker.run([*self.docker.client, "port", self.master, str(STATS_PORT)], check=False)
            address = done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else ""
            self._stats_url = f"http://{address}{STATS_PATH}" if address else None
        return self._stats_url

    def master_exit_code(self) -> int | None:
        if not self.master:
            return None
        done = self.docker.run(
            [*self.docker.client, "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", self.master], check=False
        )
        running, _, code = done.stdout.strip().partition(" ")
        if done.returncode != 0:
            return -1  # gone
        return None if running == "true" else int(code or -1)

    def stop_master(self) -> None:
        if self.master:
            self.docker.signal(self.master, signal.SIGTERM)

    def alarms(self) -> list[str]:
        lines = self.tail.alarming_lines()
        for event in self.deaths.new_lines() if self.deaths else []:
            container, service, code = (event.split() + ["", "", ""])[:3]
            if service != WORKER or code in ("", "0") or self.master_exit_code() is not None:
                continue
            how = describe_exit(int(code))
            # A container's host name, which the worker reports as its name, is its short id. Not for the
            # last one alive: Locust would end the test; it drops the dead one once the restart is in.
            url = self._stats_url
            told = (
                url is not None
                and _others_alive(url, container[:12])
                and tell_master_lost(url.removesuffix(STATS_PATH), container[:12], how)
            )
            lines.append(f"WARNING: worker container {container[:12]} died ({how}): "
                         f"{'the master was told; ' if told else ''}Docker restarts it")  # fmt: skip
        return lines

    def collect(self) -> dict[str, Any] | None:
        if self.follower is not None:
            # `docker logs -f` ends by itself once the container has: then the log file is complete.
            try:
                self.follower.process.wait(timeout=LOG_DRAIN_S)
            except subprocess.TimeoutExpired:
                pass
        self.run_dir.mkdir(parents=True, exist_ok=True)
        source = f"{self.master}:{IN_IMAGE_RESULTS}/{self.run_dir.name}/."
        self.docker.run([*self.docker.client, "cp", source, str(self.run_dir)], check=False)
        stats = self._target_stats()
        self._save_logs()
        return stats

    def _target_stats(self) -> dict[str, Any] | None:
        ids = self.project.containers(self.docker, TARGET)
        if not ids:
            return None
        read = "import sys, urllib.request as u; sys.stdout.write(u.urlopen('http://127.0.0.1:8080/_target/stats').read().decode())"  # noqa: E501
        done = self.docker.run([*self.docker.client, "exec", ids[0], "python3", "-c", read], check=False)
        if done.returncode != 0:
            return None
        stats: dict[str, Any] = json.loads(done.stdout)
        (self.run_dir / TARGET_STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
        return stats

    def _save_logs(self) -> None:
        """Every container's log, as logs/<service>[-<n>].log (the master's was written while it ran)."""
        logs = self.run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for container, service, number in self.docker.project_containers(self.project.name):
            if service == MASTER:
                continue
            name = f"{service}-{number}" if service == WORKER else service
            done = self.docker.run([*self.docker.client, "logs", container], check=False)
            (logs / f"{name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")

    def tear_down(self) -> None:
        terminate([c for c in (self.follower, self.events) if c is not None], 2.0)
        # A worker still running here lost its master (or the run was aborted): no graceful stop for
        # load nobody will count. After a normal run they have all exited already.
        workers = self.project.containers(self.docker, WORKER)
        if workers:
            self.docker.run([*self.docker.client, "kill", *workers], check=False)
        self.project.tear_down(self.docker, self.echo)
        self.scratch.cleanup()


def _others_alive(stats_url: str, name: str) -> bool:
    """Whether the master has a live worker besides `name` (a restarted container keeps its name)."""
    workers = (read_stats(stats_url) or {}).get("workers", [])
    return any(w["name"] != name and w["state"] != "missing" for w in workers)
