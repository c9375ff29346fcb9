"""`loadcluster up|down|image`: the interactive Compose stack (Locust's web UI) and the image alone.

`up` starts the demo target (unless a host is given), a master with Locust's web UI on 127.0.0.1:8089
and the workers, and leaves them running to be steered by hand; `down` removes them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from loadcluster import options
from loadcluster.errors import RunFailed
from loadcluster.locustfiles import files_in
from loadcluster.plan import SHIPPED_LOCUSTFILES
from loadcluster.runtimes.compose import (
    COMPOSE_DIR,
    COMPOSE_FILE,
    DEMO_FILE,
    IN_IMAGE_LOCUST,
    MASTER,
    TARGET,
    WORKER,
    Project,
    check_host_for_containers,
    published_ports,
)
from loadcluster.runtimes.docker import Docker
from loadcluster.runtimes.image import ensure_image
from loadcluster.runtimes.supervision import Echo

UI_FILE = COMPOSE_DIR / "ui.yaml"
UI_PROJECT = "loadcluster"
DEFAULT_UI_WORKERS = 2


def stack_up(values: Mapping[str, Any], echo: Echo) -> None:
    """Target (unless a host is given), a web-UI master and the workers, left running."""
    docker = Docker.connect()
    check_host_for_containers(values.get("host"))
    ports = published_ports(values, ["web_port"])
    image = ensure_image(docker, values, echo)
    locustfiles = files_in(values.get("locustfile") or str(SHIPPED_LOCUSTFILES / "customer_success.py"))
    seen = locustfiles.relocated(IN_IMAGE_LOCUST)
    env = {
        **os.environ,
        **ports,
        options.env_name("image"): image,
        options.env_name("locustfile"): seen.locust_arg,
        options.env_name("host"): values.get("host") or "http://target:8080",
        "LOADCLUSTER_LOCUSTFILE_DIR": str(locustfiles.root.resolve()),
    }
    files = (COMPOSE_FILE, *(() if values.get("host") else (DEMO_FILE,)), UI_FILE)
    project = Project(UI_PROJECT, files, (), env)
    workers = values.get("workers") or DEFAULT_UI_WORKERS
    services = [MASTER, WORKER, *([] if values.get("host") else [TARGET])]
    try:
        project.run(docker, ["up", "-d", "--no-build", "--scale", f"{WORKER}={workers}", *services], "start the stack")
    except RunFailed:
        project.tear_down(docker, echo)
        raise
    echo(f"master, {workers} workers{'' if values.get('host') else ', demo target'} up")
    echo(f"Locust web UI: http://127.0.0.1:{ports[options.env_name('web_port')]}  (stop with `make down`)")


def stack_down(echo: Echo) -> None:
    project = Project(UI_PROJECT, (COMPOSE_FILE, DEMO_FILE, UI_FILE), (), os.environ)
    project.tear_down(Docker.connect(), echo)


def build_image(echo: Echo) -> None:
    values = options.settings(options.Verb.UP, {}, os.environ, names=("image", "base_image"))
    echo(f"image {ensure_image(Docker.connect(), values, echo)} is up to date with the source")
