"""The Compose runtime: the same run as the local one, placed in containers by Docker Compose.

The plan is built and checked on the host, passed to every container as `LOADCLUSTER_*` variables
(with the locustfile and host rewritten to what containers see), the master's progress is echoed
from its log, its results directory is copied out to `results/` when it exits, and the project
(containers, network, volumes) is removed on every way out, Ctrl-C included.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

from loadcluster import results
from loadcluster.errors import ConfigError, RunFailed, did_you_mean
from loadcluster.node_env import MASTER_HOST_ENV, RUN_DIR_ENV
from loadcluster.plan import RunOptions, RunPlan
from loadcluster.runtimes.docker import Docker, engine_answers, image_for_source
from loadcluster.runtimes.logtail import LogTail
from loadcluster.runtimes.processes import port_is_free, spawn, terminate
from loadcluster.runtimes.supervision import (
    TARGET_STATS_FILE,
    Echo,
    Interrupts,
    RunResult,
    StopControl,
    check_reachable,
)

SOURCE_TREE = Path(__file__).resolve().parents[3]
COMPOSE_DIR = SOURCE_TREE / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
DEMO_FILE = COMPOSE_DIR / "demo.yaml"

IN_IMAGE_LOCUST = "/opt/loadcluster/locust"
IN_IMAGE_RESULTS = "/opt/loadcluster/results"
DEMO_TARGET_URL = "http://target:8080"
MASTER_SERVICE, WORKER_SERVICE, TARGET_SERVICE = "master", "worker", "target"
RUN_SERVICES = (MASTER_SERVICE, WORKER_SERVICE, "exporter", "prometheus")

IMAGE_ENV = "LOADCLUSTER_IMAGE"
BASE_IMAGE_ENV = "LOADCLUSTER_BASE_IMAGE"
PROMETHEUS_IMAGE_ENV = "LOADCLUSTER_PROMETHEUS_IMAGE"
MONITORING_ENV = "LOADCLUSTER_MONITORING"
DEFAULT_IMAGE = f"loadcluster:{version('loadcluster')}"
DEFAULT_BASE_IMAGE = "python:3.12-slim"
DEFAULT_PROMETHEUS_IMAGE = "prom/prometheus:v2.53.2"
# Built by deploy/base-image/build.sh on sites without a registry; used when present.
AIRGAP_BASE_IMAGE = "loadcluster/base:bookworm"
AIRGAP_PROMETHEUS_IMAGE = "loadcluster/prometheus:bookworm"
# Host ports the stack publishes on 127.0.0.1: (environment variable, default, what).
PUBLISHED_PORTS = (("LOADCLUSTER_PROMETHEUS_PORT", 9090, "Prometheus"),)
MONITORING_PORTS = (("LOADCLUSTER_GRAFANA_PORT", 3000, "Grafana"),)
DOWN_TIMEOUT_S = 10
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


RUNTIME_ENV = "LOADCLUSTER_RUNTIME"


class Runtime(StrEnum):
    AUTO = "auto"
    LOCAL = "local"
    COMPOSE = "compose"


def choose_runtime(requested: str | None, host: str | None) -> tuple[Runtime, str]:
    """The runtime a run uses, and why (auto: Compose when a Docker engine answers, else local)."""
    try:
        runtime = Runtime((requested or Runtime.AUTO.value).strip().lower())
    except ValueError:
        raise ConfigError(f"unknown runtime '{requested}', {did_you_mean(requested or '', Runtime)}") from None
    if runtime is not Runtime.AUTO:
        return runtime, f"--runtime {runtime.value}"
    if is_loopback_host(host):
        return Runtime.LOCAL, f"host {host} is on this machine's loopback, which containers cannot reach"
    engine = engine_answers()
    if engine is None:
        return Runtime.LOCAL, "no Docker engine answers"
    return Runtime.COMPOSE, f"Docker engine {engine} answers"


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


def run_compose(plan: RunPlan, echo: Echo, exporter_port: int | None = None) -> RunResult:
    """Run `plan` on Compose; the stack's own exporter and Prometheus replace `exporter_port`."""
    docker = Docker.connect()
    check_host_for_containers(plan.host)
    if plan.host is not None:
        check_reachable(plan.host)
    monitoring = _flag(os.environ.get(MONITORING_ENV))
    ports = _check_ports(PUBLISHED_PORTS + (MONITORING_PORTS if monitoring else ()))
    image = ensure_image(docker, echo)
    if exporter_port is not None:
        echo(
            f"--exporter-port is for the local runtime: the stack's Prometheus is at http://127.0.0.1:{ports[PUBLISHED_PORTS[0][0]]}"
        )
    run_dir = plan.results_root / results.run_dir_name(plan, datetime.now(UTC))
    project = Project(
        name=f"loadcluster-{secrets.token_hex(4)}",
        files=(COMPOSE_FILE,) if plan.host else (COMPOSE_FILE, DEMO_FILE),
        profiles=("monitoring",) if monitoring else (),
        env={**os.environ, **_stack_env(plan, run_dir, image, docker), **ports},
    )
    with Interrupts() as signals:
        try:
            return _run(plan, project, docker, run_dir, signals, echo)
        finally:
            tear_down(project, docker, echo)


def _run(plan: RunPlan, project: Project, docker: Docker, run_dir: Path, signals: Interrupts, echo: Echo) -> RunResult:
    services = [*RUN_SERVICES, *(["grafana"] if project.profiles else []), *([] if plan.host else [TARGET_SERVICE])]
    echo(f"starting Compose project {project.name}: {', '.join(services)} (worker x{plan.workers})")
    started = time.monotonic()
    up = ["up", "-d", "--no-build", "--scale", f"{WORKER_SERVICE}={plan.workers}", *services]
    _compose(project, docker, up, "start the stack")
    echo(f"stack up in {time.monotonic() - started:.1f}s")
    if plan.host is None:
        echo(f"demo target started at {DEMO_TARGET_URL} (container)")
    master = _container_ids(project, docker, MASTER_SERVICE)[0]
    logs = run_dir / "logs"
    code = _supervise(plan, docker, master, logs / "master.log", signals, echo)
    _copy_results(docker, master, run_dir)
    target_stats = None if plan.host else _fetch_target_stats(project, docker, run_dir)
    _save_logs(project, docker, logs)
    if not (run_dir / results.SUMMARY_FILE).is_file():
        raise RunFailed(f"the master (exit code {code}) wrote no summary; see {logs / 'master.log'}")
    return RunResult(run_dir, results.read_summary(run_dir), target_stats)


def _stack_env(plan: RunPlan, run_dir: Path, image: str, docker: Docker) -> dict[str, str]:
    """The plan as the containers must see it, plus what the compose file substitutes."""
    mount, in_image = _locustfile_mount(plan)
    return {
        **plan.to_env(),
        RunOptions.env_name("locustfile"): in_image,
        RunOptions.env_name("host"): plan.host or DEMO_TARGET_URL,
        RunOptions.env_name("results"): IN_IMAGE_RESULTS,
        RUN_DIR_ENV: f"{IN_IMAGE_RESULTS}/{run_dir.name}",
        MASTER_HOST_ENV: MASTER_SERVICE,
        "LOADCLUSTER_LOCUSTFILE_DIR": str(mount),
        IMAGE_ENV: image,
        PROMETHEUS_IMAGE_ENV: prometheus_image(docker),
    }


def _locustfile_mount(plan: RunPlan) -> tuple[Path, str]:
    """The host directory mounted over the image's locustfiles, and the locustfile path inside."""
    if plan.catalogue_path is not None:
        return plan.catalogue_path.parent.resolve(), IN_IMAGE_LOCUST
    return plan.locustfile.parent.resolve(), f"{IN_IMAGE_LOCUST}/{plan.locustfile.name}"


def check_host_for_containers(host: str | None) -> None:
    """A host on this machine's loopback is not this machine inside a container."""
    if is_loopback_host(host):
        raise ConfigError(
            f"host '{host}' is this machine's loopback, which containers cannot reach: "
            "use --runtime local, or an address the containers can reach"
        )


def is_loopback_host(host: str | None) -> bool:
    return bool(host) and urlparse(host).hostname in LOOPBACK_NAMES


def _check_ports(ports: Sequence[tuple[str, int, str]]) -> dict[str, str]:
    """Each port the stack publishes on 127.0.0.1 must be free before anything starts."""
    chosen = {}
    for env, default, what in ports:
        raw = os.environ.get(env) or str(default)
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise ConfigError(f"{env}='{raw}' is not a port number (1-65535)")
        if not port_is_free("127.0.0.1", int(raw)):
            raise ConfigError(
                f"port {raw} ({what}) is already in use on 127.0.0.1: free it or set {env} to another port"
            )
        chosen[env] = raw
    return chosen


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


def ensure_image(docker: Docker, echo: Echo) -> str:
    """The node image, built from this source tree when it is missing or older than the source."""
    image = os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE
    wanted = image_for_source(SOURCE_TREE)
    if wanted is None:  # installed without the source tree: the image must exist
        if not docker.has_image(image):
            raise ConfigError(f"image {image} not found: build it from a loadcluster checkout (`make image`)")
        return image
    if docker.image_label(image, "org.loadcluster.source") == wanted:
        return image
    base = os.environ.get(BASE_IMAGE_ENV) or (
        AIRGAP_BASE_IMAGE if docker.has_image(AIRGAP_BASE_IMAGE) else DEFAULT_BASE_IMAGE
    )
    echo(f"building image {image} from {base} (the source changed or the image is missing)")
    docker.build(SOURCE_TREE, image, base, labels={"org.loadcluster.source": wanted})
    return image


def prometheus_image(docker: Docker) -> str:
    explicit = os.environ.get(PROMETHEUS_IMAGE_ENV)
    if explicit:
        return explicit
    if not docker.has_image(DEFAULT_PROMETHEUS_IMAGE) and docker.has_image(AIRGAP_PROMETHEUS_IMAGE):
        return AIRGAP_PROMETHEUS_IMAGE
    return DEFAULT_PROMETHEUS_IMAGE


def _supervise(plan: RunPlan, docker: Docker, master: str, log: Path, signals: Interrupts, echo: Echo) -> int:
    """Echo the master's progress until it exits; Ctrl-C/SIGTERM stop it (twice: give up at once)."""
    follower = spawn("master-log", [*docker.client, "logs", "-f", master], os.environ, log)
    waiter = subprocess.Popen(
        [*docker.client, "wait", master], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    tail = LogTail(log, MASTER_SERVICE)
    control = StopControl(plan, signals, echo, lambda: docker.signal(master, signal.SIGTERM))
    try:
        while waiter.poll() is None:
            for line in tail.interesting_lines():
                echo(line)
            if control.should_abort():
                raise RunFailed("interrupted twice: the run was aborted without results")
            time.sleep(0.2)
        # `docker logs -f` ends by itself once the container has: then the log file is complete.
        try:
            follower.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for line in tail.interesting_lines():
            echo(line)
    finally:
        if waiter.poll() is None:
            waiter.kill()
        waiter.wait()
        terminate([follower], 2.0)
    output = (waiter.stdout.read() if waiter.stdout else "").strip()
    return int(output) if output.lstrip("-").isdigit() else -1


def _copy_results(docker: Docker, master: str, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    docker.run([*docker.client, "cp", f"{master}:{IN_IMAGE_RESULTS}/{run_dir.name}/.", str(run_dir)], check=False)


def _fetch_target_stats(project: Project, docker: Docker, run_dir: Path) -> dict[str, object] | None:
    ids = _container_ids(project, docker, TARGET_SERVICE)
    code = "import sys, urllib.request as u; sys.stdout.write(u.urlopen('http://127.0.0.1:8080/_target/stats').read().decode())"
    done = docker.run([*docker.client, "exec", ids[0], "python3", "-c", code], check=False) if ids else None
    if done is None or done.returncode != 0:
        return None
    stats: dict[str, object] = json.loads(done.stdout)
    (run_dir / TARGET_STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats


def _save_logs(project: Project, docker: Docker, logs: Path) -> None:
    """Every container's log, as logs/<service>[-<n>].log (the master's was written while it ran)."""
    logs.mkdir(parents=True, exist_ok=True)
    for container, service, number in docker.project_containers(project.name):
        name = (
            service if service in (MASTER_SERVICE, TARGET_SERVICE, "exporter", "prometheus") else f"{service}-{number}"
        )
        if name == MASTER_SERVICE:
            continue
        done = docker.run([*docker.client, "logs", container], check=False)
        (logs / f"{name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")


def tear_down(project: Project, docker: Docker, echo: Echo) -> None:
    """Remove the project's containers, networks and volumes; say so if anything stayed."""
    down = ["down", "--volumes", "--remove-orphans", "--timeout", str(DOWN_TIMEOUT_S)]
    done = docker.run(project.command(docker, *down), env=project.env, check=False)
    left = docker.project_leftovers(project.name)
    if done.returncode != 0 or left:
        echo(f"WARNING: could not remove all of Compose project {project.name}: {', '.join(left)} {done.stderr}")
    else:
        echo(f"stack {project.name} removed")


def _compose(project: Project, docker: Docker, args: Sequence[str], what: str) -> None:
    done = docker.run(project.command(docker, *args), env=project.env, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RunFailed(f"docker compose could not {what}: {' | '.join(detail)}")


def _container_ids(project: Project, docker: Docker, service: str) -> list[str]:
    return [c for c, s, _n in docker.project_containers(project.name) if s == service]


# --- the interactive stack: `make up` / `make down` -------------------------------------------------
UI_FILE = COMPOSE_DIR / "ui.yaml"
UI_PROJECT = "loadcluster"
UI_PORTS = (("LOADCLUSTER_WEB_PORT", 8089, "Locust web UI"),)


def _ui_project(plan: RunPlan | None, env: Mapping[str, str]) -> Project:
    demo = plan is None or plan.host is None
    files = (COMPOSE_FILE, *((DEMO_FILE,) if demo else ()), UI_FILE)
    return Project(UI_PROJECT, files, (), env)


def stack_up(plan: RunPlan, echo: Echo) -> None:
    """Target (unless a host is given), a web-UI master and the plan's workers, left running."""
    docker = Docker.connect()
    check_host_for_containers(plan.host)
    ports = _check_ports(UI_PORTS)
    image = ensure_image(docker, echo)
    env = {**os.environ, **_stack_env(plan, Path("ui"), image, docker), **ports}
    env["LOADCLUSTER_UI_LOCUSTFILE"] = f"{IN_IMAGE_LOCUST}/{plan.locustfile.name}"
    project = _ui_project(plan, env)
    services = [MASTER_SERVICE, WORKER_SERVICE, *([] if plan.host else [TARGET_SERVICE])]
    try:
        _compose(
            project,
            docker,
            ["up", "-d", "--no-build", "--scale", f"{WORKER_SERVICE}={plan.workers}", *services],
            "start the stack",
        )
    except RunFailed:
        tear_down(project, docker, echo)
        raise
    echo(f"{plan.suite}: master, {plan.workers} workers{'' if plan.host else ', demo target'} up")
    echo(f"Locust web UI: http://127.0.0.1:{ports['LOADCLUSTER_WEB_PORT']}  (stop with `make down`)")


def stack_down(echo: Echo) -> None:
    tear_down(_ui_project(None, os.environ), Docker.connect(), echo)


def interactive_plan_options() -> RunOptions:
    """`up` without a scenario: an open-ended ad-hoc plan, started and steered from the web UI."""
    options = RunOptions.from_env()
    if not options.scenario and not options.users:
        options = options.overridden_by(users=os.environ.get("LOADCLUSTER_WORKERS") or "2", duration="1h")
    return options
