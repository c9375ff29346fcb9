"""The Docker engine as the Compose runtime needs it: is one there, which Compose, images, containers."""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loadcluster.errors import ConfigError, RunFailed

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ENGINE_TIMEOUT_S = 10.0
# What goes into the image (see Dockerfile and .dockerignore); README.md only for the package metadata.
IMAGE_SOURCES = ("Dockerfile", "pyproject.toml", "src")


class DockerUnavailable(ConfigError):
    """No Docker client, or a client whose engine does not answer."""


@dataclass(frozen=True)
class Docker:
    client: tuple[str, ...] = ("docker",)
    compose: tuple[str, ...] = field(default=("docker", "compose"))
    version: str = ""

    @classmethod
    def connect(cls) -> Docker:
        """A Docker engine that answers, and the Compose command to drive it (v2 plugin, else v1)."""
        version = engine_version()
        return cls(compose=compose_command(), version=version)

    def run(
        self, command: Sequence[str], *, env: Mapping[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(command), env=dict(env) if env is not None else None, capture_output=True, text=True, timeout=600
        )
        if check and done.returncode != 0:
            raise RunFailed(f"`{' '.join(command[:3])} ...` failed: {done.stderr.strip()[-300:]}")
        return done

    def has_image(self, image: str) -> bool:
        return self.run([*self.client, "image", "inspect", image], check=False).returncode == 0

    def image_label(self, image: str, label: str) -> str | None:
        done = self.run(
            [*self.client, "image", "inspect", "-f", f'{{{{index .Config.Labels "{label}"}}}}', image], check=False
        )
        return done.stdout.strip() or None if done.returncode == 0 else None

    def build(self, context: Path, image: str, base: str, labels: Mapping[str, str]) -> None:
        label_args = [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]
        command = [
            *self.client,
            "build",
            "-q",
            "--build-arg",
            f"BASE_IMAGE={base}",
            *label_args,
            "-t",
            image,
            str(context),
        ]
        done = self.run(command, check=False)
        if done.returncode != 0:
            hint = (
                " (no registry? build the air-gapped base: deploy/base-image/build.sh)" if "pull" in done.stderr else ""
            )
            raise RunFailed(f"building image {image} from {base} failed{hint}: {done.stderr.strip()[-400:]}")

    def signal(self, container: str, signum: signal.Signals) -> None:
        self.run([*self.client, "kill", "--signal", signum.name, container], check=False)

    def project_containers(self, project: str) -> list[tuple[str, str, str]]:
        """(id, service, number) of every container of a Compose project, running or not."""
        template = f'{{{{.ID}}}} {{{{.Label "{SERVICE_LABEL}"}}}} {{{{.Label "{NUMBER_LABEL}"}}}}'
        done = self.run(
            [*self.client, "ps", "-a", "--filter", f"label={PROJECT_LABEL}={project}", "--format", template]
        )
        rows = [line.split() for line in done.stdout.splitlines() if line.strip()]
        return sorted(
            ((row[0], row[1], row[2] if len(row) > 2 else "1") for row in rows if len(row) >= 2),
            key=lambda r: (r[1], int(r[2]) if r[2].isdigit() else 0),
        )

    def project_leftovers(self, project: str) -> list[str]:
        """Containers, networks and volumes still labelled with the project, as 'kind id'."""
        found = []
        for kind in ("container", "network", "volume"):
            every = ["-a"] if kind == "container" else []
            listing = [*self.client, kind, "ls", *every, "-q", "--filter", f"label={PROJECT_LABEL}={project}"]
            found += [f"{kind} {name}" for name in self.run(listing, check=False).stdout.split()]
        return found


def engine_version() -> str:
    """The engine's version; DockerUnavailable saying why when there is no client or engine."""
    if shutil.which("docker") is None:
        raise DockerUnavailable("Docker is not installed (no `docker` command): use --runtime local")
    try:
        done = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=ENGINE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        done = subprocess.CompletedProcess([], 1, "", f"no answer within {ENGINE_TIMEOUT_S:g}s")
    if done.returncode != 0 or not done.stdout.strip():
        reason = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise DockerUnavailable(
            f"Docker is installed but its engine does not answer ({reason}): start the Docker daemon "
            "(e.g. `sudo systemctl start docker`) or use --runtime local"
        )
    return done.stdout.strip()


def compose_command() -> tuple[str, ...]:
    """`docker compose` (v2) when the plugin is there, else `docker-compose` (v1)."""
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    if plugin.returncode == 0:
        return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise DockerUnavailable(
        "Docker Compose is not installed (neither `docker compose` nor `docker-compose`): "
        "install it, or use --runtime local"
    )


def image_for_source(tree: Path) -> str | None:
    """A digest of what goes into the image, or None when not running from a source checkout."""
    if not all((tree / name).exists() for name in IMAGE_SOURCES):
        return None
    digest = hashlib.sha256()
    for name in IMAGE_SOURCES:
        top = tree / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if _is_source(p))
        for path in paths:
            digest.update(str(path.relative_to(tree)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _is_source(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path) and path.suffix != ".pyc"


def engine_answers() -> str | None:
    """The engine's version if one answers, else None (for choosing a runtime; never raises)."""
    try:
        return engine_version()
    except DockerUnavailable:
        return None
